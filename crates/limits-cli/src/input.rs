//! Reading and validating a limits file, shared by every subcommand.

use std::io::{self, Write};
use std::path::Path;

use limits_codegen::{Checked, Table};

/// A limits file's bytes, as text for rendering, and what checking found.
pub(crate) struct Loaded {
    /// The file's text (lossy where it is not UTF-8, which is an error).
    pub text: String,
    /// The table and the findings.
    pub checked: Checked,
}

impl Loaded {
    /// Writes the findings (warnings too), rustc-style, if there are any.
    pub(crate) fn report(&self, origin: &str, color: bool, out: &mut dyn Write) -> io::Result<()> {
        let diagnostics = &self.checked.diagnostics;
        if diagnostics.is_empty() {
            return Ok(());
        }
        write!(out, "{}", diagnostics.render(origin, &self.text, color))
    }
}

/// Reads `path` and checks it. I/O errors come back as `Err` (exit 2).
pub(crate) fn read(path: &Path) -> io::Result<Loaded> {
    let bytes = std::fs::read(path)
        .map_err(|e| io::Error::new(e.kind(), format!("cannot read {}: {e}", path.display())))?;
    Ok(checked(&bytes))
}

/// Checks a file's bytes.
pub(crate) fn checked(bytes: &[u8]) -> Loaded {
    let checked = limits_codegen::check_bytes(bytes);
    let text = String::from_utf8_lossy(bytes).into_owned();
    Loaded { text, checked }
}

/// Reads and checks `path`, writing findings (warnings too) to stderr
/// rustc-style; `Ok(None)` (exit 1) when the file has errors.
pub(crate) fn load(path: &Path, color: bool, stderr: &mut dyn Write) -> io::Result<Option<Table>> {
    let loaded = read(path)?;
    loaded.report(&path.display().to_string(), color, stderr)?;
    Ok(loaded.checked.table)
}
