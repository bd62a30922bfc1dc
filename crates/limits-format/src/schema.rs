//! A JSON Schema of the limits file format, derived (schemars) from the
//! types below, for editors (Taplo, Tombi) that complete and check keys.
//!
//! The schema states keys, types, ranges and the id syntax; the rules that
//! span rows (uniqueness, Rust names) only the validator checks. A test
//! keeps these types' keys equal to the parser's.

use schemars::JsonSchema;

use crate::ident::MAX_ID_LEN;

/// The id syntax as a regex without look-around (editors' engines lack
/// it): a letter, then letters and digits, `.` only between two digits,
/// `-` between non-empty segments. Length is checked separately.
const ID_PATTERN: &str =
    r"^[A-Za-z](?:[A-Za-z]|[0-9](?:\.[0-9])*)*(?:[-/_](?:[A-Za-z]|[0-9](?:\.[0-9])*)+)*$";

/// An id: a model's, an alias or a section's (the rules of
/// [`crate::ident::check_id`]).
#[derive(JsonSchema)]
#[schemars(description = crate::ident::ID_SYNTAX)]
#[allow(dead_code)]
struct Id(#[schemars(regex(pattern = ID_PATTERN), length(min = 1, max = MAX_ID_LEN))] String);

/// A required text: not empty, not only whitespace.
#[derive(JsonSchema)]
#[allow(dead_code)]
struct Text(#[schemars(regex(pattern = r"\S"))] String);

/// A limit: a whole number from 1 to 4294967295.
#[derive(JsonSchema)]
#[allow(dead_code)]
struct Limit(#[schemars(range(min = 1, max = 4_294_967_295u32))] u32);

/// A token limit: a whole number from 1 to 9223372036854775807.
#[derive(JsonSchema)]
#[allow(dead_code)]
struct TokenLimit(#[schemars(range(min = 1, max = 9_223_372_036_854_775_807u64))] u64);

/// The Rust name syntax of [`crate::ident::check_rust_name`] as a regex
/// (keywords aside): an uppercase letter, then letters and digits, `_`
/// only between two digits.
const RUST_NAME_PATTERN: &str = r"^[A-Z](?:[A-Za-z]|[0-9](?:_[0-9])*)*$";

/// A rate-limit table (limits.toml): schema 3, or a schema 2 file of
/// deployment modes, or a schema 1 file of before them. `limits check` is the authority: it also
/// checks uniqueness of ids and aliases and the Rust names.
#[derive(JsonSchema)]
#[schemars(untagged, title = "limits.toml")]
#[allow(dead_code)] // only described, never built
enum LimitsFile {
    /// The current format.
    V3(FileV3),
    /// Deployment modes in place of regions and scopes.
    V2(FileV2),
    /// The format before deployment modes.
    V1(FileV1),
}

/// A schema 3 file: sections per region and deployment scope, any kind of
/// limit, dynamic limits.
#[derive(JsonSchema)]
#[schemars(deny_unknown_fields)]
#[allow(dead_code)]
struct FileV3 {
    /// The format version: 3.
    #[schemars(range(min = 3, max = 3))]
    schema: u32,
    /// Where the numbers come from.
    source: Source,
    /// The sections of the provider's table, in its order.
    #[schemars(length(min = 1))]
    section: Vec<SectionV3>,
}

/// An access region: where a call is sent.
#[derive(JsonSchema)]
#[allow(dead_code)]
enum Region {
    /// China (Beijing).
    #[serde(rename = "cn-beijing")]
    Beijing,
    /// Singapore.
    #[serde(rename = "ap-southeast-1")]
    Singapore,
    /// US (Virginia).
    #[serde(rename = "us-east-1")]
    Virginia,
    /// Germany (Frankfurt).
    #[serde(rename = "eu-central-1")]
    Frankfurt,
    /// Japan (Tokyo).
    #[serde(rename = "ap-northeast-1")]
    Tokyo,
    /// China (Hong Kong).
    #[serde(rename = "cn-hongkong")]
    HongKong,
}

/// A deployment scope: where inference runs.
#[derive(JsonSchema)]
#[allow(dead_code)]
enum Scope {
    /// Mainland China.
    #[serde(rename = "cn")]
    Cn,
    /// Anywhere but Mainland China.
    #[serde(rename = "intl")]
    Intl,
    /// Anywhere.
    #[serde(rename = "global")]
    Global,
    /// The US.
    #[serde(rename = "us")]
    Us,
    /// The EU.
    #[serde(rename = "eu")]
    Eu,
    /// Japan.
    #[serde(rename = "jp")]
    Jp,
    /// Hong Kong.
    #[serde(rename = "hk")]
    Hk,
}

/// Who shares a pooled budget.
#[derive(JsonSchema)]
#[allow(dead_code)]
enum Per {
    /// The account, over all its API keys.
    #[serde(rename = "account")]
    Account,
    /// Each API key.
    #[serde(rename = "api-key")]
    ApiKey,
}

/// One table of the provider's page in one region and scope; becomes a
/// `Section` variant.
#[derive(JsonSchema)]
#[schemars(deny_unknown_fields)]
#[allow(dead_code)]
struct SectionV3 {
    /// Unique id.
    id: Id,
    /// The region (tab) the limits hold in.
    region: Region,
    /// The deployment scope the limits hold in.
    scope: Scope,
    /// The title as the source gives it.
    title: Text,
    /// The heading above the section in the source.
    category: Option<String>,
    /// Free text.
    note: Option<String>,
    /// Rows of limits shared by the models they list.
    #[schemars(length(min = 1))]
    group: Vec<GroupV3>,
}

/// A row of a schema 3 file: a schema 2 row, and dynamic limits and who
/// shares a pool.
#[derive(JsonSchema)]
#[schemars(deny_unknown_fields)]
#[allow(dead_code)]
struct GroupV3 {
    /// Requests per minute.
    rpm: Option<Limit>,
    /// Tokens per minute (64-bit).
    tpm: Option<TokenLimit>,
    /// Requests per second.
    rps: Option<Limit>,
    /// Task submissions per second.
    submit_rps: Option<Limit>,
    /// Task submissions per minute.
    submit_rpm: Option<Limit>,
    /// Task queries per second.
    query_rps: Option<Limit>,
    /// Tasks in flight (asynchronous calls).
    concurrency: Option<Limit>,
    /// Synchronous calls are not limited in number in flight.
    sync_unlimited: Option<bool>,
    /// A dynamic limit: TPM by the account's spend tier, RPM unlimited by
    /// the table.
    dynamic: Option<bool>,
    /// A dynamic limit's TPM per spend tier, lowest tier first.
    #[schemars(length(min = 1, max = 4))]
    tpm_tiers: Option<Vec<TokenLimit>>,
    /// The limits are one budget for all the group's models together.
    pool: Option<Id>,
    /// Who shares the pool (default `account`).
    per: Option<Per>,
    /// Retired: `true`, or the date (a TOML date).
    retired: Option<Retirement>,
    /// Free text.
    note: Option<String>,
    /// The models sharing these limits.
    #[schemars(length(min = 1))]
    models: Vec<ModelEntry>,
}

/// A schema 2 file: sections per deployment mode, any kind of limit.
#[derive(JsonSchema)]
#[schemars(deny_unknown_fields)]
#[allow(dead_code)]
struct FileV2 {
    /// The format version: 2.
    #[schemars(range(min = 2, max = 2))]
    schema: u32,
    /// Where the numbers come from.
    source: Source,
    /// The sections of the provider's table, in its order.
    #[schemars(length(min = 1))]
    section: Vec<Section>,
}

/// A schema 1 file: one unnamed mode, `qpm` and `tpm` on every row.
#[derive(JsonSchema)]
#[schemars(deny_unknown_fields)]
#[allow(dead_code)]
struct FileV1 {
    /// The format version: 1.
    #[schemars(range(min = 1, max = 1))]
    schema: u32,
    /// Where the numbers come from.
    source: Source,
    /// The sections of the table.
    #[schemars(length(min = 1))]
    section: Vec<SectionV1>,
}

/// Where the numbers come from.
#[derive(JsonSchema)]
#[schemars(deny_unknown_fields)]
#[allow(dead_code)]
struct Source {
    /// Who publishes the limits.
    provider: Text,
    /// The page the limits were read from.
    url: Text,
    /// The deployment region the limits apply to.
    region: Option<String>,
    /// When the page was read: a TOML date, e.g. 2025-04-01.
    #[schemars(extend("format" = "date"))]
    retrieved: Option<String>,
    /// Free text.
    note: Option<String>,
}

/// A deployment mode: `cn` (Mainland China), `intl` (International),
/// `global`, `us`.
#[derive(JsonSchema)]
#[allow(dead_code)]
enum Mode {
    /// Mainland China (Beijing).
    #[serde(rename = "cn")]
    Cn,
    /// International (Singapore).
    #[serde(rename = "intl")]
    Intl,
    /// Global (US, Virginia).
    #[serde(rename = "global")]
    Global,
    /// US (Virginia; inference in the US).
    #[serde(rename = "us")]
    Us,
}

/// One table of the provider's page in one deployment mode; becomes a
/// `Section` variant.
#[derive(JsonSchema)]
#[schemars(deny_unknown_fields)]
#[allow(dead_code)]
struct Section {
    /// Unique id.
    id: Id,
    /// The deployment mode the limits hold in.
    mode: Mode,
    /// The title as the source gives it.
    title: Text,
    /// The heading above the section in the source.
    category: Option<String>,
    /// Free text.
    note: Option<String>,
    /// Rows of limits shared by the models they list.
    #[schemars(length(min = 1))]
    group: Vec<Group>,
}

/// A section of a schema 1 file.
#[derive(JsonSchema)]
#[schemars(deny_unknown_fields)]
#[allow(dead_code)]
struct SectionV1 {
    /// Unique id.
    id: Id,
    /// The title as the source gives it.
    title: Text,
    /// The heading above the section in the source.
    category: Option<String>,
    /// Free text.
    note: Option<String>,
    /// Rows of limits shared by the models they list.
    #[schemars(length(min = 1))]
    group: Vec<GroupV1>,
}

/// One row of limits shared by every model listed: at least one kind,
/// unless the group is retired.
#[derive(JsonSchema)]
#[schemars(deny_unknown_fields)]
#[allow(dead_code)]
struct Group {
    /// Requests per minute.
    rpm: Option<Limit>,
    /// Tokens per minute (64-bit).
    tpm: Option<TokenLimit>,
    /// Requests per second.
    rps: Option<Limit>,
    /// Task submissions per second.
    submit_rps: Option<Limit>,
    /// Task submissions per minute.
    submit_rpm: Option<Limit>,
    /// Task queries per second.
    query_rps: Option<Limit>,
    /// Tasks in flight (asynchronous calls).
    concurrency: Option<Limit>,
    /// Synchronous calls are not limited in number in flight.
    sync_unlimited: Option<bool>,
    /// The limits are one budget for all the group's models together.
    pool: Option<Id>,
    /// Retired: `true`, or the date (a TOML date).
    retired: Option<Retirement>,
    /// Free text.
    note: Option<String>,
    /// The models sharing these limits.
    #[schemars(length(min = 1))]
    models: Vec<ModelEntry>,
}

/// `true`, or a date.
#[derive(JsonSchema)]
#[schemars(untagged)]
#[allow(dead_code)]
enum Retirement {
    /// Retired; the page gives no date.
    Yes(#[schemars(extend("const" = true))] bool),
    /// Retired on this date.
    On(#[schemars(extend("format" = "date"))] String),
}

/// A row of a schema 1 file.
#[derive(JsonSchema)]
#[schemars(deny_unknown_fields)]
#[allow(dead_code)]
struct GroupV1 {
    /// Queries per minute.
    qpm: Limit,
    /// Tokens per minute.
    tpm: Limit,
    /// Free text.
    note: Option<String>,
    /// The models sharing these limits.
    #[schemars(length(min = 1))]
    models: Vec<ModelEntryV1>,
}

/// A model: its id, or a table with aliases, a Rust name, a deprecation
/// or a replacement.
#[derive(JsonSchema)]
#[schemars(untagged)]
#[allow(dead_code)]
enum ModelEntry {
    /// Just the id.
    Id(Id),
    /// The id and more.
    Table(ModelTable),
}

/// A model of a schema 1 file.
#[derive(JsonSchema)]
#[schemars(untagged)]
#[allow(dead_code)]
enum ModelEntryV1 {
    /// Just the id.
    Id(Id),
    /// The id and more.
    Table(ModelTableV1),
}

/// A model with aliases, a Rust name, a deprecation or a replacement.
#[derive(JsonSchema)]
#[schemars(deny_unknown_fields)]
#[allow(dead_code)]
struct ModelTable {
    /// The canonical id.
    id: Id,
    /// Other names of the model, each naming this model only.
    aliases: Option<Vec<Id>>,
    /// The `Model` variant's name instead of the one derived from the id.
    #[schemars(regex(pattern = RUST_NAME_PATTERN))]
    rust_name: Option<String>,
    /// Why the model is deprecated; the variant becomes `#[deprecated]`.
    deprecated: Option<String>,
    /// The id of the model that replaces this retired one.
    replaced_by: Option<Id>,
}

/// A model table of a schema 1 file.
#[derive(JsonSchema)]
#[schemars(deny_unknown_fields)]
#[allow(dead_code)]
struct ModelTableV1 {
    /// The canonical id, unique across the file.
    id: Id,
    /// Other names of the model, each unique across the file.
    aliases: Option<Vec<Id>>,
    /// The `Model` variant's name instead of the one derived from the id.
    #[schemars(regex(pattern = RUST_NAME_PATTERN))]
    rust_name: Option<String>,
    /// Why the model is deprecated; the variant becomes `#[deprecated]`.
    deprecated: Option<String>,
}

/// The JSON Schema of the format, pretty-printed, ending with a newline.
pub fn json_schema() -> String {
    let schema = schemars::schema_for!(LimitsFile);
    let mut text = serde_json::to_string_pretty(&schema).unwrap_or_default();
    text.push('\n');
    text
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::parse::keys;

    fn properties<'a>(schema: &'a serde_json::Value, def: Option<&str>) -> Vec<&'a str> {
        let object = match def {
            None => schema,
            Some(name) => &schema["$defs"][name],
        };
        let mut keys: Vec<&str> = object["properties"]
            .as_object()
            .unwrap_or_else(|| panic!("{def:?} has no properties"))
            .keys()
            .map(String::as_str)
            .collect();
        keys.sort_unstable();
        keys
    }

    fn sorted(keys: &[&'static str]) -> Vec<&'static str> {
        let mut keys = keys.to_vec();
        keys.sort_unstable();
        keys
    }

    #[test]
    fn the_schema_has_exactly_the_parsers_keys() {
        let schema: serde_json::Value = serde_json::from_str(&json_schema()).unwrap();
        assert_eq!(properties(&schema, Some("FileV3")), sorted(keys::ROOT));
        assert_eq!(properties(&schema, Some("FileV2")), sorted(keys::ROOT));
        assert_eq!(
            properties(&schema, Some("SectionV3")),
            sorted(keys::SECTION_V3)
        );
        assert_eq!(properties(&schema, Some("GroupV3")), sorted(keys::GROUP_V3));
        assert_eq!(properties(&schema, Some("FileV1")), sorted(keys::ROOT));
        assert_eq!(properties(&schema, Some("Source")), sorted(keys::SOURCE));
        assert_eq!(properties(&schema, Some("Section")), sorted(keys::SECTION));
        assert_eq!(
            properties(&schema, Some("SectionV1")),
            sorted(keys::SECTION_V1)
        );
        assert_eq!(properties(&schema, Some("Group")), sorted(keys::GROUP));
        assert_eq!(properties(&schema, Some("GroupV1")), sorted(keys::GROUP_V1));
        assert_eq!(properties(&schema, Some("ModelTable")), sorted(keys::MODEL));
        assert_eq!(
            properties(&schema, Some("ModelTableV1")),
            sorted(keys::MODEL_V1)
        );
    }

    #[test]
    fn the_rust_name_pattern_agrees_with_the_validator() {
        let regex = regex::Regex::new(RUST_NAME_PATTERN).unwrap();
        let alphabet = ["A", "z", "0", "9", "_", "-"];
        for s in &crate::ident::strings_over(&alphabet, 5) {
            assert_eq!(
                regex.is_match(s),
                crate::ident::check_rust_name(s).is_ok(),
                "{s:?}"
            );
        }
    }

    #[test]
    fn the_id_pattern_agrees_with_the_validator() {
        let schema: serde_json::Value = serde_json::from_str(&json_schema()).unwrap();
        let pattern = schema["$defs"]["Id"]["pattern"].as_str().unwrap();
        let regex = regex::Regex::new(pattern).unwrap();
        // Every string of up to five symbols of this alphabet: the pattern
        // accepts exactly what the validator accepts (length aside).
        let alphabet = ["a", "z", "0", "9", "-", ".", "A", "_"];
        let strings = crate::ident::strings_over(&alphabet, 5);
        for s in &strings {
            assert_eq!(
                regex.is_match(s),
                crate::ident::check_id(s).is_ok(),
                "{s:?}"
            );
        }
    }
}
