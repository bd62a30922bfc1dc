//! limits.toml and the typed crate against the provider's page as scraped,
//! read by the rules `limits import` uses (`limits_cli::import`), row by
//! row: section, id, aliases, QPM, TPM, in the page's order.
//!
//! The page is read from `../shared/source/` when the project's shared
//! folder is beside the checkout (and must then equal the copy in
//! `tests/data/`), else from the copy.

use limits_cli::import;
use limits_e2e::path;

const COPY: &str = "tests/data/model-studio-rate-limits.txt";
const SHARED: &str = "../shared/source/model-studio-rate-limits.txt";

#[derive(Debug, PartialEq, Eq)]
struct Row {
    section: String,
    id: String,
    aliases: Vec<String>,
    qpm: u32,
    tpm: u32,
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

fn page_rows() -> Vec<Row> {
    let page = import::read_page(&page_text()).unwrap_or_else(|e| panic!("{COPY}:{e}"));
    page.sections
        .iter()
        .flat_map(|s| {
            s.rows.iter().map(move |r| Row {
                section: s.title.clone(),
                id: r.id.clone(),
                aliases: r.aliases.clone(),
                qpm: r.qpm,
                tpm: r.tpm,
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
            id: r.model.id.clone(),
            aliases: r.model.aliases.clone(),
            qpm: r.group.qpm,
            tpm: r.group.tpm,
        })
        .collect();
    let expected = page_rows();
    for (a, e) in actual.iter().zip(&expected) {
        assert_eq!(a, e);
    }
    assert_eq!(actual.len(), expected.len());
}

#[test]
fn the_typed_crate_equals_the_page() {
    let typed: Vec<Row> = modelstudio_limits::Model::ALL
        .iter()
        .map(|m| Row {
            section: m.section().title().to_string(),
            id: m.id().to_string(),
            aliases: m.aliases().iter().map(|a| a.to_string()).collect(),
            qpm: m.limits().qpm,
            tpm: m.limits().tpm,
        })
        .collect();
    assert_eq!(typed, page_rows());
}

#[test]
fn importing_the_page_reproduces_limits_toml() {
    let table = limits_format::read(path("limits.toml")).unwrap();
    let page = import::read_page(&page_text()).unwrap();
    let imported = import::table_of(&page);
    // Sections by title and category, groups by limits, merged-cell notes
    // and models, in order.
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
                            .map(|m| (m.id.clone(), m.aliases.clone()))
                            .collect();
                        (g.qpm, g.tpm, g.note.clone(), models)
                    })
                    .collect();
                (s.title.clone(), s.category.clone(), groups)
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
