//! What the provider's page says, read by the rules of its scraped form
//! (`shared/source/README.md`) or from its HTML: sections of rows, each row
//! a model with its limits, and where each limit came from.

use std::fmt;

/// QPM values on the page are below this, TPM values are not: how a lone
/// number's size says its column.
pub const SMALLEST_TPM: u64 = 10_000;

/// The rate-limit tables of the page, in its order.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Page {
    /// One per table of the page.
    pub sections: Vec<PageSection>,
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
    /// Queries per minute.
    pub qpm: u32,
    /// Tokens per minute.
    pub tpm: u32,
    /// The id of the row whose cell gave the QPM, when it is another row's
    /// (a merged cell).
    pub qpm_from: Option<String>,
    /// The same for the TPM.
    pub tpm_from: Option<String>,
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
        let (qpm, qpm_from) = take(qpm, &mut self.qpm, "QPM")?;
        let (tpm, tpm_from) = take(tpm, &mut self.tpm, "TPM")?;
        Ok(PageRow {
            line,
            id,
            aliases,
            qpm: qpm as u32,
            tpm: tpm as u32,
            qpm_from,
            tpm_from,
        })
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
