//! Redis servers a test starts on free loopback ports and stops when
//! dropped: a cluster of 3 masters and 3 replicas (`redis-server
//! --cluster-enabled yes`, `redis-cli --cluster create`), or a primary with
//! one replica. Without `redis-server` on the PATH they fail under CI and
//! are skipped elsewhere (`None`).

use std::net::TcpListener;
use std::path::Path;
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

/// A loopback port free now; with `bus`, its cluster bus port (+ 10,000)
/// too. Another process may take it before a server binds it: see
/// [`start_redis`].
fn free_port(bus: bool) -> u16 {
    loop {
        let port = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        if !bus || (port < 55_000 && TcpListener::bind(("127.0.0.1", port + 10_000)).is_ok()) {
            return port;
        }
    }
}

/// What every test server is: on loopback alone, and keeping nothing on
/// disk.
pub const LOOPBACK_IN_MEMORY: [&str; 6] =
    ["--bind", "127.0.0.1", "--save", "", "--appendonly", "no"];

/// Starts `redis-server` with the arguments `args` gives for a port, on a
/// free loopback port (with `bus`, one whose cluster bus port is free
/// too), its log in `dir`, and waits until the server says it accepts
/// connections. A port that another process took between its choice and
/// the server's bind makes the server exit: it starts again on another.
pub fn start_redis(dir: &Path, bus: bool, args: impl Fn(u16) -> Vec<String>) -> (u16, Child) {
    for _ in 0..10 {
        let port = free_port(bus);
        if let Some(child) = start_redis_on(port, dir, &args(port)) {
            return (port, child);
        }
    }
    panic!("redis-server did not start on any of ten free ports");
}

/// Starts `redis-server` with `args` (which name `port`), its log in
/// `dir`, and waits up to 10 s until it says it accepts connections, or
/// exits (`None`: the port was taken).
pub fn start_redis_on(port: u16, dir: &Path, args: &[String]) -> Option<Child> {
    let log = dir.join(format!("redis-{port}.log"));
    let _ = std::fs::remove_file(&log);
    let mut child = Command::new("redis-server")
        .args(args)
        .arg("--logfile")
        .arg(&log)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let start = Instant::now();
    loop {
        if child.try_wait().unwrap().is_some() {
            return None;
        }
        let said = std::fs::read_to_string(&log).unwrap_or_default();
        if said.contains("Ready to accept connections") {
            return Some(child);
        }
        assert!(
            start.elapsed() < Duration::from_secs(10),
            "redis-server on port {port} ready within 10 s:\n{said}"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

impl Servers {
    fn new() -> Servers {
        Servers {
            nodes: Vec::new(),
            dir: tempfile::tempdir().unwrap(),
        }
    }

    /// Starts a redis-server with `args` on a free port (see
    /// [`start_redis`]), in a directory of its own, and says its port.
    fn start(&mut self, bus: bool, args: &[&str]) -> u16 {
        let (port, child) = start_redis(self.dir.path(), bus, |port| {
            let node_dir = self.dir.path().join(port.to_string());
            std::fs::create_dir_all(&node_dir).unwrap();
            let port = port.to_string();
            let node: [&str; 6] = [
                "--port",
                &port,
                // A replica syncs at once (the default waits 5 s for more).
                "--repl-diskless-sync-delay",
                "0",
                "--dir",
                node_dir.to_str().unwrap(),
            ];
            node.iter()
                .chain(&LOOPBACK_IN_MEMORY)
                .chain(args)
                .map(|a| a.to_string())
                .collect()
        });
        self.nodes.push((port, child));
        port
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
    let mut servers = Servers::new();
    let ports: Vec<u16> = (0..6)
        .map(|_| {
            servers.start(
                true,
                &["--cluster-enabled", "yes", "--cluster-node-timeout", "2000"],
            )
        })
        .collect();
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
    let mut servers = Servers::new();
    let primary = servers.start(false, &[]);
    let replica = servers.start(false, &["--replicaof", "127.0.0.1", &primary.to_string()]);
    let ports = [primary, replica];
    wait_for("the replica in sync", Duration::from_secs(10), || {
        in_sync(ports[1])
    });
    Some(servers)
}
