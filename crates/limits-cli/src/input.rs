//! Reading and validating a limits file, shared by every subcommand.

use std::io::{self, Write};
use std::path::Path;

use limits_format::{Checked, Colors, LoadError, Table};

/// Writes the findings (warnings too), rustc-style, if there are any.
pub(crate) fn report(checked: &Checked, color: bool, out: &mut dyn Write) -> io::Result<()> {
    if checked.diagnostics.is_empty() {
        return Ok(());
    }
    let colors = if color { Colors::Ansi } else { Colors::Plain };
    write!(out, "{}", checked.render(colors))
}

/// Reads `path` and checks it. I/O errors come back as `Err` (exit 2).
pub(crate) fn read(path: &Path) -> io::Result<Checked> {
    Checked::read(path).map_err(|e| match e {
        LoadError::Read { source, .. } => io::Error::new(
            source.kind(),
            format!("cannot read {}: {source}", path.display()),
        ),
        other => io::Error::new(io::ErrorKind::InvalidData, other.to_string()),
    })
}

/// Reads and checks `path`, writing findings (warnings too) to stderr
/// rustc-style; `Ok(None)` (exit 1) when the file has errors.
pub(crate) fn load(path: &Path, color: bool, stderr: &mut dyn Write) -> io::Result<Option<Table>> {
    let checked = read(path)?;
    report(&checked, color, stderr)?;
    Ok(checked.table)
}
