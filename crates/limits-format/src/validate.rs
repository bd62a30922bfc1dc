//! Stage 2: the spanned document to the validated [`Table`].
//!
//! Checks what the shape alone cannot: id syntax, uniqueness of ids, aliases
//! and Rust names across the file, empty lists, the schema version. Every
//! finding is collected; the table is built (by moving the document's
//! values, no copies) only when there is none.

use std::collections::HashMap;

use crate::diagnostic::{Code, Diagnostic, Diagnostics};
use crate::ident;
use crate::ir::{Group, Model, Section, Source, Table};
use crate::parse::{Doc, GroupDoc, SectionDoc, Sp, Span};

/// The only format version this crate reads.
pub const SCHEMA_VERSION: u32 = 1;

pub(crate) fn validate(
    input: &str,
    doc: Doc,
    input_sha256: String,
    diags: &mut Diagnostics,
) -> Option<Table> {
    {
        let mut v = Validator {
            input,
            diags,
            names: HashMap::new(),
            section_ids: HashMap::new(),
        };
        v.check(&doc);
    }
    if diags.has_errors() {
        return None;
    }
    let table = lower(doc, input_sha256);
    if table.is_none() {
        // Every value lowering needs was reported missing by the parser;
        // should that ever not hold, say so rather than return nothing.
        diags.push(Diagnostic::error(
            Code::MissingKey,
            "bug: a required value is missing but was not reported",
            0..0,
            "",
        ));
    }
    table
}

/// Moves the checked document's values into the table, deriving each Rust
/// name from its id as the checks did. `None` only if a required value is
/// missing, which the parser has reported.
fn lower(doc: Doc, input_sha256: String) -> Option<Table> {
    let source = doc.source?;
    let mut sections = Vec::new();
    for s in doc.sections? {
        let mut groups = Vec::new();
        for g in s.groups? {
            let mut models = Vec::new();
            for m in g.models?.value {
                let id = m.id?.value;
                models.push(Model {
                    rust_name: match m.rust_name {
                        Some(given) => given.value,
                        None => ident::rust_name(&id),
                    },
                    id,
                    aliases: m.aliases.into_iter().map(|a| a.value).collect(),
                    deprecated: m.deprecated.map(|d| d.value),
                });
            }
            groups.push(Group {
                qpm: g.qpm?.value,
                tpm: g.tpm?.value,
                note: g.note.map(|n| n.value),
                models,
            });
        }
        let id = s.id?.value;
        sections.push(Section {
            rust_name: ident::rust_name(&id),
            id,
            title: s.title?.value,
            category: s.category.map(|c| c.value),
            note: s.note.map(|n| n.value),
            groups,
        });
    }
    Some(Table {
        schema: doc.schema?.value,
        source: Source {
            provider: source.provider?.value,
            url: source.url?.value,
            region: source.region.map(|r| r.value),
            retrieved: source.retrieved.map(|r| r.value),
            note: source.note.map(|n| n.value),
        },
        sections,
        input_sha256,
    })
}

/// Where a model name (id or alias) was first defined.
struct NameDef<'d> {
    span: &'d Span,
    /// The canonical id the name belongs to.
    owner: &'d str,
    is_alias: bool,
}

/// An id and the Rust name it gets, for the collision check.
struct Named<'d> {
    id: &'d Sp<String>,
    /// Where to point: the id, or the `rust_name` that overrides it.
    at: &'d Span,
    name: String,
}

struct Validator<'a, 'd> {
    input: &'a str,
    diags: &'a mut Diagnostics,
    /// Every model id and alias seen so far.
    names: HashMap<&'d str, NameDef<'d>>,
    section_ids: HashMap<&'d str, &'d Span>,
}

impl<'d> Validator<'_, 'd> {
    fn check(&mut self, doc: &'d Doc) {
        if let Some(schema) = &doc.schema {
            if schema.value != SCHEMA_VERSION {
                self.diags.push(
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
        if let Some(source) = &doc.source {
            self.text(&source.provider, "provider");
            self.text(&source.url, "url");
        }
        let sections = doc.sections.as_deref().unwrap_or_default();
        if doc.sections.as_ref().is_some_and(Vec::is_empty) {
            let span = doc.sections_key.clone().unwrap_or(0..0);
            self.diags.push(
                Diagnostic::error(Code::NoSections, "the file has no sections", span, "")
                    .with_help(
                        "add a `[[section]]` with `id`, `title` and `[[section.group]]` rows",
                    ),
            );
        }
        let models = sections
            .iter()
            .flat_map(|s| s.groups.iter().flatten())
            .flat_map(|g| g.models.iter().flat_map(|m| &m.value))
            .count();
        self.names.reserve(models);
        let mut section_names = Vec::with_capacity(sections.len());
        let mut model_names = Vec::with_capacity(models);
        for s in sections {
            section_names.extend(self.section(s, &mut model_names));
        }
        self.collisions(&section_names, true);
        self.collisions(&model_names, false);
    }

    /// Checks a section and its models; returns the section's Rust name.
    fn section(
        &mut self,
        s: &'d SectionDoc,
        model_names: &mut Vec<Named<'d>>,
    ) -> Option<Named<'d>> {
        let named = s.id.as_ref().and_then(|id| self.section_id(id));
        self.text(&s.title, "title");
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
        let groups = s.groups.as_deref().unwrap_or_default();
        for g in groups {
            if let (Some(qpm), Some(tpm)) = (&g.qpm, &g.tpm) {
                if tpm.value < qpm.value {
                    self.diags.push(
                        Diagnostic::warning(
                            Code::TpmBelowQpm,
                            format!(
                                "tpm ({}) is lower than qpm ({}): every request would have to use less than one token",
                                tpm.value, qpm.value
                            ),
                            tpm.span.clone(),
                            "lower than qpm",
                        )
                        .with_secondary(qpm.span.clone(), "qpm")
                        .with_help("were the two numbers swapped?"),
                    );
                }
            }
        }
        for pair in groups.windows(2) {
            let limits = |g: &GroupDoc| {
                g.qpm
                    .as_ref()
                    .zip(g.tpm.as_ref())
                    .map(|(q, t)| (q.value, t.value))
            };
            if let (Some(a), Some(b)) = (limits(&pair[0]), limits(&pair[1])) {
                if a == b {
                    self.diags.push(
                        Diagnostic::warning(
                            Code::AdjacentEqualGroups,
                            format!(
                                "two adjacent groups have the same limits ({} QPM, {} TPM)",
                                a.0, a.1
                            ),
                            pair[1].span.clone(),
                            "same limits as the group above",
                        )
                        .with_secondary(pair[0].span.clone(), "this group")
                        .with_help(
                            "merge them, or check the source: a merged cell may have been copied into the wrong row",
                        ),
                    );
                }
            }
        }
        for g in groups {
            let Some(models) = &g.models else { continue };
            if models.value.is_empty() {
                self.diags.push(Diagnostic::error(
                    Code::EmptyModels,
                    "group lists no models",
                    models.span.clone(),
                    "empty `models`",
                ));
            }
            for m in &models.value {
                let Some(id) = &m.id else { continue };
                let id_ok = self.check_id(id, "model id") && self.claim_name(id, &id.value, false);
                for alias in &m.aliases {
                    let _ =
                        self.check_id(alias, "alias") && self.claim_name(alias, &id.value, true);
                }
                if !id_ok {
                    continue;
                }
                let named = match &m.rust_name {
                    Some(given) => match ident::check_rust_name(&given.value) {
                        Ok(()) => Named {
                            id,
                            at: &given.span,
                            name: given.value.clone(),
                        },
                        Err(reason) => {
                            self.diags.push(Diagnostic::error(
                                Code::InvalidRustName,
                                format!("`rust_name` `{}` {reason}", given.value),
                                given.span.clone(),
                                "invalid `rust_name`",
                            ));
                            continue;
                        }
                    },
                    None => Named {
                        id,
                        at: &id.span,
                        name: ident::rust_name(&id.value),
                    },
                };
                if self.not_keyword(&named, false) {
                    model_names.push(named);
                }
            }
        }
        named
    }

    /// Checks a section id; returns it with its Rust name.
    fn section_id(&mut self, id: &'d Sp<String>) -> Option<Named<'d>> {
        if !self.check_id(id, "section id") {
            return None;
        }
        if let Some(first) = self.section_ids.get(id.value.as_str()) {
            self.diags.push(
                Diagnostic::error(
                    Code::DuplicateSection,
                    format!("section id `{}` is defined twice", id.value),
                    id.span.clone(),
                    "defined again here",
                )
                .with_secondary((*first).clone(), "first defined here"),
            );
            return None;
        }
        self.section_ids.insert(&id.value, &id.span);
        let named = Named {
            id,
            at: &id.span,
            name: ident::rust_name(&id.value),
        };
        self.not_keyword(&named, true).then_some(named)
    }

    /// Checks the id syntax, pointing at the offending character when the
    /// string is written without escapes.
    fn check_id(&mut self, id: &Sp<String>, what: &str) -> bool {
        let Err(e) = ident::check_id(&id.value) else {
            return true;
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
        false
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
    fn claim_name(&mut self, name: &'d Sp<String>, owner: &'d str, is_alias: bool) -> bool {
        let Some(first) = self.names.get(name.value.as_str()) else {
            self.names.insert(
                &name.value,
                NameDef {
                    span: &name.span,
                    owner,
                    is_alias,
                },
            );
            return true;
        };
        let first_what = if first.is_alias {
            format!("first defined here, as an alias of `{}`", first.owner)
        } else {
            "first defined here, as a model id".to_string()
        };
        let (kind, again) = if is_alias {
            ("alias", format!("an alias of `{owner}`"))
        } else {
            ("model id", "a model id".to_string())
        };
        self.diags.push(
            Diagnostic::error(
                Code::DuplicateModel,
                format!("{kind} `{}` is already defined", name.value),
                name.span.clone(),
                format!("defined again here, as {again}"),
            )
            .with_secondary(first.span.clone(), first_what),
        );
        false
    }

    /// Reports a Rust name that is a keyword.
    fn not_keyword(&mut self, named: &Named<'_>, section: bool) -> bool {
        if !ident::is_keyword(&named.name) {
            return true;
        }
        self.diags.push(
            Diagnostic::error(
                Code::RustNameKeyword,
                format!(
                    "the Rust name of `{}` is `{}`, a Rust keyword",
                    named.id.value, named.name
                ),
                named.at.clone(),
                "names a keyword",
            )
            .with_help(if section {
                "choose another section id"
            } else {
                "add `rust_name = \"...\"` to the model's table"
            }),
        );
        false
    }

    /// Reports every id whose Rust name an earlier id already has.
    fn collisions(&mut self, named: &[Named<'_>], section: bool) {
        let mut first: HashMap<&str, &Named<'_>> = HashMap::with_capacity(named.len());
        for n in named {
            let Some(earlier) = first.get(n.name.as_str()) else {
                first.insert(&n.name, n);
                continue;
            };
            let name = &n.name;
            let d = Diagnostic::error(
                Code::RustNameCollision,
                format!(
                    "`{}` and `{}` both have the Rust name `{name}`",
                    n.id.value, earlier.id.value
                ),
                n.at.clone(),
                format!("`{name}` again here"),
            )
            .with_secondary(earlier.at.clone(), format!("`{name}` first here"));
            self.diags.push(if section {
                d.with_help("rename one of the sections")
            } else {
                d.with_help("give one of them `rust_name = \"...\"`")
            });
        }
    }

    /// Reports a required text that is empty or blank.
    fn text(&mut self, text: &Option<Sp<String>>, key: &str) {
        if let Some(text) = text {
            if text.value.trim().is_empty() {
                self.diags.push(Diagnostic::error(
                    Code::EmptyText,
                    format!("`{key}` is empty"),
                    text.span.clone(),
                    "empty",
                ));
            }
        }
    }
}
