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

/// Runs the refresh steps in `dir` (its limits.toml) on `page`, with the
/// dynamic-limits page `tiers`; whether it succeeded, its stdout and the
/// body it wrote.
fn refresh_in(dir: &Path, page: &str, tiers: Option<&str>) -> (bool, String, String) {
    let body = dir.join("body.md");
    let _ = std::fs::remove_file(&body);
    let mut cmd = Command::new("bash");
    cmd.arg(root().join("scripts/refresh.sh"))
        .arg(page)
        .arg(&body)
        .current_dir(dir)
        .env("LIMITS", env!("CARGO_BIN_EXE_limits"));
    if let Some(tiers) = tiers {
        cmd.env("TIERS", tiers);
    }
    let out = cmd.output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    let body = std::fs::read_to_string(&body).unwrap_or_default();
    (out.status.success(), stdout, body)
}

/// The lines of `body` under its `### place` heading.
fn group<'b>(body: &'b str, place: &str) -> &'b str {
    let start = body
        .find(&format!("### {place}\n"))
        .unwrap_or_else(|| panic!("no group {place} in {body}"));
    let rest = &body[start..];
    let end = rest[4..].find("\n### ").map_or(rest.len(), |i| i + 4);
    &rest[..end]
}

/// The refresh over every revision in order: February's table, then May's
/// and September's mirror copies. Each step changes the table, its body
/// groups the changes by region and scope, a repeated step changes
/// nothing, and a page the importer cannot read stops it with nothing
/// written.
#[test]
fn the_refresh_follows_every_revision_grouped_by_region_and_scope() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("crates/modelstudio-limits/src")).unwrap();
    let table = dir.path().join("limits.toml");
    let import = Command::new(env!("CARGO_BIN_EXE_limits"))
        .arg("import")
        .arg(page("tests/data/rate-limit.zh-CN.md"))
        .arg("-o")
        .arg(&table)
        .output()
        .unwrap();
    assert!(import.status.success());
    let may = page("tests/data/provider/rate-limit.zh-CN.2026-05-27.md");
    let (ok, stdout, body) = refresh_in(dir.path(), &may, None);
    assert!(ok, "{stdout}");
    assert_eq!(stdout.lines().last(), Some("changed"));
    assert!(group(&body, "ap-southeast-1/intl")
        .contains("~ qwen-max [ap-southeast-1/intl]: RPM raised"));
    assert!(group(&body, "cn-beijing/cn").contains("~ kimi-k2.5 [cn-beijing/cn]: RPM raised"));
    assert!(
        body.contains("semver impact on modelstudio-limits"),
        "{body}"
    );

    let september = page("tests/data/provider/rate-limit.zh-CN.2026-09.md");
    let tiers = page("tests/data/provider/quota-management.zh-CN.2026-09.md");
    let (ok, stdout, body) = refresh_in(dir.path(), &september, Some(&tiers));
    assert!(ok, "{stdout}");
    assert_eq!(stdout.lines().last(), Some("changed"));
    assert!(group(&body, "us-east-1/us").contains("+ qwen-flash [us-east-1/us]"));
    assert!(
        group(&body, "us-east-1/global").contains("~ qwen3-vl-plus [us-east-1/global]: RPM raised")
    );
    let (ok, stdout, _) = refresh_in(dir.path(), &september, Some(&tiers));
    assert!(ok && stdout.lines().last() == Some("unchanged"), "{stdout}");

    let before = std::fs::read(&table).unwrap();
    let unreadable = dir.path().join("broken.md");
    std::fs::write(&unreadable, "# 限流\n\n## 文本生成\n\n只有说明文字。\n").unwrap();
    let (ok, stdout, _) = refresh_in(dir.path(), unreadable.to_str().unwrap(), None);
    assert!(!ok, "{stdout}");
    assert_eq!(std::fs::read(&table).unwrap(), before);
}
