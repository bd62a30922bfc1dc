//! Time sources: the monotonic clock, and a fake one for tests.

use std::any::Any;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

/// A source of time in nanoseconds since an arbitrary origin, never going
/// backwards.
pub trait Clock: Send + Sync + 'static {
    /// Nanoseconds since the clock's origin.
    fn now_ns(&self) -> u64;
}

/// The process's monotonic clock, counted from its creation. It reads the
/// CPU's time-stamp counter through `quanta` where that is reliable
/// (cheaper than `Instant::now`), and the OS's monotonic clock elsewhere.
#[derive(Clone, Debug)]
pub struct MonotonicClock {
    clock: quanta::Clock,
    /// The clock's raw reading at the origin.
    origin: u64,
}

impl MonotonicClock {
    /// A clock whose origin is now.
    pub fn new() -> Self {
        let clock = quanta::Clock::new();
        let origin = clock.raw();
        MonotonicClock { clock, origin }
    }
}

impl Default for MonotonicClock {
    fn default() -> Self {
        Self::new()
    }
}

impl Clock for MonotonicClock {
    #[inline]
    fn now_ns(&self) -> u64 {
        // 0 for a reading before the origin (another core's counter).
        self.clock.delta_as_nanos(self.origin, self.clock.raw())
    }
}

/// A clock that moves only when told to; clones share one time.
#[derive(Clone, Debug, Default)]
pub struct FakeClock {
    now: Arc<AtomicU64>,
}

impl FakeClock {
    /// A fake clock at 0.
    pub fn new() -> Self {
        Self::default()
    }

    /// Moves the clock forward.
    pub fn advance(&self, by: Duration) {
        let ns = u64::try_from(by.as_nanos()).unwrap_or(u64::MAX);
        self.now.fetch_add(ns, Ordering::SeqCst);
    }

    /// Sets the clock (it may not go backwards: an earlier time is ignored).
    pub fn set_ns(&self, ns: u64) {
        self.now.fetch_max(ns, Ordering::SeqCst);
    }
}

impl Clock for FakeClock {
    fn now_ns(&self) -> u64 {
        self.now.load(Ordering::SeqCst)
    }
}

/// A clock as the in-process store holds it: the monotonic clock called
/// directly (every admission reads it), any other through its trait object.
#[derive(Clone)]
pub(crate) enum StoreClock {
    Monotonic(MonotonicClock),
    Other(Arc<dyn Clock>),
}

impl StoreClock {
    pub fn new(clock: impl Clock) -> Self {
        match (&clock as &dyn Any).downcast_ref::<MonotonicClock>() {
            Some(monotonic) => StoreClock::Monotonic(monotonic.clone()),
            None => StoreClock::Other(Arc::new(clock)),
        }
    }

    #[inline]
    pub fn now_ns(&self) -> u64 {
        match self {
            StoreClock::Monotonic(clock) => clock.now_ns(),
            StoreClock::Other(clock) => clock.now_ns(),
        }
    }
}
