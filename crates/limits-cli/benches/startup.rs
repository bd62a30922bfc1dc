//! `limits check limits.toml` as a whole process (start-up, read, check,
//! print), beside starting a process that does nothing (`true`), the
//! floor any command pays.
//!
//! `cargo bench -p limits-cli --bench startup`

use std::path::Path;
use std::process::{Command, Stdio};

use criterion::{criterion_group, criterion_main, Criterion};

fn run(program: &str, args: &[&str]) {
    let status = Command::new(program)
        .args(args)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .unwrap();
    assert!(status.success());
}

fn startup(c: &mut Criterion) {
    let table = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../limits.toml");
    let table = table.to_str().unwrap();
    let mut group = c.benchmark_group("process");
    group.bench_function("limits check limits.toml", |b| {
        b.iter(|| run(env!("CARGO_BIN_EXE_limits"), &["check", table]))
    });
    group.bench_function("true", |b| b.iter(|| run("true", &[])));
    group.finish();
}

criterion_group!(benches, startup);
criterion_main!(benches);
