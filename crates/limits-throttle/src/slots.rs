//! An insert-only map from names to shared values whose reads take no lock
//! and write no shared memory: a lookup is a few loads, so threads that
//! admit requests to the same models do not contend on the map.
//!
//! Values are never removed or replaced, so a reference to one lives as
//! long as the map. Chains of nodes hang from a table of heads; a writer
//! (one at a time, behind a mutex) pushes a node onto a chain, or, when the
//! table is full, builds one twice the size with copies of the nodes and
//! publishes it. Older tables stay, untouched, until the map is dropped:
//! a reader may still be walking one. Their nodes share the values, so
//! the memory kept is at most about twice the newest table's.
//!
//! (The concurrent maps of crates.io either take a read lock, an atomic
//! read-modify-write per lookup, or tie a reference to an epoch guard
//! rather than to the map; the throttle needs neither.)

use std::hash::BuildHasher;
use std::marker::PhantomData;
use std::ptr;
use std::sync::atomic::Ordering;
use std::sync::{Arc, PoisonError};

use crate::sync::{AtomicPtr, Mutex};

/// Heads of the first table (two under loom, so that a model grows it).
#[cfg(not(limits_loom))]
const FIRST_HEADS: usize = 16;
#[cfg(limits_loom)]
const FIRST_HEADS: usize = 2;

/// Hashes keys: seeded per map, or fixed under loom (whose models replay
/// executions and need them alike).
#[cfg(not(limits_loom))]
type Hasher = foldhash::fast::RandomState;
#[cfg(limits_loom)]
type Hasher = foldhash::fast::FixedState;

/// An insert-only concurrent map from `str` keys to `Arc<V>`.
pub(crate) struct SlotMap<V> {
    hasher: Hasher,
    /// The newest table, where lookups start. Never null; it points into
    /// `tables`.
    current: AtomicPtr<Table<V>>,
    tables: Mutex<Tables<V>>,
    _values: PhantomData<Arc<V>>,
}

/// What writers share: every table made (newest last; each from
/// `Box::into_raw`, freed when the map is dropped) and the entries.
struct Tables<V> {
    all: Vec<*mut Table<V>>,
    len: usize,
}

struct Table<V> {
    /// A power of two of chains.
    heads: Box<[AtomicPtr<Node<V>>]>,
}

struct Node<V> {
    hash: u64,
    key: Box<str>,
    value: Arc<V>,
    /// Set before the node is published, never changed after.
    next: *mut Node<V>,
}

impl<V> Table<V> {
    /// A table of `n` empty chains, owned by the caller.
    fn with_heads(n: usize) -> *mut Table<V> {
        let heads = (0..n).map(|_| AtomicPtr::new(ptr::null_mut())).collect();
        Box::into_raw(Box::new(Table { heads }))
    }

    fn head(&self, hash: u64) -> &AtomicPtr<Node<V>> {
        &self.heads[hash as usize & (self.heads.len() - 1)]
    }

    fn find(&self, hash: u64, key: &str) -> Option<&Arc<V>> {
        let mut node = self.head(hash).load(Ordering::Acquire);
        // SAFETY: a published node is never changed, and freed only when
        // its table is, which outlives `&self`.
        while let Some(n) = unsafe { node.as_ref() } {
            if n.hash == hash && *n.key == *key {
                return Some(&n.value);
            }
            node = n.next;
        }
        None
    }

    /// Pushes a node onto its chain (writers only, one at a time).
    fn push(&self, hash: u64, key: Box<str>, value: Arc<V>) {
        let head = self.head(hash);
        let node = Box::new(Node {
            hash,
            key,
            value,
            next: head.load(Ordering::Relaxed),
        });
        head.store(Box::into_raw(node), Ordering::Release);
    }

    fn nodes(&self) -> impl Iterator<Item = &Node<V>> {
        self.heads.iter().flat_map(|head| {
            let mut node = head.load(Ordering::Acquire);
            std::iter::from_fn(move || {
                // SAFETY: as in `find`.
                let n = unsafe { node.as_ref() }?;
                node = n.next;
                Some(n)
            })
        })
    }
}

impl<V> Drop for Table<V> {
    fn drop(&mut self) {
        for head in self.heads.iter() {
            // Dropped: no other reference to the table is left.
            let mut node = head.load(Ordering::Relaxed);
            while !node.is_null() {
                // SAFETY: every node was made by `Box::into_raw` in `push`
                // and belongs to this table alone.
                let owned = unsafe { Box::from_raw(node) };
                node = owned.next;
            }
        }
    }
}

impl<V> Default for SlotMap<V> {
    fn default() -> Self {
        let first = Table::with_heads(FIRST_HEADS);
        SlotMap {
            hasher: Default::default(),
            current: AtomicPtr::new(first),
            tables: Mutex::new(Tables {
                all: vec![first],
                len: 0,
            }),
            _values: PhantomData,
        }
    }
}

impl<V> Drop for SlotMap<V> {
    fn drop(&mut self) {
        let tables = self.tables.lock().unwrap_or_else(PoisonError::into_inner);
        for &table in &tables.all {
            // SAFETY: made by `Box::into_raw` in `with_heads`, freed once.
            drop(unsafe { Box::from_raw(table) });
        }
    }
}

// SAFETY: the raw pointers are owned by the map (the tables) or by a table
// (its nodes), and shared only as `&`; a shared map hands out `&Arc<V>`.
unsafe impl<V: Send + Sync> Send for SlotMap<V> {}
// SAFETY: as above; writers are serialised by the mutex.
unsafe impl<V: Send + Sync> Sync for SlotMap<V> {}

impl<V> SlotMap<V> {
    fn newest(&self) -> &Table<V> {
        // SAFETY: `current` points at a table of `tables`; a table's box is
        // freed only when the map is dropped.
        unsafe { &*self.current.load(Ordering::Acquire) }
    }

    /// The value of `key`, if any.
    #[inline]
    pub fn get(&self, key: &str) -> Option<&Arc<V>> {
        self.newest().find(self.hasher.hash_one(key), key)
    }

    /// The value of `key`, made by `make` if there is none yet.
    #[inline]
    pub fn get_or_insert_with(&self, key: &str, make: impl FnOnce() -> V) -> &Arc<V> {
        match self.get(key) {
            Some(value) => value,
            None => self.insert(key, make),
        }
    }

    /// Inserts the value `make` makes for `key`, unless another thread has
    /// inserted one first.
    #[cold]
    fn insert(&self, key: &str, make: impl FnOnce() -> V) -> &Arc<V> {
        let hash = self.hasher.hash_one(key);
        let mut tables = self.tables.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(value) = self.newest().find(hash, key) {
            return value;
        }
        let heads = self.newest().heads.len();
        if tables.len >= heads {
            let bigger = Table::with_heads(heads * 2);
            tables.all.push(bigger);
            // SAFETY: just made, and not yet published.
            let fill = unsafe { &*bigger };
            for n in self.newest().nodes() {
                fill.push(n.hash, n.key.clone(), Arc::clone(&n.value));
            }
            self.current.store(bigger, Ordering::Release);
        }
        self.newest().push(hash, Box::from(key), Arc::new(make()));
        tables.len += 1;
        drop(tables);
        self.get(key).expect("just inserted")
    }

    /// How many entries the map holds.
    pub fn len(&self) -> usize {
        self.tables
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .len
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_key_keeps_its_value_as_the_map_grows() {
        let map = SlotMap::default();
        let first = Arc::clone(map.get_or_insert_with("k0", || 0));
        for i in 1..1_000 {
            let v = map.get_or_insert_with(&format!("k{i}"), || i);
            assert_eq!(**v, i);
        }
        assert_eq!(map.len(), 1_000);
        assert!(Arc::ptr_eq(&first, map.get("k0").unwrap()));
        for i in 0..1_000 {
            assert_eq!(**map.get(&format!("k{i}")).unwrap(), i);
        }
        assert!(map.get("k1000").is_none());
        // Made once: a second insert keeps the first value.
        assert_eq!(**map.get_or_insert_with("k7", || 99), 7);
    }

    #[test]
    fn threads_inserting_the_same_keys_share_one_value_each() {
        let map = SlotMap::default();
        let seen: Vec<Vec<usize>> = std::thread::scope(|s| {
            let workers: Vec<_> = (0..4)
                .map(|t| {
                    let map = &map;
                    s.spawn(move || {
                        (0..500)
                            .map(|i| {
                                let key = format!("k{}", (i * 7 + t * 13) % 500);
                                let v = map.get_or_insert_with(&key, || t);
                                Arc::as_ptr(v) as usize
                            })
                            .collect()
                    })
                })
                .collect();
            workers.into_iter().map(|w| w.join().unwrap()).collect()
        });
        assert_eq!(map.len(), 500);
        for (t, pointers) in seen.iter().enumerate() {
            for (i, &p) in pointers.iter().enumerate() {
                let key = format!("k{}", (i * 7 + t * 13) % 500);
                assert_eq!(p, Arc::as_ptr(map.get(&key).unwrap()) as usize);
            }
        }
    }
}

/// The map under loom: every interleaving of a reader and a writer that
/// grows the table, and of two writers of one key.
#[cfg(all(test, limits_loom))]
mod loom_models {
    use super::*;

    /// A map whose next insert grows the table (two entries, two heads).
    fn full() -> Arc<SlotMap<usize>> {
        let map = Arc::new(SlotMap::default());
        map.get_or_insert_with("k0", || 0);
        map.get_or_insert_with("k1", || 1);
        map
    }

    #[test]
    fn loom_a_reader_sees_every_key_while_a_writer_grows_the_table() {
        loom::model(|| {
            let map = full();
            let k0 = Arc::clone(map.get("k0").unwrap());
            let writer = {
                let map = Arc::clone(&map);
                loom::thread::spawn(move || **map.get_or_insert_with("k2", || 2))
            };
            assert!(Arc::ptr_eq(&k0, map.get("k0").unwrap()));
            assert_eq!(**map.get("k1").unwrap(), 1);
            if let Some(v) = map.get("k2") {
                assert_eq!(**v, 2);
            }
            assert_eq!(writer.join().unwrap(), 2);
            assert_eq!(**map.get("k2").unwrap(), 2);
            assert_eq!(map.len(), 3);
        });
    }

    #[test]
    fn loom_two_writers_of_one_key_share_one_value() {
        loom::model(|| {
            let map = full();
            let other = {
                let map = Arc::clone(&map);
                loom::thread::spawn(move || {
                    Arc::as_ptr(map.get_or_insert_with("k2", || 20)) as usize
                })
            };
            let mine = Arc::as_ptr(map.get_or_insert_with("k2", || 21)) as usize;
            assert_eq!(mine, other.join().unwrap());
            assert_eq!(map.len(), 3);
        });
    }
}
