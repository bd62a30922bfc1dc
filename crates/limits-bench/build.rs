//! Generates, into OUT_DIR, what the benchmarks compare:
//! - `big.rs`: limits-codegen's code for a synthetic table of 10,000 models
//!   (its compiling is itself the scale test of the generator's output);
//! - `phf_real.rs`, `phf_big.rs`: phf maps from every id and alias to the
//!   model's index, for the real table and the synthetic one;
//! - `match_real.rs`: a sequential `match` on `&str`, as strum's
//!   `EnumString` derives it.

use std::fmt::Write as _;
use std::path::Path;

#[path = "src/synthetic.rs"]
mod synthetic;

pub const BIG: usize = 10_000;
/// The synthetic table generated with both lookups (220 names: under
/// `Lookup::MATCH_MAX_NAMES`).
pub const SMALL: usize = 200;

fn main() {
    let out = std::env::var("OUT_DIR").unwrap();
    let out = Path::new(&out);
    println!("cargo::rerun-if-changed=src/synthetic.rs");
    println!("cargo::rerun-if-changed=../../limits.toml");

    let mut config = limits_codegen::Builder::new();
    config.command("the build script of limits-bench");
    // The 10,000 models only with feature `ten-thousand`: compiling them is
    // most of this crate's build.
    if std::env::var_os("CARGO_FEATURE_TEN_THOUSAND").is_some() {
        let big_toml = synthetic::table(BIG);
        let big =
            limits_format::parse("synthetic.toml", &big_toml).expect("synthetic table is valid");
        let mut config = config.clone();
        config.input_name("a synthetic table of 10,000 models");
        std::fs::write(out.join("big.rs"), config.generate(&big).unwrap()).unwrap();
        std::fs::write(out.join("phf_big.rs"), phf_of(&big)).unwrap();
    }

    // Generated code with a deprecated model must compile without warnings
    // (clippy -D warnings builds this crate).
    println!("cargo::rerun-if-changed=../limits-format/tests/fixtures/good/deprecated.toml");
    let deprecated_toml =
        std::fs::read_to_string("../limits-format/tests/fixtures/good/deprecated.toml").unwrap();
    let deprecated = limits_format::parse("deprecated.toml", &deprecated_toml).unwrap();
    std::fs::write(
        out.join("deprecated.rs"),
        config.generate(&deprecated).unwrap(),
    )
    .unwrap();

    let real_toml = std::fs::read_to_string("../../limits.toml").unwrap();
    let real = limits_format::parse("limits.toml", &real_toml).expect("limits.toml is valid");
    // Both lookup strategies on the real table and on a small synthetic
    // one (`Auto` picks the match for both).
    let small = limits_format::parse("small.toml", &synthetic::table(SMALL)).unwrap();
    for (name, table, lookup) in [
        ("real_match.rs", &real, limits_codegen::Lookup::Match),
        ("real_hash.rs", &real, limits_codegen::Lookup::PerfectHash),
        ("small_auto.rs", &small, limits_codegen::Lookup::Auto),
        ("small_hash.rs", &small, limits_codegen::Lookup::PerfectHash),
    ] {
        let code = config.lookup(lookup).generate(table).unwrap();
        std::fs::write(out.join(name), code).unwrap();
    }
    std::fs::write(out.join("phf_real.rs"), phf_of(&real)).unwrap();

    let mut arms = String::new();
    for (name, i) in names(&real) {
        let _ = writeln!(arms, "        {name:?} => Some(Model::ALL[{i}]),");
    }
    let matcher = format!(
        "/// A sequential string match, as strum's `EnumString` derives it.\n\
         pub fn from_str_match(s: &str) -> Option<Model> {{\n    match s {{\n{arms}        _ => None,\n    }}\n}}\n"
    );
    std::fs::write(out.join("match_real.rs"), matcher).unwrap();
}

/// Every id and alias of `table` once, with the index of its model in
/// `Model::ALL` (the order of first rows; a model may have a row per mode).
fn names(table: &limits_format::Table) -> Vec<(&str, usize)> {
    let index: std::collections::HashMap<&str, usize> = table
        .distinct_models()
        .enumerate()
        .map(|(i, row)| (row.model.id.as_str(), i))
        .collect();
    let mut seen = std::collections::HashSet::new();
    let mut out = Vec::new();
    for row in table.models() {
        let i = index[row.model.id.as_str()];
        for name in std::iter::once(&row.model.id).chain(&row.model.aliases) {
            if seen.insert(name.as_str()) {
                out.push((name.as_str(), i));
            }
        }
    }
    out
}

/// `static MAP: phf::Map<&str, u32>` from every id and alias to the model's
/// index in table order.
fn phf_of(table: &limits_format::Table) -> String {
    let mut map = phf_codegen::Map::new();
    for (name, i) in names(table) {
        map.entry(name, i.to_string());
    }
    format!(
        "/// Every id and alias to the model's index.\npub static MAP: phf::Map<&'static str, u32> = {};\n",
        map.build()
    )
}
