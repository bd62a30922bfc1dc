//! `limits gen`: regenerate the typed crate's code and its table doc.

use std::io;
use std::path::{Path, PathBuf};

use limits_codegen::{Builder, WriteOutcome, DEFAULT_COMMAND};

use crate::{input, Io, EXIT_INVALID, EXIT_OK};

/// The heading level of the sections in the table doc (it sits under the
/// crate docs' "## The table").
const TABLE_HEADING: &str = "###";

pub(crate) fn run(
    input: &Path,
    output: &Path,
    table_doc: Option<&Path>,
    check: bool,
    color: bool,
    io: &mut Io<'_>,
) -> io::Result<u8> {
    let Some(table) = input::load(input, color, io.stderr)? else {
        return Ok(EXIT_INVALID);
    };
    let builder = Builder::modelstudio_limits();
    let code = limits_codegen::generate(&table);
    let doc_path = table_doc.map_or_else(|| sibling(output, "table.md"), Path::to_path_buf);
    let doc = builder.markdown_table(&table, TABLE_HEADING);
    let files = [(output, code), (doc_path.as_path(), doc)];
    if check {
        let mut stale = false;
        for (path, content) in &files {
            let shown = path.display();
            let current = match std::fs::read(path) {
                Ok(bytes) => Some(bytes),
                Err(e) if e.kind() == io::ErrorKind::NotFound => None,
                Err(e) => {
                    return Err(io::Error::new(
                        e.kind(),
                        format!("cannot read {shown}: {e}"),
                    ));
                }
            };
            if current.as_deref() == Some(content.as_bytes()) {
                writeln!(io.stdout, "{shown} is up to date")?;
            } else {
                stale = true;
                writeln!(
                    io.stderr,
                    "error: {shown} is out of date with {}\n  run `{DEFAULT_COMMAND}` and commit the result",
                    input.display()
                )?;
            }
        }
        return Ok(if stale { EXIT_INVALID } else { EXIT_OK });
    }
    for (path, content) in &files {
        let shown = path.display();
        let outcome = limits_codegen::write_if_changed(path, content)
            .map_err(|e| io::Error::new(e.kind(), format!("cannot write {shown}: {e}")))?;
        match outcome {
            WriteOutcome::Written => writeln!(io.stdout, "wrote {shown}")?,
            WriteOutcome::Unchanged => writeln!(io.stdout, "{shown} is up to date")?,
        }
    }
    Ok(EXIT_OK)
}

/// `name` in the directory of `path`.
fn sibling(path: &Path, name: &str) -> PathBuf {
    path.parent().unwrap_or(Path::new("")).join(name)
}
