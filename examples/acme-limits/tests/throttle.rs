//! A generated enum is throttled like the published one: the generated
//! code implements `HasLimits`, so `limits-throttle` keys on `AcmeModel`.

use std::time::Duration;

use acme_limits::AcmeModel;
use futures_util::FutureExt;
use limits_throttle::{Config, Deployment, FakeClock, HasLimits, Refusal, Throttle};

#[test]
fn the_throttle_paces_each_acme_model_by_its_own_limits() {
    let clock = FakeClock::new();
    // Each request spaced from the one before (no early places on the
    // schedule), so the second waits exactly its spacing.
    let config = Config::default().with_schedule_tolerance(Duration::ZERO);
    let throttle = Throttle::in_process_with_clock(config, clock.clone()).unwrap();
    let acquire = |model: AcmeModel| {
        throttle
            .acquire(&model, 1, Duration::ZERO)
            .now_or_never()
            .unwrap()
    };
    for &model in AcmeModel::ALL {
        assert_eq!(HasLimits::id(&model), model.id());
        let mode = throttle.deployment();
        assert_eq!(HasLimits::limits_in(&model, mode), model.limits_in(mode));
        assert!(acquire(model).is_ok(), "{model}");
        // The next request of the same model waits for its spacing,
        // a minute over the model's own requests per minute.
        let rpm = model.limits_in(mode).and_then(|l| l.rpm()).unwrap();
        let spacing = Duration::from_secs(60) / rpm;
        match acquire(model) {
            Err(Refusal::RetryAfter(wait)) => assert_eq!(wait, spacing, "{model}"),
            other => panic!("{model}: {other:?}"),
        }
    }
    // An alias names the same model, so the same key.
    let alias: AcmeModel = "acme-large".parse().unwrap();
    assert!(acquire(alias).is_err());
    clock.advance(Duration::from_secs(60));
    assert!(acquire(alias).is_ok());
    // A schema 1 table holds in every mode: another mode has its own state.
    let cn = throttle.for_deployment(Deployment::MAINLAND_CHINA);
    assert!(cn
        .acquire(&alias, 1, Duration::ZERO)
        .now_or_never()
        .unwrap()
        .is_ok());
}
