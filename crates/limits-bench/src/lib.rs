//! What the benchmarks of modelstudio-limits compare: the generated lookup
//! against phf, std's HashMap and a sequential `match`, on the real table
//! and on a synthetic one of 10,000 models (feature `ten-thousand`: its
//! code takes most of this crate's build, so only what uses it builds it).

use std::collections::HashMap;

use modelstudio_limits::Model;

pub mod synthetic;

/// The number of models of the synthetic table compiled into `big`.
pub const BIG: usize = 10_000;

/// limits-codegen's output for a synthetic table of [`BIG`] models.
#[cfg(feature = "ten-thousand")]
pub mod big {
    include!(concat!(env!("OUT_DIR"), "/big.rs"));
}

/// The number of models of the synthetic table of [`small_auto`] and
/// [`small_hash`].
pub const SMALL: usize = 200;

/// The real table with `Lookup::Match` (what `Lookup::Auto` picks for it).
pub mod real_match {
    include!(concat!(env!("OUT_DIR"), "/real_match.rs"));
}

/// The real table with `Lookup::PerfectHash`.
pub mod real_hash {
    include!(concat!(env!("OUT_DIR"), "/real_hash.rs"));
}

/// A synthetic table of [`SMALL`] models with `Lookup::Auto`.
pub mod small_auto {
    include!(concat!(env!("OUT_DIR"), "/small_auto.rs"));
}

/// The same table with `Lookup::PerfectHash`.
pub mod small_hash {
    include!(concat!(env!("OUT_DIR"), "/small_hash.rs"));
}

/// limits-codegen's output for a table with a deprecated model.
pub mod deprecated {
    include!(concat!(env!("OUT_DIR"), "/deprecated.rs"));
}

/// phf maps over the real table.
pub mod phf_real {
    include!(concat!(env!("OUT_DIR"), "/phf_real.rs"));
}

/// phf maps over the synthetic table.
#[cfg(feature = "ten-thousand")]
pub mod phf_big {
    include!(concat!(env!("OUT_DIR"), "/phf_big.rs"));
}

/// The sequential match over the real table.
pub mod match_real {
    use modelstudio_limits::Model;
    include!(concat!(env!("OUT_DIR"), "/match_real.rs"));
}

/// The real table through phf.
pub fn from_id_phf(s: &str) -> Option<Model> {
    phf_real::MAP.get(s).map(|&i| Model::ALL[i as usize])
}

/// The synthetic table through phf.
#[cfg(feature = "ten-thousand")]
pub fn from_id_phf_big(s: &str) -> Option<big::Model> {
    phf_big::MAP.get(s).map(|&i| big::Model::ALL[i as usize])
}

/// A std HashMap over every id and alias of `models`, whose ids and aliases
/// `names` gives.
fn hashmap<M: Copy>(
    models: &'static [M],
    names: &impl Fn(M) -> (&'static str, &'static [&'static str]),
) -> HashMap<&'static str, M> {
    models
        .iter()
        .flat_map(|&m| {
            let (id, aliases) = names(m);
            std::iter::once(id)
                .chain(aliases.iter().copied())
                .map(move |n| (n, m))
        })
        .collect()
}

/// A std HashMap over every id and alias of the real table.
pub fn hashmap_real() -> HashMap<&'static str, Model> {
    hashmap(Model::ALL, &|m: Model| (m.id(), m.aliases()))
}

/// A std HashMap over every id and alias of the synthetic table.
#[cfg(feature = "ten-thousand")]
pub fn hashmap_big() -> HashMap<&'static str, big::Model> {
    hashmap(big::Model::ALL, &|m: big::Model| (m.id(), m.aliases()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_lookup_agrees_on_the_real_table() {
        let map = hashmap_real();
        for &m in Model::ALL {
            for name in std::iter::once(m.id()).chain(m.aliases().iter().copied()) {
                assert_eq!(Model::from_id(name), Some(m));
                assert_eq!(from_id_phf(name), Some(m));
                assert_eq!(map.get(name), Some(&m));
                assert_eq!(match_real::from_str_match(name), Some(m));
            }
        }
        for miss in ["", "gpt-4o", "qwen-max-2025-01-26", "QWEN-MAX"] {
            assert_eq!(Model::from_id(miss), None);
            assert_eq!(from_id_phf(miss), None);
            assert_eq!(match_real::from_str_match(miss), None);
        }
    }

    /// Names a lookup must refuse unless they are names: each name cut
    /// short, lengthened, with its last or first byte changed, uppercased.
    fn near_misses(name: &str) -> Vec<String> {
        let mut out = vec![
            name[..name.len() - 1].to_string(),
            format!("{name}x"),
            format!("{name}-"),
            format!("{}x", &name[..name.len() - 1]),
            format!("x{}", &name[1..]),
            name.to_uppercase(),
            format!(" {name}"),
        ];
        if name.len() > 8 {
            // A change inside the first 8-byte word only.
            out.push(format!("{}x{}", &name[..3], &name[4..]));
        }
        out
    }

    /// `lookup` (a generated `from_id`) agrees with a HashMap on every id,
    /// alias and near miss of `models`.
    fn agrees_with_a_hashmap<M: Copy + PartialEq + std::fmt::Debug>(
        models: &'static [M],
        names: impl Fn(M) -> (&'static str, &'static [&'static str]),
        lookup: fn(&str) -> Option<M>,
    ) {
        let map = hashmap(models, &names);
        let mut checked = 0;
        for &m in models {
            let (id, aliases) = names(m);
            for name in std::iter::once(id).chain(aliases.iter().copied()) {
                assert_eq!(lookup(name), Some(m), "{name}");
                for miss in near_misses(name) {
                    assert_eq!(lookup(&miss), map.get(miss.as_str()).copied(), "{miss}");
                    checked += 1;
                }
            }
        }
        assert!(checked > models.len() * 7);
        assert_eq!(lookup(""), None);
    }

    #[test]
    fn both_lookup_strategies_agree_with_a_hashmap() {
        // The published code is what Auto picks for the table's size.
        let published = include_str!("../../modelstudio-limits/src/generated.rs");
        let names: usize = modelstudio_limits::Model::ALL
            .iter()
            .map(|m| 1 + m.aliases().len())
            .sum();
        if names <= limits_codegen::Lookup::MATCH_MAX_NAMES {
            assert!(published.contains("match id.as_bytes()"));
        } else {
            assert!(published.contains("LOOKUP_SEED"));
        }
        agrees_with_a_hashmap(
            real_match::Model::ALL,
            |m| (m.id(), m.aliases()),
            real_match::Model::from_id,
        );
        agrees_with_a_hashmap(
            real_hash::Model::ALL,
            |m| (m.id(), m.aliases()),
            real_hash::Model::from_id,
        );
        agrees_with_a_hashmap(
            small_auto::Model::ALL,
            |m| (m.id(), m.aliases()),
            small_auto::Model::from_id,
        );
        agrees_with_a_hashmap(
            small_hash::Model::ALL,
            |m| (m.id(), m.aliases()),
            small_hash::Model::from_id,
        );
        // Each strategy is what was asked for.
        let out = env!("OUT_DIR");
        let read = |f: &str| std::fs::read_to_string(format!("{out}/{f}")).unwrap();
        assert!(read("small_auto.rs").contains("match id.as_bytes()"));
        assert!(read("small_hash.rs").contains("LOOKUP_SEED"));
        assert!(read("real_hash.rs").contains("LOOKUP_SEED"));
        assert_eq!(small_auto::Model::ALL.len(), SMALL);
    }

    #[test]
    #[allow(deprecated)]
    fn deprecated_models_still_work() {
        use deprecated::Model;
        assert_eq!(Model::from_id("chat-old"), Some(Model::Chat1));
        assert_eq!(Model::Chat1.id(), "chat-1");
        assert_eq!(Model::ALL, &[Model::Chat2, Model::Chat1]);
    }

    #[test]
    #[cfg(feature = "ten-thousand")]
    fn the_generated_code_for_ten_thousand_models_works() {
        agrees_with_a_hashmap(
            big::Model::ALL,
            |m| (m.id(), m.aliases()),
            big::Model::from_id,
        );
        let big_rs = std::fs::read_to_string(concat!(env!("OUT_DIR"), "/big.rs")).unwrap();
        assert!(big_rs.contains("LOOKUP_SEED"));
        assert_eq!(big::Model::ALL.len(), BIG);
        let map = hashmap_big();
        for (i, &m) in big::Model::ALL.iter().enumerate() {
            let id = synthetic::model_id(i);
            assert_eq!(m.id(), id);
            assert_eq!(big::Model::from_id(&id), Some(m));
            assert_eq!(from_id_phf_big(&id), Some(m));
            assert_eq!(map.get(id.as_str()), Some(&m));
            if let Some(alias) = synthetic::alias(i) {
                assert_eq!(big::Model::from_id(&alias), Some(m));
                assert_eq!(m.aliases(), &[alias.as_str()]);
            }
            let tpm = m
                .limits_in(modelstudio_limits::Deployment::GLOBAL)
                .and_then(|l| l.tpm());
            assert_eq!(tpm, Some(100_000 + i as u64 / 4 * 4));
        }
        assert_eq!(big::Model::from_id("synth0-1b-chat-v10000"), None);
    }
}
