//! The validated table: what every later stage (emit, export, diff, runtime
//! lookups) works from. Only [`crate::check`] makes one, so
//! every value here has passed every check.

/// A validated limits file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Table {
    /// Format version (always 1 today).
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
    /// The rows, in file order; never empty.
    pub groups: Vec<Group>,
}

/// Models that share one QPM and one TPM limit.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Group {
    /// Queries per minute.
    pub qpm: u32,
    /// Tokens per minute.
    pub tpm: u32,
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
    /// Every model in file order, with its section and group.
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

    /// Counts of what the table holds.
    pub fn summary(&self) -> Summary {
        Summary {
            models: self.models().count(),
            aliases: self.models().map(|r| r.model.aliases.len()).sum(),
            sections: self.sections.len(),
            groups: self.sections.iter().map(|s| s.groups.len()).sum(),
        }
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
