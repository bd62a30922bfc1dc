//! What changed between two validated tables, and what that means for the
//! semver of the crate generated from them.

use std::collections::{BTreeSet, HashMap};
use std::fmt;

use crate::ir::{Deployment, Limits, ModelRow, Retired, Table};

/// How a change affects the generated crate's version.
#[derive(Copy, Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Impact {
    /// Values change, the API does not (limits, notes, provenance).
    Patch,
    /// The API grows (`Model` and `Section` are `#[non_exhaustive]`), or
    /// an item is deprecated.
    Minor,
    /// The API shrinks: code that compiled may not.
    Major,
}

impl Impact {
    /// `"patch"`, `"minor"` or `"major"`.
    pub fn as_str(self) -> &'static str {
        match self {
            Impact::Patch => "patch",
            Impact::Minor => "minor",
            Impact::Major => "major",
        }
    }
}

impl fmt::Display for Impact {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One change between two tables.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Change {
    /// A model that was not there (its first row; rows in other modes
    /// are [`Change::RowAdded`]).
    ModelAdded {
        /// Its id.
        id: String,
        /// Its aliases.
        aliases: Vec<String>,
        /// Its section's id.
        section: String,
        /// The mode of the row (`None` in a schema 1 file).
        mode: Option<Deployment>,
        /// The row's limits.
        limits: Limits,
    },
    /// A model that is gone from every mode.
    ModelRemoved {
        /// Its id.
        id: String,
    },
    /// A known model listed in one more mode.
    RowAdded {
        /// The model.
        id: String,
        /// The mode.
        mode: Option<Deployment>,
        /// The section's id.
        section: String,
        /// The row's limits.
        limits: Limits,
    },
    /// A model no longer listed in one mode (but still in another).
    RowRemoved {
        /// The model.
        id: String,
        /// The mode.
        mode: Option<Deployment>,
    },
    /// A model retired, its retirement changed, or no longer retired.
    RetiredChanged {
        /// The model.
        id: String,
        /// The mode.
        mode: Option<Deployment>,
        /// The new retirement.
        retired: Option<Retired>,
    },
    /// A model that joins, leaves or changes its pooled budget.
    PoolChanged {
        /// The model.
        id: String,
        /// The mode.
        mode: Option<Deployment>,
        /// The old pool.
        old: Option<String>,
        /// The new pool.
        new: Option<String>,
    },
    /// A model whose Rust name changed (the variant is renamed).
    RustNameChanged {
        /// The model.
        id: String,
        /// The old variant name.
        old: String,
        /// The new variant name.
        new: String,
    },
    /// An alias added to a model.
    AliasAdded {
        /// The model.
        id: String,
        /// The alias.
        alias: String,
    },
    /// An alias removed from a model.
    AliasRemoved {
        /// The model.
        id: String,
        /// The alias.
        alias: String,
    },
    /// A limit raised, lowered, added or removed.
    LimitChanged {
        /// The model.
        id: String,
        /// The mode.
        mode: Option<Deployment>,
        /// The kind's key (`"rpm"`, `"tpm"`, ...; schema 1's `"qpm"`).
        limit: &'static str,
        /// The old value (`None`: the row did not have this kind).
        old: Option<u64>,
        /// The new value (`None`: the row no longer has this kind).
        new: Option<u64>,
        /// The model's new limits have a TPM below its RPM: probably swapped.
        swapped: bool,
    },
    /// A model listed in another section.
    SectionChanged {
        /// The model.
        id: String,
        /// The mode.
        mode: Option<Deployment>,
        /// The old section's id.
        old: String,
        /// The new section's id.
        new: String,
    },
    /// A group (matched by the models it keeps) that gained or lost
    /// members; the models that moved between groups are also reported as
    /// [`Change::GroupChanged`].
    GroupMembersChanged {
        /// The mode of the group.
        mode: Option<Deployment>,
        /// The models it holds in both tables.
        kept: Vec<String>,
        /// Models it holds now and did not.
        gained: Vec<String>,
        /// Models it held and does not.
        lost: Vec<String>,
    },
    /// A model that moved to another group (its old group's other members
    /// went elsewhere without it).
    GroupChanged {
        /// The model.
        id: String,
        /// The mode.
        mode: Option<Deployment>,
        /// The other models of its old group.
        old_peers: Vec<String>,
        /// The other models of its new group.
        new_peers: Vec<String>,
    },
    /// A model deprecated, or no longer deprecated.
    DeprecationChanged {
        /// The model.
        id: String,
        /// The new reason (`None`: no longer deprecated).
        reason: Option<String>,
    },
    /// A section that was not there.
    SectionAdded {
        /// Its id.
        id: String,
    },
    /// A section that is gone.
    SectionRemoved {
        /// Its id.
        id: String,
    },
    /// A text of the file changed: provenance, a title, a note.
    TextChanged {
        /// What, e.g. `source.url` or `section qwen title`.
        what: String,
        /// The old text.
        old: Option<String>,
        /// The new text.
        new: Option<String>,
    },
}

impl Change {
    /// What this change means for the generated crate's version.
    pub fn impact(&self) -> Impact {
        match self {
            Change::ModelRemoved { .. }
            | Change::AliasRemoved { .. }
            | Change::SectionRemoved { .. }
            | Change::RustNameChanged { .. } => Impact::Major,
            Change::ModelAdded { .. }
            | Change::AliasAdded { .. }
            | Change::SectionAdded { .. }
            | Change::DeprecationChanged {
                reason: Some(_), ..
            }
            | Change::RetiredChanged {
                retired: Some(_), ..
            } => Impact::Minor,
            Change::DeprecationChanged { reason: None, .. }
            | Change::RetiredChanged { retired: None, .. }
            | Change::RowAdded { .. }
            | Change::RowRemoved { .. }
            | Change::PoolChanged { .. }
            | Change::LimitChanged { .. }
            | Change::SectionChanged { .. }
            | Change::GroupChanged { .. }
            | Change::GroupMembersChanged { .. }
            | Change::TextChanged { .. } => Impact::Patch,
        }
    }
}

impl Change {
    /// The deployment mode the change is about, if it is about one row.
    pub fn mode(&self) -> Option<Deployment> {
        match self {
            Change::ModelAdded { mode, .. }
            | Change::RowAdded { mode, .. }
            | Change::RowRemoved { mode, .. }
            | Change::RetiredChanged { mode, .. }
            | Change::PoolChanged { mode, .. }
            | Change::LimitChanged { mode, .. }
            | Change::SectionChanged { mode, .. }
            | Change::GroupMembersChanged { mode, .. }
            | Change::GroupChanged { mode, .. } => *mode,
            _ => None,
        }
    }
}

/// What a change of a model whose new TPM is below its QPM says.
const SWAPPED: &str = "  (!) TPM below QPM: were the two swapped?";

/// `1000000` as `1,000,000`.
fn thousands(n: u64) -> String {
    crate::group_digits(n, ',')
}

fn percent(old: u64, new: u64) -> f64 {
    (new as f64 - old as f64) / old as f64 * 100.0
}

/// A row's limits in words: schema 1's "60 QPM, 100,000 TPM", or each
/// kind the row has ("30 RPS, 2 submit_rps, ...").
pub fn describe_limits(limits: &Limits, schema_1: bool) -> String {
    let mut parts: Vec<String> = limits
        .kinds()
        .map(|(kind, n)| {
            let unit = match kind.key() {
                "rpm" if schema_1 => "QPM".to_string(),
                key @ ("rpm" | "tpm" | "rps") => key.to_uppercase(),
                key => key.to_string(),
            };
            format!("{} {unit}", thousands(n))
        })
        .collect();
    if limits.sync_unlimited {
        parts.push("synchronous calls unlimited".into());
    }
    if parts.is_empty() {
        parts.push("no limits".into());
    }
    parts.join(", ")
}

/// ` [cn]` after an id, or nothing for a schema 1 row.
fn in_mode(mode: &Option<Deployment>) -> String {
    mode.map(|m| format!(" [{}]", m.id())).unwrap_or_default()
}

impl fmt::Display for Change {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Change::ModelAdded {
                id,
                aliases,
                section,
                mode,
                limits,
            } => {
                write!(f, "+ model {id}{}", in_mode(mode))?;
                if !aliases.is_empty() {
                    write!(f, " (aliases: {})", aliases.join(", "))?;
                }
                write!(
                    f,
                    ": {}, in section {section}",
                    describe_limits(limits, mode.is_none())
                )?;
                if swapped(limits) {
                    f.write_str(SWAPPED)?;
                }
                Ok(())
            }
            Change::ModelRemoved { id } => write!(f, "- model {id}"),
            Change::RowAdded {
                id,
                mode,
                section,
                limits,
            } => write!(
                f,
                "+ {id}{}: {}, in section {section}",
                in_mode(mode),
                describe_limits(limits, mode.is_none())
            ),
            Change::RowRemoved { id, mode } => write!(f, "- {id}{}", in_mode(mode)),
            Change::RetiredChanged { id, mode, retired } => match retired {
                Some(Retired::On(date)) => write!(f, "~ {id}{}: retired on {date}", in_mode(mode)),
                Some(Retired::Yes) => write!(f, "~ {id}{}: retired", in_mode(mode)),
                None => write!(f, "~ {id}{}: no longer retired", in_mode(mode)),
            },
            Change::PoolChanged { id, mode, old, new } => {
                let show = |p: &Option<String>| p.clone().unwrap_or_else(|| "(none)".into());
                write!(
                    f,
                    "~ {id}{}: pool {} -> {}",
                    in_mode(mode),
                    show(old),
                    show(new)
                )
            }
            Change::RustNameChanged { id, old, new } => {
                write!(f, "~ {id}: Rust name {old} -> {new}")
            }
            Change::AliasAdded { id, alias } => write!(f, "+ alias {alias} of {id}"),
            Change::AliasRemoved { id, alias } => write!(f, "- alias {alias} of {id}"),
            Change::LimitChanged {
                id,
                mode,
                limit,
                old,
                new,
                swapped,
            } => {
                let name = match *limit {
                    "qpm" | "rpm" | "tpm" | "rps" => limit.to_uppercase(),
                    other => other.to_string(),
                };
                let at = in_mode(mode);
                match (old, new) {
                    (Some(old), Some(new)) => {
                        let verb = if new > old { "raised" } else { "lowered" };
                        write!(
                            f,
                            "~ {id}{at}: {name} {verb} {} -> {} ({:+.1}%)",
                            thousands(*old),
                            thousands(*new),
                            percent(*old, *new)
                        )?;
                    }
                    (None, Some(new)) => write!(f, "~ {id}{at}: {name} {} added", thousands(*new))?,
                    (Some(old), None) => {
                        write!(f, "~ {id}{at}: {name} {} removed", thousands(*old))?
                    }
                    (None, None) => write!(f, "~ {id}{at}: {name} unchanged")?,
                }
                if *swapped {
                    f.write_str(SWAPPED)?;
                }
                Ok(())
            }
            Change::SectionChanged { id, mode, old, new } => {
                write!(
                    f,
                    "~ {id}{}: moved from section {old} to {new}",
                    in_mode(mode)
                )
            }
            Change::GroupChanged {
                id,
                mode,
                old_peers,
                new_peers,
            } => {
                let list = |p: &[String]| {
                    if p.is_empty() {
                        "no other model".to_string()
                    } else {
                        p.join(", ")
                    }
                };
                write!(
                    f,
                    "~ {id}{}: moved to another group (shared with {} before, with {} now)",
                    in_mode(mode),
                    list(old_peers),
                    list(new_peers)
                )
            }
            Change::GroupMembersChanged {
                mode,
                kept,
                gained,
                lost,
            } => {
                write!(f, "~ group of {}{}:", kept.join(", "), in_mode(mode))?;
                if !gained.is_empty() {
                    write!(f, " gains {}", gained.join(", "))?;
                }
                if !gained.is_empty() && !lost.is_empty() {
                    f.write_str(";")?;
                }
                if !lost.is_empty() {
                    write!(f, " loses {}", lost.join(", "))?;
                }
                Ok(())
            }
            Change::DeprecationChanged {
                id,
                reason: Some(r),
            } => {
                write!(f, "~ {id}: deprecated ({r})")
            }
            Change::DeprecationChanged { id, reason: None } => {
                write!(f, "~ {id}: no longer deprecated")
            }
            Change::SectionAdded { id } => write!(f, "+ section {id}"),
            Change::SectionRemoved { id } => write!(f, "- section {id}"),
            Change::TextChanged { what, old, new } => {
                let show = |t: &Option<String>| {
                    t.as_deref()
                        .map_or("(none)".to_string(), |t| format!("{t:?}"))
                };
                write!(f, "~ {what}: {} -> {}", show(old), show(new))
            }
        }
    }
}

/// The changes from `old` to `new`, in the new table's order (removals in
/// the old table's order, after).
pub fn diff(old: &Table, new: &Table) -> Vec<Change> {
    let mut changes = Vec::new();
    let text = |changes: &mut Vec<Change>, what: String, a: Option<&String>, b: Option<&String>| {
        if a != b {
            changes.push(Change::TextChanged {
                what,
                old: a.cloned(),
                new: b.cloned(),
            });
        }
    };
    let (os, ns) = (&old.source, &new.source);
    text(
        &mut changes,
        "source.provider".into(),
        Some(&os.provider),
        Some(&ns.provider),
    );
    text(
        &mut changes,
        "source.url".into(),
        Some(&os.url),
        Some(&ns.url),
    );
    text(
        &mut changes,
        "source.region".into(),
        os.region.as_ref(),
        ns.region.as_ref(),
    );
    text(
        &mut changes,
        "source.retrieved".into(),
        os.retrieved.as_ref(),
        ns.retrieved.as_ref(),
    );
    text(
        &mut changes,
        "source.note".into(),
        os.note.as_ref(),
        ns.note.as_ref(),
    );

    let old_sections: HashMap<&str, _> = old.sections.iter().map(|s| (s.id.as_str(), s)).collect();
    let new_sections: BTreeSet<&str> = new.sections.iter().map(|s| s.id.as_str()).collect();
    for s in &new.sections {
        match old_sections.get(s.id.as_str()) {
            None => changes.push(Change::SectionAdded { id: s.id.clone() }),
            Some(o) => {
                text(
                    &mut changes,
                    format!("section {} title", s.id),
                    Some(&o.title),
                    Some(&s.title),
                );
                text(
                    &mut changes,
                    format!("section {} category", s.id),
                    o.category.as_ref(),
                    s.category.as_ref(),
                );
                text(
                    &mut changes,
                    format!("section {} note", s.id),
                    o.note.as_ref(),
                    s.note.as_ref(),
                );
            }
        }
    }

    let rows = |t: &Table| -> HashMap<(Option<Deployment>, bool, String), Vec<String>> {
        t.sections
            .iter()
            .flat_map(|s| s.groups.iter().map(move |g| (s.mode, g)))
            .flat_map(|(mode, g)| {
                g.models
                    .iter()
                    .map(move |m| ((mode, g.pool.is_some(), m.id.clone()), peers(g, &m.id)))
            })
            .collect()
    };
    let old_rows: HashMap<RowKey<'_>, ModelRow<'_>> = old
        .models()
        .map(|r| {
            (
                (r.section.mode, r.group.pool.is_some(), r.model.id.as_str()),
                r,
            )
        })
        .collect();
    let old_models: HashMap<&str, ModelRow<'_>> = old
        .distinct_models()
        .map(|r| (r.model.id.as_str(), r))
        .collect();
    let old_peers = rows(old);
    let new_peers = rows(new);
    let new_rows: BTreeSet<RowKey<'_>> = new
        .models()
        .map(|r| (r.section.mode, r.group.pool.is_some(), r.model.id.as_str()))
        .collect();
    let new_ids: BTreeSet<&str> = new.models().map(|r| r.model.id.as_str()).collect();
    let (moved, members) = regroup(old, new);
    let (old_aliases, new_aliases) = (aliases_by_id(old), aliases_by_id(new));
    let mut seen_ids = BTreeSet::new();
    for r in new.models() {
        let id = &r.model.id;
        let mode = r.section.mode;
        let first_row = seen_ids.insert(id.as_str());
        let Some(om) = old_models.get(id.as_str()) else {
            changes.push(if first_row {
                Change::ModelAdded {
                    id: id.clone(),
                    aliases: r.model.aliases.clone(),
                    section: r.section.id.clone(),
                    mode,
                    limits: r.group.limits.clone(),
                }
            } else {
                Change::RowAdded {
                    id: id.clone(),
                    mode,
                    section: r.section.id.clone(),
                    limits: r.group.limits.clone(),
                }
            });
            continue;
        };
        if first_row {
            let was = old_aliases.get(id.as_str()).map_or(&[][..], Vec::as_slice);
            let now = new_aliases.get(id.as_str()).map_or(&[][..], Vec::as_slice);
            model_changes(&mut changes, om, &r, was, now);
        }
        let pooled = r.group.pool.is_some();
        let Some(o) = old_rows.get(&(mode, pooled, id.as_str())) else {
            changes.push(Change::RowAdded {
                id: id.clone(),
                mode,
                section: r.section.id.clone(),
                limits: r.group.limits.clone(),
            });
            continue;
        };
        let v1 = mode.is_none();
        for kind in crate::ir::Kind::ALL {
            let (a, b) = (o.group.limits.get(kind), r.group.limits.get(kind));
            if a != b {
                changes.push(Change::LimitChanged {
                    id: id.clone(),
                    mode,
                    limit: if v1 && kind == crate::ir::Kind::Rpm {
                        "qpm"
                    } else {
                        kind.key()
                    },
                    old: a,
                    new: b,
                    swapped: swapped(&r.group.limits),
                });
            }
        }
        if o.group.retired != r.group.retired {
            changes.push(Change::RetiredChanged {
                id: id.clone(),
                mode,
                retired: r.group.retired.clone(),
            });
        }
        if o.group.pool != r.group.pool {
            changes.push(Change::PoolChanged {
                id: id.clone(),
                mode,
                old: o.group.pool.clone(),
                new: r.group.pool.clone(),
            });
        }
        if o.section.id != r.section.id {
            changes.push(Change::SectionChanged {
                id: id.clone(),
                mode,
                old: o.section.id.clone(),
                new: r.section.id.clone(),
            });
        }
        if moved.contains(&(mode, pooled, id.as_str())) {
            changes.push(Change::GroupChanged {
                id: id.clone(),
                mode,
                old_peers: old_peers[&(mode, pooled, id.clone())].clone(),
                new_peers: new_peers[&(mode, pooled, id.clone())].clone(),
            });
        }
        text(
            &mut changes,
            format!("{id}{} group note", in_mode(&mode)),
            o.group.note.as_ref(),
            r.group.note.as_ref(),
        );
    }
    let mut removed = BTreeSet::new();
    for r in old.models() {
        let id = r.model.id.as_str();
        if !new_ids.contains(id) {
            if removed.insert(id) {
                changes.push(Change::ModelRemoved { id: id.to_owned() });
            }
        } else if !new_rows.contains(&(r.section.mode, r.group.pool.is_some(), id)) {
            changes.push(Change::RowRemoved {
                id: id.to_owned(),
                mode: r.section.mode,
            });
        }
    }
    for s in &old.sections {
        if !new_sections.contains(s.id.as_str()) {
            changes.push(Change::SectionRemoved { id: s.id.clone() });
        }
    }
    changes.extend(members);
    changes
}

/// Every model's aliases (over all its rows), by id.
fn aliases_by_id(table: &Table) -> HashMap<&str, Vec<&str>> {
    table
        .rows_by_model()
        .iter()
        .map(|rows| (rows[0].model.id.as_str(), crate::ir::aliases_of(rows)))
        .collect()
}

/// What changed of a model itself between its first row in the old table,
/// `o`, and in the new, `r`: Rust name, aliases (over all its rows: `was`
/// and `now`), deprecation.
fn model_changes(
    changes: &mut Vec<Change>,
    o: &ModelRow<'_>,
    r: &ModelRow<'_>,
    was: &[&str],
    now: &[&str],
) {
    let id = &o.model.id;
    if o.model.rust_name != r.model.rust_name {
        changes.push(Change::RustNameChanged {
            id: id.clone(),
            old: o.model.rust_name.clone(),
            new: r.model.rust_name.clone(),
        });
    }
    for alias in now.iter().filter(|a| !was.contains(a)) {
        changes.push(Change::AliasAdded {
            id: id.clone(),
            alias: alias.to_string(),
        });
    }
    for alias in was.iter().filter(|a| !now.contains(a)) {
        changes.push(Change::AliasRemoved {
            id: id.clone(),
            alias: alias.to_string(),
        });
    }
    if o.model.deprecated != r.model.deprecated {
        changes.push(Change::DeprecationChanged {
            id: id.clone(),
            reason: r.model.deprecated.clone(),
        });
    }
}

/// Whether a row's TPM is below its RPM (two numbers likely swapped).
fn swapped(limits: &Limits) -> bool {
    matches!((limits.rpm, limits.tpm), (Some(r), Some(t)) if t < u64::from(r))
}

/// A model's row: its mode, whether it is a pool's, its id.
type RowKey<'t> = (Option<Deployment>, bool, &'t str);

/// A group's mode, and whether it is a pool.
type GroupKey = (Option<Deployment>, bool);

/// Matches each new group to the old group of its mode it shares the most
/// models with (each old group once): the models whose old and new groups
/// are not a matched pair moved; a matched pair whose members differ
/// gained or lost.
fn regroup<'t>(old: &'t Table, new: &'t Table) -> (BTreeSet<RowKey<'t>>, Vec<Change>) {
    let groups = |t: &'t Table| -> Vec<(GroupKey, Vec<&'t str>)> {
        t.sections
            .iter()
            .flat_map(|s| s.groups.iter().map(move |g| (s.mode, g)))
            .map(|(mode, g)| {
                let ids = g.models.iter().map(|m| m.id.as_str()).collect();
                ((mode, g.pool.is_some()), ids)
            })
            .collect()
    };
    let (old_groups, new_groups) = (groups(old), groups(new));
    let old_of: HashMap<RowKey<'t>, usize> = old_groups
        .iter()
        .enumerate()
        .flat_map(|(i, (key, g))| g.iter().map(move |&m| ((key.0, key.1, m), i)))
        .collect();
    let mut taken = vec![false; old_groups.len()];
    let mut matched: Vec<Option<usize>> = Vec::with_capacity(new_groups.len());
    for (key, g) in &new_groups {
        let mut counts: HashMap<usize, usize> = HashMap::new();
        for m in g {
            if let Some(&i) = old_of.get(&(key.0, key.1, *m)) {
                *counts.entry(i).or_default() += 1;
            }
        }
        let best = counts
            .into_iter()
            .filter(|&(i, _)| !taken[i])
            .max_by_key(|&(i, n)| (n, std::cmp::Reverse(i)))
            .map(|(i, _)| i);
        if let Some(i) = best {
            taken[i] = true;
        }
        matched.push(best);
    }
    let mut moved = BTreeSet::new();
    let mut members = Vec::new();
    for ((key, g), best) in new_groups.iter().zip(&matched) {
        let mode = &key.0;
        for m in g {
            if let Some(&i) = old_of.get(&(key.0, key.1, *m)) {
                if *best != Some(i) {
                    moved.insert((key.0, key.1, *m));
                }
            }
        }
        let Some(i) = *best else { continue };
        let was = &old_groups[i].1;
        let list = |from: &[&str], keep: &dyn Fn(&&str) -> bool| -> Vec<String> {
            from.iter()
                .filter(|m| keep(m))
                .map(|m| m.to_string())
                .collect()
        };
        let kept = list(g, &|m| was.contains(m));
        let gained = list(g, &|m| !was.contains(m));
        let lost = list(was, &|m| !g.contains(m));
        if !gained.is_empty() || !lost.is_empty() {
            members.push(Change::GroupMembersChanged {
                mode: *mode,
                kept,
                gained,
                lost,
            });
        }
    }
    (moved, members)
}

/// The other models of `model`'s group, sorted.
fn peers(group: &crate::ir::Group, model: &str) -> Vec<String> {
    let mut peers: Vec<String> = group
        .models
        .iter()
        .filter(|m| m.id != model)
        .map(|m| m.id.clone())
        .collect();
    peers.sort();
    peers
}

/// The largest impact of `changes` (`None` when there is no change).
pub fn impact(changes: &[Change]) -> Option<Impact> {
    changes.iter().map(Change::impact).max()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn table(body: &str) -> Table {
        let input = format!("schema = 1\n[source]\nprovider = \"P\"\nurl = \"https://p\"\n{body}");
        crate::parse("t.toml", &input).unwrap_or_else(|r| panic!("{r}"))
    }

    const BASE: &str = r#"
[[section]]
id = "chat"
title = "Chat"
[[section.group]]
qpm = 60
tpm = 100_000
models = [{ id = "a", aliases = ["a-old"] }, "b"]
[[section.group]]
qpm = 600
tpm = 1_000_000
models = ["c"]
"#;

    #[test]
    fn no_change_no_impact() {
        assert!(diff(&table(BASE), &table(BASE)).is_empty());
        assert_eq!(impact(&[]), None);
    }

    #[test]
    fn limits_are_patch_with_percentages() {
        let new = table(&BASE.replace("tpm = 100_000", "tpm = 80_000"));
        let changes = diff(&table(BASE), &new);
        assert_eq!(changes.len(), 2, "{changes:?}"); // a and b
        assert_eq!(
            changes[0].to_string(),
            "~ a: TPM lowered 100,000 -> 80,000 (-20.0%)"
        );
        assert_eq!(impact(&changes), Some(Impact::Patch));
    }

    #[test]
    fn additions_are_minor_and_removals_major() {
        let added = table(&BASE.replace(r#"models = ["c"]"#, r#"models = ["c", "d"]"#));
        let changes = diff(&table(BASE), &added);
        assert!(changes.contains(&Change::ModelAdded {
            id: "d".into(),
            aliases: vec![],
            section: "chat".into(),
            mode: None,
            limits: crate::Limits {
                rpm: Some(600),
                tpm: Some(1_000_000),
                ..Default::default()
            }
        }));
        // The group gained d; c did not move.
        assert!(!changes
            .iter()
            .any(|c| matches!(c, Change::GroupChanged { .. })));
        assert!(changes.contains(&Change::GroupMembersChanged {
            mode: None,
            kept: vec!["c".into()],
            gained: vec!["d".into()],
            lost: vec![],
        }));
        assert_eq!(impact(&changes), Some(Impact::Minor));

        let changes = diff(&added, &table(BASE));
        assert!(changes.contains(&Change::ModelRemoved { id: "d".into() }));
        assert_eq!(impact(&changes), Some(Impact::Major));

        let no_alias = table(&BASE.replace(r#"{ id = "a", aliases = ["a-old"] }"#, r#""a""#));
        let changes = diff(&table(BASE), &no_alias);
        assert_eq!(
            changes,
            vec![Change::AliasRemoved {
                id: "a".into(),
                alias: "a-old".into()
            }]
        );
        assert_eq!(changes[0].impact(), Impact::Major);
    }

    #[test]
    fn a_model_that_changes_group_is_the_one_reported_as_moved() {
        // b leaves a's group for c's: b moved; the groups gain and lose it.
        let new = table(
            &BASE
                .replace(
                    r#"aliases = ["a-old"] }, "b"]"#,
                    r#"aliases = ["a-old"] }]"#,
                )
                .replace(r#"models = ["c"]"#, r#"models = ["c", "b"]"#),
        );
        let changes = diff(&table(BASE), &new);
        let moved: Vec<&str> = changes
            .iter()
            .filter_map(|c| match c {
                Change::GroupChanged { id, .. } => Some(id.as_str()),
                _ => None,
            })
            .collect();
        assert_eq!(moved, ["b"]);
        let texts: Vec<String> = changes.iter().map(ToString::to_string).collect();
        assert!(
            texts.contains(&"~ group of a: loses b".to_string()),
            "{texts:?}"
        );
        assert!(
            texts.contains(&"~ group of c: gains b".to_string()),
            "{texts:?}"
        );
    }

    #[test]
    fn added_models_show_aliases_and_swapped_limits_are_flagged() {
        let new = table(&format!(
            "{BASE}[[section.group]]\nqpm = 1_000_000\ntpm = 120\nmodels = [{{ id = \"e\", aliases = [\"e1\"] }}]\n"
        ));
        let added = diff(&table(BASE), &new);
        assert_eq!(
            added[0].to_string(),
            "+ model e (aliases: e1): 1,000,000 QPM, 120 TPM, in section chat  (!) TPM below QPM: were the two swapped?"
        );
        let swapped =
            table(&BASE.replace("qpm = 600\ntpm = 1_000_000", "qpm = 1_000_000\ntpm = 600"));
        let changes = diff(&table(BASE), &swapped);
        assert!(
            changes[0].to_string().ends_with("were the two swapped?"),
            "{changes:?}"
        );
    }

    #[test]
    fn deprecation_is_minor_and_renames_major() {
        let deprecated =
            table(&BASE.replace(r#""b""#, r#"{ id = "b", deprecated = "gone soon" }"#));
        let changes = diff(&table(BASE), &deprecated);
        assert_eq!(
            changes,
            vec![Change::DeprecationChanged {
                id: "b".into(),
                reason: Some("gone soon".into())
            }]
        );
        assert_eq!(impact(&changes), Some(Impact::Minor));

        let renamed = table(&BASE.replace(r#""b""#, r#"{ id = "b", rust_name = "Bee" }"#));
        assert_eq!(impact(&diff(&table(BASE), &renamed)), Some(Impact::Major));
    }
}
