//! `limits export`: the table as JSON.

use std::io;
use std::path::Path;

use limits_format::{Deployment, Retired, Table};
use serde::Serialize;

use crate::{input, ExportFormat, Io, EXIT_INVALID, EXIT_OK};

/// The export's contract (`limits export --format json`): `schema` 2,
/// `source`, and one object per model and mode, in file order.
#[derive(Serialize)]
struct Export<'a> {
    schema: u32,
    source: Source<'a>,
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
struct Model<'a> {
    id: &'a str,
    /// `cn`, `intl`, `global` or `us`; a schema 1 table's rows hold in
    /// every mode and come once per mode.
    deployment: &'static str,
    aliases: &'a [String],
    section: &'a str,
    /// Only the kinds the row has.
    limits: serde_json::Map<String, serde_json::Value>,
    /// `null`, a date (`YYYY-MM-DD`) or `true`.
    retired: serde_json::Value,
    replaced_by: Option<&'a str>,
    pool: Option<&'a str>,
}

fn export(table: &Table) -> Export<'_> {
    let s = &table.source;
    let mut models = Vec::new();
    for r in table.models() {
        let modes: &[Deployment] = match &r.section.mode {
            Some(mode) => std::slice::from_ref(mode),
            None => &Deployment::ALL,
        };
        for mode in modes {
            let mut limits = serde_json::Map::new();
            for (kind, n) in r.group.limits.kinds() {
                limits.insert(kind.key().to_string(), n.into());
            }
            models.push(Model {
                id: &r.model.id,
                deployment: mode.id(),
                aliases: &r.model.aliases,
                section: &r.section.id,
                limits,
                retired: match &r.group.retired {
                    None => serde_json::Value::Null,
                    Some(Retired::Yes) => true.into(),
                    Some(Retired::On(date)) => date.as_str().into(),
                },
                replaced_by: r.model.replaced_by.as_deref(),
                pool: r.group.pool.as_deref(),
            });
        }
    }
    Export {
        schema: 2,
        source: Source {
            provider: &s.provider,
            url: &s.url,
            region: s.region.as_deref(),
            retrieved: s.retrieved.as_deref(),
            note: s.note.as_deref(),
        },
        models,
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

    /// The export is the contract: a model object's keys, and `limits`
    /// holds only the format's kinds, with the values of the table.
    #[test]
    fn the_export_writes_the_contract() {
        let input = include_str!("../../limits-format/tests/fixtures/good/modes_and_kinds.toml");
        let table = limits_format::parse("t.toml", input).unwrap();
        let json = serde_json::to_value(export(&table)).unwrap();
        assert_eq!(json["schema"], 2);
        assert_eq!(object_keys(&json["source"]), sorted(keys::SOURCE));
        let models = json["models"].as_array().unwrap();
        assert_eq!(models.len(), table.models().count());
        for (model, row) in models.iter().zip(table.models()) {
            assert_eq!(
                object_keys(model),
                sorted(&[
                    "id",
                    "deployment",
                    "aliases",
                    "section",
                    "limits",
                    "retired",
                    "replaced_by",
                    "pool"
                ])
            );
            assert_eq!(model["id"], row.model.id.as_str());
            assert_eq!(model["deployment"], row.section.mode.unwrap().id());
            for (kind, value) in model["limits"].as_object().unwrap() {
                assert!(keys::KINDS.contains(&kind.as_str()), "{kind}");
                let kind = limits_format::Kind::ALL
                    .into_iter()
                    .find(|k| k.key() == kind)
                    .unwrap();
                assert_eq!(value.as_u64(), row.group.limits.get(kind));
            }
            assert_eq!(
                model["limits"].as_object().unwrap().len(),
                row.group.limits.kinds().count()
            );
            assert_eq!(model["pool"].as_str(), row.group.pool.as_deref());
        }
        let retired: Vec<&serde_json::Value> = models
            .iter()
            .map(|m| &m["retired"])
            .filter(|r| !r.is_null())
            .collect();
        assert_eq!(
            retired,
            [&serde_json::json!("2026-01-30"), &serde_json::json!(true)]
        );
    }

    #[test]
    fn a_table_without_modes_is_exported_once_per_mode() {
        let input = include_str!("../../limits-format/tests/fixtures/good/groups_and_aliases.toml");
        let table = limits_format::parse("t.toml", input).unwrap();
        let json = serde_json::to_value(export(&table)).unwrap();
        let models = json["models"].as_array().unwrap();
        assert_eq!(models.len(), table.models().count() * Deployment::ALL.len());
        assert!(models.iter().all(|m| m["limits"].get("rpm").is_some()));
    }
}
