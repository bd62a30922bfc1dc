//! Feature `runtime`: tables loaded while the program runs, for limits that
//! are known only then (an account's raised limits, another provider's
//! table), through the same parser and validator as `limits check`.
//!
//! ```
//! use modelstudio_limits::runtime::LimitTable;
//! use modelstudio_limits::{Deployment, Limits, Model};
//!
//! // Our account has qwen-max raised in Mainland China; everything else is
//! // as published.
//! let overrides = r#"
//! schema = 2
//! [source]
//! provider = "Alibaba Cloud Model Studio (account 1234)"
//! url = "https://example.com/our-quota-ticket"
//!
//! [[section]]
//! id = "raised"
//! mode = "cn"
//! title = "Raised limits"
//!
//! [[section.group]]
//! rpm = 2_400
//! tpm = 2_000_000
//! models = ["qwen-max"]
//! "#;
//! let cn = Deployment::MAINLAND_CHINA;
//! let raised = Limits::NONE.with_rpm(2_400).with_tpm(2_000_000);
//! let table = LimitTable::published_with_overrides(overrides).unwrap();
//! assert_eq!(table.limits_for("qwen-max", cn), Some(raised));
//! assert_eq!(table.limits(Model::QwenMax, cn), Some(raised));
//! // Other modes, aliases and unlisted models keep the published limits.
//! let intl = Deployment::INTERNATIONAL;
//! assert_eq!(table.limits(Model::QwenMax, intl), Model::QwenMax.limits_in(intl));
//! assert_eq!(table.limits_for("qwen-plus-0125", cn), Model::QwenPlus2025_01_25.limits_in(cn));
//! assert_eq!(table.limits_for("gpt-4", cn), None);
//!
//! // Mistakes come back located, as `limits check` prints them.
//! let bad = overrides.replace("rpm = 2_400", "rpm = -1");
//! let error = LimitTable::from_toml_str("overrides.toml", &bad).unwrap_err();
//! assert!(error.to_string().contains("--> overrides.toml:13:7"));
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

use crate::{Deployment, Limits, Model};

/// One model of a [`LimitTable`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Entry {
    /// The canonical id.
    pub id: String,
    /// Other names of the model.
    pub aliases: Vec<String>,
    /// Its limits in each mode that lists it (a pool's, for a model listed
    /// only in a pooled budget there).
    pub limits: Vec<(Deployment, Limits)>,
    /// The pooled budgets the model takes part in, one per mode at most.
    pub pools: Vec<Budget>,
    /// The id of the section that first lists it.
    pub section: String,
}

impl Entry {
    /// The model's limits in a mode.
    pub fn limits_in(&self, deployment: Deployment) -> Option<Limits> {
        self.limits
            .iter()
            .find(|(d, _)| *d == deployment)
            .map(|(_, l)| *l)
    }

    /// Sets the limits of one mode (kept in mode order).
    fn set(&mut self, deployment: Deployment, limits: Limits) {
        match self.limits.iter_mut().find(|(d, _)| *d == deployment) {
            Some(slot) => slot.1 = limits,
            None => {
                self.limits.push((deployment, limits));
                self.limits.sort_by_key(|(d, _)| *d);
            }
        }
    }
}

impl crate::HasLimits for Entry {
    fn id(&self) -> &str {
        &self.id
    }
    fn limits_in(&self, deployment: Deployment) -> Option<Limits> {
        Entry::limits_in(self, deployment)
    }
    fn budget_in(&self, deployment: Deployment) -> Option<(&str, Limits)> {
        Budget::find(&self.pools, deployment)
    }
    fn pooled_per_api_key_in(&self, deployment: Deployment) -> bool {
        Budget::per_api_key(&self.pools, deployment)
    }
}

/// A pooled budget as a run-time table holds it: limits that several
/// models share in one mode.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Budget {
    /// The mode.
    pub deployment: Deployment,
    /// The pool's name in the table.
    pub name: String,
    /// Who shares it.
    pub per: crate::Per,
    /// The shared limits.
    pub limits: Limits,
}

impl Budget {
    /// The budget of `deployment` among `pools`, as
    /// [`HasLimits::budget_in`](crate::HasLimits::budget_in) gives it.
    pub fn find(pools: &[Budget], deployment: Deployment) -> Option<(&str, Limits)> {
        pools
            .iter()
            .find(|b| b.deployment == deployment)
            .map(|b| (b.name.as_str(), b.limits))
    }

    /// Whether the budget of `deployment` among `pools` is shared per API
    /// key.
    pub fn per_api_key(pools: &[Budget], deployment: Deployment) -> bool {
        pools
            .iter()
            .any(|b| b.deployment == deployment && b.per == crate::Per::ApiKey)
    }

    /// The budgets of a published model, in mode order.
    pub fn of(model: Model) -> Vec<Budget> {
        model
            .deployments()
            .iter()
            .filter_map(|&deployment| {
                model.pool_in(deployment).map(|p| Budget {
                    deployment,
                    name: p.name.to_string(),
                    limits: p.limits,
                    per: p.per,
                })
            })
            .collect()
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
            let g = &row.group.limits;
            let mut limits = Limits::NONE;
            if let Some(n) = g.rpm {
                limits = limits.with_rpm(n);
            }
            if let Some(n) = g.tpm {
                limits = limits.with_tpm(n);
            }
            if let Some(n) = g.rps {
                limits = limits.with_rps(n);
            }
            if let Some(n) = g.submit_rps {
                limits = limits.with_submit_rps(n);
            }
            if let Some(n) = g.submit_rpm {
                limits = limits.with_submit_rpm(n);
            }
            if let Some(n) = g.query_rps {
                limits = limits.with_query_rps(n);
            }
            if let Some(n) = g.concurrency {
                limits = limits.with_concurrency(n);
            }
            if g.sync_unlimited {
                limits = limits.with_sync_unlimited();
            }
            match &g.tpm_tiers {
                Some(tiers) => limits = limits.with_tpm_tiers(tiers),
                None if g.dynamic => limits = limits.with_dynamic(),
                None => {}
            }
            // A schema 1 row holds in every mode.
            let modes: Vec<Deployment> = match row.section.mode {
                Some(mode) => std::vec![convert(mode)],
                None => Deployment::ALL.to_vec(),
            };
            let i = match out.index.get(&row.model.id) {
                Some(&i) => i,
                None => {
                    out.push(Entry {
                        id: row.model.id.clone(),
                        aliases: Vec::new(),
                        limits: Vec::new(),
                        pools: Vec::new(),
                        section: row.section.id.clone(),
                    });
                    out.entries.len() - 1
                }
            };
            for alias in &row.model.aliases {
                if out.index.insert(alias.clone(), i).is_none() {
                    out.entries[i].aliases.push(alias.clone());
                }
            }
            let entry = &mut out.entries[i];
            for mode in modes {
                if let Some(name) = &row.group.pool {
                    if !entry.pools.iter().any(|b| b.deployment == mode) {
                        entry.pools.push(Budget {
                            deployment: mode,
                            name: name.clone(),
                            limits,
                            per: match row.group.per {
                                limits_format::Per::ApiKey => crate::Per::ApiKey,
                                _ => crate::Per::Account,
                            },
                        });
                    }
                    if entry.limits_in(mode).is_some() {
                        continue;
                    }
                }
                entry.set(mode, limits);
            }
        }
        // In mode order, as the published table lists them.
        for entry in &mut out.entries {
            entry.limits.sort_by_key(|(d, _)| *d);
            entry.pools.sort_by_key(|b| b.deployment);
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
                limits: model
                    .deployments()
                    .iter()
                    .filter_map(|&d| model.limits_in(d).map(|l| (d, l)))
                    .collect(),
                pools: Budget::of(model),
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
    /// the overrides in each mode they list it in (every mode, for a
    /// schema 1 file), and their new aliases; a model not found is added.
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
                    for &(mode, limits) in &entry.limits {
                        self.entries[i].set(mode, limits);
                    }
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

    /// The limits in a mode of a model of the published table, looked up
    /// here by its id (or else one of its aliases); `None` if this table
    /// lacks it there.
    pub fn limits(&self, model: Model, deployment: Deployment) -> Option<Limits> {
        self.limits_for(model.id(), deployment).or_else(|| {
            model
                .aliases()
                .iter()
                .find_map(|a| self.limits_for(a, deployment))
        })
    }

    /// The limits in a mode of the model with this id or alias (exact,
    /// case-sensitive).
    pub fn limits_for(&self, name: &str, deployment: Deployment) -> Option<Limits> {
        self.get(name).and_then(|entry| entry.limits_in(deployment))
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

/// The format's deployment as this crate's.
fn convert(d: limits_format::Deployment) -> Deployment {
    let region = crate::Region::ALL[d.region as usize];
    let scope = crate::Scope::ALL[d.scope as usize];
    Deployment::new(region, scope)
}
