//! The one reader of `limits.toml`, the rate-limit table of Alibaba Cloud
//! Model Studio (or any table of the same shape), and the generator of the
//! typed Rust code built from it.
//!
//! The pipeline has one module per stage: `parse` (TOML with byte spans) ->
//! `validate` (every finding, located) -> [`ir`] (the validated [`Table`]) ->
//! `emit` (quote) -> `format` (syn + prettyplease). The CLI, the checked-in
//! code of `modelstudio-limits`, build scripts (`Builder`) and run-time
//! loading (`modelstudio_limits::runtime`) all go through
//! [`parse_and_validate`], so they accept and refuse the same files.
//!
//! Feature `codegen` (default) is the generator (`Builder`, `generate`,
//! `write_if_changed`: quote, syn, prettyplease). Without it
//! (`default-features = false`) the crate only parses and validates.
//!
//! ```
//! let input = r#"
//! schema = 1
//! [source]
//! provider = "Example"
//! url = "https://example.com/limits"
//!
//! [[section]]
//! id = "chat"
//! title = "Chat models"
//!
//! [[section.group]]
//! qpm = 60
//! tpm = 100_000
//! models = ["chat-small", { id = "chat-large-2025-01-01", aliases = ["chat-large"] }]
//! "#;
//! let table = limits_codegen::parse_and_validate(input).unwrap();
//! assert_eq!(table.summary().to_string(), "2 models, 1 aliases, 1 sections, 1 groups");
//!
//! # #[cfg(feature = "codegen")] {
//! let code = limits_codegen::generate(&table);
//! assert!(code.starts_with("// @generated"));
//! assert!(code.contains("ChatLarge2025_01_01"));
//! # }
//!
//! // Mistakes come back located, rendered as rustc renders its errors.
//! let bad = input.replace("qpm = 60", "qpm = 0");
//! let diagnostics = limits_codegen::parse_and_validate(&bad).unwrap_err();
//! let text = diagnostics.render("limits.toml", &bad, limits_codegen::Colors::Plain);
//! assert!(text.contains("error[E005]"));
//! assert!(text.contains("limits.toml:12:7"));
//! ```
#![warn(missing_docs)]

pub mod diagnostic;
pub mod diff;
pub mod ident;
pub mod ir;
mod parse;
mod validate;

#[cfg(feature = "codegen")]
mod builder;
#[cfg(feature = "codegen")]
mod emit;
#[cfg(feature = "codegen")]
mod format;
#[allow(dead_code)] // also compiled into generated code, where all is used
mod lookup_fns;
#[cfg(feature = "codegen")]
mod markdown;
#[cfg(feature = "codegen")]
mod phash;
#[cfg(feature = "schema")]
mod schema;
#[cfg(feature = "schema")]
pub use schema::json_schema;
#[cfg(feature = "codegen")]
mod write;

#[cfg(feature = "codegen")]
pub use builder::{BuildError, Builder, Built, Serde, DERIVES};
pub use diagnostic::{Code, Colors, Diagnostic, Diagnostics, Label, Location, Severity};
pub use ir::{Group, Model, ModelRow, Section, Source, Summary, Table};
pub use validate::SCHEMA_VERSION;
#[cfg(feature = "codegen")]
pub use write::{write_if_changed, WriteOutcome};

use sha2::{Digest, Sha256};

/// Parses and validates a limits file.
///
/// Returns the validated table, or every finding (sorted by position) when
/// there is at least one error. Warnings of a valid file are dropped here;
/// [`check`] returns them. Render findings with [`Diagnostics::render`].
pub fn parse_and_validate(input: &str) -> Result<Table, Diagnostics> {
    check(input).into_result()
}

/// Like [`parse_and_validate`], for raw bytes: input that is not UTF-8 is
/// reported as [`Code::NotUtf8`] at the first bad byte. Render the findings
/// against `String::from_utf8_lossy(input)`, whose text before that byte
/// is the same.
pub fn parse_and_validate_bytes(input: &[u8]) -> Result<Table, Diagnostics> {
    check_bytes(input).into_result()
}

/// What [`check`] found: the table (when there is no error) and every
/// finding, warnings included, sorted by position.
#[derive(Clone, Debug)]
pub struct Checked {
    /// The validated table, if the file has no error.
    pub table: Option<Table>,
    /// Every error and warning.
    pub diagnostics: Diagnostics,
}

impl Checked {
    /// The table, or the findings when there is an error.
    pub fn into_result(self) -> Result<Table, Diagnostics> {
        match self.table {
            Some(table) if !self.diagnostics.has_errors() => Ok(table),
            _ => Err(self.diagnostics),
        }
    }
}

/// Parses and validates a limits file, keeping warnings.
pub fn check(input: &str) -> Checked {
    let mut diagnostics = Diagnostics::new();
    let table = parse::parse(input, &mut diagnostics).and_then(|doc| {
        validate::validate(input, doc, sha256_hex(input.as_bytes()), &mut diagnostics)
    });
    diagnostics.sort();
    let table = table.filter(|_| !diagnostics.has_errors());
    Checked { table, diagnostics }
}

/// [`check`] for raw bytes (see [`parse_and_validate_bytes`]).
pub fn check_bytes(input: &[u8]) -> Checked {
    match std::str::from_utf8(input) {
        Ok(text) => check(text),
        Err(e) => {
            let at = e.valid_up_to();
            let lossy_len = String::from_utf8_lossy(&input[at..])
                .chars()
                .next()
                .map_or(0, char::len_utf8);
            Checked {
                table: None,
                diagnostics: Diagnostic::error(
                    Code::NotUtf8,
                    "the file is not valid UTF-8",
                    at..at + lossy_len,
                    "invalid byte here",
                )
                .into(),
            }
        }
    }
}

/// A limits file's bytes, checked, with the text its findings point into:
/// what the CLI, build scripts and run-time loading all read a file into.
#[derive(Clone, Debug)]
pub struct Loaded {
    /// The file's text (lossy where it is not UTF-8, which is an error;
    /// the text before the first bad byte is exact).
    pub text: String,
    /// The table and the findings.
    pub checked: Checked,
}

impl Loaded {
    /// Checks a file's bytes ([`check_bytes`]).
    pub fn from_bytes(bytes: &[u8]) -> Loaded {
        Loaded {
            text: String::from_utf8_lossy(bytes).into_owned(),
            checked: check_bytes(bytes),
        }
    }

    /// Reads `path` and checks it.
    pub fn read(path: &std::path::Path) -> std::io::Result<Loaded> {
        Ok(Loaded::from_bytes(&std::fs::read(path)?))
    }

    /// Every finding rendered rustc-style, as `limits check` prints it,
    /// with `origin` as the file name ([`Diagnostics::render`]).
    pub fn render(&self, origin: &str, colors: Colors) -> String {
        self.checked.diagnostics.render(origin, &self.text, colors)
    }
}

fn sha256_hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// The command that regenerates the checked-in code of `modelstudio-limits`.
pub const DEFAULT_COMMAND: &str = "cargo run -p limits-cli -- gen";

/// Generates the module's source text of `modelstudio-limits` (the
/// settings of [`Builder::modelstudio_limits`]).
#[cfg(feature = "codegen")]
pub fn generate(table: &Table) -> String {
    Builder::modelstudio_limits()
        .generate(table)
        .expect("the settings of modelstudio-limits are valid options")
}
