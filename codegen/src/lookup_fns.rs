// The functions of the generated `from_id` lookup. This file is compiled
// into limits-codegen (which places every name with them) and its items are
// copied verbatim into every generated module (which finds names with them),
// so the two sides cannot disagree.

/// Hashes a name for the generated lookup: eight bytes at a time, each
/// word mixed by a folded 64x64->128-bit multiply (as wyhash), and one more
/// fold at the end so both halves of the result depend on every input bit.
#[inline]
pub(crate) const fn lookup_hash(bytes: &[u8], seed: u64) -> u64 {
    const K1: u64 = 0xa076_1d64_78bd_642f;
    const K2: u64 = 0xe703_7ed1_a0b4_28db;
    let mut h = seed ^ (bytes.len() as u64).wrapping_mul(K1);
    let mut rest = bytes;
    while let Some((word, tail)) = rest.split_first_chunk::<8>() {
        h = lookup_fold(h ^ u64::from_le_bytes(*word) ^ K2, K1);
        rest = tail;
    }
    if !rest.is_empty() {
        // The last eight bytes (overlapping the words already read) when
        // there are that many, else the bytes left, one by one.
        let word = match bytes.last_chunk::<8>() {
            Some(last) => u64::from_le_bytes(*last),
            None => {
                let mut word = 0u64;
                let mut i = 0;
                while i < rest.len() {
                    word |= (rest[i] as u64) << (8 * i);
                    i += 1;
                }
                word
            }
        };
        h = lookup_fold(h ^ word ^ K2, K1);
    }
    lookup_fold(h, K2)
}

/// The 128-bit product of `a` and `b`, its halves xor-ed together.
#[inline]
pub(crate) const fn lookup_fold(a: u64, b: u64) -> u64 {
    let product = a as u128 * b as u128;
    product as u64 ^ (product >> 64) as u64
}

/// The bucket of a hash: its high half scaled to `0..buckets`.
#[inline]
pub(crate) const fn lookup_bucket(hash: u64, buckets: usize) -> usize {
    (((hash >> 32) * buckets as u64) >> 32) as usize
}

/// The slot of a hash in a table of `1 << bits` slots, moved by the
/// bucket's displacement: `low + d * high` (as CHD), so two names of one
/// bucket land apart for most displacements.
#[inline]
pub(crate) const fn lookup_slot(hash: u64, displacement: u32, bits: u32) -> usize {
    let step = (hash >> 32) as u32 | 1;
    ((hash as u32).wrapping_add(displacement.wrapping_mul(step)) >> (32 - bits)) as usize
}

/// Byte-wise equality, usable in `const fn`: lengths first, then eight
/// bytes at a time.
#[inline]
pub(crate) const fn lookup_eq(whole_a: &[u8], whole_b: &[u8]) -> bool {
    if whole_a.len() != whole_b.len() {
        return false;
    }
    let (mut a, mut b) = (whole_a, whole_b);
    while let (Some((x, a_rest)), Some((y, b_rest))) =
        (a.split_first_chunk::<8>(), b.split_first_chunk::<8>())
    {
        if u64::from_ne_bytes(*x) != u64::from_ne_bytes(*y) {
            return false;
        }
        a = a_rest;
        b = b_rest;
    }
    if a.is_empty() {
        return true;
    }
    // Fewer than eight bytes left: compare the whole names' last eight
    // bytes when they have that many, else byte by byte.
    if let (Some(x), Some(y)) = (whole_a.last_chunk::<8>(), whole_b.last_chunk::<8>()) {
        return u64::from_ne_bytes(*x) == u64::from_ne_bytes(*y);
    }
    let mut i = 0;
    while i < a.len() {
        if a[i] != b[i] {
            return false;
        }
        i += 1;
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn eq_matches_slice_equality() {
        let words: Vec<Vec<u8>> = [
            "",
            "a",
            "ab",
            "abcdefg",
            "abcdefgh",
            "abcdefghi",
            "abcdefgh-abcdefgh-x",
        ]
        .iter()
        .map(|w| w.as_bytes().to_vec())
        .collect();
        for a in &words {
            for b in &words {
                assert_eq!(lookup_eq(a, b), a == b);
                let mut c = b.clone();
                if let Some(last) = c.last_mut() {
                    *last ^= 1;
                    assert!(!lookup_eq(b, &c));
                }
            }
        }
    }

    #[test]
    fn hash_depends_on_every_byte_and_the_seed() {
        let base = b"qwen2.5-vl-72b-instruct".to_vec();
        let h = lookup_hash(&base, 0);
        assert_ne!(h, lookup_hash(&base, 1));
        for i in 0..base.len() {
            let mut changed = base.clone();
            changed[i] ^= 0x20;
            assert_ne!(lookup_hash(&changed, 0), h, "byte {i}");
        }
        assert_ne!(lookup_hash(b"", 0), lookup_hash(b"\0", 0));
    }
}
