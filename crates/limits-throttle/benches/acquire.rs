//! Admission cost in one process against governor (the usual choice), in
//! one run; and, when `REDIS_URL` is set, acquires per second through Redis
//! from one process with 1, 8 and 32 tasks, with each call's latency.
//!
//! `cargo bench -p limits-throttle --features redis --bench acquire`
//! (`REDIS_URL=redis://127.0.0.1:6379/` for the Redis group: `rediss://`
//! with `REDIS_CA_FILE` naming a private CA's PEM and `--features tls`; or
//! `REDIS_CLUSTER_NODES`, a cluster's nodes separated by commas, with
//! `--features cluster`;
//! `scripts/throttle-bench.sh` runs it beside a `redis-benchmark` baseline).

use std::future::Future;
use std::hint::black_box;
use std::num::NonZeroU32;
use std::pin::pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::task::{Context, Poll, Waker};
use std::time::{Duration, Instant};

use criterion::{criterion_group, criterion_main, Criterion};
use governor::{Quota, RateLimiter};
use limits_throttle::{Config, Deployment, FakeClock, HasLimits, Limits, Pacing, Throttle};

/// Limits so high that every acquire is admitted: the cost measured is the
/// admission itself.
struct Huge;

impl HasLimits for Huge {
    fn id(&self) -> &str {
        "huge"
    }
    fn limits_in(&self, _: Deployment) -> Option<Limits> {
        Some(
            Limits::NONE
                .with_rpm(u32::MAX)
                .with_tpm(u64::from(u32::MAX)),
        )
    }
}

/// Bursty pacing: with per-second pacing even huge limits space requests
/// a microsecond apart, and a tight loop would be refused.
fn config() -> Config {
    Config::default().with_pacing(Pacing::Bursty { burst: 1.0 })
}

fn governor() -> governor::DefaultDirectRateLimiter {
    RateLimiter::direct(Quota::per_minute(NonZeroU32::MAX))
}

/// Runs `op` `iters` times spread over `threads` threads at once; the time
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

/// One admission of one token (the model through `black_box`, so that the
/// loop cannot hoist its lookup); a refusal is counted. The future is
/// pinned where it is made and polled once, as a runtime's task polls it
/// (never moved).
fn acquire(throttle: &Throttle, refused: &AtomicU64) {
    let future = pin!(throttle.acquire(black_box(&Huge), black_box(1), Duration::ZERO));
    let Poll::Ready(answer) = future.poll(&mut Context::from_waker(Waker::noop())) else {
        panic!("in process, the future is ready at once")
    };
    let admitted = answer.is_ok();
    if !admitted {
        refused.fetch_add(1, Ordering::Relaxed);
    }
}

fn in_process(c: &mut Criterion) {
    // One token a request: even at tens of millions of calls a second,
    // the whole run stays under `u32::MAX` requests and tokens per minute.
    let ours = Throttle::in_process(config()).unwrap();
    let refused = AtomicU64::new(0);
    let theirs = governor();
    for threads in [1, 2] {
        let mut g = c.benchmark_group(format!("acquire/{threads}-thread"));
        g.bench_function("limits-throttle (requests+tokens, minute+second)", |b| {
            b.iter_custom(|iters| threaded(threads, iters, &|| acquire(&ours, &refused)))
        });
        g.bench_function("governor check (one limit)", |b| {
            b.iter_custom(|iters| {
                threaded(threads, iters, &|| {
                    if theirs.check().is_err() {
                        refused.fetch_add(1, Ordering::Relaxed);
                    }
                })
            })
        });
        g.finish();
    }
    // The default pacing spaces requests (a microsecond apart at these
    // limits), so each decides by the rules under the key's mutex: on a
    // fake clock moved a microsecond before each call.
    let clock = FakeClock::new();
    let paced = Throttle::in_process_with_clock(Config::default(), clock.clone()).unwrap();
    let mut g = c.benchmark_group("acquire/1-thread");
    g.bench_function(
        "limits-throttle, per-second pacing (under the key's mutex)",
        |b| {
            b.iter(|| {
                clock.advance(Duration::from_micros(1));
                acquire(&paced, &refused);
            })
        },
    );
    g.finish();
    // The figures are of admissions: a refusal would measure another path.
    assert_eq!(refused.into_inner(), 0, "a call was refused");
}

#[cfg(feature = "redis")]
fn through_redis(c: &mut Criterion) {
    use criterion::Throughput;
    use limits_throttle::redis::{RedisOptions, RedisStore};
    use std::sync::{Arc, Mutex};
    let cluster = std::env::var("REDIS_CLUSTER_NODES").ok();
    let Some(url) = cluster.clone().or(std::env::var("REDIS_URL").ok()) else {
        eprintln!("acquire/redis: skipped, neither REDIS_URL nor REDIS_CLUSTER_NODES is set");
        return;
    };
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let open = |config: Config| {
        rt.block_on(async {
            #[allow(unused_mut)]
            let mut options = RedisOptions::default()
                .with_prefix(format!("bench-{}", fastrand::u32(..)))
                .with_timeout(Duration::from_secs(1));
            // A private CA for `rediss://` (feature `tls`).
            #[cfg(feature = "tls")]
            if let (true, Ok(path)) = (url.starts_with("rediss://"), std::env::var("REDIS_CA_FILE"))
            {
                let pem = std::fs::read(path).unwrap();
                options = options.with_tls(limits_throttle::redis::Tls::trusting(pem));
            }
            let store = match &cluster {
                #[cfg(feature = "cluster")]
                Some(nodes) => {
                    let nodes: Vec<&str> = nodes.split(',').collect();
                    RedisStore::open_cluster(&nodes, options).await.unwrap()
                }
                #[cfg(not(feature = "cluster"))]
                Some(_) => panic!("REDIS_CLUSTER_NODES needs --features cluster"),
                None => RedisStore::open(&url, options).unwrap(),
            };
            Throttle::redis(store, config).unwrap()
        })
    };
    let mut g = c.benchmark_group("acquire/redis-loopback");
    g.throughput(Throughput::Elements(1));
    let paced = Config::default();
    for (pacing, throttle) in [("bursty", open(config())), ("per-second", open(paced))] {
        for tasks in [1u64, 8, 32] {
            let latencies = Arc::new(Mutex::new(Vec::new()));
            let refused = Arc::new(std::sync::atomic::AtomicU64::new(0));
            g.bench_function(format!("{pacing}/{tasks} tasks"), |b| {
                b.iter_custom(|iters| {
                    let per_task = iters.div_ceil(tasks);
                    let started = Instant::now();
                    rt.block_on(async {
                        let handles: Vec<_> = (0..tasks)
                            .map(|_| {
                                let (t, latencies, refused) =
                                    (throttle.clone(), latencies.clone(), refused.clone());
                                tokio::spawn(async move {
                                    let mut mine = Vec::with_capacity(per_task as usize);
                                    for _ in 0..per_task {
                                        let asked = Instant::now();
                                        let permit = t.acquire(&Huge, 100, Duration::ZERO).await;
                                        mine.push(asked.elapsed());
                                        match permit {
                                            Ok(_) => {}
                                            Err(limits_throttle::Refusal::RetryAfter(_)) => {
                                                refused.fetch_add(1, Ordering::Relaxed);
                                            }
                                            Err(other) => panic!("{other}"),
                                        }
                                    }
                                    latencies.lock().unwrap().extend(mine);
                                })
                            })
                            .collect();
                        for h in handles {
                            h.await.unwrap();
                        }
                    });
                    // Time per acquire of the whole process.
                    started.elapsed() * (iters as u32).max(1) / (per_task * tasks).max(1) as u32
                })
            });
            let mut all = std::mem::take(&mut *latencies.lock().unwrap());
            all.sort_unstable();
            if !all.is_empty() {
                let at = |q: f64| all[((all.len() - 1) as f64 * q) as usize];
                println!(
                    "acquire/redis-loopback/{pacing}/{tasks} tasks: latency p50 {:?}, p99 {:?} \
                     over {} calls, {} refused (a microsecond apart)",
                    at(0.50),
                    at(0.99),
                    all.len(),
                    refused.load(Ordering::Relaxed)
                );
            }
        }
    }
    g.finish();
}

#[cfg(not(feature = "redis"))]
fn through_redis(_: &mut Criterion) {}

fn criterion() -> Criterion {
    Criterion::default()
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(3))
}

criterion_group! {
    name = benches;
    config = criterion();
    targets = in_process, through_redis
}
criterion_main!(benches);
