//! Machine-readable findings: JSON, and GitHub Actions workflow commands.

use std::io::{self, Write};

use limits_format::{Diagnostic, Diagnostics, Label, LineIndex, Severity};
use serde::Serialize;

#[derive(Serialize)]
struct JsonDiagnostic<'a> {
    code: &'static str,
    severity: &'static str,
    message: &'a str,
    file: &'a str,
    line: usize,
    column: usize,
    end_line: usize,
    end_column: usize,
    help: Option<&'a str>,
    labels: Vec<JsonLabel<'a>>,
}

#[derive(Serialize)]
struct JsonLabel<'a> {
    primary: bool,
    message: &'a str,
    line: usize,
    column: usize,
    end_line: usize,
    end_column: usize,
}

fn severity(d: &Diagnostic) -> &'static str {
    match d.severity {
        Severity::Error => "error",
        Severity::Warning => "warning",
    }
}

fn json_label<'a>(source: &str, lines: &LineIndex, l: &'a Label, primary: bool) -> JsonLabel<'a> {
    let at = lines.location(source, &l.span);
    JsonLabel {
        primary,
        message: &l.message,
        line: at.line,
        column: at.column,
        end_line: at.end_line,
        end_column: at.end_column,
    }
}

/// Every finding as one JSON array (pretty-printed), then a newline.
pub(crate) fn write_json(
    out: &mut dyn Write,
    file: &str,
    source: &str,
    diagnostics: &Diagnostics,
) -> io::Result<()> {
    let lines = LineIndex::new(source);
    let items: Vec<JsonDiagnostic<'_>> = diagnostics
        .iter()
        .map(|d| {
            let at = lines.location(source, &d.primary.span);
            JsonDiagnostic {
                code: d.code.as_str(),
                severity: severity(d),
                message: &d.message,
                file,
                line: at.line,
                column: at.column,
                end_line: at.end_line,
                end_column: at.end_column,
                help: d.help.as_deref(),
                labels: std::iter::once(json_label(source, &lines, &d.primary, true))
                    .chain(
                        d.secondary
                            .iter()
                            .map(|l| json_label(source, &lines, l, false)),
                    )
                    .collect(),
            }
        })
        .collect();
    serde_json::to_writer_pretty(&mut *out, &items)?;
    writeln!(out)
}

/// Escapes a workflow command's message.
fn escape_data(s: &str) -> String {
    s.replace('%', "%25")
        .replace('\r', "%0D")
        .replace('\n', "%0A")
}

/// Escapes a workflow command's property value.
fn escape_property(s: &str) -> String {
    escape_data(s).replace(':', "%3A").replace(',', "%2C")
}

/// One `::error` or `::warning` workflow command per finding, so a pull
/// request shows each on its line.
pub(crate) fn write_github(
    out: &mut dyn Write,
    file: &str,
    source: &str,
    diagnostics: &Diagnostics,
) -> io::Result<()> {
    let lines = LineIndex::new(source);
    for d in diagnostics {
        let at = lines.location(source, &d.primary.span);
        let mut message = d.message.clone();
        if let Some(help) = &d.help {
            message.push_str("\nhelp: ");
            message.push_str(help);
        }
        writeln!(
            out,
            "::{} file={},line={},col={},endLine={},endColumn={},title={}::{}",
            severity(d),
            escape_property(file),
            at.line,
            at.column,
            at.end_line,
            at.end_column,
            d.code,
            escape_data(&message)
        )?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn workflow_commands_escape_what_github_parses() {
        assert_eq!(escape_data("50% a\nb\r"), "50%25 a%0Ab%0D");
        assert_eq!(escape_property("a:b,c%"), "a%3Ab%2Cc%25");
    }
}
