//! Feature `runtime`: tables loaded at run time agree with the generated
//! code, overrides change only what they list, and findings read as the
//! CLI prints them.

use limits_e2e::{limits, path};
use modelstudio_limits::runtime::{LimitTable, LoadError, OverridesError};
use modelstudio_limits::{Deployment, Limits, Model};

const OVERRIDES: &str = r#"
schema = 1

[source]
provider = "Alibaba Cloud Model Studio (our account)"
url = "https://example.com/ticket/42"

[[section]]
id = "raised"
title = "Raised for our account"

[[section.group]]
qpm = 1_200
tpm = 3_000_000
# Listed by an alias: the model it names is changed.
models = [{ id = "qwen-plus-0125", aliases = ["our-max"] }, "qwen-turbo"]

[[section.group]]
qpm = 10
tpm = 10_000
models = ["our-fine-tune"]
"#;

#[test]
fn the_file_read_at_run_time_is_the_generated_table() {
    let table = LimitTable::read(path("limits.toml")).unwrap();
    assert_eq!(table, LimitTable::published());
    assert_eq!(table.len(), Model::ALL.len());
    for (entry, &model) in table.iter().zip(Model::ALL) {
        assert_eq!(entry.id, model.id());
        assert_eq!(entry.aliases, model.aliases());
        assert_eq!(entry.section, model.section().id());
        for name in std::iter::once(model.id()).chain(model.aliases().iter().copied()) {
            for &mode in Deployment::ALL {
                assert_eq!(
                    table.limits_for(name, mode),
                    model.limits_in(mode),
                    "{name}"
                );
            }
        }
    }
    let cn = Deployment::MAINLAND_CHINA;
    assert_eq!(table.limits_for("QWEN-MAX", cn), None);
    assert_eq!(table.limits_for("", cn), None);
}

#[test]
fn overrides_change_only_the_models_they_list() {
    let table = LimitTable::published_with_overrides(OVERRIDES).unwrap();
    let raised = Limits::NONE.with_rpm(1_200).with_tpm(3_000_000);
    let changed = [Model::QwenPlus2025_01_25, Model::QwenTurbo];
    for &model in Model::ALL {
        for &mode in Deployment::ALL {
            // A schema 1 file's rows hold in every mode.
            let expected = if changed.contains(&model) {
                Some(raised)
            } else {
                model.limits_in(mode)
            };
            for name in std::iter::once(model.id()).chain(model.aliases().iter().copied()) {
                assert_eq!(table.limits_for(name, mode), expected, "{name}");
            }
        }
    }
    // The new alias names the changed model; the new model is added last.
    let max = table.get("our-max").unwrap();
    assert_eq!(max.id, "qwen-plus-2025-01-25");
    assert_eq!(max.aliases, ["qwen-plus-0125", "our-max"]);
    assert_eq!(max.section, Model::QwenPlus2025_01_25.section().id());
    let added = table.iter().last().unwrap();
    assert_eq!(added.id, "our-fine-tune");
    let ten = Limits::NONE.with_rpm(10).with_tpm(10_000);
    assert_eq!(
        added.limits,
        Deployment::ALL
            .iter()
            .map(|&d| (d, ten))
            .collect::<Vec<_>>()
    );
    assert_eq!(added.section, "raised");
    assert_eq!(table.len(), Model::ALL.len() + 1);
}

#[test]
fn an_override_naming_two_models_is_refused() {
    let both = OVERRIDES.replace(r#"aliases = ["our-max"]"#, r#"aliases = ["qwen-plus"]"#);
    match LimitTable::published_with_overrides(&both) {
        Err(e @ OverridesError::Conflict { .. }) => assert_eq!(
            e.to_string(),
            "`qwen-plus`, a name of `qwen-plus-0125` in the overrides, already names `qwen-plus`"
        ),
        other => panic!("expected a conflict, got {other:?}"),
    }
    let bad = OVERRIDES.replace("qpm = 10\n", "qpm = 0\n");
    let Err(e @ OverridesError::Invalid(_)) = LimitTable::published_with_overrides(&bad) else {
        panic!("expected findings");
    };
    // Located findings, not byte offsets; no prefix of its own.
    let text = e.to_string();
    assert!(text.starts_with("error[E005]"), "{text}");
    assert!(text.contains("--> overrides.toml:19:7"), "{text}");
    assert!(std::error::Error::source(&e).is_none());
}

#[test]
fn findings_render_as_the_cli_prints_them() {
    let bad = path("crates/limits-format/tests/fixtures/bad");
    let mut seen = 0;
    for file in std::fs::read_dir(bad).unwrap() {
        let file = file.unwrap().path();
        let shown = file.to_str().unwrap();
        let Err(error @ LoadError::Invalid { .. }) = LimitTable::read(&file) else {
            panic!("{shown} loaded");
        };
        assert_eq!(error.path(), file);
        let cli = limits(&["check", shown]);
        assert_eq!(cli.code, 1, "{shown}");
        assert_eq!(format!("{error}\n"), cli.stderr, "{shown}");
        seen += 1;
    }
    assert!(seen >= 40, "{seen} fixtures");

    let missing = LimitTable::read(path("no-such.toml")).unwrap_err();
    assert!(matches!(missing, LoadError::Read { .. }));
    assert_eq!(
        missing.to_string(),
        format!("cannot read {}", path("no-such.toml").display())
    );
    let cause = std::error::Error::source(&missing).expect("the I/O error");
    assert!(cause.downcast_ref::<std::io::Error>().is_some());
}

#[test]
fn the_typed_crate_holds_as_many_tiers_as_the_format_allows() {
    // A tier the format accepts is never left out by `Limits::with_tpm_tiers`.
    assert_eq!(
        limits_format::ir::MAX_TPM_TIERS,
        modelstudio_limits::MAX_TPM_TIERS
    );
    let tiers: Vec<u64> = (1..=limits_format::ir::MAX_TPM_TIERS as u64).collect();
    let limits = modelstudio_limits::Limits::NONE.with_tpm_tiers(&tiers);
    assert_eq!(limits.tpm_tiers(), Some(&tiers[..]));
}
