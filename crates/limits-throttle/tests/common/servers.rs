//! Redis servers a test starts on free loopback ports and stops when
//! dropped: a cluster of 3 masters and 3 replicas (`redis-server
//! --cluster-enabled yes`, `redis-cli --cluster create`), or a primary with
//! one replica. Without `redis-server` on the PATH they fail under CI and
//! are skipped elsewhere (`None`).

use std::net::TcpListener;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// Redis servers, each known by its port; stopped when dropped.
pub struct Servers {
    nodes: Vec<(u16, Child)>,
    /// Where the servers run, one directory each.
    dir: tempfile::TempDir,
}

impl Drop for Servers {
    fn drop(&mut self) {
        for (_, node) in &mut self.nodes {
            let _ = node.kill();
            let _ = node.wait();
        }
    }
}

impl Servers {
    /// The servers' ports, in the order they were started.
    pub fn ports(&self) -> Vec<u16> {
        self.nodes.iter().map(|(port, _)| *port).collect()
    }

    /// Kills the server on `port` at once (SIGKILL: no goodbye to its
    /// replicas or clients) and forgets it.
    pub fn kill(&mut self, port: u16) {
        let at = self.nodes.iter().position(|(p, _)| *p == port).unwrap();
        let (_, mut node) = self.nodes.remove(at);
        node.kill().unwrap();
        node.wait().unwrap();
    }
}

/// What `redis-cli -p PORT COMMAND...` prints, trimmed.
pub fn ask(port: u16, command: &[&str]) -> String {
    let out = Command::new("redis-cli")
        .args(["-p", &port.to_string()])
        .args(command)
        .output()
        .unwrap();
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

/// Whether the server on `port` is a master (or primary) now.
pub fn is_master(port: u16) -> bool {
    ask(port, &["role"]).starts_with("master")
}

/// Whether the replica on `port` is linked to its master.
fn in_sync(port: u16) -> bool {
    ask(port, &["info", "replication"]).contains("master_link_status:up")
}

/// A loopback port free now.
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Waits up to 10 s for a server to accept connections on `port`.
pub fn wait_for_port(port: u16) {
    let start = Instant::now();
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(
            start.elapsed() < Duration::from_secs(10),
            "a server started on port {port}"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// `count` free ports; with `bus`, each one's cluster bus port (+ 10000)
/// is free too.
fn free_ports(count: usize, bus: bool) -> Vec<u16> {
    let mut ports = Vec::new();
    while ports.len() < count {
        let port = free_port();
        let bus_free =
            !bus || (port < 55_000 && TcpListener::bind(("127.0.0.1", port + 10_000)).is_ok());
        if bus_free && !ports.contains(&port) {
            ports.push(port);
        }
    }
    ports
}

impl Servers {
    fn new() -> Servers {
        Servers {
            nodes: Vec::new(),
            dir: tempfile::tempdir().unwrap(),
        }
    }

    /// Starts a redis-server on each port with `args`, each in a directory
    /// of its own, and waits until every one accepts connections.
    fn spawn(&mut self, ports: &[u16], args: &[&str]) {
        for &port in ports {
            let node_dir = self.dir.path().join(port.to_string());
            std::fs::create_dir(&node_dir).unwrap();
            let child = Command::new("redis-server")
                .args(["--port", &port.to_string(), "--bind", "127.0.0.1"])
                .args(["--save", "", "--appendonly", "no"])
                // A replica syncs at once (the default waits 5 s for more).
                .args(["--repl-diskless-sync-delay", "0"])
                .arg("--dir")
                .arg(&node_dir)
                .args(args)
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .unwrap();
            self.nodes.push((port, child));
        }
        for &port in ports {
            wait_for_port(port);
        }
    }
}

/// Waits up to `limit` for `done`, asking every 50 ms.
pub fn wait_for(what: &str, limit: Duration, mut done: impl FnMut() -> bool) {
    let start = Instant::now();
    while !done() {
        assert!(start.elapsed() < limit, "{what} within {limit:?}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// A cluster of 3 masters, each with one replica; a node is taken for
/// failed after 2 s without an answer (`--cluster-node-timeout 2000`).
pub fn cluster() -> Option<Servers> {
    if !super::redis_server_on_path() {
        return None;
    }
    let ports = free_ports(6, true);
    let mut servers = Servers::new();
    servers.spawn(
        &ports,
        &["--cluster-enabled", "yes", "--cluster-node-timeout", "2000"],
    );
    let addresses: Vec<String> = ports.iter().map(|p| format!("127.0.0.1:{p}")).collect();
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
    for &port in &ports {
        wait_for("the cluster came up", Duration::from_secs(30), || {
            ask(port, &["cluster", "info"]).contains("cluster_state:ok")
        });
    }
    // A replica that never synced cannot replace its master.
    for port in ports {
        wait_for("the replicas in sync", Duration::from_secs(30), || {
            is_master(port) || in_sync(port)
        });
    }
    Some(servers)
}

/// A primary (the first port) and its replica (the second), in sync.
pub fn primary_and_replica() -> Option<Servers> {
    if !super::redis_server_on_path() {
        return None;
    }
    let ports = free_ports(2, false);
    let mut servers = Servers::new();
    servers.spawn(&ports[..1], &[]);
    servers.spawn(
        &ports[1..],
        &["--replicaof", "127.0.0.1", &ports[0].to_string()],
    );
    wait_for("the replica in sync", Duration::from_secs(10), || {
        in_sync(ports[1])
    });
    Some(servers)
}
