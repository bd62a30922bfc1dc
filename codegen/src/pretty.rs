//! Stage 4: tokens to formatted source text with the "@generated" header.

use proc_macro2::TokenStream;

/// Formats `tokens` as a Rust file with prettyplease, under `header` (each
/// line becomes a `//` comment). Fails only if `tokens` is not a valid file,
/// which would be a bug of the emitter.
pub(crate) fn format_file(header: &str, tokens: TokenStream) -> Result<String, syn::Error> {
    let file: syn::File = syn::parse2(tokens)?;
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
    out.push_str(&prettyplease::unparse(&file));
    Ok(out)
}
