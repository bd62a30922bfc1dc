//! The validated [`Table`] to Rust tokens, one function per item.
//!
//! Only two kinds of input reach the tokens: Rust names that passed
//! `limits_format::ident`, and literals built by proc-macro2 (which escapes them).
//! Free text (titles, notes) reaches doc comments only through
//! [`markdown_text`], which makes it one inert line of Markdown.

use proc_macro2::{Ident, Literal, Span, TokenStream};
use quote::quote;

use limits_format::ir::{Deployment, Limits, ModelRow, Per, Retired, Table};

use crate::markdown::markdown_text;
use crate::phash;

/// What the generated code is made of besides the table; checked by
/// [`crate::Builder`] before it reaches here.
pub(crate) struct Options {
    /// The path of the crate that defines `Limits`, `Source` and
    /// `UnknownModel` (e.g. `crate` or `::modelstudio_limits`).
    pub types: syn::Path,
    /// The name of the model enum.
    pub model: Ident,
    /// The name of the section enum.
    pub section: Ident,
    /// Derives added to both enums.
    pub derives: Vec<syn::Path>,
    /// Attributes added to both enums.
    pub attributes: Vec<syn::Attribute>,
    /// Whether to implement serde, and under which cargo feature.
    pub serde: crate::Serde,
    /// How `from_id` finds names (`Auto` is resolved by the table's size).
    pub lookup: crate::Lookup,
}

/// A part of the generated module: items as tokens (formatted by
/// prettyplease), or lines the emitter wrote (a data table of one line per
/// row, from validated identifiers and numbers only).
pub(crate) enum Piece {
    /// Whole items.
    Items(TokenStream),
    /// Whole items as text, one row per line.
    Lines(String),
}

/// Emits the items of a generated module, one part at a time.
///
/// Each call of `out` gets one or a few whole items, in file order, so the
/// caller can format them one at a time: a large table is never held as
/// one token stream or one syntax tree.
pub(crate) fn emit(table: &Table, options: &Options, sink: &mut dyn FnMut(Piece)) {
    // One variant per model: its first row names it; its rows in every
    // mode make its data.
    let grouped = table.rows_by_model();
    let model_paths: Vec<_> = grouped
        .iter()
        .map(|rows| variant(&options.model, &rows[0].model.rust_name))
        .collect();
    // The validator checked that every replacement names a model id.
    let names: std::collections::HashMap<&str, &TokenStream> = grouped
        .iter()
        .zip(&model_paths)
        .map(|(rows, path)| (rows[0].model.id.as_str(), path))
        .collect();
    let models: Vec<ModelData<'_>> = grouped
        .iter()
        .map(|rows| ModelData::of(rows, |by| names.get(by).map(|p| (*p).clone())))
        .collect();
    // Items that name every variant must not warn about deprecated ones.
    let allow = models
        .iter()
        .any(|m| m.deprecation.is_some())
        .then(|| quote!(#[allow(deprecated)]));
    let names = models.iter().map(|m| 1 + m.aliases.len()).sum();
    let lookup = options.lookup.resolve(names);
    let from_id = match lookup {
        crate::Lookup::Match => from_id_match(&models, &model_paths),
        _ => from_id_hash(),
    };
    model_items(
        &models,
        &model_paths,
        options,
        from_id,
        allow.as_ref(),
        sink,
    );
    let out = &mut |tokens: TokenStream| sink(Piece::Items(tokens));
    if lookup == crate::Lookup::PerfectHash {
        lookup_tokens(&models, &model_paths, &options.model, allow.as_ref(), out);
    }
    section_items(table, options, allow.as_ref(), out);
    out(trait_impls(options));
    out(serde_impls(
        &options.model,
        &options.serde,
        &table.source.provider,
    ));
    out(source_item(table, &options.types));
}

/// A model's row in one mode: the mode, its own limits, its pool (name
/// and limits).
type ModeData<'t> = (
    Deployment,
    Option<&'t Limits>,
    Option<(&'t str, &'t Limits, Per)>,
);

/// A model and everything its rows say, over every mode.
struct ModelData<'t> {
    row: &'t ModelRow<'t>,
    /// Every alias of every row, once, in file order.
    aliases: Vec<&'t str>,
    /// Per mode, in [`Deployment::ALL`] order: the model's own limits and
    /// its pool (name, limits). A schema 1 row holds in every mode.
    modes: Vec<ModeData<'t>>,
    /// The `#[deprecated]` note: given, or from the retirement of every row.
    deprecation: Option<String>,
    /// The variant of the replacing model.
    replacement: Option<TokenStream>,
}

impl<'t> ModelData<'t> {
    /// The data of a model's `rows` (its first names it); `path_of` is the
    /// path of the model with an id, for its replacement.
    fn of(rows: &'t [ModelRow<'t>], path_of: impl Fn(&str) -> Option<TokenStream>) -> Self {
        let first = &rows[0];
        let aliases = limits_format::ir::aliases_of(rows);
        let mut modes = Vec::new();
        for d in deployments_of(rows) {
            let mut own = None;
            let mut pool = None;
            for r in rows
                .iter()
                .filter(|r| r.section.mode.is_none_or(|m| m == d))
            {
                match &r.group.pool {
                    Some(name) => pool = Some((name.as_str(), &r.group.limits, r.group.per)),
                    None => own = Some(&r.group.limits),
                }
            }
            if own.is_some() || pool.is_some() {
                modes.push((d, own, pool));
            }
        }
        let retired = rows.iter().all(|r| r.group.retired.is_some());
        let replaced_by = rows.iter().find_map(|r| r.model.replaced_by.as_deref());
        let deprecation = first.model.deprecated.clone().or_else(|| {
            retired.then(|| {
                let when = match &first.group.retired {
                    Some(Retired::On(date)) => format!("retired on {date}"),
                    _ => "retired".to_string(),
                };
                match replaced_by {
                    Some(by) => format!("{when}; replaced by {by}"),
                    None => when,
                }
            })
        });
        ModelData {
            row: first,
            aliases,
            modes,
            deprecation,
            replacement: replaced_by.and_then(path_of),
        }
    }
}

/// The deployments a model's rows hold in, in order: each row's, and every
/// documented one for a schema 1 row (which names none).
fn deployments_of(rows: &[ModelRow<'_>]) -> Vec<Deployment> {
    let mut all: Vec<Deployment> = Vec::new();
    for r in rows {
        match r.section.mode {
            Some(d) => all.push(d),
            None => all.extend(Deployment::ALL),
        }
    }
    all.sort();
    all.dedup();
    all
}

/// `lim([...], sync)`: the call of the generated `lim` that makes the
/// limits, as text (numbers and `true`/`false` only); a dynamic limit
/// adds its tiers (`.with_tpm_tiers(&[..])`) or `.with_dynamic()`.
fn lim_text(limits: &Limits) -> String {
    let numbers: Vec<String> = limits_format::Kind::ALL
        .iter()
        .map(|&k| limits_format::group_digits(limits.get(k).unwrap_or(0), '_'))
        .collect();
    let base = format!("lim([{}], {})", numbers.join(", "), limits.sync_unlimited);
    match &limits.tpm_tiers {
        Some(tiers) => {
            let tiers: Vec<String> = tiers
                .iter()
                .map(|&n| limits_format::group_digits(n, '_'))
                .collect();
            format!("{base}.with_tpm_tiers(&[{}])", tiers.join(", "))
        }
        None if limits.dynamic => format!("{base}.with_dynamic()"),
        None => base,
    }
}

/// Whether a model's rows hold in every documented deployment, in
/// [`Deployment::ALL`]'s order (a schema 1 row).
fn in_every_mode(modes: &[ModeData<'_>]) -> bool {
    modes.iter().map(|(d, _, _)| *d).eq(Deployment::ALL)
}

/// The name of the generated constant for a deployment, e.g.
/// `BEIJING_CN` (only validated enum names reach it).
fn mode_const(d: Deployment) -> String {
    format!(
        "{}_{}",
        d.region.rust_name().to_ascii_uppercase(),
        d.scope.id().to_ascii_uppercase()
    )
}

/// `POOLS` and `MODE_ROWS` as text, one line per pool and per row (so a
/// data change is one changed line per model it touches), and where each
/// model's rows start. Only validated names, the model enum's name and
/// numbers reach the text; a pool's name is an escaped literal.
fn mode_rows(
    models: &[ModelData<'_>],
    model_enum: &Ident,
    allow: bool,
) -> (String, Vec<usize>, String) {
    let allow = if allow { "#[allow(deprecated)]\n" } else { "" };
    let mut pools: Vec<(&str, &Limits, Per)> = Vec::new();
    let mut rows = String::new();
    let mut first = Vec::with_capacity(models.len() + 1);
    let mut count = 0;
    for m in models {
        first.push(count);
        // One row per deployment (so that a change of one deployment's
        // limits is one changed line per model), but a model with the same
        // limits in every deployment (a schema 1 row) is one row, not ten.
        let mut grouped: Vec<(Vec<Deployment>, Option<&Limits>, usize)> = Vec::new();
        for (d, own, pool) in &m.modes {
            let pool = match pool {
                Some((name, limits, per)) => {
                    match pools
                        .iter()
                        .position(|p| p.0 == *name && p.1 == *limits && p.2 == *per)
                    {
                        Some(i) => i + 1,
                        None => {
                            pools.push((name, limits, *per));
                            pools.len()
                        }
                    }
                }
                None => 0,
            };
            grouped.push((vec![*d], *own, pool));
        }
        let same = grouped
            .windows(2)
            .all(|w| w[0].1 == w[1].1 && w[0].2 == w[1].2);
        if in_every_mode(&m.modes) && same {
            let (_, own, pool) = grouped[0];
            grouped = vec![(Deployment::ALL.to_vec(), own, pool)];
        }
        for (deployments, own, pool) in grouped {
            let own = match own {
                Some(l) => format!("Some({})", lim_text(l)),
                None => "None".to_string(),
            };
            let modes = match deployments.as_slice() {
                [one] => format!("in_mode({})", mode_const(*one)),
                _ => "EVERY_MODE".to_string(),
            };
            rows.push_str(&format!(
                "    ModeRow({model_enum}::{}, {modes}, {own}, {pool}),\n",
                m.row.model.rust_name,
            ));
            count += 1;
        }
    }
    first.push(count);
    let rows = format!(
        "/// One row per model and distinct limits, with the deployment modes that have\n\
         /// them, grouped by model in the order of the enum's variants.\n\
         {allow}const MODE_ROWS: &[ModeRow; {count}] = &[\n{rows}];\n"
    );
    let mut pool_lines = String::new();
    for (name, limits, per) in &pools {
        let per = match per {
            Per::Account => "Account",
            Per::ApiKey => "ApiKey",
        };
        pool_lines.push_str(&format!(
            "    Pool {{ name: {}, limits: {}, per: Per::{per} }},\n",
            Literal::string(name),
            lim_text(limits)
        ));
    }
    let pools = format!(
        "/// The pooled budgets: limits that several models share in one mode.\n\
         const POOLS: &[Pool; {}] = &[\n{pool_lines}];\n",
        pools.len()
    );
    (rows, first, pools)
}

fn deployment_path(d: Deployment) -> TokenStream {
    let c = ident(&mode_const(d));
    quote!(#c)
}

/// The model enum, its rows (one per model: id, limits per mode,
/// replacement), aliases and sections, and its inherent methods.
fn model_items(
    models: &[ModelData<'_>],
    model_paths: &[TokenStream],
    options: &Options,
    from_id: TokenStream,
    allow: Option<&TokenStream>,
    sink: &mut dyn FnMut(Piece),
) {
    let Options {
        types,
        model: model_enum,
        section: section_enum,
        derives,
        attributes,
        ..
    } = options;
    let model_doc = [
        format!(" Parse an id or an alias with [`{model_enum}::from_id`] or `str::parse`;"),
        format!(" [`{model_enum}::limits_in`] gives the model's limits in a deployment mode."),
        " Models are ordered by id, so the order does not change when rows move.".to_string(),
    ];
    let always = always_derived();
    let n = Literal::usize_unsuffixed(models.len());
    let variants = models.iter().map(|m| {
        let r = m.row;
        let name = ident(&r.model.rust_name);
        let modes: Vec<String> = m.modes.iter().map(|(d, _, _)| d.id()).collect();
        let modes = if in_every_mode(&m.modes) {
            "every deployment".to_string()
        } else {
            modes.join(", ")
        };
        let mut doc = vec![format!(
            " `{}` ({}; {modes}).",
            r.model.id,
            markdown_text(&r.section.title),
        )];
        if let Some(note) = &r.group.note {
            doc.push(String::new());
            doc.push(format!(" Note: {}", markdown_text(note)));
        }
        let deprecated = m.deprecation.as_ref().map(|reason| {
            let reason = Literal::string(reason);
            quote!(#[deprecated(note = #reason)])
        });
        quote! { #(#[doc = #doc])* #deprecated #name }
    });
    // As text, one line per model: a big table's deployments are never one
    // syntax tree (only generated constant names reach the text).
    let deployment_type = quote!(#types::Deployment).to_string().replace(' ', "");
    let every = format!("{deployment_type}::ALL");
    let mut deployments = format!(
        "const MODEL_DEPLOYMENTS: &[&[{deployment_type}]; {}] = &[\n",
        models.len()
    );
    for m in models {
        if in_every_mode(&m.modes) {
            deployments.push_str(&format!("    {every},\n"));
            continue;
        }
        let ds: Vec<String> = m.modes.iter().map(|(d, _, _)| mode_const(*d)).collect();
        deployments.push_str(&format!("    &[{}],\n", ds.join(", ")));
    }
    deployments.push_str("];\n");
    let aliases = models.iter().map(|m| {
        let a = m.aliases.iter().map(|a| Literal::string(a));
        quote!(&[#(#a),*])
    });
    let model_sections = models
        .iter()
        .map(|m| variant(section_enum, &m.row.section.rust_name));
    let (rows_text, first_rows, pools_text) = mode_rows(models, model_enum, allow.is_some());
    let k = Literal::usize_unsuffixed(first_rows.len());
    let first_rows = first_rows.iter().map(|&i| Literal::usize_unsuffixed(i));
    let mut used: Vec<Deployment> = models
        .iter()
        .flat_map(|m| m.modes.iter().map(|(d, _, _)| *d))
        .collect();
    used.sort();
    used.dedup();
    // Only the constants the rows name (a row in every mode names none).
    used.retain(|d| {
        let name = mode_const(*d);
        let named =
            |text: &str| text.contains(&format!("{name},")) || text.contains(&format!("{name}]"));
        named(&rows_text) || named(&deployments)
    });
    let modes = used.into_iter().map(|d| {
        let name = ident(&mode_const(d));
        let region = ident(d.region.rust_name());
        let scope = ident(d.scope.rust_name());
        quote!(const #name: #types::Deployment =
            #types::Deployment::new(#types::Region::#region, #types::Scope::#scope);)
    });
    sink(Piece::Items(quote! {
        /// Every model of the table, one variant per canonical id.
        ///
        #(#[doc = #model_doc])*
        #allow
        #[derive(#(#always,)* #(#derives),*)]
        #(#attributes)*
        #[non_exhaustive]
        pub enum #model_enum {
            #(#variants,)*
        }

        /// A model's row in some deployment modes: the model, the modes (a
        /// bit per mode's ordinal), its own limits, and its pooled budget
        /// (1 + its index in `POOLS`; 0: none).
        struct ModeRow(#model_enum, u64, Option<#types::Limits>, usize);

        /// The bits of every documented deployment mode.
        #[allow(dead_code)]
        const EVERY_MODE: u64 = in_modes(#types::Deployment::ALL);

        /// The bit of `mode`, as `ModeRow` keeps it.
        #[allow(dead_code)]
        const fn in_mode(mode: #types::Deployment) -> u64 {
            1 << mode.ordinal()
        }

        /// The bits of `modes`, as `ModeRow` keeps them.
        const fn in_modes(modes: &[#types::Deployment]) -> u64 {
            let mut bits = 0;
            let mut i = 0;
            while i < modes.len() {
                bits |= 1 << modes[i].ordinal();
                i += 1;
            }
            bits
        }

        #(#modes)*

        /// Limits from the table's numbers: requests and tokens per
        /// minute, requests per second, submissions per second and per
        /// minute, queries per second, tasks in flight (0: the row has no
        /// such limit), and whether synchronous calls are unlimited.
        const fn lim(n: [u64; 7], sync_unlimited: bool) -> #types::Limits {
            let mut l = #types::Limits::NONE;
            if n[0] > 0 {
                l = l.with_rpm(n[0] as u32);
            }
            if n[1] > 0 {
                l = l.with_tpm(n[1]);
            }
            if n[2] > 0 {
                l = l.with_rps(n[2] as u32);
            }
            if n[3] > 0 {
                l = l.with_submit_rps(n[3] as u32);
            }
            if n[4] > 0 {
                l = l.with_submit_rpm(n[4] as u32);
            }
            if n[5] > 0 {
                l = l.with_query_rps(n[5] as u32);
            }
            if n[6] > 0 {
                l = l.with_concurrency(n[6] as u32);
            }
            if sync_unlimited {
                l = l.with_sync_unlimited();
            }
            l
        }

        /// A model's replacement (`None`: none).
        struct Replacement(Option<#model_enum>);

        /// The pooled budget of `POOLS`' rows.
        type Pool = #types::Pool;
        /// Who shares a pooled budget (`POOLS`' rows name it; a table
        /// without pools names it nowhere).
        #[allow(dead_code)]
        type Per = #types::Per;
    }));
    sink(Piece::Lines(pools_text));
    sink(Piece::Lines(rows_text));
    let mut out = |tokens: TokenStream| sink(Piece::Items(tokens));
    let replacements = models.iter().map(|m| match &m.replacement {
        Some(path) => quote!(Replacement(Some(#path))),
        None => quote!(Replacement(None)),
    });
    out(quote! {
        /// Where each model's rows start in `MODE_ROWS`, and where the last
        /// one's end.
        const MODEL_FIRST_ROW: &[usize; #k] = &[#(#first_rows),*];

        /// One per model, in the order of the enum's variants.
        #allow
        const MODEL_REPLACEMENTS: &[Replacement; #n] = &[#(#replacements),*];
    });
    let ids = models.iter().map(|m| Literal::string(&m.row.model.id));
    out(quote!(const MODEL_IDS: &[&str; #n] = &[#(#ids),*];));
    sink(Piece::Lines(deployments));
    let mut out = |tokens: TokenStream| sink(Piece::Items(tokens));
    out(quote!(const MODEL_ALIASES: &[&[&str]; #n] = &[#(#aliases),*];));
    out(quote!(const MODEL_SECTIONS: &[#section_enum; #n] = &[#(#model_sections),*];));
    out(quote! {
        #allow
        impl #model_enum {
            /// Every model, in the order of the table.
            pub const ALL: &'static [#model_enum] = &[#(#model_paths),*];

            /// The canonical id, e.g. `"qwen-max"`.
            pub const fn id(self) -> &'static str {
                MODEL_IDS[self as usize]
            }

            /// The model's limits in a deployment mode, `None` where the
            /// table does not list it. For a model listed only in a pooled
            /// budget, the pool's limits (shared: see `pool_in`).
            pub const fn limits_in(self, deployment: #types::Deployment) -> Option<#types::Limits> {
                match self.mode_row(deployment) {
                    Some(ModeRow(_, _, Some(limits), _)) => Some(*limits),
                    Some(ModeRow(_, _, None, pool)) if *pool > 0 => Some(POOLS[*pool - 1].limits),
                    _ => None,
                }
            }

            /// The pooled budget the model takes part in, in a mode.
            pub const fn pool_in(self, deployment: #types::Deployment) -> Option<#types::Pool> {
                match self.mode_row(deployment) {
                    Some(ModeRow(_, _, _, pool)) if *pool > 0 => Some(POOLS[*pool - 1]),
                    _ => None,
                }
            }

            /// The deployment modes whose tables list the model.
            pub const fn deployments(self) -> &'static [#types::Deployment] {
                MODEL_DEPLOYMENTS[self as usize]
            }

            /// The model that replaces this retired one, as the table names it.
            pub const fn replaced_by(self) -> Option<#model_enum> {
                MODEL_REPLACEMENTS[self as usize].0
            }

            /// Other names the provider accepts for this model.
            pub const fn aliases(self) -> &'static [&'static str] {
                MODEL_ALIASES[self as usize]
            }

            /// The section of the table that first lists this model.
            pub const fn section(self) -> #section_enum {
                MODEL_SECTIONS[self as usize]
            }

            const fn mode_row(self, deployment: #types::Deployment) -> Option<&'static ModeRow> {
                let bit = 1 << deployment.ordinal();
                let mut i = MODEL_FIRST_ROW[self as usize];
                while i < MODEL_FIRST_ROW[self as usize + 1] {
                    let row = &MODE_ROWS[i];
                    if row.0 as usize == self as usize && row.1 & bit != 0 {
                        return Some(row);
                    }
                    i += 1;
                }
                None
            }

            /// The model with this id or alias (exact, case-sensitive).
            #from_id
        }
    });
}

/// `from_id` as a `match` on the name's bytes: one arm per model, its id
/// and aliases (LLVM switches on the length, then compares words).
fn from_id_match(models: &[ModelData<'_>], model_paths: &[TokenStream]) -> TokenStream {
    let arms = models.iter().zip(model_paths).map(|(m, path)| {
        let names = std::iter::once(m.row.model.id.as_str())
            .chain(m.aliases.iter().copied())
            .map(|n| Literal::byte_string(n.as_bytes()));
        quote!(#(#names)|* => Some(#path),)
    });
    quote! {
        ///
        /// A `match` on the name's bytes, one arm per model.
        pub const fn from_id(id: &str) -> Option<Self> {
            match id.as_bytes() {
                #(#arms)*
                _ => None,
            }
        }
    }
}

/// `from_id` through the perfect hash of [`lookup_tokens`].
fn from_id_hash() -> TokenStream {
    quote! {
        ///
        /// A perfect hash built by the generator: one hash of `id`, two
        /// table loads and one comparison, whatever the table's size.
        pub const fn from_id(id: &str) -> Option<Self> {
            let bytes = id.as_bytes();
            let hash = lookup_hash(bytes, LOOKUP_SEED);
            let bucket = lookup_bucket(hash, LOOKUP_DISPLACEMENTS.len());
            let slot = lookup_slot(hash, LOOKUP_DISPLACEMENTS[bucket], LOOKUP_BITS);
            if lookup_eq(LOOKUP_NAMES[slot].as_bytes(), bytes) {
                LOOKUP_MODELS[slot]
            } else {
                None
            }
        }
    }
}

/// The section enum, its rows (id, title, category), its models and its
/// inherent methods.
fn section_items(
    table: &Table,
    options: &Options,
    allow: Option<&TokenStream>,
    out: &mut dyn FnMut(TokenStream),
) {
    let Options {
        model: model_enum,
        section: section_enum,
        derives,
        attributes,
        ..
    } = options;
    let always = always_derived();
    let sections = &table.sections;
    let s = Literal::usize_unsuffixed(sections.len());
    let section_variants = sections.iter().map(|sec| {
        let name = ident(&sec.rust_name);
        let doc = format!(" `{}`: {}.", sec.id, markdown_text(&sec.title));
        quote! { #[doc = #doc] #name }
    });
    let section_paths = sections
        .iter()
        .map(|sec| variant(section_enum, &sec.rust_name));
    let types = &options.types;
    let section_rows = sections.iter().map(|sec| {
        let id = Literal::string(&sec.id);
        let title = Literal::string(&sec.title);
        let category = option_str(sec.category.as_deref());
        let mode = match sec.mode {
            Some(d) => {
                let d = deployment_path(d);
                quote!(Some(#d))
            }
            None => quote!(None),
        };
        quote!(SectionRow(#id, #title, #category, #mode))
    });
    let section_models = sections.iter().map(|sec| {
        let models = sec
            .groups
            .iter()
            .flat_map(|g| &g.models)
            .map(|m| variant(model_enum, &m.rust_name));
        quote!(&[#(#models),*])
    });
    out(quote! {
        /// The sections of the table, as the provider's page groups models,
        /// ordered by id.
        #[derive(#(#always,)* #(#derives),*)]
        #(#attributes)*
        #[non_exhaustive]
        pub enum #section_enum {
            #(#section_variants,)*
        }

        /// A section's row: its id, title, category and deployment mode.
        struct SectionRow(
            &'static str,
            &'static str,
            Option<&'static str>,
            Option<#types::Deployment>,
        );

        /// One row per section, in the order of the enum's variants.
        const SECTION_ROWS: &[SectionRow; #s] = &[#(#section_rows),*];
    });
    out(quote! {
        #allow
        const SECTION_MODELS: &[&[#model_enum]; #s] = &[#(#section_models),*];
    });
    out(quote! {
        impl #section_enum {
            /// Every section, in the order of the table.
            pub const ALL: &'static [#section_enum] = &[#(#section_paths),*];

            /// The section's id, e.g. `"qwen"`.
            pub const fn id(self) -> &'static str {
                SECTION_ROWS[self as usize].0
            }

            /// The section's title as the source gives it.
            pub const fn title(self) -> &'static str {
                SECTION_ROWS[self as usize].1
            }

            /// The heading above the section in the source, if any.
            pub const fn category(self) -> Option<&'static str> {
                SECTION_ROWS[self as usize].2
            }

            /// The deployment mode of the section's limits (`None`: every
            /// mode, as a table without modes says).
            pub const fn deployment(self) -> Option<#types::Deployment> {
                SECTION_ROWS[self as usize].3
            }

            /// The models of the section, in table order.
            pub const fn models(self) -> &'static [#model_enum] {
                SECTION_MODELS[self as usize]
            }
        }
    });
}

/// `SOURCE`: where the table comes from.
fn source_item(table: &Table, types: &syn::Path) -> TokenStream {
    let src = &table.source;
    let provider = Literal::string(&src.provider);
    let url = Literal::string(&src.url);
    let region = option_str(src.region.as_deref());
    let retrieved = option_str(src.retrieved.as_deref());
    let note = option_str(src.note.as_deref());
    quote! {
        /// Where the table comes from.
        pub const SOURCE: #types::Source = #types::Source {
            provider: #provider,
            url: #url,
            region: #region,
            retrieved: #retrieved,
            note: #note,
        };
    }
}

/// The tables and functions of the perfect-hash lookup of every id and
/// alias (see [`crate::phash`]).
fn lookup_tokens(
    models: &[ModelData<'_>],
    model_paths: &[TokenStream],
    model_enum: &Ident,
    allow: Option<&TokenStream>,
    out: &mut dyn FnMut(TokenStream),
) {
    let names: Vec<(&str, &TokenStream)> = models
        .iter()
        .zip(model_paths)
        .flat_map(|(m, path)| {
            std::iter::once(m.row.model.id.as_str())
                .chain(m.aliases.iter().copied())
                .map(move |name| (name, path))
        })
        .collect();
    let keys: Vec<&[u8]> = names.iter().map(|(n, _)| n.as_bytes()).collect();
    let hash = phash::build(&keys);
    let seed = Literal::u64_unsuffixed(hash.seed);
    let bits = Literal::u32_unsuffixed(hash.bits);
    let m = Literal::usize_unsuffixed(hash.slots.len());
    let b = Literal::usize_unsuffixed(hash.displacements.len());
    let displacements = hash
        .displacements
        .iter()
        .map(|&d| Literal::u32_unsuffixed(d));
    let slot_names = hash.slots.iter().map(|slot| match slot {
        Some(i) => Literal::string(names[*i].0),
        None => Literal::string(""),
    });
    let slot_models = hash.slots.iter().map(|slot| match slot {
        Some(i) => {
            let path = names[*i].1;
            quote!(Some(#path))
        }
        None => quote!(None),
    });
    let fns: syn::File =
        syn::parse_str(LOOKUP_FNS).expect("lookup_fns.rs is valid Rust (it is compiled too)");
    // The functions only; the file's own tests stay behind.
    let fns = fns
        .items
        .into_iter()
        .filter(|item| matches!(item, syn::Item::Fn(_)));
    out(quote! {
        const LOOKUP_SEED: u64 = #seed;
        const LOOKUP_BITS: u32 = #bits;
        const LOOKUP_DISPLACEMENTS: &[u32; #b] = &[#(#displacements),*];
    });
    out(quote!(const LOOKUP_NAMES: &[&str; #m] = &[#(#slot_names),*];));
    out(quote! {
        #allow
        const LOOKUP_MODELS: &[Option<#model_enum>; #m] = &[#(#slot_models),*];
    });
    out(quote!(#(#fns)*));
}

/// The source of the lookup functions, emitted into every generated module.
const LOOKUP_FNS: &str = include_str!("lookup_fns.rs");

fn ident(name: &str) -> Ident {
    Ident::new(name, Span::call_site())
}

/// The derives of both enums ([`crate::DERIVES`]).
fn always_derived() -> impl Iterator<Item = Ident> {
    crate::DERIVES.iter().map(|d| ident(d))
}

/// `PartialOrd` and `Ord` of `enum_name` by id ([`crate::IMPLEMENTED`]).
fn ord_by_id(enum_name: &Ident) -> TokenStream {
    quote! {
        impl ::core::cmp::PartialOrd for #enum_name {
            fn partial_cmp(&self, other: &Self) -> Option<::core::cmp::Ordering> {
                Some(::core::cmp::Ord::cmp(self, other))
            }
        }

        impl ::core::cmp::Ord for #enum_name {
            /// By id: stable when rows move in the table.
            fn cmp(&self, other: &Self) -> ::core::cmp::Ordering {
                self.id().cmp(other.id())
            }
        }
    }
}

/// `Enum::Variant`.
fn variant(enum_name: &Ident, name: &str) -> TokenStream {
    let v = ident(name);
    quote!(#enum_name::#v)
}

fn option_str(s: Option<&str>) -> TokenStream {
    match s {
        Some(s) => {
            let lit = Literal::string(s);
            quote!(Some(#lit))
        }
        None => quote!(None),
    }
}

/// `Ord` of both enums, `FromStr`, `TryFrom<&str>`, `Display` and
/// `AsRef<str>` of the model enum, `Display` of the section enum.
fn trait_impls(options: &Options) -> TokenStream {
    let Options {
        types,
        model: model_enum,
        section: section_enum,
        ..
    } = options;
    let model_ord = ord_by_id(model_enum);
    let section_ord = ord_by_id(section_enum);
    quote! {
        #model_ord
        #section_ord

        impl ::core::str::FromStr for #model_enum {
            type Err = #types::UnknownModel;

            /// Parses an id or an alias, exactly (case-sensitive).
            fn from_str(s: &str) -> ::core::result::Result<Self, Self::Err> {
                match #model_enum::from_id(s) {
                    Some(model) => Ok(model),
                    None => Err(#types::UnknownModel::new()),
                }
            }
        }

        impl ::core::convert::TryFrom<&str> for #model_enum {
            type Error = #types::UnknownModel;

            /// Parses an id or an alias, as `str::parse` does.
            fn try_from(s: &str) -> ::core::result::Result<Self, Self::Error> {
                s.parse()
            }
        }

        impl ::core::fmt::Display for #model_enum {
            /// Writes the canonical id.
            fn fmt(&self, f: &mut ::core::fmt::Formatter<'_>) -> ::core::fmt::Result {
                f.write_str(self.id())
            }
        }

        impl #types::HasLimits for #model_enum {
            fn id(&self) -> &str {
                #model_enum::id(*self)
            }
            fn limits_in(&self, deployment: #types::Deployment) -> Option<#types::Limits> {
                #model_enum::limits_in(*self, deployment)
            }
            fn pool_in(&self, deployment: #types::Deployment) -> Option<#types::Pool> {
                #model_enum::pool_in(*self, deployment)
            }
        }

        impl ::core::convert::AsRef<str> for #model_enum {
            /// The canonical id.
            fn as_ref(&self) -> &str {
                self.id()
            }
        }

        impl ::core::fmt::Display for #section_enum {
            /// Writes the section's title.
            fn fmt(&self, f: &mut ::core::fmt::Formatter<'_>) -> ::core::fmt::Result {
                f.write_str(self.title())
            }
        }
    }
}

/// serde's `Serialize` (as the id) and `Deserialize` (from an id or an
/// alias) for the model enum, behind a cargo feature if asked.
fn serde_impls(model_enum: &Ident, serde: &crate::Serde, provider: &str) -> TokenStream {
    let cfg = match serde {
        crate::Serde::Off => return TokenStream::new(),
        crate::Serde::On => None,
        crate::Serde::Feature(feature) => {
            let feature = Literal::string(feature);
            Some(quote!(#[cfg(feature = #feature)]))
        }
    };
    let expecting = Literal::string(&format!("a model id or alias of the {provider} table"));
    quote! {
        #cfg
        impl ::serde::Serialize for #model_enum {
            /// Serializes the canonical id.
            fn serialize<S: ::serde::Serializer>(
                &self,
                serializer: S,
            ) -> ::core::result::Result<S::Ok, S::Error> {
                serializer.serialize_str(self.id())
            }
        }

        #cfg
        impl<'de> ::serde::Deserialize<'de> for #model_enum {
            /// Accepts an id or an alias.
            fn deserialize<D: ::serde::Deserializer<'de>>(
                deserializer: D,
            ) -> ::core::result::Result<Self, D::Error> {
                struct IdVisitor;

                impl ::serde::de::Visitor<'_> for IdVisitor {
                    type Value = #model_enum;

                    fn expecting(&self, f: &mut ::core::fmt::Formatter<'_>) -> ::core::fmt::Result {
                        f.write_str(#expecting)
                    }

                    fn visit_str<E: ::serde::de::Error>(
                        self,
                        v: &str,
                    ) -> ::core::result::Result<#model_enum, E> {
                        match #model_enum::from_id(v) {
                            Some(model) => Ok(model),
                            None => Err(E::invalid_value(::serde::de::Unexpected::Str(v), &self)),
                        }
                    }
                }

                deserializer.deserialize_str(IdVisitor)
            }
        }
    }
}
