//! Writing generated files: atomically, and only when the content changed.

use std::io::{self, Write};
use std::path::Path;

/// What [`write_if_changed`] did.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum WriteOutcome {
    /// The file already had this content; it was not touched.
    Unchanged,
    /// The file was created or replaced.
    Written,
}

/// Writes `contents` to `path` unless the file already holds exactly that.
///
/// The new content goes to a temporary file in the same directory, which is
/// then renamed over `path`, so a reader never sees a half-written file and
/// a failure leaves the old file as it was. The modification time of an
/// unchanged file is kept, so build systems see no change.
pub fn write_if_changed(path: &Path, contents: &str) -> io::Result<WriteOutcome> {
    match std::fs::read(path) {
        Ok(old) if old == contents.as_bytes() => return Ok(WriteOutcome::Unchanged),
        Ok(_) => {}
        Err(e) if e.kind() == io::ErrorKind::NotFound => {}
        Err(e) => return Err(e),
    }
    let dir = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    let mut tmp = tempfile::Builder::new()
        .prefix(".limits-gen-")
        .tempfile_in(dir)?;
    tmp.write_all(contents.as_bytes())?;
    tmp.as_file().sync_all()?;
    tmp.persist(path).map_err(|e| e.error)?;
    Ok(WriteOutcome::Written)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writes_once_then_leaves_the_file_alone() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("out.rs");
        assert_eq!(write_if_changed(&path, "a").unwrap(), WriteOutcome::Written);
        assert_eq!(
            write_if_changed(&path, "a").unwrap(),
            WriteOutcome::Unchanged
        );
        assert_eq!(write_if_changed(&path, "b").unwrap(), WriteOutcome::Written);
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "b");
        // No temporary file is left behind.
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
    }

    #[test]
    fn a_missing_directory_is_an_error_not_a_panic() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("no/such/dir/out.rs");
        assert!(write_if_changed(&path, "a").is_err());
    }
}
