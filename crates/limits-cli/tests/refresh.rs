//! The refresh workflow's steps (`scripts/refresh.sh`) on local pages, in a
//! scratch copy of the repository's table: no network.

use std::path::{Path, PathBuf};
use std::process::Command;

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// The table the seed page was imported to: a fixed fixture, so that an
/// edit of the live limits.toml does not break these tests.
const SEED_TABLE: &str = "tests/data/import/seed-limits.toml";

/// Runs the refresh steps on `page` in a fresh copy of the seed table;
/// returns the scratch directory, whether the script succeeded, and its
/// stdout.
fn refresh(page: &str) -> (tempfile::TempDir, bool, String) {
    let dir = tempfile::tempdir().unwrap();
    std::fs::copy(root().join(SEED_TABLE), dir.path().join("limits.toml")).unwrap();
    std::fs::create_dir_all(dir.path().join("crates/modelstudio-limits/src")).unwrap();
    let out = Command::new("bash")
        .arg(root().join("scripts/refresh.sh"))
        .arg(page)
        .arg(dir.path().join("body.md"))
        .current_dir(dir.path())
        .env("LIMITS", env!("CARGO_BIN_EXE_limits"))
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    (dir, out.status.success(), stdout)
}

fn page(file: &str) -> String {
    root().join(file).to_string_lossy().into_owned()
}

#[test]
fn an_unchanged_page_changes_nothing() {
    let (dir, ok, stdout) = refresh(&page("tests/data/model-studio-rate-limits.txt"));
    assert!(ok, "{stdout}");
    assert_eq!(stdout.lines().last(), Some("unchanged"));
    assert_eq!(
        std::fs::read(dir.path().join("limits.toml")).unwrap(),
        std::fs::read(root().join(SEED_TABLE)).unwrap()
    );
    assert!(!dir.path().join("body.md").exists());
    assert!(!dir
        .path()
        .join("crates/modelstudio-limits/src/generated.rs")
        .exists());
}

#[test]
fn a_revised_page_is_checked_regenerated_and_described() {
    let (dir, ok, stdout) = refresh(&page("tests/data/import/revised.txt"));
    assert!(ok, "{stdout}");
    assert_eq!(stdout.lines().last(), Some("changed"));
    let src = dir.path().join("crates/modelstudio-limits/src");
    let generated = std::fs::read_to_string(src.join("generated.rs")).unwrap();
    assert!(generated.contains("\"qwen3-32b\""));
    assert!(src.join("table.md").exists());
    let body = std::fs::read_to_string(dir.path().join("body.md")).unwrap();
    assert!(body.contains("+ model qwen3-32b"), "{body}");
    assert!(
        body.contains("semver impact on modelstudio-limits: minor"),
        "{body}"
    );
    assert!(!body.contains(dir.path().to_str().unwrap()), "{body}");
}

#[test]
fn swapped_limits_stop_the_refresh() {
    let dir = tempfile::tempdir().unwrap();
    let seed =
        std::fs::read_to_string(root().join("tests/data/model-studio-rate-limits.txt")).unwrap();
    let swapped = seed.replace(
        "qwen-mt-plus | 60 | 23,797 |",
        "qwen-mt-plus | 23,797 | 60 |",
    );
    assert_ne!(swapped, seed);
    let file = dir.path().join("swapped.txt");
    std::fs::write(&file, swapped).unwrap();
    let (_scratch, ok, stdout) = refresh(file.to_str().unwrap());
    assert!(!ok, "{stdout}");
    assert!(!stdout.contains("changed"), "{stdout}");
}
