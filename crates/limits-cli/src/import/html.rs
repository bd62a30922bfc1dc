//! The page as HTML: headings and tables, where merged cells are explicit
//! (`rowspan`, `colspan`), read with an HTML parser (scraper, html5ever).
//!
//! A table's columns are name, QPM, TPM; header rows (`th` cells only, or
//! a first cell `Name` or `Queries per minute ...`, as in the text) are
//! skipped. A cell that spans rows gives its value
//! to each row it spans, noted as coming from its first row. Headings are
//! read as in the scraped text: the heading right above a table is its
//! title, headings the title starts with are family headings, and any other
//! heading above the title since the previous table is the category.

use scraper::{ElementRef, Html, Selector};

use super::page::{
    category_above, is_header, name_cell, number_cell, Page, PageError, PageRow, PageSection,
};

/// One cell of the grid: its text, and the index of the row it starts in.
#[derive(Clone)]
struct Cell {
    text: String,
    row: usize,
}

/// One row of the grid: the cells covering it, and whether its own cells
/// are all header cells (`th`).
#[derive(Clone, Default)]
struct GridRow {
    cells: Vec<Option<Cell>>,
    header_only: bool,
}

/// Reads the page's HTML.
pub fn read(source: &str) -> Result<Page, PageError> {
    let document = Html::parse_document(source);
    let selector = Selector::parse("h1, h2, h3, h4, h5, h6, table").expect("a valid selector");
    let lines = LineFinder::new(source);
    let selectors = Selectors::new();
    let mut page = Page::default();
    let mut headings: Vec<String> = Vec::new();
    let mut category: Option<String> = None;
    let mut table_count = 0;
    for element in document.select(&selector) {
        if element.value().name() != "table" {
            let text = text_of(element);
            if !text.is_empty() && element.value().name() != "h1" {
                headings.push(text);
            }
            continue;
        }
        let table_line = lines.table(table_count);
        table_count += 1;
        let Some(title) = headings.last().cloned() else {
            return Err(PageError {
                line: table_line,
                message: "a table without a heading above it".into(),
            });
        };
        let run: Vec<&str> = headings.iter().map(String::as_str).collect();
        if let Some(new) = category_above(&run) {
            category = Some(new.to_string());
        }
        headings.clear();
        let grid = grid(element, &selectors);
        let mut rows: Vec<PageRow> = Vec::new();
        for (r, GridRow { cells, header_only }) in grid.iter().enumerate() {
            let first = cells.first().and_then(Option::as_ref);
            let Some(name) = first.filter(|c| c.row == r) else {
                continue; // a row whose name cell spans from above: none here
            };
            if *header_only || is_header(&name.text) {
                continue;
            }
            let at = lines.find_after(table_line, &name.text);
            let (id, aliases) = name_cell(&name.text, at)?;
            let limit = |column: usize, what: &str| -> Result<(u64, Option<String>), PageError> {
                match cells.get(column).and_then(Option::as_ref) {
                    Some(cell) if !cell.text.is_empty() => {
                        let n = number_cell(&cell.text, at)?;
                        let from = (cell.row != r).then(|| {
                            let origin = &grid[cell.row].cells[0];
                            let origin = origin.as_ref().map(|c| c.text.as_str()).unwrap_or("");
                            name_cell(origin, at).map(|(id, _)| id).unwrap_or_default()
                        });
                        Ok((n, from))
                    }
                    _ => Err(PageError {
                        line: at,
                        message: format!("`{id}` has no {what} cell"),
                    }),
                }
            };
            let rpm = limit(1, "QPM")?;
            let tpm = limit(2, "TPM")?;
            if cells.len() > 3 && cells[3..].iter().flatten().any(|c| !c.text.is_empty()) {
                return Err(PageError {
                    line: at,
                    message: format!("`{id}` has more than two numbers; a row has QPM and TPM"),
                });
            }
            rows.push(PageRow::per_minute(at, id, aliases, rpm, tpm));
        }
        if rows.is_empty() {
            return Err(PageError {
                line: table_line,
                message: format!("the table `{title}` has no rows"),
            });
        }
        page.sections.push(PageSection {
            title,
            category: category.clone(),
            line: table_line,
            mode: None,
            retired: None,
            note: None,
            rows,
        });
    }
    if page.sections.is_empty() {
        return Err(PageError {
            line: 1,
            message: "no table on the page".into(),
        });
    }
    Ok(page)
}

/// The element's text, whitespace runs made one space.
fn text_of(element: ElementRef<'_>) -> String {
    element
        .text()
        .flat_map(str::split_whitespace)
        .collect::<Vec<_>>()
        .join(" ")
}

/// The selectors the table reader uses, parsed once per page.
struct Selectors {
    tr: Selector,
    cell: Selector,
}

impl Selectors {
    fn new() -> Self {
        Selectors {
            tr: Selector::parse("tr").expect("a valid selector"),
            cell: Selector::parse("th, td").expect("a valid selector"),
        }
    }
}

/// The table's rows on a grid, spans resolved: `grid[r].cells[c]` is the
/// cell covering row `r`, column `c`.
fn grid(table: ElementRef<'_>, selectors: &Selectors) -> Vec<GridRow> {
    let mut grid: Vec<GridRow> = Vec::new();
    for (r, row) in table.select(&selectors.tr).enumerate() {
        if grid.len() <= r {
            grid.resize(r + 1, GridRow::default());
        }
        let mut header_only = true;
        let mut c = 0;
        for element in row.select(&selectors.cell) {
            header_only &= element.value().name() == "th";
            while grid[r].cells.get(c).is_some_and(Option::is_some) {
                c += 1;
            }
            let span = |name: &str| {
                element
                    .value()
                    .attr(name)
                    .and_then(|v| v.trim().parse::<usize>().ok())
                    .unwrap_or(1)
                    .clamp(1, 1_000)
            };
            let (rows, cols) = (span("rowspan"), span("colspan"));
            let value = Cell {
                text: text_of(element),
                row: r,
            };
            for dr in 0..rows {
                if grid.len() <= r + dr {
                    grid.resize(r + dr + 1, GridRow::default());
                }
                let line = &mut grid[r + dr].cells;
                for dc in 0..cols {
                    if line.len() <= c + dc {
                        line.resize(c + dc + 1, None);
                    }
                    line[c + dc] = Some(value.clone());
                }
            }
            c += cols;
        }
        grid[r].header_only = header_only;
    }
    grid
}

/// Page lines of things found in the source text (the parser keeps none).
struct LineFinder<'a> {
    source: &'a str,
    /// The line of each `<table` tag, in order.
    tables: Vec<usize>,
}

impl<'a> LineFinder<'a> {
    fn new(source: &'a str) -> Self {
        let mut finder = LineFinder {
            source,
            tables: Vec::new(),
        };
        finder.tables = source
            .to_ascii_lowercase()
            .match_indices("<table")
            .map(|(at, _)| finder.line_of(at))
            .collect();
        finder
    }

    fn line_of(&self, offset: usize) -> usize {
        self.source[..offset].matches('\n').count() + 1
    }

    /// The line of table `i` (0-based).
    fn table(&self, i: usize) -> usize {
        self.tables.get(i).copied().unwrap_or(1)
    }

    /// The first line at or after `line` that holds `text`.
    fn find_after(&self, line: usize, text: &str) -> usize {
        let start: usize = self
            .source
            .split_inclusive('\n')
            .take(line - 1)
            .map(str::len)
            .sum();
        let needle = text.split(" (").next().unwrap_or(text);
        match self.source[start..].find(needle) {
            Some(at) => self.line_of(start + at),
            None => line,
        }
    }
}
