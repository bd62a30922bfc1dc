//! Arbitrary bytes through parse -> validate -> generate, and through the
//! page importer (markdown, scraped text or HTML) -> a limits file -> parse.
//! Asserts: no panic; every span of every finding in bounds and on char
//! boundaries; every accepted input generates code that syn parses; every
//! page the importer reads becomes a file the parser reads without panic.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let page = String::from_utf8_lossy(data);
    if let Ok(page) = limits_cli::import::read_page(&page) {
        let table = limits_cli::import::table_of(&page);
        let text = limits_format::to_toml(&table, "");
        let _ = limits_format::check("imported.toml", text.as_bytes());
    }
    let checked = limits_format::check("fuzz.toml", data);
    let text = &checked.text;
    for d in &checked.diagnostics {
        for label in std::iter::once(&d.primary).chain(&d.secondary) {
            assert!(label.span.start <= label.span.end, "{d:?}");
            assert!(label.span.end <= text.len(), "{d:?}");
            assert!(text.is_char_boundary(label.span.start), "{d:?}");
            assert!(text.is_char_boundary(label.span.end), "{d:?}");
        }
    }
    // Rendering must not panic either.
    let _ = checked.render(limits_format::Colors::Plain);
    if let Some(table) = checked.table {
        let code = limits_codegen::Builder::new()
            .generate(&table)
            .expect("the default options are valid");
        if let Err(e) = syn::parse_file(&code) {
            panic!("generated code does not parse: {e}\n{code}");
        }
    }
});
