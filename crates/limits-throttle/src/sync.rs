//! The atomics and the mutex of the lock-free parts (`slots`, the lease
//! words of `local`): std's, or loom's under `--cfg limits_loom`, so that
//! loom explores their interleavings (`RUSTFLAGS="--cfg limits_loom" cargo
//! test -p limits-throttle --lib loom`; a cfg of our own, as Tokio and
//! others read `cfg(loom)` for their own models).

#[cfg(limits_loom)]
pub(crate) use loom::sync::atomic::{AtomicPtr, AtomicU64};
#[cfg(limits_loom)]
pub(crate) use loom::sync::{Mutex, MutexGuard};
#[cfg(not(limits_loom))]
pub(crate) use std::sync::atomic::{AtomicPtr, AtomicU64};
#[cfg(not(limits_loom))]
pub(crate) use std::sync::{Mutex, MutexGuard};
