//! Stage 2: the spanned document to the validated [`Table`].
//!
//! Checks what the shape alone cannot: id syntax, uniqueness of ids, aliases
//! and Rust names across the file, empty lists, the schema version. Every
//! finding is collected; the table is returned only when there is none.

use std::collections::HashMap;

use crate::diagnostic::{Code, Diagnostic, Diagnostics};
use crate::ident;
use crate::ir::{Group, Model, Section, Source, Table};
use crate::parse::{Doc, ModelDoc, SectionDoc, Sp, Span};

/// The only format version this crate reads.
pub const SCHEMA_VERSION: u32 = 1;

pub(crate) fn validate(
    input: &str,
    doc: Doc,
    input_sha256: String,
    diags: &mut Diagnostics,
) -> Option<Table> {
    let mut v = Validator {
        input,
        diags,
        names: HashMap::new(),
        section_ids: HashMap::new(),
        model_rust_names: HashMap::new(),
        section_rust_names: HashMap::new(),
    };
    if let Some(schema) = &doc.schema {
        if schema.value != SCHEMA_VERSION {
            v.diags.push(
                Diagnostic::error(
                    Code::UnsupportedSchema,
                    format!("unsupported schema version {}", schema.value),
                    schema.span.clone(),
                    format!("this tool reads schema {SCHEMA_VERSION}"),
                )
                .with_help(format!("write `schema = {SCHEMA_VERSION}`")),
            );
        }
    }
    let source = doc.source.and_then(|s| {
        let provider = v.text(s.provider, "provider");
        let url = v.text(s.url, "url");
        Some(Source {
            provider: provider?,
            url: url?,
            region: s.region.map(|r| r.value),
            retrieved: s.retrieved.map(|r| r.value),
            note: s.note.map(|n| n.value),
        })
    });
    if doc.sections.as_ref().is_some_and(Vec::is_empty) {
        let span = doc.sections_key.unwrap_or(0..0);
        v.diags.push(
            Diagnostic::error(Code::NoSections, "the file has no sections", span, "")
                .with_help("add a `[[section]]` with `id`, `title` and `[[section.group]]` rows"),
        );
    }
    let sections: Vec<Section> = doc
        .sections
        .into_iter()
        .flatten()
        .filter_map(|s| v.section(s))
        .collect();
    if v.diags.has_errors() {
        return None;
    }
    Some(Table {
        schema: doc.schema?.value,
        source: source?,
        sections,
        input_sha256,
    })
}

/// Where a model name (id or alias) was first defined.
struct NameDef {
    span: Span,
    /// The canonical id the name belongs to.
    owner: String,
    is_alias: bool,
}

struct Validator<'a> {
    input: &'a str,
    diags: &'a mut Diagnostics,
    /// Every model id and alias seen so far.
    names: HashMap<String, NameDef>,
    section_ids: HashMap<String, Span>,
    /// Rust name -> (id, span of the id) for models and for sections.
    model_rust_names: HashMap<String, (String, Span)>,
    section_rust_names: HashMap<String, (String, Span)>,
}

impl Validator<'_> {
    fn section(&mut self, s: SectionDoc) -> Option<Section> {
        let id = s.id.and_then(|id| self.section_id(id));
        let title = self.text(s.title, "title");
        if s.groups.as_ref().is_some_and(Vec::is_empty) {
            self.diags.push(
                Diagnostic::error(
                    Code::EmptySection,
                    "section has no groups",
                    s.span.clone(),
                    "this section lists no `[[section.group]]`",
                )
                .with_help("add `[[section.group]]` with `qpm`, `tpm` and `models`"),
            );
        }
        let mut groups = Vec::new();
        for g in s.groups.into_iter().flatten() {
            let models = g.models.map(|models| {
                if models.value.is_empty() {
                    self.diags.push(Diagnostic::error(
                        Code::EmptyModels,
                        "group lists no models",
                        models.span,
                        "empty `models`",
                    ));
                }
                models
                    .value
                    .into_iter()
                    .filter_map(|m| self.model(m))
                    .collect::<Vec<Model>>()
            });
            if let (Some(qpm), Some(tpm), Some(models)) = (g.qpm, g.tpm, models) {
                groups.push(Group {
                    qpm: qpm.value,
                    tpm: tpm.value,
                    note: g.note.map(|n| n.value),
                    models,
                });
            }
        }
        let (id, rust_name) = id?;
        Some(Section {
            id,
            rust_name,
            title: title?,
            category: s.category.map(|c| c.value),
            note: s.note.map(|n| n.value),
            groups,
        })
    }

    /// Checks a section id; returns it with its Rust name.
    fn section_id(&mut self, id: Sp<String>) -> Option<(String, String)> {
        self.check_id(&id, "section id")?;
        if let Some(first) = self.section_ids.get(&id.value) {
            self.diags.push(
                Diagnostic::error(
                    Code::DuplicateSection,
                    format!("section id `{}` is defined twice", id.value),
                    id.span.clone(),
                    "defined again here",
                )
                .with_secondary(first.clone(), "first defined here"),
            );
            return None;
        }
        self.section_ids.insert(id.value.clone(), id.span.clone());
        let name = ident::rust_name(&id.value);
        self.claim_rust_name(&id, name, None, true)
            .map(|name| (id.value, name))
    }

    fn model(&mut self, m: ModelDoc) -> Option<Model> {
        let id = m.id?;
        let id_ok =
            self.check_id(&id, "model id").is_some() && self.claim_name(&id, &id.value, false);
        let mut aliases = Vec::with_capacity(m.aliases.len());
        for alias in m.aliases {
            if self.check_id(&alias, "alias").is_some() && self.claim_name(&alias, &id.value, true)
            {
                aliases.push(alias.value);
            }
        }
        if !id_ok {
            return None;
        }
        let rust_name = match m.rust_name {
            Some(given) => {
                if let Err(reason) = ident::check_rust_name(&given.value) {
                    self.diags.push(Diagnostic::error(
                        Code::InvalidRustName,
                        format!("`rust_name` `{}` {reason}", given.value),
                        given.span,
                        "invalid `rust_name`",
                    ));
                    return None;
                }
                self.claim_rust_name(&id, given.value.clone(), Some(&given), false)?
            }
            None => self.claim_rust_name(&id, ident::rust_name(&id.value), None, false)?,
        };
        Some(Model {
            id: id.value,
            aliases,
            rust_name,
        })
    }

    /// Checks the id syntax, pointing at the offending character when the
    /// string is written without escapes.
    fn check_id(&mut self, id: &Sp<String>, what: &str) -> Option<()> {
        let Err(e) = ident::check_id(&id.value) else {
            return Some(());
        };
        let span = self.char_span(id, e.offset);
        let shown: String = id.value.chars().take(ident::MAX_ID_LEN + 8).collect();
        let ellipsis = if shown.len() < id.value.len() {
            "..."
        } else {
            ""
        };
        self.diags.push(
            Diagnostic::error(
                Code::InvalidId,
                format!("{what} `{}{ellipsis}` {}", shown.escape_debug(), e.reason),
                span,
                e.reason.clone(),
            )
            .with_help(Code::InvalidId.explanation()),
        );
        None
    }

    /// The span of byte `offset` of a string value, when the source text is
    /// the string quoted with no escapes; otherwise the whole value.
    fn char_span(&self, s: &Sp<String>, offset: usize) -> Span {
        let raw = self.input.get(s.span.clone()).unwrap_or_default();
        let quoted = raw.len() == s.value.len() + 2
            && (raw.starts_with('"') || raw.starts_with('\''))
            && raw.get(1..raw.len() - 1) == Some(s.value.as_str());
        if !quoted {
            return s.span.clone();
        }
        let start = s.span.start + 1 + offset;
        let len = s.value[offset..].chars().next().map_or(0, char::len_utf8);
        start..start + len
    }

    /// Records a model id or alias; reports it if already taken.
    fn claim_name(&mut self, name: &Sp<String>, owner: &str, is_alias: bool) -> bool {
        if let Some(first) = self.names.get(&name.value) {
            let kind = |alias: bool| if alias { "alias" } else { "model id" };
            let first_what = if first.is_alias {
                format!("first defined here, as an alias of `{}`", first.owner)
            } else {
                "first defined here, as a model id".to_string()
            };
            self.diags.push(
                Diagnostic::error(
                    Code::DuplicateModel,
                    format!("{} `{}` is already defined", kind(is_alias), name.value),
                    name.span.clone(),
                    format!(
                        "defined again here, as {}",
                        if is_alias {
                            format!("an alias of `{owner}`")
                        } else {
                            "a model id".into()
                        }
                    ),
                )
                .with_secondary(first.span.clone(), first_what),
            );
            return false;
        }
        self.names.insert(
            name.value.clone(),
            NameDef {
                span: name.span.clone(),
                owner: owner.to_string(),
                is_alias,
            },
        );
        true
    }

    /// Records the Rust name of a model or section; reports a keyword or a
    /// second id with the same name.
    fn claim_rust_name(
        &mut self,
        id: &Sp<String>,
        name: String,
        given: Option<&Sp<String>>,
        section: bool,
    ) -> Option<String> {
        let at = given.map_or(&id.span, |g| &g.span).clone();
        if ident::is_keyword(&name) {
            self.diags.push(
                Diagnostic::error(
                    Code::RustNameKeyword,
                    format!(
                        "the Rust name of `{}` is `{name}`, a Rust keyword",
                        id.value
                    ),
                    at,
                    "names a keyword",
                )
                .with_help(if section {
                    "choose another section id"
                } else {
                    "add `rust_name = \"...\"` to the model's table"
                }),
            );
            return None;
        }
        let names = if section {
            &mut self.section_rust_names
        } else {
            &mut self.model_rust_names
        };
        if let Some((first_id, first_span)) = names.get(&name) {
            let d = Diagnostic::error(
                Code::RustNameCollision,
                format!(
                    "`{}` and `{first_id}` both have the Rust name `{name}`",
                    id.value
                ),
                at,
                format!("`{name}` again here"),
            )
            .with_secondary(first_span.clone(), format!("`{name}` first here"));
            self.diags.push(if section {
                d.with_help("rename one of the sections")
            } else {
                d.with_help("give one of them `rust_name = \"...\"`")
            });
            return None;
        }
        names.insert(name.clone(), (id.value.clone(), at));
        Some(name)
    }

    /// A required text; empty or blank is an error.
    fn text(&mut self, text: Option<Sp<String>>, key: &str) -> Option<String> {
        let text = text?;
        if text.value.trim().is_empty() {
            self.diags.push(Diagnostic::error(
                Code::EmptyText,
                format!("`{key}` is empty"),
                text.span,
                "empty",
            ));
            return None;
        }
        Some(text.value)
    }
}
