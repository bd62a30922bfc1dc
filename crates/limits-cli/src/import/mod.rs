//! `limits import`: the provider's page (scraped text or HTML) to a limits
//! file, optionally onto an existing one whose additions it keeps.
//!
//! The reading rules live here once ([`text`], [`html`]); the repository's
//! tests read the saved page through them too.

mod cells;
pub mod flat;
pub mod html;
pub mod markdown;
pub mod page;
pub mod text;

use std::collections::{HashMap, HashSet};
use std::io;
use std::path::Path;

use limits_format::ir::{Group, Kind, Model, Section, Source, Table};
use limits_format::{ident, Checked, Colors};

pub use page::{Page, PageError, PageRow, PageSection};

use crate::repo::{ensure_file_contents, Mode};
use crate::{Io, EXIT_INVALID, EXIT_OK};

/// The provider and page a table imported without `--onto` names.
pub const PROVIDER: &str = "Alibaba Cloud Model Studio";
/// The page `limits import` reads (its URL, for `[source]`).
pub const PAGE_URL: &str = "https://www.alibabacloud.com/help/en/model-studio/rate-limit";

/// The page `limits import` reads in its Chinese form, as markdown.
pub const PAGE_URL_ZH: &str = "https://help.aliyun.com/zh/model-studio/rate-limit";

/// Reads a page: as the documentation mirror's flattened markdown when it
/// has headings and no pipe table, as HTML when it starts with a tag, as
/// markdown when a line starts with `|` (the Chinese page's form), else as
/// scraped text.
pub fn read_page(text: &str) -> Result<Page, PageError> {
    if flat::is_flat(text) {
        return flat::read(text);
    }
    if text.trim_start().starts_with('<') {
        return once_each(html::read(text)?);
    }
    if text.lines().any(|l| l.trim_start().starts_with('|')) {
        // Several modes: a name may stand in several tables; the markdown
        // reader reports repeats within one mode itself.
        return markdown::read(text);
    }
    once_each(text::read(text)?)
}

/// A deployment in a section id: a schema 2 mode's id where it is one of
/// those (`cn`), else `region-scope` (`eu-central-1-eu`).
pub(crate) fn place_slug(d: limits_format::Deployment) -> String {
    match d.mode_id() {
        Some(mode) => mode.to_string(),
        None => format!("{}-{}", d.region.id(), d.scope.id()),
    }
}

/// A page without modes names each model once.
fn once_each(page: Page) -> Result<Page, PageError> {
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
    // A table whose every row was kept out (a family name) leaves its note
    // to the file's source note.
    let kept_out: Vec<String> = page
        .sections
        .iter()
        .filter(|s| s.rows.is_empty())
        .filter_map(|s| s.note.as_ref().map(|n| format!("{}: {n}", s.title)))
        .collect();
    let sections = page
        .sections
        .iter()
        .filter(|s| !s.rows.is_empty())
        .map(|s| Section {
            id: unique(
                &mut ids,
                match s.mode {
                    Some(mode) => format!("{}-{}", markdown::slug(&s.title), place_slug(mode)),
                    None => slug(&s.title),
                },
            ),
            rust_name: String::new(),
            title: s.title.clone(),
            category: s.category.clone(),
            note: s.note.clone(),
            mode: s.mode,
            groups: groups(s),
        })
        .map(|mut s| {
            s.rust_name = ident::rust_name(&s.id);
            s
        })
        .collect();
    let moded = page.sections.iter().any(|s| s.mode.is_some());
    Table {
        schema: if moded {
            limits_format::SCHEMA_VERSION
        } else {
            1
        },
        source: Source {
            provider: PROVIDER.to_string(),
            url: if moded { PAGE_URL_ZH } else { PAGE_URL }.to_string(),
            region: None,
            retrieved: page.updated.clone(),
            note: source_note(page, &kept_out),
        },
        sections,
        input_sha256: String::new(),
    }
}

/// The file's source note: where a copy of the page comes from, then what
/// the file keeps out.
fn source_note(page: &Page, kept_out: &[String]) -> Option<String> {
    let mut notes: Vec<String> = Vec::new();
    if let Some((repo, commit, path)) = &page.copied_from {
        notes.push(format!(
            "Read from the provider's documentation mirror: repository {repo}, commit {commit}, file {path}."
        ));
        if page.updated.is_none() {
            notes.push("The copy states no date.".to_string());
        }
    }
    notes.extend(kept_out.iter().cloned());
    (!notes.is_empty()).then(|| notes.join(" "))
}

fn groups(section: &PageSection) -> Vec<Group> {
    let mut groups: Vec<Group> = Vec::new();
    let v1 = section.mode.is_none();
    for row in &section.rows {
        let model = Model {
            id: row.id.clone(),
            aliases: row.aliases.clone(),
            rust_name: ident::rust_name(&row.id),
            deprecated: None,
            replaced_by: row.replaced_by.clone(),
        };
        let note = row_note(row, v1);
        // A pool is one group; otherwise consecutive rows with the same
        // limits are one, noted as its first row is, plus what the page
        // says of each later row.
        let same = |g: &Group| {
            g.limits == row.limits && g.pool == row.pool && g.retired == section.retired
        };
        let joins = match &row.pool {
            Some(_) => groups.iter().position(|g| g.pool == row.pool),
            None => groups.len().checked_sub(1).filter(|&i| same(&groups[i])),
        };
        match joins {
            Some(i) => {
                let g = &mut groups[i];
                g.models.push(model);
                // What a later row took from merged cells, said for it.
                let carried = merged_notes(row, v1)
                    .into_iter()
                    .map(|n| format!("{}: {n}", row.id));
                for own in carried.chain(row.note.clone()) {
                    let has = g.note.as_deref().is_some_and(|n| n.contains(own.as_str()));
                    if !has {
                        g.note = Some(match g.note.take() {
                            Some(n) => format!("{n} {own}"),
                            None => own,
                        });
                    }
                }
            }
            None => groups.push(Group {
                limits: row.limits.clone(),
                pool: row.pool.clone(),
                per: row.per,
                retired: section.retired.clone(),
                note,
                models: vec![model],
            }),
        }
    }
    groups
}

/// "QPM read from a merged cell shared with X." for each limit of the
/// group's first row that another row's cell gave, then the row's own note.
fn row_note(row: &PageRow, v1: bool) -> Option<String> {
    let mut notes = merged_notes(row, v1);
    notes.extend(row.note.clone());
    (!notes.is_empty()).then(|| notes.join(" "))
}

/// "QPM read from a merged cell shared with X." for each limit of `row`
/// that another row's cell gave.
fn merged_notes(row: &PageRow, v1: bool) -> Vec<String> {
    row.from
        .iter()
        .map(|(kind, id)| {
            let what = match kind {
                Kind::Rpm if v1 => "QPM".to_string(),
                Kind::Rpm | Kind::Tpm | Kind::Rps => kind.key().to_uppercase(),
                other => format!("`{}`", other.key()),
            };
            format!("{what} read from a merged cell shared with {id}.")
        })
        .collect()
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
/// `[source]`, each section's id and note (sections matched by title and
/// mode; the file's note wins over the page's), each model's `rust_name`
/// and deprecation (by id), and the note of any group of the same section
/// whose models and limits are unchanged.
pub fn onto(page: Table, onto: &Table) -> Table {
    // Each page section takes the first unused old section of its title
    // and place, and with it its id; the others keep their own id unless
    // a kept id (or an earlier section's) has it.
    let mut used = HashSet::new();
    let matches: Vec<Option<usize>> = page
        .sections
        .iter()
        .map(|section| {
            let i = onto.sections.iter().enumerate().position(|(i, s)| {
                s.title == section.title && s.mode == section.mode && !used.contains(&i)
            })?;
            used.insert(i);
            Some(i)
        })
        .collect();
    let mut ids: HashSet<String> = matches
        .iter()
        .flatten()
        .map(|&i| onto.sections[i].id.clone())
        .collect();
    let old_models: HashMap<&str, &Model> = onto
        .models()
        .map(|row| (row.model.id.as_str(), row.model))
        .collect();
    let sections = page
        .sections
        .into_iter()
        .zip(matches)
        .map(|(mut section, matched)| {
            let old_groups: &[Group] = match matched.map(|i| &onto.sections[i]) {
                Some(old) => {
                    section.id = old.id.clone();
                    section.rust_name = old.rust_name.clone();
                    // A note of the file wins over what the page says.
                    if old.note.is_some() {
                        section.note = old.note.clone();
                    }
                    &old.groups
                }
                None => {
                    section.id = unique(&mut ids, section.id.clone());
                    section.rust_name = ident::rust_name(&section.id);
                    &[]
                }
            };
            for group in &mut section.groups {
                // A note people wrote on the same group of the same section.
                let same = old_groups.iter().find(|g| {
                    g.limits == group.limits
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

/// The comment lines that open a file imported from the Chinese page.
pub const PREAMBLE: &str = "#:schema ./limits.schema.json
# Rate limits of Alibaba Cloud Model Studio (DashScope): one section per table
# of the provider's page and (region, scope). A region is where a call is sent
# (cn-beijing: dashscope.aliyuncs.com, ap-southeast-1: dashscope-intl,
# us-east-1: dashscope-us, eu-central-1, ap-northeast-1 and cn-hongkong:
# {WorkspaceId}.<region>.maas.aliyuncs.com), a scope where it runs (cn, intl,
# global, us, eu, jp, hk).
#
# Imported by `limits import` from the provider's page (zh-CN); the copies read
# are in tests/data/provider/. To update: save the page there, run
# `cargo run -p limits-cli -- import tests/data/provider/rate-limit.zh-CN.2026-09.md
# --tiers tests/data/provider/quota-management.zh-CN.2026-09.md --onto
# limits.toml -o limits.toml`, then `limits gen`: see \"Edit a limit\" in
# README.md, which also describes the format.
#
# How the page was read (crates/limits-cli/src/import/flat.rs):
# - A merged cell appears only in its first row: a row takes the cells it
#   lacks from the rows above, and its group's note says from which row and
#   page line, model by model.
# - A row with fewer numbers than columns puts each number in the column
#   whose value above is nearest on a log scale; where that does not settle
#   it, in the leftmost such column: the import warns with the page line and
#   the group's note says so.
# - A table without a scope column holds in its region's own scope (Beijing:
#   cn, Singapore: intl). `[动态限流]` is a dynamic limit: its TPM per spend
#   tier comes from the dynamic-limits page (`tpm_tiers`), its RPM is not fixed.
# - A cell note saying that several models share a limit makes a pool of the
#   rows that share the cell (`per = \"api-key\"` when it says per API Key).
# - A name that is no model (Sambert系列模型) and a model listed twice in one
#   (region, scope) are kept out after the first row and said, never dropped
#   silently. Columns the format has no kind for (queue length, characters
#   per minute) are kept in the group's note.
# - Retired models have no region on the page: they are filed under
#   cn-beijing/cn with their retirement date, and their page limits (0) are
#   left out.
";

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

/// `limits import PAGE [--tiers FILE] [-o FILE] [--onto FILE]`.
pub(crate) fn run(
    page_path: &Path,
    tiers_path: Option<&Path>,
    output: Option<&Path>,
    onto_path: Option<&Path>,
    color: bool,
    io: &mut Io<'_>,
) -> io::Result<u8> {
    let shown = page_path.display();
    let page_text = std::fs::read(page_path)
        .map_err(|e| io::Error::new(e.kind(), format!("cannot read {shown}: {e}")))?;
    let page_text = String::from_utf8_lossy(&page_text);
    let mut page = match read_page(&page_text) {
        Ok(page) => page,
        Err(e) => {
            writeln!(io.stderr, "error: {shown}:{}: {}", e.line, e.message)?;
            return Ok(EXIT_INVALID);
        }
    };
    if let Some(path) = tiers_path {
        let text = std::fs::read(path).map_err(|e| {
            io::Error::new(e.kind(), format!("cannot read {}: {e}", path.display()))
        })?;
        let shown = path.display();
        match flat::read_tiers(&String::from_utf8_lossy(&text)) {
            Ok(tiers) => {
                for w in flat::apply_tiers(&mut page, &tiers) {
                    writeln!(io.stderr, "warning: {shown}:{}: {}", w.line, w.message)?;
                }
            }
            Err(e) => {
                writeln!(io.stderr, "error: {shown}:{}: {}", e.line, e.message)?;
                return Ok(EXIT_INVALID);
            }
        }
    }
    for warning in &page.warnings {
        writeln!(
            io.stderr,
            "warning: {shown}:{}: {}",
            warning.line, warning.message
        )?;
    }
    let imported = table_of(&page);
    let text = match onto_path {
        None if imported.schema == 1 => {
            limits_format::to_toml(&imported, "#:schema ./limits.schema.json\n")
        }
        None => limits_format::to_toml(&imported, PREAMBLE),
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
