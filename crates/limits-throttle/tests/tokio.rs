//! `acquire(..).await` waits for the limits instead of failing.

use std::time::{Duration, Instant};

use limits_throttle::{Config, Limiter, Refusal, Throttle};
use modelstudio_limits::{Limits, Model};

#[tokio::test]
async fn acquire_sleeps_until_the_request_conforms() {
    // 600 QPM with one request at once: the second waits 60 s / 600 = 100 ms.
    let limits = Limits {
        qpm: 600,
        tpm: 1_000_000,
    };
    let limiter = Limiter::new(
        limits,
        &Config {
            headroom: 1.0,
            burst: 1.0 / 600.0,
        },
    )
    .unwrap();
    let started = Instant::now();
    let _first = limiter.acquire(10).await.unwrap();
    let second = limiter.acquire(10).await.unwrap();
    assert!(
        started.elapsed() >= Duration::from_millis(99),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(second.tokens(), 10);
}

#[tokio::test]
async fn acquire_fails_at_once_for_a_request_that_can_never_pass() {
    let throttle = Throttle::new(Config::default()).unwrap();
    let err = throttle
        .acquire(Model::QwqPlus, 1_000_000)
        .await
        .unwrap_err();
    assert!(matches!(err, Refusal::TooLarge { .. }), "{err:?}");
}
