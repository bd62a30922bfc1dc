//! Across a fleet: the admission rules as one Lua script on Redis, called
//! through the redis crate's [`ConnectionManager`](redis::aio::ConnectionManager): one multiplexed
//! connection shared by every task of the process, reconnecting by itself
//! after the server restarts.
//!
//! Each operation is one round trip (`EVALSHA`; when the server answers
//! that it lacks the script, after a `SCRIPT FLUSH` or a restart, the redis
//! crate loads it again with `SCRIPT LOAD` and retries, so both are survived
//! with nothing to do). Time is the server's `TIME`, so the
//! clients' clocks do not matter. The three keys of a model (a hash and two
//! lists) share one hash tag, `{PREFIX:ACCOUNT:MODE:MODEL}` (the mode's id:
//! `cn`, `intl`, `global`, `us`), so one cluster slot, and expire once
//! nothing in them matters. Run Redis with an eviction policy that does not evict
//! them (`noeviction`, or `volatile-*` with memory to spare).
//!
//! **Lost state.** After a `FLUSHALL`, a restart without persistence, or
//! an expired key, a key starts empty while the provider still counts the
//! last minute. Under [`Pacing::PerSecond`](crate::Pacing::PerSecond) an
//! empty key admits no more than a second's share at once and then the
//! steady rate, so a window around the loss admits at most one second's
//! share more than the limit (`ceil(RPM / 60)` requests and `ceil(TPM / 60)`
//! tokens, or one larger request). Under `Pacing::Bursty` it admits a fresh
//! burst.
//!
//! **Failover.** Redis replicates asynchronously: the replica that replaces
//! a dead primary (Redis Cluster's failover, or a managed service's primary
//! endpoint moved to a promoted replica) may lack the primary's last
//! writes. What it lacks is lost state as above, partly: a key that counts
//! fewer admissions admits sooner, but never sooner than an empty key, so
//! the same bound holds for a window around the failover. Beside it, the
//! new primary's clock (`TIME`) is not the old one's: a difference of `d`
//! moves every recorded admission by `d`, which can let `d x RPM / window`
//! more requests into one window (NTP keeps `d` to milliseconds); and a
//! 429 reported just before the failover may be forgotten (the next one is
//! read again). A task slot taken just before it may be lost: its live
//! task holds it again at its next renewal, within a third of
//! [`RedisOptions::task_lease`] (10 s by default), and meanwhile as many
//! more tasks as were lost can be submitted; slots held before survive a
//! failover shorter than two thirds of the lease (20 s by default). While
//! no primary answers, every call fails within [`RedisOptions::timeout`]:
//! [`FailurePolicy::FailClosed`] refuses, [`FailurePolicy::FailOpen`]
//! admits what comes unchecked, so under it the store bounds nothing for
//! the failover's duration. Admission resumes once the connection reaches
//! the new primary: a cluster connection finds it when the cluster's
//! answers change (a refresh of its slot map), a single-server store on
//! the next call after the address leads to the new primary. A
//! single-server store whose open connection still reaches the old
//! primary, demoted to a replica and alive, hears `READONLY` and connects
//! again.
//! `tests/it/redis_failover.rs` checks all of this under a fleet's load
//! (what failovers cost on a loopback cluster and behind a primary
//! endpoint is in the repository's BENCHMARKS.md).
//!
//! **TLS** (feature `tls`): a `rediss://` URL connects through rustls and
//! trusts the system's certificate authorities; [`RedisOptions::with_tls`]
//! trusts a private CA instead and presents a client certificate to a
//! server that asks for one. A certificate the client does not trust is a
//! [`StoreErrorKind::Tls`] error that says so.
//!
//! Every call is bounded by [`RedisOptions::timeout`], queued or not,
//! connecting included. [`FailurePolicy`] decides what an unreachable
//! Redis means for admission. Credentials go in the URL
//! (`redis://user:password@host:port/`); a missing or wrong password, or a
//! user without permission to run scripts, is a [`StoreErrorKind::Auth`]
//! error that names the cause.

use std::sync::Arc;
use std::time::Duration;

use redis::aio::ConnectionManagerConfig;

use crate::admission::{Adapted, Counted, Lower, Micros, Params, Ppm, Refused};
use crate::clock::Clock;
use crate::refusal::{StoreError, StoreErrorKind};
use crate::store::{Boxed, SharedSlot, SharedStore};

mod connection;
#[cfg(feature = "tls")]
use connection::certificates;
use connection::{client, store_error, Connection, Single};

const SCRIPT: &str = include_str!("admission.lua");
const TASKS: &str = include_str!("tasks.lua");

/// What to do when Redis cannot be asked.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum FailurePolicy {
    /// Admit the request; its permit says it was not checked.
    FailOpen,
    /// Refuse the request with [`Refusal::Unavailable`](crate::Refusal).
    FailClosed,
}

/// Settings of a [`RedisStore`].
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct RedisOptions {
    /// Prefix of every key: `"limits"` gives `{limits:ACCOUNT:MODE:MODEL}:h`.
    pub prefix: String,
    /// The longest any call may take, queued, connecting and answering
    /// included. Default 100 ms.
    pub timeout: Duration,
    /// What an unreachable Redis means. Default [`FailurePolicy::FailClosed`].
    pub on_failure: FailurePolicy,
    /// How long a task slot stays held without being renewed: a task
    /// renews its lease every third of it while it lives, so a process
    /// that dies (or loses Redis) frees its slots within this time.
    /// Default 30 s: a few missed renewals (a Redis failover, a stalled
    /// process) do not free a live task's slot, and a crashed fleet's
    /// slots are back within half a minute.
    pub task_lease: Duration,
    /// How often a submission waiting for a task slot asks again (it
    /// cannot be woken: the slot may be freed by another process).
    /// Default 50 ms.
    pub task_poll: Duration,
    /// A private CA and a client certificate for `rediss://` (feature
    /// `tls`); `None`: the system's CAs, no client certificate.
    #[cfg(feature = "tls")]
    pub tls: Option<Tls>,
}

/// What a `rediss://` connection trusts and presents beyond the system's
/// CAs (feature `tls`).
#[cfg(feature = "tls")]
#[derive(Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Tls {
    /// The CA certificate(s) to trust instead of the system's, PEM.
    pub root_ca: Option<Vec<u8>>,
    /// The certificate and private key to present, both PEM.
    pub client_cert: Option<(Vec<u8>, Vec<u8>)>,
}

#[cfg(feature = "tls")]
impl Tls {
    /// Trusts the CA certificate(s) in `pem` instead of the system's.
    pub fn trusting(pem: impl Into<Vec<u8>>) -> Self {
        Tls {
            root_ca: Some(pem.into()),
            client_cert: None,
        }
    }

    /// These settings, presenting `cert` with `key` (both PEM) to a
    /// server that asks for a client certificate.
    pub fn with_client_cert(self, cert: impl Into<Vec<u8>>, key: impl Into<Vec<u8>>) -> Self {
        Tls {
            client_cert: Some((cert.into(), key.into())),
            ..self
        }
    }
}

#[cfg(feature = "tls")]
impl std::fmt::Debug for Tls {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The key is never printed.
        f.debug_struct("Tls")
            .field("root_ca", &self.root_ca.as_ref().map(|_| "<PEM>"))
            .field("client_cert", &self.client_cert.as_ref().map(|_| "<PEM>"))
            .finish()
    }
}

impl Default for RedisOptions {
    fn default() -> Self {
        RedisOptions {
            prefix: "limits".to_string(),
            timeout: Duration::from_millis(100),
            on_failure: FailurePolicy::FailClosed,
            task_lease: Duration::from_secs(30),
            task_poll: Duration::from_millis(50),
            #[cfg(feature = "tls")]
            tls: None,
        }
    }
}

impl RedisOptions {
    /// These options with another key prefix.
    pub fn with_prefix(self, prefix: impl Into<String>) -> Self {
        RedisOptions {
            prefix: prefix.into(),
            ..self
        }
    }

    /// These options with another timeout.
    pub fn with_timeout(self, timeout: Duration) -> Self {
        RedisOptions { timeout, ..self }
    }

    /// These options with another failure policy.
    pub fn with_failure_policy(self, on_failure: FailurePolicy) -> Self {
        RedisOptions { on_failure, ..self }
    }

    /// These options with a private CA or a client certificate for
    /// `rediss://` (feature `tls`).
    #[cfg(feature = "tls")]
    pub fn with_tls(self, tls: Tls) -> Self {
        RedisOptions {
            tls: Some(tls),
            ..self
        }
    }

    /// These options with another task lease (at least 3 ms, so that a
    /// renewal every third of it is a timer of at least 1 ms).
    pub fn with_task_lease(self, task_lease: Duration) -> Self {
        RedisOptions {
            task_lease: task_lease.max(Duration::from_millis(3)),
            ..self
        }
    }

    /// These options with another poll of a submission waiting for a task
    /// slot (at least 1 ms).
    pub fn with_task_poll(self, task_poll: Duration) -> Self {
        RedisOptions {
            task_poll: task_poll.max(Duration::from_millis(1)),
            ..self
        }
    }
}

/// Where a [`Throttle`](crate::Throttle) keeps its state to share it with
/// every process that uses the same server and prefix.
#[derive(Clone)]
pub struct RedisStore {
    connection: Connection,
    script: Arc<redis::Script>,
    tasks: Arc<redis::Script>,
    /// Wakes this process's submissions waiting for a slot when one of its
    /// tasks frees one (others' are seen at the next poll).
    freed: Arc<tokio::sync::Notify>,
    options: RedisOptions,
    clock: Option<Arc<dyn Clock>>,
}

impl std::fmt::Debug for RedisStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedisStore")
            .field("options", &self.options)
            .field("server_clock", &self.clock.is_none())
            .finish_non_exhaustive()
    }
}

impl RedisStore {
    /// A store on one server at `url` (`redis://[user:password@]host:port/`,
    /// or `rediss://` with feature `tls`; a Redis Cluster is
    /// `RedisStore::open_cluster`),
    /// connecting on first use. A call that finds the connection broken
    /// fails and starts one new attempt in the background, which the next
    /// calls wait for (within their timeout): so the store reconnects as soon
    /// as the server is back and a call comes, and a refused password is
    /// reported at once rather than retried until the timeout hides it. A bad
    /// URL is an error now. Call it inside a Tokio runtime.
    pub fn open(url: &str, options: RedisOptions) -> Result<Self, StoreError> {
        let client = client(url, &options).map_err(|e| store_error(e, options.timeout))?;
        let config = ConnectionManagerConfig::new()
            .set_connection_timeout(Some(options.timeout))
            .set_response_timeout(Some(options.timeout))
            .set_number_of_retries(0);
        let single = Single::lazy(client, config).map_err(|e| store_error(e, options.timeout))?;
        Ok(Self::on(Connection::Single(single), options))
    }

    /// A store on a Redis Cluster (feature `cluster`), found from one or
    /// more of its nodes (`redis://host:port/`, or `rediss://` with
    /// feature `tls` and the options' TLS settings). Unlike
    /// [`RedisStore::open`] this connects now (within the options'
    /// timeout), to learn which node serves which slots; it then follows
    /// the cluster's redirections and reconnects by itself. Every key of
    /// one throttle key carries one hash tag, so each call is one script
    /// on the one node that serves its slot.
    #[cfg(feature = "cluster")]
    pub async fn open_cluster(nodes: &[&str], options: RedisOptions) -> Result<Self, StoreError> {
        let timeout = options.timeout;
        #[allow(unused_mut)]
        let mut builder = redis::cluster::ClusterClientBuilder::new(nodes.iter().copied())
            .connection_timeout(timeout)
            .response_timeout(timeout)
            .retries(2);
        #[cfg(feature = "tls")]
        if let Some(tls) = &options.tls {
            builder = builder.certs(certificates(tls));
        }
        let client = builder.build().map_err(|e| store_error(e, timeout))?;
        let connection = match tokio::time::timeout(timeout, client.get_async_connection()).await {
            Ok(Ok(connection)) => connection,
            Ok(Err(e)) => return Err(store_error(e, timeout)),
            Err(_) => {
                return Err(StoreError::new(
                    StoreErrorKind::Timeout,
                    format!("the Redis Cluster did not answer within {timeout:?}"),
                    None,
                ))
            }
        };
        Ok(Self::on(Connection::Cluster(connection), options))
    }

    fn on(connection: Connection, options: RedisOptions) -> Self {
        RedisStore {
            connection,
            script: Arc::new(redis::Script::new(SCRIPT)),
            tasks: Arc::new(redis::Script::new(TASKS)),
            freed: Arc::default(),
            options,
            clock: None,
        }
    }

    /// Uses `clock` (microseconds are sent with each call) instead of the
    /// server's `TIME`: for simulations and deterministic runs, where every
    /// process shares one clock.
    pub fn with_clock(self, clock: impl Clock) -> Self {
        RedisStore {
            clock: Some(Arc::new(clock)),
            ..self
        }
    }

    /// The options this store runs with.
    pub fn options(&self) -> &RedisOptions {
        &self.options
    }

    /// The scripts' `now` argument: the caller's clock in microseconds, or
    /// empty for the server's `TIME`.
    fn now_arg(&self) -> String {
        self.clock
            .as_ref()
            .map(|c| (c.now_ns() / 1_000).to_string())
            .unwrap_or_default()
    }

    /// The tag shared by the keys of `id` for `account`.
    fn key(&self, account: &str, id: &str) -> String {
        format!("{{{}:{}:{}}}", self.options.prefix, account, id)
    }

    async fn run(
        &self,
        account: &str,
        id: &str,
        p: &Params,
        op: &str,
        args: &[u64],
        answers: usize,
    ) -> Result<Vec<i64>, StoreError> {
        let key = self.key(account, id);
        let mut call = self.script.prepare_invoke();
        call.key(format!("{key}:h"))
            .key(format!("{key}:s"))
            .key(format!("{key}:m"))
            .arg(op)
            .arg(self.now_arg())
            .arg(p.window.0)
            .arg(p.second())
            .arg(p.second_width())
            .arg(p.minute_width())
            .arg(p.full_recovery())
            .arg(p.rpm)
            .arg(p.tpm)
            .arg(p.burst.0)
            .arg(p.cooldown.0)
            .arg(p.decrease.0)
            .arg(p.floor.0)
            .arg(p.recovery.0)
            .arg(p.tolerance());
        for a in args {
            call.arg(*a);
        }
        self.invoke(&call, "script", answers).await
    }

    /// Runs a prepared script call within the timeout: its `answers`
    /// numbers, or an error that names what went wrong (`what`: the
    /// script's name in the message).
    async fn invoke(
        &self,
        call: &redis::ScriptInvocation<'_>,
        what: &str,
        answers: usize,
    ) -> Result<Vec<i64>, StoreError> {
        let timeout = self.options.timeout;
        let answered = match &self.connection {
            Connection::Single(single) => {
                let (generation, mut manager) = single.get();
                let answered =
                    tokio::time::timeout(timeout, call.invoke_async::<Vec<i64>>(&mut manager))
                        .await;
                if let Ok(Err(e)) = &answered {
                    if e.kind() == redis::ErrorKind::Server(redis::ServerErrorKind::ReadOnly) {
                        single.start_over(generation);
                    }
                }
                answered
            }
            #[cfg(feature = "cluster")]
            Connection::Cluster(cluster) => {
                let mut cluster = cluster.clone();
                tokio::time::timeout(timeout, call.invoke_async::<Vec<i64>>(&mut cluster)).await
            }
        };
        match answered {
            Ok(Ok(reply)) if reply.len() == answers => Ok(reply),
            Ok(Ok(reply)) => Err(StoreError::new(
                StoreErrorKind::Server,
                format!("Redis: the throttle's {what} answered {reply:?}"),
                None,
            )),
            Ok(Err(e)) => Err(store_error(e, timeout)),
            Err(_) => Err(StoreError::new(
                StoreErrorKind::Timeout,
                format!("Redis did not answer within {timeout:?}"),
                None,
            )),
        }
    }
}

/// The rules through the script, and task slots as leases.
impl SharedStore for RedisStore {
    fn decide<'a>(
        &'a self,
        account: &'a str,
        id: &'a str,
        p: &'a Params,
        tokens: u64,
    ) -> Boxed<'a, Result<Result<Counted, Refused>, StoreError>> {
        Box::pin(async move {
            let r = self.run(account, id, p, "decide", &[tokens], 4).await?;
            let u = |i: usize| r[i].max(0) as u64;
            Ok(match r[0] {
                1 => Ok(Counted {
                    second: u(2),
                    minute: u(3),
                }),
                2 => Err(Refused::TooLarge),
                _ => Err(Refused::Wait(Micros(u(1).max(1)))),
            })
        })
    }

    fn reconcile<'a>(
        &'a self,
        account: &'a str,
        id: &'a str,
        p: &'a Params,
        counted: Counted,
        estimated: u64,
        actual: u64,
    ) -> Boxed<'a, Result<(), StoreError>> {
        let args = [counted.second, counted.minute, estimated, actual];
        Box::pin(async move {
            self.run(account, id, p, "reconcile", &args, 4)
                .await
                .map(drop)
        })
    }

    fn report<'a>(
        &'a self,
        account: &'a str,
        id: &'a str,
        p: &'a Params,
        lower: Lower,
    ) -> Boxed<'a, Result<(), StoreError>> {
        let args = [u64::from(lower.requests), u64::from(lower.tokens)];
        Box::pin(async move { self.run(account, id, p, "report", &args, 4).await.map(drop) })
    }

    fn adapted<'a>(
        &'a self,
        account: &'a str,
        id: &'a str,
        p: &'a Params,
    ) -> Boxed<'a, Result<Adapted, StoreError>> {
        Box::pin(async move {
            let r = self.run(account, id, p, "adapted", &[], 3).await?;
            let u = |i: usize| r[i].max(0) as u64;
            Ok(Adapted {
                requests: Ppm(u(0)),
                tokens: Ppm(u(1)),
                cooldown: Micros(u(2)),
            })
        })
    }

    fn take_slot<'a>(
        &'a self,
        account: &'a str,
        id: &'a str,
        limit: u32,
        deadline: tokio::time::Instant,
    ) -> Boxed<'a, Result<Option<Box<dyn SharedSlot>>, StoreError>> {
        Box::pin(async move {
            let lease = self.lease_slot(account, id, limit, deadline).await?;
            Ok(lease.map(|lease| Box::new(lease) as Box<dyn SharedSlot>))
        })
    }

    fn slots_held<'a>(
        &'a self,
        account: &'a str,
        id: &'a str,
    ) -> Boxed<'a, Result<u32, StoreError>> {
        Box::pin(async move {
            let [_, held, _] = self
                .slot_op(&self.slots_key(account, id), "count", 0, "")
                .await?;
            Ok(held.max(0) as u32)
        })
    }

    fn fails_open(&self) -> bool {
        self.options.on_failure == FailurePolicy::FailOpen
    }
}

/// A task slot held in Redis: a lease renewed in the background while
/// the task lives.
struct TaskLease {
    store: RedisStore,
    key: Arc<str>,
    holder: Arc<str>,
    renewing: tokio::task::JoinHandle<()>,
}

impl TaskLease {
    /// Frees the slot now. The renewals end first: a renewal sent after
    /// the release would hold the slot again for a lease time.
    async fn release(self) -> Result<(), StoreError> {
        self.renewing.abort();
        // Cancelled or ended: whatever it sent is ahead of the release.
        let _ = self.renewing.await;
        let released = self
            .store
            .slot_op(&self.key, "release", 0, &self.holder)
            .await;
        self.store.freed.notify_waiters();
        released.map(drop)
    }

    /// Frees the slot without waiting: on the runtime if there is one,
    /// else when the lease ends.
    fn release_in_background(self) {
        self.renewing.abort();
        if let Ok(runtime) = tokio::runtime::Handle::try_current() {
            runtime.spawn(async move {
                if let Err(e) = self.release().await {
                    tracing::warn!("throttle: a task slot stays held until its lease ends: {e}");
                }
            });
        }
    }
}

impl SharedSlot for TaskLease {
    fn release(self: Box<Self>) -> Boxed<'static, Result<(), StoreError>> {
        Box::pin(TaskLease::release(*self))
    }

    fn release_in_background(self: Box<Self>) {
        TaskLease::release_in_background(*self);
    }
}

impl RedisStore {
    /// The set of task leases of `id` (`MODEL#tasks`) for `account`.
    fn slots_key(&self, account: &str, id: &str) -> String {
        format!("{}:z", self.key(account, id))
    }

    /// One call of the tasks script on `key`: `{ok, held, wait}`.
    async fn slot_op(
        &self,
        key: &str,
        op: &str,
        limit: u32,
        holder: &str,
    ) -> Result<[i64; 3], StoreError> {
        let mut call = self.tasks.prepare_invoke();
        call.key(key)
            .arg(op)
            .arg(self.now_arg())
            .arg(limit)
            .arg(self.options.task_lease.as_micros() as u64)
            .arg(holder);
        let reply = self.invoke(&call, "tasks script", 3).await?;
        Ok([reply[0], reply[1], reply[2]])
    }

    /// Takes one of `limit` slots of `id` for `account`, asking again every
    /// [`RedisOptions::task_poll`] (jittered), or as soon as a task of
    /// this process frees a slot, until `deadline`; `None` if none was
    /// freed by then.
    async fn lease_slot(
        &self,
        account: &str,
        id: &str,
        limit: u32,
        deadline: tokio::time::Instant,
    ) -> Result<Option<TaskLease>, StoreError> {
        let key: Arc<str> = Arc::from(self.slots_key(account, id));
        let holder: Arc<str> = Arc::from(format!("{:016x}", fastrand::u64(..)));
        loop {
            // Registered before asking: a slot freed meanwhile still wakes.
            let freed = self.freed.notified();
            tokio::pin!(freed);
            freed.as_mut().enable();
            let [ok, _, wait] = self.slot_op(&key, "take", limit, &holder).await?;
            if ok == 1 {
                let renewing = self.renew(Arc::clone(&key), Arc::clone(&holder));
                return Ok(Some(TaskLease {
                    store: self.clone(),
                    key,
                    holder,
                    renewing,
                }));
            }
            let poll = self.options.task_poll;
            let wait = Duration::from_micros(wait.max(1) as u64).min(poll);
            let wait = wait + poll.mul_f64(fastrand::f64() / 4.0);
            let at = tokio::time::Instant::now() + wait;
            if at > deadline {
                return Ok(None);
            }
            tokio::select! {
                () = tokio::time::sleep_until(at) => {}
                () = freed => {}
            }
        }
    }

    /// Renews the lease of `holder` every third of the lease time, until
    /// aborted; a lease found gone is held again (the task still runs).
    fn renew(&self, key: Arc<str>, holder: Arc<str>) -> tokio::task::JoinHandle<()> {
        let store = self.clone();
        let every = self.options.task_lease / 3;
        tokio::spawn(async move {
            loop {
                tokio::time::sleep(every).await;
                match store.slot_op(&key, "renew", 0, &holder).await {
                    Ok([1, ..]) => {}
                    Ok([_, held, _]) => tracing::warn!(
                        key = &*key,
                        held,
                        "throttle: a task's lease was gone (Redis lost it in a failover \
                         or a flush, or this process stalled past the lease): held again; \
                         meanwhile its slot may have been given to another task"
                    ),
                    Err(e) => {
                        tracing::warn!(key = &*key, "throttle: a task's lease was not renewed: {e}")
                    }
                }
            }
        })
    }
}
