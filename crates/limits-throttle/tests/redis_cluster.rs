//! The Redis store on a Redis Cluster (feature `cluster`): 3 masters and 3
//! replicas this test starts on loopback (`redis-server --cluster-enabled
//! yes`, `redis-cli --cluster create`). Without `redis-server` on the PATH
//! the test fails under CI and is skipped elsewhere.

use std::net::TcpListener;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use limits_throttle::redis::{RedisOptions, RedisStore};
use limits_throttle::{Config, Deployment, Refusal, Throttle, Tripped};
use modelstudio_limits::Model;

mod common;
use common::{cn_video_model, fresh_prefix};

/// Six cluster nodes, stopped when dropped.
struct Cluster {
    nodes: Vec<Child>,
    ports: Vec<u16>,
    _dir: tempfile::TempDir,
}

impl Drop for Cluster {
    fn drop(&mut self) {
        for node in &mut self.nodes {
            let _ = node.kill();
            let _ = node.wait();
        }
    }
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn start() -> Option<Cluster> {
    if !common::redis_server_on_path() {
        return None;
    }
    let dir = tempfile::tempdir().unwrap();
    // A cluster node also listens on its port + 10000: both must be free.
    let mut ports = Vec::new();
    while ports.len() < 6 {
        let port = free_port();
        if port < 55_000 && TcpListener::bind(("127.0.0.1", port + 10_000)).is_ok() {
            ports.push(port);
        }
    }
    let nodes = ports
        .iter()
        .map(|port| {
            let node_dir = dir.path().join(port.to_string());
            std::fs::create_dir(&node_dir).unwrap();
            Command::new("redis-server")
                .args(["--port", &port.to_string(), "--bind", "127.0.0.1"])
                .args(["--cluster-enabled", "yes", "--cluster-node-timeout", "2000"])
                .args(["--save", "", "--appendonly", "no"])
                .arg("--dir")
                .arg(&node_dir)
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .unwrap()
        })
        .collect();
    let cluster = Cluster {
        nodes,
        ports,
        _dir: dir,
    };
    for &port in &cluster.ports {
        let start = Instant::now();
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(
                start.elapsed() < Duration::from_secs(10),
                "node {port} started"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }
    let addresses: Vec<String> = cluster
        .ports
        .iter()
        .map(|p| format!("127.0.0.1:{p}"))
        .collect();
    let created = Command::new("redis-cli")
        .args(["--cluster", "create"])
        .args(&addresses)
        .args(["--cluster-replicas", "1", "--cluster-yes"])
        .output()
        .unwrap();
    assert!(
        created.status.success(),
        "{}",
        String::from_utf8_lossy(&created.stdout)
    );
    // Every node agrees the cluster is up.
    let start = Instant::now();
    for &port in &cluster.ports {
        loop {
            let info = Command::new("redis-cli")
                .args(["-p", &port.to_string(), "cluster", "info"])
                .output()
                .unwrap();
            if String::from_utf8_lossy(&info.stdout).contains("cluster_state:ok") {
                break;
            }
            assert!(
                start.elapsed() < Duration::from_secs(30),
                "the cluster came up"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }
    Some(cluster)
}

/// One `open_cluster` from a seed node: admissions, refusals, a reported
/// 429 seen by a second process, a pooled budget and task slots, for keys
/// spread over the masters; every call is one script on one slot (a key
/// in another slot would fail with CROSSSLOT).
#[test]
fn the_store_works_on_a_cluster() {
    let Some(cluster) = start() else { return };
    let seed = format!("redis://127.0.0.1:{}/", cluster.ports[0]);
    common::runtime(2).block_on(async {
        let options = RedisOptions::default()
            .with_prefix(fresh_prefix("cluster"))
            .with_timeout(Duration::from_secs(2));
        let open = || async {
            let store = RedisStore::open_cluster(&[seed.as_str()], options.clone())
                .await
                .unwrap();
            Throttle::redis(store, Config::default()).unwrap()
        };
        let (a, b) = (open().await, open().await);
        // Many keys, so that they land on every master.
        for account in 0..12 {
            let a = a.for_account(&format!("acct-{account}"));
            let b = b.for_account(&format!("acct-{account}"));
            let permit = a.try_acquire(&Model::QwqPlus, 10).await.unwrap();
            permit.reconcile(5).await.unwrap();
            assert!(matches!(
                b.try_acquire(&Model::QwqPlus, 10).await,
                Err(Refusal::RetryAfter(_))
            ));
        }
        a.report(&Model::QwenMax, Tripped::Tokens).await.unwrap();
        let seen = b.effective(&Model::QwenMax).await.unwrap().unwrap();
        assert!(seen.cooldown > Duration::ZERO);

        let (a, b) = (
            a.for_deployment(Deployment::MainlandChina),
            b.for_deployment(Deployment::MainlandChina),
        );
        let video = cn_video_model();
        let limit = video
            .limits_in(Deployment::MainlandChina)
            .unwrap()
            .concurrency()
            .unwrap();
        let mut held = Vec::new();
        for i in 0..limit {
            let throttle = if i % 2 == 0 { &a } else { &b };
            held.push(throttle.submit(&video).await.unwrap());
        }
        assert_eq!(b.tasks_in_flight(&video).await.unwrap(), limit);
        assert!(matches!(
            a.try_submit(&video).await,
            Err(Refusal::TasksInFlight { .. })
        ));
        held.pop().unwrap().finish().await.unwrap();
        assert_eq!(a.tasks_in_flight(&video).await.unwrap(), limit - 1);

        let pooled = Model::ALL
            .iter()
            .find(|m| m.pool_in(Deployment::MainlandChina).is_some())
            .unwrap();
        drop(a.acquire_pooled(pooled, 0).await.unwrap());
    });
    // The keys are spread: every master holds some.
    let ask = |port: u16, command: &[&str]| {
        let out = Command::new("redis-cli")
            .args(["-p", &port.to_string()])
            .args(command)
            .output()
            .unwrap();
        String::from_utf8_lossy(&out.stdout).trim().to_string()
    };
    let masters: Vec<u16> = cluster
        .ports
        .iter()
        .copied()
        .filter(|&port| ask(port, &["role"]).starts_with("master"))
        .collect();
    assert_eq!(masters.len(), 3);
    for port in masters {
        assert_ne!(ask(port, &["dbsize"]), "0", "master {port} holds keys");
    }
}
