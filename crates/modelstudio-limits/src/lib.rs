//! Alibaba Cloud Model Studio (DashScope) rate limits as types.
//!
//! Model Studio throttles every model per account, over all of the account's
//! API keys, at a queries-per-minute (QPM) and a tokens-per-minute (TPM)
//! threshold; a request fails when either is exceeded. This crate holds the
//! provider's published table as a [`Model`] enum with `const` lookups.
//!
//! ```
//! use modelstudio_limits::{Limits, Model, Usage};
//!
//! let model: Model = "qwen-max-0125".parse().unwrap(); // an alias
//! assert_eq!(model, Model::QwenMax2025_01_25);
//! assert_eq!(model.id(), "qwen-max-2025-01-25");
//! assert_eq!(model.limits(), Limits { qpm: 60, tpm: 100_000 });
//!
//! // Would one more minute like this be throttled?
//! let usage = Usage { requests: 61, tokens: 90_000 };
//! let exceeded = model.limits().check(usage).unwrap_err();
//! assert_eq!(exceeded.requests.unwrap().excess(), 1);
//! assert!(exceeded.tokens.is_none());
//!
//! // Limits are `const`.
//! const TURBO: Limits = Model::QwenTurbo.limits();
//! assert_eq!(TURBO.tpm, 5_000_000);
//! ```
//!
//! The table lives in `limits.toml` at the top of the repository; the code
//! in `generated.rs` is generated from it by `limits gen` and checked in, so
//! building this crate needs no build script and no dependency.
//!
//! Feature `serde`: [`Model`] serializes as its id and deserializes from an
//! id or an alias.
#![no_std]
#![warn(missing_docs)]

use core::fmt;
use core::str::FromStr;

mod generated;
#[cfg(feature = "serde")]
mod serde_impls;

pub use generated::{Model, Section, SOURCE};

/// A model's limits: queries and tokens per minute, per account.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub struct Limits {
    /// Queries (requests) per minute.
    pub qpm: u32,
    /// Tokens consumed per minute.
    pub tpm: u32,
}

/// What was (or is about to be) used in one minute.
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct Usage {
    /// Requests in the minute.
    pub requests: u64,
    /// Tokens in the minute (input and output).
    pub tokens: u64,
}

/// One limit that a [`Usage`] goes over.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub struct Overage {
    /// The limit.
    pub limit: u32,
    /// What the usage amounts to.
    pub used: u64,
}

impl Overage {
    /// By how much the usage is over the limit (at least 1).
    pub const fn excess(self) -> u64 {
        self.used - self.limit as u64
    }
}

/// Which limits a [`Usage`] exceeds, and by how much. At least one of the
/// two is `Some`.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub struct Exceeded {
    /// Set when the requests exceed the QPM limit.
    pub requests: Option<Overage>,
    /// Set when the tokens exceed the TPM limit.
    pub tokens: Option<Overage>,
}

impl Limits {
    /// Checks one minute's usage against both limits. Exactly at a limit
    /// passes; above it is throttled.
    ///
    /// ```
    /// use modelstudio_limits::{Limits, Usage};
    /// let limits = Limits { qpm: 60, tpm: 100_000 };
    /// assert!(limits.check(Usage { requests: 60, tokens: 100_000 }).is_ok());
    /// let both = limits.check(Usage { requests: 61, tokens: 100_001 }).unwrap_err();
    /// assert!(both.requests.is_some() && both.tokens.is_some());
    /// ```
    pub const fn check(self, usage: Usage) -> Result<(), Exceeded> {
        let requests = over(self.qpm, usage.requests);
        let tokens = over(self.tpm, usage.tokens);
        if requests.is_none() && tokens.is_none() {
            Ok(())
        } else {
            Err(Exceeded { requests, tokens })
        }
    }
}

const fn over(limit: u32, used: u64) -> Option<Overage> {
    if used > limit as u64 {
        Some(Overage { limit, used })
    } else {
        None
    }
}

impl fmt::Display for Exceeded {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut sep = "";
        if let Some(o) = self.requests {
            write!(
                f,
                "{} requests exceed the limit of {} per minute by {}",
                o.used,
                o.limit,
                o.excess()
            )?;
            sep = "; ";
        }
        if let Some(o) = self.tokens {
            write!(
                f,
                "{sep}{} tokens exceed the limit of {} per minute by {}",
                o.used,
                o.limit,
                o.excess()
            )?;
        }
        Ok(())
    }
}

impl core::error::Error for Exceeded {}

/// Where a table comes from.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub struct Source {
    /// Who publishes the limits.
    pub provider: &'static str,
    /// The page the limits were read from.
    pub url: &'static str,
    /// The deployment region the limits apply to.
    pub region: Option<&'static str>,
    /// When the page was read (`YYYY-MM-DD`).
    pub retrieved: Option<&'static str>,
    /// Notes on how the limits apply.
    pub note: Option<&'static str>,
}

/// The error of parsing a string that is no model's id or alias.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub struct UnknownModel {
    _private: (),
}

impl fmt::Display for UnknownModel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("unknown model: not an id or alias of the Model Studio rate-limit table")
    }
}

impl core::error::Error for UnknownModel {}

impl FromStr for Model {
    type Err = UnknownModel;

    /// Parses an id or an alias, exactly (case-sensitive).
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Model::from_id(s).ok_or(UnknownModel { _private: () })
    }
}

impl TryFrom<&str> for Model {
    type Error = UnknownModel;

    fn try_from(s: &str) -> Result<Self, Self::Error> {
        s.parse()
    }
}

impl fmt::Display for Model {
    /// Writes the canonical id.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.id())
    }
}

impl AsRef<str> for Model {
    fn as_ref(&self) -> &str {
        self.id()
    }
}

impl fmt::Display for Section {
    /// Writes the section's title.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.title())
    }
}
