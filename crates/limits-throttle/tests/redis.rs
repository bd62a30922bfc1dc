//! `RedisThrottle` against a real redis-server.
//!
//! The server is the one at `REDIS_URL` (`.ci/run` installs redis-server,
//! starts it on a free port on loopback and sets the variable). Without
//! `REDIS_URL` these tests fail under CI (`CI` set) and are skipped, with a
//! message, elsewhere.

use std::net::TcpListener;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use limits_throttle::redis::{FailurePolicy, RedisConfig, RedisThrottle};
use limits_throttle::{Config, Rates, Refusal};
use modelstudio_limits::{Limits, Model};

mod common;
use common::{max_per_minute, Rng};

/// Held by every test that talks to the server, so that command counts are
/// not disturbed by another test of this file.
static SERVER: Mutex<()> = Mutex::new(());

fn redis_url() -> Option<String> {
    match std::env::var("REDIS_URL") {
        Ok(url) if !url.is_empty() => Some(url),
        _ if std::env::var_os("CI").is_some() => {
            panic!("REDIS_URL is not set: .ci/run must start redis-server for these tests")
        }
        _ => {
            eprintln!("skipped: set REDIS_URL=redis://127.0.0.1:PORT/ to run the Redis tests");
            None
        }
    }
}

/// A prefix no other test (or earlier run) uses.
fn fresh_prefix(test: &str) -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    format!("test-{test}-{nanos}")
}

fn throttle(url: &str, test: &str, limits: Config) -> RedisThrottle {
    RedisThrottle::new(
        url,
        RedisConfig {
            limits,
            prefix: fresh_prefix(test),
            timeout: Duration::from_secs(2),
            on_failure: FailurePolicy::FailClosed,
        },
    )
    .unwrap()
}

/// Calls of `command` so far (INFO commandstats; commands that scripts run
/// are counted under their own names, so EVALSHA counts only clients' calls).
fn command_calls(url: &str, command: &str) -> u64 {
    let mut con = redis::Client::open(url).unwrap().get_connection().unwrap();
    let info: String = redis::cmd("INFO")
        .arg("commandstats")
        .query(&mut con)
        .unwrap();
    let prefix = format!("cmdstat_{command}:calls=");
    info.lines()
        .find_map(|l| l.strip_prefix(&prefix))
        .map_or(0, |rest| rest.split(',').next().unwrap().parse().unwrap())
}

/// A loopback proxy to `url`'s server that counts round trips: each time
/// the server answers after the client spoke. Returns the proxy's URL.
fn counting_proxy(url: &str, round_trips: Arc<AtomicU64>) -> String {
    use std::io::{Read, Write};
    use std::net::TcpStream;
    let target = url
        .trim_start_matches("redis://")
        .trim_end_matches('/')
        .to_string();
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        for client in listener.incoming() {
            let Ok(client) = client else { return };
            let server = TcpStream::connect(&target).unwrap();
            let client_spoke = Arc::new(std::sync::atomic::AtomicBool::new(false));
            let pump = |mut from: TcpStream, mut to: TcpStream, from_client: bool| {
                let (client_spoke, round_trips) = (client_spoke.clone(), round_trips.clone());
                std::thread::spawn(move || {
                    let mut buf = [0u8; 16 * 1024];
                    while let Ok(n) = from.read(&mut buf) {
                        if n == 0 {
                            break;
                        }
                        if from_client {
                            client_spoke.store(true, Ordering::SeqCst);
                        } else if client_spoke.swap(false, Ordering::SeqCst) {
                            round_trips.fetch_add(1, Ordering::SeqCst);
                        }
                        if to.write_all(&buf[..n]).is_err() {
                            break;
                        }
                    }
                    let _ = to.shutdown(std::net::Shutdown::Both);
                })
            };
            pump(
                client.try_clone().unwrap(),
                server.try_clone().unwrap(),
                true,
            );
            pump(server, client, false);
        }
    });
    format!("redis://127.0.0.1:{port}/")
}

#[test]
fn admits_up_to_the_burst_then_says_how_long_to_wait() {
    let Some(url) = redis_url() else { return };
    let _server = SERVER.lock().unwrap_or_else(|e| e.into_inner());
    // qwq-plus: 60 QPM, 100,000 TPM; a burst of 6 requests, 10,000 tokens.
    let t = throttle(&url, "burst", Config::default());
    let now = 1_000_000_000_000u64; // us
    let acquire = |account, now| {
        t.try_acquire_with(
            account,
            Model::QwqPlus,
            Model::QwqPlus.limits(),
            10,
            Some(now),
        )
    };
    for _ in 0..6 {
        let _ = acquire("acct", now).unwrap();
    }
    let Err(Refusal::RetryAfter(wait)) = acquire("acct", now) else {
        panic!("a seventh request at once was admitted")
    };
    // 55 requests per minute after the burst: one every 60/55 s.
    let rates = Rates::new(Model::QwqPlus.limits(), &Config::default()).unwrap();
    // The script works in microseconds: the wait is exact to 1 us.
    let wait_ns = wait.as_nanos() as u64;
    let expected = rates.requests.ns_per_unit;
    assert!(
        wait_ns.abs_diff(expected) < 1_000,
        "{wait_ns} ns, expected {expected} ns"
    );
    let wait_us = wait_ns.div_ceil(1_000);
    assert!(acquire("acct", now + wait_us - 1).is_err());
    assert!(acquire("acct", now + wait_us).is_ok());
    // Another account is not affected.
    assert!(acquire("other", now).is_ok());
}

#[test]
fn too_large_is_refused_without_asking_redis() {
    let Some(url) = redis_url() else { return };
    let _server = SERVER.lock().unwrap_or_else(|e| e.into_inner());
    let t = throttle(&url, "large", Config::default());
    let err = t.try_acquire("acct", Model::QwqPlus, 100_001).unwrap_err();
    assert!(err.to_string().contains("whole limit of 100000"), "{err}");
}

#[test]
fn one_round_trip_per_acquire() {
    let Some(url) = redis_url() else { return };
    let _server = SERVER.lock().unwrap_or_else(|e| e.into_inner());
    let round_trips = Arc::new(AtomicU64::new(0));
    let proxied = counting_proxy(&url, round_trips.clone());
    let t = RedisThrottle::new(
        &proxied,
        RedisConfig {
            limits: Config {
                headroom: 1.0,
                burst: 1.0,
            },
            prefix: fresh_prefix("trips"),
            timeout: Duration::from_secs(2),
            on_failure: FailurePolicy::FailClosed,
        },
    )
    .unwrap();
    let _ = t.try_acquire("acct", Model::QwenTurbo, 1).unwrap(); // connects, loads the script if needed
    let (before, evalsha, eval) = (
        round_trips.load(Ordering::SeqCst),
        command_calls(&url, "evalsha"),
        command_calls(&url, "eval"),
    );
    for _ in 0..50 {
        let _ = t.try_acquire("acct", Model::QwenTurbo, 1).unwrap();
    }
    assert_eq!(round_trips.load(Ordering::SeqCst) - before, 50);
    assert_eq!(command_calls(&url, "evalsha") - evalsha, 50);
    assert_eq!(
        command_calls(&url, "eval"),
        eval,
        "the script stayed cached"
    );
}

#[test]
fn keys_share_a_hash_tag_and_expire() {
    let Some(url) = redis_url() else { return };
    let _server = SERVER.lock().unwrap_or_else(|e| e.into_inner());
    let t = throttle(&url, "keys", Config::default());
    let _ = t.try_acquire("acct", Model::QwenMax, 100).unwrap();
    let key = t.key("acct", Model::QwenMax);
    assert!(
        key.starts_with('{') && key.ends_with("acct:qwen-max}"),
        "{key}"
    );
    let mut con = redis::Client::open(url.as_str())
        .unwrap()
        .get_connection()
        .unwrap();
    for suffix in [":req", ":tok"] {
        let ttl: i64 = redis::cmd("PTTL")
            .arg(format!("{key}{suffix}"))
            .query(&mut con)
            .unwrap();
        assert!(ttl > 0 && ttl <= 62_000, "{suffix}: {ttl}");
    }
}

#[test]
fn reconcile_gives_back_and_charges() {
    let Some(url) = redis_url() else { return };
    let _server = SERVER.lock().unwrap_or_else(|e| e.into_inner());
    let limits = Limits {
        qpm: 6_000,
        tpm: 60_000,
    };
    let t = throttle(
        &url,
        "reconcile",
        Config {
            headroom: 1.0,
            burst: 0.5,
        },
    ); // 30,000 tokens at once
    let now = 5_000_000_000_000u64;
    let acquire = |tokens, now| t.try_acquire_with("a", Model::QwenMax, limits, tokens, Some(now));
    let p = acquire(30_000, now).unwrap();
    assert!(acquire(1, now).is_err());
    // 20,000 of the 30,000 tokens were not used: they are given back.
    t.reconcile_at(p, 10_000, Some(now)).unwrap();
    assert!(acquire(20_001, now).is_err());
    let p = acquire(20_000, now).unwrap();
    // 5,000 more than estimated were used: they are charged.
    t.reconcile_at(p, 25_000, Some(now)).unwrap();
    let Err(Refusal::RetryAfter(wait)) = acquire(1, now) else {
        panic!("admitted beyond the burst")
    };
    let rates = Rates::new(
        limits,
        &Config {
            headroom: 1.0,
            burst: 0.5,
        },
    )
    .unwrap();
    let expected = rates.tokens.cost_ns(5_001);
    assert!(
        (wait.as_nanos() as u64).abs_diff(expected) < 1_000,
        "{wait:?}"
    );

    // A refund never makes a state emptier than empty: after an idle
    // minute, a refund of an old permit leaves exactly one burst.
    // (Another account, with a fresh state.)
    let acquire = |tokens, now| t.try_acquire_with("b", Model::QwenMax, limits, tokens, Some(now));
    let later = now + 120_000_000;
    let old = acquire(1_000, now).unwrap();
    t.reconcile_at(old, 0, Some(later)).unwrap();
    let p = acquire(10, later).unwrap();
    t.reconcile_at(p, 0, Some(later)).unwrap();
    assert!(acquire(30_000, later).is_ok());
    assert!(acquire(1, later).is_err());
}

#[test]
fn several_clients_never_exceed_either_limit_in_any_minute() {
    let Some(url) = redis_url() else { return };
    let _server = SERVER.lock().unwrap_or_else(|e| e.into_inner());
    let prefix = fresh_prefix("fleet");
    let limits = Model::QwqPlus.limits();
    let config = Config {
        headroom: 1.0,
        burst: 0.2,
    };
    let rates = Rates::new(limits, &config).unwrap();
    let now_us = Arc::new(AtomicU64::new(1_700_000_000_000_000));
    let admitted = Arc::new(Mutex::new(Vec::new()));
    std::thread::scope(|s| {
        for client in 0..4u64 {
            let (url, prefix, now_us, admitted) = (
                url.clone(),
                prefix.clone(),
                now_us.clone(),
                admitted.clone(),
            );
            s.spawn(move || {
                // Each thread is its own client, as separate processes are.
                let t = RedisThrottle::new(
                    &url,
                    RedisConfig {
                        limits: config,
                        prefix,
                        ..RedisConfig::default()
                    },
                )
                .unwrap();
                let mut rng = Rng(client + 1);
                for _ in 0..300 {
                    let now = now_us.fetch_add(rng.below(400_000), Ordering::SeqCst);
                    let tokens = rng.below(rates.tokens.burst + 1);
                    if t.try_acquire_with("acct", Model::QwqPlus, limits, tokens, Some(now))
                        .is_ok()
                    {
                        admitted.lock().unwrap().push((now * 1_000, tokens));
                    }
                }
            });
        }
    });
    let events = admitted.lock().unwrap().clone();
    let mut requests: Vec<(u64, u64)> = events.iter().map(|&(t, _)| (t, 1)).collect();
    let requests = max_per_minute(&mut requests);
    let tokens = max_per_minute(&mut events.clone());
    assert!(
        requests <= rates.requests.effective,
        "{requests} requests in a minute"
    );
    assert!(
        tokens <= rates.tokens.effective,
        "{tokens} tokens in a minute"
    );
    assert!(requests >= rates.requests.effective / 2 || tokens >= rates.tokens.effective / 2);
}

/// A port on loopback where nothing listens.
fn closed_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

#[test]
fn unreachable_redis_follows_the_failure_policy_without_hanging() {
    // Runs without a server: nothing listens on the port.
    let url = format!("redis://127.0.0.1:{}/", closed_port());
    let config = |on_failure| RedisConfig {
        timeout: Duration::from_millis(200),
        on_failure,
        ..RedisConfig::default()
    };
    let closed = RedisThrottle::new(&url, config(FailurePolicy::FailClosed)).unwrap();
    let err = closed.try_acquire("a", Model::QwenMax, 1).unwrap_err();
    assert!(matches!(err, Refusal::Unavailable(_)), "{err:?}");
    let open = RedisThrottle::new(&url, config(FailurePolicy::FailOpen)).unwrap();
    let permit = open.try_acquire("a", Model::QwenMax, 1).unwrap();
    assert!(
        permit.unchecked().unwrap().contains("cannot connect"),
        "{permit:?}"
    );
}

#[test]
fn a_silent_server_times_out() {
    // A listener that accepts connections (the kernel's backlog) and never
    // answers: the command must time out, not hang.
    let silent = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("redis://127.0.0.1:{}/", silent.local_addr().unwrap().port());
    let t = RedisThrottle::new(
        &url,
        RedisConfig {
            timeout: Duration::from_millis(300),
            ..RedisConfig::default()
        },
    )
    .unwrap();
    let started = Instant::now();
    let err = t.try_acquire("a", Model::QwenMax, 1).unwrap_err();
    assert!(matches!(err, Refusal::Unavailable(_)), "{err:?}");
    // Bounded by the timeouts (connect + one command), with generous slack.
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "{:?}",
        started.elapsed()
    );
    drop(silent);
}

#[test]
fn a_bad_url_is_an_error() {
    let err = RedisThrottle::new("http://nowhere", RedisConfig::default())
        .err()
        .unwrap();
    assert!(err.to_string().starts_with("bad Redis URL"), "{err}");
}
