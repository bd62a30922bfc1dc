//! Time sources: the monotonic clock, Tokio's (pausable) clock, and a
//! fake one for tests.

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

/// Tokio's clock (`tokio::time::Instant`), counted from its creation: the
/// clock the throttle's waits sleep on. Under a paused Tokio clock (tokio's
/// `test-util`, `#[tokio::test(start_paused = true)]`) the throttle's time
/// then moves only as the runtime's does, so a test or a simulation of
/// minutes takes no time and does not depend on the machine's speed. Make
/// and read it inside the runtime (outside one, Tokio's clock is the
/// system's monotonic clock).
///
/// ```
/// use std::time::Duration;
/// use limits_throttle::{Config, Throttle, TokioClock};
/// use modelstudio_limits::Model;
///
/// # tokio::runtime::Builder::new_current_thread().enable_time().start_paused(true).build().unwrap().block_on(async {
/// let throttle = Throttle::in_process_with_clock(Config::default(), TokioClock::new())?;
/// let started = tokio::time::Instant::now();
/// for _ in 0..3 {
///     // qwq-plus: one request a second; the paused clock jumps to each turn.
///     drop(throttle.acquire(&Model::QwqPlus, 1, Duration::from_secs(60)).await?);
/// }
/// assert!(started.elapsed() >= Duration::from_secs(2));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// # }).unwrap();
/// ```
#[derive(Clone, Debug)]
pub struct TokioClock {
    origin: tokio::time::Instant,
}

impl TokioClock {
    /// A clock whose origin is Tokio's now.
    pub fn new() -> Self {
        TokioClock {
            origin: tokio::time::Instant::now(),
        }
    }
}

impl Default for TokioClock {
    fn default() -> Self {
        Self::new()
    }
}

impl Clock for TokioClock {
    fn now_ns(&self) -> u64 {
        u64::try_from(self.origin.elapsed().as_nanos()).unwrap_or(u64::MAX)
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
