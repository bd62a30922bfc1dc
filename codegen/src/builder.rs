//! [`Builder`]: the options of generated code, and the entry point of build
//! scripts (prost-build and chrono-tz-build style).

use std::fmt;
use std::io;
use std::path::{Path, PathBuf};

use proc_macro2::{Ident, Span};
use syn::parse::Parser;

use limits_format::ident::check_rust_name;
use limits_format::{Checked, Diagnostics, LineIndex, LoadError, Report, Table};

use crate::emit::{self, Options};
use crate::write::{write_if_changed, WriteOutcome};
use crate::{markdown, pretty};

/// What the generated enums always derive; [`Builder::derive`] adds to these.
pub const DERIVES: &[&str] = &["Copy", "Clone", "Debug", "PartialEq", "Eq", "Hash"];

/// Traits the generated enums implement by hand, so no derive may add them:
/// they are ordered by id (stable when rows move in the table).
pub const IMPLEMENTED: &[&str] = &["PartialOrd", "Ord"];

/// Whether the generated model enum implements serde's `Serialize` (as its
/// id) and `Deserialize` (from an id or an alias). The crate including the
/// code then depends on `serde` (no derive needed).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub enum Serde {
    /// No serde impls.
    #[default]
    Off,
    /// Always implemented.
    On,
    /// Implemented under `#[cfg(feature = "...")]`, for a crate whose serde
    /// dependency is optional.
    Feature(String),
}

/// How the generated `from_id` finds a model by id or alias.
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Lookup {
    /// [`Lookup::Match`] for tables of up to [`Lookup::MATCH_MAX_NAMES`]
    /// ids and aliases, [`Lookup::PerfectHash`] for larger ones.
    #[default]
    Auto,
    /// A `match` on the name's bytes, one arm per model (its id and
    /// aliases): fastest on small tables; compile time grows quickly
    /// with the number of arms.
    Match,
    /// A perfect hash built at generation time: one hash, two table loads
    /// and one comparison whatever the size; compiles fast at any size.
    PerfectHash,
}

impl Lookup {
    /// The most ids and aliases [`Lookup::Auto`] looks up with a `match`.
    pub const MATCH_MAX_NAMES: usize = 256;

    /// The strategy for a table with `names` ids and aliases.
    pub(crate) fn resolve(self, names: usize) -> Lookup {
        match self {
            Lookup::Auto if names <= Lookup::MATCH_MAX_NAMES => Lookup::Match,
            Lookup::Auto => Lookup::PerfectHash,
            chosen => chosen,
        }
    }
}

/// Generates typed Rust from a limits file: the options of the generated
/// code, and where to read and write when run from a build script.
///
/// In `build.rs` (the generated code refers to `modelstudio_limits::Limits`,
/// so the crate also depends on `modelstudio-limits`):
///
/// ```no_run
/// // build.rs, in `fn main`:
/// limits_codegen::Builder::new()
///     .input("limits.toml")
///     .out_file("limits.rs")
///     .model_enum("AcmeModel")
///     .section_enum("AcmeSection")
///     .build();
/// ```
///
/// ```ignore
/// // src/lib.rs
/// mod limits {
///     include!(concat!(env!("OUT_DIR"), "/limits.rs"));
/// }
/// pub use limits::{AcmeModel, AcmeSection};
/// ```
///
/// Include the file in a module of its own: besides the two enums it
/// defines private constants and functions with fixed names, and `SOURCE`.
#[derive(Clone, Debug)]
pub struct Builder {
    input: PathBuf,
    input_name: Option<String>,
    out_dir: Option<PathBuf>,
    out_file: String,
    command: String,
    types_path: String,
    model_enum: String,
    section_enum: String,
    derives: Vec<String>,
    attributes: Vec<String>,
    serde: Serde,
    lookup: Lookup,
    deny_warnings: bool,
}

impl Default for Builder {
    fn default() -> Self {
        Builder {
            input: PathBuf::from("limits.toml"),
            input_name: None,
            out_dir: None,
            out_file: "limits.rs".to_string(),
            command: "cargo build (limits_codegen::Builder in build.rs)".to_string(),
            types_path: "::modelstudio_limits".to_string(),
            model_enum: "Model".to_string(),
            section_enum: "Section".to_string(),
            derives: Vec::new(),
            attributes: Vec::new(),
            serde: Serde::Off,
            lookup: Lookup::Auto,
            deny_warnings: false,
        }
    }
}

impl Builder {
    /// The defaults for another crate's build script: input `limits.toml`
    /// (relative to the crate's directory, where build scripts run), output
    /// `$OUT_DIR/limits.rs`, enums `Model` and `Section`, types from
    /// `::modelstudio_limits`, no serde, warnings allowed.
    pub fn new() -> Self {
        Self::default()
    }

    /// The settings of `modelstudio-limits`' own `src/generated.rs`: the
    /// file `generated.rs`, types from `crate`, serde behind the crate's
    /// `serde` feature. Its build script (feature `custom-table`) and
    /// `limits gen` both start from these, so the two generate the same
    /// code from the same table.
    pub fn modelstudio_limits() -> Self {
        let mut builder = Self::new();
        builder
            .out_file("generated.rs")
            .types_path("crate")
            .serde_feature("serde");
        builder
    }

    /// The limits file to read (default `limits.toml`). A relative path is
    /// relative to the current directory, which is the crate's directory in
    /// a build script.
    pub fn input(&mut self, path: impl Into<PathBuf>) -> &mut Self {
        self.input = path.into();
        self
    }

    /// The input's name as the header of the generated file shows it
    /// (default: the input path).
    pub fn input_name(&mut self, name: impl Into<String>) -> &mut Self {
        self.input_name = Some(name.into());
        self
    }

    /// The directory to write into (default: `$OUT_DIR`).
    pub fn out_dir(&mut self, dir: impl Into<PathBuf>) -> &mut Self {
        self.out_dir = Some(dir.into());
        self
    }

    /// The generated file's name in the output directory (default
    /// `limits.rs`); a plain name, no directory.
    pub fn out_file(&mut self, name: impl Into<String>) -> &mut Self {
        self.out_file = name.into();
        self
    }

    /// The command the header tells readers to run to regenerate the file.
    pub fn command(&mut self, command: impl Into<String>) -> &mut Self {
        self.command = command.into();
        self
    }

    /// The path of the crate defining `Limits`, `Source` and `UnknownModel`
    /// (default `::modelstudio_limits`; `crate` inside that crate).
    pub fn types_path(&mut self, path: impl Into<String>) -> &mut Self {
        self.types_path = path.into();
        self
    }

    /// The name of the model enum (default `Model`), UpperCamelCase.
    pub fn model_enum(&mut self, name: impl Into<String>) -> &mut Self {
        self.model_enum = name.into();
        self
    }

    /// The name of the section enum (default `Section`), UpperCamelCase.
    pub fn section_enum(&mut self, name: impl Into<String>) -> &mut Self {
        self.section_enum = name.into();
        self
    }

    /// Adds a derive to both enums, as a path (e.g. `"strum::EnumIter"`).
    /// The ones in [`DERIVES`] are always there and cannot be added again.
    pub fn derive(&mut self, path: impl Into<String>) -> &mut Self {
        self.derives.push(path.into());
        self
    }

    /// Adds outer attributes to both enums, written out (e.g.
    /// `"#[cfg_attr(docsrs, doc(cfg(feature = \"x\")))]"`).
    pub fn attribute(&mut self, attribute: impl Into<String>) -> &mut Self {
        self.attributes.push(attribute.into());
        self
    }

    /// Implements serde for the model enum (`true`) or not (`false`, the
    /// default). See [`Serde`].
    pub fn serde(&mut self, on: bool) -> &mut Self {
        self.serde = if on { Serde::On } else { Serde::Off };
        self
    }

    /// How `from_id` looks names up (default [`Lookup::Auto`]: by the
    /// table's size).
    pub fn lookup(&mut self, lookup: Lookup) -> &mut Self {
        self.lookup = lookup;
        self
    }

    /// Implements serde for the model enum under `#[cfg(feature = "...")]`.
    pub fn serde_feature(&mut self, feature: impl Into<String>) -> &mut Self {
        self.serde = Serde::Feature(feature.into());
        self
    }

    /// Fails on warnings of the limits file too (default: they are passed
    /// to cargo as `cargo::warning`).
    pub fn deny_warnings(&mut self, deny: bool) -> &mut Self {
        self.deny_warnings = deny;
        self
    }

    /// Generates the module's source text for `table`. Pure and
    /// deterministic: the same table and options give the same bytes.
    /// Fails only when an option is invalid (every invalid option is named).
    pub fn generate(&self, table: &Table) -> Result<String, BuildError> {
        Ok(self.generate_with(table, &self.options()?))
    }

    /// [`Builder::generate`] with the options already checked.
    fn generate_with(&self, table: &Table, options: &Options) -> String {
        let name = self.shown_input_name();
        let name = name.escape_debug();
        let header = format!(
            "@generated by `{}` from {name}; do not edit by hand.\n\
             To change it, edit {name} and run the command again.\n\
             {name} sha256: {}",
            self.command.escape_debug(),
            table.input_sha256
        );
        let mut file = pretty::FileWriter::new(&header);
        emit::emit(table, options, &mut |piece| match piece {
            emit::Piece::Items(tokens) => file.items(tokens),
            emit::Piece::Lines(text) => file.lines(&text),
        });
        file.finish()
            .unwrap_or_else(|e| panic!("bug: limits-codegen emitted invalid Rust: {e}"))
    }

    /// The table as Markdown, for documentation: per section a heading of
    /// level `heading` (e.g. `"##"`, with the section's mode) and a row per
    /// model (id, aliases, the limits in words: RPM, TPM and the other
    /// kinds). Free text is escaped; nothing in it can open a link or HTML.
    pub fn markdown_table(&self, table: &Table, heading: &str) -> String {
        let name = self.shown_input_name();
        format!(
            "<!-- @generated by `{}` from {}; do not edit by hand. -->\n\n{}",
            // Nothing may end the comment early.
            self.command
                .escape_debug()
                .to_string()
                .replace("-->", "- ->"),
            name.escape_debug().to_string().replace("-->", "- ->"),
            markdown::table(table, heading)
        )
    }

    /// Reads the input, checks it, generates the code and writes it to the
    /// output directory if its content changed; prints
    /// `cargo::rerun-if-changed` for the input and `cargo::warning` for each
    /// warning. On invalid input the error renders every finding located
    /// (file:line:col), as `limits check` does.
    pub fn try_build(&self) -> Result<Built, BuildError> {
        let options = self.options()?;
        let input = self.input.display().to_string();
        if input.contains(['\n', '\r']) {
            return Err(BuildError(Kind::Options(vec![format!(
                "input path {input:?} has a line break, which cargo instructions cannot carry"
            )])));
        }
        println!("cargo::rerun-if-changed={input}");
        let checked = Checked::read(&self.input).map_err(|error| BuildError(Kind::Load(error)))?;
        let denied = self.deny_warnings && !checked.diagnostics.is_empty();
        let (table, diagnostics, text) = match checked {
            Checked {
                table: Some(table),
                diagnostics,
                text,
                ..
            } if !denied => (table, diagnostics, text),
            checked => {
                return Err(BuildError(Kind::Invalid {
                    denied_warnings: !checked.diagnostics.has_errors(),
                    report: checked.into_report(),
                }))
            }
        };
        let lines = LineIndex::new(&text);
        for d in &diagnostics {
            let at = lines.location(&text, &d.primary.span);
            let message = d.message.replace(['\n', '\r'], " ");
            println!(
                "cargo::warning={input}:{}:{}: warning[{}]: {message}",
                at.line, at.column, d.code
            );
        }
        let code = self.generate_with(&table, &options);
        let dir = match &self.out_dir {
            Some(dir) => dir.clone(),
            None => std::env::var_os("OUT_DIR")
                .map(PathBuf::from)
                .ok_or(BuildError(Kind::NoOutDir))?,
        };
        let path = dir.join(&self.out_file);
        let outcome = write_if_changed(&path, &code).map_err(|error| {
            BuildError(Kind::Write {
                path: path.clone(),
                error,
            })
        })?;
        Ok(Built {
            path,
            outcome,
            table,
            warnings: diagnostics,
        })
    }

    /// [`Builder::try_build`] for `build.rs`: on error, prints it to stderr
    /// and exits with status 1, so cargo shows the findings and no panic
    /// backtrace. Returns the generated file's path.
    pub fn build(&self) -> PathBuf {
        match self.try_build() {
            Ok(built) => built.path,
            Err(error) if error.report().is_some() => {
                // The findings carry their own `error[E...]` headings.
                eprintln!("{error}");
                std::process::exit(1)
            }
            Err(error) => {
                let mut message = format!("error: {error}");
                let mut cause = std::error::Error::source(&error);
                while let Some(c) = cause {
                    message.push_str(&format!(": {c}"));
                    cause = c.source();
                }
                eprintln!("{message}");
                std::process::exit(1)
            }
        }
    }

    /// The input's name for headers: [`Builder::input_name`], or the path.
    fn shown_input_name(&self) -> String {
        match &self.input_name {
            Some(name) => name.clone(),
            None => self.input.display().to_string(),
        }
    }

    /// Checks every option, naming each invalid one.
    fn options(&self) -> Result<Options, BuildError> {
        let mut problems = Vec::new();
        let types = syn::parse_str::<syn::Path>(&self.types_path)
            .map_err(|e| problems.push(format!("types_path {:?}: {e}", self.types_path)))
            .ok();
        let mut enum_name = |what: &str, name: &str| match check_rust_name(name) {
            Ok(()) => Some(Ident::new(name, Span::call_site())),
            Err(why) => {
                problems.push(format!("{what} {name:?} {why}"));
                None
            }
        };
        let model = enum_name("model_enum", &self.model_enum);
        let section = enum_name("section_enum", &self.section_enum);
        if self.model_enum == self.section_enum {
            problems.push(format!(
                "model_enum and section_enum are both {:?}",
                self.model_enum
            ));
        }
        let mut derives = Vec::new();
        let mut seen = Vec::new();
        for derive in &self.derives {
            match syn::parse_str::<syn::Path>(derive) {
                Ok(path) => {
                    let last = path.segments.last().map(|s| s.ident.to_string());
                    if last.as_deref().is_some_and(|l| DERIVES.contains(&l)) {
                        problems.push(format!("derive {derive:?} is always derived"));
                    } else if last.as_deref().is_some_and(|l| IMPLEMENTED.contains(&l)) {
                        problems.push(format!("derive {derive:?} is implemented already (by id)"));
                    } else if seen.contains(&last) {
                        problems.push(format!("derive {derive:?} is given twice"));
                    } else {
                        seen.push(last);
                        derives.push(path);
                    }
                }
                Err(e) => problems.push(format!("derive {derive:?}: {e}")),
            }
        }
        let mut attributes = Vec::new();
        for attribute in &self.attributes {
            match syn::Attribute::parse_outer.parse_str(attribute) {
                Ok(parsed) if !parsed.is_empty() => attributes.extend(parsed),
                Ok(_) => problems.push(format!("attribute {attribute:?} is empty")),
                Err(e) => problems.push(format!(
                    "attribute {attribute:?}: {e} (write it out: `#[name(...)]`)"
                )),
            }
        }
        if let Serde::Feature(feature) = &self.serde {
            if feature.is_empty() {
                problems.push("serde_feature is empty".to_string());
            }
        }
        let plain_name = Path::new(&self.out_file).file_name();
        if self.out_file.is_empty() || plain_name != Some(self.out_file.as_ref()) {
            problems.push(format!(
                "out_file {:?} is not a plain file name (use out_dir for the directory)",
                self.out_file
            ));
        }
        match (types, model, section) {
            (Some(types), Some(model), Some(section)) if problems.is_empty() => Ok(Options {
                types,
                model,
                section,
                derives,
                attributes,
                serde: self.serde.clone(),
                lookup: self.lookup,
            }),
            _ => Err(BuildError(Kind::Options(problems))),
        }
    }
}

/// What [`Builder::try_build`] did.
#[derive(Debug)]
pub struct Built {
    /// The generated file.
    pub path: PathBuf,
    /// Whether it was written or already up to date.
    pub outcome: WriteOutcome,
    /// The validated table it was generated from.
    pub table: Table,
    /// The limits file's warnings (empty, or none when denied).
    pub warnings: Diagnostics,
}

/// Why [`Builder`] could not generate. `Display` (and `Debug`, so that
/// `fn main() -> Result<(), BuildError>` prints it readably) gives the
/// rendered findings, the options that are wrong, or the file that could
/// not be read or written (with the I/O error as `source()`).
pub struct BuildError(Kind);

enum Kind {
    Options(Vec<String>),
    Load(LoadError),
    Invalid {
        report: Report,
        /// Only warnings, refused by [`Builder::deny_warnings`].
        denied_warnings: bool,
    },
    NoOutDir,
    Write {
        path: PathBuf,
        error: io::Error,
    },
}

impl BuildError {
    /// The findings, when the limits file is invalid (or its warnings
    /// denied).
    pub fn report(&self) -> Option<&Report> {
        match &self.0 {
            Kind::Invalid { report, .. } => Some(report),
            Kind::Load(error) => error.report(),
            _ => None,
        }
    }
}

impl fmt::Display for BuildError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.0 {
            Kind::Options(problems) => {
                write!(f, "invalid limits_codegen::Builder options:")?;
                for p in problems {
                    write!(f, "\n  - {p}")?;
                }
                Ok(())
            }
            Kind::Load(error) => fmt::Display::fmt(error, f),
            Kind::Invalid {
                report,
                denied_warnings,
            } => {
                fmt::Display::fmt(report, f)?;
                if *denied_warnings {
                    let warnings = report.diagnostics().len();
                    write!(f, "\n{warnings} warning(s) denied (deny_warnings)")?;
                }
                Ok(())
            }
            Kind::NoOutDir => {
                f.write_str("OUT_DIR is not set: run from a build script, or set Builder::out_dir")
            }
            Kind::Write { path, .. } => write!(f, "cannot write {}", path.display()),
        }
    }
}

impl fmt::Debug for BuildError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

impl std::error::Error for BuildError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match &self.0 {
            Kind::Load(error) => error.source(),
            Kind::Write { error, .. } => Some(error),
            _ => None,
        }
    }
}
