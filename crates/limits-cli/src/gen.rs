//! `limits gen`: regenerate the typed crate's code and its table doc.

use std::io;
use std::path::{Path, PathBuf};

use crate::repo::{self, ensure_file_contents, Freshness, Mode, GEN_COMMAND};
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
    let code = repo::generate(&table);
    let doc_path = table_doc.map_or_else(|| sibling(output, "table.md"), Path::to_path_buf);
    let doc = repo::builder().markdown_table(&table, TABLE_HEADING);
    let mode = if check { Mode::Check } else { Mode::Write };
    let mut stale = false;
    for (path, content) in [(output, code), (doc_path.as_path(), doc)] {
        let shown = path.display();
        match ensure_file_contents(path, &content, mode)? {
            Freshness::UpToDate => writeln!(io.stdout, "{shown} is up to date")?,
            Freshness::Written => writeln!(io.stdout, "wrote {shown}")?,
            Freshness::Stale => {
                stale = true;
                writeln!(
                    io.stderr,
                    "error: {shown} is out of date with {}\n  run `{GEN_COMMAND}` and commit the result",
                    input.display()
                )?;
            }
        }
    }
    Ok(if stale { EXIT_INVALID } else { EXIT_OK })
}

/// `name` in the directory of `path`.
fn sibling(path: &Path, name: &str) -> PathBuf {
    path.parent().unwrap_or(Path::new("")).join(name)
}
