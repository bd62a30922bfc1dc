//! The provider's documentation mirror's flattened markdown (revisions
//! 2026-05-27 and 2026-09): every table cell its own paragraph, bold header
//! cells, `>` notes after the cell they belong to, merged cells given once
//! in the first row they span.
//!
//! Headings: `##` a category (or, in 2026-05-27, a scope tab such as
//! `## **全球**`, whose regions the next `服务部署范围为...` line names),
//! `###` a section, `####` a region tab (2026-09), a retirement date under
//! `## 已下线模型`, or a sub-tab (Qwen-TTS, Qwen-ASR) that keeps the region.
//!
//! A row starts at a paragraph that is a model id. The cells a row leaves
//! out are merged from the rows above: a row with fewer values than its
//! table's value columns puts each value where the magnitudes say
//! (the rule of `markdown.rs`), and every value it takes from
//! above is noted with the row and page line it came from.

use std::collections::{HashMap, HashSet};

use limits_format::{ident, Deployment, Kind, Limits, Per, Region, Retired, Scope};

use super::cells::{
    judged_note, kind_of_header, plain, retirement_date, value_cell, Column, Value,
};
use super::markdown::nearest_column;
use super::page::{Page, PageError, PageRow, PageSection};

/// Whether `text` is in the mirror's flattened form: headings and no pipe
/// tables (after the mirror's `<!-- source -->` line, if any).
pub fn is_flat(text: &str) -> bool {
    let lines = || text.lines().filter(|l| !l.trim_start().starts_with("<!--"));
    lines().any(|l| l.starts_with("## ") || l.starts_with("#### "))
        && !lines().any(|l| l.trim_start().starts_with('|'))
}

/// A region tab's name on the page.
fn region_named(text: &str) -> Option<Region> {
    Some(match text {
        "华北2（北京）" => Region::Beijing,
        "新加坡" => Region::Singapore,
        "美国（弗吉尼亚）" => Region::Virginia,
        "德国（法兰克福）" => Region::Frankfurt,
        "日本（东京）" => Region::Tokyo,
        "中国香港" => Region::HongKong,
        _ => return None,
    })
}

/// A deployment scope's name on the page.
fn scope_named(text: &str) -> Option<Scope> {
    Some(match text {
        "中国内地" => Scope::MainlandChina,
        "国际" => Scope::International,
        "全球" => Scope::Global,
        "美国" => Scope::UnitedStates,
        "欧盟" => Scope::Europe,
        "日本" => Scope::Japan,
        "中国香港" => Scope::HongKong,
        _ => return None,
    })
}

/// The scope of a region's table that has no scope column: the region's
/// own (the page's tables of Beijing, and Singapore's 决策模型).
fn own_scope(region: Region) -> Option<Scope> {
    match region {
        Region::Beijing => Some(Scope::MainlandChina),
        Region::Singapore => Some(Scope::International),
        Region::HongKong => Some(Scope::HongKong),
        _ => None,
    }
}

/// The regions a 2026-05-27 scope tab is served from when its tab gives no
/// `该部署范围支持的地域` line (the regions page).
fn tab_regions(scope: Scope) -> Vec<Region> {
    match scope {
        Scope::MainlandChina => vec![Region::Beijing],
        Scope::International => vec![Region::Singapore],
        Scope::Global => vec![Region::Virginia, Region::Frankfurt],
        Scope::UnitedStates => vec![Region::Virginia],
        Scope::Europe => vec![Region::Frankfurt],
        Scope::Japan => vec![Region::Tokyo],
        Scope::HongKong => vec![Region::HongKong],
    }
}

/// A header cell's column.
#[derive(Clone, Debug, PartialEq)]
enum Col {
    Name,
    Scope,
    Category,
    Replacement,
    /// A limit (or a submission column whose unit says which).
    Limit(Column),
    /// A column the format has no kind for (queue length, characters per
    /// minute): its value is kept in the row's note, under this label.
    Note(String),
}

fn column_of(cell: &str) -> Option<Col> {
    let c = cell;
    if c.starts_with("模型名称") {
        return Some(Col::Name);
    }
    if c.starts_with("服务部署范围") {
        return Some(Col::Scope);
    }
    if c.starts_with("类别") || c.starts_with("模型服务") {
        return Some(Col::Category);
    }
    if c.starts_with("替代模型") {
        return Some(Col::Replacement);
    }
    if c.starts_with("限流条件") || c.starts_with("限流值") || c.starts_with("百炼平台")
    {
        return None;
    }
    if c.contains("正在处理中的任务数") || c.contains("异步并发数") {
        return Some(Col::Limit(Column::Limit(Kind::Concurrency)));
    }
    if c.contains("排队数") || c.contains("字符数") {
        return Some(Col::Note(c.to_string()));
    }
    match kind_of_header(c) {
        Ok(Some(k)) => Some(Col::Limit(k)),
        _ => Some(Col::Note(c.to_string())),
    }
}

/// One paragraph of a table's body, classified.
#[derive(Clone, Debug)]
enum Token {
    Id(String),
    Alias(String),
    Note(String),
    Scope(Scope),
    Value(Value),
    /// `[动态限流](...)`: a dynamic limit in this cell.
    Dynamic,
    /// `—`: the row has no limit of this column.
    Empty,
    Text(String),
}

fn token(p: &str) -> Token {
    if let Some(note) = p.strip_prefix('>') {
        return Token::Note(plain(note.trim()));
    }
    let text = plain(p);
    if text == "动态限流" {
        return Token::Dynamic;
    }
    if matches!(text.as_str(), "—" | "-" | "/") {
        return Token::Empty;
    }
    if let Some(s) = scope_named(&text) {
        return Token::Scope(s);
    }
    let inner = text
        .strip_prefix('（')
        .and_then(|t| t.strip_suffix('）'))
        .or_else(|| text.strip_prefix('(').and_then(|t| t.strip_suffix(')')));
    if let Some(alias) = inner {
        return Token::Alias(alias.trim().to_string());
    }
    if let Some(v) = value_cell(&text) {
        return Token::Value(v);
    }
    let id: String = text.replace("\\_", "_").split_whitespace().collect();
    if ident::check_id(&id).is_ok() && id.is_ascii() {
        return Token::Id(id);
    }
    Token::Text(text)
}

/// A value cell of a row: a number (with unit) or a dynamic limit.
#[derive(Clone, Debug, PartialEq)]
enum Cell {
    Value(Value),
    Dynamic,
    /// Stated empty (`—`): no limit of the column, nothing carried.
    Empty,
}

impl Cell {
    fn magnitude(&self) -> Value {
        match self {
            Cell::Value(v) => v.clone(),
            Cell::Dynamic | Cell::Empty => Value::default(),
        }
    }
}

/// A cell stated on some row: its content, notes, and where it stands.
#[derive(Clone, Debug)]
struct Stated {
    cell: Cell,
    notes: Vec<String>,
    id: String,
    line: usize,
}

/// A row being read.
#[derive(Debug, Default)]
struct Row {
    line: usize,
    id: String,
    aliases: Vec<String>,
    scope: Option<Scope>,
    notes: Vec<String>,
    /// Value cells in order, each with the notes right after it.
    cells: Vec<(Cell, Vec<String>)>,
    texts: Vec<String>,
    replacement: Option<String>,
    /// The name is no model id: the row is kept out, and said.
    not_model: bool,
}

/// A pooled budget a row takes part in: the limits of the cells whose
/// note says several models share them.
struct Pooled {
    name: String,
    per: Per,
    limits: Limits,
    from: Vec<(Kind, String)>,
}

/// A table being read.
#[derive(Debug, Default)]
struct Table {
    cols: Vec<Col>,
    /// The header's notes (e.g. `仅输入Token`), for every row.
    notes: Vec<String>,
    carried: Vec<Option<Stated>>,
    scope: Option<Scope>,
    replaced: Option<String>,
}

impl Table {
    fn values(&self) -> Vec<&Col> {
        self.cols
            .iter()
            .filter(|c| matches!(c, Col::Limit(_) | Col::Note(_)))
            .collect()
    }
}

struct Reader<'a> {
    page: Page,
    lines: Vec<(usize, &'a str)>,
    at: usize,
    category: Option<String>,
    title: Option<String>,
    subtab: Option<String>,
    region: Option<Region>,
    /// A 2026-05-27 scope tab and the regions serving it.
    tab: Option<(Scope, Vec<Region>)>,
    retired: Option<Retired>,
    in_retired: bool,
    /// Rows listed so far, per (deployment, id, pooled).
    listed: HashMap<(Deployment, String, bool), usize>,
    /// Ids of the rows read so far: a retired table's replacement names one
    /// of them (a live model, or one retired later and listed above).
    seen: HashSet<String>,
    /// The sections of the current heading, per deployment.
    open: HashMap<Deployment, usize>,
}

/// Reads the flattened page.
pub fn read(text: &str) -> Result<Page, PageError> {
    let lines: Vec<(usize, &str)> = paragraphs(text);
    let mut r = Reader {
        page: Page::default(),
        lines,
        at: 0,
        category: None,
        title: None,
        subtab: None,
        region: None,
        tab: None,
        retired: None,
        in_retired: false,
        listed: HashMap::new(),
        seen: HashSet::new(),
        open: HashMap::new(),
    };
    r.page.copied_from = copied_from(text);
    r.run()?;
    if r.page.sections.is_empty() {
        return Err(PageError {
            line: 1,
            message: "no table of limits on the page".into(),
        });
    }
    Ok(r.page)
}

/// The repository, commit and path a `<!-- source: OWNER/REPO@COMMIT PATH;
/// ... -->` first line names.
fn copied_from(text: &str) -> Option<(String, String, String)> {
    let line = text.lines().next()?.trim();
    let inner = line.strip_prefix("<!-- source:")?.strip_suffix("-->")?;
    let (at, rest) = inner.trim().split_once(' ')?;
    let (repo, commit) = at.split_once('@')?;
    let path = rest.split(';').next()?.trim();
    Some((repo.to_string(), commit.to_string(), path.to_string()))
}

/// The page's paragraphs (non-empty lines, trimmed), each with its line.
fn paragraphs(text: &str) -> Vec<(usize, &str)> {
    text.lines()
        .enumerate()
        .map(|(i, l)| (i + 1, l.trim()))
        .filter(|(_, l)| !l.is_empty() && !l.starts_with("<!--"))
        .collect()
}

fn is_bold(p: &str) -> bool {
    p.starts_with("**") && p.ends_with("**") && p.len() > 4
}

impl Reader<'_> {
    fn run(&mut self) -> Result<(), PageError> {
        while self.at < self.lines.len() {
            let (_, p) = self.lines[self.at];
            if p.starts_with('#') {
                self.heading(p);
                self.at += 1;
            } else if is_bold(p) && column_of(&plain(p)) == Some(Col::Name)
                || is_bold(p) && column_of(&plain(p)) == Some(Col::Category)
            {
                self.table()?;
            } else {
                if let Some((scope, _)) = self.tab {
                    if let Some(regions) = tab_line(p) {
                        self.tab = Some((scope, regions));
                        self.open.clear();
                    }
                }
                self.at += 1;
            }
        }
        Ok(())
    }

    fn heading(&mut self, p: &str) {
        let level = p.chars().take_while(|c| *c == '#').count();
        let text = plain(p.trim_start_matches('#'));
        self.open.clear();
        if let Some(region) = region_named(&text).filter(|_| level >= 4) {
            self.region = Some(region);
            self.subtab = None;
            return;
        }
        if let Some(date) = retirement_date(&text).filter(|_| self.in_retired) {
            // A retirement tab (`####` in 2026-09, `##` in 2026-05-27).
            self.retired = Some(Retired::On(date));
            return;
        }
        if let Some(scope) = scope_named(&text) {
            // A scope tab (2026-05-27): its regions follow in a line.
            self.tab = Some((scope, tab_regions(scope)));
            self.region = None;
            self.subtab = None;
            return;
        }
        match level {
            2 => {
                self.in_retired = text == "已下线模型";
                self.category = Some(text.clone());
                self.title = self.in_retired.then(|| text.clone());
                self.subtab = None;
                self.region = None;
                self.tab = None;
                self.retired = self.in_retired.then_some(Retired::Yes);
            }
            3 => {
                self.title = Some(text);
                self.subtab = None;
                self.region = None;
                self.tab = None;
            }
            _ => {
                if let Some(date) = retirement_date(&text) {
                    self.retired = Some(Retired::On(date));
                } else {
                    self.subtab = Some(text);
                }
            }
        }
    }

    /// The deployments a row of scope `scope` (its cell, or none) holds in.
    fn deployments(&self, line: usize, scope: Option<Scope>) -> Result<Vec<Deployment>, PageError> {
        if self.in_retired {
            return Ok(vec![Deployment::MAINLAND_CHINA]);
        }
        if let Some(region) = self.region {
            let scope = scope
                .or_else(|| own_scope(region))
                .ok_or_else(|| PageError {
                    line,
                    message: format!(
                        "a row of region `{}` without a scope, in a table with no scope column",
                        region.id()
                    ),
                })?;
            return Ok(vec![Deployment::new(region, scope)]);
        }
        if let Some((tab, regions)) = &self.tab {
            let scope = scope.unwrap_or(*tab);
            return Ok(regions.iter().map(|r| Deployment::new(*r, scope)).collect());
        }
        // A table under no region and no tab (2026-09's 音频生成): Beijing's.
        Ok(vec![Deployment::new(
            Region::Beijing,
            scope.unwrap_or(Scope::MainlandChina),
        )])
    }

    fn title(&self) -> String {
        let base = self
            .title
            .clone()
            .or_else(|| self.category.clone())
            .unwrap_or_else(|| "限流".to_string());
        match &self.subtab {
            Some(sub) => format!("{base} / {sub}"),
            None => base,
        }
    }

    /// Reads one table: its header, then its rows.
    fn table(&mut self) -> Result<(), PageError> {
        let mut table = Table::default();
        while let Some(&(_, p)) = self.lines.get(self.at) {
            if is_bold(p) {
                if let Some(col) = column_of(&plain(p)) {
                    if table.cols.contains(&Col::Name)
                        && !table.values().is_empty()
                        && matches!(col, Col::Name | Col::Category)
                    {
                        break;
                    }
                    table.cols.push(col);
                }
            } else if matches!(column_of(&plain(p)), Some(Col::Limit(_)))
                && matches!(token(p), Token::Text(_))
            {
                // A header cell without bold (`每分钟调用次数（RPM）`).
                if let Some(col) = column_of(&plain(p)) {
                    table.cols.push(col);
                }
            } else if let Some(note) = p.strip_prefix('>') {
                let note = plain(note.trim());
                if note.contains("仅输入") || note.contains("仅含输入") {
                    table.notes.push(format!("{note}。"));
                }
            } else {
                break;
            }
            self.at += 1;
        }
        // `模型名称` twice: the first spans a category column (2026-05-27).
        if table.cols.iter().filter(|c| **c == Col::Name).count() > 1 {
            if let Some(first) = table.cols.iter_mut().find(|c| **c == Col::Name) {
                *first = Col::Category;
            }
        }
        let nvalues = table.values().len();
        table.carried = vec![None; nvalues];
        let mut row: Option<Row> = None;
        while let Some(&(line, p)) = self.lines.get(self.at) {
            if p.starts_with('#') || is_bold(p) {
                break;
            }
            self.at += 1;
            let t = token(p);
            let has = |c: &Col| table.cols.contains(c);
            match t {
                Token::Id(id) => {
                    let is_replacement = has(&Col::Replacement)
                        && row.as_ref().is_some_and(|r| r.replacement.is_none())
                        && self.seen.contains(&id);
                    if is_replacement {
                        if let Some(r) = row.as_mut() {
                            r.replacement = Some(id);
                        }
                        continue;
                    }
                    if let Some(done) = row.take() {
                        self.finish(&mut table, done)?;
                    }
                    row = Some(Row {
                        line,
                        id,
                        ..Row::default()
                    });
                }
                // A category column's label (`文生图`) for the rows after it.
                Token::Text(_) if has(&Col::Category) && self.next_is_id() => {
                    if let Some(done) = row.take() {
                        self.finish(&mut table, done)?;
                    }
                }
                Token::Text(text)
                    if row.is_none()
                        || row.as_ref().is_some_and(|r| r.not_model)
                        || (self.next_is_value() && !text.contains(['。', '，', '：', '；'])) =>
                {
                    // A name that is no model id (a family, `Sambert系列模型`):
                    // kept out with its cells, and said. (A cell's second
                    // paragraph is a sentence, and no value follows it.)
                    if let Some(done) = row.take() {
                        self.finish(&mut table, done)?;
                    }
                    row = Some(Row {
                        line,
                        id: text,
                        not_model: true,
                        ..Row::default()
                    });
                }
                other => {
                    let Some(r) = row.as_mut() else {
                        if let Token::Note(n) = other {
                            table.notes.push(n);
                            continue;
                        }
                        return Err(PageError {
                            line,
                            message: format!(
                                "`{}`: a cell before the table's first model",
                                plain(p)
                            ),
                        });
                    };
                    match other {
                        Token::Alias(a) => r.aliases.push(a),
                        Token::Note(n) => match r.cells.last_mut() {
                            Some((_, notes)) => notes.push(n),
                            None => r.notes.push(n),
                        },
                        Token::Scope(s) if has(&Col::Scope) && r.scope.is_none() => {
                            r.scope = Some(s)
                        }
                        Token::Value(v) => r.cells.push((Cell::Value(v), Vec::new())),
                        Token::Dynamic => r.cells.push((Cell::Dynamic, Vec::new())),
                        Token::Empty => r.cells.push((Cell::Empty, Vec::new())),
                        Token::Text(text) if has(&Col::Replacement) && r.replacement.is_none() => {
                            r.replacement = Some(text)
                        }
                        // A scope word in a table without a scope column: text.
                        Token::Scope(_) => r.texts.push(plain(p)),
                        Token::Text(text) => r.texts.push(text),
                        Token::Id(_) => unreachable!("ids start rows"),
                    }
                }
            }
        }
        if let Some(done) = row.take() {
            self.finish(&mut table, done)?;
        }
        Ok(())
    }

    fn next_is_value(&self) -> bool {
        self.lines
            .get(self.at)
            .is_some_and(|(_, p)| matches!(token(p), Token::Value(_) | Token::Dynamic))
    }

    fn next_is_id(&self) -> bool {
        self.lines
            .get(self.at)
            .is_some_and(|(_, p)| matches!(token(p), Token::Id(_)))
    }

    /// A read row into the page: its values into columns (carrying what it
    /// leaves out), its limits, pools and notes.
    fn finish(&mut self, table: &mut Table, row: Row) -> Result<(), PageError> {
        if row.not_model {
            return self.kept_out(row);
        }
        let value_cols: Vec<Col> = table.values().into_iter().cloned().collect();
        let n = value_cols.len();
        let retired = self.in_retired;
        let line = row.line;
        let id = row.id.clone();
        // Cells to columns.
        let mut stated: Vec<Option<(Cell, Vec<String>)>> = vec![None; n];
        let mut judged: Vec<usize> = Vec::new();
        let cells = row.cells;
        if cells.len() > n {
            return Err(PageError {
                line,
                message: format!(
                    "`{id}` gives {} values where its table has {n} value columns",
                    cells.len()
                ),
            });
        }
        let rpm_tpm = |k: usize| {
            matches!(
                value_cols.get(k),
                Some(Col::Limit(Column::Limit(Kind::Rpm | Kind::Tpm)))
            )
        };
        if cells.len() == n {
            for (k, c) in cells.into_iter().enumerate() {
                stated[k] = Some(c);
            }
        } else if cells.len() == 1
            && matches!(cells[0].0, Cell::Dynamic)
            && (0..n).filter(|k| rpm_tpm(*k)).count() == 2
        {
            // `[动态限流]` alone spans both the RPM and the TPM column.
            for k in (0..n).filter(|k| rpm_tpm(*k)) {
                stated[k] = Some(cells[0].clone());
            }
        } else {
            let carried: Vec<Option<(Value, String)>> = table
                .carried
                .iter()
                .map(|c| c.as_ref().map(|s| (s.cell.magnitude(), s.id.clone())))
                .collect();
            let mut taken: Vec<Option<Value>> = vec![None; n];
            for c in cells {
                let (k, unsettled) = nearest_column(
                    &carried,
                    &c.0.magnitude(),
                    &mut taken,
                    line,
                    &id,
                    &mut self.page.warnings,
                );
                if unsettled {
                    judged.push(k);
                }
                taken[k] = Some(c.0.magnitude());
                stated[k] = Some(c);
            }
        }
        // Stated cells are carried on; missing ones come from above.
        let mut cells: Vec<Option<(Stated, bool)>> = Vec::with_capacity(n);
        for (k, s) in stated.into_iter().enumerate() {
            match s {
                Some((cell, notes)) => {
                    let s = Stated {
                        cell,
                        notes,
                        id: id.clone(),
                        line,
                    };
                    table.carried[k] = Some(s.clone());
                    cells.push(Some((s, false)));
                }
                None => match &table.carried[k] {
                    Some(s) => cells.push(Some((s.clone(), true))),
                    None if retired => cells.push(None),
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
            }
        }
        // The scope: its own cell, else the one above (a merged cell).
        let scope = match row.scope {
            Some(s) => {
                table.scope = Some(s);
                Some(s)
            }
            None if table.cols.contains(&Col::Scope) => table.scope,
            None => None,
        };
        if table.cols.contains(&Col::Replacement) {
            if let Some(r) = &row.replacement {
                table.replaced = Some(r.clone());
            }
        }
        let replacement = row.replacement.clone().or_else(|| {
            table
                .cols
                .contains(&Col::Replacement)
                .then(|| table.replaced.clone())
                .flatten()
        });
        let deployments = self.deployments(line, scope)?;
        self.seen.insert(id.clone());
        // Limits: own, and one pool per row that stated a shared cell.
        let mut own = Limits::default();
        let mut from: Vec<(Kind, String)> = Vec::new();
        let mut pools: Vec<Pooled> = Vec::new();
        let mut notes: Vec<String> = table.notes.clone();
        notes.extend(row.notes.iter().cloned());
        notes.extend(row.texts.iter().cloned());
        for (k, (col, cell)) in value_cols.iter().zip(&cells).enumerate() {
            let Some((s, carried)) = cell else { continue };
            if retired {
                continue;
            }
            let origin = carried.then(|| format!("{} (line {})", s.id, s.line));
            let shared = s
                .notes
                .iter()
                .find(|n| n.contains("共享") || n.contains("共用"));
            for n in &s.notes {
                if Some(n) != shared && !notes.contains(n) {
                    notes.push(n.clone());
                }
            }
            let (target, target_from): (&mut Limits, &mut Vec<(Kind, String)>) = match shared {
                Some(note) => {
                    let name = format!("{}-shared", s.id.replace('_', "-"));
                    let per = if note.contains("API Key") || note.contains("API-Key") {
                        Per::ApiKey
                    } else {
                        Per::Account
                    };
                    let i = match pools.iter().position(|p| p.name == name) {
                        Some(i) => i,
                        None => {
                            pools.push(Pooled {
                                name,
                                per,
                                limits: Limits::default(),
                                from: Vec::new(),
                            });
                            pools.len() - 1
                        }
                    };
                    let p = &mut pools[i];
                    if !notes.contains(note) {
                        notes.push(note.clone());
                    }
                    (&mut p.limits, &mut p.from)
                }
                None => (&mut own, &mut from),
            };
            match (col, &s.cell) {
                (Col::Note(label), Cell::Value(v)) => {
                    let text = format!(
                        "{label}: {}.",
                        v.number
                            .map_or("?".to_string(), |n| limits_format::group_digits(n, ','))
                    );
                    if !notes.contains(&text) {
                        notes.push(text);
                    }
                }
                (_, Cell::Dynamic) => {
                    target.dynamic = true;
                }
                (Col::Limit(column), Cell::Value(v)) => {
                    let kind = column.kind(v.per_minute);
                    let placed = v.place_in(kind, target, target_from, origin);
                    if let (Some(n), true) = (placed, judged.contains(&k)) {
                        notes.push(judged_note(n, kind, &format!(" (page line {line})")));
                    }
                    if let Some(note) = &v.note {
                        if !notes.contains(note) {
                            notes.push(note.clone());
                        }
                    }
                }
                _ => {}
            }
        }
        let note = (!notes.is_empty()).then(|| notes.join(" "));
        let (replaced_by, repl_note) = match &replacement {
            Some(r) if ident::check_id(r).is_ok() => (Some(r.clone()), None),
            Some(r) => (None, Some(format!("Replacement: {r}"))),
            None => (None, None),
        };
        let note = match (note, repl_note) {
            (Some(a), Some(b)) => Some(format!("{a} {b}")),
            (a, b) => a.or(b),
        };
        let mut out: Vec<PageRow> = Vec::new();
        if pools.is_empty() || !own.is_empty() || retired {
            out.push(PageRow {
                line,
                id: id.clone(),
                aliases: row.aliases.clone(),
                limits: own,
                from,
                note: note.clone(),
                pool: None,
                per: Per::Account,
                replaced_by: replaced_by.clone(),
            });
        }
        for p in pools {
            out.push(PageRow {
                line,
                id: id.clone(),
                aliases: row.aliases.clone(),
                limits: p.limits,
                from: p.from,
                note: note.clone(),
                pool: Some(p.name),
                per: p.per,
                replaced_by: replaced_by.clone(),
            });
        }
        for d in deployments {
            let s = self.section(d);
            for r in &out {
                let key = (d, r.id.clone(), r.pool.is_some());
                if let Some(&first) = self.listed.get(&key) {
                    self.page.warnings.push(PageError {
                        line,
                        message: format!(
                            "`{}` is listed a second time in `{d}` (first at line {first}); the file keeps the first row",
                            r.id
                        ),
                    });
                    let note = format!(
                        "The page lists `{}` again at line {line}: the file keeps its first row (line {first}).",
                        r.id
                    );
                    let section = &mut self.page.sections[s];
                    section.note = Some(match section.note.take() {
                        Some(n) => format!("{n} {note}"),
                        None => note,
                    });
                    continue;
                }
                self.listed.insert(key, line);
                self.page.sections[s].rows.push(r.clone());
            }
        }
        Ok(())
    }

    /// A row whose name is no model: a warning, and a note on the
    /// section (the file's source note when the section has no model).
    fn kept_out(&mut self, row: Row) -> Result<(), PageError> {
        let values: Vec<String> = row
            .cells
            .iter()
            .map(|(c, _)| match c {
                Cell::Value(v) => v.number.map_or_else(
                    || "同步接口无限制".to_string(),
                    |n| limits_format::group_digits(n, ','),
                ),
                Cell::Dynamic => "动态限流".to_string(),
                Cell::Empty => "—".to_string(),
            })
            .collect();
        self.page.warnings.push(PageError {
            line: row.line,
            message: format!(
                "`{}` is not a model id (a family or a label); kept out of the table, and said in the section's note",
                row.id
            ),
        });
        let note = format!(
            "The page also lists `{}` here (line {}, values {}), which names no model: the file keeps it out.",
            row.id,
            row.line,
            values.join(", ")
        );
        for d in self.deployments(row.line, row.scope)? {
            let s = self.section(d);
            let section = &mut self.page.sections[s];
            section.note = Some(match section.note.take() {
                Some(n) => format!("{n} {note}"),
                None => note.clone(),
            });
        }
        Ok(())
    }

    /// The section of the current heading in `d`, opened on first use.
    fn section(&mut self, d: Deployment) -> usize {
        if let Some(&i) = self.open.get(&d) {
            return i;
        }
        let title = match (&self.retired, self.in_retired) {
            (Some(Retired::On(date)), true) => format!("已下线模型 ({date})"),
            _ => self.title(),
        };
        let note = self.in_retired.then(|| {
            "The page gives retired models no region; they are read as Beijing's (Mainland China). Their limits on the page are 0.".to_string()
        });
        self.page.sections.push(PageSection {
            title,
            category: self.category.clone(),
            line: self.lines.get(self.at).map_or(0, |l| l.0),
            mode: Some(d),
            retired: if self.in_retired {
                self.retired.clone()
            } else {
                None
            },
            note,
            rows: Vec::new(),
        });
        let i = self.page.sections.len() - 1;
        self.open.insert(d, i);
        i
    }
}

/// The regions a `服务部署范围为[X](...)时，... 该部署范围支持的地域：A、B。`
/// line names.
fn tab_line(p: &str) -> Option<Vec<Region>> {
    let (_, rest) = p.split_once("该部署范围支持的地域：")?;
    let rest = rest.trim_end_matches('。');
    let regions: Vec<Region> = rest
        .split('、')
        .filter_map(|r| region_named(r.trim()))
        .collect();
    (!regions.is_empty()).then_some(regions)
}

/// `500万` as 5,000,000: the dynamic-limits page's tier cells.
fn wan(cell: &str) -> Option<u64> {
    let t = plain(cell);
    let n = t.strip_suffix('万')?;
    let n: u64 = n.trim().parse().ok()?;
    n.checked_mul(10_000)
}

/// The dynamic-limits page's tiers: per region and model, the TPM of each
/// spend tier (lowest first) and the page line.
pub type Tiers = HashMap<(Region, String), (Vec<u64>, usize)>;

/// The dynamic-limits page's tiers: per region and model, the TPM of each
/// spend tier, lowest first.
/// Each entry keeps the line of its model on that page.
pub fn read_tiers(text: &str) -> Result<Tiers, PageError> {
    let mut out = HashMap::new();
    let mut region = None;
    let mut model: Option<(String, usize)> = None;
    let mut tiers: Vec<u64> = Vec::new();
    let flush = |model: &mut Option<(String, usize)>,
                 tiers: &mut Vec<u64>,
                 region: Option<Region>,
                 out: &mut Tiers|
     -> Result<(), PageError> {
        if let (Some((id, line)), Some(region)) = (model.take(), region) {
            if tiers.is_empty() {
                return Err(PageError {
                    line,
                    message: format!("`{id}` has no tier on the dynamic-limits page"),
                });
            }
            out.insert((region, id), (std::mem::take(tiers), line));
        }
        Ok(())
    };
    for (line, p) in paragraphs(text) {
        if let Some(h) = p.strip_prefix("#### ") {
            flush(&mut model, &mut tiers, region, &mut out)?;
            region = region_named(h.trim());
            continue;
        }
        if p.starts_with('#') {
            continue;
        }
        if let Some(n) = wan(p) {
            if model.is_some() {
                tiers.push(n);
            }
            continue;
        }
        if is_bold(p) {
            let id = plain(p).replace("\\_", "_");
            if ident::check_id(&id).is_ok() && id.is_ascii() {
                flush(&mut model, &mut tiers, region, &mut out)?;
                model = Some((id, line));
            }
        }
    }
    flush(&mut model, &mut tiers, region, &mut out)?;
    if out.is_empty() {
        return Err(PageError {
            line: 1,
            message: "no tier table on the dynamic-limits page".into(),
        });
    }
    Ok(out)
}

/// Gives every dynamic row of `page` its tiers from `tiers` (by region and
/// id), warning (in `page`) where a row has tiers there but fixed limits
/// here, or is dynamic without tiers there; returns the warnings about the
/// dynamic-limits page itself (lines of that page): models it gives tiers
/// that the rate-limit page does not list in that region.
pub fn apply_tiers(page: &mut Page, tiers: &Tiers) -> Vec<PageError> {
    let mut used: HashSet<(Region, String)> = HashSet::new();
    let mut warnings = Vec::new();
    for s in &mut page.sections {
        let Some(d) = s.mode else { continue };
        for row in &mut s.rows {
            let key = (d.region, row.id.clone());
            match tiers.get(&key) {
                Some((t, _)) if row.limits.dynamic => {
                    row.limits.tpm_tiers = Some(t.clone());
                    used.insert(key);
                }
                Some(_) => {
                    used.insert(key);
                    warnings.push(PageError {
                        line: row.line,
                        message: format!(
                            "`{}` has tiers on the dynamic-limits page but fixed limits here in `{d}`: the rate-limit page's numbers are kept",
                            row.id
                        ),
                    });
                }
                None if row.limits.dynamic => warnings.push(PageError {
                    line: row.line,
                    message: format!(
                        "`{}` is dynamic in `{d}` and the dynamic-limits page gives it no tiers there",
                        row.id
                    ),
                }),
                None => {}
            }
        }
    }
    page.warnings.extend(warnings);
    let mut unused: Vec<(&(Region, String), usize)> = tiers
        .iter()
        .filter(|(k, _)| !used.contains(*k))
        .map(|(k, (_, line))| (k, *line))
        .collect();
    unused.sort();
    unused
        .into_iter()
        .map(|((region, id), line)| PageError {
            line,
            message: format!(
                "the dynamic-limits page gives `{id}` tiers in `{}`, where the rate-limit page does not list it: not imported",
                region.id()
            ),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A page of two region tabs in the 2026-09 shape.
    const PAGE: &str = "<!-- source: owner/repo@abc123 raw/rate-limit.md; tables only -->
# 限流

## 文本生成

### 语言模型

#### 华北2（北京）

**模型名称**

**限流条件（超出任一数值时触发限流）**

**每分钟调用次数（RPM）**

**每分钟消耗Token数（TPM）**

> **含输入与输出Token**

chat-max

[动态限流](raw/quota.md)

chat-omni

30,000

[动态限流](raw/quota.md)

chat-plus

600

1,000,000

chat-plus-2026-01-01

chat\\_old

60

#### 美国（弗吉尼亚）

**模型名称**

**服务部署范围**

**每分钟调用次数（RPM）**

**每分钟消耗Token数（TPM）**

chat-max

全球

30000

5,000,000

chat-plus

美国

600

1,000,000

### 视频

#### 华北2（北京）

**模型名称**

**每秒钟调用次数（RPS）**

**同时处理中任务数量（并发数）**

vendor/video-a

5

5

> 同一个阿里云百炼API Key 在 2 个模型间共享额度。

vendor/video-b

5

Family系列模型

20
";

    fn row<'p>(page: &'p Page, id: &str, d: Deployment, pooled: bool) -> &'p PageRow {
        page.sections
            .iter()
            .filter(|s| s.mode == Some(d))
            .flat_map(|s| &s.rows)
            .find(|r| r.id == id && r.pool.is_some() == pooled)
            .unwrap_or_else(|| panic!("{id} in {d}"))
    }

    #[test]
    fn the_flattened_form_reads_by_its_rules() {
        assert!(is_flat(PAGE));
        let page = read(PAGE).unwrap();
        let cn = Deployment::MAINLAND_CHINA;
        // `[动态限流]` alone spans RPM and TPM; after a number, TPM only.
        let max = row(&page, "chat-max", cn, false);
        assert!(max.limits.dynamic && max.limits.rpm.is_none() && max.limits.tpm.is_none());
        let omni = row(&page, "chat-omni", cn, false);
        assert_eq!((omni.limits.rpm, omni.limits.dynamic), (Some(30_000), true));
        // Merged cells: a row without values takes all from above, noted
        // with the row and its line; a lone value goes by its magnitude.
        let dated = row(&page, "chat-plus-2026-01-01", cn, false);
        assert_eq!(
            (dated.limits.rpm, dated.limits.tpm),
            (Some(600), Some(1_000_000))
        );
        let plus_line = PAGE.lines().position(|l| l == "chat-plus").unwrap() + 1;
        assert!(dated
            .from
            .iter()
            .all(|(_, o)| *o == format!("chat-plus (line {plus_line})")));
        let old = row(&page, "chat_old", cn, false);
        assert_eq!(
            (old.limits.rpm, old.limits.tpm),
            (Some(60), Some(1_000_000))
        );
        assert_eq!(
            old.from,
            [(Kind::Tpm, format!("chat-plus (line {plus_line})"))]
        );
        // A scope column: each row in its region and scope.
        let virginia = Deployment::GLOBAL;
        let global = row(&page, "chat-max", virginia, false);
        assert_eq!(global.limits.rpm, Some(30_000));
        row(&page, "chat-plus", Deployment::UNITED_STATES, false);
        // A shared cell's note: a pool per API key of the rows that share
        // it, beside each row's own limits.
        let a = row(&page, "vendor/video-a", cn, true);
        let b = row(&page, "vendor/video-b", cn, true);
        assert_eq!(a.pool, b.pool);
        assert_eq!((a.per, a.limits.concurrency), (Per::ApiKey, Some(5)));
        assert_eq!(row(&page, "vendor/video-b", cn, false).limits.rps, Some(5));
        // A family is kept out, and said.
        assert!(page
            .warnings
            .iter()
            .any(|w| w.message.contains("Family系列模型")));
        let video = page.sections.iter().find(|s| s.title == "视频").unwrap();
        assert!(video.note.as_deref().unwrap().contains("Family系列模型"));
        assert_eq!(
            page.copied_from,
            Some((
                "owner/repo".into(),
                "abc123".into(),
                "raw/rate-limit.md".into()
            ))
        );
    }

    #[test]
    fn scope_tabs_of_2026_05_hold_in_the_regions_their_line_names() {
        let page = "# 限流\n\n## **文本生成**\n\n### **语言模型**\n\n## **全球**\n\n\
服务部署范围为[全球](x)时，... 该部署范围支持的地域：美国（弗吉尼亚）、德国（法兰克福）。\n\n\
**模型名称**\n\n**每分钟调用次数（RPM）**\n\nchat-max\n\n600\n";
        let page = read(page).unwrap();
        let places: Vec<Deployment> = page.sections.iter().filter_map(|s| s.mode).collect();
        assert_eq!(
            places,
            [
                Deployment::GLOBAL,
                Deployment::new(Region::Frankfurt, Scope::Global)
            ]
        );
    }

    #[test]
    fn a_page_without_tables_or_with_a_cell_out_of_place_is_an_error() {
        let none = read("# 限流\n\n## 文本生成\n\n说明文字。\n").unwrap_err();
        assert!(none.message.contains("no table"), "{none}");
        let extra = PAGE.replace(
            "chat-plus\n\n600\n\n1,000,000",
            "chat-plus\n\n600\n\n1,000,000\n\n7",
        );
        let e = read(&extra).unwrap_err();
        assert!(e.message.contains("`chat-plus` gives 3 values"), "{e}");
    }

    #[test]
    fn tiers_are_read_per_region_lowest_first() {
        let text = "#### 华北2（北京）\n\n**支持的模型**\n\n**TPM 限流档位**\n\n**chat-max**\n\n500万\n\n1000万\n\n2000万\n\n\
#### 新加坡\n\n**chat-max**\n\n200万\n\n500万\n\n1000万\n";
        let tiers = read_tiers(text).unwrap();
        let cn = &tiers[&(Region::Beijing, "chat-max".to_string())];
        assert_eq!(cn.0, [5_000_000, 10_000_000, 20_000_000]);
        let sg = &tiers[&(Region::Singapore, "chat-max".to_string())];
        assert_eq!(sg.0[0], 2_000_000);
        let mut page = read(PAGE).unwrap();
        let off = apply_tiers(&mut page, &tiers);
        // Singapore's model is not on the rate-limit page: said.
        assert_eq!(off.len(), 1);
        let max = row(&page, "chat-max", Deployment::MAINLAND_CHINA, false);
        assert_eq!(max.limits.tpm_tiers.as_deref(), Some(&cn.0[..]));
        assert!(read_tiers("# 动态限流\n").is_err());
    }
}
