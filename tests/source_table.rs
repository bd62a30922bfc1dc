//! limits.toml against the provider's page as scraped.
//!
//! The scrape is read by the rules of `shared/source/README.md`, written
//! here independently of limits.toml: a row with fewer numbers takes the
//! missing ones from the row above (merged cells), a number's size tells its
//! column, and `id (alias)` names one model with an alias. The result must
//! equal the validated table, section by section, model by model.
//!
//! The scrape is read from `../shared/source/` when the project's shared
//! folder is beside the checkout (and must then equal the copy in
//! `tests/data/`), else from the copy.

use limits_e2e::path;

/// QPM values on the page are below this; TPM values are not.
const SMALLEST_TPM: u64 = 10_000;

#[derive(Debug, PartialEq, Eq)]
struct Row {
    section: String,
    id: String,
    aliases: Vec<String>,
    qpm: u32,
    tpm: u32,
}

fn number(cell: &str) -> u64 {
    cell.replace(',', "")
        .parse()
        .unwrap_or_else(|_| panic!("not a number: {cell:?}"))
}

fn read_scrape(text: &str) -> Vec<Row> {
    let mut rows = Vec::new();
    let mut last_heading = String::new();
    let mut section = None::<String>;
    let (mut qpm, mut tpm) = (None::<u64>, None::<u64>);
    for line in text.lines().map(str::trim) {
        if !line.contains('|') {
            last_heading = line.to_string();
            section = None;
            continue;
        }
        let cells: Vec<&str> = line.split('|').map(str::trim).collect();
        if cells[0] == "Name" {
            section = Some(last_heading.clone());
            (qpm, tpm) = (None, None);
            continue;
        }
        if cells[0].starts_with("Queries per minute") {
            continue;
        }
        let section = section.clone().expect("a row outside a table");
        let numbers: Vec<u64> = cells[1..]
            .iter()
            .filter(|c| !c.is_empty())
            .map(|c| number(c))
            .collect();
        match numbers.as_slice() {
            [] => {}
            [n] if *n >= SMALLEST_TPM => tpm = Some(*n),
            [n] => qpm = Some(*n),
            [q, t] => (qpm, tpm) = (Some(*q), Some(*t)),
            more => panic!("too many numbers in {line:?}: {more:?}"),
        }
        let (id, aliases) = match cells[0].split_once(" (") {
            Some((id, alias)) => (id, vec![alias.trim_end_matches(')').to_string()]),
            None => (cells[0], vec![]),
        };
        rows.push(Row {
            section,
            id: id.to_string(),
            aliases,
            qpm: qpm.expect("a QPM above") as u32,
            tpm: tpm.expect("a TPM above") as u32,
        });
    }
    rows
}

fn scrape() -> String {
    let copy = std::fs::read_to_string(path("tests/data/model-studio-rate-limits.txt")).unwrap();
    match std::fs::read_to_string(path("../shared/source/model-studio-rate-limits.txt")) {
        Ok(shared) => {
            assert_eq!(
                shared, copy,
                "tests/data/ holds an old copy of the source: copy the new one and review limits.toml"
            );
            shared
        }
        Err(_) => copy,
    }
}

#[test]
fn limits_toml_equals_the_scraped_table() {
    let expected = read_scrape(&scrape());
    let input = std::fs::read_to_string(path("limits.toml")).unwrap();
    let table = limits_format::parse("limits.toml", &input).unwrap();
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
    for (a, e) in actual.iter().zip(&expected) {
        assert_eq!(a, e);
    }
    assert_eq!(actual.len(), expected.len());
    assert_eq!(expected.len(), 37);
    let summary = table.summary();
    assert_eq!(
        (summary.models, summary.aliases, summary.sections),
        (37, 3, 7)
    );
}
