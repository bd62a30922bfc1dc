//! A simulator of Alibaba Cloud Model Studio's rate limits, on loopback:
//! the OpenAI-compatible chat and embeddings endpoints, the native
//! text-generation endpoint and the asynchronous task APIs (submissions, voice
//! enrollment, queries), over a limits table, per account (the limits apply
//! to the sum of an account's keys) in the deployment its host names (a
//! request sent to `dashscope.aliyuncs.com` and resolved to the simulator
//! is served Beijing's table; one to its loopback address, the configured
//! deployment's), with the provider's 429 bodies. Every kind of a row:
//! `rpm`, `tpm` (and a sixtieth of each per second), `rps`, `submit_rps`,
//! `submit_rpm`, `query_rps` (and 20 queries a second per account),
//! `concurrency`, `sync_unlimited`, pooled budgets (a pool of requests or
//! tokens shared by synchronous calls to its models, per account or per API
//! key; voice enrollment). `/sim/stats` counts rejections per kind and the
//! time tasks spent in flight.
//! Not published; the throttle's tests and the fleet benchmark run against
//! it.
//!
//! ```no_run
//! # async fn run() -> std::io::Result<()> {
//! use std::collections::HashMap;
//! use std::time::Duration;
//! use modelstudio_limits::runtime::LimitTable;
//! use modelstudio_limits::Deployment;
//! use modelstudio_sim::{router, SimConfig};
//!
//! let keys = HashMap::from([("sk-1".to_string(), "acct".to_string())]);
//! let mut config = SimConfig::new(LimitTable::published(), keys, Duration::from_secs(6));
//! config.deployment = Deployment::MAINLAND_CHINA;
//! let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
//! axum::serve(listener, router(config)).await
//! # }
//! ```
#![warn(missing_docs)]

pub mod api;
pub mod rules;
mod server;
pub mod tasks;

pub use server::{router, SimConfig};
