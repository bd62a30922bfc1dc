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
