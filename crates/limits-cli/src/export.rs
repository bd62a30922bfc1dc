//! `limits export`: the table as JSON.

use std::io;
use std::path::Path;

use limits_format::Table;
use serde::Serialize;

use crate::{input, ExportFormat, Io, EXIT_INVALID, EXIT_OK};

#[derive(Serialize)]
struct Export<'a> {
    schema: u32,
    source: Source<'a>,
    sections: Vec<Section<'a>>,
    models: Vec<Model<'a>>,
}

#[derive(Serialize)]
struct Source<'a> {
    provider: &'a str,
    url: &'a str,
    region: Option<&'a str>,
    retrieved: Option<&'a str>,
    note: Option<&'a str>,
}

#[derive(Serialize)]
struct Section<'a> {
    id: &'a str,
    title: &'a str,
    category: Option<&'a str>,
}

#[derive(Serialize)]
struct Model<'a> {
    id: &'a str,
    aliases: &'a [String],
    qpm: u32,
    tpm: u32,
    section: &'a str,
    deprecated: Option<&'a str>,
}

fn export(table: &Table) -> Export<'_> {
    let s = &table.source;
    Export {
        schema: table.schema,
        source: Source {
            provider: &s.provider,
            url: &s.url,
            region: s.region.as_deref(),
            retrieved: s.retrieved.as_deref(),
            note: s.note.as_deref(),
        },
        sections: table
            .sections
            .iter()
            .map(|s| Section {
                id: &s.id,
                title: &s.title,
                category: s.category.as_deref(),
            })
            .collect(),
        models: table
            .models()
            .map(|r| Model {
                id: &r.model.id,
                aliases: &r.model.aliases,
                qpm: r.group.qpm,
                tpm: r.group.tpm,
                section: &r.section.id,
                deprecated: r.model.deprecated.as_deref(),
            })
            .collect(),
    }
}

pub(crate) fn run(
    file: &Path,
    format: ExportFormat,
    color: bool,
    io: &mut Io<'_>,
) -> io::Result<u8> {
    let Some(table) = input::load(file, color, io.stderr)? else {
        return Ok(EXIT_INVALID);
    };
    match format {
        ExportFormat::Json => {
            serde_json::to_writer_pretty(&mut *io.stdout, &export(&table))?;
            writeln!(io.stdout)?;
        }
    }
    Ok(EXIT_OK)
}

#[cfg(test)]
mod tests {
    use super::*;
    use limits_format::keys;

    fn object_keys(value: &serde_json::Value) -> Vec<String> {
        value.as_object().unwrap().keys().cloned().collect()
    }

    fn sorted(keys: &[&str]) -> Vec<String> {
        let mut keys: Vec<String> = keys.iter().map(|k| k.to_string()).collect();
        keys.sort();
        keys
    }

    /// The export is the format's shape flattened: every key it writes is
    /// one of the format's (a model's own, or its group's), or names the
    /// section a model belongs to.
    #[test]
    fn the_export_writes_the_formats_keys() {
        let input = include_str!("../../limits-format/tests/fixtures/good/groups_and_aliases.toml");
        let table = limits_format::parse("t.toml", input).unwrap();
        let json = serde_json::to_value(export(&table)).unwrap();
        assert_eq!(object_keys(&json["source"]), sorted(keys::SOURCE));
        for section in json["sections"].as_array().unwrap() {
            for key in object_keys(section) {
                assert!(keys::SECTION.contains(&key.as_str()), "{key}");
            }
        }
        for model in json["models"].as_array().unwrap() {
            for key in object_keys(model) {
                let known = keys::MODEL.contains(&key.as_str())
                    || keys::GROUP.contains(&key.as_str())
                    || key == "section";
                assert!(known, "{key}");
            }
        }
    }
}
