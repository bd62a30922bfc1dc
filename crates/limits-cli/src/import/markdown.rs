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

use super::page::{Page, PageError, PageRow, PageSection};

/// A kind of column in a table.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
enum Column {
    /// A limit of this kind.
    Limit(Kind),
    /// Task submissions, per second or per minute as the cell's unit says.
    Submit,
}

/// The column a header cell names, if it names a limit; `Err` for a
/// header cell that is neither a limit nor a known structural one.
fn kind_of_header(cell: &str) -> Result<Option<Column>, ()> {
    let c = cell;
    if ["模型名称", "模型服务", "类别", "限流条件", "替代模型"]
        .iter()
        .any(|s| c.starts_with(s))
    {
        return Ok(None);
    }
    let kind = if c.contains("同时处理中任务数量") {
        Column::Limit(Kind::Concurrency)
    } else if c.contains("查询") && c.contains("RPS") {
        Column::Limit(Kind::QueryRps)
    } else if (c.contains("提交") || c.contains("下发")) && c.contains("RPM") {
        Column::Limit(Kind::SubmitRpm)
    } else if (c.contains("提交") || c.contains("下发")) && c.contains("RPS") {
        Column::Limit(Kind::SubmitRps)
    } else if c.contains("下发接口调用限制") {
        Column::Submit
    } else if c.contains("TPM") {
        Column::Limit(Kind::Tpm)
    } else if c.contains("RPM") {
        Column::Limit(Kind::Rpm)
    } else if c.contains("RPS") {
        Column::Limit(Kind::Rps)
    } else {
        return Err(());
    };
    Ok(Some(kind))
}

/// A section id from a Chinese or English title: ASCII words as they are
/// (lowercased), a few Chinese words translated, the rest left out.
pub fn slug(title: &str) -> String {
    const WORDS: &[(&str, &str)] = &[
        ("千问", "qwen"),
        ("通义", "tongyi"),
        ("开源版", "open"),
        ("语言模型", "llm"),
        ("视觉理解", "vl"),
        ("文字提取", "ocr"),
        ("音频理解", "audio"),
        ("数学模型", "math"),
        ("翻译模型", "mt"),
        ("数据挖掘", "data-mining"),
        ("深入研究", "deep-research"),
        ("对话分析", "dialog-analysis"),
        ("硅基流动", "siliconflow"),
        ("月之暗面", "moonshot"),
        ("稀宇科技", "minimax"),
        ("百川", "baichuan"),
        ("万相", "wan"),
        ("图像编辑与生成", "image-edit"),
        ("人物写真生成", "portrait"),
        ("创意文字生成", "wordart"),
        ("AI试衣", "tryon"),
        ("文生图模型", "t2i"),
        ("文生图", "t2i"),
        ("实时语音合成", "tts-realtime"),
        ("语音合成", "tts"),
        ("声音复刻", "voice-enrollment"),
        ("声音设计", "voice-design"),
        ("录音文件识别", "file-asr"),
        ("实时语音识别", "asr-realtime"),
        ("语音识别", "asr"),
        ("万相系列", "wan"),
        ("舞动人像", "dance"),
        ("悦动人像", "emo"),
        ("灵动人像", "liveportrait"),
        ("声动人像", "videoretalk"),
        ("表情包", "emoji"),
        ("视频风格重绘", "video-style"),
        ("文本向量", "text-embedding"),
        ("多模态向量", "multimodal-embedding"),
        ("文本排序模型", "rerank"),
        ("法律模型", "law"),
        ("意图理解", "intent"),
        ("角色扮演", "role-play"),
        ("界面交互", "gui"),
        ("已下线模型", "retired"),
    ];
    let mut words: Vec<String> = Vec::new();
    let mut rest = title;
    while let Some(c) = rest.chars().next() {
        if let Some((zh, en)) = WORDS.iter().find(|(zh, _)| rest.starts_with(zh)) {
            words.push((*en).to_string());
            rest = &rest[zh.len()..];
        } else if c.is_ascii_alphanumeric() {
            let end = rest
                .find(|c: char| !c.is_ascii_alphanumeric())
                .unwrap_or(rest.len());
            words.push(rest[..end].to_ascii_lowercase());
            rest = &rest[end..];
        } else {
            rest = &rest[c.len_utf8()..];
        }
    }
    let mut out: Vec<String> = Vec::new();
    for w in words {
        if out.last() != Some(&w) {
            out.push(w);
        }
    }
    let out = out.join("-");
    match out.chars().next() {
        Some(c) if c.is_ascii_alphabetic() => out,
        Some(_) => format!("section-{out}"),
        None => "section".to_string(),
    }
}

/// A mode's name on the page.
fn mode_named(text: &str) -> Option<Deployment> {
    match text {
        "中国内地" => Some(Deployment::MainlandChina),
        "国际" => Some(Deployment::International),
        "全球" => Some(Deployment::Global),
        "美国" => Some(Deployment::UnitedStates),
        _ => None,
    }
}

/// The mode a `在 [X部署模式](...) 下` line names.
fn mode_line(line: &str) -> Option<Deployment> {
    let rest = line.strip_prefix("在 [")?;
    let name = rest.split("部署模式").next()?;
    mode_named(name)
}

/// `2026年1月30日下线` as `2026-01-30`.
fn retirement_date(line: &str) -> Option<String> {
    let rest = line.strip_suffix("下线")?;
    let (y, rest) = rest.split_once('年')?;
    let (m, rest) = rest.split_once('月')?;
    let d = rest.strip_suffix('日')?;
    let (y, m, d): (u32, u32, u32) = (y.parse().ok()?, m.parse().ok()?, d.parse().ok()?);
    Some(format!("{y:04}-{m:02}-{d:02}"))
}

/// Markdown markup out of a cell: bold, links (their text kept).
fn plain(cell: &str) -> String {
    let mut out = cell.replace("**", "");
    while let Some(start) = out.find("](") {
        let Some(open) = out[..start].rfind('[') else {
            break;
        };
        let Some(close) = out[start..].find(')') else {
            break;
        };
        let text = out[open + 1..start].to_string();
        out.replace_range(open..start + close + 1, &text);
    }
    out.trim().to_string()
}

/// A cell split at `<br>`: its first part and the rest (notes, aliases).
fn parts(cell: &str) -> Vec<String> {
    cell.split("<br>")
        .map(|p| p.trim().to_string())
        .filter(|p| !p.is_empty())
        .collect()
}

/// What a value cell says.
#[derive(Clone, Debug, Default, PartialEq)]
struct Value {
    number: Option<u64>,
    /// `次/分钟` (true) or `次/秒` (false), when the cell has a unit.
    per_minute: Option<bool>,
    sync_unlimited: bool,
    note: Option<String>,
}

/// A value cell (`30,000`, `2 次/秒`, `同步接口无限制 / 异步接口 2`, `1<br>note`),
/// or `None` for a cell that is text.
fn value_cell(cell: &str) -> Option<Value> {
    let ps = parts(cell);
    let first = plain(ps.first()?);
    let mut value = Value {
        note: (ps.len() > 1).then(|| {
            ps[1..]
                .iter()
                .map(|p| plain(p.trim_start_matches(['>', '-', ' '])))
                .filter(|p| !p.is_empty())
                .collect::<Vec<_>>()
                .join(" ")
        }),
        ..Value::default()
    };
    if first.starts_with("同步接口无限制") || first.starts_with("异步接口") {
        value.sync_unlimited = first.contains("同步接口无限制");
        if let Some((_, n)) = first.split_once("异步接口") {
            value.number = digits(n);
        }
        return Some(value);
    }
    if !first.starts_with(|c: char| c.is_ascii_digit()) {
        return None;
    }
    value.number = digits(&first);
    if first.contains("次/分钟") {
        value.per_minute = Some(true);
    } else if first.contains("次/秒") {
        value.per_minute = Some(false);
    }
    Some(value)
}

/// The leading number of a text, thousands separators allowed.
fn digits(text: &str) -> Option<u64> {
    let number: String = text
        .trim()
        .chars()
        .take_while(|c| c.is_ascii_digit() || *c == ',')
        .filter(|c| *c != ',')
        .collect();
    number.parse().ok()
}

/// A name cell: the id (markup and spaces around `-` removed), aliases in
/// parentheses, and a note after `>`.
fn name_cell(cell: &str) -> (String, Vec<String>, Option<String>) {
    let ps = parts(cell);
    let id: String = plain(ps.first().map(String::as_str).unwrap_or(""))
        .split_whitespace()
        .collect();
    let mut aliases = Vec::new();
    let mut notes = Vec::new();
    for p in ps.iter().skip(1) {
        let inner = p
            .strip_prefix('（')
            .and_then(|p| p.strip_suffix('）'))
            .or_else(|| p.strip_prefix('(').and_then(|p| p.strip_suffix(')')));
        match inner {
            Some(alias) => aliases.push(alias.trim().to_string()),
            None => notes.push(plain(p.trim_start_matches(['>', ' ']))),
        }
    }
    let note = (!notes.is_empty()).then(|| notes.join(" "));
    (id, aliases, note)
}

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
            r.dates.push(date);
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
    Ok(r.page)
}

impl Reader {
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
            Deployment::MainlandChina
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
                .unwrap_or(Deployment::MainlandChina)
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

/// The cells of a table line.
fn cells(line: &str) -> Vec<String> {
    let inner = line.trim().trim_start_matches('|');
    let inner = inner.strip_suffix('|').unwrap_or(inner);
    inner.split('|').map(|c| c.trim().to_string()).collect()
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
        if values.len() >= ncols {
            for (k, (_, v)) in values.into_iter().take(ncols).enumerate() {
                stated[k] = Some(v);
            }
        } else {
            for (_, v) in values {
                let k = nearest_column(
                    &table.carried[..ncols],
                    &v,
                    &mut stated,
                    line,
                    &id,
                    &mut self.page.warnings,
                );
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
            let kind = match (table.columns[k], value.per_minute) {
                (Column::Limit(kind), _) => kind,
                (Column::Submit, Some(true)) => Kind::SubmitRpm,
                (Column::Submit, _) => Kind::SubmitRps,
            };
            if value.sync_unlimited {
                limits.sync_unlimited = true;
            }
            if let Some(n) = value.number.filter(|n| *n > 0) {
                limits.set(kind, n);
                if let Some(origin) = origin {
                    from.push((kind, origin));
                }
            }
            if let Some(note) = &value.note {
                if note.contains("同时调用多个模型版本") || note.contains("总并发") {
                    pool = Some(format!(
                        "{}-{}",
                        slug(&self.page.sections[section].title),
                        self.page.sections[section].mode.map_or("all", |m| m.id())
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
            .unwrap_or(Deployment::MainlandChina);
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
        self.page.sections[section].rows.push(PageRow {
            line,
            id,
            aliases,
            limits,
            from,
            note,
            pool,
            replaced_by,
        });
        Ok(())
    }
}

/// The column a lone number of a row belongs to: the free column whose
/// value above is nearest on a log scale, when that settles it (every
/// other is more than ten times further off); otherwise the leftmost of
/// the columns within that margin (the cells a row leaves out are merged
/// from above, and the page's merged cells are mostly its right-hand
/// ones), warned about with the row's line.
fn nearest_column(
    carried: &[Option<(Value, String)>],
    value: &Value,
    taken: &mut [Option<Value>],
    line: usize,
    id: &str,
    warnings: &mut Vec<PageError>,
) -> usize {
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
        return taken.len().saturating_sub(1);
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
    k
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cells_read_as_the_shared_readme_says() {
        assert_eq!(value_cell("30,000").unwrap().number, Some(30_000));
        let v = value_cell("2 次/分钟").unwrap();
        assert_eq!((v.number, v.per_minute), (Some(2), Some(true)));
        let v = value_cell("同步接口无限制 / 异步接口 2").unwrap();
        assert_eq!((v.number, v.sync_unlimited), (Some(2), true));
        let v = value_cell("同步接口无限制").unwrap();
        assert_eq!((v.number, v.sync_unlimited), (None, true));
        assert_eq!(value_cell("qwen-max"), None);
        let (id, aliases, note) = name_cell("qwen-max-2025-01-25<br>（qwen-max-0125）");
        assert_eq!(
            (id.as_str(), aliases, note),
            (
                "qwen-max-2025-01-25",
                vec!["qwen-max-0125".to_string()],
                None
            )
        );
        let (id, _, note) =
            name_cell("qwen-max<br>> 用 [Batch API](https://x \"\") 调用服务时，不受限流限制。");
        assert_eq!(id, "qwen-max");
        assert_eq!(
            note.as_deref(),
            Some("用 Batch API 调用服务时，不受限流限制。")
        );
        assert_eq!(
            name_cell("qwen-omni-turbo-realtime **-** 2025-05-08").0,
            "qwen-omni-turbo-realtime-2025-05-08"
        );
        assert_eq!(
            retirement_date("2025年7月2日下线").as_deref(),
            Some("2025-07-02")
        );
        assert_eq!(slug("千问语言模型开源版"), "qwen-llm-open");
        assert_eq!(slug("DeepSeek-硅基流动"), "deepseek-siliconflow");
        assert_eq!(slug("千问VL（视觉理解/图生文）"), "qwen-vl");
    }
}
