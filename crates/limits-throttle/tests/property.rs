//! The throttle's guarantees on a fake clock: 8 threads hammering one model
//! never get more than the limit admitted in any 60-second window, for
//! requests and for tokens; refusals carry an exact retry-after; reconcile
//! never drives the state below empty.

use std::cell::Cell;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use limits_throttle::{
    reconcile, try_admit, Clock, Config, Limiter, Rates, Refusal, State, MINUTE_NS,
};
use modelstudio_limits::{Limits, Model};

mod common;
use common::{max_per_minute, Rng};

thread_local! {
    /// The time the limiter read last on this thread.
    static LAST_NOW: Cell<u64> = const { Cell::new(0) };
}

/// A shared fake clock that also tells each thread what time the limiter
/// saw, so admissions are recorded at exactly the limiter's time.
#[derive(Clone, Default)]
struct RecordingClock(Arc<AtomicU64>);

impl Clock for RecordingClock {
    fn now_ns(&self) -> u64 {
        let now = self.0.load(Ordering::SeqCst);
        LAST_NOW.with(|c| c.set(now));
        now
    }
}

fn hammer(config: Config, reconcile_to_half: bool) {
    let model = Model::QwqPlus; // 60 QPM, 100,000 TPM
    let clock = RecordingClock::default();
    let limiter = Limiter::with_clock(model.limits(), &config, clock.clone()).unwrap();
    let rates = *limiter.rates();
    let admitted = Arc::new(Mutex::new(Vec::new()));
    std::thread::scope(|s| {
        for t in 0..8u64 {
            let (limiter, clock, admitted) = (limiter.clone(), clock.clone(), admitted.clone());
            s.spawn(move || {
                let mut rng = Rng(0x9e37_79b9_7f4a_7c15 ^ (t + 1));
                let mut mine = Vec::new();
                for _ in 0..4_000 {
                    // Up to 0.5 s between attempts: about 10 simulated minutes.
                    clock.0.fetch_add(rng.below(500_000_000), Ordering::SeqCst);
                    let tokens = rng.below(rates.tokens.burst + 1);
                    match limiter.try_acquire(tokens) {
                        Ok(permit) => {
                            let now = LAST_NOW.with(Cell::get);
                            let used = if reconcile_to_half {
                                tokens / 2
                            } else {
                                tokens
                            };
                            if reconcile_to_half {
                                permit.reconcile(used);
                            }
                            mine.push((now, used));
                        }
                        Err(Refusal::RetryAfter(wait)) => assert!(wait > Duration::ZERO),
                        Err(other) => panic!("{other}"),
                    }
                }
                admitted.lock().unwrap().extend(mine);
            });
        }
    });
    let admitted = admitted.lock().unwrap();
    let mut requests: Vec<(u64, u64)> = admitted.iter().map(|&(t, _)| (t, 1)).collect();
    let mut tokens: Vec<(u64, u64)> = admitted.clone();
    let (max_requests, max_tokens) = (max_per_minute(&mut requests), max_per_minute(&mut tokens));
    assert!(
        max_requests <= rates.requests.effective,
        "{max_requests} requests in a minute"
    );
    assert!(
        max_tokens <= rates.tokens.effective,
        "{max_tokens} tokens in a minute"
    );
    // The limiter is not trivially strict: the busiest minute uses most of
    // at least one of the limits.
    assert!(
        max_requests * 10 >= rates.requests.effective * 8
            || max_tokens * 10 >= rates.tokens.effective * 8,
        "only {max_requests} requests and {max_tokens} tokens in the busiest minute"
    );
}

#[test]
fn eight_threads_never_exceed_either_limit_in_any_minute() {
    hammer(Config::default(), false);
    hammer(
        Config {
            headroom: 0.8,
            burst: 0.5,
        },
        false,
    );
    hammer(
        Config {
            headroom: 1.0,
            burst: 1.0,
        },
        false,
    );
}

#[test]
fn with_reconcile_the_tokens_used_stay_within_the_limit() {
    hammer(Config::default(), true);
    hammer(
        Config {
            headroom: 0.9,
            burst: 0.3,
        },
        true,
    );
}

#[test]
fn refusals_carry_the_exact_wait() {
    let rates = Rates::new(
        Limits {
            qpm: 60,
            tpm: 100_000,
        },
        &Config {
            headroom: 1.0,
            burst: 0.2,
        },
    )
    .unwrap();
    let mut rng = Rng(42);
    let mut state = State::default();
    let mut now = 0u64;
    let mut refusals = 0;
    for _ in 0..20_000 {
        now += rng.below(300_000_000);
        let tokens = rng.below(rates.tokens.burst + 1);
        let before = state;
        match try_admit(&mut state, &rates, now, tokens) {
            Ok(()) => {}
            Err(Refusal::RetryAfter(wait)) => {
                refusals += 1;
                assert_eq!(state, before, "a refusal changes nothing");
                let wait = wait.as_nanos() as u64;
                let mut probe = state;
                assert!(try_admit(&mut probe, &rates, now + wait - 1, tokens).is_err());
                let mut probe = state;
                assert!(try_admit(&mut probe, &rates, now + wait, tokens).is_ok());
            }
            Err(other) => panic!("{other}"),
        }
    }
    assert!(
        refusals > 1_000,
        "{refusals} refusals: the test did not test"
    );
}

#[test]
fn reconcile_cannot_make_the_state_emptier_than_empty() {
    let rates = Rates::new(
        Limits {
            qpm: 60,
            tpm: 100_000,
        },
        &Config::default(),
    )
    .unwrap();
    let mut state = State::default();
    let now = 5 * MINUTE_NS;
    try_admit(&mut state, &rates, now, 1_000).unwrap();
    reconcile(&mut state, &rates, now, 1_000, 0);
    reconcile(&mut state, &rates, now, 10_000, 0);
    assert_eq!(state.tokens_tat, now);
    // An empty state admits exactly one burst, no more.
    let burst = rates.tokens.burst;
    assert!(try_admit(&mut state, &rates, now, burst).is_ok());
    assert!(try_admit(&mut state, &rates, now, 1).is_err());
}

#[test]
fn throttle_keys_by_model_and_account() {
    let clock = limits_throttle::FakeClock::new();
    let throttle = limits_throttle::Throttle::with_clock(
        Config {
            headroom: 1.0,
            burst: 1.0 / 60.0,
        },
        clock,
    )
    .unwrap();
    // qwq-plus: 60 QPM with a burst of 1 request.
    let _p = throttle.try_acquire(Model::QwqPlus, 10).unwrap();
    assert!(throttle.try_acquire(Model::QwqPlus, 10).is_err());
    assert!(
        throttle.try_acquire(Model::QwenMax, 10).is_ok(),
        "another model has its own state"
    );
    assert!(throttle
        .try_acquire_for("other-account", Model::QwqPlus, 10)
        .is_ok());
    assert!(throttle
        .try_acquire_for("other-account", Model::QwqPlus, 10)
        .is_err());
    // Raised limits apply to limiters made afterwards.
    throttle.set_limits(
        Model::QwenTurbo,
        Limits {
            qpm: 6_000,
            tpm: 10_000_000,
        },
    );
    assert_eq!(
        throttle
            .limiter(None, Model::QwenTurbo)
            .rates()
            .requests
            .effective,
        6_000
    );
}

#[test]
fn bad_configs_are_errors() {
    for (headroom, burst) in [
        (0.0, 0.1),
        (1.5, 0.1),
        (f64::NAN, 0.1),
        (1.0, 0.0),
        (1.0, -1.0),
    ] {
        let err = limits_throttle::Throttle::new(Config { headroom, burst })
            .err()
            .unwrap();
        assert!(
            err.to_string().contains("expected a number in (0, 1]"),
            "{err}"
        );
    }
}
