//! Lookup of a model by id: the generated `from_id` (what `Lookup::Auto`
//! picks for the published table, and each strategy: the `match` on the
//! name's bytes, the perfect hash) against phf, std's
//! HashMap and a sequential `match` (what strum's EnumString generates), on
//! the real table and on a synthetic one of 10,000 models; and the cost of
//! `id()`, `limits_in()` and `Limits::check`; and feature `runtime`: its
//! HashMap lookup, and loading a table at run time.
//!
//! `cargo bench -p limits-bench --bench lookup` (`--features ten-thousand`
//! for the synthetic table's groups, `10k/`)

use std::hint::black_box;

use criterion::{criterion_group, criterion_main, Criterion};
use limits_bench::{from_id_phf, hashmap_real, match_real, real_hash, real_match};
use modelstudio_limits::runtime::LimitTable;
use modelstudio_limits::{Deployment, Model, Usage};

fn real_table(c: &mut Criterion) {
    let map = hashmap_real();
    let runtime = LimitTable::published();
    // A canonical id from the middle of the table, an alias, and a miss of a
    // length that ids have.
    for (case, name) in [
        ("hit", "qwen2.5-vl-72b-instruct"),
        ("alias", "qwen-turbo-1101"),
        ("miss", "qwen2.5-vl-99b-instruct"),
    ] {
        let mut g = c.benchmark_group(format!("real/{case}"));
        g.bench_function("generated", |b| b.iter(|| Model::from_id(black_box(name))));
        g.bench_function("generated-hash", |b| {
            b.iter(|| real_hash::Model::from_id(black_box(name)))
        });
        g.bench_function("generated-match", |b| {
            b.iter(|| real_match::Model::from_id(black_box(name)))
        });
        g.bench_function("phf", |b| b.iter(|| from_id_phf(black_box(name))));
        g.bench_function("hashmap", |b| b.iter(|| map.get(black_box(name)).copied()));
        g.bench_function("match", |b| {
            b.iter(|| match_real::from_str_match(black_box(name)))
        });
        g.bench_function("runtime", |b| {
            b.iter(|| runtime.limits_for(black_box(name), Deployment::INTERNATIONAL))
        });
        g.finish();
    }
}

/// Every id and alias of the shipped table, one after the other: what a
/// few chosen keys cannot show (names of every length, every bucket).
fn real_table_every_name(c: &mut Criterion) {
    let map = hashmap_real();
    let names: Vec<&str> = Model::ALL
        .iter()
        .flat_map(|m| std::iter::once(m.id()).chain(m.aliases().iter().copied()))
        .collect();
    let mut g = c.benchmark_group(format!("real/every-name-{}", names.len()));
    g.bench_function("generated", |b| {
        b.iter(|| {
            for name in &names {
                black_box(Model::from_id(black_box(name)));
            }
        })
    });
    g.bench_function("phf", |b| {
        b.iter(|| {
            for name in &names {
                black_box(from_id_phf(black_box(name)));
            }
        })
    });
    g.bench_function("hashmap", |b| {
        b.iter(|| {
            for name in &names {
                black_box(map.get(black_box(name)).copied());
            }
        })
    });
    g.finish();
}

#[cfg(feature = "ten-thousand")]
fn big_table(c: &mut Criterion) {
    use limits_bench::{big, from_id_phf_big, hashmap_big, synthetic};
    let map = hashmap_big();
    let hit = synthetic::model_id(5_001);
    let alias = synthetic::alias(5_000).unwrap();
    let miss = synthetic::model_id(10_001);
    for (case, name) in [("hit", &hit), ("alias", &alias), ("miss", &miss)] {
        let name = name.as_str();
        let mut g = c.benchmark_group(format!("10k/{case}"));
        g.bench_function("generated", |b| {
            b.iter(|| big::Model::from_id(black_box(name)))
        });
        g.bench_function("phf", |b| b.iter(|| from_id_phf_big(black_box(name))));
        g.bench_function("hashmap", |b| b.iter(|| map.get(black_box(name)).copied()));
        g.finish();
    }
}

#[cfg(not(feature = "ten-thousand"))]
fn big_table(_: &mut Criterion) {
    eprintln!("10k/: skipped, it needs --features ten-thousand");
}

fn accessors(c: &mut Criterion) {
    let mut g = c.benchmark_group("accessors");
    g.bench_function("id", |b| b.iter(|| black_box(Model::QwenMax).id()));
    g.bench_function("limits_in", |b| {
        b.iter(|| black_box(Model::QwenMax).limits_in(black_box(Deployment::INTERNATIONAL)))
    });
    let qwq = Model::QwqPlus.limits_in(Deployment::INTERNATIONAL).unwrap();
    let usage = Usage {
        requests: 59,
        tokens: 99_000,
    };
    g.bench_function("check/pass", |b| {
        b.iter(|| black_box(qwq).check(black_box(usage)))
    });
    let over = Usage {
        requests: 61,
        tokens: 150_000,
    };
    g.bench_function("check/exceeded", |b| {
        b.iter(|| black_box(qwq).check(black_box(over)))
    });
    g.finish();
}

fn runtime_load(c: &mut Criterion) {
    let text =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../../limits.toml")).unwrap();
    let overrides = "schema = 1\n[source]\nprovider = \"p\"\nurl = \"u\"\n\
                     [[section]]\nid = \"raised\"\ntitle = \"Raised\"\n\
                     [[section.group]]\nqpm = 1200\ntpm = 2000000\nmodels = [\"qwen-max\"]\n";
    let mut g = c.benchmark_group("runtime");
    g.bench_function("from_toml_str", |b| {
        b.iter(|| LimitTable::from_toml_str("limits.toml", black_box(&text)).unwrap())
    });
    g.bench_function("published", |b| b.iter(LimitTable::published));
    g.bench_function("published_with_overrides", |b| {
        b.iter(|| LimitTable::published_with_overrides(black_box(overrides)).unwrap())
    });
    g.finish();
}

fn config() -> Criterion {
    Criterion::default()
        .warm_up_time(std::time::Duration::from_millis(500))
        .measurement_time(std::time::Duration::from_secs(2))
}

criterion_group! {
    name = benches;
    config = config();
    targets = real_table, real_table_every_name, big_table, accessors, runtime_load
}
criterion_main!(benches);
