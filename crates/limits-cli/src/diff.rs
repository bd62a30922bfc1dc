//! `limits diff`: what changed between two limits files, and the semver
//! impact on the generated crate.

use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::process::Command;

use limits_format::diff::{diff, impact, Change, Impact};
use limits_format::{Checked, Table};

use crate::{input, DenyLevel, DiffFormat, Io, EXIT_INVALID, EXIT_OK};

pub(crate) fn run(
    files: &[PathBuf],
    git: Option<&str>,
    format: DiffFormat,
    deny: Option<DenyLevel>,
    color: bool,
    io: &mut Io<'_>,
) -> io::Result<u8> {
    let usage = |msg: &str| io::Error::new(io::ErrorKind::InvalidInput, msg.to_string());
    let (old, new) = match (git, files) {
        (Some(rev), [] | [_]) => {
            let file = files
                .first()
                .map_or(Path::new("limits.toml"), PathBuf::as_path);
            (from_git(rev, file)?, from_file(file)?)
        }
        (Some(_), _) => return Err(usage("with --git, give at most one FILE")),
        (None, [old, new]) => (from_file(old)?, from_file(new)?),
        (None, _) => return Err(usage("give OLD and NEW files, or --git REV [FILE]")),
    };
    let (Some(old_table), Some(new_table)) = (valid(&old, color, io)?, valid(&new, color, io)?)
    else {
        return Ok(EXIT_INVALID);
    };
    let changes = diff(old_table, new_table);
    let impact = impact(&changes);
    match format {
        DiffFormat::Human => human(io.stdout, &old.origin, &new.origin, &changes, impact)?,
        DiffFormat::Json => json(io.stdout, &old.origin, &new.origin, &changes, impact)?,
    }
    let denied = matches!(
        (deny, impact),
        (Some(DenyLevel::Major), Some(Impact::Major))
            | (Some(DenyLevel::Minor), Some(Impact::Major | Impact::Minor))
    );
    Ok(if denied { EXIT_INVALID } else { EXIT_OK })
}

/// One side of the comparison: what checking it found, under its name.
type Side = Checked;

fn from_file(path: &Path) -> io::Result<Side> {
    input::read(path)
}

/// The file as it is at `rev`, through `git show REV:./FILE` run in the
/// file's directory.
fn from_git(rev: &str, file: &Path) -> io::Result<Side> {
    let dir = match file.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    let name = file
        .file_name()
        .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "FILE has no file name"))?;
    let spec = format!("{rev}:./{}", name.to_string_lossy());
    let output = Command::new("git")
        .arg("-C")
        .arg(dir)
        .args(["show", &spec])
        .output()
        .map_err(|e| io::Error::new(e.kind(), format!("cannot run git: {e}")))?;
    if !output.status.success() {
        let why = String::from_utf8_lossy(&output.stderr);
        return Err(io::Error::other(format!("git show {spec}: {}", why.trim())));
    }
    Ok(limits_format::check(
        format!("{rev}:{}", file.display()),
        &output.stdout,
    ))
}

/// The side's table, or `None` after rendering its errors.
fn valid<'a>(side: &'a Side, color: bool, io: &mut Io<'_>) -> io::Result<Option<&'a Table>> {
    if side.table.is_none() {
        input::report(side, color, io.stderr)?;
    }
    Ok(side.table.as_ref())
}

fn human(
    out: &mut dyn Write,
    old: &str,
    new: &str,
    changes: &[Change],
    impact: Option<Impact>,
) -> io::Result<()> {
    writeln!(out, "limits diff {old} -> {new}")?;
    // Changes of no one mode first, then each mode's under its heading.
    for change in changes.iter().filter(|c| c.mode().is_none()) {
        writeln!(out, "  {change}  [{}]", change.impact())?;
    }
    for mode in limits_format::Deployment::ALL {
        let of_mode: Vec<&Change> = changes.iter().filter(|c| c.mode() == Some(mode)).collect();
        if of_mode.is_empty() {
            continue;
        }
        writeln!(out, "mode {} ({} changes):", mode.id(), of_mode.len())?;
        for change in of_mode {
            writeln!(out, "  {change}  [{}]", change.impact())?;
        }
    }
    match impact {
        None => writeln!(out, "no changes"),
        Some(level) => writeln!(
            out,
            "{} change{}; semver impact on modelstudio-limits: {level}",
            changes.len(),
            if changes.len() == 1 { "" } else { "s" }
        ),
    }
}

fn kind(change: &Change) -> (&'static str, Option<&str>) {
    match change {
        Change::ModelAdded { id, .. } => ("model_added", Some(id)),
        Change::ModelRemoved { id } => ("model_removed", Some(id)),
        Change::RustNameChanged { id, .. } => ("rust_name_changed", Some(id)),
        Change::AliasAdded { id, .. } => ("alias_added", Some(id)),
        Change::AliasRemoved { id, .. } => ("alias_removed", Some(id)),
        Change::LimitChanged { id, .. } => ("limit_changed", Some(id)),
        Change::SectionChanged { id, .. } => ("section_changed", Some(id)),
        Change::GroupChanged { id, .. } => ("group_changed", Some(id)),
        Change::GroupMembersChanged { .. } => ("group_members_changed", None),
        Change::DeprecationChanged { id, .. } => ("deprecation_changed", Some(id)),
        Change::SectionAdded { id } => ("section_added", Some(id)),
        Change::SectionRemoved { id } => ("section_removed", Some(id)),
        Change::TextChanged { .. } => ("text_changed", None),
        Change::RowAdded { id, .. } => ("row_added", Some(id)),
        Change::RowRemoved { id, .. } => ("row_removed", Some(id)),
        Change::RetiredChanged { id, .. } => ("retired_changed", Some(id)),
        Change::PoolChanged { id, .. } => ("pool_changed", Some(id)),
        _ => ("other", None),
    }
}

fn json(
    out: &mut dyn Write,
    old: &str,
    new: &str,
    changes: &[Change],
    impact: Option<Impact>,
) -> io::Result<()> {
    let changes: Vec<serde_json::Value> = changes
        .iter()
        .map(|c| {
            let (kind, id) = kind(c);
            let mut value = serde_json::json!({
                "kind": kind,
                "impact": c.impact().as_str(),
                "text": c.to_string(),
            });
            if let Some(id) = id {
                value["id"] = id.into();
            }
            if let Some(mode) = c.mode() {
                value["deployment"] = mode.id().into();
            }
            match c {
                Change::LimitChanged {
                    limit,
                    old,
                    new,
                    swapped,
                    ..
                } => {
                    value["limit"] = (*limit).into();
                    value["old"] = (*old).into();
                    value["new"] = (*new).into();
                    value["swapped"] = (*swapped).into();
                }
                Change::ModelAdded {
                    aliases, limits, ..
                } => {
                    value["aliases"] = aliases.clone().into();
                    let mut kinds = serde_json::Map::new();
                    for (kind, n) in limits.kinds() {
                        kinds.insert(kind.key().into(), n.into());
                    }
                    value["limits"] = kinds.into();
                    value["swapped"] =
                        matches!((limits.rpm, limits.tpm), (Some(r), Some(t)) if t < u64::from(r))
                            .into();
                }
                Change::GroupMembersChanged {
                    kept, gained, lost, ..
                } => {
                    value["kept"] = kept.clone().into();
                    value["gained"] = gained.clone().into();
                    value["lost"] = lost.clone().into();
                }
                _ => {}
            }
            value
        })
        .collect();
    let doc = serde_json::json!({
        "old": old,
        "new": new,
        "impact": impact.map(Impact::as_str),
        "changes": changes,
    });
    serde_json::to_writer_pretty(&mut *out, &doc)?;
    writeln!(out)
}
