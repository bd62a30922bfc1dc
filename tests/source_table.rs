//! limits.toml and the typed crate against the provider's page (zh-CN,
//! every deployment mode), read by the rules `limits import` uses
//! (`limits_cli::import`), row by row: section, mode, id, aliases, limits,
//! pool, retirement, in the page's order.
//!
//! The page is read from `../shared/provider/` when the project's shared
//! folder is beside the checkout (and must then equal the copy in
//! `tests/data/`), else from the copy.

use limits_cli::import;
use limits_e2e::path;
use limits_format::{Deployment, Limits};

const COPY: &str = "tests/data/rate-limit.zh-CN.md";
const SHARED: &str = "../shared/provider/rate-limit.zh-CN.2026-02-24.md";

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

fn page_text() -> String {
    let copy = std::fs::read_to_string(path(COPY)).unwrap();
    match std::fs::read_to_string(path(SHARED)) {
        Ok(shared) => {
            assert!(
                shared == copy,
                "{COPY} is an old copy of {SHARED}: copy the new page over it \
                 (`cp {SHARED} {COPY}`), then review limits.toml (`limits import --onto`)"
            );
            shared
        }
        Err(_) => copy,
    }
}

fn page() -> import::Page {
    import::read_page(&page_text()).unwrap_or_else(|e| panic!("{COPY}:{e}"))
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
    for (a, e) in actual.iter().zip(&expected) {
        assert_eq!(a, e);
    }
    assert_eq!(actual.len(), expected.len());
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
        assert_eq!(limits.tpm(), l.tpm, "{}", row.id);
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
    let line_of = |needle: &str| {
        text.lines()
            .position(|l| l.starts_with(&format!("| {needle}")))
            .map(|i| i + 1)
            .unwrap_or_else(|| panic!("{needle}"))
    };
    let warned = |needle: &str| {
        let line = line_of(needle);
        page.warnings
            .iter()
            .any(|w| w.line == line && w.message.contains(needle))
    };
    // A lone number the magnitudes do not settle, a family that is no
    // model, a model listed twice in one mode.
    assert!(warned("qwen-long-latest"));
    assert!(warned("Sambert系列模型"));
    let kimi_twice = text
        .lines()
        .enumerate()
        .filter(|(_, l)| l.starts_with("| kimi-k2.5 "))
        .map(|(i, _)| i + 1)
        .nth(1)
        .unwrap();
    assert!(page
        .warnings
        .iter()
        .any(|w| w.line == kimi_twice && w.message.contains("kimi-k2.5")));
    // And what was kept out is said in the file.
    let table = limits_format::read(path("limits.toml")).unwrap();
    let notes: Vec<&str> = table
        .sections
        .iter()
        .filter_map(|s| s.note.as_deref())
        .chain(table.source.note.as_deref())
        .collect();
    assert!(notes.iter().any(|n| n.contains("Sambert系列模型")));
    assert!(notes.iter().any(|n| n.contains("kimi-k2.5")));
    // A lone number read by the rule is noted on its row's group.
    let long = table
        .models()
        .find(|r| r.model.id == "qwen-long-latest")
        .unwrap();
    let note = long.group.note.as_deref().unwrap_or_default();
    assert!(
        note.contains("read as `rpm` by the import's rule"),
        "{note}"
    );
}
