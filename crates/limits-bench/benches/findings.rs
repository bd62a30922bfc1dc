//! `limits check` in process, per output format, on tables full of
//! findings: the cost should be per finding and per line shown.
//!
//! `cargo bench -p limits-bench --bench findings`
//!
//! Inputs (`limits_bench::synthetic`): 10,000 models with every id and
//! alias broken (11,000 findings); 200,000 models (9.8 MB), clean and with
//! every 150th broken (1,467 findings).

use std::hint::black_box;
use std::path::Path;

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion};
use limits_bench::synthetic;

fn check(file: &Path, format: &str) -> u8 {
    let (mut out, mut err) = (std::io::sink(), std::io::sink());
    let mut io = limits_cli::Io {
        stdout: &mut out,
        stderr: &mut err,
        color_by_default: false,
    };
    let args = [
        "limits",
        "check",
        "--format",
        format,
        file.to_str().unwrap(),
    ];
    limits_cli::run(args, &mut io)
}

fn findings(c: &mut Criterion) {
    let dir = tempfile::tempdir().unwrap();
    let files = [
        ("broken-10k", synthetic::table_with_broken_ids(10_000, 1)),
        ("clean-200k", synthetic::table(200_000)),
        (
            "broken-200k",
            synthetic::table_with_broken_ids(200_000, 150),
        ),
    ];
    let mut group = c.benchmark_group("check");
    group.sample_size(10);
    for (name, text) in &files {
        let path = dir.path().join(format!("{name}.toml"));
        std::fs::write(&path, text).unwrap();
        for format in ["human", "json", "github"] {
            let id = BenchmarkId::new(*name, format);
            group.bench_with_input(id, &path, |b, path| {
                b.iter(|| check(black_box(path), format))
            });
        }
    }
    group.finish();
}

fn config() -> Criterion {
    Criterion::default()
        .warm_up_time(std::time::Duration::from_millis(500))
        .measurement_time(std::time::Duration::from_secs(3))
}

criterion_group! {
    name = benches;
    config = config();
    targets = findings
}
criterion_main!(benches);
