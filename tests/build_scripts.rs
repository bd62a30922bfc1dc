//! Build scripts for real: a throwaway crate depends on modelstudio-limits
//! with feature `custom-table`, and cargo builds and runs it with
//! `MODELSTUDIO_LIMITS_TOML` set, changed, unset, invalid and relative.
//! Its build script is `limits_codegen::Builder::build`, so this also shows
//! what a build of any crate using the Builder prints for a bad table.
//!
//! The crate builds into `target/build-script-tests`, kept between runs so
//! only the first run compiles limits-codegen.

use std::path::Path;
use std::process::{Command, Output};

use limits_e2e::{path, root};

const MAIN: &str = r#"
fn main() {
    println!("source: {}", modelstudio_limits::SOURCE.provider);
    for &model in modelstudio_limits::Model::ALL {
        // The first mode that lists the model (every mode, for a table
        // without modes).
        let mode = model.deployments()[0];
        let limits = model.limits_in(mode).unwrap();
        let n = |v: Option<u64>| v.map_or("-".to_string(), |n| n.to_string());
        println!("{} {} {}", model, n(limits.rpm().map(u64::from)), n(limits.tpm()));
    }
}
"#;

/// Writes the consumer crate into `dir`.
fn consumer(dir: &Path) {
    let manifest = format!(
        "[package]\nname = \"consumer\"\nversion = \"0.0.0\"\nedition = \"2021\"\npublish = false\n\n\
         [dependencies]\nmodelstudio-limits = {{ path = {:?}, features = [\"custom-table\"] }}\n\n\
         [workspace]\n",
        path("crates/modelstudio-limits")
    );
    std::fs::write(dir.join("Cargo.toml"), manifest).unwrap();
    // The workspace's lock file pins the same versions of every dependency.
    std::fs::copy(path("Cargo.lock"), dir.join("Cargo.lock")).unwrap();
    std::fs::create_dir_all(dir.join("src")).unwrap();
    std::fs::write(dir.join("src/main.rs"), MAIN).unwrap();
}

/// `cargo run` in the consumer crate, with `MODELSTUDIO_LIMITS_TOML` set to
/// `table` (or unset).
fn cargo_run(dir: &Path, table: Option<&str>) -> Output {
    let mut cmd = Command::new(env!("CARGO"));
    cmd.args(["run", "--offline"])
        .current_dir(dir)
        .env("CARGO_TARGET_DIR", root().join("target/build-script-tests"))
        .env_remove("MODELSTUDIO_LIMITS_TOML");
    if let Some(table) = table {
        cmd.env("MODELSTUDIO_LIMITS_TOML", table);
    }
    cmd.output().unwrap()
}

fn stdout(out: &Output) -> String {
    assert!(
        out.status.success(),
        "cargo run failed:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout.clone()).unwrap()
}

#[test]
fn custom_table_regenerates_the_model_enum_and_follows_its_file() {
    let dir = tempfile::tempdir().unwrap();
    consumer(dir.path());
    let table = dir.path().join("account-limits.toml");
    let acme = std::fs::read_to_string(path("examples/acme-limits/acme.toml")).unwrap();
    std::fs::write(&table, &acme).unwrap();
    let table_str = table.to_str().unwrap();

    let first = stdout(&cargo_run(dir.path(), Some(table_str)));
    assert_eq!(
        first,
        "source: Acme AI\n\
         acme-large-2026-10-01 3000 2000000\n\
         acme-small 3000 2000000\n\
         acme-large-preview 120 400000\n\
         acme-embed-v3 10000 5000000\n"
    );

    // The account's limit is raised: the next build follows the file.
    std::fs::write(&table, acme.replace("qpm = 120", "qpm = 240")).unwrap();
    let raised = stdout(&cargo_run(dir.path(), Some(table_str)));
    assert!(
        raised.contains("acme-large-preview 240 400000\n"),
        "{raised}"
    );

    // Warnings of the table reach cargo's output, located; the build passes.
    std::fs::write(&table, acme.replace("tpm = 400_000", "tpm = 100")).unwrap();
    let warned = cargo_run(dir.path(), Some(table_str));
    assert!(stdout(&warned).contains("acme-large-preview 120 100\n"));
    let stderr = String::from_utf8_lossy(&warned.stderr);
    assert!(
        stderr.contains(&format!("{table_str}:28:7: warning[W001]: ")),
        "{stderr}"
    );

    // Unset: the published table again.
    let published = stdout(&cargo_run(dir.path(), None));
    assert!(published.starts_with("source: Alibaba Cloud Model Studio\n"));
    // The first model whose first row has both per-minute limits.
    let (first, limits) = modelstudio_limits::Model::ALL
        .iter()
        .find_map(|m| {
            let l = m.limits_in(m.deployments()[0])?;
            (l.rpm().is_some() && l.tpm().is_some()).then_some((*m, l))
        })
        .unwrap();
    let line = format!(
        "{} {} {}\n",
        first.id(),
        limits.rpm().unwrap(),
        limits.tpm().unwrap()
    );
    assert!(published.contains(&line), "{line}{published}");
    assert!(!published.contains("acme"));

    // An invalid table fails the build with located findings, no panic.
    std::fs::write(&table, acme.replace("qpm = 120", "qpm = 0")).unwrap();
    let bad = cargo_run(dir.path(), Some(table_str));
    assert!(!bad.status.success());
    let stderr = String::from_utf8_lossy(&bad.stderr);
    assert!(stderr.contains("error[E005]"), "{stderr}");
    assert!(
        stderr.contains(&format!("--> {table_str}:27:7")),
        "{stderr}"
    );
    assert!(
        stderr.contains(&format!("{table_str}: 1 error")),
        "{stderr}"
    );
    assert!(!stderr.contains("panicked"), "{stderr}");

    // A relative path is refused with the reason.
    let relative = cargo_run(dir.path(), Some("account-limits.toml"));
    assert!(!relative.status.success());
    let stderr = String::from_utf8_lossy(&relative.stderr);
    assert!(
        stderr.contains("MODELSTUDIO_LIMITS_TOML=account-limits.toml is not an absolute path"),
        "{stderr}"
    );
}

/// `cargo tree -e build,normal -p modelstudio-limits` with `features`.
fn tree(features: &str) -> Vec<String> {
    tree_of("modelstudio-limits", features)
}

/// `cargo tree -e build,normal -p package` with `features`.
fn tree_of(package: &str, features: &str) -> Vec<String> {
    let out = Command::new(env!("CARGO"))
        .args([
            "tree",
            "--offline",
            "-e",
            "build,normal",
            "--prefix",
            "none",
        ])
        .args(["-p", package, "--features", features])
        .current_dir(root())
        .output()
        .unwrap();
    let text = stdout(&out);
    text.lines()
        .map(|l| l.split(' ').next().unwrap().to_string())
        .collect()
}

#[test]
fn only_the_opt_in_features_compile_dependencies() {
    assert_eq!(tree(""), ["modelstudio-limits"]);
    assert_eq!(tree("serde"), ["modelstudio-limits", "serde", "serde_core"]);
    // The parser for run-time loading, without the generator's crates.
    let runtime = tree("runtime");
    assert!(
        runtime.contains(&"limits-format".to_string()),
        "{runtime:?}"
    );
    for generator in [
        "limits-codegen",
        "syn",
        "quote",
        "proc-macro2",
        "prettyplease",
        "tempfile",
    ] {
        assert!(!runtime.contains(&generator.to_string()), "{runtime:?}");
    }
    // The format crate alone (its `schema` feature derives with schemars,
    // a proc macro, for the CLI).
    let format = tree_of("limits-format", "");
    for generator in ["syn", "quote", "proc-macro2", "prettyplease"] {
        assert!(!format.contains(&generator.to_string()), "{format:?}");
    }
    let custom = tree("custom-table");
    for generator in ["limits-codegen", "syn", "prettyplease"] {
        assert!(custom.contains(&generator.to_string()), "{custom:?}");
    }
}

/// The build script (feature `custom-table`) and `limits gen` generate the
/// same code from one table: both start from
/// `Builder::modelstudio_limits()`, and `limits gen` adds its header alone.
#[test]
fn the_build_script_generates_what_limits_gen_generates() {
    let table = limits_format::read(limits_e2e::path("limits.toml")).unwrap();
    let from_build_script = limits_codegen::Builder::modelstudio_limits()
        .command(limits_cli::repo::GEN_COMMAND)
        .input_name("limits.toml")
        .generate(&table)
        .unwrap();
    assert_eq!(from_build_script, limits_cli::repo::generate(&table));
}
