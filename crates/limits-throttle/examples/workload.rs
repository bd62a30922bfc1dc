//! A workload of N requests with token estimates, arriving over one
//! simulated minute, through the throttle: prints per second how many were
//! admitted and how many deferred (refused with a retry-after, then retried
//! at that time), in process and, when `REDIS_URL` is set, through Redis.
//!
//! `cargo run -p limits-throttle --features redis --example workload -- [N] [MODEL]`
//! (default: 300 requests to qwen-plus-latest, 60 QPM / 100,000 TPM).

use std::cmp::Reverse;
use std::collections::{BTreeMap, BinaryHeap};

use limits_throttle::{Config, FakeClock, Limiter, Refusal};
use modelstudio_limits::Model;

const SECOND_NS: u64 = 1_000_000_000;

/// Per second: (admitted, deferred).
type Timeline = BTreeMap<u64, (u32, u32)>;

/// Runs the workload: `try_acquire(now_ns, tokens)` admits or says how long
/// to wait; deferred requests come back at that time.
fn simulate(
    arrivals: &[(u64, u64)],
    mut try_acquire: impl FnMut(u64, u64) -> Result<(), Refusal>,
) -> Timeline {
    let mut queue: BinaryHeap<Reverse<(u64, u64)>> = arrivals.iter().map(|&a| Reverse(a)).collect();
    let mut timeline = Timeline::new();
    while let Some(Reverse((now, tokens))) = queue.pop() {
        let second = timeline.entry(now / SECOND_NS).or_default();
        match try_acquire(now, tokens) {
            Ok(()) => second.0 += 1,
            Err(Refusal::RetryAfter(wait)) => {
                second.1 += 1;
                let wait = u64::try_from(wait.as_nanos()).unwrap_or(u64::MAX).max(1);
                queue.push(Reverse((now + wait, tokens)));
            }
            Err(other) => {
                eprintln!("request of {tokens} tokens dropped: {other}");
            }
        }
    }
    timeline
}

fn print(title: &str, timeline: &Timeline) {
    println!("\n{title}\nsecond  admitted  deferred");
    for (second, (admitted, deferred)) in timeline {
        println!("{second:>6}  {admitted:>8}  {deferred:>8}");
    }
    let admitted: u32 = timeline.values().map(|v| v.0).sum();
    let last = timeline.keys().last().copied().unwrap_or(0);
    println!("all {admitted} admitted by second {last}");
}

fn main() {
    let mut args = std::env::args().skip(1);
    let n: u64 = args.next().and_then(|a| a.parse().ok()).unwrap_or(300);
    let model = match args.next() {
        Some(id) => id.parse::<Model>().unwrap_or_else(|e| {
            eprintln!("error: {id}: {e}");
            std::process::exit(2)
        }),
        None => Model::QwenPlusLatest,
    };
    let config = Config {
        headroom: 0.9,
        burst: 0.2,
    };
    println!(
        "{n} requests to {model} ({} QPM, {} TPM), headroom {}, burst {}",
        model.limits().qpm,
        model.limits().tpm,
        config.headroom,
        config.burst
    );

    // Arrivals spread over a minute; estimates of 200 to 2,200 tokens.
    let mut x = 0x2545_f491_4f6c_dd1d_u64;
    let mut arrivals: Vec<(u64, u64)> = (0..n)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            (x % (60 * SECOND_NS), 200 + (x >> 32) % 2_001)
        })
        .collect();
    arrivals.sort_unstable();

    let clock = FakeClock::new();
    let limiter = Limiter::with_clock(model.limits(), &config, clock.clone()).unwrap();
    let timeline = simulate(&arrivals, |now, tokens| {
        clock.set_ns(now);
        limiter
            .try_acquire(tokens)
            .map(|permit| permit.reconcile(tokens))
    });
    print("in process", &timeline);

    #[cfg(feature = "redis")]
    match std::env::var("REDIS_URL") {
        Ok(url) => {
            use limits_throttle::redis::{RedisConfig, RedisThrottle};
            let prefix = format!("workload-{}", std::process::id());
            let throttle = RedisThrottle::new(
                &url,
                RedisConfig {
                    limits: config,
                    prefix,
                    ..RedisConfig::default()
                },
            )
            .unwrap_or_else(|e| {
                eprintln!("error: {e}");
                std::process::exit(2)
            });
            let base_us = 1_000_000_000_000;
            let timeline = simulate(&arrivals, |now, tokens| {
                throttle
                    .try_acquire_with(
                        "workload",
                        model,
                        model.limits(),
                        tokens,
                        Some(base_us + now / 1_000),
                    )
                    .map(|_| ())
            });
            print(&format!("through Redis at {url}"), &timeline);
        }
        Err(_) => println!("\n(set REDIS_URL to run the same workload through Redis)"),
    }
}
