//! A table written out as a limits file, in the layout of the repository's
//! `limits.toml`: what `limits import` produces. Reading the text back
//! gives the same table (a test holds it to that).

use std::fmt::Write as _;

use crate::ir::{Group, Model, Retired, Table};
use crate::{ident, keys};

/// `table` as limits-file text, after `preamble` (comment lines, e.g. the
/// `#:schema` line; written as given).
pub fn to_toml(table: &Table, preamble: &str) -> String {
    let mut out = String::from(preamble);
    if !out.is_empty() && !out.ends_with("\n\n") {
        out.push_str(if out.ends_with('\n') { "\n" } else { "\n\n" });
    }
    let _ = writeln!(out, "{} = {}\n", keys::ROOT[0], table.schema);
    let s = &table.source;
    out.push_str("[source]\n");
    line(&mut out, "provider", &string(&s.provider));
    line(&mut out, "url", &string(&s.url));
    if let Some(region) = &s.region {
        line(&mut out, "region", &string(region));
    }
    if let Some(retrieved) = &s.retrieved {
        // A TOML date, unquoted (validated as YYYY-MM-DD).
        line(&mut out, "retrieved", retrieved);
    }
    if let Some(note) = &s.note {
        line(&mut out, "note", &string(note));
    }
    for section in &table.sections {
        out.push_str("\n[[section]]\n");
        line(&mut out, "id", &string(&section.id));
        match (section.mode, table.schema) {
            (None, _) => {}
            (Some(mode), 2) => line(&mut out, "mode", &string(mode.mode_id().unwrap_or("?"))),
            (Some(d), _) => {
                line(&mut out, "region", &string(d.region.id()));
                line(&mut out, "scope", &string(d.scope.id()));
            }
        }
        line(&mut out, "title", &string(&section.title));
        if let Some(category) = &section.category {
            line(&mut out, "category", &string(category));
        }
        if let Some(note) = &section.note {
            line(&mut out, "note", &string(note));
        }
        for group in &section.groups {
            write_group(&mut out, group, table.schema == 1);
        }
    }
    out
}

fn write_group(out: &mut String, group: &Group, schema_1: bool) {
    out.push_str("\n[[section.group]]\n");
    for (kind, n) in group.limits.kinds() {
        let key = match kind.key() {
            "rpm" if schema_1 => "qpm",
            key => key,
        };
        line(out, key, &number(n));
    }
    if group.limits.sync_unlimited {
        line(out, "sync_unlimited", "true");
    }
    match &group.limits.tpm_tiers {
        Some(tiers) => {
            let tiers: Vec<String> = tiers.iter().map(|&n| number(n)).collect();
            line(out, "tpm_tiers", &format!("[{}]", tiers.join(", ")));
        }
        None if group.limits.dynamic => line(out, "dynamic", "true"),
        None => {}
    }
    if let Some(pool) = &group.pool {
        line(out, "pool", &string(pool));
        if group.per != crate::ir::Per::Account {
            line(out, "per", &string(group.per.id()));
        }
    }
    match &group.retired {
        None => {}
        Some(Retired::Yes) => line(out, "retired", "true"),
        // A TOML date, unquoted (validated as YYYY-MM-DD).
        Some(Retired::On(date)) => line(out, "retired", date),
    }
    if let Some(note) = &group.note {
        line(out, "note", &string(note));
    }
    let models: Vec<String> = group.models.iter().map(model).collect();
    let one_line = format!("models = [{}]", models.join(", "));
    if one_line.len() <= 80 && group.models.iter().all(|m| !m.contains_table()) {
        out.push_str(&one_line);
        out.push('\n');
    } else {
        out.push_str("models = [\n");
        for m in &models {
            let _ = writeln!(out, "  {m},");
        }
        out.push_str("]\n");
    }
}

impl Model {
    /// Whether the model needs a table (`{ id = ... }`) to be written.
    fn contains_table(&self) -> bool {
        !self.aliases.is_empty()
            || self.deprecated.is_some()
            || self.replaced_by.is_some()
            || self.rust_name != ident::rust_name(&self.id)
    }
}

fn model(m: &Model) -> String {
    if !m.contains_table() {
        return string(&m.id);
    }
    let mut fields = vec![format!("id = {}", string(&m.id))];
    if !m.aliases.is_empty() {
        let aliases: Vec<String> = m.aliases.iter().map(|a| string(a)).collect();
        fields.push(format!("aliases = [{}]", aliases.join(", ")));
    }
    if m.rust_name != ident::rust_name(&m.id) {
        fields.push(format!("rust_name = {}", string(&m.rust_name)));
    }
    if let Some(reason) = &m.deprecated {
        fields.push(format!("deprecated = {}", string(reason)));
    }
    if let Some(by) = &m.replaced_by {
        fields.push(format!("replaced_by = {}", string(by)));
    }
    format!("{{ {} }}", fields.join(", "))
}

fn line(out: &mut String, key: &str, value: &str) {
    let _ = writeln!(out, "{key} = {value}");
}

/// A TOML basic string, escaped by the toml crate.
fn string(s: &str) -> String {
    toml::Value::String(s.to_owned()).to_string()
}

/// `1000000` as `1_000_000`, as limits.toml writes numbers.
fn number(n: u64) -> String {
    group_digits(n, '_')
}

/// `n` with `separator` between groups of three digits: `1,000,000` in
/// prose and Markdown, `1_000_000` in TOML and Rust.
pub fn group_digits(n: impl Into<u64>, separator: char) -> String {
    let digits = n.into().to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(separator);
        }
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_written_table_reads_back_the_same() {
        for file in [
            "groups_and_aliases",
            "rust_name_override",
            "deprecated",
            "hostile_text",
        ] {
            let path = format!(
                "{}/tests/fixtures/good/{file}.toml",
                env!("CARGO_MANIFEST_DIR")
            );
            let table = crate::read(&path).unwrap();
            let text = to_toml(&table, "# written\n");
            let again = crate::parse("again.toml", &text).unwrap_or_else(|r| panic!("{r}\n{text}"));
            assert_eq!(
                Table {
                    input_sha256: String::new(),
                    ..again
                },
                Table {
                    input_sha256: String::new(),
                    ..table
                },
                "{file}"
            );
            assert!(text.starts_with("# written\n\nschema = 1\n"));
        }
        assert_eq!(number(1_000_000), "1_000_000");
        assert_eq!(number(999), "999");
        assert_eq!(group_digits(4_294_967_295u32, ','), "4,294,967,295");
        assert_eq!(group_digits(1_000u32, ','), "1,000");
    }
}
