//! The Redis store when Redis misbehaves, against redis-server processes
//! these tests start themselves (on free loopback ports): a frozen server,
//! a restart, lost state, refused credentials. Without `redis-server` on
//! the PATH they fail under CI and are skipped elsewhere.

use std::process::{Child, Command};
use std::time::{Duration, Instant};

use limits_throttle::redis::{FailurePolicy, RedisOptions, RedisStore};
use limits_throttle::{
    Clock, Config, FakeClock, Limits, Permit, Refusal, StoreErrorKind, Throttle,
};

use crate::common;
use common::servers;
use common::{assert_windows, Custom, Promise};

/// A redis-server of this test's own, stopped when dropped.
struct Server {
    child: Child,
    port: u16,
    dir: std::path::PathBuf,
    args: Vec<String>,
}

impl Server {
    fn start(args: &[&str]) -> Option<Server> {
        if !common::redis_server_on_path() {
            return None;
        }
        let dir = std::env::temp_dir().join(format!("limits-throttle-{}", fastrand::u64(..)));
        std::fs::create_dir_all(&dir).unwrap();
        let args: Vec<String> = args.iter().map(|a| a.to_string()).collect();
        let (port, child) =
            servers::start_redis(&dir, false, |port| Server::command_line(port, &dir, &args));
        Some(Server {
            child,
            port,
            dir,
            args,
        })
    }

    /// The server's arguments on `port`, in `dir`, with `args`.
    fn command_line(port: u16, dir: &std::path::Path, args: &[String]) -> Vec<String> {
        let mut all: Vec<String> = ["--port", &port.to_string(), "--bind", "127.0.0.1"]
            .map(String::from)
            .to_vec();
        all.extend(["--save", "", "--appendonly", "no", "--dir"].map(String::from));
        all.push(dir.to_str().unwrap().to_string());
        all.extend(args.iter().cloned());
        all
    }

    /// Starts the server again on its port (after a kill).
    fn spawn(&mut self) {
        let args = Server::command_line(self.port, &self.dir, &self.args);
        self.child = servers::start_redis_on(self.port, &self.dir, &args)
            .expect("redis-server starts again on its port");
    }

    fn url(&self, credentials: &str) -> String {
        format!("redis://{credentials}127.0.0.1:{}/", self.port)
    }

    fn signal(&self, signal: &str) {
        let status = Command::new("kill")
            .args([signal, &self.child.id().to_string()])
            .status()
            .unwrap();
        assert!(status.success());
    }

    fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// A command on an admin connection.
    fn admin(&self, credentials: &str, args: &[&str]) {
        let mut con = redis::Client::open(self.url(credentials))
            .unwrap()
            .get_connection()
            .unwrap();
        let mut cmd = redis::cmd(args[0]);
        for a in &args[1..] {
            cmd.arg(*a);
        }
        let _: redis::Value = cmd.query(&mut con).unwrap();
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.kill();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

const PLENTY: Custom = Custom(Limits::NONE.with_rpm(6_000_000).with_tpm(100_000_000));

fn throttle(url: &str, timeout: Duration, policy: FailurePolicy) -> Throttle {
    let options = RedisOptions::default()
        .with_prefix("faults")
        .with_timeout(timeout)
        .with_failure_policy(policy);
    Throttle::redis(RedisStore::open(url, options).unwrap(), Config::default()).unwrap()
}

fn kind(result: Result<limits_throttle::Permit, Refusal>) -> StoreErrorKind {
    match result {
        Err(Refusal::Unavailable(e)) => e.kind(),
        other => panic!("expected the store to be unavailable, got {other:?}"),
    }
}

#[test]
fn a_frozen_server_bounds_every_call_by_its_timeout() {
    let Some(server) = Server::start(&[]) else {
        return;
    };
    let timeout = Duration::from_millis(100);
    common::runtime(2).block_on(async {
        let t = throttle(&server.url(""), timeout, FailurePolicy::FailClosed);
        assert!(t.acquire(&PLENTY, 1, Duration::ZERO).await.is_ok());
        server.signal("-STOP");
        // 8 tasks at once on the one multiplexed connection: none waits for
        // another, each ends at its own timeout.
        let calls: Vec<_> = (0..8)
            .map(|_| {
                let t = t.clone();
                tokio::spawn(async move {
                    let started = Instant::now();
                    let result = t.acquire(&PLENTY, 1, Duration::ZERO).await;
                    (started.elapsed(), kind(result))
                })
            })
            .collect();
        let mut slowest = Duration::ZERO;
        for call in calls {
            let (took, kind) = call.await.unwrap();
            assert_eq!(kind, StoreErrorKind::Timeout);
            slowest = slowest.max(took);
        }
        eprintln!("frozen server: the slowest of 8 calls took {slowest:?} (timeout {timeout:?})");
        // Bounded by the timeout, with room for a loaded 2-core machine
        // (the server stays frozen for seconds).
        assert!(slowest < timeout * 5, "{slowest:?}");
        // Fail open: admitted, and the permit says why it was not checked.
        let open = throttle(&server.url(""), timeout, FailurePolicy::FailOpen);
        let permit = open.acquire(&PLENTY, 1, Duration::ZERO).await.unwrap();
        assert_eq!(permit.unchecked().unwrap().kind(), StoreErrorKind::Timeout);
        server.signal("-CONT");
        let back = Instant::now();
        while t.acquire(&PLENTY, 1, Duration::ZERO).await.is_err() {
            assert!(
                back.elapsed() < Duration::from_secs(5),
                "no answer after the thaw"
            );
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        eprintln!(
            "frozen server: answering again {:?} after the thaw",
            back.elapsed()
        );
    });
}

#[test]
fn a_restarted_server_is_used_again_within_a_second() {
    let Some(mut server) = Server::start(&[]) else {
        return;
    };
    common::runtime(2).block_on(async {
        let t = throttle(
            &server.url(""),
            Duration::from_millis(100),
            FailurePolicy::FailClosed,
        );
        assert!(t.acquire(&PLENTY, 1, Duration::ZERO).await.is_ok());
        server.kill();
        let down = kind(t.acquire(&PLENTY, 1, Duration::ZERO).await);
        assert!(
            matches!(down, StoreErrorKind::Connection | StoreErrorKind::Timeout),
            "{down:?}"
        );
        server.spawn();
        let back = Instant::now();
        let mut calls = 0;
        while t.acquire(&PLENTY, 1, Duration::ZERO).await.is_err() {
            calls += 1;
            assert!(back.elapsed() < Duration::from_secs(5), "not reconnected");
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        let took = back.elapsed();
        eprintln!(
            "restart: admitting again {took:?} after the server was back ({calls} failed calls)"
        );
        assert!(took < Duration::from_secs(1), "{took:?}");
    });
}

#[test]
fn lost_state_lets_through_at_most_a_seconds_share() {
    let Some(server) = Server::start(&[]) else {
        return;
    };
    // 120 requests per minute, one request every half second, saturated.
    let model = Custom(Limits::NONE.with_rpm(120).with_tpm(10_000_000));
    let config = Config::default();
    let clock = FakeClock::new();
    clock.set_ns(1_764_300_000_000_000_000);
    let events = common::runtime(2).block_on(async {
        let options = RedisOptions::default().with_timeout(Duration::from_secs(2));
        let store = RedisStore::open(&server.url(""), options)
            .unwrap()
            .with_clock(clock.clone());
        let t = Throttle::redis(store, config).unwrap();
        let start = clock.now_ns();
        let mut events = Vec::new();
        let mut flushed = 0;
        while clock.now_ns() - start < 180_000_000_000 {
            match t.acquire(&model, 1, Duration::ZERO).await {
                Ok(_permit) => {
                    events.push((clock.now_ns() / 1_000, 1));
                    // Every 45 s, everything is lost (FLUSHALL, a restart
                    // without persistence) half a spacing after an admission.
                    if (clock.now_ns() - start) / 45_000_000_000 > flushed {
                        flushed += 1;
                        clock.advance(Duration::from_millis(250));
                        server.admin("", &["FLUSHALL"]);
                    }
                }
                Err(Refusal::RetryAfter(wait)) => clock.advance(wait),
                Err(other) => panic!("{other}"),
            }
        }
        assert_eq!(flushed, 3);
        events
    });
    let promise = Promise::of(model.0, &config);
    // The documented bound: one second's share more than the limits.
    let lenient = Promise {
        rpm: promise.rpm + promise.rps,
        rps: promise.rps + 1,
        ..promise
    };
    let (most, _) = assert_windows(&events, lenient);
    eprintln!(
        "lost state: at most {most} requests in a window of a {} QPM limit",
        model.0.rpm().unwrap()
    );
    // The loss showed: the window around it went over the limit.
    assert!(most > promise.rpm, "{most}: the lost state went unnoticed");
}

#[test]
fn refused_credentials_name_the_cause() {
    let Some(server) = Server::start(&["--requirepass", "secret"]) else {
        return;
    };
    // A user that may read and write but not run scripts.
    server.admin(
        ":secret@",
        &[
            "ACL", "SETUSER", "reader", "on", ">pw", "~*", "+@read", "+@write",
        ],
    );
    common::runtime(2).block_on(async {
        let ask = |credentials: &str| {
            let t = throttle(
                &server.url(credentials),
                Duration::from_secs(2),
                FailurePolicy::FailClosed,
            );
            async move {
                t.acquire(&PLENTY, 1, Duration::ZERO)
                    .await
                    .map(Permit::into_owned)
            }
        };
        for (credentials, says) in [
            ("", "requires a password"),
            (":wrong@", "refused the credentials"),
            ("nobody:pw@", "refused the credentials"),
            ("reader:pw@", "may not run the throttle's script"),
        ] {
            let Err(Refusal::Unavailable(e)) = ask(credentials).await else {
                panic!("{credentials}: admitted")
            };
            assert_eq!(e.kind(), StoreErrorKind::Auth, "{credentials}: {e}");
            eprintln!("{credentials:>12} -> {e}");
            let text = format!("{e} / {:?}", std::error::Error::source(&e));
            assert!(text.contains(says), "{credentials}: {text}");
        }
        assert!(ask(":secret@").await.is_ok());
        assert!(ask("default:secret@").await.is_ok());
    });
}
