//! `limits.schema.json` under a real JSON Schema validator (the jsonschema
//! crate), on TOML converted to JSON as editors convert it (dates become
//! strings): every good fixture and limits.toml pass, and every bad
//! fixture fails unless its only mistakes are ones JSON Schema cannot
//! state (listed below with the reason).

use std::path::{Path, PathBuf};

/// Bad fixtures the schema cannot flag, and why.
const BEYOND_THE_SCHEMA: &[(&str, &str)] = &[
    ("alias_repeats_id.toml", "uniqueness across the file"),
    ("duplicate_models.toml", "uniqueness across the file"),
    ("duplicate_sections.toml", "uniqueness across the file"),
    ("id_twice_in_one_mode.toml", "uniqueness across the file"),
    (
        "rust_name_per_row.toml",
        "agreement between rows of one model",
    ),
    ("unknown_replacement.toml", "ids named across the file"),
    (
        "group_without_limits.toml",
        "at least one kind of limit, unless retired: stated in the description only",
    ),
    ("rust_name_keyword.toml", "Rust names derived from ids"),
    (
        "rust_name_override_twice.toml",
        "uniqueness across the file",
    ),
    (
        "retrieved_is_a_string.toml",
        "a TOML date and a string are one JSON type",
    ),
    (
        "schema_float.toml",
        "JSON has one number type: 1.0 is the integer 1",
    ),
];

fn fixtures(kind: &str) -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(kind);
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "toml"))
        .collect();
    files.sort();
    files
}

/// TOML as JSON, the way Taplo hands it to the schema; `None` if the file
/// is not TOML at all (a syntax error no schema sees).
fn to_json(path: &Path) -> Option<serde_json::Value> {
    let text = std::fs::read_to_string(path).ok()?;
    let value: toml::Value = toml::from_str(&text).ok()?;
    Some(json(value))
}

fn json(value: toml::Value) -> serde_json::Value {
    use serde_json::Value as J;
    match value {
        toml::Value::String(s) => J::String(s),
        toml::Value::Integer(i) => J::from(i),
        toml::Value::Float(f) => J::from(f),
        toml::Value::Boolean(b) => J::Bool(b),
        toml::Value::Datetime(d) => J::String(d.to_string()),
        toml::Value::Array(a) => J::Array(a.into_iter().map(json).collect()),
        toml::Value::Table(t) => J::Object(t.into_iter().map(|(k, v)| (k, json(v))).collect()),
    }
}

fn validator() -> jsonschema::Validator {
    let schema: serde_json::Value = serde_json::from_str(&limits_format::json_schema()).unwrap();
    jsonschema::options()
        .should_validate_formats(true)
        .build(&schema)
        .unwrap()
}

#[test]
fn good_tables_pass() {
    let validator = validator();
    let real = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../limits.toml");
    for path in fixtures("good").into_iter().chain([real]) {
        let value = to_json(&path).unwrap();
        let errors: Vec<String> = validator
            .iter_errors(&value)
            .map(|e| e.to_string())
            .collect();
        assert!(errors.is_empty(), "{}: {errors:#?}", path.display());
    }
}

#[test]
fn bad_fixtures_fail_unless_their_mistake_is_beyond_json_schema() {
    let validator = validator();
    let mut flagged = 0;
    let mut wrong = Vec::new();
    for path in fixtures("bad") {
        let name = path.file_name().unwrap().to_str().unwrap();
        let Some(value) = to_json(&path) else {
            continue; // not TOML: the editor's TOML parser reports it
        };
        let beyond = BEYOND_THE_SCHEMA.iter().any(|(n, _)| *n == name);
        if validator.is_valid(&value) != beyond {
            wrong.push(format!(
                "{name}: the schema {} it",
                if beyond { "flags" } else { "accepts" }
            ));
        }
        flagged += usize::from(!beyond);
    }
    assert!(wrong.is_empty(), "{wrong:#?}");
    assert!(flagged >= 20, "{flagged}");
}

#[test]
fn limits_beyond_u32_are_refused() {
    let validator = validator();
    let good = fixtures("good")
        .into_iter()
        .find(|p| p.ends_with("minimal.toml"))
        .unwrap();
    let value = to_json(&good).unwrap();
    let with = |key: &str, n: serde_json::Value| {
        let mut value = value.clone();
        value["section"][0]["group"][0][key] = n;
        validator.is_valid(&value)
    };
    assert!(!with("tpm", serde_json::json!(5_000_000_000u64)));
    assert!(with("tpm", serde_json::json!(u32::MAX)));
    assert!(!with("qpm", serde_json::json!(0)));
}
