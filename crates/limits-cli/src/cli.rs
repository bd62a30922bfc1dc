//! The command line's grammar (clap derive).

use std::path::PathBuf;

use clap::{Parser, Subcommand, ValueEnum};

/// Checks, generates and exports limits.toml, the rate-limit table of
/// modelstudio-limits.
#[derive(Debug, Parser)]
#[command(name = "limits", version, about)]
pub struct Cli {
    /// When to colour diagnostics.
    #[arg(long, value_enum, default_value_t = Color::Auto, global = true)]
    pub color: Color,
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Validate a limits file: print a summary (exit 0) or every finding (exit 1).
    Check {
        /// The limits file.
        #[arg(default_value = "limits.toml")]
        file: PathBuf,
        /// How to print findings.
        #[arg(long, value_enum, default_value_t = CheckFormat::Human)]
        format: CheckFormat,
        /// Exit 1 when there are warnings, as when there are errors.
        #[arg(long)]
        deny_warnings: bool,
    },
    /// Regenerate the typed crate's code from the limits file.
    Gen {
        /// Write nothing; exit 1 if the generated file is out of date.
        #[arg(long)]
        check: bool,
        /// The limits file.
        #[arg(long, default_value = "limits.toml")]
        input: PathBuf,
        /// The generated file.
        #[arg(long, default_value = "crates/modelstudio-limits/src/generated.rs")]
        output: PathBuf,
        /// The table as Markdown, for the crate docs [default: table.md
        /// beside the generated file].
        #[arg(long, value_name = "PATH")]
        table_doc: Option<PathBuf>,
    },
    /// Compare two limits files: what changed, and the semver impact on the
    /// generated crate.
    Diff {
        /// `OLD NEW`, or with `--git`, the file to compare (default
        /// `limits.toml`).
        files: Vec<PathBuf>,
        /// Compare the file at this git revision with the working tree.
        #[arg(long, value_name = "REV")]
        git: Option<String>,
        /// How to print the changes.
        #[arg(long, value_enum, default_value_t = DiffFormat::Human)]
        format: DiffFormat,
        /// Exit 1 when the impact reaches this level (a CI policy).
        #[arg(long, value_enum, value_name = "LEVEL")]
        deny: Option<DenyLevel>,
    },
    /// Print the JSON Schema of the limits file format (for editors).
    Schema,
    /// Turns the provider's rate-limit page (scraped text, or HTML) into a
    /// limits file that passes `limits check`. Unreadable rows are errors
    /// located as PAGE:LINE (exit 1), and nothing is written.
    Import {
        /// The page: the documentation mirror's markdown, the Chinese page's
        /// markdown tables, its HTML, or the English page's scraped text.
        page: PathBuf,
        /// The dynamic-limits page (动态限流, the mirror's markdown): the
        /// TPM per spend tier of the page's dynamic rows.
        #[arg(long, value_name = "FILE")]
        tiers: Option<PathBuf>,
        /// Write the file here (atomically) instead of to stdout.
        #[arg(short = 'o', long = "output", value_name = "FILE")]
        output: Option<PathBuf>,
        /// Keep what this limits file adds that the page does not say: its
        /// `[source]`, section ids and notes, models' `rust_name` and
        /// deprecations, notes of unchanged groups. An unchanged page gives
        /// this file back unchanged.
        #[arg(long, value_name = "FILE")]
        onto: Option<PathBuf>,
    },
    /// Print the table in a machine-readable format.
    Export {
        /// The output format.
        #[arg(long, value_enum, default_value_t = ExportFormat::Json)]
        format: ExportFormat,
        /// The limits file.
        #[arg(default_value = "limits.toml")]
        file: PathBuf,
    },
}

/// When to colour diagnostics.
#[derive(Copy, Clone, Debug, PartialEq, Eq, ValueEnum)]
pub enum Color {
    /// When stderr is a terminal and NO_COLOR is unset.
    Auto,
    /// Always.
    Always,
    /// Never.
    Never,
}

/// Formats of `limits check`'s findings.
#[derive(Copy, Clone, Debug, PartialEq, Eq, ValueEnum)]
pub enum CheckFormat {
    /// rustc-style, on stderr, with a summary line on stdout when valid.
    Human,
    /// A JSON array of diagnostics on stdout.
    Json,
    /// GitHub Actions workflow commands (`::error file=...`) on stdout.
    Github,
}

/// Formats of `limits diff`.
#[derive(Copy, Clone, Debug, PartialEq, Eq, ValueEnum)]
pub enum DiffFormat {
    /// One line per change, then the impact.
    Human,
    /// One JSON object: `impact` and `changes`.
    Json,
}

/// Levels of `limits diff --deny`.
#[derive(Copy, Clone, Debug, PartialEq, Eq, ValueEnum)]
pub enum DenyLevel {
    /// Fail on minor or major changes.
    Minor,
    /// Fail on major changes.
    Major,
}

/// Formats of `limits export`.
#[derive(Copy, Clone, Debug, PartialEq, Eq, ValueEnum)]
pub enum ExportFormat {
    /// One JSON object: `source`, `sections` and `models` in file order.
    Json,
}
