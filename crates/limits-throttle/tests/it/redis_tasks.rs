//! Tasks in flight through Redis: slots shared by a fleet, never
//! over-admitted, and a dead holder's slots back within the lease time
//! (`kill -9` of a process holding them). Against `REDIS_URL` (a server, a
//! TLS server or a cluster, `common::target`).

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use limits_throttle::redis::RedisOptions;
use limits_throttle::{Config, Deployment, HasLimits, Limits, Task, Throttle};
use modelstudio_limits::Model;

use crate::common;
use common::target::{redis_target, Target};
use common::{fresh_prefix, Custom, Peak};

const CN: Deployment = Deployment::MAINLAND_CHINA;

fn video_model() -> Model {
    common::cn_video_model()
}

async fn throttle(target: &Target, options: RedisOptions, config: Config) -> Throttle {
    let store = target.store(options).await;
    Throttle::redis(store, config).unwrap().for_deployment(CN)
}

/// `n` tasks of `model` submitted through `t`, held.
async fn hold(t: &Throttle, model: &(impl HasLimits + ?Sized), n: u32) -> Vec<Task> {
    let mut held = Vec::new();
    for _ in 0..n {
        held.push(t.submit(model, t.config().max_wait).await.unwrap());
    }
    held
}

/// Two "processes" (stores of their own on one prefix), 24 submitters:
/// never more tasks in flight than the limit, every submission through.
#[test]
fn fleet_slots_are_never_over_admitted() {
    let Some(target) = redis_target() else { return };
    let model = video_model();
    let limit = model.limits_in(CN).unwrap().concurrency().unwrap();
    let options = RedisOptions::default()
        .with_prefix(fresh_prefix("fleet-slots"))
        .with_task_poll(Duration::from_millis(5));
    let config = Config::default()
        .with_window(Duration::from_secs(6))
        .with_max_wait(Duration::from_secs(30));
    let rt = common::runtime(4);
    rt.block_on(async {
        let a = throttle(&target, options.clone(), config).await;
        let b = throttle(&target, options.clone(), config).await;
        let peak = Peak::default();
        let mut all = Vec::new();
        for i in 0..24u64 {
            let throttle = if i % 2 == 0 { a.clone() } else { b.clone() };
            let peak = peak.clone();
            all.push(tokio::spawn(async move {
                let task = throttle
                    .submit(&model, throttle.config().max_wait)
                    .await
                    .unwrap();
                let running = peak.enter();
                tokio::time::sleep(Duration::from_millis(80 + i % 40)).await;
                drop(running);
                task.finish().await.unwrap();
            }));
        }
        for one in all {
            one.await.unwrap();
        }
        assert_eq!(peak.most(), limit);
        assert_eq!(a.tasks_in_flight(&model).await.unwrap(), 0);
    });
}

/// A task that lives longer than its lease keeps its slot: the lease is
/// renewed while it is held.
#[test]
fn a_held_slot_is_renewed() {
    let Some(target) = redis_target() else { return };
    let model = video_model();
    let limit = model.limits_in(CN).unwrap().concurrency().unwrap();
    let options = RedisOptions::default()
        .with_prefix(fresh_prefix("renewed"))
        .with_task_lease(Duration::from_millis(300));
    let rt = common::runtime(4);
    rt.block_on(async {
        let t = throttle(&target, options, Config::default()).await;
        let held = hold(&t, &model, limit).await;
        tokio::time::sleep(Duration::from_millis(1_200)).await;
        assert_eq!(t.tasks_in_flight(&model).await.unwrap(), limit);
        assert!(matches!(
            t.submit(&model, Duration::ZERO).await,
            Err(limits_throttle::Refusal::TasksInFlight { .. })
        ));
        drop(held);
        // Dropped tasks free their slots in the background.
        let start = Instant::now();
        while t.tasks_in_flight(&model).await.unwrap() > 0 {
            assert!(start.elapsed() < Duration::from_secs(2));
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    });
}

/// Leases lost with the server's state (a failover to a replica that had
/// not received them, here a `DEL` of the set) are held again by their
/// live tasks within a third of the lease: meanwhile a submission can get
/// a slot that a live task holds, and then the count is above the limit
/// until tasks end. Releases end the renewals first: no lease is left.
#[test]
fn lost_leases_are_held_again_within_a_third_of_the_lease() {
    let Some(target) = redis_target() else { return };
    // Submissions paced at 100 a second: the rate does not hide the loss.
    let model = Custom(
        Limits::NONE
            .with_rpm(6_000)
            .with_tpm(1_000_000)
            .with_concurrency(4),
    );
    let limit = 4;
    let prefix = fresh_prefix("lost-leases");
    // Renewed every 300 ms: the loss and the extra submission come within
    // a few ms of the takes, long before the first renewal.
    let lease = Duration::from_millis(900);
    let options = RedisOptions::default()
        .with_prefix(&prefix)
        .with_task_lease(lease);
    let rt = common::runtime(4);
    rt.block_on(async {
        let t = throttle(&target, options, Config::default()).await;
        let held = hold(&t, &model, limit).await;
        let mut admin = target.admin();
        let keys: Vec<String> = redis::cmd("KEYS")
            .arg(format!("*{prefix}*#tasks*"))
            .query(&mut *admin)
            .unwrap();
        assert_eq!(keys.len(), 1, "{keys:?}");
        let () = redis::cmd("DEL").arg(&keys).query(&mut *admin).unwrap();
        let lost = Instant::now();
        // What the loss lets through: a slot a live task holds (waiting
        // only for the submission rate, 10 ms).
        let extra = t.submit(&model, Duration::from_millis(100)).await.unwrap();
        let start = Instant::now();
        while t.tasks_in_flight(&model).await.unwrap() < limit + 1 {
            assert!(start.elapsed() < lease, "the leases held again");
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        let back = lost.elapsed();
        // A third of the lease, and as much again for a busy machine.
        assert!(back <= lease / 3 * 2, "{back:?}");
        assert!(matches!(
            t.submit(&model, Duration::ZERO).await,
            Err(limits_throttle::Refusal::TasksInFlight { .. })
        ));
        extra.finish().await.unwrap();
        for task in held {
            task.finish().await.unwrap();
        }
        assert_eq!(t.tasks_in_flight(&model).await.unwrap(), 0);
        // No renewal lands after a release: still none a lease later.
        tokio::time::sleep(lease).await;
        assert_eq!(t.tasks_in_flight(&model).await.unwrap(), 0);
    });
}

/// The environment variables that make this binary a slot holder.
const HOLDER_PREFIX: &str = "LIMITS_TEST_HOLDER_PREFIX";
/// The lease the holder and the fault test use.
const LEASE: Duration = Duration::from_secs(2);

/// Run by `a_killed_holders_slots_come_back_within_the_lease` in a
/// process of its own: takes every slot and holds them until killed.
#[test]
#[ignore = "a helper: the fault test runs it in a child process"]
fn holder_process() {
    // The target is the fault test's: the child inherits its environment.
    let (Some(target), Ok(prefix)) = (redis_target(), std::env::var(HOLDER_PREFIX)) else {
        panic!("run by the fault test, with its Redis and {HOLDER_PREFIX} set");
    };
    let model = video_model();
    let limit = model.limits_in(CN).unwrap().concurrency().unwrap();
    let options = RedisOptions::default()
        .with_prefix(prefix)
        .with_task_lease(LEASE);
    common::runtime(4).block_on(async {
        let t = throttle(&target, options, Config::default()).await;
        let held = hold(&t, &model, limit).await;
        tokio::time::sleep(Duration::from_secs(600)).await;
        drop(held);
    });
}

/// A child process killed (SIGKILL) and reaped when dropped: a failed
/// assertion does not leave it running.
struct KillOnDrop(std::process::Child);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// `kill -9` a process holding every slot: no slot is free while it
/// lives (its leases are renewed past the lease time), and all are back
/// within the lease time of the kill.
#[test]
fn a_killed_holders_slots_come_back_within_the_lease() {
    let Some(target) = redis_target() else { return };
    let prefix = fresh_prefix("killed");
    let model = video_model();
    let limit = model.limits_in(CN).unwrap().concurrency().unwrap();
    // Killed when the test ends, however it ends.
    let mut child = KillOnDrop(
        Command::new(std::env::current_exe().unwrap())
            .args([
                "--exact",
                "redis_tasks::holder_process",
                "--ignored",
                "--nocapture",
            ])
            .env(HOLDER_PREFIX, &prefix)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    let options = RedisOptions::default()
        .with_prefix(prefix)
        .with_task_lease(LEASE);
    let rt = common::runtime(4);
    rt.block_on(async {
        let t = throttle(&target, options, Config::default()).await;
        let start = Instant::now();
        while t.tasks_in_flight(&model).await.unwrap() < limit {
            assert!(
                start.elapsed() < Duration::from_secs(20),
                "the holder took its slots"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        // Alive past its lease time: still every slot held.
        tokio::time::sleep(LEASE + LEASE / 2).await;
        assert_eq!(t.tasks_in_flight(&model).await.unwrap(), limit);
        assert!(t.submit(&model, Duration::ZERO).await.is_err());
        child.0.kill().unwrap(); // SIGKILL: no destructor runs
        child.0.wait().unwrap();
        let killed = Instant::now();
        let task = t.submit(&model, LEASE * 2).await.expect("a slot is back");
        let back = killed.elapsed();
        assert!(back <= LEASE + Duration::from_millis(300), "{back:?}");
        assert!(task.holds_slot());
        eprintln!("slots back {back:?} after the kill (lease {LEASE:?})");
    });
}

/// Redis unreachable: under `FailOpen` a task runs without a slot; under
/// `FailClosed` the submission is refused, saying why.
#[test]
fn an_unreachable_store_follows_the_failure_policy() {
    use limits_throttle::redis::FailurePolicy;
    use limits_throttle::Refusal;
    let model = video_model();
    // Nothing listens on port 1 of loopback.
    let target = Target::server("redis://127.0.0.1:1/");
    common::runtime(4).block_on(async {
        let open = RedisOptions::default().with_failure_policy(FailurePolicy::FailOpen);
        let task = throttle(&target, open, Config::default())
            .await
            .submit(&model, Duration::ZERO)
            .await
            .unwrap();
        assert!(!task.holds_slot());
        let closed = RedisOptions::default().with_failure_policy(FailurePolicy::FailClosed);
        let refused = throttle(&target, closed, Config::default())
            .await
            .submit(&model, Duration::ZERO)
            .await;
        assert!(
            matches!(refused, Err(Refusal::Unavailable(_))),
            "{refused:?}"
        );
    });
}
