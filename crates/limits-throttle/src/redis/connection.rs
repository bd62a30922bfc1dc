//! The store's connection to Redis (one server's, or a cluster's) and the
//! redis crate's errors said as the store's.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use arc_swap::ArcSwap;
use redis::aio::{ConnectionManager, ConnectionManagerConfig};

use super::RedisOptions;
#[cfg(feature = "tls")]
use super::Tls;
use crate::refusal::{StoreError, StoreErrorKind};

/// The store's connection: one server's, or a cluster's (feature
/// `cluster`). Both multiplex and reconnect by themselves; a clone shares
/// the connection.
#[derive(Clone)]
pub(super) enum Connection {
    Single(Single),
    #[cfg(feature = "cluster")]
    Cluster(redis::cluster_async::ClusterConnection),
}

/// One server's connection manager. It reconnects by itself when the
/// connection breaks; when the server answers that it is a read-only
/// replica, the store starts a new one: the old primary was demoted in a
/// failover while this connection stayed open, and the address (a managed
/// service's primary endpoint) now leads to the new primary.
#[derive(Clone)]
pub(super) struct Single {
    /// The manager in use, and how many were started before it: read
    /// without a lock by every call.
    current: Arc<ArcSwap<(u64, ConnectionManager)>>,
    /// Held while a new manager is made: one at a time.
    starting: Arc<Mutex<()>>,
    /// What makes a new one.
    origin: Arc<(redis::Client, ConnectionManagerConfig)>,
}

impl Single {
    /// A manager of `client` that connects on first use.
    pub(super) fn lazy(
        client: redis::Client,
        config: ConnectionManagerConfig,
    ) -> redis::RedisResult<Single> {
        let manager = ConnectionManager::new_lazy_with_config(client.clone(), config.clone())?;
        Ok(Single {
            current: Arc::new(ArcSwap::from_pointee((0, manager))),
            starting: Arc::default(),
            origin: Arc::new((client, config)),
        })
    }

    /// The manager in use and its generation.
    pub(super) fn get(&self) -> (u64, ConnectionManager) {
        let current = self.current.load();
        (current.0, current.1.clone())
    }

    /// After the manager of `generation` met a read-only replica: a new
    /// manager, unless another call started one already.
    pub(super) fn start_over(&self, generation: u64) {
        let (client, config) = &*self.origin;
        let _one = self.starting.lock().unwrap_or_else(|e| e.into_inner());
        if self.current.load().0 != generation {
            return;
        }
        match ConnectionManager::new_lazy_with_config(client.clone(), config.clone()) {
            Ok(manager) => {
                self.current.store(Arc::new((generation + 1, manager)));
                tracing::warn!("throttle: Redis answered as a read-only replica: connecting again");
            }
            Err(e) => tracing::warn!("throttle: a new connection to Redis could not be made: {e}"),
        }
    }
}

/// A client of `url`, with the options' TLS settings if any.
pub(super) fn client(url: &str, options: &RedisOptions) -> redis::RedisResult<redis::Client> {
    #[cfg(feature = "tls")]
    if let Some(tls) = &options.tls {
        return redis::Client::build_with_tls(url, certificates(tls));
    }
    let _ = options;
    redis::Client::open(url)
}

/// The redis crate's form of the TLS settings.
#[cfg(feature = "tls")]
pub(super) fn certificates(tls: &Tls) -> redis::TlsCertificates {
    redis::TlsCertificates {
        client_tls: tls
            .client_cert
            .as_ref()
            .map(|(cert, key)| redis::ClientTlsConfig {
                client_cert: cert.clone(),
                client_key: key.clone(),
            }),
        root_cert: tls.root_ca.clone(),
    }
}

/// A redis error as a store error that names its cause.
pub(super) fn store_error(e: redis::RedisError, timeout: Duration) -> StoreError {
    use redis::{ErrorKind, ServerErrorKind};
    let code = e.code().unwrap_or_default().to_string();
    let text = e.to_string();
    // Without credentials, Redis answers NOAUTH, or (to a command of more
    // than ten arguments, as the script's call is) "Protocol error:
    // unauthenticated multibulk length" and closes the connection.
    let (kind, message) = if code == "NOAUTH" || text.contains("unauthenticated") {
        (
            StoreErrorKind::Auth,
            format!(
                "Redis requires a password and the URL gives none: use \
                 redis://user:password@host:port/ (the server said: {text})"
            ),
        )
    } else if e.kind() == ErrorKind::AuthenticationFailed || code == "WRONGPASS" {
        (
            StoreErrorKind::Auth,
            format!(
                "Redis refused the credentials ({}): give a user and password that exist in the \
                 URL, redis://user:password@host:port/",
                e.detail().map_or_else(|| e.to_string(), str::to_string)
            ),
        )
    } else if e.kind() == ErrorKind::Server(ServerErrorKind::NoPerm) {
        (
            StoreErrorKind::Auth,
            format!(
                "the Redis user may not run the throttle's script ({}): it needs EVAL, EVALSHA \
                 and the key commands of its script (e.g. `+@scripting +@read +@write`)",
                e.detail().unwrap_or_default()
            ),
        )
    } else if is_tls(&e) {
        (
            StoreErrorKind::Tls,
            format!(
                "the TLS handshake with Redis failed: {text} (a server certificate the client \
                 does not trust: give its CA with RedisOptions::with_tls; a server that wants a \
                 client certificate: give one there too)"
            ),
        )
    } else if text.contains("TLS") && text.contains("feature") {
        (
            StoreErrorKind::Connection,
            format!("a rediss:// URL needs limits-throttle's feature `tls` ({text})"),
        )
    } else if e.is_timeout() {
        (
            StoreErrorKind::Timeout,
            format!("Redis did not answer within {timeout:?}"),
        )
    } else if e.is_io_error() || e.is_connection_refusal() || e.is_connection_dropped() {
        (
            StoreErrorKind::Connection,
            format!("cannot reach Redis: {e}"),
        )
    } else if matches!(
        e.kind(),
        ErrorKind::Server(ServerErrorKind::Moved | ServerErrorKind::Ask)
    ) {
        (
            StoreErrorKind::Server,
            format!(
                "the Redis server is a node of a Redis Cluster (it answered {text}): open the \
                 cluster with RedisStore::open_cluster (feature `cluster`)"
            ),
        )
    } else if e.kind() == ErrorKind::Server(ServerErrorKind::ReadOnly) {
        (
            StoreErrorKind::Server,
            format!(
                "the Redis server is a read-only replica ({text}): the store connects again, \
                 which finds the new primary behind a managed primary endpoint after a \
                 failover; a URL that names a replica must name the primary"
            ),
        )
    } else if matches!(
        e.kind(),
        ErrorKind::Server(ServerErrorKind::ClusterDown | ServerErrorKind::MasterDown)
    ) {
        (
            StoreErrorKind::Server,
            format!("no Redis primary serves the key now, as during a failover ({text})"),
        )
    } else if e.kind() == ErrorKind::InvalidClientConfig {
        (StoreErrorKind::Connection, format!("bad Redis URL: {e}"))
    } else {
        (StoreErrorKind::Server, format!("Redis: {e}"))
    };
    StoreError::new(kind, message, Some(Arc::new(e)))
}

/// Whether a redis error is a failed TLS handshake: rustls's certificate
/// and alert errors, somewhere in its chain of sources.
fn is_tls(e: &redis::RedisError) -> bool {
    let mut source: Option<&(dyn std::error::Error + 'static)> = Some(e);
    while let Some(error) = source {
        let text = error.to_string();
        if text.contains("invalid peer certificate")
            || text.contains("peer sent no certificates")
            || text.contains("received fatal alert")
            || text.contains("CertificateRequired")
        {
            return true;
        }
        source = error.source();
    }
    false
}
