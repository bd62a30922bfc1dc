//! The errors at this crate's boundary: [`Report`] (a file's findings with
//! the text they point into) and [`LoadError`] (reading a file failed).

use std::fmt;
use std::path::PathBuf;

use crate::diagnostic::{Colors, Diagnostics};

/// A limits file that was refused: its name, its text and every finding.
///
/// `Display` renders the findings as `limits check` prints them (rustc
/// style, `--> origin:line:col`), followed by a count; it adds no
/// "error:" prefix of its own.
#[derive(Clone, Debug)]
pub struct Report {
    origin: String,
    text: String,
    diagnostics: Diagnostics,
}

impl Report {
    /// A report of `diagnostics` found in `text`, shown as file `origin`.
    pub fn new(
        origin: impl Into<String>,
        text: impl Into<String>,
        diagnostics: Diagnostics,
    ) -> Self {
        Report {
            origin: origin.into(),
            text: text.into(),
            diagnostics,
        }
    }

    /// The file's name as the findings show it.
    pub fn origin(&self) -> &str {
        &self.origin
    }

    /// The text the findings' spans point into.
    pub fn text(&self) -> &str {
        &self.text
    }

    /// The findings, sorted by position.
    pub fn diagnostics(&self) -> &Diagnostics {
        &self.diagnostics
    }

    /// The findings rendered, with or without ANSI colors.
    pub fn render(&self, colors: Colors) -> String {
        self.diagnostics.render(&self.origin, &self.text, colors)
    }
}

impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.render(Colors::Plain).trim_end())
    }
}

impl std::error::Error for Report {}

/// Why [`crate::read`] (or [`crate::Checked::read`]) returned no table.
#[derive(Debug)]
#[non_exhaustive]
pub enum LoadError {
    /// The file could not be read.
    Read {
        /// The file.
        path: PathBuf,
        /// What went wrong (also the error's `source()`).
        source: std::io::Error,
    },
    /// The file is larger than the format accepts; it was not read whole.
    TooLarge {
        /// The file.
        path: PathBuf,
        /// The most bytes accepted ([`crate::MAX_INPUT_BYTES`]).
        limit: u64,
    },
    /// The file was read and refused; `Display` is the report's.
    Invalid {
        /// The file.
        path: PathBuf,
        /// The findings.
        report: Report,
    },
}

impl LoadError {
    /// The file that failed.
    pub fn path(&self) -> &std::path::Path {
        match self {
            LoadError::Read { path, .. }
            | LoadError::TooLarge { path, .. }
            | LoadError::Invalid { path, .. } => path,
        }
    }

    /// The findings, when the file was read and refused.
    pub fn report(&self) -> Option<&Report> {
        match self {
            LoadError::Invalid { report, .. } => Some(report),
            LoadError::Read { .. } | LoadError::TooLarge { .. } => None,
        }
    }
}

impl fmt::Display for LoadError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            LoadError::Read { path, .. } => write!(f, "cannot read {}", path.display()),
            LoadError::TooLarge { path, limit } => write!(
                f,
                "{} is larger than {} MiB, more than any rate table; not read",
                path.display(),
                limit / (1024 * 1024)
            ),
            LoadError::Invalid { report, .. } => fmt::Display::fmt(report, f),
        }
    }
}

impl std::error::Error for LoadError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            LoadError::Read { source, .. } => Some(source),
            LoadError::TooLarge { .. } | LoadError::Invalid { .. } => None,
        }
    }
}
