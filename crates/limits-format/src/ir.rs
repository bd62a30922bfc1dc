//! The validated table: what every later stage (emit, export, diff, runtime
//! lookups) works from. Only [`crate::check`] makes one, so
//! every value here has passed every check.

/// A validated limits file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Table {
    /// Format version: 1 (one unnamed deployment, QPM and TPM), 2 (four
    /// deployment modes) or 3 (regions and scopes, dynamic limits).
    pub schema: u32,
    /// Where the numbers come from.
    pub source: Source,
    /// The sections, in file order.
    pub sections: Vec<Section>,
    /// SHA-256 of the input text, lowercase hex.
    pub input_sha256: String,
}

/// Provenance of the table.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Source {
    /// Who publishes the limits.
    pub provider: String,
    /// The page the limits were read from.
    pub url: String,
    /// The deployment region the limits apply to.
    pub region: Option<String>,
    /// When the page was read, as `YYYY-MM-DD`.
    pub retrieved: Option<String>,
    /// Free text.
    pub note: Option<String>,
}

/// A part of the provider's table (one sub-table of its page).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Section {
    /// Unique id, valid by the id syntax.
    pub id: String,
    /// The `Section` variant's name.
    pub rust_name: String,
    /// The title as the source gives it.
    pub title: String,
    /// The heading above the section in the source, if any.
    pub category: Option<String>,
    /// Free text.
    pub note: Option<String>,
    /// The region and scope the section's limits hold in; `None` in a
    /// schema 1 file, whose limits hold everywhere.
    pub mode: Option<Deployment>,
    /// The rows, in file order; never empty.
    pub groups: Vec<Group>,
}

/// Models that share one row of limits.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Group {
    /// The limits of each model of the group (of all of them together
    /// when the group is a [`pool`](Group::pool)). Empty only for a
    /// retired group.
    pub limits: Limits,
    /// The name of the pooled budget: the limits hold for all the group's
    /// models together, not for each.
    pub pool: Option<String>,
    /// Who shares the pooled budget (the account unless the page says each
    /// API key).
    pub per: Per,
    /// Whether (and when) the group's models were retired.
    pub retired: Option<Retired>,
    /// Free text.
    pub note: Option<String>,
    /// The models, in file order; never empty.
    pub models: Vec<Model>,
}

/// One canonical model.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Model {
    /// The canonical id, unique across the file.
    pub id: String,
    /// Other names of the model, each unique across the file.
    pub aliases: Vec<String>,
    /// The `Model` variant's name (derived from the id or given).
    pub rust_name: String,
    /// Why the model is deprecated (it becomes `#[deprecated]`), if it is.
    pub deprecated: Option<String>,
    /// The model the provider names as the replacement of a retired one.
    pub replaced_by: Option<String>,
}

/// A model together with the section and group it belongs to.
#[derive(Copy, Clone, Debug)]
pub struct ModelRow<'a> {
    /// The section holding the model.
    pub section: &'a Section,
    /// The group holding the model.
    pub group: &'a Group,
    /// The model.
    pub model: &'a Model,
}

impl Table {
    /// Every row of a model in file order, with its section and group: a
    /// model listed in several modes comes once per mode.
    pub fn models(&self) -> impl Iterator<Item = ModelRow<'_>> {
        self.sections.iter().flat_map(|section| {
            section.groups.iter().flat_map(move |group| {
                group.models.iter().map(move |model| ModelRow {
                    section,
                    group,
                    model,
                })
            })
        })
    }

    /// The first row of every distinct model id, in file order.
    pub fn distinct_models(&self) -> impl Iterator<Item = ModelRow<'_>> {
        let mut seen = std::collections::HashSet::new();
        self.models()
            .filter(move |r| seen.insert(r.model.id.as_str()))
    }

    /// Every model's rows, grouped: one entry per distinct id, in the order
    /// of its first row (that of [`Table::distinct_models`]), holding its
    /// rows in file order.
    pub fn rows_by_model(&self) -> Vec<Vec<ModelRow<'_>>> {
        let mut index: std::collections::HashMap<&str, usize> = std::collections::HashMap::new();
        let mut grouped: Vec<Vec<ModelRow<'_>>> = Vec::new();
        for r in self.models() {
            match index.get(r.model.id.as_str()) {
                Some(&i) => grouped[i].push(r),
                None => {
                    index.insert(&r.model.id, grouped.len());
                    grouped.push(vec![r]);
                }
            }
        }
        grouped
    }

    /// Counts of what the table holds (models and aliases counted once,
    /// whatever the number of modes that list them).
    pub fn summary(&self) -> Summary {
        let mut aliases = std::collections::HashSet::new();
        for r in self.models() {
            aliases.extend(r.model.aliases.iter().map(String::as_str));
        }
        Summary {
            models: self.distinct_models().count(),
            aliases: aliases.len(),
            sections: self.sections.len(),
            groups: self.sections.iter().map(|s| s.groups.len()).sum(),
        }
    }
}

/// Every alias of one model's `rows`, once, in file order.
pub fn aliases_of<'a>(rows: &[ModelRow<'a>]) -> Vec<&'a str> {
    let mut aliases: Vec<&'a str> = Vec::new();
    for r in rows {
        for a in &r.model.aliases {
            if !aliases.contains(&a.as_str()) {
                aliases.push(a);
            }
        }
    }
    aliases
}

/// Counts of what a table holds in one deployment mode.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct ModeSummary {
    /// The mode (`None`: a schema 1 table's rows, which hold in every mode).
    pub mode: Option<Deployment>,
    /// Models with a row in the mode.
    pub models: usize,
    /// Of those, retired.
    pub retired: usize,
    /// Sections of the mode.
    pub sections: usize,
    /// Pooled budgets of the mode.
    pub pools: usize,
}

impl std::fmt::Display for ModeSummary {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mode = self.mode.map_or("everywhere".to_string(), Deployment::id);
        write!(
            f,
            "{mode}: {} models ({} retired), {} sections, {} pools",
            self.models, self.retired, self.sections, self.pools
        )
    }
}

impl Table {
    /// Counts per deployment mode, in mode order (one entry, `mode: None`,
    /// for a schema 1 table).
    pub fn summary_by_mode(&self) -> Vec<ModeSummary> {
        let mut modes: Vec<Option<Deployment>> = self.sections.iter().map(|s| s.mode).collect();
        modes.sort();
        modes.dedup();
        modes
            .into_iter()
            .map(|mode| {
                let sections: Vec<&Section> =
                    self.sections.iter().filter(|s| s.mode == mode).collect();
                let mut models = std::collections::HashSet::new();
                let mut retired = std::collections::HashSet::new();
                let mut pools = std::collections::HashSet::new();
                for g in sections.iter().flat_map(|s| &s.groups) {
                    for m in &g.models {
                        models.insert(m.id.as_str());
                        if g.retired.is_some() {
                            retired.insert(m.id.as_str());
                        }
                    }
                    pools.extend(g.pool.as_deref());
                }
                ModeSummary {
                    mode,
                    models: models.len(),
                    retired: retired.len(),
                    sections: sections.len(),
                    pools: pools.len(),
                }
            })
            .collect()
    }
}

/// Counts of what a table holds.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct Summary {
    /// Canonical models.
    pub models: usize,
    /// Aliases over all models.
    pub aliases: usize,
    /// Sections.
    pub sections: usize,
    /// Groups over all sections.
    pub groups: usize,
}

impl std::fmt::Display for Summary {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} models, {} aliases, {} sections, {} groups",
            self.models, self.aliases, self.sections, self.groups
        )
    }
}

/// An access region of Model Studio: where a call is sent (its endpoint)
/// and where its data is stored. Each region has its own tab of limits.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Region {
    /// China (Beijing), `cn-beijing`.
    Beijing,
    /// Singapore, `ap-southeast-1`.
    Singapore,
    /// US (Virginia), `us-east-1`.
    Virginia,
    /// Germany (Frankfurt), `eu-central-1`.
    Frankfurt,
    /// Japan (Tokyo), `ap-northeast-1`.
    Tokyo,
    /// China (Hong Kong), `cn-hongkong`.
    HongKong,
}

impl Region {
    /// Every region, in the order of the format's ids ([`crate::keys::REGIONS`]).
    pub const ALL: [Region; 6] = [
        Region::Beijing,
        Region::Singapore,
        Region::Virginia,
        Region::Frankfurt,
        Region::Tokyo,
        Region::HongKong,
    ];

    /// The region's id in a limits file (Alibaba Cloud's region id).
    pub const fn id(self) -> &'static str {
        crate::keys::REGIONS[self as usize]
    }

    /// The region with this id.
    pub fn from_id(id: &str) -> Option<Region> {
        Region::ALL.into_iter().find(|r| r.id() == id)
    }

    /// The Rust variant's name, as `modelstudio_limits::Region` has it.
    pub const fn rust_name(self) -> &'static str {
        match self {
            Region::Beijing => "Beijing",
            Region::Singapore => "Singapore",
            Region::Virginia => "Virginia",
            Region::Frankfurt => "Frankfurt",
            Region::Tokyo => "Tokyo",
            Region::HongKong => "HongKong",
        }
    }
}

/// A deployment scope: where inference may run.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Scope {
    /// Mainland China only, `cn`.
    MainlandChina,
    /// Anywhere but Mainland China, `intl`.
    International,
    /// Anywhere, `global`.
    Global,
    /// The US only, `us`.
    UnitedStates,
    /// The EU only, `eu`.
    Europe,
    /// Japan only, `jp`.
    Japan,
    /// Hong Kong, `hk`.
    HongKong,
}

impl Scope {
    /// Every scope, in the order of the format's ids ([`crate::keys::SCOPES`]).
    pub const ALL: [Scope; 7] = [
        Scope::MainlandChina,
        Scope::International,
        Scope::Global,
        Scope::UnitedStates,
        Scope::Europe,
        Scope::Japan,
        Scope::HongKong,
    ];

    /// The scope's id in a limits file.
    pub const fn id(self) -> &'static str {
        crate::keys::SCOPES[self as usize]
    }

    /// The scope with this id.
    pub fn from_id(id: &str) -> Option<Scope> {
        Scope::ALL.into_iter().find(|s| s.id() == id)
    }

    /// The Rust variant's name, as `modelstudio_limits::Scope` has it.
    pub const fn rust_name(self) -> &'static str {
        match self {
            Scope::MainlandChina => "MainlandChina",
            Scope::International => "International",
            Scope::Global => "Global",
            Scope::UnitedStates => "UnitedStates",
            Scope::Europe => "Europe",
            Scope::Japan => "Japan",
            Scope::HongKong => "HongKong",
        }
    }
}

/// Where a limit holds: the region a call is sent to and the scope it runs
/// in. The same model and scope can have other limits in another region.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Deployment {
    /// Where the call is sent.
    pub region: Region,
    /// Where it runs.
    pub scope: Scope,
}

impl Deployment {
    /// Mainland China in Beijing: schema 2's `cn`.
    pub const MAINLAND_CHINA: Deployment = Deployment::new(Region::Beijing, Scope::MainlandChina);
    /// International in Singapore: schema 2's `intl`.
    pub const INTERNATIONAL: Deployment = Deployment::new(Region::Singapore, Scope::International);
    /// Global in Virginia: schema 2's `global`.
    pub const GLOBAL: Deployment = Deployment::new(Region::Virginia, Scope::Global);
    /// The US in Virginia: schema 2's `us`.
    pub const UNITED_STATES: Deployment = Deployment::new(Region::Virginia, Scope::UnitedStates);

    /// The pairs the provider documents (the regions page and the rate-limit
    /// page's tabs), region by region: where a schema 1 row, which names
    /// none, holds.
    pub const ALL: [Deployment; 10] = [
        Deployment::MAINLAND_CHINA,
        Deployment::INTERNATIONAL,
        Deployment::GLOBAL,
        Deployment::UNITED_STATES,
        Deployment::new(Region::Frankfurt, Scope::Global),
        Deployment::new(Region::Frankfurt, Scope::Europe),
        Deployment::new(Region::Tokyo, Scope::Global),
        Deployment::new(Region::Tokyo, Scope::Japan),
        Deployment::new(Region::HongKong, Scope::Global),
        Deployment::new(Region::HongKong, Scope::HongKong),
    ];

    /// The deployment of `scope` in `region`.
    pub const fn new(region: Region, scope: Scope) -> Deployment {
        Deployment { region, scope }
    }

    /// A schema 2 mode (`cn`, `intl`, `global`, `us`) as the deployment it
    /// names: `cn` is Beijing's `cn`, `intl` Singapore's `intl`, `global`
    /// and `us` Virginia's.
    pub fn from_mode(mode: &str) -> Option<Deployment> {
        crate::keys::MODES
            .iter()
            .position(|m| *m == mode)
            .map(|i| Deployment::ALL[i])
    }

    /// The schema 2 mode this deployment is, if it is one of those four.
    pub fn mode_id(self) -> Option<&'static str> {
        Deployment::ALL[..4]
            .iter()
            .position(|d| *d == self)
            .map(|i| crate::keys::MODES[i])
    }

    /// `region/scope`, e.g. `cn-beijing/cn`.
    pub fn id(self) -> String {
        format!("{}/{}", self.region.id(), self.scope.id())
    }
}

impl std::fmt::Display for Deployment {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.region.id(), self.scope.id())
    }
}

/// The most spend tiers a dynamic limit may list (the provider's page has
/// 3; `modelstudio_limits::MAX_TPM_TIERS` holds as many).
pub const MAX_TPM_TIERS: usize = 4;

/// Who shares a pooled budget.
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq, Hash)]
pub enum Per {
    /// The account: all its keys together (the default).
    #[default]
    Account,
    /// Each API key on its own.
    ApiKey,
}

impl Per {
    /// The id in a limits file: `account` or `api-key`.
    pub const fn id(self) -> &'static str {
        match self {
            Per::Account => "account",
            Per::ApiKey => "api-key",
        }
    }

    /// The value with this id.
    pub fn from_id(id: &str) -> Option<Per> {
        [Per::Account, Per::ApiKey]
            .into_iter()
            .find(|p| p.id() == id)
    }
}

/// One kind of limit: the format's key, and what it counts.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub enum Kind {
    /// `rpm`: requests per minute.
    Rpm,
    /// `tpm`: tokens per minute.
    Tpm,
    /// `rps`: requests per second.
    Rps,
    /// `submit_rps`: task submissions per second.
    SubmitRps,
    /// `submit_rpm`: task submissions per minute.
    SubmitRpm,
    /// `query_rps`: task queries per second.
    QueryRps,
    /// `concurrency`: tasks in flight.
    Concurrency,
}

impl Kind {
    /// Every kind, in the order the format documents them.
    pub const ALL: [Kind; 7] = [
        Kind::Rpm,
        Kind::Tpm,
        Kind::Rps,
        Kind::SubmitRps,
        Kind::SubmitRpm,
        Kind::QueryRps,
        Kind::Concurrency,
    ];

    /// The key in a limits file and in `limits export` (one of
    /// [`crate::keys::KINDS`], in the same order).
    pub const fn key(self) -> &'static str {
        match self {
            Kind::Rpm => "rpm",
            Kind::Tpm => "tpm",
            Kind::Rps => "rps",
            Kind::SubmitRps => "submit_rps",
            Kind::SubmitRpm => "submit_rpm",
            Kind::QueryRps => "query_rps",
            Kind::Concurrency => "concurrency",
        }
    }

    /// What the kind counts, in words.
    pub const fn describe(self) -> &'static str {
        match self {
            Kind::Rpm => "requests per minute",
            Kind::Tpm => "tokens per minute",
            Kind::Rps => "requests per second",
            Kind::SubmitRps => "task submissions per second",
            Kind::SubmitRpm => "task submissions per minute",
            Kind::QueryRps => "task queries per second",
            Kind::Concurrency => "tasks in flight",
        }
    }

    /// The largest value the kind takes (`tpm` is 64-bit).
    pub const fn max(self) -> u64 {
        match self {
            Kind::Tpm => i64::MAX as u64,
            _ => u32::MAX as u64,
        }
    }
}

/// A row's limits: each kind optional. Per account, summed over its API
/// keys.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct Limits {
    /// Requests per minute.
    pub rpm: Option<u32>,
    /// Tokens per minute (input and output unless the note says otherwise).
    pub tpm: Option<u64>,
    /// Requests per second.
    pub rps: Option<u32>,
    /// Task submissions per second.
    pub submit_rps: Option<u32>,
    /// Task submissions per minute.
    pub submit_rpm: Option<u32>,
    /// Task queries per second.
    pub query_rps: Option<u32>,
    /// Tasks in flight (asynchronous calls).
    pub concurrency: Option<u32>,
    /// Synchronous calls are not limited in number in flight.
    pub sync_unlimited: bool,
    /// A dynamic limit: the TPM follows the account's spend tier (soft, the
    /// account may get more) and the RPM is unlimited by the table.
    pub dynamic: bool,
    /// A dynamic limit's TPM per spend tier, lowest tier first (from the
    /// dynamic-limits page); `None` where that page does not list it.
    pub tpm_tiers: Option<Vec<u64>>,
}

impl Limits {
    /// The value of one kind, if the row has it.
    pub fn get(&self, kind: Kind) -> Option<u64> {
        match kind {
            Kind::Rpm => self.rpm.map(u64::from),
            Kind::Tpm => self.tpm,
            Kind::Rps => self.rps.map(u64::from),
            Kind::SubmitRps => self.submit_rps.map(u64::from),
            Kind::SubmitRpm => self.submit_rpm.map(u64::from),
            Kind::QueryRps => self.query_rps.map(u64::from),
            Kind::Concurrency => self.concurrency.map(u64::from),
        }
    }

    /// Sets one kind; `value` must be within [`Kind::max`] (the
    /// validator checks it) and is clamped otherwise.
    pub fn set(&mut self, kind: Kind, value: u64) {
        let small = u32::try_from(value).unwrap_or(u32::MAX);
        match kind {
            Kind::Rpm => self.rpm = Some(small),
            Kind::Tpm => self.tpm = Some(value.min(Kind::Tpm.max())),
            Kind::Rps => self.rps = Some(small),
            Kind::SubmitRps => self.submit_rps = Some(small),
            Kind::SubmitRpm => self.submit_rpm = Some(small),
            Kind::QueryRps => self.query_rps = Some(small),
            Kind::Concurrency => self.concurrency = Some(small),
        }
    }

    /// The kinds the row has, with their values, in [`Kind::ALL`] order.
    pub fn kinds(&self) -> impl Iterator<Item = (Kind, u64)> + '_ {
        Kind::ALL
            .into_iter()
            .filter_map(|k| self.get(k).map(|v| (k, v)))
    }

    /// Whether no kind is set and the limit is not dynamic.
    pub fn is_empty(&self) -> bool {
        self.kinds().next().is_none() && !self.dynamic
    }
}

/// A retirement: on a date, or at a time the page does not give.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Retired {
    /// Retired; the page gives no date.
    Yes,
    /// Retired on this date (`YYYY-MM-DD`).
    On(String),
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_and_modes_are_the_formats_keys_in_order() {
        let kinds: Vec<&str> = Kind::ALL.iter().map(|k| k.key()).collect();
        assert_eq!(kinds, crate::keys::KINDS);
        for (i, m) in crate::keys::MODES.iter().enumerate() {
            assert_eq!(Deployment::from_mode(m), Some(Deployment::ALL[i]));
        }
        for r in Region::ALL {
            assert_eq!(Region::from_id(r.id()), Some(r));
        }
        for s in Scope::ALL {
            assert_eq!(Scope::from_id(s.id()), Some(s));
        }
        let mut l = Limits::default();
        for (i, k) in Kind::ALL.into_iter().enumerate() {
            l.set(k, i as u64 + 1);
        }
        assert_eq!(
            l.kinds().map(|(_, n)| n).collect::<Vec<_>>(),
            [1, 2, 3, 4, 5, 6, 7]
        );
        assert!(Limits::default().is_empty() && !l.is_empty());
    }
}
