//! A made-up provider's rate limits as types: `acme.toml` turned into
//! [`AcmeModel`] and [`AcmeSection`] by `limits_codegen::Builder` in this
//! crate's `build.rs`. The enums get the same API as
//! `modelstudio_limits::Model` (const `limits_in()`, `FromStr` with
//! aliases, serde), plus the derives and attributes the build script asks
//! for. `acme.toml` is a schema 1 file: its limits hold in every
//! deployment mode.
//!
//! ```
//! use acme_limits::AcmeModel;
//! use modelstudio_limits::{Deployment, Limits, Usage};
//!
//! let model: AcmeModel = "acme-large".parse().unwrap(); // an alias
//! assert_eq!(model, AcmeModel::AcmeLarge2026_10_01);
//! let limits = model.limits_in(Deployment::INTERNATIONAL).unwrap();
//! assert_eq!(limits, Limits::NONE.with_rpm(3_000).with_tpm(2_000_000));
//! assert!(limits.check(Usage { requests: 3_001, tokens: 0 }).is_err());
//! ```
#![warn(missing_docs)]

/// The generated code, in a module of its own as the Builder asks.
mod generated {
    include!(concat!(env!("OUT_DIR"), "/acme.rs"));
}

pub use generated::{AcmeModel, AcmeSection, SOURCE};
