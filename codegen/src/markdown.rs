//! Free text and the table as Markdown, for the generated docs.
//!
//! Nothing from the input reaches Markdown unescaped: ids are validated
//! (no backtick can occur in one) and free text goes through
//! [`markdown_text`].

use limits_format::ir::Table;

/// Free text as one line of literal Markdown: whitespace runs (newlines
/// included) become one space, control characters are dropped, and every
/// ASCII punctuation character is backslash-escaped, so the text can open
/// no code block, link, HTML tag or emphasis in rustdoc.
pub(crate) fn markdown_text(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for word in text.split_whitespace() {
        if !out.is_empty() {
            out.push(' ');
        }
        for c in word.chars().filter(|c| !c.is_control()) {
            if c.is_ascii_punctuation() {
                out.push('\\');
            }
            out.push(c);
        }
    }
    out
}

/// The whole table as Markdown: a heading per section (`heading` is its
/// level, e.g. `"###"`) and a row per model with its aliases and limits.
pub(crate) fn table(table: &Table, heading: &str) -> String {
    let mut out = String::new();
    for section in &table.sections {
        let mode = section
            .mode
            .map(|m| format!(" ({})", m.id()))
            .unwrap_or_default();
        out.push_str(&format!(
            "{heading} {}{mode}\n\n| Model | Aliases | Limits |\n|---|---|---|\n",
            markdown_text(&section.title)
        ));
        for group in &section.groups {
            let mut limits =
                limits_format::diff::describe_limits(&group.limits, section.mode.is_none());
            if let Some(pool) = &group.pool {
                limits.push_str(&format!(" (pool `{pool}`, shared)"));
            }
            match &group.retired {
                Some(limits_format::Retired::On(date)) => limits = format!("retired {date}"),
                Some(limits_format::Retired::Yes) => limits = "retired".into(),
                None => {}
            }
            for model in &group.models {
                let aliases: Vec<String> = model.aliases.iter().map(|a| format!("`{a}`")).collect();
                out.push_str(&format!(
                    "| `{}` | {} | {} |\n",
                    model.id,
                    aliases.join(", "),
                    limits
                ));
            }
        }
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn markdown_text_is_one_inert_line() {
        assert_eq!(
            markdown_text("a\n```rust\nfn x(){}\n```  <b>*x*</b>"),
            "a \\`\\`\\`rust fn x\\(\\)\\{\\} \\`\\`\\` \\<b\\>\\*x\\*\\<\\/b\\>"
        );
        assert_eq!(markdown_text("    indented\u{7}"), "indented");
    }

    #[test]
    fn table_has_a_row_per_model() {
        let input = include_str!("../../crates/limits-format/tests/fixtures/good/minimal.toml");
        let t = limits_format::parse("minimal.toml", input).unwrap();
        let md = table(&t, "##");
        let rows = md.lines().filter(|l| l.starts_with("| `")).count();
        assert_eq!(rows, t.models().count());
        assert!(md.starts_with("## "));
    }
}
