//! `limits check`.

use std::io;
use std::path::Path;

use crate::{findings, input, CheckFormat, Io, EXIT_INVALID, EXIT_OK};

pub(crate) fn run(
    file: &Path,
    format: CheckFormat,
    deny_warnings: bool,
    color: bool,
    io: &mut Io<'_>,
) -> io::Result<u8> {
    let checked = input::read(file)?;
    let diagnostics = &checked.diagnostics;
    let origin = &checked.origin;
    match format {
        CheckFormat::Human => input::report(&checked, color, io.stderr)?,
        CheckFormat::Json => findings::write_json(io.stdout, origin, &checked.text, diagnostics)?,
        CheckFormat::Github => {
            findings::write_github(io.stdout, origin, &checked.text, diagnostics)?
        }
    }
    let Some(table) = &checked.table else {
        return Ok(EXIT_INVALID);
    };
    if deny_warnings && !diagnostics.is_empty() {
        if format == CheckFormat::Human {
            writeln!(io.stderr, "error: warnings are denied (--deny-warnings)")?;
        }
        return Ok(EXIT_INVALID);
    }
    if format == CheckFormat::Human {
        writeln!(io.stdout, "{origin}: ok: {}", table.summary())?;
        for mode in table.summary_by_mode() {
            writeln!(io.stdout, "  {mode}")?;
        }
    }
    Ok(EXIT_OK)
}
