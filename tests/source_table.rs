//! limits.toml and the typed crate against the provider's page (zh-CN, the
//! newest revision, every region and scope, with the dynamic-limits page's
//! tiers), read by the rules `limits import` uses (`limits_cli::import`),
//! row by row: section, deployment, id, aliases, limits, pool, retirement,
//! in the page's order.
//!
//! The pages are read from `../shared/provider/` when the project's shared
//! folder is beside the checkout (and must then equal the copies in
//! `tests/data/provider/`), else from the copies.

use limits_cli::import;
use limits_e2e::path;
use limits_format::{Deployment, Limits};

const COPY: &str = "tests/data/provider/rate-limit.zh-CN.2026-09.md";
const SHARED: &str = "../shared/provider/rate-limit.zh-CN.2026-09.md";
const TIERS_COPY: &str = "tests/data/provider/quota-management.zh-CN.2026-09.md";
const TIERS_SHARED: &str = "../shared/provider/quota-management.zh-CN.2026-09.md";

#[derive(Debug, PartialEq, Eq)]
struct Row {
    section: String,
    mode: Deployment,
    id: String,
    aliases: Vec<String>,
    limits: Limits,
    pool: Option<String>,
    retired: bool,
    replaced_by: Option<String>,
}

/// The copy `copy`, checked against the shared folder's `shared`.
fn copy_text(copy: &str, shared: &str) -> String {
    let text = std::fs::read_to_string(path(copy)).unwrap();
    match std::fs::read_to_string(path(shared)) {
        Ok(new) => {
            assert!(
                new == text,
                "{copy} is an old copy of {shared}: copy the new page over it \
                 (`cp {shared} {copy}`), then review limits.toml (`limits import --onto`)"
            );
            new
        }
        Err(_) => text,
    }
}

fn page_text() -> String {
    copy_text(COPY, SHARED)
}

fn page() -> import::Page {
    let mut page = import::read_page(&page_text()).unwrap_or_else(|e| panic!("{COPY}:{e}"));
    let tiers = import::flat::read_tiers(&copy_text(TIERS_COPY, TIERS_SHARED))
        .unwrap_or_else(|e| panic!("{TIERS_COPY}:{e}"));
    let off_page = import::flat::apply_tiers(&mut page, &tiers);
    // The dynamic-limits page names one model the rate-limit page does not
    // (glm-5.3-prime, in both of its regions): said, not imported.
    assert!(off_page.iter().all(|w| w.message.contains("not imported")));
    page
}

fn page_rows() -> Vec<Row> {
    page()
        .sections
        .iter()
        .flat_map(|s| {
            s.rows.iter().map(move |r| Row {
                section: s.title.clone(),
                mode: s.mode.unwrap(),
                id: r.id.clone(),
                aliases: r.aliases.clone(),
                limits: r.limits.clone(),
                pool: r.pool.clone(),
                retired: s.retired.is_some(),
                replaced_by: r.replaced_by.clone(),
            })
        })
        .collect()
}

#[test]
fn limits_toml_equals_the_page() {
    let table = limits_format::read(path("limits.toml")).unwrap();
    let actual: Vec<Row> = table
        .models()
        .map(|r| Row {
            section: r.section.title.clone(),
            mode: r.section.mode.unwrap(),
            id: r.model.id.clone(),
            aliases: r.model.aliases.clone(),
            limits: r.group.limits.clone(),
            pool: r.group.pool.clone(),
            retired: r.group.retired.is_some(),
            replaced_by: r.model.replaced_by.clone(),
        })
        .collect();
    let expected = page_rows();
    assert_eq!(actual.len(), expected.len());
    // A row with its own limits and a pooled one stands twice on the page,
    // next to each other; the file has the pool's group once: the same
    // rows, in another order.
    let sorted = |rows: &[Row]| {
        let mut keys: Vec<String> = rows.iter().map(|r| format!("{r:?}")).collect();
        keys.sort();
        keys
    };
    for (a, e) in sorted(&actual).iter().zip(&sorted(&expected)) {
        assert_eq!(a, e);
    }
    // Every deployment of the page is in the file.
    for mode in expected.iter().map(|r| r.mode) {
        assert!(actual.iter().any(|r| r.mode == mode), "{mode:?}");
    }
}

#[test]
fn the_typed_crate_equals_the_page() {
    use modelstudio_limits::{Deployment as Mode, Model};
    let rows = page_rows();
    for row in &rows {
        let model = Model::from_id(&row.id).unwrap_or_else(|| panic!("{}", row.id));
        let mode = Mode::from_id(&row.mode.id()).unwrap();
        assert!(model.deployments().contains(&mode), "{}", row.id);
        let limits = match &row.pool {
            Some(pool) => {
                let p = model.pool_in(mode).unwrap();
                assert_eq!(p.name, pool);
                p.limits
            }
            None => model.limits_in(mode).unwrap(),
        };
        let l = &row.limits;
        assert_eq!(limits.rpm(), l.rpm, "{}", row.id);
        // A dynamic limit's TPM is its lowest tier, the guaranteed floor.
        let floor = l.tpm_tiers.as_ref().map(|t| t[0]);
        assert_eq!(limits.tpm(), l.tpm.or(floor), "{}", row.id);
        assert_eq!(limits.dynamic(), l.dynamic, "{}", row.id);
        assert_eq!(limits.tpm_tiers(), l.tpm_tiers.as_deref(), "{}", row.id);
        assert_eq!(limits.rps(), l.rps, "{}", row.id);
        assert_eq!(limits.submit_rps(), l.submit_rps, "{}", row.id);
        assert_eq!(limits.submit_rpm(), l.submit_rpm, "{}", row.id);
        assert_eq!(limits.query_rps(), l.query_rps, "{}", row.id);
        assert_eq!(limits.concurrency(), l.concurrency, "{}", row.id);
        assert_eq!(limits.sync_unlimited(), l.sync_unlimited, "{}", row.id);
        for alias in &row.aliases {
            assert_eq!(Model::from_id(alias), Some(model), "{alias}");
        }
        if let Some(by) = &row.replaced_by {
            assert_eq!(model.replaced_by().map(|m| m.id()), Some(by.as_str()));
        }
    }
    // One variant per id of the page, and no other.
    let mut ids: Vec<&str> = rows.iter().map(|r| r.id.as_str()).collect();
    ids.sort_unstable();
    ids.dedup();
    assert_eq!(ids.len(), Model::ALL.len());
}

#[test]
fn importing_the_page_reproduces_limits_toml() {
    let table = limits_format::read(path("limits.toml")).unwrap();
    let imported = import::table_of(&page());
    // Sections by title, mode and category, groups by limits, notes and
    // models, in order.
    let shape = |t: &limits_format::Table| {
        t.sections
            .iter()
            .map(|s| {
                let groups: Vec<_> = s
                    .groups
                    .iter()
                    .map(|g| {
                        let models: Vec<_> = g
                            .models
                            .iter()
                            .map(|m| (m.id.clone(), m.aliases.clone(), m.replaced_by.clone()))
                            .collect();
                        (
                            g.limits.clone(),
                            g.pool.clone(),
                            g.retired.clone(),
                            g.note.clone(),
                            models,
                        )
                    })
                    .collect();
                (s.title.clone(), s.mode, s.category.clone(), groups)
            })
            .collect::<Vec<_>>()
    };
    assert_eq!(shape(&imported), shape(&table));
    // Onto limits.toml: everything else is kept, so nothing changes.
    let onto = import::onto(imported, &table);
    assert_eq!(
        limits_format::Table {
            input_sha256: table.input_sha256.clone(),
            ..onto
        },
        table
    );
}

#[test]
fn what_the_page_leaves_unclear_is_warned_about_with_its_line() {
    let page = page();
    let text = page_text();
    // The page lines holding exactly `needle` (ids may be written `\_`).
    let lines_of = |needle: &str| -> Vec<usize> {
        text.lines()
            .enumerate()
            .filter(|(_, l)| l.trim().replace("\\_", "_") == needle)
            .map(|(i, _)| i + 1)
            .collect()
    };
    let warned_at = |line: usize, needle: &str| {
        page.warnings
            .iter()
            .any(|w| w.line == line && w.message.contains(needle))
    };
    // A lone number the magnitudes do not settle, a family that is no
    // model, a model listed twice in one deployment.
    let vidu = "vidu/viduq3-drama_reference2video";
    assert!(warned_at(lines_of(vidu)[0], vidu));
    assert!(warned_at(lines_of("Sambert系列模型")[0], "Sambert系列模型"));
    let coder = "qwen2.5-coder-3b-instruct";
    let twice = *lines_of(coder).last().unwrap();
    assert!(warned_at(twice, coder));
    // And what was kept out is said in the file.
    let table = limits_format::read(path("limits.toml")).unwrap();
    let notes: Vec<&str> = table
        .sections
        .iter()
        .filter_map(|s| s.note.as_deref())
        .chain(table.source.note.as_deref())
        .collect();
    assert!(notes.iter().any(|n| n.contains("Sambert系列模型")));
    assert!(notes
        .iter()
        .any(|n| n.contains(coder) && n.contains(&format!("line {twice}"))));
    // A lone number read by the rule is noted on its row's group, with its
    // page line.
    let row = table.models().find(|r| r.model.id == vidu).unwrap();
    let note = row.group.note.as_deref().unwrap_or_default();
    assert!(
        note.contains(&format!(
            "read as `rps` by the import's rule (page line {})",
            lines_of(vidu)[0]
        )),
        "{note}"
    );
}
