//! What is specific to this repository: the settings of
//! `modelstudio-limits`' checked-in `src/generated.rs`, the command named in
//! its header, and [`ensure_file_contents`], the one freshness check of
//! every generated file (`limits gen`, `gen --check`, the schema, and the
//! repository's tests).

use std::io;
use std::path::Path;

use limits_codegen::{write_if_changed, Builder, WriteOutcome};
use limits_format::Table;

/// The command that regenerates the checked-in code of `modelstudio-limits`.
pub const GEN_COMMAND: &str = "cargo run -p limits-cli -- gen";

/// The generator's settings of `modelstudio-limits`' `src/generated.rs`
/// ([`Builder::modelstudio_limits`], as its build script's), with a header
/// naming [`GEN_COMMAND`] and `limits.toml`.
pub fn builder() -> Builder {
    let mut builder = Builder::modelstudio_limits();
    builder.command(GEN_COMMAND).input_name("limits.toml");
    builder
}

/// `src/generated.rs` of `modelstudio-limits` for `table`.
pub fn generate(table: &Table) -> String {
    builder()
        .generate(table)
        .expect("the settings of modelstudio-limits are valid options")
}

/// What [`ensure_file_contents`] is asked to do.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum Mode {
    /// Only compare; a stale file is left as it is.
    Check,
    /// Write the file when it is stale.
    Write,
}

/// What [`ensure_file_contents`] found (and did).
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum Freshness {
    /// The file holds the contents (line endings aside).
    UpToDate,
    /// The file is missing or differs, and [`Mode::Check`] left it so.
    Stale,
    /// The file was missing or differed and has been written.
    Written,
}

/// Compares `path` with `contents`, and under [`Mode::Write`] replaces it
/// (atomically, [`write_if_changed`]) when it differs. A checkout that
/// turned the file's line endings into CRLF still counts as up to date.
pub fn ensure_file_contents(path: &Path, contents: &str, mode: Mode) -> io::Result<Freshness> {
    let shown = path.display();
    let current = match std::fs::read(path) {
        Ok(bytes) => Some(bytes),
        Err(e) if e.kind() == io::ErrorKind::NotFound => None,
        Err(e) => {
            return Err(io::Error::new(
                e.kind(),
                format!("cannot read {shown}: {e}"),
            ))
        }
    };
    let fresh = current.is_some_and(|bytes| {
        bytes == contents.as_bytes()
            || String::from_utf8_lossy(&bytes).replace("\r\n", "\n") == contents
    });
    if fresh {
        return Ok(Freshness::UpToDate);
    }
    if mode == Mode::Check {
        return Ok(Freshness::Stale);
    }
    match write_if_changed(path, contents) {
        Ok(WriteOutcome::Written) => Ok(Freshness::Written),
        Ok(WriteOutcome::Unchanged) => Ok(Freshness::UpToDate),
        Err(e) => Err(io::Error::new(
            e.kind(),
            format!("cannot write {shown}: {e}"),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn crlf_checkouts_are_fresh_and_stale_files_are_written_only_when_asked() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("out.rs");
        assert_eq!(
            ensure_file_contents(&path, "a\nb\n", Mode::Check).unwrap(),
            Freshness::Stale
        );
        assert!(!path.exists());
        assert_eq!(
            ensure_file_contents(&path, "a\nb\n", Mode::Write).unwrap(),
            Freshness::Written
        );
        assert_eq!(
            ensure_file_contents(&path, "a\nb\n", Mode::Write).unwrap(),
            Freshness::UpToDate
        );
        std::fs::write(&path, "a\r\nb\r\n").unwrap();
        assert_eq!(
            ensure_file_contents(&path, "a\nb\n", Mode::Check).unwrap(),
            Freshness::UpToDate
        );
        std::fs::write(&path, "a\r\nc\r\n").unwrap();
        assert_eq!(
            ensure_file_contents(&path, "a\nb\n", Mode::Check).unwrap(),
            Freshness::Stale
        );
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "a\r\nc\r\n");
    }
}
