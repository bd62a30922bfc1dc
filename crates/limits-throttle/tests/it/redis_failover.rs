//! The Redis store through a failover, on servers this test starts on
//! loopback: a cluster whose master holding a busy key is killed (`kill
//! -9`) and replaced by its replica; a primary killed and replaced by its
//! replica promoted by hand (`REPLICAOF NO ONE`) behind one address, as a
//! managed primary endpoint does; and the same with the old primary kept
//! alive as the new one's replica (a switchover: the store's open
//! connection then hears `READONLY` and must connect again). Meanwhile a
//! fleet of Tokio tasks on two stores admits requests on that key, and the
//! key's every task slot is held. Checked, each time: every call returns
//! within its timeout; admission resumes within 2 s of the promotion (how
//! long after is printed); no window admits more than the bound of lost
//! state (`limits_throttle::redis`, "Lost state" and "Failover"); a
//! submission never gets a slot that a live task holds; the held slots are
//! still held a lease after the failover began, renewed by their holders
//! on the new primary. Without `redis-server` on the PATH the tests fail
//! under CI and are skipped elsewhere.

use std::sync::atomic::{AtomicBool, AtomicU16, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use limits_throttle::redis::{RedisOptions, RedisStore};
use limits_throttle::{Config, Limits, Refusal, Throttle};

use crate::common;
use common::servers::{self, ask, is_master, wait_for, Servers};
use common::{fresh_prefix, Custom};

/// The throttles' "minute".
const WINDOW: Duration = Duration::from_secs(6);
/// The busy key: 100 requests a second, 4 tasks in flight.
const BUSY: Custom = Custom(
    Limits::NONE
        .with_rpm(600)
        .with_tpm(100_000_000)
        .with_concurrency(4),
);
/// Every store call's bound.
const TIMEOUT: Duration = Duration::from_millis(250);
/// How late past its timeout a call may return on a busy machine (timer
/// and scheduling delays), still far below a failover's seconds.
const LATE: Duration = Duration::from_millis(200);
/// How soon after the promotion admission must be back (far above what
/// BENCHMARKS.md records; the rest is for a busy machine).
const RESUME: Duration = Duration::from_secs(2);
/// The task lease on a cluster: renewed every 6 s, so every lease lives
/// 12 s past the failover's start at least, and a renewal comes at most 6 s
/// after the store is back (seconds after the start: BENCHMARKS.md): none
/// ends.
const CLUSTER_LEASE: Duration = Duration::from_secs(18);
/// The task lease behind one endpoint: renewed every 2 s, so every lease
/// lives 4 s past the failover's start at least, and a renewal comes at
/// most 2 s after the store is back (these failovers take tens of
/// milliseconds: BENCHMARKS.md): none ends.
const ENDPOINT_LEASE: Duration = Duration::from_secs(6);

/// The failovers run one at a time: each fleet takes the machine's cores,
/// and a starved timer would look like a call past its timeout.
static ONE_AT_A_TIME: std::sync::Mutex<()> = std::sync::Mutex::new(());

fn one_at_a_time() -> std::sync::MutexGuard<'static, ()> {
    ONE_AT_A_TIME
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

fn options(prefix: &str, lease: Duration) -> RedisOptions {
    RedisOptions::default()
        .with_prefix(prefix)
        .with_timeout(TIMEOUT)
        .with_task_lease(lease)
}

fn config() -> Config {
    Config::default().with_window(WINDOW)
}

#[derive(Copy, Clone, Debug, PartialEq, Eq)]
enum Outcome {
    Admitted,
    Refused,
    Failed,
}

/// One acquire of the fleet, answered now.
#[derive(Copy, Clone, Debug)]
struct Call {
    start: Instant,
    end: Instant,
    outcome: Outcome,
}

/// `per` tasks on each throttle asking for the busy key until `stop`.
fn fleet(
    throttles: &[Throttle],
    per: usize,
    stop: &Arc<AtomicBool>,
) -> Vec<tokio::task::JoinHandle<Vec<Call>>> {
    let mut tasks = Vec::new();
    for throttle in throttles {
        for _ in 0..per {
            let (throttle, stop) = (throttle.clone(), Arc::clone(stop));
            tasks.push(tokio::spawn(async move {
                let mut calls = Vec::new();
                while !stop.load(Ordering::Relaxed) {
                    let start = Instant::now();
                    let answer = throttle.acquire(&BUSY, 1, Duration::ZERO).await;
                    let end = Instant::now();
                    let (outcome, pause) = match answer {
                        Ok(_) => (Outcome::Admitted, Duration::ZERO),
                        Err(Refusal::RetryAfter(wait)) => {
                            (Outcome::Refused, wait.min(Duration::from_millis(20)))
                        }
                        Err(Refusal::Unavailable(_)) => {
                            (Outcome::Failed, Duration::from_millis(10))
                        }
                        Err(other) => panic!("{other}"),
                    };
                    calls.push(Call {
                        start,
                        end,
                        outcome,
                    });
                    tokio::time::sleep(pause).await;
                }
                calls
            }));
        }
    }
    tasks
}

/// Runs the fleet on `throttles` for 2 s, then `failover` (which returns
/// when the new primary is in place), then until a lease (`lease`, the
/// throttles' task lease) after it began;
/// checks what the module's doc says; prints what it measured.
async fn through_failover(
    name: &str,
    lease: Duration,
    throttles: Vec<Throttle>,
    mut held: Vec<limits_throttle::Task>,
    failover: impl FnOnce() -> Instant + Send + 'static,
) {
    let limit = BUSY.0.concurrency().unwrap();
    while held.len() < limit as usize {
        let t = &throttles[held.len() % 2];
        held.push(t.submit(&BUSY, t.config().max_wait).await.unwrap());
    }
    let stop = Arc::new(AtomicBool::new(false));
    let tasks = fleet(&throttles, 8, &stop);
    // A submission every 100 ms: it must never get a slot, all being held.
    let prober = {
        let (throttle, stop) = (throttles[1].clone(), Arc::clone(&stop));
        tokio::spawn(async move {
            let mut answers = (0, 0);
            while !stop.load(Ordering::Relaxed) {
                match throttle.submit(&BUSY, Duration::ZERO).await {
                    Ok(task) => panic!("a submission got a held slot: {task:?}"),
                    Err(Refusal::TasksInFlight { .. }) => answers.0 += 1,
                    Err(Refusal::Unavailable(_)) => answers.1 += 1,
                    Err(other) => panic!("{other}"),
                }
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            answers
        })
    };
    tokio::time::sleep(Duration::from_secs(2)).await;
    let began = Instant::now();
    let promoted = tokio::task::spawn_blocking(failover).await.unwrap();
    tokio::time::sleep_until((began + lease + Duration::from_millis(500)).into()).await;
    stop.store(true, Ordering::Relaxed);
    let mut calls = Vec::new();
    for task in tasks {
        calls.extend(task.await.unwrap());
    }
    let (refused_submissions, failed_submissions) = prober.await.unwrap();

    calls.sort_by_key(|c| c.start);
    let longest = calls.iter().map(|c| c.end - c.start).max().unwrap();
    let admitted: Vec<&Call> = calls
        .iter()
        .filter(|c| c.outcome == Outcome::Admitted)
        .collect();
    let failed = calls
        .iter()
        .filter(|c| c.outcome == Outcome::Failed)
        .count();
    let last_failed = calls
        .iter()
        .filter(|c| c.outcome == Outcome::Failed)
        .map(|c| c.end)
        .max();
    let resumed = admitted
        .iter()
        .find(|c| c.start >= promoted)
        .map(|c| c.end - promoted);
    // The lost-state bound: the limit and one second's share, in any window.
    let rpm = u64::from(BUSY.0.rpm().unwrap());
    let bound = rpm + rpm.div_ceil(60);
    let busiest = admitted
        .iter()
        .enumerate()
        .map(|(i, first)| {
            // Surely inside [first.start, first.start + WINDOW): the server
            // admitted each call somewhere between its start and its end.
            admitted[i..]
                .iter()
                .filter(|c| c.end < first.start + WINDOW)
                .count() as u64
        })
        .max()
        .unwrap_or(0);
    println!(
        "{name}: {} calls, {} admitted, {failed} failed (the last {:?} after the failover began); \
         longest call {longest:?} (timeout {TIMEOUT:?}); promoted {:?} after it began; \
         admission resumed {resumed:?} after the promotion; busiest window {busiest} \
         admitted (bound {bound}); submissions refused {refused_submissions}, \
         failed {failed_submissions}, never admitted",
        calls.len(),
        admitted.len(),
        last_failed.map(|t| t - began),
        promoted - began,
    );
    assert!(longest <= TIMEOUT + LATE, "a call took {longest:?}");
    assert!(admitted.iter().any(|c| c.end < began), "admitted before");
    let resumed = resumed.expect("admission resumed after the promotion");
    assert!(
        resumed <= RESUME,
        "admission resumed {resumed:?} after the promotion"
    );
    assert!(
        busiest <= bound,
        "{busiest} admitted in a window, bound {bound}"
    );
    // The slots outlived a lease after the failover: renewed on the new
    // primary.
    assert_eq!(throttles[0].tasks_in_flight(&BUSY).await.unwrap(), limit);
    for task in held {
        task.finish().await.unwrap();
    }
    assert_eq!(throttles[1].tasks_in_flight(&BUSY).await.unwrap(), 0);
}

/// Which master holds every key under `pattern`, if one does.
fn master_holding(masters: &[u16], pattern: &str) -> Option<u16> {
    let holders: Vec<u16> = masters
        .iter()
        .copied()
        .filter(|&port| !ask(port, &["--scan", "--pattern", pattern]).is_empty())
        .collect();
    (holders.len() == 1).then(|| holders[0])
}

#[test]
fn a_cluster_master_killed_under_load() {
    let _alone = one_at_a_time();
    let Some(cluster) = servers::cluster() else {
        return;
    };
    let cluster = Arc::new(std::sync::Mutex::new(cluster));
    let ports = cluster.lock().unwrap().ports();
    let masters: Vec<u16> = ports.iter().copied().filter(|&p| is_master(p)).collect();
    let seed = format!("redis://127.0.0.1:{}/", ports[0]);
    let prefix = fresh_prefix("failover");
    common::runtime(2).block_on(async {
        let open = || async {
            let store = RedisStore::open_cluster(&[seed.as_str()], options(&prefix, CLUSTER_LEASE))
                .await
                .unwrap();
            Throttle::redis(store, config()).unwrap()
        };
        let (a, b) = (open().await, open().await);
        // An account whose keys (requests, submissions, task slots) all
        // live on one master: the one to kill.
        let (account, victim, first) = {
            let mut n = 0;
            loop {
                let account = format!("acct-{n}");
                n += 1;
                let a = a.for_account(&account);
                let held = a.submit(&BUSY, a.config().max_wait).await.unwrap();
                drop(a.acquire(&BUSY, 1, Duration::ZERO).await.unwrap());
                match master_holding(&masters, &format!("*{prefix}:{account}:*")) {
                    Some(port) => break (account, port, held),
                    None => held.finish().await.unwrap(),
                }
            }
        };
        let throttles = vec![a.for_account(&account), b.for_account(&account)];
        let nodes = Arc::clone(&cluster);
        through_failover(
            "cluster",
            CLUSTER_LEASE,
            throttles,
            vec![first],
            move || {
                nodes.lock().unwrap().kill(victim);
                let survivors: Vec<u16> = ports.iter().copied().filter(|&p| p != victim).collect();
                wait_for("a replica promoted", Duration::from_secs(30), || {
                    survivors.iter().filter(|&&p| is_master(p)).count() == 3
                        && survivors
                            .iter()
                            .all(|&p| ask(p, &["cluster", "info"]).contains("cluster_state:ok"))
                });
                Instant::now()
            },
        )
        .await;
    });
}

/// A primary and its replica behind one endpoint that leads to the
/// primary, the fleet on it, and `failover` given the servers, the
/// primary's and the replica's ports, and the endpoint's target.
fn behind_one_endpoint(
    name: &str,
    failover: impl FnOnce(&mut Servers, u16, u16, &AtomicU16) + Send + 'static,
) {
    let _alone = one_at_a_time();
    let Some(servers) = servers::primary_and_replica() else {
        return;
    };
    let [primary, replica] = servers.ports()[..] else {
        unreachable!()
    };
    let servers = Arc::new(std::sync::Mutex::new(servers));
    let prefix = fresh_prefix("endpoint");
    common::runtime(2).block_on(async {
        let endpoint = Endpoint::to(primary).await;
        let url = format!("redis://127.0.0.1:{}/", endpoint.port);
        let options = options(&prefix, ENDPOINT_LEASE);
        let open = || Throttle::redis(RedisStore::open(&url, options.clone()).unwrap(), config());
        let throttles = vec![open().unwrap(), open().unwrap()];
        let (target, nodes) = (Arc::clone(&endpoint.target), Arc::clone(&servers));
        through_failover(name, ENDPOINT_LEASE, throttles, Vec::new(), move || {
            failover(&mut nodes.lock().unwrap(), primary, replica, &target);
            Instant::now()
        })
        .await;
    });
}

/// `REPLICAOF NO ONE` on `replica`, and its role a primary's.
fn promote(replica: u16) {
    assert_eq!(ask(replica, &["replicaof", "no", "one"]), "OK");
    wait_for("the replica promoted", Duration::from_secs(10), || {
        is_master(replica)
    });
}

/// The primary killed, its replica promoted, the endpoint moved to it.
#[test]
fn a_primary_replaced_by_its_replica_behind_one_endpoint() {
    behind_one_endpoint(
        "primary and replica",
        |servers, primary, replica, endpoint| {
            servers.kill(primary);
            promote(replica);
            endpoint.store(replica, Ordering::SeqCst);
        },
    );
}

/// A switchover: the replica promoted, the endpoint moved to it, the old
/// primary made its replica, alive. The store's connection still reaches
/// the old primary and hears `READONLY`; it must connect again.
#[test]
fn a_primary_demoted_to_a_replica_behind_one_endpoint() {
    behind_one_endpoint("switchover", |_, primary, replica, endpoint| {
        promote(replica);
        endpoint.store(replica, Ordering::SeqCst);
        let replica = replica.to_string();
        assert_eq!(ask(primary, &["replicaof", "127.0.0.1", &replica]), "OK");
        wait_for("the old primary a replica", Duration::from_secs(10), || {
            !is_master(primary)
        });
    });
}

/// A managed primary endpoint: one address that forwards each new
/// connection to whichever server is primary now.
struct Endpoint {
    port: u16,
    target: Arc<AtomicU16>,
}

impl Endpoint {
    async fn to(target: u16) -> Endpoint {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let target = Arc::new(AtomicU16::new(target));
        let to = Arc::clone(&target);
        tokio::spawn(async move {
            while let Ok((mut client, _)) = listener.accept().await {
                let server = to.load(Ordering::SeqCst);
                tokio::spawn(async move {
                    if let Ok(mut server) =
                        tokio::net::TcpStream::connect(("127.0.0.1", server)).await
                    {
                        let _ = tokio::io::copy_bidirectional(&mut client, &mut server).await;
                    }
                });
            }
        });
        Endpoint { port, target }
    }
}
