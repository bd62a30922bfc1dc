//! In one process: each key's state behind a mutex of its own, held for the
//! few hundred nanoseconds the rules take (never across an `.await`), and,
//! beside it, the key's lease: what the rules set aside after an admission,
//! taken by later requests with one compare-and-swap and no lock.

use std::cell::Cell;
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError, RwLock};

use portable_atomic::AtomicU128;

use modelstudio_limits::Limits;

use crate::admission::{Adapted, KeyState, Lease, Lower, Params, Refused};
use crate::clock::StoreClock;
use crate::slots::SlotMap;

type Map<V> = HashMap<Arc<str>, V, foldhash::fast::RandomState>;

/// The states of every (account, model) this process has seen.
pub(crate) struct LocalStore {
    clock: StoreClock,
    /// What the config alone decides (the windows and their buckets).
    base: Params,
    accounts: RwLock<Map<Arc<Account>>>,
}

/// The states of one account's models. A throttle handle holds its
/// account's, so an admission looks up the model alone, without a lock.
pub(crate) struct Account {
    name: Arc<str>,
    clock: StoreClock,
    base: Params,
    /// Shards of each lease.
    shards: usize,
    models: SlotMap<Slot>,
}

/// One key's state, its lease, and what a permit needs to reconcile.
pub(crate) struct Slot {
    /// The lease in shards, each packed by [`pack`] (0: none), a power of
    /// two of them: a thread takes from its own, so threads admitting
    /// requests to one key at once do not contend.
    lease: Box<[OwnLine<AtomicU128>]>,
    /// The limits the lease was granted for, by [`limits_key`]: a request
    /// under other limits decides under the lock. Read by every admission
    /// from the lease, written by few: off the lease's line.
    leased_for: AtomicU64,
    clock: StoreClock,
    base: Params,
    account: Arc<str>,
    id: Arc<str>,
    state: Mutex<KeyState>,
}

/// How many shards a lease has: one per CPU, at most 8, rounded up to a
/// power of two.
fn lease_shards() -> usize {
    std::thread::available_parallelism()
        .map_or(1, usize::from)
        .min(8)
        .next_power_of_two()
}

/// This thread's lease shard (modulo the shards): threads are numbered in
/// the order they first admit a request.
#[inline]
fn thread_shard() -> usize {
    static NEXT: AtomicUsize = AtomicUsize::new(0);
    thread_local! {
        static SHARD: Cell<usize> = const { Cell::new(usize::MAX) };
    }
    SHARD.with(|shard| {
        if shard.get() == usize::MAX {
            shard.set(NEXT.fetch_add(1, Ordering::Relaxed) & (usize::MAX >> 1));
        }
        shard.get()
    })
}

/// A value on cache lines of its own (two: CPUs fetch lines in pairs), so
/// that writing it does not evict what is read beside it.
#[repr(align(128))]
struct OwnLine<T>(T);

/// A lease in one word: `until` in the high half, then requests and tokens
/// (each at most `u32::MAX`, as [`KeyState::lease`] grants them).
#[inline]
fn pack(lease: Lease) -> u128 {
    u128::from(lease.until) << 64 | u128::from(lease.requests) << 32 | u128::from(lease.tokens)
}

#[inline]
fn unpack(word: u128) -> Lease {
    Lease {
        until: (word >> 64) as u64,
        requests: (word >> 32) as u32 as u64,
        tokens: word as u32 as u64,
    }
}

/// The limits a lease is for, in one word.
#[inline]
fn limits_key(limits: Limits) -> u64 {
    u64::from(limits.qpm) << 32 | u64::from(limits.tpm)
}

impl Slot {
    #[inline]
    fn now(&self) -> u64 {
        self.clock.now_ns() / 1_000
    }

    fn state(&self) -> MutexGuard<'_, KeyState> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The account and model of the key.
    pub fn names(&self) -> (&str, &str) {
        (&self.account, &self.id)
    }

    /// Admits a request of `tokens` under `limits` from the lease, if it
    /// holds now for these limits and has room, and returns when it counts
    /// as admitted. One compare-and-swap; no lock.
    #[inline]
    pub fn take_from_lease(&self, limits: Limits, tokens: u64) -> Option<u64> {
        let now = self.now();
        let shard = &self.lease[thread_shard() & (self.lease.len() - 1)].0;
        let mut word = shard.load(Ordering::Acquire);
        loop {
            let lease = unpack(word);
            if now >= lease.until || lease.requests == 0 || tokens > lease.tokens {
                return None;
            }
            if self.leased_for.load(Ordering::Acquire) != limits_key(limits) {
                return None;
            }
            let rest = Lease {
                requests: lease.requests - 1,
                tokens: lease.tokens - tokens,
                ..lease
            };
            match shard.compare_exchange_weak(word, pack(rest), Ordering::AcqRel, Ordering::Acquire)
            {
                Ok(_) => return Some(lease.at()),
                Err(seen) => word = seen,
            }
        }
    }

    /// Admits a request of `tokens` under `limits` (`p` after headroom) by
    /// the rules, under the lock, and counts it (returning when it counts
    /// as admitted), or says why not. An admission leaves a lease for the
    /// requests after it.
    pub fn decide(&self, limits: Limits, p: &Params, tokens: u64) -> Result<u64, Refused> {
        let now = self.now();
        let mut state = self.state();
        self.revoke(&mut state);
        let at = state.decide(p, now, tokens)?;
        if let Some(lease) = state.lease(p) {
            // Published after the limits it is for: a reader that sees
            // this lease sees them (or later ones, with another lease).
            self.leased_for.store(limits_key(limits), Ordering::Relaxed);
            for (shard, part) in self.lease.iter().zip(lease.split(self.lease.len() as u64)) {
                let word = if part.requests == 0 { 0 } else { pack(part) };
                shard.0.store(word, Ordering::Release);
            }
        }
        Ok(at)
    }

    /// Ends the lease, and takes back what it did not use (under the lock,
    /// before the rules look at the buckets).
    fn revoke(&self, state: &mut KeyState) {
        let mut unused: Option<Lease> = None;
        for shard in self.lease.iter() {
            let word = shard.0.swap(0, Ordering::AcqRel);
            if word != 0 {
                let part = unpack(word);
                let sum = unused.get_or_insert(Lease {
                    requests: 0,
                    tokens: 0,
                    ..part
                });
                sum.requests += part.requests;
                sum.tokens += part.tokens;
            }
        }
        if let Some(unused) = unused {
            state.release(&self.base, unused);
        }
    }

    /// Replaces the estimate of a request admitted `at` by the tokens it
    /// used.
    pub fn reconcile(&self, at: u64, estimated: u64, actual: u64) {
        let now = self.now();
        let mut state = self.state();
        if actual > estimated {
            // More tokens than counted may leave the lease more than the
            // windows still hold: the next request decides again.
            self.revoke(&mut state);
        }
        state.reconcile(&self.base, now, at, estimated, actual);
    }

    pub fn report(&self, p: &Params, lower: Lower) {
        let now = self.now();
        let mut state = self.state();
        self.revoke(&mut state);
        state.report(p, now, lower);
    }

    pub fn adapted(&self, p: &Params) -> Adapted {
        let now = self.now();
        self.state().adapted(p, now)
    }
}

impl std::fmt::Debug for Slot {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Slot")
            .field("account", &self.account)
            .field("model", &self.id)
            .finish_non_exhaustive()
    }
}

impl std::fmt::Debug for LocalStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let keys: usize = read(&self.accounts).values().map(|a| a.models.len()).sum();
        f.debug_struct("LocalStore").field("keys", &keys).finish()
    }
}

impl std::fmt::Debug for Account {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Account")
            .field("name", &self.name)
            .field("models", &self.models.len())
            .finish()
    }
}

impl LocalStore {
    /// A store on `clock` for a throttle whose config gives `base`.
    pub fn new(clock: StoreClock, base: Params) -> Self {
        LocalStore {
            clock,
            base,
            accounts: RwLock::default(),
        }
    }

    /// The states of `account`'s models, made on first use.
    pub fn account(&self, account: &str) -> Arc<Account> {
        if let Some(known) = read(&self.accounts).get(account) {
            return Arc::clone(known);
        }
        let mut accounts = write(&self.accounts);
        let known = accounts.entry(Arc::from(account)).or_insert_with(|| {
            Arc::new(Account {
                name: Arc::from(account),
                clock: self.clock.clone(),
                base: self.base,
                shards: lease_shards(),
                models: SlotMap::default(),
            })
        });
        Arc::clone(known)
    }
}

impl Account {
    /// The state of model `id`, made on first use.
    #[inline]
    pub fn slot(&self, id: &str) -> &Arc<Slot> {
        self.models.get_or_insert_with(id, || Slot {
            lease: (0..self.shards)
                .map(|_| OwnLine(AtomicU128::new(0)))
                .collect(),
            leased_for: AtomicU64::new(0),
            clock: self.clock.clone(),
            base: self.base,
            account: Arc::clone(&self.name),
            id: Arc::from(id),
            state: Mutex::default(),
        })
    }
}

pub(crate) fn read<T>(lock: &RwLock<T>) -> std::sync::RwLockReadGuard<'_, T> {
    lock.read().unwrap_or_else(PoisonError::into_inner)
}

pub(crate) fn write<T>(lock: &RwLock<T>) -> std::sync::RwLockWriteGuard<'_, T> {
    lock.write().unwrap_or_else(PoisonError::into_inner)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::FakeClock;
    use crate::config::{Config, Pacing};

    /// Under bursty pacing at 0.2: 12,000 requests and 1.2 M tokens at once.
    const LIMITS: Limits = Limits {
        qpm: 60_000,
        tpm: 6_000_000,
    };

    /// A key on a fake clock under bursty pacing, its parameters, and the
    /// rules alone beside it.
    fn key(clock: &FakeClock) -> (Arc<Account>, Params) {
        let config = Config::default().with_pacing(Pacing::Bursty { burst: 0.2 });
        let base = Params::new(Limits { qpm: 1, tpm: 1 }, &config);
        let store = LocalStore::new(StoreClock::new(clock.clone()), base);
        (store.account("a"), base.with_limits(LIMITS, 1.0))
    }

    fn leased(slot: &Slot) -> (u64, u64) {
        slot.lease.iter().fold((0, 0), |(r, t), shard| {
            let part = unpack(shard.0.load(Ordering::Acquire));
            (r + part.requests, t + part.tokens)
        })
    }

    #[test]
    fn the_lease_admits_what_the_rules_admit_and_gives_back_the_rest() {
        let clock = FakeClock::new();
        clock.set_ns(5_000_000_000);
        let (account, p) = key(&clock);
        let slot = account.slot("m");
        let mut rules = KeyState::default();
        let now = slot.now();
        let (mut admitted, mut by_lease) = (0, 0);
        // Requests of 70 tokens at one instant: the lease admits some, the
        // rules (after revoking it) the others, until the rules refuse.
        loop {
            if slot.take_from_lease(LIMITS, 70).is_some() {
                by_lease += 1;
            } else if slot.decide(LIMITS, &p, 70).is_err() {
                break;
            }
            admitted += 1;
            assert!(
                rules.decide(&p, now, 70).is_ok(),
                "admitted beyond the rules"
            );
        }
        assert!(
            rules.decide(&p, now, 70).is_err(),
            "refused within the rules"
        );
        assert!(
            by_lease > admitted / 2,
            "{by_lease} of {admitted} from the lease"
        );
        // What is counted is what was admitted: the refusal revoked the
        // lease and gave back what it held.
        assert_eq!(leased(slot), (0, 0));
        let state = slot.state();
        assert_eq!(state.buckets().0.sums(), (admitted, admitted * 70));
        assert_eq!(state.buckets().1.sums(), (admitted, admitted * 70));
    }

    #[test]
    fn threads_taking_from_one_lease_admit_exactly_what_the_rules_admit() {
        let clock = FakeClock::new();
        clock.set_ns(5_000_000_000);
        let (account, p) = key(&clock);
        let slot = account.slot("m");
        let admitted: u64 = std::thread::scope(|s| {
            let threads: Vec<_> = (0..4)
                .map(|_| {
                    s.spawn(|| {
                        let mut mine = 0;
                        while slot.take_from_lease(LIMITS, 7).is_some()
                            || slot.decide(LIMITS, &p, 7).is_ok()
                        {
                            mine += 1;
                        }
                        mine
                    })
                })
                .collect();
            threads.into_iter().map(|t| t.join().unwrap()).sum()
        });
        let mut rules = KeyState::default();
        let now = slot.now();
        let mut expected = 0;
        while rules.decide(&p, now, 7).is_ok() {
            expected += 1;
        }
        assert_eq!(admitted, expected);
        assert_eq!(leased(slot), (0, 0));
        assert_eq!(slot.state().buckets().0.sums(), (admitted, admitted * 7));
    }

    #[test]
    fn other_limits_a_new_bucket_or_a_report_end_the_lease() {
        let clock = FakeClock::new();
        let (account, p) = key(&clock);
        let slot = account.slot("m");
        assert_eq!(
            slot.take_from_lease(LIMITS, 1),
            None,
            "a lease before any admission"
        );
        slot.decide(LIMITS, &p, 1).unwrap();
        assert_ne!(leased(slot), (0, 0));
        let other = Limits { qpm: 60, ..LIMITS };
        assert_eq!(slot.take_from_lease(other, 1), None);
        // The lease ends with its bucket.
        let until = slot.take_from_lease(LIMITS, 1).unwrap() + 1;
        clock.set_ns(until * 1_000);
        assert_eq!(slot.take_from_lease(LIMITS, 1), None);
        slot.decide(LIMITS, &p, 1).unwrap();
        let lower = Lower {
            requests: true,
            tokens: false,
        };
        slot.report(&p, lower);
        assert_eq!(leased(slot), (0, 0));
        assert_eq!(slot.take_from_lease(LIMITS, 1), None);
    }

    #[test]
    fn more_tokens_than_estimated_end_the_lease_fewer_do_not() {
        let clock = FakeClock::new();
        let (account, p) = key(&clock);
        let slot = account.slot("m");
        let at = slot.decide(LIMITS, &p, 100).unwrap();
        let before = leased(slot);
        slot.reconcile(at, 100, 40);
        assert_eq!(leased(slot), before);
        slot.reconcile(at, 40, 41);
        assert_eq!(leased(slot), (0, 0));
        assert_eq!(slot.state().buckets().0.sums(), (1, 41));
    }
}
