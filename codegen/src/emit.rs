//! The validated [`Table`] to Rust tokens, one function per item.
//!
//! Only two kinds of input reach the tokens: Rust names that passed
//! `limits_format::ident`, and literals built by proc-macro2 (which escapes them).
//! Free text (titles, notes) reaches doc comments only through
//! [`markdown_text`], which makes it one inert line of Markdown.

use proc_macro2::{Ident, Literal, Span, TokenStream};
use quote::quote;

use limits_format::ir::{ModelRow, Table};

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

/// Emits the items of a generated module, one part at a time.
///
/// Each call of `out` gets one or a few whole items, in file order, so the
/// caller can format them one at a time: a large table is never held as
/// one token stream or one syntax tree.
pub(crate) fn emit(table: &Table, options: &Options, out: &mut dyn FnMut(TokenStream)) {
    let rows: Vec<_> = table.models().collect();
    let model_paths: Vec<_> = rows
        .iter()
        .map(|r| variant(&options.model, &r.model.rust_name))
        .collect();
    // Items that name every variant must not warn about deprecated ones.
    let allow = rows
        .iter()
        .any(|r| r.model.deprecated.is_some())
        .then(|| quote!(#[allow(deprecated)]));
    let names = rows.iter().map(|r| 1 + r.model.aliases.len()).sum();
    let lookup = options.lookup.resolve(names);
    let from_id = match lookup {
        crate::Lookup::Match => from_id_match(&rows, &model_paths),
        _ => from_id_hash(),
    };
    model_items(&rows, &model_paths, options, from_id, allow.as_ref(), out);
    if lookup == crate::Lookup::PerfectHash {
        lookup_tokens(&rows, &model_paths, &options.model, allow.as_ref(), out);
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

/// The model enum, its rows (one per model: id, QPM, TPM), aliases and
/// sections, and its inherent methods.
fn model_items(
    rows: &[ModelRow<'_>],
    model_paths: &[TokenStream],
    options: &Options,
    from_id: TokenStream,
    allow: Option<&TokenStream>,
    out: &mut dyn FnMut(TokenStream),
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
        format!(" [`{model_enum}::limits`] gives the model's QPM and TPM. Models are"),
        " ordered by id, so the order does not change when rows move.".to_string(),
    ];
    let always = always_derived();
    let n = Literal::usize_unsuffixed(rows.len());
    let variants = rows.iter().map(|r| {
        let name = ident(&r.model.rust_name);
        let mut doc = vec![format!(
            " `{}` ({}).",
            r.model.id,
            markdown_text(&r.section.title)
        )];
        if let Some(note) = &r.group.note {
            doc.push(String::new());
            doc.push(format!(" Note: {}", markdown_text(note)));
        }
        let deprecated = r.model.deprecated.as_ref().map(|reason| {
            let reason = Literal::string(reason);
            quote!(#[deprecated(note = #reason)])
        });
        quote! { #(#[doc = #doc])* #deprecated #name }
    });
    let model_rows = rows.iter().map(|r| {
        let id = Literal::string(&r.model.id);
        let (qpm, tpm) = (number(r.group.qpm), number(r.group.tpm));
        quote!(ModelRow(#id, #qpm, #tpm))
    });
    let aliases = rows.iter().map(|r| {
        let a = r.model.aliases.iter().map(|a| Literal::string(a));
        quote!(&[#(#a),*])
    });
    let model_sections = rows
        .iter()
        .map(|r| variant(section_enum, &r.section.rust_name));
    out(quote! {
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

        /// A model's row of the table: its id, QPM and TPM.
        struct ModelRow(&'static str, u32, u32);
    });
    out(quote! {
        /// One row per model, in the order of the enum's variants.
        const MODEL_ROWS: &[ModelRow; #n] = &[#(#model_rows),*];
    });
    out(quote!(const MODEL_ALIASES: &[&[&str]; #n] = &[#(#aliases),*];));
    out(quote!(const MODEL_SECTIONS: &[#section_enum; #n] = &[#(#model_sections),*];));
    out(quote! {
        #allow
        impl #model_enum {
            /// Every model, in the order of the table.
            pub const ALL: &'static [#model_enum] = &[#(#model_paths),*];

            /// The canonical id, e.g. `"qwen-max"`.
            pub const fn id(self) -> &'static str {
                MODEL_ROWS[self as usize].0
            }

            /// The model's queries-per-minute and tokens-per-minute limits.
            pub const fn limits(self) -> #types::Limits {
                let ModelRow(_, qpm, tpm) = MODEL_ROWS[self as usize];
                #types::Limits { qpm, tpm }
            }

            /// Other names the provider accepts for this model.
            pub const fn aliases(self) -> &'static [&'static str] {
                MODEL_ALIASES[self as usize]
            }

            /// The section of the table that lists this model.
            pub const fn section(self) -> #section_enum {
                MODEL_SECTIONS[self as usize]
            }

            /// The model with this id or alias (exact, case-sensitive).
            #from_id
        }
    });
}

/// `from_id` as a `match` on the name's bytes: one arm per model, its id
/// and aliases (LLVM switches on the length, then compares words).
fn from_id_match(rows: &[ModelRow<'_>], model_paths: &[TokenStream]) -> TokenStream {
    let arms = rows.iter().zip(model_paths).map(|(r, path)| {
        let names = std::iter::once(&r.model.id)
            .chain(&r.model.aliases)
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
    let section_rows = sections.iter().map(|sec| {
        let id = Literal::string(&sec.id);
        let title = Literal::string(&sec.title);
        let category = option_str(sec.category.as_deref());
        quote!(SectionRow(#id, #title, #category))
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

        /// A section's row: its id, title and category.
        struct SectionRow(&'static str, &'static str, Option<&'static str>);

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
    rows: &[ModelRow<'_>],
    model_paths: &[TokenStream],
    model_enum: &Ident,
    allow: Option<&TokenStream>,
    out: &mut dyn FnMut(TokenStream),
) {
    let names: Vec<(&str, &TokenStream)> = rows
        .iter()
        .zip(model_paths)
        .flat_map(|(r, path)| {
            std::iter::once(&r.model.id)
                .chain(&r.model.aliases)
                .map(move |name| (name.as_str(), path))
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

/// A number as limits.toml writes it: `1_000_000`.
fn number(n: u32) -> Literal {
    limits_format::group_digits(n, '_')
        .parse()
        .expect("digits and underscores are an integer literal")
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
            fn limits(&self) -> #types::Limits {
                #model_enum::limits(*self)
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
