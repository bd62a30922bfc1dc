//! Stay under Alibaba Cloud Model Studio's rate limits, the way the provider
//! enforces them: per model, account and deployment mode, requests and
//! tokens per minute and a sixtieth of each per second, and requests per
//! second.
//!
//! A [`Throttle`] admits a request only while every limit of its model
//! allows it, for any table's models (the published
//! [`modelstudio_limits::Model`], an enum `limits-codegen` generated, or a
//! run-time table's entries: anything [`HasLimits`]). Its state lives in
//! the process ([`Throttle::in_process`]) or, with feature `redis`, in Redis
//! for a whole fleet (`Throttle::redis`); the API is the same, async and
//! never blocking its runtime. When the provider refuses a request anyway,
//! [`classify`] reads its answer and [`Throttle::report`] cools the key
//! down and lowers the limit that tripped, fleet-wide.
//!
//! A throttle applies one deployment mode's table (International unless
//! [`Throttle::for_deployment`] says otherwise) and keeps every kind of
//! limit the table holds: `rpm`, `tpm` and `rps` (as `60 × rps` a window,
//! paced per second) on synchronous calls ([`Throttle::acquire`]);
//! `submit_rps`, `submit_rpm` and `concurrency` on task submissions
//! ([`Throttle::submit`], whose [`Task`] holds a slot of the tasks in
//! flight until it ends); `query_rps` and the account's
//! [`TASK_QUERIES_PER_SECOND`] on task queries ([`Throttle::query`]); a
//! pooled budget on its pool's key ([`Throttle::acquire_pooled`]). A row
//! that limits only its task APIs, or says synchronous calls are
//! unlimited, lets synchronous calls pass uncounted; a model its table
//! does not list in the mode is refused with [`Refusal::NotListed`], a
//! row without any limit with [`Refusal::NoLimits`]: never admitted in
//! silence.
//!
//! ```
//! use std::time::Duration;
//! use limits_throttle::{classify, Config, Refusal, Throttle};
//! use modelstudio_limits::Model;
//!
//! # tokio::runtime::Builder::new_current_thread().enable_time().build().unwrap().block_on(async {
//! let throttle = Throttle::in_process(Config::default())?;
//!
//! // qwq-plus: 60 requests and 100,000 tokens per minute, so one request
//! // a second: the first goes at once, the next waits its turn (a second
//! // and the arrival margin, for requests that arrive closer together).
//! let permit = throttle.acquire(&Model::QwqPlus, 1_500, Duration::from_secs(60)).await?;
//! // ... call the model; its response reports the tokens it used:
//! permit.reconcile(1_234).await?;
//! match throttle.acquire(&Model::QwqPlus, 1_500, Duration::ZERO).await {
//!     Err(Refusal::RetryAfter(wait)) => {
//!         assert!(wait <= Duration::from_secs(1) + Config::default().arrival_margin)
//!     }
//!     other => panic!("{other:?}"),
//! }
//!
//! // The provider said 429 anyway: cool down, and lower the limit that tripped.
//! let body = br#"{"code": "Throttling.RateQuota", "message": "Requests rate limit exceeded"}"#;
//! if let Some(tripped) = classify(429, body) {
//!     throttle.report(&Model::QwqPlus, tripped).await?;
//! }
//! let now = throttle.effective(&Model::QwqPlus).await?.expect("enforced");
//! assert_eq!(now.per_window.rpm(), Some(54));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! # }).unwrap();
//! ```
//!
//! # How it is built
//!
//! Layers, each using only those below it (a contributor's map; the
//! modules are private):
//!
//! ```text
//! tasks and pools    submit, query, acquire_pooled, Task             tasks
//! throttle           configuration, keys, limits, waits; Permit      throttle, permit
//! stores             one interface: in process | shared (Redis)      store, local, redis
//! admission rules    pure, on a clock of microseconds                admission
//! ```
//!
//! Beside them, used by every layer and using no layer: `config`, `clock`,
//! `refusal`, `classify`, `observe`. Feature `redis` adds a shared store
//! (and its constructors); the layers above do not change with it.
#![warn(missing_docs)]

mod admission;
mod classify;
mod clock;
mod config;
mod local;
pub mod observe;
mod permit;
#[cfg(feature = "redis")]
pub mod redis;
mod refusal;
mod store;
mod tasks;
mod throttle;

pub use classify::{classify, Tripped};
pub use clock::{Clock, FakeClock, MonotonicClock, TokioClock};
pub use config::{Adaptation, Config, ConfigError, Pacing, DEFAULT_ARRIVAL_MARGIN};
pub use modelstudio_limits::{Deployment, HasLimits, Limits};
pub use permit::Permit;
pub use refusal::{Refusal, StoreError, StoreErrorKind};
pub use tasks::{Task, UnknownTaskModel, TASK_QUERIES_PER_SECOND};
pub use throttle::{Effective, Throttle, DEFAULT_ACCOUNT, DEFAULT_DEPLOYMENT};
