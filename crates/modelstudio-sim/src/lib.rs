//! A simulator of Alibaba Cloud Model Studio's rate limits, on loopback:
//! the OpenAI-compatible chat and embeddings endpoints and the native
//! text-generation endpoint, over a limits table, per account (the limits
//! apply to the sum of an account's keys) in one deployment mode, with the
//! provider's 429 bodies. A row's kinds it serves: `rpm`, `tpm` (and a
//! sixtieth of each per second), `rps`.
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
//! let config = SimConfig {
//!     table: LimitTable::published(),
//!     keys: HashMap::from([("sk-1".to_string(), "acct".to_string())]),
//!     window: Duration::from_secs(6),
//!     deployment: Deployment::MainlandChina,
//! };
//! let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
//! axum::serve(listener, router(config)).await
//! # }
//! ```
#![warn(missing_docs)]

pub mod api;
pub mod rules;
mod server;

pub use server::{router, SimConfig};
