//! What the provider's page says, read by the rules of its scraped form
//! (`shared/source/README.md`) or from its HTML: sections of rows, each row
//! a model with its limits, and where each limit came from.

use std::fmt;

use limits_format::{Deployment, Kind, Limits, Retired};

/// QPM values on the page are below this, TPM values are not: how a lone
/// number's size says its column.
pub const SMALLEST_TPM: u64 = 10_000;

/// The rate-limit tables of the page, in its order.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Page {
    /// One per table of the page.
    pub sections: Vec<PageSection>,
    /// What the rules read by a choice, or kept out, each with its line.
    pub warnings: Vec<PageError>,
    /// The page's update time (`YYYY-MM-DD`), when it states one.
    pub updated: Option<String>,
    /// Where a copy of the page comes from, when it says (the mirror's
    /// `<!-- source: OWNER/REPO@COMMIT PATH; ... -->` line): the repository,
    /// the commit and the path.
    pub copied_from: Option<(String, String, String)>,
}

/// One table of the page.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PageSection {
    /// The heading right above the table.
    pub title: String,
    /// The category heading it is under, if any.
    pub category: Option<String>,
    /// The page line of its heading.
    pub line: usize,
    /// The deployment mode of its limits (`None`: a page without modes).
    pub mode: Option<Deployment>,
    /// Whether (and when) its models were retired.
    pub retired: Option<Retired>,
    /// What the page says of the table that no row holds.
    pub note: Option<String>,
    /// Its rows, in order.
    pub rows: Vec<PageRow>,
}

/// One row of a table: a model and its limits.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PageRow {
    /// The page line of the row.
    pub line: usize,
    /// The model's id.
    pub id: String,
    /// Its aliases (`id (alias)` on the page).
    pub aliases: Vec<String>,
    /// Its limits.
    pub limits: Limits,
    /// Each limit that another row's cell gave (a merged cell), with that
    /// row's id.
    pub from: Vec<(Kind, String)>,
    /// What the page says of the row beside its numbers.
    pub note: Option<String>,
    /// The pooled budget its limits are, if the page says they are shared.
    pub pool: Option<String>,
    /// Who shares the pool.
    pub per: limits_format::Per,
    /// The replacement of a retired model, when the page names a model.
    pub replaced_by: Option<String>,
}

impl PageRow {
    /// A row with requests and tokens per minute (the English page's two
    /// columns), each maybe from another row.
    pub(crate) fn per_minute(
        line: usize,
        id: String,
        aliases: Vec<String>,
        (rpm, rpm_from): (u64, Option<String>),
        (tpm, tpm_from): (u64, Option<String>),
    ) -> PageRow {
        let mut limits = Limits::default();
        limits.set(Kind::Rpm, rpm);
        limits.set(Kind::Tpm, tpm);
        let from = [(Kind::Rpm, rpm_from), (Kind::Tpm, tpm_from)]
            .into_iter()
            .filter_map(|(k, f)| f.map(|f| (k, f)))
            .collect();
        PageRow {
            line,
            id,
            aliases,
            limits,
            from,
            note: None,
            pool: None,
            per: limits_format::Per::Account,
            replaced_by: None,
        }
    }
}

/// Why a page could not be read: where, and what.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PageError {
    /// The page line (1-based).
    pub line: usize,
    /// What the rules could not read.
    pub message: String,
}

impl fmt::Display for PageError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "line {}: {}", self.line, self.message)
    }
}

impl std::error::Error for PageError {}

/// The category that the headings between two tables (oldest first, the
/// table's title last) set, if any: above the title come family headings,
/// which the title starts with ("Qwen" above "Qwen LLMs"), then perhaps a
/// category.
pub(crate) fn category_above<'h>(headings: &[&'h str]) -> Option<&'h str> {
    let (title, above) = headings.split_last()?;
    above
        .iter()
        .rev()
        .find(|h| !title.starts_with(**h))
        .copied()
}

/// Whether a row whose first cell reads `first` is one of a table's header
/// rows (`Name | Throttling threshold ...`, `Queries per minute (QPM) | ...`).
pub(crate) fn is_header(first: &str) -> bool {
    first == "Name" || first.starts_with("Queries per minute")
}

/// Splits `name (alias)` into the id and its aliases, checking each with
/// the format's id rules.
pub(crate) fn name_cell(cell: &str, line: usize) -> Result<(String, Vec<String>), PageError> {
    let cell = cell.trim();
    let (id, aliases) = match cell.split_once('(') {
        Some((id, rest)) => {
            let Some(inner) = rest.trim().strip_suffix(')') else {
                return Err(PageError {
                    line,
                    message: format!("`{cell}`: an alias in parentheses is not closed"),
                });
            };
            let aliases = inner.split(',').map(|a| a.trim().to_string()).collect();
            (id.trim().to_string(), aliases)
        }
        None => (cell.to_string(), Vec::new()),
    };
    for name in std::iter::once(&id).chain(&aliases) {
        if let Err(e) = limits_format::ident::check_id(name) {
            return Err(PageError {
                line,
                message: format!("`{name}` is not an id the format accepts: it {}", e.reason),
            });
        }
    }
    Ok((id, aliases))
}

/// A number cell: digits with thousands separators.
pub(crate) fn number_cell(cell: &str, line: usize) -> Result<u64, PageError> {
    let digits: String = cell.chars().filter(|&c| c != ',').collect();
    match digits.parse::<u64>() {
        Ok(n) if n > 0 && n <= u64::from(u32::MAX) => Ok(n),
        _ => Err(PageError {
            line,
            message: format!("`{cell}` is not a limit (a whole number from 1 to 4,294,967,295)"),
        }),
    }
}

/// The limits one row states, and what it leaves to the rows above.
pub(crate) struct Carried {
    qpm: Option<(u64, String)>,
    tpm: Option<(u64, String)>,
}

impl Carried {
    /// A table's first row carries nothing in.
    pub fn new() -> Self {
        Carried {
            qpm: None,
            tpm: None,
        }
    }

    /// The row `id` with `qpm`/`tpm` as stated on it (`None`: a merged cell
    /// from above).
    pub fn row(
        &mut self,
        line: usize,
        id: String,
        aliases: Vec<String>,
        qpm: Option<u64>,
        tpm: Option<u64>,
    ) -> Result<PageRow, PageError> {
        let take = |stated: Option<u64>, carried: &mut Option<(u64, String)>, what: &str| match (
            stated,
            carried.as_ref(),
        ) {
            (Some(n), _) => {
                *carried = Some((n, id.clone()));
                Ok((n, None))
            }
            (None, Some((n, from))) => Ok((*n, Some(from.clone()))),
            (None, None) => Err(PageError {
                line,
                message: format!(
                    "`{id}` gives no {what} and no row above it does (a first row needs both)"
                ),
            }),
        };
        let rpm = take(qpm, &mut self.qpm, "QPM")?;
        let tpm = take(tpm, &mut self.tpm, "TPM")?;
        Ok(PageRow::per_minute(line, id, aliases, rpm, tpm))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn family_headings_are_not_categories() {
        assert_eq!(
            category_above(&["Text generation", "Qwen", "Qwen LLMs"]),
            Some("Text generation")
        );
        assert_eq!(
            category_above(&["Open source Qwen", "Open source Qwen LLM"]),
            None
        );
        assert_eq!(
            category_above(&["Embedding models", "General text embedding"]),
            Some("Embedding models")
        );
        assert_eq!(category_above(&["Qwen-MT"]), None);
        assert_eq!(category_above(&[]), None);
    }
}
