//! `limits export`: the table as JSON.

use std::io;
use std::path::Path;

use limits_format::{Deployment, Retired, Section, Table};
use serde::Serialize;

use crate::{input, ExportFormat, Io, EXIT_INVALID, EXIT_OK};

/// The export's contract (`limits export --format json`): `schema` 3,
/// `source`, one object per model, region and scope in file order, and the
/// pooled budgets.
#[derive(Serialize)]
struct Export<'a> {
    schema: u32,
    source: Source<'a>,
    models: Vec<Model<'a>>,
    pools: Vec<PoolOut<'a>>,
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
    /// A schema 1 table's rows hold everywhere and come once per documented
    /// (region, scope).
    region: &'static str,
    scope: &'static str,
    aliases: &'a [String],
    section: &'a str,
    /// Only the kinds the row has.
    limits: serde_json::Map<String, serde_json::Value>,
    dynamic: bool,
    tpm_tiers: Option<&'a [u64]>,
    /// `null`, a date (`YYYY-MM-DD`) or `true`.
    retired: serde_json::Value,
    replaced_by: Option<&'a str>,
    pool: Option<&'a str>,
}

#[derive(Serialize)]
struct PoolOut<'a> {
    name: &'a str,
    region: &'static str,
    scope: &'static str,
    per: &'static str,
    limits: serde_json::Map<String, serde_json::Value>,
    members: Vec<&'a str>,
}

/// Only the kinds `limits` has, by their keys.
fn kinds(limits: &limits_format::Limits) -> serde_json::Map<String, serde_json::Value> {
    limits
        .kinds()
        .map(|(kind, n)| (kind.key().to_string(), n.into()))
        .collect()
}

/// Where a section's rows hold: its deployment, or every documented one
/// for a schema 1 section.
fn places(section: &Section) -> &[Deployment] {
    match &section.mode {
        Some(mode) => std::slice::from_ref(mode),
        None => &Deployment::ALL,
    }
}

fn export(table: &Table) -> Export<'_> {
    let s = &table.source;
    let mut models = Vec::new();
    let mut pools = Vec::new();
    for section in &table.sections {
        for group in &section.groups {
            for place in places(section) {
                if let Some(name) = &group.pool {
                    pools.push(PoolOut {
                        name,
                        region: place.region.id(),
                        scope: place.scope.id(),
                        per: group.per.id(),
                        limits: kinds(&group.limits),
                        members: group.models.iter().map(|m| m.id.as_str()).collect(),
                    });
                }
            }
        }
    }
    for r in table.models() {
        for place in places(r.section) {
            models.push(Model {
                id: &r.model.id,
                region: place.region.id(),
                scope: place.scope.id(),
                aliases: &r.model.aliases,
                section: &r.section.id,
                limits: kinds(&r.group.limits),
                dynamic: r.group.limits.dynamic,
                tpm_tiers: r.group.limits.tpm_tiers.as_deref(),
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
        schema: 3,
        source: Source {
            provider: &s.provider,
            url: &s.url,
            region: s.region.as_deref(),
            retrieved: s.retrieved.as_deref(),
            note: s.note.as_deref(),
        },
        models,
        pools,
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
        assert_eq!(json["schema"], 3);
        assert_eq!(object_keys(&json["source"]), sorted(keys::SOURCE));
        let models = json["models"].as_array().unwrap();
        assert_eq!(models.len(), table.models().count());
        for (model, row) in models.iter().zip(table.models()) {
            assert_eq!(
                object_keys(model),
                sorted(&[
                    "id",
                    "region",
                    "scope",
                    "aliases",
                    "section",
                    "limits",
                    "dynamic",
                    "tpm_tiers",
                    "retired",
                    "replaced_by",
                    "pool"
                ])
            );
            assert_eq!(model["id"], row.model.id.as_str());
            let place = row.section.mode.unwrap();
            assert_eq!(model["region"], place.region.id());
            assert_eq!(model["scope"], place.scope.id());
            assert_eq!(model["dynamic"], row.group.limits.dynamic);
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
    fn dynamic_limits_and_pools_per_api_key_are_exported() {
        let input =
            include_str!("../../limits-format/tests/fixtures/good/regions_and_dynamic.toml");
        let table = limits_format::parse("t.toml", input).unwrap();
        let json = serde_json::to_value(export(&table)).unwrap();
        let models = json["models"].as_array().unwrap();
        let group = &table.sections[0].groups[0];
        let first = &models[0];
        assert_eq!(first["id"], group.models[0].id.as_str());
        assert_eq!(first["dynamic"], true);
        let tiers: Vec<u64> = first["tpm_tiers"]
            .as_array()
            .unwrap()
            .iter()
            .map(|t| t.as_u64().unwrap())
            .collect();
        assert_eq!(Some(tiers), group.limits.tpm_tiers);
        assert!(models.iter().any(|m| m["tpm_tiers"].is_null()));
        let pools = json["pools"].as_array().unwrap();
        let pooled: Vec<_> = table.models().filter(|r| r.group.pool.is_some()).collect();
        assert_eq!(pools.len(), 1);
        assert_eq!(
            object_keys(&pools[0]),
            sorted(&["name", "region", "scope", "per", "limits", "members"])
        );
        assert_eq!(pools[0]["per"], pooled[0].group.per.id());
        assert_eq!(pools[0]["members"].as_array().unwrap().len(), pooled.len());
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
