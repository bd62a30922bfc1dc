//! The page in its Chinese form as markdown (`shared/provider/README.md`):
//! `##` category and `###` section headings, tab lines under a heading,
//! `在 [X部署模式] 下` before each mode's table, and tables whose bold rows
//! are headers and whose other rows list only the cells that begin on them
//! (merged cells).
//!
//! The rules, each stated where it is applied:
//! - **Mode** of a table: its `在 [X部署模式]` line; in a section that says
//!   `仅支持[中国内地部署模式]`, Mainland China; a table with no line of its
//!   own keeps the mode of the one before when sub-tab lines (names of
//!   model families) stand under that mode's line, and otherwise takes the
//!   next mode of the section's tab list (the third tables of 千问Coder and
//!   千问翻译模型). Retired models (`已下线模型`) have no mode on the page:
//!   they are read as Mainland China, and the file says so.
//! - **Kinds** from the header cells (`kind_of_header`); a cell's unit
//!   (`次/秒`, `次/分钟`) settles a submission limit's kind;
//!   `同步接口无限制` is "synchronous calls unlimited", `异步接口 N` is N
//!   tasks in flight.
//! - **Merged cells**: a row takes the cells it lacks from the rows above,
//!   and the group notes it. A row with fewer numbers than columns whose
//!   numbers the columns' order does not settle puts each number in the
//!   column whose value above is nearest on a log scale (ties to the
//!   right); when the two distances are within a factor of ten of each
//!   other, the reading is warned about with its line.
//! - A name that is no id (`Sambert系列模型`, a family) and a second row of
//!   one model in one mode (`kimi-k2.5`) are warned about with their lines
//!   and written into the section's note; the file keeps the first row.
//! - A value cell whose note says the limit is a total over several model
//!   versions makes the table one pooled budget.
//! - Prose, lists, quotes and code blocks are skipped.

use std::collections::HashMap;

use limits_format::{ident, Deployment, Kind, Limits, Retired};

pub use super::cells::slug;
use super::cells::{
    cells, judged_note, kind_of_header, mode_line, mode_named, name_cell, parts, plain,
    retirement_date, value_cell, Column, Value,
};
use super::page::{Page, PageError, PageRow, PageSection};

/// The state of the reader between lines.
#[derive(Default)]
struct Reader {
    page: Page,
    category: Option<String>,
    /// The section heading and its line.
    title: Option<(String, usize)>,
    /// The section's mode tabs, in order.
    tabs: Vec<Deployment>,
    /// The section's retirement tabs, in order.
    dates: Vec<String>,
    /// `仅支持[中国内地部署模式]`.
    only_cn: bool,
    /// The mode of the last table, and whether sub-tab lines stand under
    /// its mode line.
    mode: Option<Deployment>,
    subtabs: bool,
    /// The sub-tab lines under the current mode line, and how many tables
    /// stood under it so far.
    subtab_names: Vec<String>,
    tables_in_mode: usize,
    /// A mode line since the last table.
    pending_mode: Option<Deployment>,
    /// Tables of the section read so far.
    tables: usize,
    /// Where each (mode, id) was first listed (section index, line).
    listed: HashMap<(Deployment, String), (usize, usize)>,
    /// The table being read.
    current: Option<Table>,
    /// The largest value of each kind the page gave so far.
    largest: HashMap<Kind, u64>,
    /// The retired tables (section index, whether it has a replacement
    /// column), and the retirement tabs they stand under, in page order.
    retired_tables: Vec<(usize, bool)>,
    retired_dates: Vec<(String, usize)>,
}

/// Reads the markdown page.
pub fn read(text: &str) -> Result<Page, PageError> {
    let mut r = Reader::default();
    let lines: Vec<&str> = text.lines().collect();
    let mut i = 0;
    let mut fenced = false;
    while i < lines.len() {
        let at = i + 1;
        let line = lines[i].trim();
        i += 1;
        if line.starts_with("```") {
            fenced = !fenced;
            continue;
        }
        if fenced || line.is_empty() {
            continue;
        }
        if let Some(updated) = line.strip_prefix("更新时间：") {
            r.page.updated = updated.get(..10).map(str::to_string);
            continue;
        }
        if let Some(h) = line.strip_prefix("### ") {
            r.start_section(plain(h), at);
            continue;
        }
        if let Some(h) = line.strip_prefix("## ") {
            // A category; tables right under it (retired models) take it
            // as their title too.
            r.category = Some(plain(h));
            r.start_section(plain(h), at);
            continue;
        }
        if line.starts_with('#') {
            continue;
        }
        if line.starts_with('|') {
            let start = i - 1;
            while i < lines.len() && lines[i].trim_start().starts_with('|') {
                i += 1;
            }
            r.table(&lines[start..i], start + 1)?;
            continue;
        }
        if let Some(mode) = mode_line(line) {
            r.pending_mode = Some(mode);
            r.subtabs = false;
            r.subtab_names.clear();
            r.tables_in_mode = 0;
            continue;
        }
        if line.starts_with("仅支持[中国内地部署模式]") {
            r.only_cn = true;
            continue;
        }
        if let Some(mode) = mode_named(line) {
            r.tabs.push(mode);
            continue;
        }
        if let Some(date) = retirement_date(line) {
            r.dates.push(date.clone());
            r.retired_dates.push((date, at));
            continue;
        }
        // A short line that is no sentence, list or quote is a sub-tab.
        let prose = line.starts_with(['>', '-', '*', '!'])
            || line.chars().count() > 40
            || line.contains(['。', '，', '：', '；'])
            || line.starts_with(|c: char| c.is_ascii_digit());
        if !prose && r.title.is_some() {
            r.subtabs = true;
            r.subtab_names.push(plain(line));
        }
    }
    if r.page.sections.is_empty() {
        return Err(PageError {
            line: 1,
            message: "no rate-limit table found (markdown tables under `###` headings)".into(),
        });
    }
    r.date_retired_tables();
    Ok(r.page)
}

impl Reader {
    /// Dates the retired tables when the page has fewer retirement tabs
    /// than tables (the tabs' bodies are not marked in the markdown): the
    /// tables that name replacements stand under the last (oldest) tab,
    /// the others take the tabs in order, several under the last one left.
    /// The page of 2026-09 writes its tabs out in full and shows this
    /// grouping; each date read so is noted with the tab's line.
    fn date_retired_tables(&mut self) {
        let dates = std::mem::take(&mut self.retired_dates);
        let tables = std::mem::take(&mut self.retired_tables);
        if dates.is_empty() || tables.len() <= dates.len() {
            return;
        }
        let named = tables.iter().any(|(_, replacement)| *replacement);
        let plain_tabs = if named { dates.len() - 1 } else { dates.len() };
        let mut plain_seen = 0;
        for (section, replacement) in tables {
            let tab = if replacement || plain_tabs == 0 {
                dates.len() - 1
            } else {
                plain_seen += 1;
                (plain_seen - 1).min(plain_tabs - 1)
            };
            let (date, line) = &dates[tab];
            let s = &mut self.page.sections[section];
            s.retired = Some(Retired::On(date.clone()));
            s.title = format!("已下线模型 ({date})");
            s.note = Some(format!(
                "The page gives retired models no deployment mode; they are read as Mainland China. \
                 Their limits on the page are 0. The page has fewer retirement tabs than tables: \
                 this table is read as under the tab of {date} (line {line}){}.",
                if replacement {
                    ", the oldest, as the tables that name replacements are"
                } else {
                    ""
                }
            ));
        }
    }

    fn start_section(&mut self, title: String, at: usize) {
        self.title = Some((title, at));
        self.tabs.clear();
        self.dates.clear();
        self.only_cn = false;
        self.mode = None;
        self.subtabs = false;
        self.pending_mode = None;
        self.tables = 0;
        self.subtab_names.clear();
        self.tables_in_mode = 0;
    }

    fn warn(&mut self, line: usize, message: String) {
        self.page.warnings.push(PageError { line, message });
    }

    /// One block of `|` lines starting at page line `first`.
    fn table(&mut self, block: &[&str], first: usize) -> Result<(), PageError> {
        let rows: Vec<(usize, Vec<String>)> = block
            .iter()
            .enumerate()
            .map(|(k, l)| (first + k, cells(l)))
            .filter(|(_, c)| {
                !c.iter()
                    .all(|c| c.is_empty() || c.chars().all(|c| c == '-'))
            })
            .collect();
        let header_rows: Vec<&Vec<String>> = rows
            .iter()
            .map(|(_, c)| c)
            .filter(|c| c.iter().any(|c| c.starts_with("**")))
            .collect();
        let data: Vec<&(usize, Vec<String>)> = rows
            .iter()
            .filter(|(_, c)| !c.iter().any(|c| c.starts_with("**")))
            .collect();
        if data.is_empty() {
            // A header-only table (a "说明" box repeats the header): nothing.
            return Ok(());
        }
        let retired_section = self.title.as_ref().is_some_and(|(t, _)| t == "已下线模型");
        let continues = header_rows.is_empty();
        if continues && self.page.sections.is_empty() {
            return Err(PageError {
                line: first,
                message: "a table without a header row and no table before it".into(),
            });
        }
        if !continues {
            let Some((title, title_line)) = self.title.clone() else {
                return Err(PageError {
                    line: first,
                    message: "a table without a `###` heading above it".into(),
                });
            };
            let mode = self.table_mode();
            let retired = retired_section.then(|| match self.dates.get(self.tables) {
                Some(date) => Retired::On(date.clone()),
                None => Retired::Yes,
            });
            // A table under a sub-tab is titled by it too.
            let title = match (&retired, self.subtab_names.get(self.tables_in_mode)) {
                (Some(Retired::On(date)), _) => format!("{title} ({date})"),
                (None, Some(tab)) => format!("{title} / {tab}"),
                _ => title,
            };
            self.tables_in_mode += 1;
            let mut columns = Vec::new();
            let (mut category, mut replacement) = (false, false);
            let mut unknown: Option<String> = None;
            let names = header_rows
                .first()
                .map_or(0, |h| h.iter().filter(|c| plain(c) == "模型名称").count());
            for cell in header_rows.iter().flat_map(|h| h.iter()) {
                let text = plain(parts(cell).first().map_or("", String::as_str));
                match kind_of_header(&text) {
                    Ok(Some(col)) => columns.push(col),
                    Ok(None) => {
                        category |= text == "模型服务" || text == "类别";
                        replacement |= text == "替代模型";
                    }
                    Err(()) => unknown = unknown.or(Some(text)),
                }
            }
            category |= names == 2;
            if columns.is_empty() && names == 0 && !category {
                // No model and no limit column: a table of the prose (the
                // FAQ's error messages), not a rate-limit table.
                self.warn(
                    first,
                    "a table with no model or limit column: skipped, as prose".into(),
                );
                return Ok(());
            }
            if let Some(text) = unknown {
                return Err(PageError {
                    line: first,
                    message: format!(
                        "header cell `{text}` names no kind of limit this reader knows"
                    ),
                });
            }
            if columns.is_empty() {
                return Err(PageError {
                    line: first,
                    message: "a table whose header names no limit".into(),
                });
            }
            let note = header_rows
                .iter()
                .flat_map(|h| h.iter())
                .any(|c| c.contains("仅输入Token"))
                .then(|| "TPM counts input tokens only.".to_string());
            let mut section_note = None;
            if retired_section {
                section_note = Some(
                    "The page gives retired models no deployment mode; they are read as Mainland China. \
                     Their limits on the page are 0."
                        .to_string(),
                );
                if matches!(retired, Some(Retired::Yes)) {
                    section_note = section_note.map(|n| {
                        n + " The page's retirement dates are tabs, fewer than its tables: \
                             this table is past the last of them, so no date is known."
                    });
                }
            }
            if retired_section {
                self.retired_tables
                    .push((self.page.sections.len(), replacement));
            }
            self.page.sections.push(PageSection {
                title,
                category: self.category.clone(),
                line: title_line,
                mode: Some(mode),
                retired,
                note: section_note,
                rows: Vec::new(),
            });
            self.current = Some(Table {
                carried: vec![None; columns.len()],
                columns,
                category,
                replacement,
                replaced: None,
                note,
            });
            self.tables += 1;
        }
        for (line, cells) in data {
            self.row(*line, cells)?;
        }
        Ok(())
    }

    /// The mode of a table just found (see the module's rules).
    fn table_mode(&mut self) -> Deployment {
        let mode = if self.only_cn || self.title.as_ref().is_some_and(|(t, _)| t == "已下线模型")
        {
            Deployment::MAINLAND_CHINA
        } else if let Some(mode) = self.pending_mode.take() {
            mode
        } else if let (Some(mode), true) = (self.mode, self.subtabs) {
            mode
        } else {
            // The next tab's table: its sub-tabs are not this one's.
            self.subtab_names.clear();
            self.tables_in_mode = 0;
            let next = self
                .mode
                .and_then(|m| self.tabs.iter().position(|t| *t == m))
                .map_or(0, |p| p + 1);
            self.tabs
                .get(next)
                .copied()
                .or(self.mode)
                .unwrap_or(Deployment::MAINLAND_CHINA)
        };
        self.mode = Some(mode);
        mode
    }
}

/// A table being read: its columns and what its rows carry down.
struct Table {
    columns: Vec<Column>,
    category: bool,
    replacement: bool,
    /// The last replacement cell, for rows that merge it.
    replaced: Option<String>,
    note: Option<String>,
    /// Per column: the value and the id of the row that stated it.
    carried: Vec<Option<(Value, String)>>,
}

impl Reader {
    fn row(&mut self, line: usize, cells: &[String]) -> Result<(), PageError> {
        let Some(table) = self.current.as_mut() else {
            return Err(PageError {
                line,
                message: "a row outside a table".into(),
            });
        };
        let cells: Vec<&String> = cells.iter().filter(|c| !c.is_empty()).collect();
        let values: Vec<(usize, Value)> = cells
            .iter()
            .enumerate()
            .filter_map(|(k, c)| value_cell(c).map(|v| (k, v)))
            .collect();
        let texts: Vec<&String> = cells
            .iter()
            .enumerate()
            .filter(|(k, _)| !values.iter().any(|(v, _)| v == k))
            .map(|(_, c)| *c)
            .collect();
        // Text cells: [category] name [replacement].
        let is_id = |c: &str| ident::check_id(&name_cell(c).0).is_ok();
        // Text cells: [category] name [replacement], or in a table of no
        // category and no replacement, the name and then texts that stand
        // in value columns (kept as notes; those columns carry nothing).
        let mut extra: Vec<String> = Vec::new();
        let (name, replacement) = match texts.as_slice() {
            [] => {
                return Err(PageError {
                    line,
                    message: "a row without a model name".into(),
                })
            }
            [one] => (*one, None),
            [a, rest @ ..] if !table.category && !table.replacement => {
                extra.extend(rest.iter().map(|t| plain(&t.replace("<br>", " "))));
                (*a, None)
            }
            [a, b] if table.replacement && is_id(a) => (*a, Some(*b)),
            [_, b] => (*b, None),
            [_, b, c, ..] => (*b, Some(*c)),
        };
        let (id, aliases, name_note) = name_cell(name);
        let section = self.page.sections.len() - 1;
        let retired = self.page.sections[section].retired.is_some();
        let ncols = table.columns.len();
        // Values to columns: all of them in order, or by nearness.
        let mut stated: Vec<Option<Value>> = vec![None; ncols];
        // Columns a lone number was put in by the rule, not by its size.
        let mut judged: Vec<usize> = Vec::new();
        if values.len() >= ncols {
            for (k, (_, v)) in values.into_iter().take(ncols).enumerate() {
                stated[k] = Some(v);
            }
        } else {
            for (_, v) in values {
                let settled = settled_column(
                    &table.columns,
                    &table.carried[..ncols],
                    &v,
                    &stated,
                    &self.largest,
                );
                let (k, unsettled) = match settled {
                    Some(k) => (k, false),
                    None => nearest_column(
                        &table.carried[..ncols],
                        &v,
                        &mut stated,
                        line,
                        &id,
                        &mut self.page.warnings,
                    ),
                };
                if unsettled {
                    judged.push(k);
                }
                stated[k] = Some(v);
            }
        }
        let mut limits = Limits::default();
        let mut from = Vec::new();
        let mut notes: Vec<String> = table.note.iter().cloned().collect();
        notes.extend(name_note);
        notes.extend(extra.iter().cloned());
        let text_stated = !extra.is_empty();
        let mut pool = None;
        for (k, stated) in stated.iter_mut().enumerate() {
            let (value, origin) = match stated.take() {
                Some(v) => {
                    table.carried[k] = Some((v.clone(), id.clone()));
                    (v, None)
                }
                None if text_stated => {
                    // The column holds text on this row: nothing to carry.
                    table.carried[k] = Some((Value::default(), id.clone()));
                    continue;
                }
                None => match &table.carried[k] {
                    Some((v, origin)) => (v.clone(), Some(origin.clone())),
                    None if retired => continue,
                    None => {
                        return Err(PageError {
                            line,
                            message: format!(
                                "`{id}` gives no value in column {} and no row above it does",
                                k + 1
                            ),
                        })
                    }
                },
            };
            if retired {
                continue;
            }
            let kind = table.columns[k].kind(value.per_minute);
            let placed = value.place_in(kind, &mut limits, &mut from, origin);
            if let (Some(n), true) = (placed, judged.contains(&k)) {
                notes.push(judged_note(n, kind, ""));
            }
            if let Some(note) = &value.note {
                if note.contains("同时调用多个模型版本") || note.contains("总并发") {
                    pool = Some(format!(
                        "{}-{}",
                        slug(&self.page.sections[section].title),
                        self.page.sections[section]
                            .mode
                            .map_or("all", |m| m.mode_id().unwrap_or(m.scope.id()))
                    ));
                    notes.push(format!(
                        "{} is one budget for all the models of this group together.",
                        kind.key()
                    ));
                } else if !notes.contains(note) {
                    notes.push(note.clone());
                }
            }
        }
        if ident::check_id(&id).is_err() {
            self.warn(line, format!("`{id}` is not a model id (a family or a label); kept out of the table, and said in the section's note"));
            let text = format!(
                "The page also lists `{id}` here (line {line}), which names no model: the file keeps it out."
            );
            let s = &mut self.page.sections[section];
            s.note = Some(match s.note.take() {
                Some(n) => format!("{n} {text}"),
                None => text,
            });
            return Ok(());
        }
        for a in &aliases {
            if let Err(e) = ident::check_id(a) {
                return Err(PageError {
                    line,
                    message: format!(
                        "alias `{a}` of `{id}` is not an id the format accepts: it {}",
                        e.reason
                    ),
                });
            }
        }
        let mode = self.page.sections[section]
            .mode
            .unwrap_or(Deployment::MAINLAND_CHINA);
        if pool.is_none() {
            if let Some(&(first_section, first_line)) = self.listed.get(&(mode, id.clone())) {
                self.warn(line, format!("`{id}` is listed a second time in mode `{}` (first at line {first_line}); the file keeps the first row", mode.id()));
                let text = format!(
                    "The page lists `{id}` again in section \"{}\" (line {line}) with other limits ({}); the file keeps this row, the first.",
                    self.page.sections[section].title,
                    limits_format::diff::describe_limits(&limits, false)
                );
                let s = &mut self.page.sections[first_section];
                s.note = Some(match s.note.take() {
                    Some(n) => format!("{n} {text}"),
                    None => text,
                });
                return Ok(());
            }
            self.listed.insert((mode, id.clone()), (section, line));
        }
        // A replacement cell merged from above is the row above's.
        let replacement = match replacement {
            Some(r) => {
                table.replaced = Some(r.to_string());
                Some(r.to_string())
            }
            None if table.replacement => table.replaced.clone(),
            None => None,
        };
        let (replaced_by, repl_note) = match replacement.as_deref() {
            Some(r) => {
                let (rid, _, _) = name_cell(r);
                if ident::check_id(&rid).is_ok() {
                    (Some(rid), None)
                } else {
                    (None, Some(format!("Replacement: {}", plain(r))))
                }
            }
            None => (None, None),
        };
        notes.extend(repl_note);
        let note = (!notes.is_empty()).then(|| notes.join(" "));
        for (kind, n) in limits.kinds() {
            let largest = self.largest.entry(kind).or_insert(0);
            *largest = (*largest).max(n);
        }
        self.page.sections[section].rows.push(PageRow {
            line,
            id,
            aliases,
            limits,
            from,
            note,
            pool,
            per: limits_format::Per::Account,
            replaced_by,
        });
        Ok(())
    }
}

/// The column a lone number of a row belongs to when the page says it
/// (checked before the magnitudes): a cell that speaks of concurrency or of
/// jobs running (`1算力单元支持2并发`, `只有1个作业实际处于运行状态`: the page
/// writes those in the tasks-in-flight column) is that column's; else the
/// one free column whose cell above is text (`同步接口无限制`: a merged cell
/// holds a number, so a row's own number stands where the row above had
/// text); else, of the free per-minute columns, the one whose kind the
/// number does not exceed (a number larger than every RPM the page gave so
/// far is no RPM: qwen-long-latest's 60,000). `None`: the magnitudes decide.
fn settled_column(
    columns: &[Column],
    carried: &[Option<(Value, String)>],
    value: &Value,
    taken: &[Option<Value>],
    largest: &HashMap<Kind, u64>,
) -> Option<usize> {
    let free: Vec<usize> = (0..carried.len()).filter(|k| taken[*k].is_none()).collect();
    let note = value.note.as_deref().unwrap_or_default();
    if note.contains("并发") || note.contains("运行状态") {
        let flight = free
            .iter()
            .copied()
            .find(|k| columns.get(*k) == Some(&Column::Limit(Kind::Concurrency)));
        if flight.is_some() {
            return flight;
        }
    }
    let text_above: Vec<usize> = free
        .iter()
        .copied()
        .filter(|k| {
            carried[*k]
                .as_ref()
                .is_some_and(|(v, _)| v.number.is_none())
        })
        .collect();
    if let [k] = text_above[..] {
        return Some(k);
    }
    let n = value.number?;
    let fits: Vec<usize> = free
        .iter()
        .copied()
        .filter(|k| match columns.get(*k) {
            Some(Column::Limit(kind @ (Kind::Rpm | Kind::Tpm))) => {
                largest.get(kind).is_none_or(|&max| n <= max)
            }
            _ => true,
        })
        .collect();
    match fits[..] {
        [k] if free.len() > 1 => Some(k),
        _ => None,
    }
}

/// The column a lone number of a row belongs to: the free column whose
/// value above is nearest on a log scale, when that settles it (every
/// other is more than ten times further off); otherwise the leftmost of
/// the columns within that margin (the cells a row leaves out are merged
/// from above, and the page's merged cells are mostly its right-hand
/// ones), warned about with the row's line. Also whether the magnitudes
/// left it unsettled.
pub(crate) fn nearest_column(
    carried: &[Option<(Value, String)>],
    value: &Value,
    taken: &mut [Option<Value>],
    line: usize,
    id: &str,
    warnings: &mut Vec<PageError>,
) -> (usize, bool) {
    let n = value.number.unwrap_or(0).max(1) as f64;
    let distances: Vec<(f64, usize)> = carried
        .iter()
        .enumerate()
        .filter(|(k, _)| taken[*k].is_none())
        .map(|(k, c)| {
            let above = c.as_ref().and_then(|(v, _)| v.number).unwrap_or(1).max(1) as f64;
            ((n / above).ln().abs(), k)
        })
        .collect();
    let Some(best) = distances.iter().map(|d| d.0).min_by(f64::total_cmp) else {
        return (taken.len().saturating_sub(1), false);
    };
    let close: Vec<usize> = distances
        .iter()
        .filter(|d| d.0 - best < 10f64.ln())
        .map(|d| d.1)
        .collect();
    let k = close.iter().copied().min().unwrap_or(0);
    if close.len() > 1 {
        warnings.push(PageError {
            line,
            message: format!(
                "`{id}`: the magnitudes do not settle which column the lone number {} is in; read into column {} (the leftmost of those it could be), the others taken from the row above",
                value.number.unwrap_or(0),
                k + 1
            ),
        });
    }
    (k, close.len() > 1)
}
