//! Findings about a limits file: stable codes, located labels, and rendering
//! through annotate-snippets (the renderer cargo and rustc use).

use std::fmt;
use std::ops::Range;

use annotate_snippets::{AnnotationKind, Group, Level, Renderer, Snippet};

/// A stable code naming one kind of finding.
///
/// The codes never change meaning; new ones are added at the end.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[non_exhaustive]
pub enum Code {
    /// E001: the file is not valid TOML.
    Syntax,
    /// E002: a key the format does not define.
    UnknownKey,
    /// E003: a required key is missing.
    MissingKey,
    /// E004: a value has the wrong type.
    WrongType,
    /// E005: an integer outside `1..=4294967295`.
    OutOfRange,
    /// E006: a `schema` version this tool does not read.
    UnsupportedSchema,
    /// E007: a model id, alias or section id breaks the id syntax.
    InvalidId,
    /// E008: a model id or alias defined twice.
    DuplicateModel,
    /// E009: a section id defined twice.
    DuplicateSection,
    /// E010: a group with an empty `models` list.
    EmptyModels,
    /// E011: a section without any group.
    EmptySection,
    /// E012: a file without any section.
    NoSections,
    /// E013: two models (or two sections) with one Rust name.
    RustNameCollision,
    /// E014: a Rust name that is a Rust keyword.
    RustNameKeyword,
    /// E015: a `rust_name` that is not an UpperCamelCase Rust identifier.
    InvalidRustName,
    /// E016: a required text that is empty or blank.
    EmptyText,
    /// E017: the file is not valid UTF-8.
    NotUtf8,
    /// E018: a `mode` that is no deployment mode.
    UnknownMode,
    /// E019: a group without any kind of limit (and not retired).
    NoLimits,
    /// E020: one model id in two groups (or two pools) of one mode.
    DuplicateInMode,
    /// E021: a `replaced_by` that names no model of the file.
    UnknownReplacement,
    /// E022: one pool name on two groups of one mode.
    DuplicatePool,
    /// E023: `tpm_tiers` empty, falling, or beside a fixed `tpm`, or
    /// `dynamic = false` beside tiers.
    BadTiers,
    /// E024: `per` that is not `account` or `api-key`, or on a group that is
    /// no pool.
    BadPer,
    /// W001 (warning): a group whose tpm is lower than its qpm.
    TpmBelowQpm,
    /// W002 (warning): two adjacent groups of one section with equal limits.
    AdjacentEqualGroups,
}

impl Code {
    /// Every code, in order.
    pub const ALL: &'static [Code] = &[
        Code::Syntax,
        Code::UnknownKey,
        Code::MissingKey,
        Code::WrongType,
        Code::OutOfRange,
        Code::UnsupportedSchema,
        Code::InvalidId,
        Code::DuplicateModel,
        Code::DuplicateSection,
        Code::EmptyModels,
        Code::EmptySection,
        Code::NoSections,
        Code::RustNameCollision,
        Code::RustNameKeyword,
        Code::InvalidRustName,
        Code::EmptyText,
        Code::NotUtf8,
        Code::UnknownMode,
        Code::NoLimits,
        Code::DuplicateInMode,
        Code::UnknownReplacement,
        Code::DuplicatePool,
        Code::BadTiers,
        Code::BadPer,
        Code::TpmBelowQpm,
        Code::AdjacentEqualGroups,
    ];

    /// The code as printed, e.g. `E003`.
    pub fn as_str(self) -> &'static str {
        match self {
            Code::Syntax => "E001",
            Code::UnknownKey => "E002",
            Code::MissingKey => "E003",
            Code::WrongType => "E004",
            Code::OutOfRange => "E005",
            Code::UnsupportedSchema => "E006",
            Code::InvalidId => "E007",
            Code::DuplicateModel => "E008",
            Code::DuplicateSection => "E009",
            Code::EmptyModels => "E010",
            Code::EmptySection => "E011",
            Code::NoSections => "E012",
            Code::RustNameCollision => "E013",
            Code::RustNameKeyword => "E014",
            Code::InvalidRustName => "E015",
            Code::EmptyText => "E016",
            Code::NotUtf8 => "E017",
            Code::UnknownMode => "E018",
            Code::NoLimits => "E019",
            Code::DuplicateInMode => "E020",
            Code::UnknownReplacement => "E021",
            Code::DuplicatePool => "E022",
            Code::BadTiers => "E023",
            Code::BadPer => "E024",
            Code::TpmBelowQpm => "W001",
            Code::AdjacentEqualGroups => "W002",
        }
    }

    /// One sentence saying what the code means and how to fix it.
    pub fn explanation(self) -> &'static str {
        match self {
            Code::Syntax => "The file is not valid TOML; fix the syntax at the marked place.",
            Code::UnknownKey => {
                "A key the format does not define (often a typo); the message lists the keys expected there."
            }
            Code::MissingKey => "A required key is missing from the marked table.",
            Code::WrongType => "A value has the wrong TOML type (for example a string where an integer belongs).",
            Code::OutOfRange => {
                "Limits and `schema` are whole numbers from 1: at most 4294967295, `tpm` at most 9223372036854775807 (no zero, negatives or floats)."
            }
            Code::UnsupportedSchema => "`schema` must be 2 (or 1, the format before deployment modes), the versions this tool reads.",
            Code::InvalidId => concat!(
                "Ids (models, aliases, sections, pools): ASCII letters (case-sensitive), digits, `-`, `/`, `_` and `.`; ",
                "start with a letter; `-`, `/` and `_` separate non-empty segments; `.` only between two digits; ",
                "at most 64 characters."
            ),
            Code::DuplicateModel => {
                "Every model id and alias names exactly one model across the whole file."
            }
            Code::DuplicateSection => "Every section id is unique.",
            Code::EmptyModels => "A group lists at least one model.",
            Code::EmptySection => "A section has at least one `[[section.group]]`.",
            Code::NoSections => "A limits file has at least one `[[section]]`.",
            Code::RustNameCollision => {
                "Two ids map to the same Rust name; rename one or give it a `rust_name`."
            }
            Code::RustNameKeyword => "The Rust name is a keyword; give the model a `rust_name`.",
            Code::InvalidRustName => {
                "`rust_name` must be an UpperCamelCase ASCII identifier (`_` only between digits)."
            }
            Code::EmptyText => "A required text (provider, url, title) is empty.",
            Code::NotUtf8 => "The file must be UTF-8 text.",
            Code::UnknownMode => {
                "A section's `mode` (schema 2) is one of `cn`, `intl`, `global`, `us`; its `region` (schema 3) one of `cn-beijing`, `ap-southeast-1`, `us-east-1`, `eu-central-1`, `ap-northeast-1`, `cn-hongkong`, and its `scope` one of `cn`, `intl`, `global`, `us`, `eu`, `jp`, `hk`."
            }
            Code::NoLimits => {
                "A group holds at least one kind of limit (`rpm`, `tpm`, `rps`, `submit_rps`, `submit_rpm`, `query_rps`, `concurrency`), unless it is retired."
            }
            Code::DuplicateInMode => {
                "A model has one row of limits per deployment mode (and takes part in at most one pool per mode)."
            }
            Code::UnknownReplacement => "`replaced_by` names a model id of the file.",
            Code::DuplicatePool => "A pool's name is on one group per deployment mode.",
            Code::BadTiers => {
                "A dynamic limit's `tpm_tiers` lists the TPM of each spend tier (at most 4), lowest tier first, none lower than the one before, in place of `tpm`."
            }
            Code::BadPer => "`per` is `account` or `api-key`, on a pool's group only.",
            Code::TpmBelowQpm => {
                "A warning: a tokens-per-minute limit below the queries-per-minute limit is likely two swapped numbers."
            }
            Code::AdjacentEqualGroups => {
                "A warning: adjacent groups with equal limits are likely a mistranscribed merged cell; merge them or check the source."
            }
        }
    }
}

impl fmt::Display for Code {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// How serious a finding is.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub enum Severity {
    /// The file is rejected.
    Error,
    /// The file is accepted, but probably not what was meant.
    Warning,
}

/// A message attached to a byte range of the input.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Label {
    /// Byte range in the input text.
    pub span: Range<usize>,
    /// What the range shows; may be empty.
    pub message: String,
}

/// One finding: a code, a message, the place it is about and other places
/// that explain it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Diagnostic {
    /// The stable code.
    pub code: Code,
    /// Error or warning.
    pub severity: Severity,
    /// The headline.
    pub message: String,
    /// The offending key or value.
    pub primary: Label,
    /// Other places that matter, e.g. "first defined here".
    pub secondary: Vec<Label>,
    /// A hint on how to fix it.
    pub help: Option<String>,
}

impl Diagnostic {
    /// An error with `code` and `message` about `span`, labelled `label`.
    pub fn error(
        code: Code,
        message: impl Into<String>,
        span: Range<usize>,
        label: impl Into<String>,
    ) -> Self {
        Diagnostic {
            code,
            severity: Severity::Error,
            message: message.into(),
            primary: Label {
                span,
                message: label.into(),
            },
            secondary: Vec::new(),
            help: None,
        }
    }

    /// A warning with `code` and `message` about `span`, labelled `label`.
    pub fn warning(
        code: Code,
        message: impl Into<String>,
        span: Range<usize>,
        label: impl Into<String>,
    ) -> Self {
        Diagnostic {
            severity: Severity::Warning,
            ..Self::error(code, message, span, label)
        }
    }

    /// Adds a second place that explains this finding.
    pub fn with_secondary(mut self, span: Range<usize>, label: impl Into<String>) -> Self {
        self.secondary.push(Label {
            span,
            message: label.into(),
        });
        self
    }

    /// Adds a hint.
    pub fn with_help(mut self, help: impl Into<String>) -> Self {
        self.help = Some(help.into());
        self
    }

    /// The finding as annotate-snippets' group, over only the lines its
    /// labels touch: the renderer's cost is per line shown, not per file.
    fn group<'a>(&'a self, origin: &'a str, source: &'a str, lines: &LineIndex) -> Group<'a> {
        let level = match self.severity {
            Severity::Error => Level::ERROR,
            Severity::Warning => Level::WARNING,
        };
        let spans: Vec<Range<usize>> = std::iter::once(&self.primary)
            .chain(&self.secondary)
            .map(|l| clamp_span(source, &l.span))
            .collect();
        let first = spans.iter().map(|s| s.start).min().unwrap_or(0);
        let last = spans.iter().map(|s| s.end).max().unwrap_or(0);
        // The renderer puts the end of a text that ends with a line break
        // on the last line, not on an empty line after it.
        let at_end_after_break = first == source.len() && source.ends_with('\n');
        let (from_line, from) = lines.line_start_of(first - usize::from(at_end_after_break));
        let to = lines.line_end_of(last, source.len());
        let excerpt = &source[from..to];
        let local = |span: &Range<usize>| span.start - from..span.end - from;
        let mut snippet = Snippet::source(excerpt)
            .line_start(from_line)
            .path(origin)
            .annotation(
                AnnotationKind::Primary
                    .span(local(&spans[0]))
                    .label(non_empty(&self.primary.message)),
            );
        for (label, span) in self.secondary.iter().zip(&spans[1..]) {
            snippet = snippet.annotation(
                AnnotationKind::Context
                    .span(local(span))
                    .label(non_empty(&label.message)),
            );
        }
        let mut group = level
            .primary_title(self.message.as_str())
            .id(self.code.as_str())
            .element(snippet);
        if let Some(help) = &self.help {
            group = group.element(Level::HELP.message(help.as_str()));
        }
        group
    }
}

fn non_empty(s: &str) -> Option<&str> {
    (!s.is_empty()).then_some(s)
}

/// Keeps a span inside the text and on char boundaries, so rendering never
/// panics whatever a caller passes in.
fn clamp_span(source: &str, span: &Range<usize>) -> Range<usize> {
    let mut start = span.start.min(source.len());
    while !source.is_char_boundary(start) {
        start -= 1;
    }
    let mut end = span.end.clamp(start, source.len());
    while !source.is_char_boundary(end) {
        end += 1;
    }
    start..end
}

/// A span as lines and columns (1-based; columns count characters).
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct Location {
    /// Line of the span's start.
    pub line: usize,
    /// Column of the span's start.
    pub column: usize,
    /// Line of the span's end.
    pub end_line: usize,
    /// Column of the span's end (exclusive).
    pub end_column: usize,
}

impl Location {
    /// Where `span` is in `source` (clamped to the text and to char
    /// boundaries, like rendering). Scans the text; for many spans of one
    /// text, build a [`LineIndex`] once.
    pub fn of(source: &str, span: &Range<usize>) -> Location {
        LineIndex::new(source).location(source, span)
    }
}

/// Where every line of a text starts: built once per text, so each
/// location after it costs a binary search and the characters of one line.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LineIndex {
    /// Byte offset of the start of each line; the first is 0.
    starts: Vec<usize>,
}

impl LineIndex {
    /// Indexes the lines of `source`.
    pub fn new(source: &str) -> LineIndex {
        let mut starts = vec![0];
        starts.extend(memchr_lines(source.as_bytes()));
        LineIndex { starts }
    }

    /// Where `span` is in `source`, the text this index was built from
    /// (clamped to the text and to char boundaries, like rendering).
    pub fn location(&self, source: &str, span: &Range<usize>) -> Location {
        let span = clamp_span(source, span);
        let (line, column) = self.line_col(source, span.start);
        let (end_line, end_column) = self.line_col(source, span.end);
        Location {
            line,
            column,
            end_line,
            end_column,
        }
    }

    /// 1-based line and character column of a byte offset on a char
    /// boundary.
    fn line_col(&self, source: &str, offset: usize) -> (usize, usize) {
        let (line, start) = self.line_start_of(offset);
        (line, source[start..offset].chars().count() + 1)
    }

    /// The 1-based line holding byte `offset`, and where that line starts.
    fn line_start_of(&self, offset: usize) -> (usize, usize) {
        let i = self.starts.partition_point(|&s| s <= offset) - 1;
        (i + 1, self.starts[i])
    }

    /// The end of the line holding byte `offset`, its line break included
    /// (or the text's end).
    fn line_end_of(&self, offset: usize, len: usize) -> usize {
        let i = self.starts.partition_point(|&s| s <= offset);
        self.starts.get(i).copied().unwrap_or(len)
    }
}

/// The offset after every `\n`.
fn memchr_lines(bytes: &[u8]) -> impl Iterator<Item = usize> + '_ {
    bytes
        .iter()
        .enumerate()
        .filter(|&(_, &b)| b == b'\n')
        .map(|(i, _)| i + 1)
}

/// How [`Diagnostics::render`] writes findings.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub enum Colors {
    /// Plain text, for files, pipes and snapshots.
    Plain,
    /// With ANSI colours, for a terminal.
    Ansi,
}

/// Every finding of one input, sorted by position.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Diagnostics {
    items: Vec<Diagnostic>,
}

impl Diagnostics {
    /// An empty collection.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds a finding.
    pub fn push(&mut self, diagnostic: Diagnostic) {
        self.items.push(diagnostic);
    }

    /// The findings, in order of position in the file.
    pub fn iter(&self) -> std::slice::Iter<'_, Diagnostic> {
        self.items.iter()
    }

    /// How many findings there are.
    pub fn len(&self) -> usize {
        self.items.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }

    /// Whether any finding is an error.
    pub fn has_errors(&self) -> bool {
        self.items.iter().any(|d| d.severity == Severity::Error)
    }

    /// Moves every label at the very end of a text that ends with a line
    /// break onto that break, so that each format (the rendered
    /// `--> file:line:col`, JSON, GitHub annotations) states one location
    /// for it: the last line, just past its last character. (The renderer
    /// puts such a span on the last line; a line index would say the line
    /// after it.)
    pub(crate) fn settle_end_of_text(&mut self, source: &str) {
        if !source.ends_with('\n') {
            return;
        }
        let end = source.len();
        let at = end - 1 - usize::from(source.ends_with("\r\n"));
        for d in &mut self.items {
            for label in std::iter::once(&mut d.primary).chain(&mut d.secondary) {
                if label.span.start >= end {
                    label.span = at..at;
                } else if label.span.end > end {
                    label.span.end = end;
                }
            }
        }
    }

    /// Orders the findings by where they are, then by code.
    pub(crate) fn sort(&mut self) {
        self.items
            .sort_by_key(|d| (d.primary.span.start, d.primary.span.end, d.code));
    }

    /// Renders every finding rustc-style (`--> file:line:col`, the source
    /// line, a caret), followed by a one-line count. `origin` is the file
    /// name shown; `source` must be the text the spans point into.
    pub fn render(&self, origin: &str, source: &str, colors: Colors) -> String {
        let renderer = match colors {
            Colors::Ansi => Renderer::styled(),
            Colors::Plain => Renderer::plain(),
        };
        let lines = LineIndex::new(source);
        let mut out = String::new();
        for diagnostic in &self.items {
            out.push_str(&renderer.render(&[diagnostic.group(origin, source, &lines)]));
            out.push_str("\n\n");
        }
        let errors = self
            .items
            .iter()
            .filter(|d| d.severity == Severity::Error)
            .count();
        let warnings = self.items.len() - errors;
        out.push_str(&summary_line(origin, errors, warnings));
        out.push('\n');
        out
    }
}

fn summary_line(origin: &str, errors: usize, warnings: usize) -> String {
    let plural = |n: usize, word: &str| {
        if n == 1 {
            format!("1 {word}")
        } else {
            format!("{n} {word}s")
        }
    };
    match (errors, warnings) {
        (0, w) => format!("{origin}: {}", plural(w, "warning")),
        (e, 0) => format!("{origin}: {}", plural(e, "error")),
        (e, w) => format!("{origin}: {}, {}", plural(e, "error"), plural(w, "warning")),
    }
}

impl From<Diagnostic> for Diagnostics {
    fn from(diagnostic: Diagnostic) -> Self {
        Diagnostics {
            items: vec![diagnostic],
        }
    }
}

impl Extend<Diagnostic> for Diagnostics {
    fn extend<T: IntoIterator<Item = Diagnostic>>(&mut self, iter: T) {
        self.items.extend(iter);
    }
}

impl<'a> IntoIterator for &'a Diagnostics {
    type Item = &'a Diagnostic;
    type IntoIter = std::slice::Iter<'a, Diagnostic>;
    fn into_iter(self) -> Self::IntoIter {
        self.items.iter()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// A finding rendered against the whole text, as before excerpts.
    fn render_whole(d: &Diagnostic, source: &str) -> String {
        let clamp = |r: &Range<usize>| clamp_span(source, r);
        let mut snippet = Snippet::source(source).path("t.toml").annotation(
            AnnotationKind::Primary
                .span(clamp(&d.primary.span))
                .label(non_empty(&d.primary.message)),
        );
        for label in &d.secondary {
            snippet = snippet.annotation(
                AnnotationKind::Context
                    .span(clamp(&label.span))
                    .label(non_empty(&label.message)),
            );
        }
        let group = Level::ERROR
            .primary_title(d.message.as_str())
            .id(d.code.as_str())
            .element(snippet);
        Renderer::plain().render(&[group])
    }

    /// A rendering with the spaces that pad the line-number gutter removed.
    fn gutterless(rendered: &str) -> String {
        rendered
            .lines()
            .map(|line| match line.find(['|', '-']) {
                Some(at) if line[..at].trim().chars().all(|c| c.is_ascii_digit()) => {
                    format!("{}{}", line[..at].trim(), &line[at..])
                }
                _ => line.to_string(),
            })
            .collect::<Vec<_>>()
            .join("\n")
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(
            std::env::var("EXCERPT_CASES").ok().and_then(|n| n.parse().ok()).unwrap_or(2_000)
        ))]

        /// Rendering the lines a finding shows gives what rendering the
        /// whole text gives, wherever its labels point.
        #[test]
        fn an_excerpt_renders_as_the_whole_text(
            lines in prop::collection::vec("[a-z é=\"\\[\\]]{0,12}(\r)?", 1..40),
            spans in prop::collection::vec((0usize..600, 0usize..8), 1..4),
        ) {
            let source = lines.join("\n");
            let mut spans = spans.into_iter().map(|(start, len)| start..start + len);
            let mut d = Diagnostic::error(Code::Syntax, "m", spans.next().unwrap(), "here");
            for (i, span) in spans.enumerate() {
                d = d.with_secondary(span, if i == 0 { "" } else { "there" });
            }
            let index = LineIndex::new(&source);
            let excerpt = Renderer::plain().render(&[d.group("t.toml", &source, &index)]);
            let whole = render_whole(&d, &source);
            if source.contains('\r') {
                // Over a whole text with carriage returns, annotate-snippets
                // may size the line-number gutter one digit short ("10| =");
                // the excerpt's gutter fits its numbers. Compare the rest.
                prop_assert_eq!(gutterless(&excerpt), gutterless(&whole));
            } else {
                prop_assert_eq!(excerpt, whole);
            }
        }

        #[test]
        fn the_index_locates_as_a_scan_does(
            source in "[a-z\n é]{0,200}",
            at in 0usize..220,
        ) {
            let index = LineIndex::new(&source);
            let span = clamp_span(&source, &(at..at));
            let before = &source[..span.start];
            let line = before.matches('\n').count() + 1;
            let column = before[before.rfind('\n').map_or(0, |i| i + 1)..].chars().count() + 1;
            let found = index.location(&source, &span);
            prop_assert_eq!((found.line, found.column), (line, column));
        }
    }

    #[test]
    fn the_explanation_of_e007_states_the_id_syntax() {
        assert!(Code::InvalidId
            .explanation()
            .contains(crate::ident::ID_SYNTAX));
    }

    #[test]
    fn codes_are_distinct_and_numbered_in_order() {
        let (errors, warnings): (Vec<Code>, Vec<Code>) =
            Code::ALL.iter().partition(|c| c.as_str().starts_with('E'));
        for (i, code) in errors.iter().enumerate() {
            assert_eq!(code.as_str(), format!("E{:03}", i + 1));
        }
        for (i, code) in warnings.iter().enumerate() {
            assert_eq!(code.as_str(), format!("W{:03}", i + 1));
        }
        assert!(Code::ALL.iter().all(|c| !c.explanation().is_empty()));
    }

    #[test]
    fn locations_count_lines_and_characters() {
        let src = "ab\néx = 1\n";
        assert_eq!(
            Location::of(src, &(5..7)),
            Location {
                line: 2,
                column: 2,
                end_line: 2,
                end_column: 4
            }
        );
        assert_eq!(Location::of(src, &(0..0)).line, 1);
        assert_eq!(Location::of(src, &(100..200)).line, 3);
    }

    #[test]
    fn clamp_keeps_spans_on_char_boundaries() {
        let s = "aé";
        assert_eq!(clamp_span(s, &(2..2)), 1..3);
        assert_eq!(clamp_span(s, &(0..2)), 0..3);
        assert_eq!(clamp_span(s, &(9..12)), 3..3);
    }

    #[test]
    fn render_names_file_line_and_column() {
        let src = "a = 1\nbad = 2\n";
        let d = Diagnostic::error(Code::UnknownKey, "unknown key `bad`", 6..9, "here");
        let out = Diagnostics::from(d).render("x.toml", src, Colors::Plain);
        assert!(out.contains("error[E002]: unknown key `bad`"), "{out}");
        assert!(out.contains("x.toml:2:1"), "{out}");
        assert!(out.ends_with("x.toml: 1 error\n"), "{out}");
    }
}
