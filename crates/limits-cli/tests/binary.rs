//! The real `limits` binary: exit codes, and no panic on any bad fixture.

use std::path::Path;
use std::process::Command;

fn limits(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_limits"))
        .args(args)
        .env_remove("NO_COLOR")
        .output()
        .unwrap()
}

#[test]
fn every_bad_fixture_exits_1_with_located_errors_and_no_panic() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../limits-format/tests/fixtures/bad");
    let mut seen = 0;
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        let out = limits(&["check", path.to_str().unwrap()]);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{}: {stderr}", path.display());
        assert!(!stderr.contains("panicked"), "{stderr}");
        assert!(stderr.contains(&format!("{}:", path.display())), "{stderr}");
        // stderr is not a terminal here, so --color auto means no colour.
        assert!(!stderr.contains('\x1b'), "{stderr}");
        seen += 1;
    }
    assert!(seen >= 20, "only {seen} fixtures");
}

#[test]
fn exit_codes() {
    let good = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../limits-format/tests/fixtures/good/minimal.toml");
    assert_eq!(
        limits(&["check", good.to_str().unwrap()]).status.code(),
        Some(0)
    );
    assert_eq!(limits(&[]).status.code(), Some(2));
    assert_eq!(
        limits(&["check", "/no/such/file.toml"]).status.code(),
        Some(2)
    );
    assert_eq!(limits(&["--version"]).status.code(), Some(0));
}
