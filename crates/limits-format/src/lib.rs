//! The `limits.toml` format: the rate-limit table of Alibaba Cloud Model
//! Studio (or any table of the same shape), read with byte spans, validated
//! with every finding located, rendered as rustc renders its errors, and
//! compared ([`diff`]).
//!
//! One module per stage: `parse` (TOML with spans) -> `validate` (every
//! finding) -> [`ir`] (the validated [`Table`]). The CLI, build scripts
//! (`limits-codegen`) and run-time loading (`modelstudio-limits`, feature
//! `runtime`) all read through [`check`], so they accept and refuse the
//! same files. Feature `schema` adds [`json_schema`].
//!
//! ```
//! use limits_format::{Deployment, Region, Scope};
//!
//! let input = r#"
//! schema = 3
//! [source]
//! provider = "Example"
//! url = "https://example.com/limits"
//!
//! [[section]]
//! id = "chat"
//! region = "cn-beijing"
//! scope = "cn"
//! title = "Chat models"
//!
//! [[section.group]]
//! rpm = 60
//! tpm = 100_000
//! models = ["chat-small", { id = "chat-large-2025-01-01", aliases = ["chat-large"] }]
//!
//! [[section.group]]
//! submit_rps = 5
//! concurrency = 5
//! models = ["video-t2v"]
//! "#;
//! let table = limits_format::parse("limits.toml", input).unwrap();
//! assert_eq!(table.summary().to_string(), "3 models, 1 aliases, 1 sections, 2 groups");
//! let video = table.models().find(|r| r.model.id == "video-t2v").unwrap();
//! let beijing = Deployment::new(Region::Beijing, Scope::MainlandChina);
//! assert_eq!(video.section.mode, Some(beijing));
//! assert_eq!(video.group.limits.concurrency, Some(5));
//!
//! // Mistakes come back located; the report renders them as rustc would.
//! let bad = input.replace("rpm = 60", "rpm = 0");
//! let report = limits_format::parse("limits.toml", &bad).unwrap_err();
//! let text = report.to_string();
//! assert!(text.starts_with("error[E005]"));
//! assert!(text.contains("--> limits.toml:14:7"));
//! ```
//!
//! A file is read with [`read`]; [`check`] keeps the warnings of a valid
//! file as well.
#![warn(missing_docs)]

pub mod diagnostic;
pub mod diff;
pub mod ident;
pub mod ir;
pub mod keys;
mod parse;
mod report;
#[cfg(feature = "schema")]
mod schema;
mod validate;
mod write;

pub use diagnostic::{Code, Colors, Diagnostic, Diagnostics, Label, LineIndex, Location, Severity};
pub use ir::{
    Deployment, Group, Kind, Limits, Model, ModelRow, Per, Region, Retired, Scope, Section, Source,
    Summary, Table,
};
pub use report::{LoadError, Report};
#[cfg(feature = "schema")]
pub use schema::json_schema;
pub use validate::SCHEMA_VERSION;
pub use write::{group_digits, to_toml};

use std::io::Read;
use std::path::Path;

use sha2::{Digest, Sha256};

/// The largest file [`read`] and [`Checked::read`] accept: 64 MiB. A rate
/// table is kilobytes; this bounds the memory a mistaken path (a log, a
/// disk image, `/dev/zero`) can take, before the file is read whole.
pub const MAX_INPUT_BYTES: u64 = 64 * 1024 * 1024;

/// Reads the limits file at `path` and validates it: the table, or why
/// there is none (the file could not be read, or the findings).
pub fn read(path: impl AsRef<Path>) -> Result<Table, LoadError> {
    let path = path.as_ref();
    Checked::read(path)?
        .into_result()
        .map_err(|report| LoadError::Invalid {
            path: path.to_path_buf(),
            report,
        })
}

/// Parses and validates a limits file held in memory, shown as `origin`
/// in the findings. Warnings of a valid file are dropped; [`check`] keeps
/// them.
pub fn parse(origin: &str, text: &str) -> Result<Table, Report> {
    check(origin, text.as_bytes()).into_result()
}

/// What [`check`] found in a file: its text, the table (when there is no
/// error) and every finding, warnings included, sorted by position.
#[derive(Clone, Debug)]
pub struct Checked {
    /// The file's name as the findings show it.
    pub origin: String,
    /// The file's text (lossy where it is not UTF-8, which is an error; the
    /// text before the first bad byte is exact).
    pub text: String,
    /// The validated table, if the file has no error.
    pub table: Option<Table>,
    /// Every error and warning.
    pub diagnostics: Diagnostics,
}

impl Checked {
    /// Reads the file at `path` and checks it ([`check`], shown as the
    /// path). Fails only when the file cannot be read
    /// ([`LoadError::Read`]) or is larger than [`MAX_INPUT_BYTES`]
    /// ([`LoadError::TooLarge`]).
    pub fn read(path: impl AsRef<Path>) -> Result<Checked, LoadError> {
        let path = path.as_ref();
        let read_error = |source| LoadError::Read {
            path: path.to_path_buf(),
            source,
        };
        let too_large = || LoadError::TooLarge {
            path: path.to_path_buf(),
            limit: MAX_INPUT_BYTES,
        };
        let file = std::fs::File::open(path).map_err(read_error)?;
        let size = file.metadata().map_err(read_error)?.len();
        if size > MAX_INPUT_BYTES {
            return Err(too_large());
        }
        // Files that report no size (pipes, /proc) are read up to the cap.
        let mut bytes = Vec::with_capacity(usize::try_from(size).unwrap_or(0));
        file.take(MAX_INPUT_BYTES + 1)
            .read_to_end(&mut bytes)
            .map_err(read_error)?;
        if bytes.len() as u64 > MAX_INPUT_BYTES {
            return Err(too_large());
        }
        Ok(check(path.display().to_string(), &bytes))
    }

    /// The table, or a report of the findings when there is an error.
    pub fn into_result(self) -> Result<Table, Report> {
        match self.table {
            Some(table) if !self.diagnostics.has_errors() => Ok(table),
            _ => Err(self.into_report()),
        }
    }

    /// Every finding (errors or warnings) as a report.
    pub fn into_report(self) -> Report {
        Report::new(self.origin, self.text, self.diagnostics)
    }

    /// Every finding rendered rustc-style, as `limits check` prints them.
    pub fn render(&self, colors: Colors) -> String {
        self.diagnostics.render(&self.origin, &self.text, colors)
    }
}

/// Parses and validates a limits file's bytes, keeping every finding.
/// Input that is not UTF-8 is reported as [`Code::NotUtf8`] at the first
/// bad byte.
pub fn check(origin: impl Into<String>, bytes: &[u8]) -> Checked {
    let origin = origin.into();
    let text = match std::str::from_utf8(bytes) {
        Ok(text) => text,
        Err(e) => {
            let at = e.valid_up_to();
            let text = String::from_utf8_lossy(bytes).into_owned();
            let lossy_len = text[at..].chars().next().map_or(0, char::len_utf8);
            return Checked {
                origin,
                text,
                table: None,
                diagnostics: Diagnostic::error(
                    Code::NotUtf8,
                    "the file is not valid UTF-8",
                    at..at + lossy_len,
                    "invalid byte here",
                )
                .into(),
            };
        }
    };
    let mut diagnostics = Diagnostics::new();
    let table = parse::parse(text, &mut diagnostics)
        .and_then(|doc| validate::validate(text, doc, sha256_hex(bytes), &mut diagnostics));
    diagnostics.settle_end_of_text(text);
    diagnostics.sort();
    let table = table.filter(|_| !diagnostics.has_errors());
    Checked {
        origin,
        text: text.to_owned(),
        table,
        diagnostics,
    }
}

fn sha256_hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}
