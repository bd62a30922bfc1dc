//! A perfect hash of a table's names (ids and aliases), built at generation
//! time, so the generated `from_id` costs one hash, two table loads and one
//! comparison whatever the number of models.
//!
//! The method is "hash and displace" (as phf's): names are hashed into
//! buckets; buckets are placed largest first, each with the first
//! displacement that sends all its names to free slots. The hash functions
//! are those of `lookup_fns.rs`, which the generated code carries too.

use crate::lookup_fns::{lookup_bucket, lookup_hash, lookup_slot};

/// A placement of every name in a table of `1 << bits` slots.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct PerfectHash {
    pub seed: u64,
    pub bits: u32,
    /// One displacement per bucket.
    pub displacements: Vec<u32>,
    /// For each slot, the index of the name placed there.
    pub slots: Vec<Option<usize>>,
}

/// Average names per bucket.
const BUCKET_SIZE: usize = 4;
/// Displacements tried per bucket before trying another seed.
const MAX_DISPLACEMENT: u32 = 1 << 16;
/// Seeds tried at one table size before doubling it.
const SEEDS_PER_SIZE: u64 = 16;

/// Places `names` (distinct) so that each has a slot of its own.
/// Deterministic: the same names always give the same placement.
pub(crate) fn build(names: &[&[u8]]) -> PerfectHash {
    // At most one slot per name and at least two slots; the load factor
    // stays in (0.5, 1].
    let mut bits = names.len().next_power_of_two().max(2).trailing_zeros();
    let mut seed = 0u64;
    loop {
        if let Some(hash) = try_build(names, seed, bits) {
            return hash;
        }
        seed += 1;
        if seed.is_multiple_of(SEEDS_PER_SIZE) {
            bits += 1;
        }
    }
}

fn try_build(names: &[&[u8]], seed: u64, bits: u32) -> Option<PerfectHash> {
    let bucket_count = names.len().div_ceil(BUCKET_SIZE).max(1);
    let hashes: Vec<u64> = names.iter().map(|n| lookup_hash(n, seed)).collect();
    let mut buckets: Vec<Vec<usize>> = vec![Vec::new(); bucket_count];
    for (i, &h) in hashes.iter().enumerate() {
        buckets[lookup_bucket(h, bucket_count)].push(i);
    }
    let mut order: Vec<usize> = (0..bucket_count).collect();
    // Largest first; ties by index, for determinism.
    order.sort_by_key(|&b| (std::cmp::Reverse(buckets[b].len()), b));

    let mut slots: Vec<Option<usize>> = vec![None; 1 << bits];
    let mut displacements = vec![0u32; bucket_count];
    let mut taken = Vec::with_capacity(BUCKET_SIZE * 4);
    for b in order {
        let members = &buckets[b];
        if members.is_empty() {
            break;
        }
        let placed = (0..MAX_DISPLACEMENT).find(|&d| {
            taken.clear();
            for &i in members {
                let slot = lookup_slot(hashes[i], d, bits);
                if slots[slot].is_some() || taken.contains(&slot) {
                    return false;
                }
                taken.push(slot);
            }
            true
        })?;
        displacements[b] = placed;
        for (&i, &slot) in members.iter().zip(&taken) {
            slots[slot] = Some(i);
        }
    }
    Some(PerfectHash {
        seed,
        bits,
        displacements,
        slots,
    })
}

impl PerfectHash {
    /// The index of the name in the slot `name` hashes to, if any (the
    /// caller compares the name itself).
    #[cfg(test)]
    fn probe(&self, name: &[u8]) -> Option<usize> {
        let h = lookup_hash(name, self.seed);
        let d = self.displacements[lookup_bucket(h, self.displacements.len())];
        self.slots[lookup_slot(h, d, self.bits)]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(names: &[String]) -> PerfectHash {
        let bytes: Vec<&[u8]> = names.iter().map(|n| n.as_bytes()).collect();
        let hash = build(&bytes);
        for (i, name) in bytes.iter().enumerate() {
            assert_eq!(hash.probe(name), Some(i), "{:?}", names[i]);
        }
        assert_eq!(hash.slots.iter().flatten().count(), names.len());
        hash
    }

    #[test]
    fn places_every_name_once() {
        for n in [1, 2, 3, 40, 1000] {
            let names: Vec<String> = (0..n).map(|i| format!("model-{i}")).collect();
            let hash = check(&names);
            assert!(
                hash.slots.len() <= 4 * n.max(2),
                "{n}: {} slots",
                hash.slots.len()
            );
        }
    }

    #[test]
    fn similar_names_hash_apart() {
        // Names that differ in one byte at a word's edge (a multiply-rotate
        // hash like FxHash maps "model-117" and "model-198" to one value).
        let mut seen = std::collections::HashSet::new();
        for i in 0..20_000 {
            assert!(
                seen.insert(lookup_hash(format!("model-{i}").as_bytes(), 0)),
                "{i}"
            );
        }
    }

    #[test]
    fn is_deterministic() {
        let names: Vec<String> = (0..100).map(|i| format!("qwen{i}.5-chat")).collect();
        assert_eq!(check(&names), check(&names));
    }

    #[test]
    fn names_differing_in_one_byte_or_length_are_separated() {
        let mut names: Vec<String> = (0..64).map(|i| "a".repeat(i + 1)).collect();
        names.extend((b'a'..=b'z').map(|c| format!("qwen-max-{}", c as char)));
        check(&names);
    }
}
