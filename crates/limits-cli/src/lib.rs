//! The `limits` command line: `check`, `gen`, `export`, `diff` and `schema` of a limits.toml.
//!
//! The binary is a thin wrapper around [`run`], which the end-to-end tests
//! call in-process with captured output.
//!
//! ```
//! let mut out = Vec::new();
//! let mut err = Vec::new();
//! let mut io = limits_cli::Io { stdout: &mut out, stderr: &mut err, color_by_default: false };
//! let code = limits_cli::run(["limits", "check", "no/such/limits.toml"], &mut io);
//! assert_eq!(code, limits_cli::EXIT_USAGE);
//! assert!(String::from_utf8(err).unwrap().contains("cannot read no/such/limits.toml"));
//! ```
#![warn(missing_docs)]

mod check;
mod cli;
mod diff;
mod export;
mod findings;
mod gen;
pub mod import;
mod input;
pub mod repo;

use std::ffi::OsString;
use std::io::Write;

use clap::Parser;

pub use cli::{CheckFormat, Cli, Color, Command, DenyLevel, DiffFormat, ExportFormat};

/// Exit code: success.
pub const EXIT_OK: u8 = 0;
/// Exit code: the file is invalid, or the generated code is stale.
pub const EXIT_INVALID: u8 = 1;
/// Exit code: bad usage, or a file could not be read or written.
pub const EXIT_USAGE: u8 = 2;

/// Where the command writes, and whether `--color auto` means colour.
pub struct Io<'a> {
    /// Results (summaries, exported JSON).
    pub stdout: &'a mut dyn Write,
    /// Diagnostics and errors.
    pub stderr: &'a mut dyn Write,
    /// What `--color auto` resolves to (true when stderr is a terminal).
    pub color_by_default: bool,
}

/// Runs the command line `args` (the first item is the program name) and
/// returns the exit code. Never panics on bad input or bad usage.
pub fn run<I, T>(args: I, io: &mut Io<'_>) -> u8
where
    I: IntoIterator<Item = T>,
    T: Into<OsString> + Clone,
{
    let cli = match Cli::try_parse_from(args) {
        Ok(cli) => cli,
        Err(e) => {
            let text = if io.color_by_default {
                e.render().ansi().to_string()
            } else {
                e.render().to_string()
            };
            return if e.use_stderr() {
                let _ = write!(io.stderr, "{text}");
                EXIT_USAGE
            } else {
                let _ = write!(io.stdout, "{text}");
                EXIT_OK
            };
        }
    };
    let color = match cli.color {
        Color::Auto => io.color_by_default,
        Color::Always => true,
        Color::Never => false,
    };
    let result = match &cli.command {
        Command::Check {
            file,
            format,
            deny_warnings,
        } => check::run(file, *format, *deny_warnings, color, io),
        Command::Gen {
            check,
            input,
            output,
            table_doc,
        } => gen::run(input, output, table_doc.as_deref(), *check, color, io),
        Command::Export { format, file } => export::run(file, *format, color, io),
        Command::Import {
            page,
            tiers,
            output,
            onto,
        } => import::run(
            page,
            tiers.as_deref(),
            output.as_deref(),
            onto.as_deref(),
            color,
            io,
        ),
        Command::Schema => io
            .stdout
            .write_all(limits_format::json_schema().as_bytes())
            .map(|()| EXIT_OK),
        Command::Diff {
            files,
            git,
            format,
            deny,
        } => diff::run(files, git.as_deref(), *format, *deny, color, io),
    };
    match result {
        Ok(code) => code,
        // A reader that stopped reading (`| head`): end quietly, as other
        // command-line tools do.
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => EXIT_OK,
        Err(e) => {
            let _ = writeln!(io.stderr, "error: {e}");
            EXIT_USAGE
        }
    }
}
