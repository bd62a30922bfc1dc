//! How much of a limit to use, and how much of it at once.

use std::fmt;

use modelstudio_limits::Limits;

/// Settings shared by every limiter of a throttle.
#[derive(Copy, Clone, Debug, PartialEq)]
pub struct Config {
    /// The fraction of each limit to use, in `(0, 1]`; e.g. `0.8` keeps 20%
    /// for other clients of the account. Default `1.0`.
    pub headroom: f64,
    /// The fraction of the (headroom-reduced) limit that may be spent at
    /// once, in `(0, 1]`. Default `0.1`.
    ///
    /// The throttle guarantees that no 60-second window admits more than the
    /// limit; a burst of `b` units therefore leaves `limit - b + 1` units per
    /// minute for a steady flow. A larger burst serves spiky traffic, a
    /// smaller one a steady flow. One request's tokens may never exceed the
    /// token burst.
    pub burst: f64,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            headroom: 1.0,
            burst: 0.1,
        }
    }
}

/// A [`Config`] value out of its range.
#[derive(Copy, Clone, Debug, PartialEq)]
pub struct ConfigError {
    field: &'static str,
    value: f64,
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "throttle config: `{}` is {}, expected a number in (0, 1]",
            self.field, self.value
        )
    }
}

impl std::error::Error for ConfigError {}

impl Config {
    /// Checks both fractions.
    pub fn validate(&self) -> Result<(), ConfigError> {
        for (field, value) in [("headroom", self.headroom), ("burst", self.burst)] {
            if !(value > 0.0 && value <= 1.0) {
                return Err(ConfigError { field, value });
            }
        }
        Ok(())
    }
}

/// One dimension (requests or tokens) of a limit, ready for the GCRA.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct Dimension {
    /// The provider's limit per minute.
    pub limit: u32,
    /// The limit after headroom: what any 60-second window may admit.
    pub effective: u64,
    /// The most units admitted at once.
    pub burst: u64,
    /// Nanoseconds of "theoretical time" one unit costs:
    /// `ceil(60 s / (effective - burst + 1))`.
    pub ns_per_unit: u64,
}

/// A minute, in nanoseconds.
pub const MINUTE_NS: u64 = 60_000_000_000;

impl Dimension {
    fn new(limit: u32, config: &Config) -> Self {
        // Float to integer: both fractions are in (0, 1], so the products
        // are in [0, limit]; at least 1 unit is always allowed.
        let effective =
            ((limit as f64 * config.headroom).floor() as u64).clamp(1, limit.max(1) as u64);
        let burst = ((effective as f64 * config.burst).floor() as u64).clamp(1, effective);
        let rate = effective - burst + 1;
        Dimension {
            limit,
            effective,
            burst,
            ns_per_unit: MINUTE_NS.div_ceil(rate),
        }
    }

    /// The theoretical time `units` cost.
    pub fn cost_ns(&self, units: u64) -> u64 {
        units.saturating_mul(self.ns_per_unit)
    }

    /// How far ahead of now the theoretical arrival time may run.
    pub fn tolerance_ns(&self) -> u64 {
        self.cost_ns(self.burst)
    }
}

/// Both dimensions of a model's limits.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct Rates {
    /// Queries per minute.
    pub requests: Dimension,
    /// Tokens per minute.
    pub tokens: Dimension,
}

impl Rates {
    /// The rates of `limits` under `config`.
    pub fn new(limits: Limits, config: &Config) -> Result<Self, ConfigError> {
        config.validate()?;
        Ok(Rates {
            requests: Dimension::new(limits.qpm, config),
            tokens: Dimension::new(limits.tpm, config),
        })
    }
}
