//! The format's shape: the keys of each of its tables, in the order the
//! README documents them. The parser accepts exactly these (and suggests
//! the closest for any other); the JSON Schema and `limits export` are
//! tested against them. Schema 2 is the current format; schema 1 files
//! (one unnamed mode, `qpm` and `tpm` only) are read with the `_V1` keys.

/// The top level.
pub const ROOT: &[&str] = &["schema", "source", "section"];
/// `[source]`.
pub const SOURCE: &[&str] = &["provider", "url", "region", "retrieved", "note"];
/// `[[section]]`.
pub const SECTION: &[&str] = &["id", "mode", "title", "category", "note", "group"];
/// `[[section]]` in schema 1 (no `mode`).
pub const SECTION_V1: &[&str] = &["id", "title", "category", "note", "group"];
/// The kinds of limit a group may hold, as `crate::ir::Kind::key` names them:
/// the first keys of [`GROUP`].
pub const KINDS: &[&str] = GROUP.split_at(7).0;
/// `[[section.group]]`: the kinds, then the rest.
pub const GROUP: &[&str] = &[
    "rpm",
    "tpm",
    "rps",
    "submit_rps",
    "submit_rpm",
    "query_rps",
    "concurrency",
    "sync_unlimited",
    "pool",
    "retired",
    "note",
    "models",
];
/// `[[section.group]]` in schema 1.
pub const GROUP_V1: &[&str] = &["qpm", "tpm", "note", "models"];
/// A model written as a table in `models`.
pub const MODEL: &[&str] = &["id", "aliases", "rust_name", "deprecated", "replaced_by"];
/// A model table in schema 1.
pub const MODEL_V1: &[&str] = &["id", "aliases", "rust_name", "deprecated"];
/// The deployment modes, as `crate::ir::Deployment::id` names them.
pub const MODES: &[&str] = &["cn", "intl", "global", "us"];
