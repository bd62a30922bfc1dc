//! `limits import`: the provider's page (scraped text or HTML) to a limits
//! file, optionally onto an existing one whose additions it keeps.
//!
//! The reading rules live here once ([`text`], [`html`]); the repository's
//! tests read the saved page through them too.

pub mod html;
pub mod page;
pub mod text;

use std::collections::{HashMap, HashSet};
use std::io;
use std::path::Path;

use limits_format::ir::{Group, Model, Section, Source, Table};
use limits_format::{ident, Checked, Colors};

pub use page::{Page, PageError, PageRow, PageSection};

use crate::repo::{ensure_file_contents, Mode};
use crate::{Io, EXIT_INVALID, EXIT_OK};

/// The provider and page a table imported without `--onto` names.
pub const PROVIDER: &str = "Alibaba Cloud Model Studio";
/// The page `limits import` reads (its URL, for `[source]`).
pub const PAGE_URL: &str = "https://www.alibabacloud.com/help/en/model-studio/rate-limit";

/// Reads a page, as HTML when it starts with a tag, else as scraped text.
pub fn read_page(text: &str) -> Result<Page, PageError> {
    let page = if text.trim_start().starts_with('<') {
        html::read(text)?
    } else {
        text::read(text)?
    };
    let mut seen = HashSet::new();
    for row in page.sections.iter().flat_map(|s| &s.rows) {
        for name in std::iter::once(&row.id).chain(&row.aliases) {
            if !seen.insert(name.as_str()) {
                return Err(PageError {
                    line: row.line,
                    message: format!("`{name}` is listed twice"),
                });
            }
        }
    }
    Ok(page)
}

/// The table a page says, on its own: sections with ids made from their
/// titles, consecutive rows with the same limits as one group, and a note
/// on each group whose limits come from a merged cell of a row above it.
pub fn table_of(page: &Page) -> Table {
    let mut ids = HashSet::new();
    let sections = page
        .sections
        .iter()
        .map(|s| Section {
            id: unique(&mut ids, slug(&s.title)),
            rust_name: String::new(),
            title: s.title.clone(),
            category: s.category.clone(),
            note: None,
            groups: groups(&s.rows),
        })
        .map(|mut s| {
            s.rust_name = ident::rust_name(&s.id);
            s
        })
        .collect();
    Table {
        schema: limits_format::SCHEMA_VERSION,
        source: Source {
            provider: PROVIDER.to_string(),
            url: PAGE_URL.to_string(),
            region: None,
            retrieved: None,
            note: None,
        },
        sections,
        input_sha256: String::new(),
    }
}

fn groups(rows: &[PageRow]) -> Vec<Group> {
    let mut groups: Vec<Group> = Vec::new();
    for row in rows {
        let model = Model {
            id: row.id.clone(),
            aliases: row.aliases.clone(),
            rust_name: ident::rust_name(&row.id),
            deprecated: None,
        };
        match groups.last_mut() {
            Some(g) if (g.qpm, g.tpm) == (row.qpm, row.tpm) => g.models.push(model),
            _ => groups.push(Group {
                qpm: row.qpm,
                tpm: row.tpm,
                note: merged_note(row),
                models: vec![model],
            }),
        }
    }
    groups
}

/// "QPM read from a merged cell shared with X." for each limit of the
/// group's first row that another row's cell gave.
fn merged_note(row: &PageRow) -> Option<String> {
    let notes: Vec<String> = [("QPM", &row.qpm_from), ("TPM", &row.tpm_from)]
        .into_iter()
        .filter_map(|(what, from)| {
            from.as_ref()
                .map(|id| format!("{what} read from a merged cell shared with {id}."))
        })
        .collect();
    (!notes.is_empty()).then(|| notes.join(" "))
}

/// A section id from a title: lowercase letters and digits, `-` between.
fn slug(title: &str) -> String {
    let mut out = String::new();
    for c in title.chars().flat_map(char::to_lowercase) {
        if c.is_ascii_lowercase() || c.is_ascii_digit() {
            out.push(c);
        } else if !out.is_empty() && !out.ends_with('-') {
            out.push('-');
        }
    }
    let out = out.trim_end_matches('-');
    match out.chars().next() {
        Some(c) if c.is_ascii_lowercase() => out.to_string(),
        _ => format!("section-{out}").trim_end_matches('-').to_string(),
    }
}

fn unique(taken: &mut HashSet<String>, id: String) -> String {
    let mut candidate = id.clone();
    let mut n = 2;
    while !taken.insert(candidate.clone()) {
        candidate = format!("{id}-{n}");
        n += 1;
    }
    candidate
}

/// The page's table with what `onto` adds that the page does not say: its
/// `[source]`, each section's id and note (sections matched by title), each
/// model's `rust_name` and deprecation (by id), and the note of any group
/// whose models and limits are unchanged.
pub fn onto(page: Table, onto: &Table) -> Table {
    let mut used = HashSet::new();
    let mut ids: HashSet<String> = onto.sections.iter().map(|s| s.id.clone()).collect();
    let old_models: HashMap<&str, &Model> = onto
        .models()
        .map(|row| (row.model.id.as_str(), row.model))
        .collect();
    let old_groups: Vec<&Group> = onto.sections.iter().flat_map(|s| &s.groups).collect();
    let sections = page
        .sections
        .into_iter()
        .map(|mut section| {
            let old = onto
                .sections
                .iter()
                .enumerate()
                .find(|(i, s)| s.title == section.title && !used.contains(i));
            match old {
                Some((i, old)) => {
                    used.insert(i);
                    section.id = old.id.clone();
                    section.rust_name = old.rust_name.clone();
                    section.note = old.note.clone();
                }
                None => {
                    ids.remove(&section.id);
                    section.id = unique(&mut ids, section.id.clone());
                    section.rust_name = ident::rust_name(&section.id);
                }
            }
            for group in &mut section.groups {
                let same = old_groups.iter().find(|g| {
                    (g.qpm, g.tpm) == (group.qpm, group.tpm)
                        && g.models
                            .iter()
                            .map(|m| &m.id)
                            .eq(group.models.iter().map(|m| &m.id))
                });
                if let Some(same) = same {
                    group.note = same.note.clone();
                }
                for model in &mut group.models {
                    if let Some(old) = old_models.get(model.id.as_str()) {
                        model.rust_name = old.rust_name.clone();
                        model.deprecated = old.deprecated.clone();
                    }
                }
            }
            section
        })
        .collect();
    Table {
        source: onto.source.clone(),
        sections,
        ..page
    }
}

/// The comment lines that open a limits file (kept by `--onto`).
fn preamble(text: &str) -> String {
    text.lines()
        .take_while(|l| l.trim_start().starts_with('#') || l.trim().is_empty())
        .map(|l| format!("{l}\n"))
        .collect::<String>()
        .trim_end()
        .to_string()
        + "\n"
}

/// `limits import PAGE [-o FILE] [--onto FILE]`.
pub(crate) fn run(
    page_path: &Path,
    output: Option<&Path>,
    onto_path: Option<&Path>,
    color: bool,
    io: &mut Io<'_>,
) -> io::Result<u8> {
    let shown = page_path.display();
    let page_text = std::fs::read(page_path)
        .map_err(|e| io::Error::new(e.kind(), format!("cannot read {shown}: {e}")))?;
    let page_text = String::from_utf8_lossy(&page_text);
    let page = match read_page(&page_text) {
        Ok(page) => page,
        Err(e) => {
            writeln!(io.stderr, "error: {shown}:{}: {}", e.line, e.message)?;
            return Ok(EXIT_INVALID);
        }
    };
    let imported = table_of(&page);
    let text = match onto_path {
        None => limits_format::to_toml(&imported, "#:schema ./limits.schema.json\n"),
        Some(path) => {
            let checked = crate::input::read(path)?;
            let Some(old) = checked.table.clone() else {
                crate::input::report(&checked, color, io.stderr)?;
                return Ok(EXIT_INVALID);
            };
            let merged = onto(imported, &old);
            let unchanged = Table {
                input_sha256: old.input_sha256.clone(),
                ..merged.clone()
            } == old;
            if unchanged {
                checked.text
            } else {
                limits_format::to_toml(&merged, &preamble(&checked.text))
            }
        }
    };
    // What is written must pass `limits check`.
    let checked: Checked = limits_format::check(format!("import of {shown}"), text.as_bytes());
    if checked.diagnostics.has_errors() {
        let colors = if color { Colors::Ansi } else { Colors::Plain };
        write!(io.stderr, "{}", checked.render(colors))?;
        return Ok(EXIT_INVALID);
    }
    match output {
        None => io.stdout.write_all(text.as_bytes())?,
        Some(path) => {
            ensure_file_contents(path, &text, Mode::Write)?;
        }
    }
    Ok(EXIT_OK)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slugs_are_ids() {
        for (title, slug_) in [
            ("Qwen LLMs", "qwen-llms"),
            (
                "Qwen VL (visual understanding/image-to-text)",
                "qwen-vl-visual-understanding-image-to-text",
            ),
            ("2025 models", "section-2025-models"),
            ("Qwen2.5 -- VL", "qwen2-5-vl"),
        ] {
            assert_eq!(slug(title), slug_);
            ident::check_id(&slug(title)).unwrap();
        }
    }
}
