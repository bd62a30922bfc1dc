//! The cells and lines of the Chinese page's markdown, one reader each:
//! header cells to kinds, value cells (numbers, units, "synchronous calls
//! unlimited"), name cells (aliases, notes, markup), the mode and
//! retirement lines, and section ids from titles. `markdown.rs` reads the
//! page's tables with them.

use limits_format::{Deployment, Kind, Limits};

/// A kind of column in a table.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub(crate) enum Column {
    /// A limit of this kind.
    Limit(Kind),
    /// Task submissions, per second or per minute as the cell's unit says.
    Submit,
}

impl Column {
    /// The kind a value of this column is: a submission column's by the
    /// value's unit (`次/分钟`: per minute; else per second).
    pub(crate) fn kind(self, per_minute: Option<bool>) -> Kind {
        match (self, per_minute) {
            (Column::Limit(kind), _) => kind,
            (Column::Submit, Some(true)) => Kind::SubmitRpm,
            (Column::Submit, _) => Kind::SubmitRps,
        }
    }
}

/// The column a header cell names, if it names a limit; `Err` for a
/// header cell that is neither a limit nor a known structural one.
pub(crate) fn kind_of_header(cell: &str) -> Result<Option<Column>, ()> {
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
pub(crate) fn mode_named(text: &str) -> Option<Deployment> {
    match text {
        "中国内地" => Some(Deployment::MAINLAND_CHINA),
        "国际" => Some(Deployment::INTERNATIONAL),
        "全球" => Some(Deployment::GLOBAL),
        "美国" => Some(Deployment::UNITED_STATES),
        _ => None,
    }
}

/// The mode a `在 [X部署模式](...) 下` line names.
pub(crate) fn mode_line(line: &str) -> Option<Deployment> {
    let rest = line.strip_prefix("在 [")?;
    let name = rest.split("部署模式").next()?;
    mode_named(name)
}

/// `2026年1月30日下线` as `2026-01-30`.
pub(crate) fn retirement_date(line: &str) -> Option<String> {
    let rest = line.strip_suffix("下线")?;
    let (y, rest) = rest.split_once('年')?;
    let (m, rest) = rest.split_once('月')?;
    let d = rest.strip_suffix('日')?;
    let (y, m, d): (u32, u32, u32) = (y.parse().ok()?, m.parse().ok()?, d.parse().ok()?);
    Some(format!("{y:04}-{m:02}-{d:02}"))
}

/// Markdown markup out of a cell: bold, links (their text kept).
pub(crate) fn plain(cell: &str) -> String {
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
pub(crate) fn parts(cell: &str) -> Vec<String> {
    cell.split("<br>")
        .map(|p| p.trim().to_string())
        .filter(|p| !p.is_empty())
        .collect()
}

/// What a value cell says.
#[derive(Clone, Debug, Default, PartialEq)]
pub(crate) struct Value {
    pub number: Option<u64>,
    /// `次/分钟` (true) or `次/秒` (false), when the cell has a unit.
    pub per_minute: Option<bool>,
    pub sync_unlimited: bool,
    pub note: Option<String>,
}

impl Value {
    /// Puts the value in `limits` as `kind`: its number (and, for a value
    /// carried from a row above, that row in `from`) and whether it says
    /// synchronous calls are unlimited. The number placed, if any.
    pub(crate) fn place_in(
        &self,
        kind: Kind,
        limits: &mut Limits,
        from: &mut Vec<(Kind, String)>,
        origin: Option<String>,
    ) -> Option<u64> {
        if self.sync_unlimited {
            limits.sync_unlimited = true;
        }
        let n = self.number.filter(|n| *n > 0)?;
        limits.set(kind, n);
        if let Some(origin) = origin {
            from.push((kind, origin));
        }
        Some(n)
    }
}

/// The note on a lone number `n` read as `kind` by the import's rule, its
/// size not settling its column (`at`: where on the page, or empty).
pub(crate) fn judged_note(n: u64, kind: Kind, at: &str) -> String {
    format!(
        "The row's lone number {} is read as `{}` by the import's rule{at}: its size does not settle its column.",
        limits_format::group_digits(n, ','),
        kind.key()
    )
}

/// A value cell (`30,000`, `2 次/秒`, `同步接口无限制 / 异步接口 2`, `1<br>note`),
/// or `None` for a cell that is text.
pub(crate) fn value_cell(cell: &str) -> Option<Value> {
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
    } else {
        // Text after the number that is no unit (`1算力单元支持2并发`):
        // the whole cell is kept as a note.
        let rest = first.trim_start_matches(|c: char| c.is_ascii_digit() || c == ',');
        if !rest.trim().is_empty() {
            value.note = Some(match value.note.take() {
                Some(n) => format!("{first} {n}"),
                None => first.clone(),
            });
        }
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
pub(crate) fn name_cell(cell: &str) -> (String, Vec<String>, Option<String>) {
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

/// The cells of a table line.
pub(crate) fn cells(line: &str) -> Vec<String> {
    let inner = line.trim().trim_start_matches('|');
    let inner = inner.strip_suffix('|').unwrap_or(inner);
    inner.split('|').map(|c| c.trim().to_string()).collect()
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
