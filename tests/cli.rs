//! The `limits` command line on the real limits.toml and on fixture files.

use limits_e2e::{limits, path};

fn fixture(name: &str) -> String {
    path("codegen/tests/fixtures")
        .join(name)
        .to_string_lossy()
        .into_owned()
}

#[test]
fn check_accepts_the_real_table_with_a_summary() {
    let file = path("limits.toml").to_string_lossy().into_owned();
    let run = limits(&["check", &file]);
    assert_eq!(run.code, 0, "{run:?}");
    assert_eq!(
        run.stdout,
        format!("{file}: ok: 37 models, 3 aliases, 7 sections, 24 groups\n")
    );
    assert_eq!(run.stderr, "");
}

#[test]
fn check_reports_every_finding_located_and_exits_1() {
    let file = fixture("bad/duplicate_models.toml");
    let run = limits(&["check", "--color", "never", &file]);
    assert_eq!(run.code, 1, "{run:?}");
    assert_eq!(run.stdout, "");
    assert_eq!(
        run.stderr.matches("error[E008]").count(),
        4,
        "{}",
        run.stderr
    );
    assert!(
        run.stderr.contains(&format!("--> {file}:27:3")),
        "{}",
        run.stderr
    );
    assert!(run.stderr.contains("first defined here"), "{}", run.stderr);
    assert!(
        run.stderr.ends_with(&format!("{file}: 4 errors\n")),
        "{}",
        run.stderr
    );
    assert!(!run.stderr.contains('\x1b'), "no colour with --color never");
}

#[test]
fn color_always_colours_the_diagnostics() {
    let run = limits(&[
        "check",
        "--color=always",
        &fixture("bad/schema_version.toml"),
    ]);
    assert_eq!(run.code, 1);
    assert!(run.stderr.contains("\x1b["), "{:?}", run.stderr);
}

#[test]
fn check_refuses_a_file_that_is_not_utf8() {
    let run = limits(&["check", &fixture("bad/not_utf8.toml")]);
    assert_eq!(run.code, 1);
    assert!(run
        .stderr
        .contains("error[E017]: the file is not valid UTF-8"));
    assert!(run.stderr.contains("not_utf8.toml:13:13"), "{}", run.stderr);
}

#[test]
fn io_and_usage_errors_exit_2() {
    let run = limits(&["check", "/no/such/limits.toml"]);
    assert_eq!(run.code, 2);
    assert!(run
        .stderr
        .starts_with("error: cannot read /no/such/limits.toml: "));

    let run = limits(&["frobnicate"]);
    assert_eq!(run.code, 2);
    assert!(
        run.stderr.contains("unrecognized subcommand"),
        "{}",
        run.stderr
    );

    let run = limits(&["check", "--color", "sometimes"]);
    assert_eq!(run.code, 2);

    let run = limits(&["--help"]);
    assert_eq!(run.code, 0);
    assert!(run.stdout.contains("check"));
}

#[test]
fn gen_writes_only_when_changed_and_check_detects_staleness() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("generated.rs");
    let out_s = out.to_string_lossy().into_owned();
    let input = fixture("good/groups_and_aliases.toml");

    let check = limits(&["gen", "--check", "--input", &input, "--output", &out_s]);
    assert_eq!(check.code, 1, "a missing file is stale: {check:?}");
    assert!(check.stderr.contains("is out of date"), "{}", check.stderr);
    assert!(check.stderr.contains("cargo run -p limits-cli -- gen"));
    assert!(!out.exists(), "--check writes nothing");

    let run = limits(&["gen", "--input", &input, "--output", &out_s]);
    assert_eq!(run.code, 0, "{run:?}");
    assert_eq!(run.stdout, format!("wrote {out_s}\n"));
    let written = std::fs::read_to_string(&out).unwrap();
    let table =
        limits_codegen::parse_and_validate(&std::fs::read_to_string(&input).unwrap()).unwrap();
    assert_eq!(written, limits_codegen::generate(&table));
    let modified = std::fs::metadata(&out).unwrap().modified().unwrap();

    let again = limits(&["gen", "--input", &input, "--output", &out_s]);
    assert_eq!(again.stdout, format!("{out_s} is up to date\n"));
    assert_eq!(
        std::fs::metadata(&out).unwrap().modified().unwrap(),
        modified
    );

    let check = limits(&["gen", "--check", "--input", &input, "--output", &out_s]);
    assert_eq!(check.code, 0, "{check:?}");

    std::fs::write(&out, format!("{written}// hand edit\n")).unwrap();
    let check = limits(&["gen", "--check", "--input", &input, "--output", &out_s]);
    assert_eq!(check.code, 1);
}

#[test]
fn gen_on_invalid_input_reports_and_leaves_the_output_alone() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("generated.rs");
    std::fs::write(&out, "previous").unwrap();
    let out_s = out.to_string_lossy().into_owned();
    let run = limits(&[
        "gen",
        "--input",
        &fixture("bad/empty_lists.toml"),
        "--output",
        &out_s,
    ]);
    assert_eq!(run.code, 1);
    assert!(run.stderr.contains("error[E010]"), "{}", run.stderr);
    assert_eq!(std::fs::read_to_string(&out).unwrap(), "previous");

    let run = limits(&[
        "gen",
        "--input",
        &fixture("good/minimal.toml"),
        "--output",
        "/no/such/dir/x.rs",
    ]);
    assert_eq!(run.code, 2);
    assert!(
        run.stderr
            .starts_with("error: cannot write /no/such/dir/x.rs"),
        "{}",
        run.stderr
    );
}

#[test]
fn gen_check_passes_on_the_checked_in_code() {
    let input = path("limits.toml").to_string_lossy().into_owned();
    let output = path("crates/modelstudio-limits/src/generated.rs")
        .to_string_lossy()
        .into_owned();
    let run = limits(&["gen", "--check", "--input", &input, "--output", &output]);
    assert_eq!(run.code, 0, "{run:?}");
}

#[test]
fn export_json_lists_every_model_in_file_order() {
    let file = path("limits.toml").to_string_lossy().into_owned();
    let run = limits(&["export", "--format", "json", &file]);
    assert_eq!(run.code, 0, "{run:?}");
    let json: serde_json::Value = serde_json::from_str(&run.stdout).unwrap();
    assert_eq!(json["source"]["provider"], "Alibaba Cloud Model Studio");
    let models = json["models"].as_array().unwrap();
    assert_eq!(models.len(), 37);
    let ids: Vec<&str> = models.iter().map(|m| m["id"].as_str().unwrap()).collect();
    let typed: Vec<&str> = modelstudio_limits::Model::ALL
        .iter()
        .map(|m| m.id())
        .collect();
    assert_eq!(ids, typed);
    let max = &models[3];
    assert_eq!(
        max,
        &serde_json::json!({
            "id": "qwen-max-2025-01-25",
            "aliases": ["qwen-max-0125"],
            "qpm": 60,
            "tpm": 100000,
            "section": "qwen",
            "deprecated": null,
        })
    );
    assert_eq!(json["sections"].as_array().unwrap().len(), 7);
}

#[test]
fn export_of_an_invalid_file_prints_no_json() {
    let run = limits(&["export", &fixture("bad/out_of_range.toml")]);
    assert_eq!(run.code, 1);
    assert_eq!(run.stdout, "");
    assert!(run.stderr.contains("error[E005]"));
}

#[test]
fn warnings_are_shown_and_deny_warnings_makes_them_fatal() {
    let file = fixture("good/warnings.toml");
    let run = limits(&["check", &file]);
    assert_eq!(run.code, 0, "{run:?}");
    assert!(run.stderr.contains("warning[W001]"), "{}", run.stderr);
    assert!(run.stderr.contains("warning[W002]"), "{}", run.stderr);
    assert!(run.stdout.contains(": ok: 3 models"));

    let run = limits(&["check", "--deny-warnings", &file]);
    assert_eq!(run.code, 1, "{run:?}");
    assert!(run.stderr.contains("warnings are denied"));
    assert!(run.stdout.is_empty());

    let clean = path("limits.toml").to_string_lossy().into_owned();
    assert_eq!(limits(&["check", "--deny-warnings", &clean]).code, 0);
}

#[test]
fn check_format_json_gives_located_diagnostics() {
    let file = fixture("bad/duplicate_models.toml");
    let run = limits(&["check", "--format", "json", &file]);
    assert_eq!(run.code, 1);
    assert_eq!(run.stderr, "");
    let json: serde_json::Value = serde_json::from_str(&run.stdout).unwrap();
    let items = json.as_array().unwrap();
    assert_eq!(items.len(), 4);
    let first = &items[0];
    assert_eq!(first["code"], "E008");
    assert_eq!(first["severity"], "error");
    assert_eq!(first["file"], file.as_str());
    assert_eq!(
        (first["line"].as_u64(), first["column"].as_u64()),
        (Some(27), Some(3))
    );
    assert_eq!(
        (first["end_line"].as_u64(), first["end_column"].as_u64()),
        (Some(27), Some(13))
    );
    let labels = first["labels"].as_array().unwrap();
    assert_eq!(labels.len(), 2);
    assert_eq!(labels[1]["message"], "first defined here, as a model id");
    assert_eq!(labels[1]["line"].as_u64(), Some(16));

    let valid = limits(&[
        "check",
        "--format",
        "json",
        &path("limits.toml").to_string_lossy(),
    ]);
    assert_eq!((valid.code, valid.stdout.trim()), (0, "[]"));
}

#[test]
fn check_format_github_annotates_the_lines() {
    let file = fixture("bad/schema_version.toml");
    let run = limits(&["check", "--format", "github", &file]);
    assert_eq!(run.code, 1);
    let line = run.stdout.lines().next().unwrap();
    assert!(
        line.starts_with("::error file=") && line.contains(",line=1,col=10,endLine=1,endColumn=11,title=E006::unsupported schema version 2%0Ahelp: write `schema = 1`"),
        "{line}"
    );
    let warnings = limits(&["check", "--format=github", &fixture("good/warnings.toml")]);
    assert_eq!(warnings.code, 0);
    assert_eq!(
        warnings
            .stdout
            .lines()
            .filter(|l| l.starts_with("::warning "))
            .count(),
        2
    );
}

#[test]
fn export_shows_deprecation() {
    let run = limits(&["export", &fixture("good/deprecated.toml")]);
    assert_eq!(run.code, 0, "{run:?}");
    let json: serde_json::Value = serde_json::from_str(&run.stdout).unwrap();
    assert_eq!(json["models"][0]["deprecated"], serde_json::Value::Null);
    assert_eq!(
        json["models"][1]["deprecated"],
        "retired by the provider on 2026-01-31; use chat-2"
    );
}

fn write(dir: &std::path::Path, name: &str, text: &str) -> String {
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap();
    path.to_string_lossy().into_owned()
}

fn real_table() -> String {
    std::fs::read_to_string(path("limits.toml")).unwrap()
}

#[test]
fn diff_reports_changes_and_their_semver_impact() {
    let dir = tempfile::tempdir().unwrap();
    let old = write(dir.path(), "old.toml", &real_table());
    let raised = real_table().replace("tpm = 19_020", "tpm = 20_000");
    let new = write(dir.path(), "new.toml", &raised);
    let run = limits(&["diff", &old, &new]);
    assert_eq!(run.code, 0, "{run:?}");
    assert!(
        run.stdout
            .contains("~ qwen-mt-turbo: TPM raised 19020 -> 20000 (+5.2%)  [patch]"),
        "{}",
        run.stdout
    );
    assert!(run
        .stdout
        .ends_with("1 change; semver impact on modelstudio-limits: patch\n"));

    let removed = real_table().replace(r#"models = ["qwq-plus"]"#, r#"models = ["qwq-plus-2"]"#);
    let new = write(dir.path(), "removed.toml", &removed);
    let json = limits(&["diff", "--format", "json", &old, &new]);
    let value: serde_json::Value = serde_json::from_str(&json.stdout).unwrap();
    assert_eq!(value["impact"], "major");
    let kinds: Vec<&str> = value["changes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["kind"].as_str().unwrap())
        .collect();
    assert_eq!(kinds, ["model_added", "model_removed"]);
    assert_eq!(limits(&["diff", "--deny", "major", &old, &new]).code, 1);
    assert_eq!(limits(&["diff", "--deny", "minor", &old, &old]).code, 0);
    let same = limits(&["diff", &old, &old]);
    assert!(same.stdout.ends_with("no changes\n"));
}

#[test]
fn diff_deny_minor_catches_additions_but_deny_major_does_not() {
    let dir = tempfile::tempdir().unwrap();
    let old = write(dir.path(), "old.toml", &real_table());
    let added = real_table().replace(
        r#"models = ["qwen-max"]"#,
        r#"models = ["qwen-max", "qwen-max-2"]"#,
    );
    let new = write(dir.path(), "new.toml", &added);
    assert_eq!(limits(&["diff", "--deny", "major", &old, &new]).code, 0);
    assert_eq!(limits(&["diff", "--deny", "minor", &old, &new]).code, 1);
}

#[test]
fn diff_against_a_git_revision() {
    let dir = tempfile::tempdir().unwrap();
    let git = |args: &[&str]| {
        let out = std::process::Command::new("git")
            .arg("-C")
            .arg(dir.path())
            .args(["-c", "user.name=t", "-c", "user.email=t@example.com"])
            .args(args)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    };
    git(&["init", "-q"]);
    let file = write(dir.path(), "limits.toml", &real_table());
    git(&["add", "limits.toml"]);
    git(&["commit", "-q", "-m", "table"]);
    write(
        dir.path(),
        "limits.toml",
        &real_table().replace("qpm = 1_800", "qpm = 900"),
    );
    let run = limits(&["diff", "--git", "HEAD", &file]);
    assert_eq!(run.code, 0, "{run:?}");
    assert!(
        run.stdout
            .starts_with(&format!("limits diff HEAD:{file} -> {file}\n")),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout
            .contains("~ text-embedding-v3: QPM lowered 1800 -> 900 (-50.0%)"),
        "{}",
        run.stdout
    );

    let bad = limits(&["diff", "--git", "no-such-rev", &file]);
    assert_eq!(bad.code, 2);
    assert!(
        bad.stderr.contains("git show no-such-rev:./limits.toml"),
        "{}",
        bad.stderr
    );
}

#[test]
fn diff_of_an_invalid_file_shows_its_errors() {
    let dir = tempfile::tempdir().unwrap();
    let old = write(dir.path(), "old.toml", &real_table());
    let new = write(
        dir.path(),
        "new.toml",
        &real_table().replace("qpm = 60\n", "qpm = 0\n"),
    );
    let run = limits(&["diff", &old, &new]);
    assert_eq!(run.code, 1);
    assert!(run.stderr.contains("error[E005]"), "{}", run.stderr);
    assert_eq!(
        limits(&["diff", &old]).code,
        2,
        "one file without --git is a usage error"
    );
}
