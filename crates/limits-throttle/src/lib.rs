//! Stay under Alibaba Cloud Model Studio's limits: a request is admitted
//! only if both its model's queries-per-minute and tokens-per-minute limits
//! allow it.
//!
//! One state per key holds both dimensions of a GCRA (two theoretical
//! arrival times in one atomic word, updated together), so a request refused by
//! the TPM limit spends nothing of the QPM limit, unlike two independent
//! limiters. No 60-second window admits more than the limit (after
//! [`Config::headroom`]), for requests and for tokens.
//!
//! ```
//! use std::time::Duration;
//! use limits_throttle::{Config, FakeClock, Refusal, Throttle};
//! use modelstudio_limits::Model;
//!
//! let clock = FakeClock::new();
//! let throttle = Throttle::with_clock(Config { headroom: 0.8, burst: 0.1 }, clock.clone())?;
//!
//! // qwq-plus: 60 QPM, 100,000 TPM; 80% of that, 10% of it at once.
//! let permit = throttle.try_acquire(Model::QwqPlus, 8_000).unwrap();
//! // ... call the model; its response reports the tokens really used:
//! permit.reconcile(5_000);
//!
//! // 8,000 tokens is the most admitted at once; 3,000 more must wait.
//! match throttle.try_acquire(Model::QwqPlus, 8_000) {
//!     Err(Refusal::RetryAfter(wait)) => assert!(wait > Duration::ZERO),
//!     other => panic!("{other:?}"),
//! }
//! # Ok::<(), limits_throttle::ConfigError>(())
//! ```
//!
//! Across processes (the limits are account-wide), feature `redis` gives
//! `redis::RedisThrottle`: the same algorithm as one
//! Lua script, on the server's clock. Feature `tokio` adds `acquire(..).await`.
#![warn(missing_docs)]

mod clock;
mod config;
mod gcra;
mod limiter;
#[cfg(feature = "redis")]
pub mod redis;

pub use clock::{Clock, FakeClock, MonotonicClock};
pub use config::{Config, ConfigError, Dimension, Rates, MINUTE_NS};
pub use gcra::{reconcile, try_admit, Refusal, State};
pub use limiter::{Limiter, Permit, Throttle};
