//! Reading and validating a limits file, shared by every subcommand.

use std::io::{self, Write};
use std::path::Path;

use limits_codegen::{Colors, Loaded, Table};

/// Writes the findings (warnings too), rustc-style, if there are any.
pub(crate) fn report(
    loaded: &Loaded,
    origin: &str,
    color: bool,
    out: &mut dyn Write,
) -> io::Result<()> {
    if loaded.checked.diagnostics.is_empty() {
        return Ok(());
    }
    let colors = if color { Colors::Ansi } else { Colors::Plain };
    write!(out, "{}", loaded.render(origin, colors))
}

/// Reads `path` and checks it. I/O errors come back as `Err` (exit 2).
pub(crate) fn read(path: &Path) -> io::Result<Loaded> {
    Loaded::read(path)
        .map_err(|e| io::Error::new(e.kind(), format!("cannot read {}: {e}", path.display())))
}

/// Reads and checks `path`, writing findings (warnings too) to stderr
/// rustc-style; `Ok(None)` (exit 1) when the file has errors.
pub(crate) fn load(path: &Path, color: bool, stderr: &mut dyn Write) -> io::Result<Option<Table>> {
    let loaded = read(path)?;
    report(&loaded, &path.display().to_string(), color, stderr)?;
    Ok(loaded.checked.table)
}
