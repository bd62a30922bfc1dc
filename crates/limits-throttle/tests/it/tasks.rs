//! Task submissions, tasks in flight, task queries and pooled budgets in
//! one process: the models come from the published table (Mainland
//! China's, where every kind appears), the limits from their rows.

use std::time::Duration;

use limits_throttle::{
    Config, Deployment, FakeClock, HasLimits, Limits, Refusal, Throttle, UnknownTaskModel,
    TASK_QUERIES_PER_SECOND,
};
use modelstudio_limits::Model;
use proptest::prelude::*;

use crate::common;
use common::{assert_windows, Custom, Event, Peak, Promise};

const CN: Deployment = Deployment::MAINLAND_CHINA;

/// The first model of the table whose row in Mainland China `has`.
fn model_with(has: impl Fn(&modelstudio_limits::Limits) -> bool) -> Model {
    *Model::ALL
        .iter()
        .find(|m| m.limits_in(CN).is_some_and(|l| has(&l)))
        .expect("the table has such a row")
}

fn video_model() -> Model {
    common::cn_video_model()
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()
        .unwrap()
}

/// A throttle of Mainland China's table on a fake clock, that never waits.
fn on_fake_clock() -> (Throttle, FakeClock) {
    let clock = FakeClock::new();
    clock.advance(Duration::from_secs(1_000));
    let config = Config::default().with_max_wait(Duration::ZERO);
    let throttle = Throttle::in_process_with_clock(config, clock.clone())
        .unwrap()
        .for_deployment(CN);
    (throttle, clock)
}

#[derive(Clone, Debug)]
enum Op {
    /// Move the clock on by this many ms, then submit.
    Submit(u64),
    /// End the oldest task still held.
    Finish,
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        3 => (0u64..400).prop_map(Op::Submit),
        1 => Just(Op::Finish),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    /// Never more tasks in flight than the row's `concurrency`, every
    /// window of submissions within `submit_rps`, and a submission refused
    /// only for a reason that holds: all slots held, or the rate.
    #[test]
    fn slots_and_submissions_keep_the_row(ops in proptest::collection::vec(op(), 1..300)) {
        let model = video_model();
        let limits = model.limits_in(CN).unwrap();
        let (concurrency, per_second) = (limits.concurrency().unwrap(), limits.submit_rps().unwrap());
        let (throttle, clock) = on_fake_clock();
        let rt = runtime();
        let mut held = std::collections::VecDeque::new();
        let mut events: Vec<Event> = Vec::new();
        for op in ops {
            match op {
                Op::Submit(ms) => {
                    clock.advance(Duration::from_millis(ms));
                    match rt.block_on(throttle.submit(&model, Duration::ZERO)) {
                        Ok(task) => {
                            prop_assert!(task.holds_slot());
                            held.push_back(task);
                            events.push((clock_us(&clock), 0));
                        }
                        Err(Refusal::TasksInFlight { limit }) => {
                            prop_assert_eq!(limit, concurrency);
                            prop_assert_eq!(held.len() as u32, concurrency);
                        }
                        Err(Refusal::RetryAfter(_)) => {
                            prop_assert!((held.len() as u32) < concurrency);
                        }
                        Err(other) => prop_assert!(false, "{other:?}"),
                    }
                }
                Op::Finish => drop(held.pop_front()),
            }
            prop_assert!(held.len() as u32 <= concurrency);
            let counted = rt.block_on(throttle.tasks_in_flight(&model)).unwrap();
            prop_assert_eq!(counted, held.len() as u32);
        }
        let rpm = u64::from(per_second) * 60;
        let promise = Promise {
            window: 60_000_000,
            rpm,
            tpm: u64::MAX,
            rps: u64::from(per_second),
            tps: u64::MAX,
        };
        assert_windows(&events, promise);
    }
}

fn clock_us(clock: &FakeClock) -> u64 {
    use limits_throttle::Clock;
    clock.now_ns() / 1_000
}

/// Many submitters wait for slots on the real clock: each is woken when a
/// slot is freed, none runs beside more than the limit, all get through.
#[test]
fn waiting_submitters_take_freed_slots_and_never_exceed_the_limit() {
    let model = video_model();
    let concurrency = model.limits_in(CN).unwrap().concurrency().unwrap();
    let rt = common::runtime(4);
    // A "minute" of 6 s: submissions per second come ten times as fast.
    let config = Config::default()
        .with_window(Duration::from_secs(6))
        .with_max_wait(Duration::from_secs(30));
    let throttle = Throttle::in_process(config).unwrap().for_deployment(CN);
    let peak = Peak::default();
    rt.block_on(async {
        let mut all = Vec::new();
        for i in 0..48u64 {
            let (throttle, peak) = (throttle.clone(), peak.clone());
            all.push(tokio::spawn(async move {
                let task = throttle
                    .submit(&model, throttle.config().max_wait)
                    .await
                    .unwrap();
                let running = peak.enter();
                tokio::time::sleep(Duration::from_millis(80 + i % 40)).await;
                drop(running);
                if i % 2 == 0 {
                    task.finish().await.unwrap();
                } else {
                    drop(task);
                }
            }));
        }
        for one in all {
            one.await.unwrap();
        }
        assert_eq!(throttle.tasks_in_flight(&model).await.unwrap(), 0);
    });
    assert_eq!(peak.most(), concurrency);
}

/// A synchronous call to a row that limits only its task APIs is not
/// counted; to a row without any limit it is refused.
#[test]
fn synchronous_calls_take_what_the_row_limits() {
    let (throttle, _) = on_fake_clock();
    let rt = runtime();
    let tasks_only = model_with(|l| l.rpm().is_none() && l.tpm().is_none() && l.rps().is_none());
    for _ in 0..100 {
        let permit = rt
            .block_on(throttle.acquire(&tasks_only, 1, Duration::ZERO))
            .unwrap();
        drop(permit);
    }
    assert_eq!(rt.block_on(throttle.effective(&tasks_only)).unwrap(), None);
    let retired = Model::ALL
        .iter()
        .find(|m| {
            m.limits_in(CN)
                .is_some_and(|l| l == modelstudio_limits::Limits::NONE)
        })
        .expect("a retired row");
    assert!(matches!(
        rt.block_on(throttle.acquire(retired, 1, Duration::ZERO)),
        Err(Refusal::NoLimits { .. })
    ));
}

/// Submissions per minute: `submit_rpm` a minute, paced per second.
#[test]
fn submissions_per_minute_are_paced() {
    let model = model_with(|l| l.submit_rpm().is_some() && l.concurrency().is_none());
    let per_minute = model.limits_in(CN).unwrap().submit_rpm().unwrap();
    let (throttle, clock) = on_fake_clock();
    let rt = runtime();
    let mut admitted = 0;
    for _ in 0..(60 * 4) {
        if let Ok(task) = rt.block_on(throttle.submit(&model, Duration::ZERO)) {
            assert!(!task.holds_slot());
            admitted += 1;
        }
        clock.advance(Duration::from_millis(250));
    }
    assert_eq!(admitted, per_minute);
}

/// A task row whose page gives requests per second and no submission kind
/// (the video and image tables since 2026-09): its submissions are paced
/// by its requests per second, so a second admits exactly that many.
#[test]
fn a_task_row_of_requests_per_second_paces_its_submissions() {
    let (throttle, clock) = on_fake_clock();
    let rt = runtime();
    let per_second = 2;
    let model = Custom(Limits::NONE.with_rps(per_second).with_concurrency(1_000));
    let mut held = Vec::new();
    let admitted = admitted_in_a_second(&clock, |_| {
        match rt.block_on(throttle.submit(&model, Duration::ZERO)) {
            Ok(task) => {
                held.push(task);
                true
            }
            Err(_) => false,
        }
    });
    assert_eq!(admitted, per_second);
}

/// How many of `attempt`s, one every millisecond of a second of the fake
/// clock, are admitted (the rates space requests evenly, so a second
/// admits its share whenever it starts).
fn admitted_in_a_second(clock: &FakeClock, mut attempt: impl FnMut(u64) -> bool) -> u32 {
    let mut admitted = 0;
    for i in 0..1_000 {
        if attempt(i) {
            admitted += 1;
        }
        clock.advance(Duration::from_millis(1));
    }
    admitted
}

/// Queries: the account's 20 a second over every model, and a row's own
/// `query_rps`.
#[test]
fn queries_keep_the_account_and_the_row() {
    let (throttle, clock) = on_fake_clock();
    let rt = runtime();
    let any = admitted_in_a_second(&clock, |_| {
        rt.block_on(throttle.query(&UnknownTaskModel, Duration::ZERO))
            .is_ok()
    });
    assert_eq!(any, TASK_QUERIES_PER_SECOND);
    // Every row of the table that limits queries allows the account's 20:
    // a row of this test's own allows fewer.
    let model = Custom(Limits::NONE.with_submit_rps(1).with_query_rps(3));
    let own = 3;
    // Past the account's second (and its arrival margin).
    clock.advance(Duration::from_secs(1));
    let admitted = admitted_in_a_second(&clock, |_| {
        rt.block_on(throttle.query(&model, Duration::ZERO)).is_ok()
    });
    assert_eq!(admitted, own);
}

/// A pooled budget is one key for every model of its pool.
#[test]
fn a_pool_is_one_budget_for_its_models() {
    let pooled: Vec<Model> = Model::ALL
        .iter()
        .copied()
        .filter(|m| m.pool_in(CN).is_some())
        .collect();
    let pool = pooled[0].pool_in(CN).unwrap();
    let together: Vec<&Model> = pooled
        .iter()
        .filter(|m| m.pool_in(CN) == Some(pool))
        .collect();
    assert!(together.len() >= 2, "{pool:?}");
    // Per second: the pool's submissions a second, or its share of a
    // minute's requests (RPM / 60, rounded up).
    let per_second = pool
        .limits
        .submit_rps()
        .or(pool.limits.rpm().map(|rpm| rpm.div_ceil(60)))
        .expect("the first pool limits requests or submissions");
    let (throttle, clock) = on_fake_clock();
    let rt = runtime();
    let admitted = admitted_in_a_second(&clock, |i| {
        let model = together[i as usize % together.len()];
        rt.block_on(throttle.acquire_pooled(model, 0, Duration::ZERO))
            .is_ok()
    });
    assert_eq!(admitted, per_second);
    // Each model's own row is a key of its own, untouched by the pool.
    let own = together[0].limits_in(CN).unwrap();
    if own.submit_rps().is_some() {
        assert!(rt
            .block_on(throttle.submit(together[0], Duration::ZERO))
            .is_ok());
    }
    let lone = model_with(|_| true);
    assert!(lone.pool_in(CN).is_none());
    assert!(matches!(
        rt.block_on(throttle.acquire_pooled(&lone, 0, Duration::ZERO)),
        Err(Refusal::NotPooled { .. })
    ));
}

/// A dynamic limit's TPM is the account's spend tier's (the lowest by
/// default, the highest listed beyond it); a fixed TPM is untouched.
#[test]
fn a_dynamic_limit_takes_the_tpm_of_the_accounts_spend_tier() {
    let tiers = [600_000, 1_200_000, 2_400_000];
    let dynamic = Custom(Limits::NONE.with_rpm(60).with_tpm_tiers(&tiers));
    let fixed = Custom(Limits::NONE.with_rpm(60).with_tpm(100_000));
    for (tier, expected) in [(0, tiers[0]), (1, tiers[1]), (2, tiers[2]), (7, tiers[2])] {
        let throttle = Throttle::in_process(Config::default().with_spend_tier(tier)).unwrap();
        let limits = throttle.limits_of(&dynamic).unwrap();
        assert_eq!(limits.tpm(), Some(expected), "tier {tier}");
        assert!(limits.dynamic());
        assert_eq!(throttle.limits_of(&fixed).unwrap().tpm(), Some(100_000));
    }
}

/// A budget shared per API key: each key's calls have the whole budget,
/// one key's calls share it (whatever the handle), and a handle without a
/// key counts the account's calls together.
#[test]
fn a_budget_shared_per_api_key_is_keyed_by_the_key() {
    let per_second = 3;
    let pool = modelstudio_limits::Pool {
        name: "shared",
        limits: Limits::NONE.with_submit_rps(per_second),
        per: modelstudio_limits::Per::ApiKey,
    };
    let model = Pooled(pool);
    let (throttle, clock) = on_fake_clock();
    let rt = runtime();
    let (a, b) = (
        throttle.for_api_key("Bearer sk-a"),
        throttle.for_api_key("Bearer sk-b"),
    );
    let a_again = throttle.for_api_key("Bearer sk-a");
    // Two keys: each admits its own second's share.
    let admitted = admitted_in_a_second(&clock, |i| {
        let handle = if i % 2 == 0 { &a } else { &b };
        rt.block_on(handle.acquire_pooled(&model, 0, Duration::ZERO))
            .is_ok()
    });
    assert_eq!(admitted, 2 * per_second);
    // One key through two handles: one share.
    let admitted = admitted_in_a_second(&clock, |i| {
        let handle = if i % 2 == 0 { &a } else { &a_again };
        rt.block_on(handle.acquire_pooled(&model, 0, Duration::ZERO))
            .is_ok()
    });
    assert_eq!(admitted, per_second);
    // The digest, not the key, is what the handle keeps.
    assert!(!format!("{a:?}").contains("sk-a"));
}

/// A model whose only limits are a pooled budget.
struct Pooled(modelstudio_limits::Pool);

impl HasLimits for Pooled {
    fn id(&self) -> &str {
        "pooled"
    }
    fn limits_in(&self, _: Deployment) -> Option<Limits> {
        Some(self.0.limits)
    }
    fn pool_in(&self, _: Deployment) -> Option<modelstudio_limits::Pool> {
        Some(self.0)
    }
}

/// The shipped table's pools in Mainland China with a kind `has`, each
/// with its members.
fn pools_with(has: impl Fn(&Limits) -> bool) -> Vec<(modelstudio_limits::Pool, Vec<Model>)> {
    let mut pools: Vec<(modelstudio_limits::Pool, Vec<Model>)> = Vec::new();
    for &model in Model::ALL {
        let Some(pool) = model.pool_in(CN).filter(|p| has(&p.limits)) else {
            continue;
        };
        match pools.iter_mut().find(|(p, _)| *p == pool) {
            Some((_, members)) => members.push(model),
            None => pools.push((pool, vec![model])),
        }
    }
    pools
}

/// Synchronous calls to the models of a pool that limits requests take
/// the pool's budget together (Kimi's: one RPM for five models), not one
/// budget per model; the pool's tokens are given back with a reconcile.
#[test]
fn synchronous_calls_to_a_pool_share_its_budget() {
    let pools = pools_with(|l| l.rpm().is_some());
    assert!(!pools.is_empty(), "the table has a pool of requests");
    let rt = runtime();
    for (pool, members) in pools {
        assert!(members.len() >= 2, "{pool:?}");
        let (throttle, clock) = on_fake_clock();
        let per_second = pool.limits.rpm().unwrap().div_ceil(60);
        let admitted = admitted_in_a_second(&clock, |i| {
            let model = &members[i as usize % members.len()];
            let permit = rt.block_on(throttle.acquire(model, 1, Duration::ZERO));
            permit.is_ok_and(|p| rt.block_on(p.reconcile(1)).is_ok())
        });
        assert_eq!(admitted, per_second, "{}", pool.name);
        // Shared per API key: another key has a budget of its own.
        if pool.per == modelstudio_limits::Per::ApiKey {
            let other = throttle.for_api_key("Bearer sk-other");
            assert!(rt
                .block_on(other.acquire(&members[0], 1, Duration::ZERO))
                .is_ok());
            assert!(rt
                .block_on(throttle.acquire(&members[0], 1, Duration::ZERO))
                .is_err());
        }
    }
}

/// Tasks submitted to the models of a pool that limits tasks in flight
/// hold the pool's slots together (Kling's, Vidu's: one count for the
/// pool's models).
#[test]
fn tasks_of_a_pool_share_its_slots() {
    let pools = pools_with(|l| l.concurrency().is_some());
    assert!(!pools.is_empty(), "the table has a pool of tasks in flight");
    let rt = runtime();
    for (pool, members) in pools {
        let (throttle, clock) = on_fake_clock();
        let limit = pool.limits.concurrency().unwrap();
        let mut tasks = Vec::new();
        // Spread over seconds, so that submission rates do not bind.
        for i in 0..2 * limit as usize {
            clock.advance(Duration::from_secs(60));
            let model = &members[i % members.len()];
            match rt.block_on(throttle.submit(model, Duration::ZERO)) {
                Ok(task) => tasks.push(task),
                Err(refusal) => assert!(
                    matches!(refusal, Refusal::TasksInFlight { limit: l } if l == limit),
                    "{}: {refusal:?}",
                    pool.name
                ),
            }
        }
        assert_eq!(tasks.len(), limit as usize, "{}", pool.name);
        // A task that ends frees the pool's slot for any of its models.
        rt.block_on(tasks.pop().unwrap().finish()).unwrap();
        clock.advance(Duration::from_secs(60));
        let last = members.last().unwrap();
        assert!(
            rt.block_on(throttle.submit(last, Duration::ZERO)).is_ok(),
            "{}",
            pool.name
        );
    }
}
