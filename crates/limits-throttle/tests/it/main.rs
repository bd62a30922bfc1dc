//! The throttle's integration tests, in one binary: each file a module,
//! the helpers in `common` built once. The Redis stores' tests take their
//! server from `REDIS_URL` (or a cluster from `REDIS_CLUSTER_NODES`); the
//! fault, failover, TLS and cluster tests start servers of their own.

mod common;

mod adaptation;
mod observe;
mod pacing;
mod tasks;

mod redis_cluster;
mod redis_failover;
mod redis_faults;
mod redis_store;
mod redis_tasks;
mod redis_tls;
