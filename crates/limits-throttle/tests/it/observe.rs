//! What the throttle does is visible: its metrics through the `metrics`
//! facade (a debugging recorder here) and its events through `tracing` (a
//! subscriber writing to a buffer).

use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures_util::FutureExt;
use limits_throttle::observe::{ADMITTED, REFUSED, REPORTED, TASKS, WAITED};
use limits_throttle::{
    Config, Deployment, FakeClock, Limits, Refusal, Throttle, TokioClock, Tripped,
};
use metrics_util::debugging::{DebugValue, DebuggingRecorder};
use metrics_util::MetricKind;
use modelstudio_limits::Model;

/// A metric the recorder saw: its name, labels and value.
type Seen = (String, Vec<(String, String)>, DebugValue);

/// Every counter, gauge and histogram the recorder saw.
fn snapshot(recorder: &DebuggingRecorder) -> Vec<Seen> {
    recorder
        .snapshotter()
        .snapshot()
        .into_vec()
        .into_iter()
        .map(|(key, _, _, value)| {
            let (kind, key) = (key.kind(), key.key());
            assert!(matches!(
                kind,
                MetricKind::Counter | MetricKind::Histogram | MetricKind::Gauge
            ));
            let labels = key
                .labels()
                .map(|l| (l.key().to_string(), l.value().to_string()))
                .collect();
            (key.name().to_string(), labels, value)
        })
        .collect()
}

fn counter(seen: &[Seen], name: &str, with: &[(&str, &str)]) -> u64 {
    seen.iter()
        .filter(|(n, labels, _)| {
            n == name
                && with
                    .iter()
                    .all(|(k, v)| labels.iter().any(|(lk, lv)| lk == k && lv == v))
        })
        .map(|(_, _, v)| match v {
            DebugValue::Counter(n) => *n,
            other => panic!("{name} is not a counter: {other:?}"),
        })
        .sum()
}

#[test]
fn admissions_refusals_and_reports_are_counted_per_key() {
    let recorder = DebuggingRecorder::new();
    metrics::with_local_recorder(&recorder, || {
        let clock = FakeClock::new();
        let throttle = Throttle::in_process_with_clock(Config::default(), clock.clone()).unwrap();
        let model = Model::QwqPlus;
        let first = throttle
            .acquire(&model, 10, Duration::ZERO)
            .now_or_never()
            .unwrap();
        assert!(first.is_ok());
        drop(first);
        let second = throttle
            .acquire(&model, 10, Duration::ZERO)
            .now_or_never()
            .unwrap();
        assert!(matches!(second, Err(Refusal::RetryAfter(_))));
        // Not listed in this mode: refused, and counted by its reason.
        let us_only = Model::ALL
            .iter()
            .find(|m| !m.deployments().contains(&Deployment::INTERNATIONAL))
            .unwrap();
        let refused = throttle
            .acquire(us_only, 1, Duration::ZERO)
            .now_or_never()
            .unwrap();
        assert!(matches!(refused, Err(Refusal::NotListed { .. })));
        throttle
            .report(&model, Tripped::Tokens)
            .now_or_never()
            .unwrap()
            .unwrap();
        let seen = snapshot(&recorder);
        let intl = Deployment::INTERNATIONAL.to_string();
        let key = [
            ("account", "default"),
            ("deployment", intl.as_str()),
            ("model", "qwq-plus"),
        ];
        assert_eq!(counter(&seen, ADMITTED, &key), 1, "{seen:?}");
        let mut waited = key.to_vec();
        waited.push(("reason", "retry_after"));
        assert_eq!(counter(&seen, REFUSED, &waited), 1, "{seen:?}");
        assert_eq!(
            counter(
                &seen,
                REFUSED,
                &[("model", us_only.id()), ("reason", "not_listed")]
            ),
            1
        );
        let mut tripped = key.to_vec();
        tripped.push(("tripped", "tokens"));
        assert_eq!(counter(&seen, REPORTED, &tripped), 1, "{seen:?}");
    });
}

#[test]
fn a_wait_is_recorded_once_admitted() {
    let recorder = DebuggingRecorder::new();
    metrics::with_local_recorder(&recorder, || {
        // Tokio's clock, paused: the wait takes no real time.
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_time()
            .start_paused(true)
            .build()
            .unwrap();
        rt.block_on(async {
            // A "minute" of 6 s: qwq-plus's 60 RPM space requests 100 ms.
            let config = Config::default().with_window(Duration::from_secs(6));
            let throttle = Throttle::in_process_with_clock(config, TokioClock::new()).unwrap();
            let model = Model::QwqPlus;
            drop(
                throttle
                    .acquire(&model, 1, throttle.config().max_wait)
                    .await
                    .unwrap(),
            );
            drop(
                throttle
                    .acquire(&model, 1, throttle.config().max_wait)
                    .await
                    .unwrap(),
            );
        });
        let seen = snapshot(&recorder);
        let waits: Vec<&DebugValue> = seen
            .iter()
            .filter(|(n, _, _)| n == WAITED)
            .map(|(_, _, v)| v)
            .collect();
        assert_eq!(waits.len(), 1, "{seen:?}");
        let DebugValue::Histogram(values) = waits[0] else {
            panic!("{waits:?}")
        };
        assert_eq!(values.len(), 1, "one acquire waited");
        // The second request's turn: a sixtieth of the window later.
        assert!(values[0].into_inner() >= 0.1, "{values:?}");
    });
}

/// Makes a thread's capture see its events while other tests run. tracing
/// caches each callsite's interest for the whole process, and while at most
/// one dispatcher is registered it takes a callsite's interest from the
/// registering thread alone: a callsite first hit by a test without a
/// subscriber is then cached as never, and a capture on another thread
/// misses its events. Two inert dispatchers pinned for the process make
/// every registration ask every live dispatcher, under tracing's lock; the
/// capture then rebuilds the cache with itself in it.
fn pin_dispatchers() {
    static PINNED: std::sync::OnceLock<[tracing::Dispatch; 2]> = std::sync::OnceLock::new();
    PINNED.get_or_init(|| {
        let inert = || tracing::Dispatch::new(tracing::subscriber::NoSubscriber::default());
        [inert(), inert()]
    });
}

/// A `tracing` subscriber that writes to a buffer; install it, then call
/// `tracing::callsite::rebuild_interest_cache()`.
fn captured(level: tracing::Level) -> (impl tracing::Subscriber, Arc<Mutex<Vec<u8>>>) {
    #[derive(Clone)]
    struct Buffer(Arc<Mutex<Vec<u8>>>);
    impl std::io::Write for Buffer {
        fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(bytes);
            Ok(bytes.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    pin_dispatchers();
    let out = Arc::new(Mutex::new(Vec::new()));
    let writer = Buffer(Arc::clone(&out));
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(level)
        .with_ansi(false)
        .with_writer(move || writer.clone())
        .finish();
    (subscriber, out)
}

#[test]
fn refusals_and_reports_are_traced() {
    let (subscriber, out) = captured(tracing::Level::DEBUG);
    tracing::subscriber::with_default(subscriber, || {
        tracing::callsite::rebuild_interest_cache();
        let clock = FakeClock::new();
        let throttle = Throttle::in_process_with_clock(Config::default(), clock).unwrap();
        let model = Model::QwqPlus;
        drop(
            throttle
                .acquire(&model, 10, Duration::ZERO)
                .now_or_never()
                .unwrap(),
        );
        let _ = throttle
            .acquire(&model, 10, Duration::ZERO)
            .now_or_never()
            .unwrap();
        let (retired, mode) = Model::ALL
            .iter()
            .find_map(|m| {
                let mode = m
                    .deployments()
                    .iter()
                    .find(|&&d| m.limits_in(d) == Some(Limits::NONE))?;
                Some((m, *mode))
            })
            .unwrap();
        let there = throttle.for_deployment(mode);
        let _ = there
            .acquire(retired, 1, Duration::ZERO)
            .now_or_never()
            .unwrap();
        throttle
            .report(&model, Tripped::Requests)
            .now_or_never()
            .unwrap()
            .unwrap();
    });
    let text = String::from_utf8(out.lock().unwrap().clone()).unwrap();
    assert!(
        text.contains("DEBUG") && text.contains("throttle: not now"),
        "{text}"
    );
    assert!(text.contains("model=\"qwq-plus\""), "{text}");
    assert!(
        text.contains("WARN") && text.contains("reason=\"no_limits\""),
        "{text}"
    );
    assert!(
        text.contains("throttle: the provider refused a request"),
        "{text}"
    );
}

/// A task slot held and freed is a gauge going up and down, and two
/// debug events.
#[test]
fn task_slots_are_a_gauge_and_events() {
    let recorder = DebuggingRecorder::new();
    let (subscriber, out) = captured(tracing::Level::DEBUG);
    let cn = Deployment::MAINLAND_CHINA;
    let video = *Model::ALL
        .iter()
        .find(|m| m.limits_in(cn).is_some_and(|l| l.concurrency().is_some()))
        .unwrap();
    let gauge = |seen: &[Seen]| -> f64 {
        seen.iter()
            .filter(|(n, labels, _)| {
                n == TASKS && labels.iter().any(|(k, v)| k == "model" && v == video.id())
            })
            .map(|(_, _, v)| match v {
                DebugValue::Gauge(g) => g.into_inner(),
                other => panic!("{other:?}"),
            })
            .sum()
    };
    tracing::subscriber::with_default(subscriber, || {
        tracing::callsite::rebuild_interest_cache();
        metrics::with_local_recorder(&recorder, || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_time()
                .build()
                .unwrap();
            let throttle = Throttle::in_process(Config::default())
                .unwrap()
                .for_deployment(cn);
            // (The recorder's snapshot resets what it read: one, at the end.)
            let first = rt
                .block_on(throttle.submit(&video, throttle.config().max_wait))
                .unwrap();
            let second = rt
                .block_on(throttle.submit(&video, throttle.config().max_wait))
                .unwrap();
            drop(first);
            assert_eq!(gauge(&snapshot(&recorder)), 1.0);
            drop(second);
        });
    });
    let text = String::from_utf8(out.lock().unwrap().clone()).unwrap();
    assert!(text.contains("task slot held"), "{text}");
    assert!(text.contains("task slot freed"), "{text}");
}
