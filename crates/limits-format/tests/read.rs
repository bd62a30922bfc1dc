//! Reading files: the size cap holds before a file is read whole, and
//! every failure names the file.

use limits_format::{LoadError, MAX_INPUT_BYTES};

#[test]
fn a_file_over_the_cap_is_refused_before_it_is_read() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("huge.toml");
    // Sparse: its size says too large without a byte written.
    let file = std::fs::File::create(&path).unwrap();
    file.set_len(MAX_INPUT_BYTES + 1).unwrap();
    let error = limits_format::read(&path).unwrap_err();
    assert!(
        matches!(&error, LoadError::TooLarge { limit, .. } if *limit == MAX_INPUT_BYTES),
        "{error:?}"
    );
    assert_eq!(error.path(), path);
    assert_eq!(
        error.to_string(),
        format!(
            "{} is larger than 64 MiB, more than any rate table; not read",
            path.display()
        )
    );
}

#[cfg(unix)]
#[test]
fn an_endless_file_is_read_only_up_to_the_cap() {
    let error = limits_format::read("/dev/zero").unwrap_err();
    assert!(matches!(error, LoadError::TooLarge { .. }), "{error:?}");
}

#[test]
fn a_missing_file_is_a_read_error_with_its_cause() {
    let error = limits_format::read("no/such/limits.toml").unwrap_err();
    assert!(matches!(error, LoadError::Read { .. }));
    assert_eq!(error.to_string(), "cannot read no/such/limits.toml");
    let cause = std::error::Error::source(&error).unwrap();
    assert_eq!(
        cause.downcast_ref::<std::io::Error>().unwrap().kind(),
        std::io::ErrorKind::NotFound
    );
}
