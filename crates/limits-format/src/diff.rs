//! What changed between two validated tables, and what that means for the
//! semver of the crate generated from them.

use std::collections::{BTreeSet, HashMap};
use std::fmt;

use crate::ir::{ModelRow, Table};

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
    /// A model that was not there.
    ModelAdded {
        /// Its id.
        id: String,
        /// Its aliases.
        aliases: Vec<String>,
        /// Its section's id.
        section: String,
        /// Queries per minute.
        qpm: u32,
        /// Tokens per minute.
        tpm: u32,
    },
    /// A model that is gone.
    ModelRemoved {
        /// Its id.
        id: String,
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
    /// A limit raised or lowered.
    LimitChanged {
        /// The model.
        id: String,
        /// `"qpm"` or `"tpm"`.
        limit: &'static str,
        /// The old value.
        old: u32,
        /// The new value.
        new: u32,
        /// The model's new limits have a TPM below its QPM: probably swapped.
        swapped: bool,
    },
    /// A model listed in another section.
    SectionChanged {
        /// The model.
        id: String,
        /// The old section's id.
        old: String,
        /// The new section's id.
        new: String,
    },
    /// A group (matched by the models it keeps) that gained or lost
    /// members; the models that moved between groups are also reported as
    /// [`Change::GroupChanged`].
    GroupMembersChanged {
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
            } => Impact::Minor,
            Change::DeprecationChanged { reason: None, .. }
            | Change::LimitChanged { .. }
            | Change::SectionChanged { .. }
            | Change::GroupChanged { .. }
            | Change::GroupMembersChanged { .. }
            | Change::TextChanged { .. } => Impact::Patch,
        }
    }
}

/// What a change of a model whose new TPM is below its QPM says.
const SWAPPED: &str = "  (!) TPM below QPM: were the two swapped?";

/// `1000000` as `1,000,000`.
fn thousands(n: u32) -> String {
    crate::group_digits(n, ',')
}

fn percent(old: u32, new: u32) -> f64 {
    (f64::from(new) - f64::from(old)) / f64::from(old) * 100.0
}

impl fmt::Display for Change {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Change::ModelAdded {
                id,
                aliases,
                section,
                qpm,
                tpm,
            } => {
                write!(f, "+ model {id}")?;
                if !aliases.is_empty() {
                    write!(f, " (aliases: {})", aliases.join(", "))?;
                }
                write!(
                    f,
                    ": {} QPM, {} TPM, in section {section}",
                    thousands(*qpm),
                    thousands(*tpm)
                )?;
                if tpm < qpm {
                    f.write_str(SWAPPED)?;
                }
                Ok(())
            }
            Change::ModelRemoved { id } => write!(f, "- model {id}"),
            Change::RustNameChanged { id, old, new } => {
                write!(f, "~ {id}: Rust name {old} -> {new}")
            }
            Change::AliasAdded { id, alias } => write!(f, "+ alias {alias} of {id}"),
            Change::AliasRemoved { id, alias } => write!(f, "- alias {alias} of {id}"),
            Change::LimitChanged {
                id,
                limit,
                old,
                new,
                swapped,
            } => {
                let verb = if new > old { "raised" } else { "lowered" };
                write!(
                    f,
                    "~ {id}: {} {verb} {} -> {} ({:+.1}%)",
                    limit.to_uppercase(),
                    thousands(*old),
                    thousands(*new),
                    percent(*old, *new)
                )?;
                if *swapped {
                    f.write_str(SWAPPED)?;
                }
                Ok(())
            }
            Change::SectionChanged { id, old, new } => {
                write!(f, "~ {id}: moved from section {old} to {new}")
            }
            Change::GroupChanged {
                id,
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
                    "~ {id}: moved to another group (shared with {} before, with {} now)",
                    list(old_peers),
                    list(new_peers)
                )
            }
            Change::GroupMembersChanged { kept, gained, lost } => {
                write!(f, "~ group of {}:", kept.join(", "))?;
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

    let rows = |t: &'_ Table| -> Vec<(String, Vec<String>)> {
        t.sections
            .iter()
            .flat_map(|s| &s.groups)
            .flat_map(|g| {
                g.models
                    .iter()
                    .map(move |m| (m.id.clone(), peers(g, &m.id)))
            })
            .collect()
    };
    let old_rows: HashMap<&str, ModelRow<'_>> =
        old.models().map(|r| (r.model.id.as_str(), r)).collect();
    let old_peers: HashMap<String, Vec<String>> = rows(old).into_iter().collect();
    let new_peers: HashMap<String, Vec<String>> = rows(new).into_iter().collect();
    let new_ids: BTreeSet<&str> = new.models().map(|r| r.model.id.as_str()).collect();
    let (moved, members) = regroup(old, new);
    for r in new.models() {
        let id = &r.model.id;
        let Some(o) = old_rows.get(id.as_str()) else {
            changes.push(Change::ModelAdded {
                id: id.clone(),
                aliases: r.model.aliases.clone(),
                section: r.section.id.clone(),
                qpm: r.group.qpm,
                tpm: r.group.tpm,
            });
            continue;
        };
        if o.model.rust_name != r.model.rust_name {
            changes.push(Change::RustNameChanged {
                id: id.clone(),
                old: o.model.rust_name.clone(),
                new: r.model.rust_name.clone(),
            });
        }
        for alias in &r.model.aliases {
            if !o.model.aliases.contains(alias) {
                changes.push(Change::AliasAdded {
                    id: id.clone(),
                    alias: alias.clone(),
                });
            }
        }
        for alias in &o.model.aliases {
            if !r.model.aliases.contains(alias) {
                changes.push(Change::AliasRemoved {
                    id: id.clone(),
                    alias: alias.clone(),
                });
            }
        }
        for (limit, a, b) in [
            ("qpm", o.group.qpm, r.group.qpm),
            ("tpm", o.group.tpm, r.group.tpm),
        ] {
            if a != b {
                changes.push(Change::LimitChanged {
                    id: id.clone(),
                    limit,
                    old: a,
                    new: b,
                    swapped: r.group.tpm < r.group.qpm,
                });
            }
        }
        if o.section.id != r.section.id {
            changes.push(Change::SectionChanged {
                id: id.clone(),
                old: o.section.id.clone(),
                new: r.section.id.clone(),
            });
        }
        if moved.contains(id.as_str()) {
            changes.push(Change::GroupChanged {
                id: id.clone(),
                old_peers: old_peers[id.as_str()].clone(),
                new_peers: new_peers[id.as_str()].clone(),
            });
        }
        if o.model.deprecated != r.model.deprecated {
            changes.push(Change::DeprecationChanged {
                id: id.clone(),
                reason: r.model.deprecated.clone(),
            });
        }
        text(
            &mut changes,
            format!("{id} group note"),
            o.group.note.as_ref(),
            r.group.note.as_ref(),
        );
    }
    for r in old.models() {
        if !new_ids.contains(r.model.id.as_str()) {
            changes.push(Change::ModelRemoved {
                id: r.model.id.clone(),
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

/// Matches each new group to the old group it shares the most models with
/// (each old group once): the models whose old and new groups are not a
/// matched pair moved; a matched pair whose members differ gained or lost.
fn regroup<'t>(old: &'t Table, new: &'t Table) -> (BTreeSet<&'t str>, Vec<Change>) {
    let groups = |t: &'t Table| -> Vec<Vec<&'t str>> {
        t.sections
            .iter()
            .flat_map(|s| &s.groups)
            .map(|g| g.models.iter().map(|m| m.id.as_str()).collect())
            .collect()
    };
    let (old_groups, new_groups) = (groups(old), groups(new));
    let old_of: HashMap<&str, usize> = old_groups
        .iter()
        .enumerate()
        .flat_map(|(i, g)| g.iter().map(move |&m| (m, i)))
        .collect();
    let mut taken = vec![false; old_groups.len()];
    let mut matched: Vec<Option<usize>> = Vec::with_capacity(new_groups.len());
    for g in &new_groups {
        let mut counts: HashMap<usize, usize> = HashMap::new();
        for m in g {
            if let Some(&i) = old_of.get(m) {
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
    for (g, best) in new_groups.iter().zip(&matched) {
        for m in g {
            if let Some(&i) = old_of.get(m) {
                if *best != Some(i) {
                    moved.insert(*m);
                }
            }
        }
        let Some(i) = *best else { continue };
        let was = &old_groups[i];
        let kept: Vec<String> = g
            .iter()
            .filter(|m| was.contains(m))
            .map(|m| m.to_string())
            .collect();
        let gained: Vec<String> = g
            .iter()
            .filter(|m| !was.contains(m))
            .map(|m| m.to_string())
            .collect();
        let lost: Vec<String> = was
            .iter()
            .filter(|m| !g.contains(m))
            .map(|m| m.to_string())
            .collect();
        if !gained.is_empty() || !lost.is_empty() {
            members.push(Change::GroupMembersChanged { kept, gained, lost });
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
            qpm: 600,
            tpm: 1_000_000
        }));
        // The group gained d; c did not move.
        assert!(!changes
            .iter()
            .any(|c| matches!(c, Change::GroupChanged { .. })));
        assert!(changes.contains(&Change::GroupMembersChanged {
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
