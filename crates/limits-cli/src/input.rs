//! Reading and validating a limits file, shared by every subcommand.

use std::io::{self, Write};
use std::path::Path;

use limits_codegen::Table;

/// Reads `path` and validates it. I/O errors come back as `Err` (exit 2);
/// an invalid file has its findings written to stderr and gives `Ok(None)`
/// (exit 1).
pub(crate) fn load(path: &Path, color: bool, stderr: &mut dyn Write) -> io::Result<Option<Table>> {
    let bytes = std::fs::read(path)
        .map_err(|e| io::Error::new(e.kind(), format!("cannot read {}: {e}", path.display())))?;
    match limits_codegen::parse_and_validate_bytes(&bytes) {
        Ok(table) => Ok(Some(table)),
        Err(diagnostics) => {
            let text = String::from_utf8_lossy(&bytes);
            let origin = path.display().to_string();
            write!(stderr, "{}", diagnostics.render(&origin, &text, color))?;
            Ok(None)
        }
    }
}
