//! Tokens to formatted source text under the "@generated" header, one
//! batch of items at a time (syn + prettyplease).

use proc_macro2::TokenStream;

/// A Rust file being written: the header, then items as they come.
pub(crate) struct FileWriter {
    out: String,
    error: Option<syn::Error>,
}

impl FileWriter {
    /// A file starting with `header`, each line of it a `//` comment.
    pub(crate) fn new(header: &str) -> Self {
        let mut out = String::new();
        for line in header.lines() {
            if line.is_empty() {
                out.push_str("//\n");
            } else {
                out.push_str("// ");
                out.push_str(line);
                out.push('\n');
            }
        }
        out.push('\n');
        FileWriter { out, error: None }
    }

    /// Formats `tokens` (whole items) and appends them; prettyplease
    /// separates items the same way within one file and across calls.
    pub(crate) fn items(&mut self, tokens: TokenStream) {
        if self.error.is_some() || tokens.is_empty() {
            return;
        }
        match syn::parse2::<syn::File>(tokens) {
            Ok(file) => self.out.push_str(&prettyplease::unparse(&file)),
            Err(e) => self.error = Some(e),
        }
    }

    /// Appends text the emitter wrote line by line (a data table whose
    /// rows must stay one line each, which prettyplease would wrap), then
    /// checks that the file so far is still Rust: it parses with syn.
    pub(crate) fn lines(&mut self, text: &str) {
        if self.error.is_some() {
            return;
        }
        if let Err(e) = syn::parse_file(text) {
            self.error = Some(e);
            return;
        }
        self.out.push_str(text);
    }

    /// The file, or the first batch that was not valid Rust (a bug of the
    /// emitter).
    pub(crate) fn finish(self) -> Result<String, syn::Error> {
        match self.error {
            Some(e) => Err(e),
            None => Ok(self.out),
        }
    }
}
