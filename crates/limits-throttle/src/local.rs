//! In one process: each key's state behind a mutex of its own, held for the
//! few hundred nanoseconds the rules take (never across an `.await`), and,
//! beside it, the key's lease: what the rules set aside after an admission,
//! taken by later requests with one compare-and-swap and no lock.

use std::collections::HashMap;
use std::sync::atomic::Ordering;
use std::sync::{Arc, OnceLock, PoisonError, RwLock};

use crate::sync::{AtomicU64, Mutex, MutexGuard};

use crate::throttle::Enforced;

use crate::admission::{Adapted, KeyState, Lease, Lower, Params, Refused};
use crate::clock::StoreClock;
use crate::slots::SlotMap;

type Map<V> = HashMap<Arc<str>, V, foldhash::fast::RandomState>;

/// The states of every (account, model) this process has seen.
pub(crate) struct LocalStore {
    clock: StoreClock,
    /// What the config alone decides (the windows and their buckets).
    base: Params,
    /// Shards of each lease.
    shards: usize,
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
    /// The account's tasks in flight, per model.
    pub(crate) tasks: crate::tasks::AccountSlots,
}

/// One key's state, its lease, and what a permit needs to reconcile.
pub(crate) struct Slot {
    /// The lease in shards, each packed by [`pack`] (0: none), a power of
    /// two of them: a thread takes from its own, so threads admitting
    /// requests to one key at once do not contend.
    lease: Box<[OwnLine<AtomicU64>]>,
    /// When the lease ends (us); a shard holds its low 8 bits, to tell
    /// most of the time that the two belong together.
    until: AtomicU64,
    /// The limits the lease was granted for (requests, tokens per window):
    /// a request under other limits decides under the lock. Read by every
    /// admission from the lease, written by few: off the lease's lines.
    /// Both are written before the shards are published.
    leased_rpm: AtomicU64,
    leased_tpm: AtomicU64,
    clock: StoreClock,
    base: Params,
    account: Arc<str>,
    id: Arc<str>,
    state: Mutex<KeyState>,
    /// The key's metrics, registered when it is made (`observe`).
    pub(crate) admitted: metrics::Counter,
    refused_wait: metrics::Counter,
    refused_too_large: metrics::Counter,
}

/// Bits of a lease shard for its requests, and for its tokens: enough that
/// a shard runs out before its bucket ends only at millions of requests a
/// second (each time it does, every shard is revoked under the lock).
const REQUEST_BITS: u32 = 24;
const TOKEN_BITS: u32 = 32;
/// The most requests, and tokens, one shard holds.
const SHARD_REQUESTS: u64 = (1 << REQUEST_BITS) - 1;
const SHARD_TOKENS: u64 = (1 << TOKEN_BITS) - 1;

/// How many shards a lease has: one per CPU, at most 8, rounded up to a
/// power of two. Asked of the OS once per process (on Linux it reads the
/// cgroup's files), when the first in-process throttle is made.
fn lease_shards() -> usize {
    static SHARDS: OnceLock<usize> = OnceLock::new();
    *SHARDS.get_or_init(|| {
        std::thread::available_parallelism()
            .map_or(1, usize::from)
            .min(8)
            .next_power_of_two()
    })
}

/// This thread's lease shard (modulo the shards): threads are numbered in
/// the order they first admit a request. (Under loom: every thread takes
/// from shard 0, so that its models contend on one word, the same in every
/// execution they replay.)
#[cfg(limits_loom)]
fn thread_shard() -> usize {
    0
}

/// This thread's lease shard (modulo the shards): threads are numbered in
/// the order they first admit a request.
#[cfg(not(limits_loom))]
#[inline]
fn thread_shard() -> usize {
    use std::cell::Cell;
    use std::sync::atomic::AtomicUsize;
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

/// A lease shard in one word: the low 8 bits of `until`, then its
/// requests and tokens (at most [`SHARD_REQUESTS`] and [`SHARD_TOKENS`]).
#[inline]
fn pack(part: Lease) -> u64 {
    debug_assert!(part.requests <= SHARD_REQUESTS && part.tokens <= SHARD_TOKENS);
    (part.until as u8 as u64) << (REQUEST_BITS + TOKEN_BITS)
        | part.requests << TOKEN_BITS
        | part.tokens
}

/// A shard's word: the low 8 bits of `until`, its requests and tokens.
#[inline]
fn unpack(word: u64) -> (u8, u64, u64) {
    (
        (word >> (REQUEST_BITS + TOKEN_BITS)) as u8,
        (word >> TOKEN_BITS) & SHARD_REQUESTS,
        word & SHARD_TOKENS,
    )
}

impl Slot {
    /// Counts a refusal of this key on its own counters, and says it.
    pub(crate) fn observe_refusal(&self, refusal: &crate::refusal::Refusal) {
        use crate::refusal::Refusal;
        match refusal {
            Refusal::RetryAfter(wait) => {
                crate::observe::not_now(&self.account, &self.id, *wait);
                self.refused_wait.increment(1);
            }
            other => {
                crate::observe::refused_event(&self.account, &self.id, other);
                self.refused_too_large.increment(1);
            }
        }
    }

    /// The key's clock, in microseconds.
    #[inline]
    pub fn now(&self) -> u64 {
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
    /// holds at `now` for these limits and has room, and returns when it counts
    /// as admitted. One compare-and-swap on this thread's shard; no lock.
    ///
    /// A grant writes `until` and the limits before it publishes the shards,
    /// and revokes them before it writes again. So the `until` read after a
    /// shard's word is its grant's, or a later grant's (whose low bits
    /// mostly differ). A stale lease is never taken: its `until` is read
    /// as it is. And if the compare-and-swap succeeds after later grants,
    /// the shard holds a later grant's word of the same numbers, which ends
    /// no earlier than the `until` read: the request is admitted within
    /// it, and counted at the end of a bucket no later than its own.
    #[inline]
    pub fn take_from_lease(&self, now: u64, limits: Enforced, tokens: u64) -> Option<u64> {
        let shard = &self.lease[thread_shard() & (self.lease.len() - 1)].0;
        let mut word = shard.load(Ordering::Acquire);
        loop {
            let (low, requests, left) = unpack(word);
            if requests == 0 || tokens > left {
                return None;
            }
            let until = self.until.load(Ordering::Acquire);
            if until as u8 != low || now >= until {
                return None;
            }
            if self.leased_rpm.load(Ordering::Acquire) != limits.rpm
                || self.leased_tpm.load(Ordering::Acquire) != limits.tpm
            {
                return None;
            }
            // One request and `tokens` fewer: neither field borrows.
            let rest = word - (1 << TOKEN_BITS) - tokens;
            match shard.compare_exchange_weak(word, rest, Ordering::AcqRel, Ordering::Acquire) {
                Ok(_) => return Some(until - 1),
                Err(seen) => word = seen,
            }
        }
    }

    /// Admits a request of `tokens` at `now` under `limits` (`p` after
    /// headroom) by the rules, under the lock, and counts it (returning when it counts
    /// as admitted), or says why not. An admission leaves a lease for the
    /// requests after it.
    pub fn decide(
        &self,
        now: u64,
        limits: Enforced,
        p: &Params,
        tokens: u64,
    ) -> Result<u64, Refused> {
        let mut state = self.state();
        self.revoke(&mut state);
        let at = state.decide(p, now, tokens)?;
        let shards = self.lease.len() as u64;
        if let Some(lease) = state.lease(p, shards, SHARD_REQUESTS, SHARD_TOKENS) {
            self.until.store(lease.until, Ordering::Relaxed);
            self.leased_rpm.store(limits.rpm, Ordering::Relaxed);
            self.leased_tpm.store(limits.tpm, Ordering::Relaxed);
            for (shard, part) in self.lease.iter().zip(lease.split(shards)) {
                let word = if part.requests == 0 { 0 } else { pack(part) };
                shard.0.store(word, Ordering::Release);
            }
        }
        Ok(at)
    }

    /// Ends the lease, and takes back what it did not use (under the lock,
    /// before the rules look at the buckets).
    fn revoke(&self, state: &mut KeyState) {
        let (mut requests, mut tokens) = (0, 0);
        for shard in self.lease.iter() {
            let (_, r, t) = unpack(shard.0.swap(0, Ordering::AcqRel));
            requests += r;
            tokens += t;
        }
        if requests > 0 || tokens > 0 {
            let until = self.until.load(Ordering::Relaxed);
            let unused = Lease {
                until,
                requests,
                tokens,
            };
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
            shards: lease_shards(),
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
                shards: self.shards,
                models: SlotMap::default(),
                tasks: Default::default(),
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
                .map(|_| OwnLine(AtomicU64::new(0)))
                .collect(),
            until: AtomicU64::new(0),
            leased_rpm: AtomicU64::new(0),
            leased_tpm: AtomicU64::new(0),
            clock: self.clock.clone(),
            base: self.base,
            account: Arc::clone(&self.name),
            id: Arc::from(id),
            state: Mutex::new(KeyState::default()),
            admitted: crate::observe::admitted_counter(&self.name, id),
            refused_wait: crate::observe::refused_counter(&self.name, id, "retry_after"),
            refused_too_large: crate::observe::refused_counter(&self.name, id, "too_large"),
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
    const LIMITS: Enforced = Enforced {
        rpm: 60_000,
        tpm: 6_000_000,
    };

    /// A key on a fake clock under bursty pacing, its parameters, and the
    /// rules alone beside it.
    fn key(clock: &FakeClock) -> (Arc<Account>, Params) {
        let config = Config::default().with_pacing(Pacing::Bursty { burst: 0.2 });
        let base = Params::new(Enforced { rpm: 1, tpm: 1 }, &config);
        let store = LocalStore::new(StoreClock::new(clock.clone()), base);
        (store.account("a"), base.with_limits(LIMITS, 1.0))
    }

    fn leased(slot: &Slot) -> (u64, u64) {
        slot.lease.iter().fold((0, 0), |(r, t), shard| {
            let (_, requests, tokens) = unpack(shard.0.load(Ordering::Acquire));
            (r + requests, t + tokens)
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
            if slot.take_from_lease(slot.now(), LIMITS, 70).is_some() {
                by_lease += 1;
            } else if slot.decide(slot.now(), LIMITS, &p, 70).is_err() {
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
                        while slot.take_from_lease(slot.now(), LIMITS, 7).is_some()
                            || slot.decide(slot.now(), LIMITS, &p, 7).is_ok()
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
            slot.take_from_lease(slot.now(), LIMITS, 1),
            None,
            "a lease before any admission"
        );
        slot.decide(slot.now(), LIMITS, &p, 1).unwrap();
        assert_ne!(leased(slot), (0, 0));
        let other = Enforced { rpm: 60, ..LIMITS };
        assert_eq!(slot.take_from_lease(slot.now(), other, 1), None);
        // The lease ends with its bucket.
        let until = slot.take_from_lease(slot.now(), LIMITS, 1).unwrap() + 1;
        clock.set_ns(until * 1_000);
        assert_eq!(slot.take_from_lease(slot.now(), LIMITS, 1), None);
        slot.decide(slot.now(), LIMITS, &p, 1).unwrap();
        let lower = Lower {
            requests: true,
            tokens: false,
        };
        slot.report(&p, lower);
        assert_eq!(leased(slot), (0, 0));
        assert_eq!(slot.take_from_lease(slot.now(), LIMITS, 1), None);
    }

    #[test]
    fn more_tokens_than_estimated_end_the_lease_fewer_do_not() {
        let clock = FakeClock::new();
        let (account, p) = key(&clock);
        let slot = account.slot("m");
        let at = slot.decide(slot.now(), LIMITS, &p, 100).unwrap();
        let before = leased(slot);
        slot.reconcile(at, 100, 40);
        assert_eq!(leased(slot), before);
        slot.reconcile(at, 40, 41);
        assert_eq!(leased(slot), (0, 0));
        assert_eq!(slot.state().buckets().0.sums(), (1, 41));
    }
}

/// The lease under loom: two threads admitting from one key's lease and
/// by the rules at once, every interleaving (within a preemption bound).
#[cfg(all(test, limits_loom))]
mod loom_models {
    use super::*;
    use crate::clock::FakeClock;
    use crate::config::{Config, Pacing};

    /// 8 requests a minute under bursty pacing at 0.5: 4 at once.
    const LIMITS: Enforced = Enforced { rpm: 8, tpm: 800 };

    /// Admits requests of 10 tokens until refused; how many.
    fn admit_all(slot: &Slot, p: &Params) -> u64 {
        let mut admitted = 0;
        while slot.take_from_lease(slot.now(), LIMITS, 10).is_some()
            || slot.decide(slot.now(), LIMITS, p, 10).is_ok()
        {
            admitted += 1;
        }
        admitted
    }

    #[test]
    fn loom_two_threads_admit_exactly_what_the_rules_admit() {
        let mut builder = loom::model::Builder::new();
        builder.preemption_bound = Some(3);
        builder.check(|| {
            let clock = FakeClock::new();
            clock.set_ns(5_000_000_000);
            let config = Config::default().with_pacing(Pacing::Bursty { burst: 0.5 });
            let base = Params::new(Enforced { rpm: 1, tpm: 1 }, &config);
            let store = LocalStore::new(StoreClock::new(clock), base);
            let p = base.with_limits(LIMITS, 1.0);
            let account = store.account("a");
            let slot = Arc::clone(account.slot("m"));
            let other = {
                let slot = Arc::clone(&slot);
                loom::thread::spawn(move || admit_all(&slot, &p))
            };
            let admitted = admit_all(&slot, &p) + other.join().unwrap();
            let mut rules = KeyState::default();
            let now = slot.now();
            let mut expected = 0;
            while rules.decide(&p, now, 10).is_ok() {
                expected += 1;
            }
            assert_eq!(admitted, expected);
            let leased: (u64, u64) = slot
                .lease
                .iter()
                .map(|shard| unpack(shard.0.load(Ordering::Acquire)))
                .fold((0, 0), |(r, t), (_, sr, st)| (r + sr, t + st));
            assert_eq!(leased, (0, 0), "what the lease held was given back");
            assert_eq!(slot.state().buckets().0.sums(), (admitted, admitted * 10));
        });
    }
}
