//! The format's shape: the keys of each of its tables, in the order the
//! README documents them. The parser accepts exactly these (and suggests
//! the closest for any other); the JSON Schema and `limits export` are
//! tested against them.

/// The top level.
pub const ROOT: &[&str] = &["schema", "source", "section"];
/// `[source]`.
pub const SOURCE: &[&str] = &["provider", "url", "region", "retrieved", "note"];
/// `[[section]]`.
pub const SECTION: &[&str] = &["id", "title", "category", "note", "group"];
/// `[[section.group]]`.
pub const GROUP: &[&str] = &["qpm", "tpm", "note", "models"];
/// A model written as a table in `models`.
pub const MODEL: &[&str] = &["id", "aliases", "rust_name", "deprecated"];
