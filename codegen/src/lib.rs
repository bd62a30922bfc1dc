//! Generates typed Rust from a `limits.toml` rate-limit table (the format
//! of [`limits_format`]): a model enum with `const` limits per deployment
//! mode (one line per model and mode), a `const fn` lookup by id or alias,
//! `FromStr`, and serde. Schema 1 tables (this example) hold in every mode.
//!
//! The stages: [`limits_format`] reads and validates the file; `emit`
//! (quote) turns the validated table into tokens, one item at a time;
//! `pretty` (syn + prettyplease) formats them under an "@generated" header.
//! [`Builder`] holds the options and is the entry point of build scripts;
//! [`Builder::generate`] is the pure step (table in, source text out).
//!
//! ```
//! let input = r#"
//! schema = 1
//! [source]
//! provider = "Example"
//! url = "https://example.com/limits"
//!
//! [[section]]
//! id = "chat"
//! title = "Chat models"
//!
//! [[section.group]]
//! qpm = 60
//! tpm = 100_000
//! models = ["chat-small", { id = "chat-large-2025-01-01", aliases = ["chat-large"] }]
//! "#;
//! let table = limits_format::parse("limits.toml", input).unwrap();
//! let code = limits_codegen::Builder::new()
//!     .model_enum("ChatModel")
//!     .generate(&table)
//!     .unwrap();
//! assert!(code.starts_with("// @generated"));
//! assert!(code.contains("ChatLarge2025_01_01"));
//! assert!(code.contains("pub const fn limits_in("));
//! ```
#![warn(missing_docs)]

mod builder;
mod emit;
#[allow(dead_code)] // also compiled into generated code, where all is used
mod lookup_fns;
mod markdown;
mod phash;
mod pretty;
mod write;

pub use builder::{BuildError, Builder, Built, Lookup, Serde, DERIVES, IMPLEMENTED};
pub use write::{write_if_changed, WriteOutcome};
