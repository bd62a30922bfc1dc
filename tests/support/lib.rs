//! Helpers for the end-to-end tests in `tests/*.rs`.

use std::path::{Path, PathBuf};

/// The README's Rust examples, run as doctests.
#[cfg(doctest)]
#[doc = include_str!("../../README.md")]
pub struct ReadmeDoctests;

/// The published crates' READMEs (their crates.io pages), run as doctests.
#[cfg(doctest)]
#[doc = include_str!("../../crates/modelstudio-limits/README.md")]
#[doc = include_str!("../../codegen/README.md")]
#[doc = include_str!("../../crates/limits-throttle/README.md")]
#[doc = include_str!("../../crates/limits-reqwest/README.md")]
pub struct CrateReadmeDoctests;

/// The workspace root (where `limits.toml` is).
pub fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// A path under the workspace root.
pub fn path(relative: &str) -> PathBuf {
    root().join(relative)
}

/// What one run of the `limits` command line produced.
#[derive(Debug)]
pub struct Run {
    /// The exit code.
    pub code: u8,
    /// Everything written to stdout.
    pub stdout: String,
    /// Everything written to stderr.
    pub stderr: String,
}

/// Runs `limits ARGS...` in-process, without colour.
pub fn limits<S: AsRef<str>>(args: &[S]) -> Run {
    let mut stdout = Vec::new();
    let mut stderr = Vec::new();
    let mut io = limits_cli::Io {
        stdout: &mut stdout,
        stderr: &mut stderr,
        color_by_default: false,
    };
    let argv = std::iter::once("limits").chain(args.iter().map(AsRef::as_ref));
    let code = limits_cli::run(argv, &mut io);
    Run {
        code,
        stdout: String::from_utf8(stdout).expect("stdout is UTF-8"),
        stderr: String::from_utf8(stderr).expect("stderr is UTF-8"),
    }
}
