//! The Redis store against a real Redis (`REDIS_URL`: a server, a TLS
//! server or a cluster, `common::target`): the script answers exactly as
//! the in-process rules do, 8 tasks keep every window through it,
//! processes share one state, and each call is one round trip.

use std::time::{Duration, Instant};

use limits_throttle::redis::RedisOptions;
use limits_throttle::{
    Clock, Config, Effective, FakeClock, Limits, Pacing, Refusal, Throttle, Tripped,
};
use modelstudio_limits::Model;
use proptest::prelude::*;

use crate::common;
use common::target::{redis_target, Target};
use common::{assert_windows, fresh_prefix, hammer, Custom, Intl, Promise, Workload};

fn options(test: &str) -> RedisOptions {
    RedisOptions::default()
        .with_prefix(fresh_prefix(test))
        .with_timeout(Duration::from_secs(2))
}

/// One step of a history fed to both stores.
#[derive(Clone, Debug)]
enum Op {
    /// Move the clock.
    Step(u64),
    /// Ask for a request of so many tokens.
    Acquire(u64),
    /// Reconcile the oldest held permit (tokens used, as a fraction of 2x
    /// its estimate, in percent).
    Reconcile(u64),
    /// The provider refused a request.
    Report(u8),
    /// Read the effective limits.
    Effective,
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        4 => (0u64..2_000_000).prop_map(Op::Step),
        6 => (0u64..6_000).prop_map(Op::Acquire),
        2 => (0u64..=100).prop_map(Op::Reconcile),
        1 => (0u8..4).prop_map(Op::Report),
        1 => Just(Op::Effective),
    ]
}

/// What one step answered, comparable across stores.
#[derive(Debug, PartialEq)]
enum Answer {
    Admitted,
    Wait(Duration),
    TooLarge(u64),
    Done,
    Effective(Effective),
}

async fn apply<'t>(
    throttle: &'t Throttle,
    model: &Custom,
    held: &mut Vec<limits_throttle::Permit<'t>>,
    op: &Op,
) -> Answer {
    match op {
        Op::Step(_) => Answer::Done,
        Op::Acquire(tokens) => match throttle.acquire(model, *tokens, Duration::ZERO).await {
            Ok(permit) => {
                held.push(permit);
                Answer::Admitted
            }
            Err(Refusal::RetryAfter(wait)) => Answer::Wait(wait),
            Err(Refusal::TooLarge { max, .. }) => Answer::TooLarge(max),
            Err(other) => panic!("{other}"),
        },
        Op::Reconcile(percent) => {
            if !held.is_empty() {
                let permit = held.remove(0);
                let actual = permit.tokens() * 2 * percent / 100;
                permit.reconcile(actual).await.unwrap();
            }
            Answer::Done
        }
        Op::Report(which) => {
            let tripped = [
                Tripped::Requests,
                Tripped::Tokens,
                Tripped::Burst,
                Tripped::Unspecified,
            ][usize::from(*which)];
            throttle.report(model, tripped).await.unwrap();
            Answer::Done
        }
        Op::Effective => Answer::Effective(throttle.effective(model).await.unwrap().unwrap()),
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    /// The Lua script and the in-process rules give the same answer to every
    /// step of a random history: admissions, exact waits, reconciles,
    /// reports and effective limits.
    #[test]
    fn redis_matches_in_process(
        qpm in 1u32..3_000,
        tpm in 1_000u32..3_000_000,
        headroom in 0.5f64..=1.0,
        bursty in any::<bool>(),
        short_window in any::<bool>(),
        ops in prop::collection::vec(op(), 1..150),
    ) {
        let Some(target) = redis_target() else { return Ok(()) };
        let pacing = if bursty { Pacing::Bursty { burst: 0.2 } } else { Pacing::PerSecond };
        let window = if short_window { Duration::from_secs(6) } else { Duration::from_secs(60) };
        let config = Config::default().with_headroom(headroom).with_pacing(pacing).with_window(window);
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        rt.block_on(async {
            let clock = FakeClock::new();
            // A server-like origin: microseconds since 1970.
            clock.set_ns(1_764_300_000_000_000_000);
            let local = Throttle::in_process_with_clock(config, clock.clone()).unwrap();
            let store = target.store(options("same")).await.with_clock(clock.clone());
            let shared = Throttle::redis(store, config).unwrap();
            let model = Custom(Limits::NONE.with_rpm(qpm).with_tpm(u64::from(tpm)));
            let (mut held_local, mut held_shared) = (Vec::new(), Vec::new());
            for (i, op) in ops.iter().enumerate() {
                if let Op::Step(us) = op {
                    clock.advance(Duration::from_micros(*us));
                }
                let a = apply(&local, &model, &mut held_local, op).await;
                let b = apply(&shared, &model, &mut held_shared, op).await;
                prop_assert_eq!(&a, &b, "step {} ({:?}) at {} us", i, op, clock.now_ns() / 1_000);
            }
            Ok(())
        })?;
    }
}

#[test]
fn eight_tasks_keep_every_window_through_redis() {
    let Some(target) = redis_target() else { return };
    let rt = common::runtime(8);
    for (model, config, reconcile) in [
        (Model::QwqPlus, Config::default(), false),
        (Model::QwenMax, Config::default().with_headroom(0.8), true),
    ] {
        let clock = FakeClock::new();
        clock.set_ns(1_764_300_000_000_000_000);
        let events = rt.block_on(async {
            let store = target
                .store(options("hammer"))
                .await
                .with_clock(clock.clone());
            let throttle = Throttle::redis(store, config).unwrap();
            let w = Workload {
                rounds: 2_000,
                max_step: Duration::from_millis(250),
                max_tokens: model.tpm() / 30,
                reconcile_to_half: reconcile,
                seed: 7,
            };
            hammer(throttle, clock, model, w).await
        });
        let (requests, tokens) = assert_windows(&events, Promise::of(model.intl(), &config));
        assert!(requests > 0 && tokens > 0, "{model}: nothing admitted");
    }
}

#[test]
fn processes_share_one_state_and_one_cool_down() {
    let Some(target) = redis_target() else { return };
    common::runtime(8).block_on(async {
        let options = options("fleet");
        // Two connection managers: two processes of one fleet.
        let a = Throttle::redis(target.store(options.clone()).await, Config::default()).unwrap();
        let b = Throttle::redis(target.store(options).await, Config::default()).unwrap();
        let model = Model::QwqPlus;
        let _permit = a.acquire(&model, 10, Duration::ZERO).await.unwrap();
        let Err(Refusal::RetryAfter(wait)) = b.acquire(&model, 10, Duration::ZERO).await else {
            panic!("the second process was admitted beside the first")
        };
        // The schedule's place, or the second's share and the margin.
        let margin = Config::default().arrival_margin;
        assert!(wait <= Duration::from_secs(60) / model.rpm() + margin);
        // Another account of the same fleet is not affected.
        assert!(b
            .for_account("other")
            .acquire(&model, 10, Duration::ZERO)
            .await
            .is_ok());
        // A refusal seen by one process cools down and lowers the limit for all.
        a.report(&Model::QwenMax, Tripped::Tokens).await.unwrap();
        let seen = b.effective(&Model::QwenMax).await.unwrap().unwrap();
        // Decreased, and recovering by `recovery` of the limit per minute since.
        let decrease = Config::default().adaptation.decrease;
        let lowered = (Model::QwenMax.tpm() as f64 * decrease) as u64;
        assert!(
            (lowered..lowered + lowered / 100).contains(&seen.per_window.tpm().unwrap()),
            "{seen:?}"
        );
        assert!(seen.cooldown > Duration::ZERO);
        assert!(matches!(
            b.acquire(&Model::QwenMax, 1, Duration::ZERO).await,
            Err(Refusal::RetryAfter(_))
        ));
        // The same episode reported by the other process changes nothing more.
        b.report(&Model::QwenMax, Tripped::Tokens).await.unwrap();
        let again = a.effective(&Model::QwenMax).await.unwrap().unwrap();
        assert!(
            (lowered..lowered + lowered / 100).contains(&again.per_window.tpm().unwrap()),
            "{again:?}"
        );
    });
}

/// Calls of `command` so far, on every master of a cluster (INFO
/// commandstats; commands that scripts run are counted under their own
/// names, so EVALSHA counts only clients' calls).
fn command_calls(target: &Target, command: &str) -> u64 {
    let info: redis::Value = redis::cmd("INFO")
        .arg("commandstats")
        .query(&mut *target.admin())
        .unwrap();
    let prefix = format!("cmdstat_{command}:calls=");
    texts(info)
        .iter()
        .flat_map(|text| text.lines())
        .filter_map(|l| l.strip_prefix(&prefix))
        .map(|rest| rest.split(',').next().unwrap().parse::<u64>().unwrap())
        .sum()
}

/// The texts of a reply: one server's, or each master's of a cluster.
fn texts(reply: redis::Value) -> Vec<String> {
    match reply {
        redis::Value::Map(answers) => answers.into_iter().flat_map(|(_, a)| texts(a)).collect(),
        redis::Value::Array(answers) => answers.into_iter().flat_map(texts).collect(),
        one => vec![redis::FromRedisValue::from_redis_value(one).unwrap()],
    }
}

#[test]
fn one_evalsha_per_call_and_a_flushed_script_is_loaded_again() {
    let Some(target) = redis_target() else { return };
    // Bursty pacing and huge limits: every call is admitted.
    let config = Config::default().with_pacing(Pacing::Bursty { burst: 1.0 });
    let model = Custom(
        Limits::NONE
            .with_rpm(u32::MAX)
            .with_tpm(u64::from(u32::MAX)),
    );
    common::runtime(8).block_on(async {
        let t = Throttle::redis(target.store(options("trips")).await, config).unwrap();
        t.acquire(&model, 1, Duration::ZERO)
            .await
            .unwrap()
            .reconcile(1)
            .await
            .unwrap();
        let (evalsha, eval, load) = (
            command_calls(&target, "evalsha"),
            command_calls(&target, "eval"),
            command_calls(&target, "script|load"),
        );
        for _ in 0..50 {
            let _ = t.acquire(&model, 1, Duration::ZERO).await.unwrap();
        }
        // Other tests may run scripts meanwhile: at least ours, none by EVAL.
        assert!(command_calls(&target, "evalsha") - evalsha >= 50);
        assert_eq!(
            command_calls(&target, "eval"),
            eval,
            "the script was sent again"
        );
        // SCRIPT FLUSH (or a restart): the next call loads it again.
        let _: () = redis::cmd("SCRIPT")
            .arg("FLUSH")
            .query(&mut *target.admin())
            .unwrap();
        assert!(t.acquire(&model, 1, Duration::ZERO).await.is_ok());
        assert!(t.acquire(&model, 1, Duration::ZERO).await.is_ok());
        assert!(command_calls(&target, "script|load") > load);
    });
}

#[test]
fn acquire_waits_on_the_servers_clock() {
    let Some(target) = redis_target() else { return };
    // A 600 ms "minute": qwq-plus's 60 requests are spaced 10 ms apart.
    let config = Config::default().with_window(Duration::from_millis(600));
    let model = Model::QwqPlus;
    let spacing = config.window / model.rpm();
    common::runtime(8).block_on(async {
        let t = Throttle::redis(target.store(options("wait")).await, config).unwrap();
        let started = Instant::now();
        for _ in 0..5 {
            t.acquire(&model, 10, t.config().max_wait)
                .await
                .unwrap()
                .reconcile(10)
                .await
                .unwrap();
        }
        assert!(started.elapsed() >= spacing * 4, "{:?}", started.elapsed());
        // A wait longer than allowed is returned at once.
        let err = t.acquire(&model, 10, Duration::ZERO).await.unwrap_err();
        assert!(
            matches!(err, Refusal::RetryAfter(w) if w <= spacing + config.arrival_margin),
            "{err:?}"
        );
        let too_large = t
            .acquire(&model, model.tpm() + 1, Duration::ZERO)
            .await
            .unwrap_err();
        assert!(too_large.to_string().contains("whole limit"), "{too_large}");
    });
}

#[test]
fn keys_expire_once_nothing_in_them_matters() {
    let Some(target) = redis_target() else { return };
    let window = Duration::from_secs(6);
    let config = Config::default().with_window(window);
    let options = options("ttl");
    let tag = format!(
        "{{{}:default:ap-southeast-1/intl:qwq-plus}}",
        options.prefix
    );
    common::runtime(8).block_on(async {
        let t = Throttle::redis(target.store(options).await, config).unwrap();
        let mut con = target.admin();
        let mut ttl = |suffix: &str| -> i64 {
            redis::cmd("PTTL")
                .arg(format!("{tag}:{suffix}"))
                .query(&mut *con)
                .unwrap()
        };
        // A fresh key has no state at all; reading its limits makes none.
        assert!(t.effective(&Model::QwqPlus).await.is_ok());
        assert_eq!(ttl("h"), -2);
        t.acquire(&Model::QwqPlus, 10, Duration::ZERO)
            .await
            .unwrap()
            .reconcile(5)
            .await
            .unwrap();
        // A window and one of its buckets, plus a second of margin.
        let most = (window + window / 600 + Duration::from_secs(1)).as_millis() as i64 + 1;
        for suffix in ["h", "s", "m"] {
            let left = ttl(suffix);
            assert!(left > 0 && left <= most, "{suffix}: {left} ms");
        }
        // A lowered limit is kept until it could have recovered from zero.
        t.report(&Model::QwqPlus, Tripped::Requests).await.unwrap();
        let recovery = window.mul_f64(1.0 / config.adaptation.recovery).as_millis() as i64;
        assert!(ttl("h") > recovery, "{} ms", ttl("h"));
    });
}
