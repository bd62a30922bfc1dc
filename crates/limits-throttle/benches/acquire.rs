//! The in-process limiter against governor (the usual choice), in one run;
//! and, when `REDIS_URL` is set, acquires per second through Redis.
//!
//! `cargo bench -p limits-throttle --features redis --bench acquire`
//! (`REDIS_URL=redis://127.0.0.1:6379/` for the Redis group).

use std::hint::black_box;
use std::num::NonZeroU32;
use std::time::{Duration, Instant};

use criterion::{criterion_group, criterion_main, Criterion};
use governor::{Quota, RateLimiter};
use limits_throttle::{Config, Limiter};
use modelstudio_limits::Limits;

/// Limits so high that every acquire is admitted: the cost measured is the
/// admission itself.
const HUGE: Limits = Limits {
    qpm: u32::MAX,
    tpm: u32::MAX,
};

fn limiter() -> Limiter {
    Limiter::new(
        HUGE,
        &Config {
            headroom: 1.0,
            burst: 1.0,
        },
    )
    .unwrap()
}

fn governor() -> governor::DefaultDirectRateLimiter {
    RateLimiter::direct(Quota::per_minute(NonZeroU32::MAX))
}

/// Runs `op` `iters` times on each of `threads` threads at once; the time
/// per call as seen by one thread.
fn threaded(threads: u64, iters: u64, op: &(dyn Fn() + Sync)) -> Duration {
    let per_thread = iters.div_ceil(threads);
    let started = Instant::now();
    std::thread::scope(|s| {
        for _ in 0..threads {
            s.spawn(|| {
                for _ in 0..per_thread {
                    op();
                }
            });
        }
    });
    started.elapsed() * (iters as u32).max(1) / (per_thread * threads).max(1) as u32
}

fn in_process(c: &mut Criterion) {
    let ours = limiter();
    let theirs = governor();
    let mut g = c.benchmark_group("acquire/1-thread");
    g.bench_function("limits-throttle (QPM+TPM)", |b| {
        b.iter(|| ours.try_acquire(black_box(100)).is_ok())
    });
    g.bench_function("governor check (one limit)", |b| {
        b.iter(|| theirs.check().is_ok())
    });
    g.finish();

    let mut g = c.benchmark_group("acquire/2-threads");
    g.bench_function("limits-throttle (QPM+TPM)", |b| {
        b.iter_custom(|iters| {
            threaded(2, iters, &|| {
                black_box(ours.try_acquire(black_box(100)).is_ok());
            })
        })
    });
    g.bench_function("governor check (one limit)", |b| {
        b.iter_custom(|iters| {
            threaded(2, iters, &|| {
                black_box(theirs.check().is_ok());
            })
        })
    });
    g.finish();
}

#[cfg(feature = "redis")]
fn through_redis(c: &mut Criterion) {
    use limits_throttle::redis::{RedisConfig, RedisThrottle};
    use modelstudio_limits::Model;
    let Ok(url) = std::env::var("REDIS_URL") else {
        eprintln!("acquire/redis: skipped, REDIS_URL is not set");
        return;
    };
    let t = RedisThrottle::new(
        &url,
        RedisConfig {
            limits: Config {
                headroom: 1.0,
                burst: 1.0,
            },
            prefix: "bench".into(),
            ..RedisConfig::default()
        },
    )
    .unwrap();
    let mut g = c.benchmark_group("acquire/redis-loopback");
    g.bench_function("one client", |b| {
        b.iter(|| {
            t.try_acquire_with("bench", Model::QwenTurbo, HUGE, 100, None)
                .is_ok()
        })
    });
    g.finish();
}

#[cfg(not(feature = "redis"))]
fn through_redis(_: &mut Criterion) {}

fn config() -> Criterion {
    Criterion::default()
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(3))
}

criterion_group! {
    name = benches;
    config = config();
    targets = in_process, through_redis
}
criterion_main!(benches);
