//! What the throttle's tests share: a workload of 8 concurrent tasks on a
//! fake clock, and the window rules it must keep, for any store.

pub mod servers;
#[cfg(feature = "redis")]
pub mod target;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use limits_throttle::{
    Clock, Config, Deployment, FakeClock, HasLimits, Limits, Pacing, Refusal, Throttle,
};
use modelstudio_limits::Model;

/// A model of no table: limits for a test, the same in every mode.
#[derive(Clone, Debug)]
pub struct Custom(pub Limits);

impl HasLimits for Custom {
    fn id(&self) -> &str {
        "custom"
    }
    fn limits_in(&self, _: Deployment) -> Option<Limits> {
        Some(self.0)
    }
}

/// A published model's limits in the default throttle's mode.
pub trait Intl {
    /// Its limits in International.
    fn intl(&self) -> Limits;
    /// Its requests per minute there.
    fn rpm(&self) -> u32 {
        self.intl().rpm().unwrap()
    }
    /// Its tokens per minute there.
    fn tpm(&self) -> u64 {
        self.intl().tpm().unwrap()
    }
}

impl Intl for Model {
    fn intl(&self) -> Limits {
        self.limits_in(Deployment::INTERNATIONAL).unwrap()
    }
}

/// Requests and tokens per minute of `limits` (a row that has both).
pub fn per_minute(limits: Limits) -> (u32, u64) {
    (limits.rpm().unwrap(), limits.tpm().unwrap())
}

/// The published models the default throttle (International) enforces by
/// requests and tokens per minute, with those limits.
pub fn intl_models() -> Vec<(Model, u32, u64)> {
    Model::ALL
        .iter()
        .filter_map(|&m| {
            let l = m.limits_in(Deployment::INTERNATIONAL)?;
            if l.has_task_kinds() || m.pool_in(Deployment::INTERNATIONAL).is_some() {
                return None;
            }
            Some((m, l.rpm()?, l.tpm()?))
        })
        .collect()
}

/// An admission: when (us on the store's clock) and the tokens it used.
pub type Event = (u64, u64);

/// How the workload draws and settles its requests.
#[derive(Copy, Clone, Debug)]
pub struct Workload {
    pub rounds: u32,
    /// The most the clock moves between rounds.
    pub max_step: Duration,
    /// The most tokens one request asks for.
    pub max_tokens: u64,
    /// Reconcile every permit to half its estimate.
    pub reconcile_to_half: bool,
    pub seed: u64,
}

/// 8 tasks (on a runtime of 8 threads in the tests), in rounds: between rounds the
/// clock moves a random step; within a round all 8 ask at once (the same
/// time for all, so the order the store runs them in does not matter for
/// when they were admitted). Returns every admission.
pub async fn hammer(
    throttle: Throttle,
    clock: FakeClock,
    model: impl HasLimits + Clone + Send + Sync + 'static,
    w: Workload,
) -> Vec<Event> {
    const TASKS: usize = 8;
    let start = tokio::sync::Barrier::new(TASKS);
    let done = tokio::sync::Barrier::new(TASKS);
    let shared = Arc::new((start, done, Mutex::new(Vec::new())));
    let mut handles = Vec::new();
    for task in 0..TASKS {
        let (throttle, clock, model, shared) = (
            throttle.clone(),
            clock.clone(),
            model.clone(),
            shared.clone(),
        );
        handles.push(tokio::spawn(async move {
            let mut rng = fastrand::Rng::with_seed(w.seed ^ ((task as u64 + 1) * 0x9e37_79b9));
            let mut mine = Vec::new();
            for _ in 0..w.rounds {
                if shared.0.wait().await.is_leader() {
                    let step = rng.u64(0..=w.max_step.as_micros() as u64);
                    clock.advance(Duration::from_micros(step));
                }
                shared.1.wait().await;
                let now = clock.now_ns() / 1_000;
                let tokens = rng.u64(0..=w.max_tokens);
                match throttle.acquire(&model, tokens, Duration::ZERO).await {
                    Ok(permit) => {
                        let used = if w.reconcile_to_half {
                            tokens / 2
                        } else {
                            tokens
                        };
                        if w.reconcile_to_half {
                            permit.reconcile(used).await.unwrap();
                        } else {
                            drop(permit);
                        }
                        mine.push((now, used));
                    }
                    Err(Refusal::RetryAfter(wait)) => assert!(wait > Duration::ZERO),
                    Err(other) => panic!("{other}"),
                }
            }
            shared.2.lock().unwrap().extend(mine);
        }));
    }
    for h in handles {
        h.await.unwrap();
    }
    let mut events = std::mem::take(&mut *shared.2.lock().unwrap());
    events.sort_unstable();
    events
}

/// The caps the documented default promises, derived from the limits and
/// the config as the docs state them.
#[derive(Copy, Clone, Debug)]
pub struct Promise {
    pub window: u64,
    pub rpm: u64,
    pub tpm: u64,
    pub rps: u64,
    pub tps: u64,
}

impl Promise {
    pub fn of(limits: Limits, config: &Config) -> Promise {
        let (rpm, tpm) = per_minute(limits);
        let rpm = (f64::from(rpm) * config.headroom) as u64;
        let tpm = (tpm as f64 * config.headroom) as u64;
        let share = |n: u64| match config.pacing {
            Pacing::PerSecond => n.div_ceil(60),
            Pacing::Bursty { burst } => n.div_ceil(60).max((n as f64 * burst) as u64),
            _ => unreachable!(),
        };
        Promise {
            window: config.window.as_micros() as u64,
            rpm,
            tpm,
            rps: share(rpm),
            tps: share(tpm),
        }
    }
}

/// The busiest window of `span` us over sorted `events`: (requests, tokens,
/// the largest single request in it) for the window with the most tokens,
/// and the most requests of any window.
fn busiest(events: &[Event], span: u64, mut check: impl FnMut(u64, u64, u64)) {
    let mut end = 0;
    for start in 0..events.len() {
        while end < events.len() && events[end].0 < events[start].0 + span {
            end += 1;
        }
        let inside = &events[start..end];
        let tokens = inside.iter().map(|e| e.1).sum();
        let largest = inside.iter().map(|e| e.1).max().unwrap_or(0);
        check(inside.len() as u64, tokens, largest);
    }
}

/// Asserts the documented rules over every window that starts at an
/// admission (the windows with the most in them start at one), and returns
/// the most requests and tokens seen in a window.
pub fn assert_windows(events: &[Event], promise: Promise) -> (u64, u64) {
    let (mut most_requests, mut most_tokens) = (0, 0);
    busiest(events, promise.window, |n, t, _| {
        assert!(
            n <= promise.rpm,
            "{n} requests in a window, cap {}",
            promise.rpm
        );
        assert!(
            t <= promise.tpm,
            "{t} tokens in a window, cap {}",
            promise.tpm
        );
        most_requests = most_requests.max(n);
        most_tokens = most_tokens.max(t);
    });
    let second = promise.window.div_ceil(60);
    busiest(events, second, |n, t, largest| {
        assert!(
            n <= promise.rps,
            "{n} requests in a second, cap {}",
            promise.rps
        );
        assert!(
            t <= promise.tps.max(largest),
            "{t} tokens in a second, cap {} (largest request {largest})",
            promise.tps
        );
    });
    (most_requests, most_tokens)
}

/// The Redis server of the shared tests: `REDIS_URL` (`.ci/run` starts
/// one). Without it, the tests fail under CI and are skipped, saying so,
/// elsewhere.
pub fn redis_url() -> Option<String> {
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

/// A key prefix no other test (or earlier run) uses.
pub fn fresh_prefix(test: &str) -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    format!("test-{test}-{nanos}-{}", fastrand::u32(..))
}

/// A model of Mainland China's table with tasks in flight and submissions
/// per second (video generation).
pub fn cn_video_model() -> Model {
    *Model::ALL
        .iter()
        .find(|m| {
            m.limits_in(Deployment::MAINLAND_CHINA)
                .is_some_and(|l| l.concurrency().is_some() && l.submit_rps().is_some())
        })
        .expect("the table has a video model in Mainland China")
}

/// Counts what runs at once, and the most that ever did.
#[derive(Clone, Default)]
pub struct Peak {
    now: Arc<std::sync::atomic::AtomicU32>,
    most: Arc<std::sync::atomic::AtomicU32>,
}

impl Peak {
    /// One more runs until the guard is dropped.
    pub fn enter(&self) -> impl Drop {
        use std::sync::atomic::Ordering::SeqCst;
        let now = self.now.fetch_add(1, SeqCst) + 1;
        self.most.fetch_max(now, SeqCst);
        struct Leave(Arc<std::sync::atomic::AtomicU32>);
        impl Drop for Leave {
            fn drop(&mut self) {
                self.0.fetch_sub(1, std::sync::atomic::Ordering::SeqCst);
            }
        }
        Leave(Arc::clone(&self.now))
    }

    /// The most that ran at once.
    pub fn most(&self) -> u32 {
        self.most.load(std::sync::atomic::Ordering::SeqCst)
    }
}

/// Whether `redis-server` is on the PATH for the tests that start servers
/// of their own: under CI it must be (the test fails), elsewhere the test
/// is skipped, saying so.
pub fn redis_server_on_path() -> bool {
    if std::process::Command::new("redis-server")
        .arg("--version")
        .output()
        .is_ok()
    {
        return true;
    }
    assert!(
        std::env::var_os("CI").is_none(),
        "redis-server is not on the PATH: .ci/run must install it"
    );
    eprintln!("skipped: redis-server is not on the PATH");
    false
}

/// A multi-threaded Tokio runtime of `workers` threads, timer and I/O on.
pub fn runtime(workers: usize) -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(workers)
        .enable_all()
        .build()
        .unwrap()
}
