//! Stage 2: the spanned document to the validated [`Table`].
//!
//! Checks what the shape alone cannot: id syntax, uniqueness of ids, aliases
//! and Rust names across the file, empty lists, the schema version. Every
//! finding is collected; the table is built (by moving the document's
//! values, no copies) only when there is none.

use std::collections::HashMap;

use crate::diagnostic::{Code, Diagnostic, Diagnostics};
use crate::ident;
use crate::ir::{
    Deployment, Group, Limits, Model, Per, Region, Retired, Scope, Section, Source, Table,
};
use crate::parse::{Doc, GroupDoc, RetiredDoc, SectionDoc, Sp, Span};

/// The format version this crate writes; it also reads schema 1.
pub const SCHEMA_VERSION: u32 = 3;

/// Where a row holds, as written: schema 2's mode (`cn`, None) or schema
/// 3's region and scope (`cn-beijing`, `cn`).
type Place<'d> = (&'d str, Option<&'d str>);

/// A place as a reader writes it: `cn` or `cn-beijing/cn`.
fn place_text(place: Option<Place<'_>>) -> String {
    match place {
        Some((mode, None)) => mode.to_string(),
        Some((region, Some(scope))) => format!("{region}/{scope}"),
        None => String::new(),
    }
}

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
            rows: HashMap::new(),
            pools: HashMap::new(),
            rust_names: HashMap::new(),
            replacements: Vec::new(),
            row: 0,
            named: std::collections::HashSet::new(),
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
    // A Rust name given on any row of an id holds for all its rows.
    let mut given: HashMap<String, String> = HashMap::new();
    for s in doc.sections.iter().flatten() {
        for g in s.groups.iter().flatten() {
            for m in g.models.iter().flat_map(|m| &m.value) {
                if let (Some(id), Some(name)) = (&m.id, &m.rust_name) {
                    given
                        .entry(id.value.clone())
                        .or_insert_with(|| name.value.clone());
                }
            }
        }
    }
    for s in doc.sections? {
        let mut groups = Vec::new();
        for g in s.groups? {
            let mut models = Vec::new();
            for m in g.models?.value {
                let id = m.id?.value;
                models.push(Model {
                    rust_name: match given.get(&id) {
                        Some(name) => name.clone(),
                        None => ident::rust_name(&id),
                    },
                    id,
                    aliases: m.aliases.into_iter().map(|a| a.value).collect(),
                    deprecated: m.deprecated.map(|d| d.value),
                    replaced_by: m.replaced_by.map(|r| r.value),
                });
            }
            let tpm_tiers = g
                .tpm_tiers
                .map(|t| t.value.into_iter().map(|n| n.value).collect::<Vec<_>>());
            let mut limits = Limits {
                sync_unlimited: g.sync_unlimited.is_some_and(|s| s.value),
                dynamic: g.dynamic.is_some_and(|d| d.value) || tpm_tiers.is_some(),
                tpm_tiers,
                ..Limits::default()
            };
            for (kind, n) in g.kinds {
                limits.set(kind, n.value);
            }
            groups.push(Group {
                limits,
                pool: g.pool.map(|p| p.value),
                per: g
                    .per
                    .and_then(|p| Per::from_id(&p.value))
                    .unwrap_or_default(),
                retired: g.retired.map(|r| match r.value {
                    RetiredDoc::Yes => Retired::Yes,
                    RetiredDoc::On(date) => Retired::On(date),
                }),
                note: g.note.map(|n| n.value),
                models,
            });
        }
        let id = s.id?.value;
        sections.push(Section {
            rust_name: ident::rust_name(&id),
            id,
            mode: match (s.mode, s.region, s.scope) {
                (Some(mode), _, _) => Some(Deployment::from_mode(&mode.value)?),
                (None, Some(region), Some(scope)) => Some(Deployment::new(
                    Region::from_id(&region.value)?,
                    Scope::from_id(&scope.value)?,
                )),
                _ => None,
            },
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
    /// The model entry (row) that defined it, counted through the file.
    row: usize,
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
    /// Where each (mode, id, pooled?) row was first listed.
    rows: HashMap<(Option<Place<'d>>, &'d str, bool), &'d Span>,
    /// Where each (mode, pool name) was first given.
    pools: HashMap<(Option<Place<'d>>, &'d str), &'d Span>,
    /// The first Rust name of each id, to check every row agrees.
    rust_names: HashMap<&'d str, &'d Sp<String>>,
    /// Every `replaced_by`, checked once all ids are known.
    replacements: Vec<&'d Sp<String>>,
    /// The model entry being checked, counted through the file.
    row: usize,
    /// The ids whose Rust name is already in the collision check.
    named: std::collections::HashSet<&'d str>,
}

impl<'d> Validator<'_, 'd> {
    fn check(&mut self, doc: &'d Doc) {
        if let Some(schema) = &doc.schema {
            if !(1..=SCHEMA_VERSION).contains(&schema.value) {
                self.diags.push(
                    Diagnostic::error(
                        Code::UnsupportedSchema,
                        format!("unsupported schema version {}", schema.value),
                        schema.span.clone(),
                        format!("this tool reads schema 1 and {SCHEMA_VERSION}"),
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
        self.check_replacements();
    }

    /// Reports every `replaced_by` that names no model id of the file.
    fn check_replacements(&mut self) {
        for r in std::mem::take(&mut self.replacements) {
            match self.names.get(r.value.as_str()) {
                Some(def) if !def.is_alias => {}
                Some(def) => self.diags.push(
                    Diagnostic::error(
                        Code::UnknownReplacement,
                        format!(
                            "`replaced_by` names `{}`, an alias of `{}`",
                            r.value, def.owner
                        ),
                        r.span.clone(),
                        "an alias, not a model id",
                    )
                    .with_help(format!("write `replaced_by = \"{}\"`", def.owner)),
                ),
                None => {
                    let near = self
                        .names
                        .iter()
                        .filter(|(_, d)| !d.is_alias)
                        .map(|(name, _)| (strsim::levenshtein(name, &r.value), *name))
                        .filter(|(d, name)| *d <= name.len() / 3 + 1)
                        .min();
                    let mut d = Diagnostic::error(
                        Code::UnknownReplacement,
                        format!(
                            "`replaced_by` names `{}`, which is no model of the file",
                            r.value
                        ),
                        r.span.clone(),
                        "no such model",
                    );
                    d = match near {
                        Some((_, name)) => d.with_help(format!("did you mean `{name}`?")),
                        None => d.with_help(
                            "list the replacement in the file, or write what the page says in `note`",
                        ),
                    };
                    self.diags.push(d);
                }
            }
        }
    }

    /// Checks a section's `mode` (schema 2) or `region` and `scope` (schema
    /// 3); the place as written (rows are keyed by it, so two sections of
    /// one unknown place still share it).
    fn mode(&mut self, s: &'d SectionDoc) -> Option<Place<'d>> {
        if let Some(mode) = &s.mode {
            self.known(mode, "deployment mode", crate::keys::MODES, |m| {
                Deployment::from_mode(m).is_some()
            });
            return Some((&mode.value, None));
        }
        let (region, scope) = (s.region.as_ref()?, s.scope.as_ref()?);
        self.known(region, "region", crate::keys::REGIONS, |r| {
            Region::from_id(r).is_some()
        });
        self.known(scope, "deployment scope", crate::keys::SCOPES, |s| {
            Scope::from_id(s).is_some()
        });
        Some((&region.value, Some(&scope.value)))
    }

    /// Reports a value that is none of `known`, suggesting the closest.
    fn known(&mut self, v: &Sp<String>, what: &str, known: &[&str], ok: impl Fn(&str) -> bool) {
        if ok(&v.value) {
            return;
        }
        let near = known
            .iter()
            .find(|m| m.eq_ignore_ascii_case(&v.value) || strsim::levenshtein(m, &v.value) <= 1);
        let all = known
            .iter()
            .map(|k| format!("`{k}`"))
            .collect::<Vec<_>>()
            .join(", ");
        self.diags.push(
            Diagnostic::error(
                Code::UnknownMode,
                format!("unknown {what} `{}`", v.value),
                v.span.clone(),
                format!("not a {what}"),
            )
            .with_help(match near {
                Some(m) => format!("did you mean `{m}`? they are {all}"),
                None => format!("they are {all}"),
            }),
        );
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
        let mode = self.mode(s);
        let groups = s.groups.as_deref().unwrap_or_default();
        let schema_1 = s.mode.is_none() && s.region.is_none();
        for g in groups {
            self.group_limits(g, mode, schema_1);
        }
        for pair in groups.windows(2) {
            let (a, b) = (&pair[0], &pair[1]);
            let same = !a.kinds.is_empty()
                && a.kinds.len() == b.kinds.len()
                && a.kinds
                    .iter()
                    .zip(&b.kinds)
                    .all(|(x, y)| x.0 == y.0 && x.1.value == y.1.value)
                && a.sync_unlimited.as_ref().map(|s| s.value)
                    == b.sync_unlimited.as_ref().map(|s| s.value)
                && a.pool.is_none()
                && b.pool.is_none()
                && a.retired.is_none()
                && b.retired.is_none();
            if same {
                let shown: Vec<String> = if schema_1 {
                    // Schema 1's words: "60 QPM, 100000 TPM".
                    let n = |i: usize| a.kinds.get(i).map_or(0, |k| k.1.value);
                    vec![format!("{} QPM", n(0)), format!("{} TPM", n(1))]
                } else {
                    a.kinds
                        .iter()
                        .map(|(k, n)| {
                            format!("{} {}", crate::group_digits(n.value, ','), k.describe())
                        })
                        .collect()
                };
                self.diags.push(
                    Diagnostic::warning(
                        Code::AdjacentEqualGroups,
                        format!("two adjacent groups have the same limits ({})", shown.join(", ")),
                        b.span.clone(),
                        "same limits as the group above",
                    )
                    .with_secondary(a.span.clone(), "this group")
                    .with_help(
                        "merge them, or check the source: a merged cell may have been copied into the wrong row",
                    ),
                );
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
            let pooled = g.pool.is_some();
            for m in &models.value {
                self.row += 1;
                let Some(id) = &m.id else { continue };
                let id_ok = self.check_id(id, "model id")
                    && self.claim_name(id, &id.value, false)
                    && self.claim_row(id, mode, pooled, schema_1);
                for alias in &m.aliases {
                    let _ =
                        self.check_id(alias, "alias") && self.claim_name(alias, &id.value, true);
                }
                if let Some(r) = &m.replaced_by {
                    self.replacements.push(r);
                }
                if !id_ok {
                    continue;
                }
                if !self.named.insert(&id.value) {
                    let Some(first) = self.rust_names.get(id.value.as_str()) else {
                        if let Some(given) = &m.rust_name {
                            self.diags.push(
                                Diagnostic::error(
                                    Code::InvalidRustName,
                                    format!(
                                        "`rust_name` of `{}` is given on a later row only",
                                        id.value
                                    ),
                                    given.span.clone(),
                                    "not on the model's first row",
                                )
                                .with_help("give `rust_name` on the model's first row (other rows may repeat it)"),
                            );
                        }
                        continue;
                    };
                    // The id's name was checked on its first row; a
                    // `rust_name` here must agree with it.
                    if let Some(given) = &m.rust_name {
                        if given.value != first.value {
                            self.diags.push(
                                Diagnostic::error(
                                    Code::InvalidRustName,
                                    format!(
                                        "`rust_name` `{}` differs from `{}`, given to `{}` on another row",
                                        given.value, first.value, id.value
                                    ),
                                    given.span.clone(),
                                    "another name for the same model",
                                )
                                .with_secondary(first.span.clone(), "first given here"),
                            );
                        }
                    }
                    continue;
                }
                if let Some(given) = &m.rust_name {
                    self.rust_names.insert(&id.value, given);
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

    /// Records the row of a model id in a mode; reports a second row of one
    /// mode (in a schema 1 file, E008 as before modes; else E020). A model
    /// may also take part in one pool per mode.
    fn claim_row(
        &mut self,
        id: &'d Sp<String>,
        mode: Option<Place<'d>>,
        pooled: bool,
        schema_1: bool,
    ) -> bool {
        let Some(first) = self.rows.get(&(mode, id.value.as_str(), pooled)) else {
            self.rows.insert((mode, &id.value, pooled), &id.span);
            return true;
        };
        let d = if schema_1 {
            Diagnostic::error(
                Code::DuplicateModel,
                format!("model id `{}` is already defined", id.value),
                id.span.clone(),
                "defined again here, as a model id",
            )
            .with_secondary((*first).clone(), "first defined here, as a model id")
        } else {
            let what = if pooled { "pool" } else { "group" };
            let place = place_text(mode);
            Diagnostic::error(
                Code::DuplicateInMode,
                format!("model `{}` is in a second {what} of mode `{place}`", id.value),
                id.span.clone(),
                format!("listed again in mode `{place}`"),
            )
            .with_secondary((*first).clone(), "first listed here")
            .with_help("a model has one row of limits per mode: keep the row the provider means, and say why in `note`")
        };
        self.diags.push(d);
        false
    }

    /// Checks a group's limits: at least one kind unless retired, `tpm`
    /// not below `rpm`, a pool's name once per mode.
    fn group_limits(&mut self, g: &'d GroupDoc, mode: Option<Place<'d>>, schema_1: bool) {
        self.dynamic(g);
        let dynamic = g.dynamic.as_ref().is_some_and(|d| d.value) || g.tpm_tiers.is_some();
        // A kind written but refused was reported already.
        if !g.any_kind_key
            && !dynamic
            && g.retired.is_none()
            && !g.sync_unlimited.as_ref().is_some_and(|s| s.value)
        {
            self.diags.push(
                Diagnostic::error(
                    Code::NoLimits,
                    "group has no limits",
                    g.span.clone(),
                    "no `rpm`, `tpm`, `rps`, `submit_rps`, `submit_rpm`, `query_rps` or `concurrency`",
                )
                .with_help("add the limits the page gives, or `retired = ...` for a retired model"),
            );
        }
        let get = |kind| g.kinds.iter().find(|(k, _)| *k == kind).map(|(_, n)| n);
        if let (Some(rpm), Some(tpm)) = (get(crate::ir::Kind::Rpm), get(crate::ir::Kind::Tpm)) {
            if tpm.value < rpm.value {
                let rpm_key = if schema_1 { "qpm" } else { "rpm" };
                self.diags.push(
                    Diagnostic::warning(
                        Code::TpmBelowQpm,
                        format!(
                            "tpm ({}) is lower than {rpm_key} ({}): every request would have to use less than one token",
                            tpm.value, rpm.value
                        ),
                        tpm.span.clone(),
                        format!("lower than {rpm_key}"),
                    )
                    .with_secondary(rpm.span.clone(), rpm_key)
                    .with_help("were the two numbers swapped?"),
                );
            }
        }
        if let Some(pool) = &g.pool {
            if self.check_id(pool, "pool name") {
                if let Some(first) = self.pools.get(&(mode, pool.value.as_str())) {
                    self.diags.push(
                        Diagnostic::error(
                            Code::DuplicatePool,
                            format!("pool `{}` is on two groups of one mode", pool.value),
                            pool.span.clone(),
                            "named again here",
                        )
                        .with_secondary((*first).clone(), "first named here")
                        .with_help("list every model of the budget in one group"),
                    );
                } else {
                    self.pools.insert((mode, &pool.value), &pool.span);
                }
            }
        }
    }

    /// Checks a dynamic limit's tiers and a pool's `per`.
    fn dynamic(&mut self, g: &'d GroupDoc) {
        if let Some(tiers) = &g.tpm_tiers {
            let fixed = g.kinds.iter().find(|(k, _)| *k == crate::ir::Kind::Tpm);
            let falls = tiers.value.windows(2).find(|w| w[1].value < w[0].value);
            let off = g.dynamic.as_ref().filter(|d| !d.value);
            let problem = if tiers.value.is_empty() {
                Some((tiers.span.clone(), "no tier".to_string()))
            } else if tiers.value.len() > crate::ir::MAX_TPM_TIERS {
                Some((
                    tiers.span.clone(),
                    format!(
                        "{} tiers, more than {}",
                        tiers.value.len(),
                        crate::ir::MAX_TPM_TIERS
                    ),
                ))
            } else if let Some(w) = falls {
                Some((
                    w[1].span.clone(),
                    format!("lower than the tier before it ({})", w[0].value),
                ))
            } else if let Some((_, tpm)) = fixed {
                Some((
                    tpm.span.clone(),
                    "a fixed `tpm` beside the tiers".to_string(),
                ))
            } else {
                off.map(|d| (d.span.clone(), "`dynamic = false` beside tiers".to_string()))
            };
            if let Some((span, label)) = problem {
                self.diags.push(
                    Diagnostic::error(Code::BadTiers, format!("`tpm_tiers`: {label}"), span, label)
                        .with_help(Code::BadTiers.explanation()),
                );
            }
        }
        if let Some(per) = &g.per {
            let label = if Per::from_id(&per.value).is_none() {
                Some(format!(
                    "`per` is `{}`, not `account` or `api-key`",
                    per.value
                ))
            } else if g.pool.is_none() {
                Some("`per` on a group that is no pool".to_string())
            } else {
                None
            };
            if let Some(label) = label {
                self.diags.push(
                    Diagnostic::error(Code::BadPer, label.clone(), per.span.clone(), label)
                        .with_help(Code::BadPer.explanation()),
                );
            }
        }
    }

    /// Records a model id or alias; reports it if it already names another
    /// model, or is an id and an alias. An id listed again (another mode's
    /// row) and an alias repeated for the same model pass here.
    fn claim_name(&mut self, name: &'d Sp<String>, owner: &'d str, is_alias: bool) -> bool {
        if let Some(first) = self.names.get(name.value.as_str()) {
            if first.owner == owner && first.is_alias == is_alias && first.row != self.row {
                return true;
            }
        }
        let Some(first) = self.names.get(name.value.as_str()) else {
            self.names.insert(
                &name.value,
                NameDef {
                    span: &name.span,
                    owner,
                    is_alias,
                    row: self.row,
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
