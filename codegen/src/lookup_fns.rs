// The functions of the generated `from_id` lookup. This file is compiled
// into limits-codegen (which places every name with them) and its items are
// copied verbatim into every generated module (which finds names with them),
// so the two sides cannot disagree.

/// Hashes a name for the generated lookup: eight bytes at a time, each
/// word mixed by a folded 64x64->128-bit multiply (as wyhash), then a
/// murmur3 finalizer so every bit of the result depends on every input bit.
#[inline]
pub(crate) const fn lookup_hash(bytes: &[u8], seed: u64) -> u64 {
    const K1: u64 = 0xa076_1d64_78bd_642f;
    const K2: u64 = 0xe703_7ed1_a0b4_28db;
    let mut h = seed ^ (bytes.len() as u64).wrapping_mul(K1);
    let mut i = 0;
    while i + 8 <= bytes.len() {
        let word = u64::from_le_bytes([
            bytes[i],
            bytes[i + 1],
            bytes[i + 2],
            bytes[i + 3],
            bytes[i + 4],
            bytes[i + 5],
            bytes[i + 6],
            bytes[i + 7],
        ]);
        h = lookup_fold(h ^ word ^ K2, K1);
        i += 8;
    }
    if i < bytes.len() {
        let mut word = 0u64;
        let mut shift = 0;
        while i < bytes.len() {
            word |= (bytes[i] as u64) << shift;
            shift += 8;
            i += 1;
        }
        h = lookup_fold(h ^ word ^ K2, K1);
    }
    h ^= h >> 33;
    h = h.wrapping_mul(0xff51_afd7_ed55_8ccd);
    h ^= h >> 33;
    h = h.wrapping_mul(0xc4ce_b9fe_1a85_ec53);
    h ^ (h >> 33)
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

/// Byte-wise equality, usable in `const fn`.
#[inline]
pub(crate) const fn lookup_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
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
