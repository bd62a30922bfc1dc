//! `limits gen`: regenerate the typed crate's code.

use std::io;
use std::path::Path;

use limits_codegen::{WriteOutcome, DEFAULT_COMMAND};

use crate::{input, Io, EXIT_INVALID, EXIT_OK};

pub(crate) fn run(
    input: &Path,
    output: &Path,
    check: bool,
    color: bool,
    io: &mut Io<'_>,
) -> io::Result<u8> {
    let Some(table) = input::load(input, color, io.stderr)? else {
        return Ok(EXIT_INVALID);
    };
    let code = limits_codegen::generate(&table);
    let out = output.display();
    if check {
        let current = match std::fs::read(output) {
            Ok(bytes) => Some(bytes),
            Err(e) if e.kind() == io::ErrorKind::NotFound => None,
            Err(e) => {
                return Err(io::Error::new(e.kind(), format!("cannot read {out}: {e}")));
            }
        };
        if current.as_deref() == Some(code.as_bytes()) {
            writeln!(io.stdout, "{out} is up to date")?;
            return Ok(EXIT_OK);
        }
        writeln!(
            io.stderr,
            "error: {out} is out of date with {}\n  run `{DEFAULT_COMMAND}` and commit the result",
            input.display()
        )?;
        return Ok(EXIT_INVALID);
    }
    let outcome = limits_codegen::write_if_changed(output, &code)
        .map_err(|e| io::Error::new(e.kind(), format!("cannot write {out}: {e}")))?;
    match outcome {
        WriteOutcome::Written => writeln!(io.stdout, "wrote {out}")?,
        WriteOutcome::Unchanged => writeln!(io.stdout, "{out} is up to date")?,
    }
    Ok(EXIT_OK)
}
