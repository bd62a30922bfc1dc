//! Stage 1: TOML text to a spanned document.
//!
//! toml's `DeTable` keeps the byte span of every key and value. This stage
//! walks it and checks the shape of the file: syntax, known and required
//! keys, value types and integer ranges. It reports every finding instead of
//! stopping at the first (serde's derive would stop at the first), and
//! hands the validator a [`Doc`] whose values each carry their span.

use std::ops::Range;

use serde_spanned::Spanned;
use toml::de::{DeTable, DeValue};

use crate::diagnostic::{Code, Diagnostic, Diagnostics};
use crate::ir::Kind;

pub(crate) type Span = Range<usize>;

/// A value and the span of its text in the input.
#[derive(Clone, Debug)]
pub(crate) struct Sp<T> {
    pub value: T,
    pub span: Span,
}

/// The whole file, shape-checked. Missing or ill-typed values are `None`
/// (and were reported).
#[derive(Debug)]
pub(crate) struct Doc {
    pub schema: Option<Sp<u32>>,
    pub source: Option<SourceDoc>,
    /// The `section` key's span, if the key is present.
    pub sections_key: Option<Span>,
    /// `None` when `section` is not an array (reported); empty when the key
    /// is missing.
    pub sections: Option<Vec<SectionDoc>>,
}

#[derive(Debug)]
pub(crate) struct SourceDoc {
    pub provider: Option<Sp<String>>,
    pub url: Option<Sp<String>>,
    pub region: Option<Sp<String>>,
    pub retrieved: Option<Sp<String>>,
    pub note: Option<Sp<String>>,
}

#[derive(Debug)]
pub(crate) struct SectionDoc {
    /// The `[[section]]` header (or inline table).
    pub span: Span,
    pub id: Option<Sp<String>>,
    /// The deployment mode's id, as written (schema 2).
    pub mode: Option<Sp<String>>,
    /// The region's id, as written (schema 3).
    pub region: Option<Sp<String>>,
    /// The scope's id, as written (schema 3).
    pub scope: Option<Sp<String>>,
    pub title: Option<Sp<String>>,
    pub category: Option<Sp<String>>,
    pub note: Option<Sp<String>>,
    /// `None` when `group` is not an array (reported); empty when missing.
    pub groups: Option<Vec<GroupDoc>>,
}

#[derive(Debug)]
pub(crate) struct GroupDoc {
    /// The `[[section.group]]` header (or inline table).
    pub span: Span,
    /// The kinds of limit present and valid, in key order (schema 1's
    /// `qpm` is `rpm`).
    pub kinds: Vec<(Kind, Sp<u64>)>,
    /// Whether any kind's key is written, valid or not.
    pub any_kind_key: bool,
    pub sync_unlimited: Option<Sp<bool>>,
    /// `dynamic = true` (schema 3).
    pub dynamic: Option<Sp<bool>>,
    /// A dynamic limit's TPM per tier (schema 3).
    pub tpm_tiers: Option<Sp<Vec<Sp<u64>>>>,
    pub pool: Option<Sp<String>>,
    /// Who shares the pool, as written (schema 3).
    pub per: Option<Sp<String>>,
    pub retired: Option<Sp<RetiredDoc>>,
    pub note: Option<Sp<String>>,
    /// The `models` array (its span covers the brackets).
    pub models: Option<Sp<Vec<ModelDoc>>>,
}

#[derive(Debug)]
pub(crate) struct ModelDoc {
    pub id: Option<Sp<String>>,
    pub aliases: Vec<Sp<String>>,
    pub rust_name: Option<Sp<String>>,
    /// Why the model is deprecated, if it is.
    pub deprecated: Option<Sp<String>>,
    pub replaced_by: Option<Sp<String>>,
}

/// `retired = true` or `retired = YYYY-MM-DD`.
#[derive(Debug)]
pub(crate) enum RetiredDoc {
    Yes,
    On(String),
}

/// The keys one schema version allows.
#[derive(Copy, Clone)]
struct Shape {
    v1: bool,
    /// Schema 3: regions and scopes, dynamic limits, `per`.
    v3: bool,
}

/// Parses `input` and checks its shape. Syntax errors stop here (`None`): a
/// file that is not TOML yields only its syntax errors (every one toml
/// recovers), as findings about a half-read file would mislead.
pub(crate) fn parse(input: &str, diags: &mut Diagnostics) -> Option<Doc> {
    let (root, errors) = DeTable::parse_recoverable(input);
    if !errors.is_empty() {
        for error in errors {
            let span = error.span().unwrap_or(0..0);
            diags.push(Diagnostic::error(
                Code::Syntax,
                format!("invalid TOML: {}", error.message().trim_end()),
                span,
                "",
            ));
        }
        return None;
    }
    let span = root.span();
    let fields = Fields::new(root.get_ref(), span, "the top level", keys::ROOT, diags);
    let schema = fields.required(diags, "schema", |v, diags| {
        let n = integer(v, u64::from(u32::MAX), diags)?;
        Some(Sp {
            value: u32::try_from(n.value).unwrap_or(u32::MAX),
            span: n.span,
        })
    });
    // A file whose `schema` is missing or not a number (reported) is read
    // by the shape its sections have: with `region`, schema 3's keys; with
    // `mode`, schema 2's.
    let shape = match &schema {
        Some(s) => Shape {
            v1: s.value == 1,
            v3: s.value >= 3,
        },
        None => Shape {
            v1: !has_key(fields.table, "mode") && !has_key(fields.table, "region"),
            v3: has_key(fields.table, "region"),
        },
    };
    let source = fields.required(diags, "source", |v, diags| {
        let (table, span) = expect_table(v, "the `[source]` table", diags)?;
        Some(source_doc(table, span, diags))
    });
    let sections_key = fields.key_span("section");
    // A version this crate does not read says nothing of the keys its
    // sections may have: only the version is reported.
    let unsupported = schema
        .as_ref()
        .is_some_and(|s| !(1..=crate::SCHEMA_VERSION).contains(&s.value));
    let sections = match fields.table.get("section") {
        _ if unsupported => None,
        None => Some(Vec::new()),
        Some(v) => tables_of(v, "`[[section]]` tables", diags, |t, span, diags| {
            section_doc(t, span, shape, diags)
        }),
    };
    Some(Doc {
        schema,
        source,
        sections_key,
        sections,
    })
}

pub(crate) use crate::keys;

/// Whether any `[[section]]` of the top level has the key `key`.
fn has_key(root: &DeTable<'_>, key: &str) -> bool {
    let Some(DeValue::Array(sections)) = root.get("section").map(Spanned::get_ref) else {
        return false;
    };
    sections.iter().any(|s| match s.get_ref() {
        DeValue::Table(t) => t.get(key).is_some(),
        _ => false,
    })
}

fn source_doc(table: &DeTable<'_>, span: Span, diags: &mut Diagnostics) -> SourceDoc {
    let f = Fields::new(table, span, "`[source]`", keys::SOURCE, diags);
    SourceDoc {
        provider: f.required(diags, "provider", string),
        url: f.required(diags, "url", string),
        region: f.optional(diags, "region", string),
        retrieved: f.optional(diags, "retrieved", date),
        note: f.optional(diags, "note", string),
    }
}

fn section_doc(
    table: &DeTable<'_>,
    span: Span,
    shape: Shape,
    diags: &mut Diagnostics,
) -> SectionDoc {
    let allowed = if shape.v1 {
        keys::SECTION_V1
    } else if shape.v3 {
        keys::SECTION_V3
    } else {
        keys::SECTION
    };
    let f = Fields::new(table, span.clone(), "`[[section]]`", allowed, diags);
    let (v2, v3) = (!shape.v1 && !shape.v3, shape.v3);
    SectionDoc {
        id: f.required(diags, "id", string),
        mode: v2.then(|| f.required(diags, "mode", string)).flatten(),
        region: v3.then(|| f.required(diags, "region", string)).flatten(),
        scope: v3.then(|| f.required(diags, "scope", string)).flatten(),
        title: f.required(diags, "title", string),
        category: f.optional(diags, "category", string),
        note: f.optional(diags, "note", string),
        groups: match f.table.get("group") {
            None => Some(Vec::new()),
            Some(v) => tables_of(v, "`[[section.group]]` tables", diags, |t, span, diags| {
                group_doc(t, span, shape, diags)
            }),
        },
        span,
    }
}

fn group_doc(table: &DeTable<'_>, span: Span, shape: Shape, diags: &mut Diagnostics) -> GroupDoc {
    let allowed = if shape.v1 {
        keys::GROUP_V1
    } else if shape.v3 {
        keys::GROUP_V3
    } else {
        keys::GROUP
    };
    let f = Fields::new(table, span.clone(), "`[[section.group]]`", allowed, diags);
    let mut kinds = Vec::new();
    if shape.v1 {
        // Schema 1: `qpm` and `tpm`, both required, each at most u32::MAX.
        let max = u64::from(u32::MAX);
        for (key, kind) in [("qpm", Kind::Rpm), ("tpm", Kind::Tpm)] {
            if let Some(n) = f.required(diags, key, |v, d| integer(v, max, d)) {
                kinds.push((kind, n));
            }
        }
    } else {
        for kind in Kind::ALL {
            if let Some(n) = f.optional(diags, kind.key(), |v, d| integer(v, kind.max(), d)) {
                kinds.push((kind, n));
            }
        }
    }
    let any_kind_key = if shape.v1 {
        ["qpm", "tpm"].iter().any(|k| f.table.get(*k).is_some())
    } else {
        Kind::ALL.iter().any(|k| f.table.get(k.key()).is_some())
    };
    GroupDoc {
        span,
        kinds,
        any_kind_key,
        sync_unlimited: f.optional(diags, "sync_unlimited", boolean),
        dynamic: f.optional(diags, "dynamic", boolean),
        tpm_tiers: f.optional(diags, "tpm_tiers", |v, diags| {
            let items = expect_array(v, "an array of tokens per minute, lowest tier first", diags)?;
            let tiers = items
                .iter()
                .map(|item| integer(item, Kind::Tpm.max(), diags))
                .collect::<Option<Vec<_>>>()?;
            Some(Sp {
                value: tiers,
                span: v.span(),
            })
        }),
        pool: f.optional(diags, "pool", string),
        per: f.optional(diags, "per", string),
        retired: f.optional(diags, "retired", retired),
        note: f.optional(diags, "note", string),
        models: f.required(diags, "models", |v, diags| {
            let items = expect_array(v, "an array of model ids or `{ id = ... }` tables", diags)?;
            let models = items
                .iter()
                .filter_map(|item| model_doc(item, shape, diags))
                .collect();
            Some(Sp {
                value: models,
                span: v.span(),
            })
        }),
    }
}

fn model_doc(
    item: &Spanned<DeValue<'_>>,
    shape: Shape,
    diags: &mut Diagnostics,
) -> Option<ModelDoc> {
    match item.get_ref() {
        DeValue::String(s) => Some(ModelDoc {
            id: Some(Sp {
                value: s.to_string(),
                span: item.span(),
            }),
            aliases: Vec::new(),
            rust_name: None,
            deprecated: None,
            replaced_by: None,
        }),
        DeValue::Table(table) => {
            let allowed = if shape.v1 {
                keys::MODEL_V1
            } else {
                keys::MODEL
            };
            let f = Fields::new(table, item.span(), "a model table", allowed, diags);
            Some(ModelDoc {
                id: f.required(diags, "id", string),
                aliases: f
                    .optional(diags, "aliases", |v, diags| {
                        let items = expect_array(v, "an array of strings", diags)?;
                        Some(items.iter().filter_map(|i| string(i, diags)).collect())
                    })
                    .unwrap_or_default(),
                rust_name: f.optional(diags, "rust_name", string),
                deprecated: f.optional(diags, "deprecated", string),
                replaced_by: f.optional(diags, "replaced_by", string),
            })
        }
        other => {
            diags.push(wrong_type(
                item.span(),
                "a model id string or a `{ id = ... }` table",
                other,
            ));
            None
        }
    }
}

/// The known key an unknown one most likely meant, as cargo suggests: one
/// within a third of its length in edits (a swap of two neighbours is one
/// edit), or one that starts with it or that it starts with.
fn closest<'k>(key: &str, known: &[&'k str]) -> Option<&'k str> {
    let most = (key.chars().count() / 3).max(1);
    known
        .iter()
        .map(|k| (strsim::osa_distance(key, k), *k))
        .filter(|(distance, k)| {
            *distance <= most || (key.len() >= 3 && (k.starts_with(key) || key.starts_with(k)))
        })
        .min_by_key(|(distance, _)| *distance)
        .map(|(_, k)| k)
}

/// The keys of one table: reports unknown keys on creation, then hands out
/// typed values.
struct Fields<'a, 'i> {
    table: &'a DeTable<'i>,
    span: Span,
    what: &'static str,
}

impl<'a, 'i> Fields<'a, 'i> {
    fn new(
        table: &'a DeTable<'i>,
        span: Span,
        what: &'static str,
        allowed: &[&str],
        diags: &mut Diagnostics,
    ) -> Self {
        for key in table.keys() {
            if !allowed.contains(&key.get_ref().as_ref()) {
                let expected = allowed
                    .iter()
                    .map(|k| format!("`{k}`"))
                    .collect::<Vec<_>>()
                    .join(", ");
                let help = match closest(key.get_ref(), allowed) {
                    Some(known) => {
                        format!("did you mean `{known}`? the keys of {what} are {expected}")
                    }
                    None => format!("the keys of {what} are {expected}"),
                };
                diags.push(
                    Diagnostic::error(
                        Code::UnknownKey,
                        format!("unknown key `{}` in {what}", key.get_ref()),
                        key.span(),
                        "not a key of the format",
                    )
                    .with_help(help),
                );
            }
        }
        Fields { table, span, what }
    }

    fn key_span(&self, key: &str) -> Option<Span> {
        self.table.get_key_value(key).map(|(k, _)| k.span())
    }

    fn optional<T>(
        &self,
        diags: &mut Diagnostics,
        key: &str,
        read: impl FnOnce(&Spanned<DeValue<'i>>, &mut Diagnostics) -> Option<T>,
    ) -> Option<T> {
        read(self.table.get(key)?, diags)
    }

    fn required<T>(
        &self,
        diags: &mut Diagnostics,
        key: &str,
        read: impl FnOnce(&Spanned<DeValue<'i>>, &mut Diagnostics) -> Option<T>,
    ) -> Option<T> {
        match self.table.get(key) {
            Some(value) => read(value, diags),
            None => {
                diags.push(Diagnostic::error(
                    Code::MissingKey,
                    format!("missing key `{key}` in {}", self.what),
                    self.span.clone(),
                    format!("this table needs `{key}`"),
                ));
                None
            }
        }
    }
}

fn wrong_type(span: Span, expected: &str, found: &DeValue<'_>) -> Diagnostic {
    Diagnostic::error(
        Code::WrongType,
        format!("expected {expected}, found {}", found.type_str()),
        span,
        format!("{} {}", article(found.type_str()), found.type_str()),
    )
}

fn article(word: &str) -> &'static str {
    if word.starts_with(['a', 'e', 'i', 'o', 'u']) {
        "an"
    } else {
        "a"
    }
}

fn string(v: &Spanned<DeValue<'_>>, diags: &mut Diagnostics) -> Option<Sp<String>> {
    match v.get_ref() {
        DeValue::String(s) => Some(Sp {
            value: s.to_string(),
            span: v.span(),
        }),
        other => {
            diags.push(wrong_type(v.span(), "a string", other));
            None
        }
    }
}

/// An integer in `1..=max`; floats, zero and negatives are refused with
/// one code so a user sees one kind of message for any bad number. A
/// radix prefix without digits (`0x`), which toml's spanned parser lets
/// through as an integer, is refused as no number at all.
fn integer(v: &Spanned<DeValue<'_>>, max: u64, diags: &mut Diagnostics) -> Option<Sp<u64>> {
    let out_of_range = |found: String| {
        Diagnostic::error(
            Code::OutOfRange,
            format!("expected a whole number from 1 to {max}, found {found}"),
            v.span(),
            "out of range",
        )
    };
    match v.get_ref() {
        DeValue::Integer(i) => {
            let digits = i.as_str().trim_start_matches(['+', '-']).replace('_', "");
            if digits.is_empty() {
                diags.push(
                    Diagnostic::error(
                        Code::WrongType,
                        format!("expected an integer, found `{i}`, which is not a number"),
                        v.span(),
                        "no digits",
                    )
                    .with_help("a number in hexadecimal, octal or binary needs digits after `0x`, `0o` or `0b`"),
                );
                return None;
            }
            let parsed = i128::from_str_radix(i.as_str(), i.radix()).ok();
            match parsed
                .and_then(|n| u64::try_from(n).ok())
                .filter(|&n| n > 0 && n <= max)
            {
                Some(n) => Some(Sp {
                    value: n,
                    span: v.span(),
                }),
                None => {
                    diags.push(out_of_range(i.to_string()));
                    None
                }
            }
        }
        DeValue::Float(f) => {
            diags.push(out_of_range(format!("the float {f}")));
            None
        }
        other => {
            diags.push(wrong_type(v.span(), "an integer", other));
            None
        }
    }
}

fn boolean(v: &Spanned<DeValue<'_>>, diags: &mut Diagnostics) -> Option<Sp<bool>> {
    match v.get_ref() {
        DeValue::Boolean(b) => Some(Sp {
            value: *b,
            span: v.span(),
        }),
        other => {
            diags.push(wrong_type(v.span(), "a boolean", other));
            None
        }
    }
}

/// `retired = true` or a bare date.
fn retired(v: &Spanned<DeValue<'_>>, diags: &mut Diagnostics) -> Option<Sp<RetiredDoc>> {
    match v.get_ref() {
        DeValue::Boolean(true) => Some(Sp {
            value: RetiredDoc::Yes,
            span: v.span(),
        }),
        DeValue::Datetime(_) => {
            let d = date(v, diags)?;
            Some(Sp {
                value: RetiredDoc::On(d.value),
                span: d.span,
            })
        }
        other => {
            diags.push(
                wrong_type(v.span(), "`true` or a TOML date", other).with_help(
                    "write `retired = 2025-07-30`, or `retired = true` when the page gives no date",
                ),
            );
            None
        }
    }
}

fn date(v: &Spanned<DeValue<'_>>, diags: &mut Diagnostics) -> Option<Sp<String>> {
    match v.get_ref() {
        DeValue::Datetime(dt) if dt.date.is_some() && dt.time.is_none() && dt.offset.is_none() => {
            Some(Sp {
                value: dt.to_string(),
                span: v.span(),
            })
        }
        other => {
            diags.push(
                wrong_type(v.span(), "a TOML date", other)
                    .with_help("write a bare date, e.g. `retrieved = 2025-04-01`"),
            );
            None
        }
    }
}

fn expect_table<'a, 'i>(
    v: &'a Spanned<DeValue<'i>>,
    what: &str,
    diags: &mut Diagnostics,
) -> Option<(&'a DeTable<'i>, Span)> {
    match v.get_ref() {
        DeValue::Table(t) => Some((t, v.span())),
        other => {
            diags.push(wrong_type(v.span(), what, other));
            None
        }
    }
}

fn expect_array<'a, 'i>(
    v: &'a Spanned<DeValue<'i>>,
    what: &str,
    diags: &mut Diagnostics,
) -> Option<&'a [Spanned<DeValue<'i>>]> {
    match v.get_ref() {
        DeValue::Array(items) => Some(items),
        other => {
            diags.push(wrong_type(v.span(), what, other));
            None
        }
    }
}

/// An array of tables (`[[x]]` or `x = [{...}]`), each read by `read`;
/// `None` (reported) when `v` is not an array.
fn tables_of<T>(
    v: &Spanned<DeValue<'_>>,
    what: &str,
    diags: &mut Diagnostics,
    read: impl Fn(&DeTable<'_>, Span, &mut Diagnostics) -> T,
) -> Option<Vec<T>> {
    let items = match v.get_ref() {
        DeValue::Array(items) => items,
        other => {
            let mut d = wrong_type(v.span(), &format!("an array of {what}"), other);
            if other.is_table() {
                d = d.with_help("write the header with double brackets, e.g. `[[section]]`");
            }
            diags.push(d);
            return None;
        }
    };
    let tables = items
        .iter()
        .filter_map(|item| {
            let (table, span) = expect_table(item, what, diags)?;
            Some(read(table, span, diags))
        })
        .collect();
    Some(tables)
}

#[cfg(test)]
mod tests {
    use super::closest;

    #[test]
    fn near_misses_are_suggested_and_strangers_are_not() {
        let group = ["qpm", "tpm", "note", "models"];
        assert_eq!(closest("qmp", &group), Some("qpm"));
        assert_eq!(closest("tmp", &group), Some("tpm"));
        assert_eq!(closest("model", &group), Some("models"));
        assert_eq!(closest("notes", &group), Some("note"));
        let source = ["provider", "url", "region", "retrieved", "note"];
        assert_eq!(closest("retreived", &source), Some("retrieved"));
        let model = ["id", "aliases", "rust_name", "deprecated"];
        assert_eq!(closest("alias", &model), Some("aliases"));
        assert_eq!(closest("version", &["schema", "source", "section"]), None);
        assert_eq!(closest("x", &group), None);
    }
}
