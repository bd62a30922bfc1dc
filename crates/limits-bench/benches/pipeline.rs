//! The pipeline's cost as the table grows: parse + validate, and
//! generate (emit + format), on synthetic tables of 1,000 and 10,000 models.
//!
//! `cargo bench -p limits-bench --bench pipeline`

use std::hint::black_box;

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use limits_bench::synthetic;

fn pipeline(c: &mut Criterion) {
    let mut check = c.benchmark_group("parse");
    check.sample_size(20);
    for n in [1_000, 10_000] {
        let input = synthetic::table(n);
        check.throughput(Throughput::Elements(n as u64));
        check.bench_with_input(BenchmarkId::from_parameter(n), &input, |b, input| {
            b.iter(|| limits_format::parse("t.toml", black_box(input)).unwrap())
        });
    }
    check.finish();

    let builder = limits_codegen::Builder::new();
    let mut generate = c.benchmark_group("generate");
    generate.sample_size(10);
    for n in [1_000, 10_000] {
        let table = limits_format::parse("t.toml", &synthetic::table(n)).unwrap();
        generate.throughput(Throughput::Elements(n as u64));
        generate.bench_with_input(BenchmarkId::from_parameter(n), &table, |b, table| {
            b.iter(|| builder.generate(black_box(table)).unwrap())
        });
    }
    generate.finish();
}

fn config() -> Criterion {
    Criterion::default()
        .warm_up_time(std::time::Duration::from_millis(500))
        .measurement_time(std::time::Duration::from_secs(3))
}

criterion_group! {
    name = benches;
    config = config();
    targets = pipeline
}
criterion_main!(benches);
