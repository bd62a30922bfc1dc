//! `limits check`.

use std::io;
use std::path::Path;

use crate::{input, Io, EXIT_INVALID, EXIT_OK};

pub(crate) fn run(file: &Path, color: bool, io: &mut Io<'_>) -> io::Result<u8> {
    let Some(table) = input::load(file, color, io.stderr)? else {
        return Ok(EXIT_INVALID);
    };
    writeln!(io.stdout, "{}: ok: {}", file.display(), table.summary())?;
    Ok(EXIT_OK)
}
