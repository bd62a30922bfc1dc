//! The page as scraped text: title lines, then `name | QPM | TPM |` rows
//! where a merged cell appears only in its first row.
//!
//! The rules (`shared/source/README.md`): a row with fewer numbers takes
//! the missing ones from the rows above; a lone number's size says its
//! column ([`SMALLEST_TPM`]); `name (alias)` is one model with an alias.
//! Headings: the line right above a table's `Name |` header is its title; a
//! heading that the title starts with is a family heading ("Qwen" above
//! "Qwen LLMs"); any other heading above the title is the category of the
//! tables that follow. Lines that end with a full stop are prose.

use super::page::{
    category_above, is_header, name_cell, number_cell, Carried, Page, PageError, PageSection,
    SMALLEST_TPM,
};

/// Reads the scraped text of the page.
pub fn read(text: &str) -> Result<Page, PageError> {
    let mut page = Page::default();
    let mut headings: Vec<(usize, &str)> = Vec::new();
    let mut category: Option<String> = None;
    let mut table: Option<(PageSection, Carried)> = None;
    for (i, line) in text.lines().enumerate() {
        let at = i + 1;
        let line = line.trim();
        if line.is_empty() {
            continue;
        }
        if !line.contains('|') {
            if let Some((section, _)) = table.take() {
                page.sections.push(section);
            }
            if !line.ends_with('.') {
                headings.push((at, line));
            }
            continue;
        }
        let cells: Vec<&str> = line.split('|').map(str::trim).collect();
        if cells[0] == "Name" {
            if let Some((section, _)) = table.take() {
                page.sections.push(section);
            }
            let Some(&(title_line, title)) = headings.last() else {
                return Err(PageError {
                    line: at,
                    message: "a table without a heading above it".into(),
                });
            };
            let run: Vec<&str> = headings.iter().map(|&(_, h)| h).collect();
            if let Some(new) = category_above(&run) {
                category = Some(new.to_string());
            }
            headings.clear();
            table = Some((
                PageSection {
                    title: title.to_string(),
                    category: category.clone(),
                    line: title_line,
                    mode: None,
                    retired: None,
                    note: None,
                    rows: Vec::new(),
                },
                Carried::new(),
            ));
            continue;
        }
        if is_header(cells[0]) {
            continue;
        }
        let Some((section, carried)) = table.as_mut() else {
            return Err(PageError {
                line: at,
                message: "a row outside a table (no `Name |` header above it)".into(),
            });
        };
        let (id, aliases) = name_cell(cells[0], at)?;
        let numbers = cells[1..]
            .iter()
            .filter(|c| !c.is_empty())
            .map(|c| number_cell(c, at))
            .collect::<Result<Vec<u64>, _>>()?;
        let (qpm, tpm) = match numbers.as_slice() {
            [] => (None, None),
            [n] if *n >= SMALLEST_TPM => (None, Some(*n)),
            [n] => (Some(*n), None),
            [q, t] => (Some(*q), Some(*t)),
            more => {
                return Err(PageError {
                    line: at,
                    message: format!(
                        "`{id}` has {} numbers; a row has at most two (QPM, TPM)",
                        more.len()
                    ),
                })
            }
        };
        section.rows.push(carried.row(at, id, aliases, qpm, tpm)?);
    }
    if let Some((section, _)) = table.take() {
        page.sections.push(section);
    }
    if let Some(empty) = page.sections.iter().find(|s| s.rows.is_empty()) {
        return Err(PageError {
            line: empty.line,
            message: format!("the table `{}` has no rows", empty.title),
        });
    }
    if page.sections.is_empty() {
        return Err(PageError {
            line: 1,
            message: "no table (`Name | ... |` header) on the page".into(),
        });
    }
    Ok(page)
}
