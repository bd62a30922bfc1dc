//! What a reported 429 costs under the default `Adaptation`, on a fake
//! clock: a lone one at most a tenth of a window's quota, a run of them
//! (an account whose real limit is lower) a limit that keeps decreasing.

use std::time::Duration;

use limits_throttle::{Adaptation, Config, FakeClock, Throttle, Tripped};
use modelstudio_limits::Model;

/// The requests the throttle admits per window over time, integrated from
/// `effective()` every millisecond of `span` after `from`: the fraction of
/// a window's quota lost against the full limit (a cool-down admits
/// nothing).
fn lost(throttle: &Throttle, clock: &FakeClock, span: Duration, window: Duration) -> f64 {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()
        .unwrap();
    let model = Model::QwqPlus;
    let step = Duration::from_millis(1);
    let mut lost = 0.0;
    let mut t = Duration::ZERO;
    while t < span {
        let e = rt.block_on(throttle.effective(&model)).unwrap().unwrap();
        let admitting = if e.cooldown > Duration::ZERO {
            0.0
        } else {
            e.requests_factor
        };
        lost += (1.0 - admitting) * step.as_secs_f64();
        clock.advance(step);
        t += step;
    }
    lost / window.as_secs_f64()
}

#[test]
fn a_lone_429_costs_at_most_a_tenth_of_a_windows_quota() {
    let window = Duration::from_secs(6);
    let clock = FakeClock::new();
    clock.advance(Duration::from_secs(100));
    let config = Config::default()
        .with_window(window)
        .with_adaptation(Adaptation::default().with_cooldown(window / 60));
    let throttle = Throttle::in_process_with_clock(config, clock.clone()).unwrap();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()
        .unwrap();
    rt.block_on(throttle.report(&Model::QwqPlus, Tripped::Requests))
        .unwrap();
    // Two windows: the decrease is regained in half of one.
    let cost = lost(&throttle, &clock, window * 2, window);
    eprintln!("a lone 429 cost {cost:.4} of a window's quota");
    assert!(cost > 0.0);
    assert!(cost <= 0.1, "{cost}");
    // Regained: the full limit again.
    let e = rt
        .block_on(throttle.effective(&Model::QwqPlus))
        .unwrap()
        .unwrap();
    assert_eq!(e.requests_factor, 1.0);
}

#[test]
fn a_run_of_429s_keeps_lowering_the_limit() {
    let window = Duration::from_secs(6);
    let cooldown = window / 60;
    let clock = FakeClock::new();
    clock.advance(Duration::from_secs(100));
    let config = Config::default()
        .with_window(window)
        .with_adaptation(Adaptation::default().with_cooldown(cooldown));
    let throttle = Throttle::in_process_with_clock(config, clock.clone()).unwrap();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()
        .unwrap();
    let factor = |rt: &tokio::runtime::Runtime| {
        rt.block_on(throttle.effective(&Model::QwqPlus))
            .unwrap()
            .unwrap()
            .requests_factor
    };
    // An account at half the table's limit: a 429 after each cool-down.
    let mut last = 1.0;
    for _ in 0..7 {
        rt.block_on(throttle.report(&Model::QwqPlus, Tripped::Requests))
            .unwrap();
        let now = factor(&rt);
        assert!(now < last, "{now} after {last}");
        last = now;
        clock.advance(cooldown);
    }
    assert!(last <= 0.5, "{last}");
}
