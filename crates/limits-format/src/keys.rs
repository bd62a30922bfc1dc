//! The format's shape: the keys of each of its tables, in the order the
//! README documents them. The parser accepts exactly these (and suggests
//! the closest for any other); the JSON Schema and `limits export` are
//! tested against them. Schema 3 is the current format; schema 2 files (`mode` in place
//! of `region` and `scope`) and schema 1 files
//! (one unnamed mode, `qpm` and `tpm` only) are read with the `_V1` keys.

/// The top level.
pub const ROOT: &[&str] = &["schema", "source", "section"];
/// `[source]`.
pub const SOURCE: &[&str] = &["provider", "url", "region", "retrieved", "note"];
/// `[[section]]`.
pub const SECTION: &[&str] = &["id", "mode", "title", "category", "note", "group"];
/// `[[section]]` in schema 3: a region and a scope in place of the mode.
pub const SECTION_V3: &[&str] = &[
    "id", "region", "scope", "title", "category", "note", "group",
];
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
/// `[[section.group]]` in schema 3: [`GROUP`] with a dynamic limit's
/// tiers and who shares a pool.
pub const GROUP_V3: &[&str] = &[
    "rpm",
    "tpm",
    "rps",
    "submit_rps",
    "submit_rpm",
    "query_rps",
    "concurrency",
    "sync_unlimited",
    "dynamic",
    "tpm_tiers",
    "pool",
    "per",
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
/// The deployment modes of schema 2, in the order of the first four of
/// `crate::ir::Deployment::ALL`, which they map to.
pub const MODES: &[&str] = &["cn", "intl", "global", "us"];
/// The regions of schema 3, as `crate::ir::Region::id` names them.
pub const REGIONS: &[&str] = &[
    "cn-beijing",
    "ap-southeast-1",
    "us-east-1",
    "eu-central-1",
    "ap-northeast-1",
    "cn-hongkong",
];
/// The deployment scopes of schema 3, as `crate::ir::Scope::id` names them.
pub const SCOPES: &[&str] = &["cn", "intl", "global", "us", "eu", "jp", "hk"];
/// Who shares a pool (`per`), as `crate::ir::Per::id` names them.
pub const PER: &[&str] = &["account", "api-key"];
