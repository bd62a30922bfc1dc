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
    /// checks that it is Rust: it parses with syn. An array constant, its
    /// declaration on a line ending in `= &[` and `];` on the last, is
    /// checked row by row (each line an expression), so that a table of
    /// millions of rows is never one syntax tree.
    pub(crate) fn lines(&mut self, text: &str) {
        if self.error.is_some() {
            return;
        }
        if let Err(e) = check(text) {
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

/// Whether `text` parses: an array constant as its declaration (with no
/// rows) and each row alone, anything else as a file.
fn check(text: &str) -> Result<(), syn::Error> {
    let body = text.trim_end();
    let (Some(open), Some(rows)) = (
        body.find("= &[\n"),
        body.strip_suffix("];").map(str::trim_end),
    ) else {
        syn::parse_file(text)?;
        return Ok(());
    };
    let head = &body[..open + "= &[".len()];
    syn::parse_file(&format!("{head}];"))?;
    for row in rows.get(open + "= &[\n".len()..).unwrap_or("").lines() {
        let row = row.trim();
        let row = row.strip_suffix(',').unwrap_or(row);
        if !row.is_empty() {
            syn::parse_str::<syn::Expr>(row)?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::check;

    #[test]
    fn an_array_is_checked_row_by_row_and_anything_else_whole() {
        let table = "/// Rows.\nconst ROWS: &[Row; 2] = &[\n    Row(1, Some(x([1, 2]))),\n    Row(2, None),\n];\n";
        assert!(check(table).is_ok());
        let bad_row = table.replace("Row(2, None)", "Row(2, None");
        assert!(check(&bad_row).is_err());
        let bad_head = table.replace("const ROWS", "const 1ROWS");
        assert!(check(&bad_head).is_err());
        assert!(check("const NONE: &[Row; 0] = &[\n];\n").is_ok());
        assert!(check("fn f() {}\n").is_ok());
        assert!(check("fn f() {\n").is_err());
    }
}
