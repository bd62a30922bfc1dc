//! Feature `runtime`: tables loaded while the program runs, for limits that
//! are known only then (an account's raised limits, another provider's
//! table), through the same parser and validator as `limits check`.
//!
//! ```
//! use modelstudio_limits::runtime::LimitTable;
//! use modelstudio_limits::{Limits, Model};
//!
//! // Our account has qwen-max raised; everything else is as published.
//! let overrides = r#"
//! schema = 1
//! [source]
//! provider = "Alibaba Cloud Model Studio (account 1234)"
//! url = "https://example.com/our-quota-ticket"
//!
//! [[section]]
//! id = "raised"
//! title = "Raised limits"
//!
//! [[section.group]]
//! qpm = 1_200
//! tpm = 2_000_000
//! models = ["qwen-max"]
//! "#;
//! let table = LimitTable::published_with_overrides(overrides).unwrap();
//! assert_eq!(table.limits_for("qwen-max"), Some(Limits { qpm: 1_200, tpm: 2_000_000 }));
//! assert_eq!(table.limits(Model::QwenMax), Some(Limits { qpm: 1_200, tpm: 2_000_000 }));
//! // Aliases work; unlisted models keep the published limits.
//! assert_eq!(table.limits_for("qwen-max-0125"), Some(Limits { qpm: 60, tpm: 100_000 }));
//! assert_eq!(table.limits_for("gpt-4"), None);
//!
//! // Mistakes come back located, as `limits check` prints them.
//! let bad = overrides.replace("qpm = 1_200", "qpm = -1");
//! let error = LimitTable::from_toml_str("overrides.toml", &bad).unwrap_err();
//! assert!(error.to_string().contains("--> overrides.toml:12:7"));
//! ```

extern crate std;

use std::collections::HashMap;
use std::fmt;
use std::path::Path;
use std::string::{String, ToString};
use std::vec::Vec;

/// The errors of loading: the findings of a refused file ([`Report`]) and
/// a file that could not be read or was refused ([`LoadError`]). They are
/// limits-format's, re-exported because this module returns them.
pub use limits_format::{LoadError, Report};

use crate::{Limits, Model};

/// One model of a [`LimitTable`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Entry {
    /// The canonical id.
    pub id: String,
    /// Other names of the model.
    pub aliases: Vec<String>,
    /// Its queries- and tokens-per-minute limits.
    pub limits: Limits,
    /// The id of the section that lists it.
    pub section: String,
}

impl crate::HasLimits for Entry {
    fn id(&self) -> &str {
        &self.id
    }
    fn limits(&self) -> Limits {
        self.limits
    }
}

/// A rate-limit table held in memory: every model's limits by id or alias.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct LimitTable {
    entries: Vec<Entry>,
    /// Every id and alias, to its entry.
    index: HashMap<String, usize>,
}

impl LimitTable {
    /// Parses and validates a limits file held in memory (the format of
    /// `limits.toml`); `origin` names it in the findings, which render as
    /// `limits check` prints them.
    pub fn from_toml_str(origin: &str, text: &str) -> Result<LimitTable, Report> {
        limits_format::parse(origin, text).map(LimitTable::from_validated)
    }

    /// Reads and validates a limits file; the error names the file and
    /// renders its findings (or says why it could not be read).
    pub fn read(path: impl AsRef<Path>) -> Result<LimitTable, LoadError> {
        limits_format::read(path).map(LimitTable::from_validated)
    }

    fn from_validated(table: limits_format::Table) -> LimitTable {
        let mut out = LimitTable::default();
        for row in table.models() {
            out.push(Entry {
                id: row.model.id.clone(),
                aliases: row.model.aliases.clone(),
                limits: Limits {
                    qpm: row.group.qpm,
                    tpm: row.group.tpm,
                },
                section: row.section.id.clone(),
            });
        }
        out
    }

    /// The table this crate was built with ([`Model::ALL`]).
    pub fn published() -> LimitTable {
        let mut out = LimitTable::default();
        for &model in Model::ALL {
            out.push(Entry {
                id: model.id().to_string(),
                aliases: model.aliases().iter().map(|a| a.to_string()).collect(),
                limits: model.limits(),
                section: model.section().id().to_string(),
            });
        }
        out
    }

    /// The published table with the overrides of a limits file applied
    /// (see [`LimitTable::with_overrides`]); the findings name the file
    /// `overrides.toml`.
    pub fn published_with_overrides(overrides: &str) -> Result<LimitTable, OverridesError> {
        let overrides = LimitTable::from_toml_str("overrides.toml", overrides)
            .map_err(OverridesError::Invalid)?;
        LimitTable::published().with_overrides(&overrides)
    }

    /// This table changed only where `overrides` lists a model: a model
    /// found by its id (or else by one of its aliases) takes the limits of
    /// the overrides, and their new aliases; a model not found is added.
    /// An alias of the overrides that names another model here is an
    /// error, as it would be within one file.
    pub fn with_overrides(mut self, overrides: &LimitTable) -> Result<LimitTable, OverridesError> {
        for entry in &overrides.entries {
            let names = || std::iter::once(&entry.id).chain(&entry.aliases);
            let target = names().find_map(|name| self.index.get(name.as_str()).copied());
            for name in names() {
                if let (Some(&other), Some(target)) = (self.index.get(name.as_str()), target) {
                    if other != target {
                        return Err(OverridesError::Conflict {
                            name: name.clone(),
                            model: entry.id.clone(),
                            other: self.entries[other].id.clone(),
                        });
                    }
                }
            }
            match target {
                Some(i) => {
                    self.entries[i].limits = entry.limits;
                    for name in names() {
                        if self.index.insert(name.clone(), i).is_none() {
                            self.entries[i].aliases.push(name.clone());
                        }
                    }
                }
                None => self.push(entry.clone()),
            }
        }
        Ok(self)
    }

    /// The limits of a model of the published table, looked up here by its
    /// id (or else one of its aliases); `None` if this table lacks it.
    pub fn limits(&self, model: Model) -> Option<Limits> {
        self.limits_for(model.id())
            .or_else(|| model.aliases().iter().find_map(|a| self.limits_for(a)))
    }

    /// The limits of the model with this id or alias (exact,
    /// case-sensitive).
    pub fn limits_for(&self, name: &str) -> Option<Limits> {
        self.get(name).map(|entry| entry.limits)
    }

    /// The model with this id or alias.
    pub fn get(&self, name: &str) -> Option<&Entry> {
        self.index.get(name).map(|&i| &self.entries[i])
    }

    /// Every model, in table order (models added by overrides last).
    pub fn iter(&self) -> std::slice::Iter<'_, Entry> {
        self.entries.iter()
    }

    /// The number of models.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether the table has no model.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    fn push(&mut self, entry: Entry) {
        let i = self.entries.len();
        for name in std::iter::once(&entry.id).chain(&entry.aliases) {
            self.index.insert(name.clone(), i);
        }
        self.entries.push(entry);
    }
}

impl<'a> IntoIterator for &'a LimitTable {
    type Item = &'a Entry;
    type IntoIter = std::slice::Iter<'a, Entry>;

    fn into_iter(self) -> Self::IntoIter {
        self.iter()
    }
}

/// Why overrides could not be applied.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub enum OverridesError {
    /// The overrides are not a valid limits file; `Display` is the
    /// report's.
    Invalid(Report),
    /// A name of the overrides already names another model.
    Conflict {
        /// The id or alias.
        name: String,
        /// The model of the overrides that has it.
        model: String,
        /// The model it names in the table.
        other: String,
    },
}

impl fmt::Display for OverridesError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            OverridesError::Invalid(report) => fmt::Display::fmt(report, f),
            OverridesError::Conflict { name, model, other } => write!(
                f,
                "`{name}`, a name of `{model}` in the overrides, already names `{other}`"
            ),
        }
    }
}

impl std::error::Error for OverridesError {}
