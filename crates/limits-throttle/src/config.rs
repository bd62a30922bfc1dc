//! How much of a limit to use, how to pace it, and how to react to the
//! provider's refusals.

use std::fmt;
use std::time::Duration;

/// Settings shared by every key of a throttle.
///
/// The default paces requests the way Model Studio enforces its limits: no
/// window of 60 s admits more than the limits, no window of 1 s more than
/// a sixtieth of them (see [`Pacing::PerSecond`]), and the steady rate may
/// use the whole limit.
#[derive(Copy, Clone, Debug, PartialEq)]
#[non_exhaustive]
pub struct Config {
    /// The fraction of each limit to use, in `(0, 1]`; e.g. `0.8` keeps 20%
    /// for other clients of the account. Default `1.0`.
    pub headroom: f64,
    /// How much of a minute's limit may be spent at once. Default
    /// [`Pacing::PerSecond`].
    pub pacing: Pacing,
    /// The length of the provider's "minute". Default 60 s; tests and
    /// simulators run a shorter one, and every other window (the "second"
    /// of [`Pacing::PerSecond`], the recovery of [`Adaptation`]) scales with
    /// it.
    pub window: Duration,
    /// How the throttle reacts when the provider refuses a request anyway.
    pub adaptation: Adaptation,
    /// How long a call waits at most for the limits before it gives up
    /// with [`Refusal::RetryAfter`](crate::Refusal), where the caller
    /// leaves it to the throttle's settings: `limits-reqwest`'s middleware
    /// passes it as the `max_wait` of
    /// [`Throttle::acquire`](crate::Throttle::acquire) and its siblings.
    /// Default 60 s.
    pub max_wait: Duration,
    /// The account's monthly spend tier, 0 the lowest: a dynamic limit's
    /// TPM is that tier's (the highest tier the row lists, if fewer).
    /// Default 0, the floor every account is guaranteed; a dynamic limit
    /// still adapts to the provider's refusals.
    pub spend_tier: usize,
    /// What the per-second rules add to a "second": requests admitted a
    /// second apart may arrive closer together (a client descheduled
    /// between admission and send), and the provider counts arrivals.
    /// Default 10 ms (see [`DEFAULT_ARRIVAL_MARGIN`]); more than a "second"
    /// (a sixtieth of `window`) counts as a "second".
    pub arrival_margin: Duration,
    /// How early a request may take its place on the schedule of
    /// [`Pacing::PerSecond`]: what makes up for late wake-ups, and the
    /// largest burst after a pause. `None` (the default): a twentieth of
    /// the "second", 50 ms at a 60 s window. `Some(Duration::ZERO)` spaces
    /// each request from the one before as it was admitted.
    pub schedule_tolerance: Option<Duration>,
}

/// The default [`Config::arrival_margin`]: 10 ms, twice the gap between
/// admission and arrival that let a 429 through on a loaded two-core
/// machine (BENCHMARKS.md §8); it costs 1% of a limit where the
/// per-second rule binds.
pub const DEFAULT_ARRIVAL_MARGIN: Duration = Duration::from_millis(10);

impl Default for Config {
    fn default() -> Self {
        Config {
            headroom: 1.0,
            pacing: Pacing::PerSecond,
            window: Duration::from_secs(60),
            adaptation: Adaptation::default(),
            max_wait: Duration::from_secs(60),
            spend_tier: 0,
            arrival_margin: DEFAULT_ARRIVAL_MARGIN,
            schedule_tolerance: None,
        }
    }
}

impl Config {
    /// These settings with another headroom.
    pub fn with_headroom(self, headroom: f64) -> Self {
        Config { headroom, ..self }
    }

    /// These settings with another pacing.
    pub fn with_pacing(self, pacing: Pacing) -> Self {
        Config { pacing, ..self }
    }

    /// These settings with another window length (a "minute").
    pub fn with_window(self, window: Duration) -> Self {
        Config { window, ..self }
    }

    /// These settings with another reaction to the provider's refusals.
    pub fn with_adaptation(self, adaptation: Adaptation) -> Self {
        Config { adaptation, ..self }
    }

    /// These settings with the account's spend tier (0 the lowest), whose
    /// TPM a dynamic limit takes.
    pub fn with_spend_tier(self, spend_tier: usize) -> Self {
        Config { spend_tier, ..self }
    }

    /// These settings with another arrival margin (zero: none).
    pub fn with_arrival_margin(self, arrival_margin: Duration) -> Self {
        Config {
            arrival_margin,
            ..self
        }
    }

    /// These settings with another schedule tolerance (see
    /// [`Config::schedule_tolerance`]; more than a "second" counts as one).
    pub fn with_schedule_tolerance(self, tolerance: Duration) -> Self {
        Config {
            schedule_tolerance: Some(tolerance),
            ..self
        }
    }

    /// These settings with another longest wait ([`Config::max_wait`]).
    pub fn with_max_wait(self, max_wait: Duration) -> Self {
        Config { max_wait, ..self }
    }

    /// Checks every field; the error names the first one out of range.
    pub fn validate(&self) -> Result<(), ConfigError> {
        let fraction = |field, value: f64| {
            if value > 0.0 && value <= 1.0 {
                Ok(())
            } else {
                Err(ConfigError {
                    field,
                    value: value.to_string(),
                    expected: "a number in (0, 1]",
                })
            }
        };
        fraction("headroom", self.headroom)?;
        if let Pacing::Bursty { burst } = self.pacing {
            fraction("pacing.burst", burst)?;
        }
        let a = &self.adaptation;
        fraction("adaptation.decrease", a.decrease)?;
        fraction("adaptation.floor", a.floor)?;
        fraction("adaptation.recovery", a.recovery)?;
        let micros = self.window.as_micros();
        if !(60..=u128::from(u32::MAX)).contains(&micros) {
            return Err(ConfigError {
                field: "window",
                value: format!("{:?}", self.window),
                expected: "a duration from 60 us to about 71 minutes",
            });
        }
        if a.cooldown > Duration::from_secs(3_600) {
            return Err(ConfigError {
                field: "adaptation.cooldown",
                value: format!("{:?}", a.cooldown),
                expected: "at most an hour",
            });
        }
        Ok(())
    }
}

/// How much of a minute's limit may be spent at once.
#[derive(Copy, Clone, Debug, PartialEq)]
#[non_exhaustive]
pub enum Pacing {
    /// As the provider enforces: per key, every window of 60 s admits at most
    /// the limits (after headroom); every window of 1 s (and the arrival
    /// margin) admits at most `ceil(RPM / 60)` requests, and tokens up to
    /// `ceil(TPM / 60)`, or a single request larger than that alone;
    /// requests take places on a schedule, `60 s / RPM` apart, each up to
    /// 50 ms early (a twentieth of the "second"), so a fleet that starts
    /// together does not burst and a late wake-up is made up.
    PerSecond,
    /// Only the 60-second windows are kept exactly; within them, up to the
    /// fraction `burst` of a minute's limits (at least a second's share) may
    /// go at once. Serves spiky traffic, at the risk of the provider's
    /// per-second enforcement and burst protection.
    Bursty {
        /// The fraction of a minute's limits admitted at once, in `(0, 1]`.
        burst: f64,
    },
}

/// How the throttle reacts to a rate-limit refusal reported with
/// [`Throttle::report`](crate::Throttle::report): the key stops admitting
/// for `cooldown`, and the refused dimension's limit is multiplied by
/// `decrease` (not below `floor` of it), then recovers by `recovery` of the
/// limit per window. Reports during a cool-down change nothing more, so a
/// fleet that sees one episode many times backs off once.
///
/// The defaults make a lone 429 (jitter, a late arrival) cheap and a run
/// of them converge: one report costs the cool-down (a sixtieth of the
/// window at the default 1 s) and a 10% decrease regained in half a
/// window, `0.1² / (2 × 0.2) = 0.025` of a window's quota, about 0.04 of
/// it in all (at most a tenth, `tests/it/adaptation.rs`); an account whose
/// real limit is lower gets a 10% decrease per cool-down until its 429s
/// stop (half the limit after 7), then regains 20% a window and finds the
/// limit again.
#[derive(Copy, Clone, Debug, PartialEq)]
#[non_exhaustive]
pub struct Adaptation {
    /// How long nobody sends after a refusal. Default 1 s.
    pub cooldown: Duration,
    /// The factor applied to the effective limit per refusal, in `(0, 1]`
    /// (`1` turns adaptation off). Default `0.9`.
    pub decrease: f64,
    /// The lowest fraction of the limit it decreases to, in `(0, 1]`.
    /// Default `0.1`.
    pub floor: f64,
    /// The fraction of the limit regained per window, in `(0, 1]`. Default
    /// `0.2`.
    pub recovery: f64,
}

impl Default for Adaptation {
    fn default() -> Self {
        Adaptation {
            cooldown: Duration::from_secs(1),
            decrease: 0.9,
            floor: 0.1,
            recovery: 0.2,
        }
    }
}

impl Adaptation {
    /// This reaction with another cool-down (e.g. a sixtieth of a shortened
    /// window).
    pub fn with_cooldown(self, cooldown: Duration) -> Self {
        Adaptation { cooldown, ..self }
    }

    /// No cool-down and no decrease: reports change nothing.
    pub fn off() -> Self {
        Adaptation {
            cooldown: Duration::ZERO,
            decrease: 1.0,
            floor: 1.0,
            recovery: 1.0,
        }
    }
}

/// A [`Config`] field out of its range.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConfigError {
    field: &'static str,
    value: String,
    expected: &'static str,
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "throttle config: `{}` is {}, expected {}",
            self.field, self.value, self.expected
        )
    }
}

impl std::error::Error for ConfigError {}
