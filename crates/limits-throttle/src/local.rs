//! The in-process store: each key's state behind a mutex of its own, held
//! for the few hundred nanoseconds the rules take (never across an
//! `.await`), and each key's tasks in flight.
//!
//! Under `Pacing::Bursty` an admission also leaves a lease: what the
//! current buckets can still admit (see [`KeyState::lease`]), split among
//! the threads that admit to the key, each part behind a lock of its own
//! (`thread_local`). A later request takes from its thread's part without
//! the key's lock; what the parts did not use is given back under the
//! key's lock before the rules decide again. Locks are taken in one order:
//! the key's, then a part's.
//!
//! An account's keys live in an append-only arena (`boxcar`): a key's
//! state is never removed, so a permit borrows it from the account for as
//! long as the throttle lives. Each thread finds a key by name in a map of
//! its own (`thread_local`), filled from the account's map under its lock
//! the first time the thread meets the key: an admission takes no lock to
//! find its key.

use std::cell::RefCell;
use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError, RwLock};

use tokio::sync::Notify;

use crate::admission::{Adapted, Enforced, KeyState, Lease, Lower, Micros, Params, Refused};
use crate::clock::StoreClock;

type Hasher = foldhash::fast::RandomState;

/// Where each key's state is in an account's arena, by the key's name.
type Index = HashMap<Box<str>, usize, Hasher>;

/// The states of every (account, model) this process has seen.
pub(crate) struct LocalStore {
    clock: StoreClock,
    /// What the config alone decides (the windows and their buckets).
    base: Params,
    accounts: RwLock<HashMap<Arc<str>, Arc<Account>, Hasher>>,
}

/// The states of one account's keys. A throttle handle holds its
/// account's, so an admission looks up the key alone.
pub(crate) struct Account {
    name: Arc<str>,
    clock: StoreClock,
    base: Params,
    /// Where each key's state is in `keys`.
    index: Mutex<Index>,
    /// Each thread's copy of the part of `index` it has used.
    seen: thread_local::ThreadLocal<OwnLines<RefCell<Index>>>,
    keys: boxcar::Vec<Key>,
    /// The tasks in flight of each key.
    in_flight: Mutex<HashMap<Box<str>, Arc<InFlight>>>,
}

/// One key's state and its metrics.
pub(crate) struct Key {
    clock: StoreClock,
    base: Params,
    account: Arc<str>,
    id: Arc<str>,
    state: Mutex<KeyState>,
    /// Each thread's part of the lease.
    lease: thread_local::ThreadLocal<OwnLines<Mutex<Part>>>,
    /// The key's metrics, registered when it is made (`observe`).
    pub(crate) admitted: metrics::Counter,
    refused_wait: metrics::Counter,
    refused_too_large: metrics::Counter,
}

/// A value on cache lines of its own (two: CPUs fetch lines in pairs): a
/// thread's entry of a `ThreadLocal` sits beside other threads' entries,
/// and writing it would evict theirs.
#[derive(Debug, Default)]
#[repr(align(128))]
struct OwnLines<T>(T);

/// Takes `lock`, whether or not a thread panicked while holding it: every
/// state behind one is whole between two statements.
pub(crate) fn lock<T>(lock: &Mutex<T>) -> MutexGuard<'_, T> {
    lock.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Reads `lock` (see [`lock`]).
pub(crate) fn read<T>(lock: &RwLock<T>) -> std::sync::RwLockReadGuard<'_, T> {
    lock.read().unwrap_or_else(PoisonError::into_inner)
}

/// Writes `lock` (see [`lock`]).
pub(crate) fn write<T>(lock: &RwLock<T>) -> std::sync::RwLockWriteGuard<'_, T> {
    lock.write().unwrap_or_else(PoisonError::into_inner)
}

impl Key {
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

    /// The key's clock.
    #[inline]
    pub(crate) fn now(&self) -> Micros {
        Micros(self.clock.now_ns() / 1_000)
    }

    fn state(&self) -> MutexGuard<'_, KeyState> {
        lock(&self.state)
    }

    /// The account and model of the key.
    pub(crate) fn names(&self) -> (&str, &str) {
        (&self.account, &self.id)
    }

    /// Whether admissions leave leases: only where nothing spaces requests
    /// (`Pacing::Bursty`).
    #[inline]
    fn leases(&self) -> bool {
        self.base.burst.0 > 0
    }

    /// Admits a request of `tokens` at `now` under `limits` from this
    /// thread's part of the lease, if it holds then for these limits and
    /// has room, and returns when it counts as admitted.
    #[inline]
    pub(crate) fn take_from_lease(
        &self,
        now: Micros,
        limits: Enforced,
        tokens: u64,
    ) -> Option<Micros> {
        if !self.leases() {
            return None;
        }
        let mut part = lock(&self.lease.get_or_default().0);
        let Part {
            lease,
            limits: leased,
        } = &mut *part;
        let fits = lease.requests > 0 && tokens <= lease.tokens && now.0 < lease.until;
        if !fits || *leased != limits {
            return None;
        }
        lease.requests -= 1;
        lease.tokens -= tokens;
        Some(lease.at())
    }

    /// Admits a request of `tokens` at `now` under `limits` (`p` after
    /// headroom) by the rules, and counts it (returning when it counts as
    /// admitted), or says why not. An admission leaves a lease for the
    /// requests after it.
    pub(crate) fn decide(
        &self,
        now: Micros,
        limits: Enforced,
        p: &Params,
        tokens: u64,
    ) -> Result<Micros, Refused> {
        let mut state = self.state();
        if !self.leases() {
            return state.decide(p, now, tokens);
        }
        self.revoke(&mut state);
        let at = state.decide(p, now, tokens)?;
        // This thread's part first, so that it is among those counted.
        self.lease.get_or_default();
        let parts = self.lease.iter().count() as u64;
        if let Some(lease) = state.lease(p, parts) {
            for (part, share) in self.lease.iter().zip(lease.split(parts)) {
                *lock(&part.0) = Part {
                    lease: share,
                    limits,
                };
            }
        }
        Ok(at)
    }

    /// Ends the lease, and gives back what its parts did not use (under
    /// the key's lock, before the rules look at the buckets).
    fn revoke(&self, state: &mut KeyState) {
        if !self.leases() {
            return;
        }
        for part in self.lease.iter() {
            let unused = std::mem::take(&mut *lock(&part.0)).lease;
            if unused.requests > 0 || unused.tokens > 0 {
                state.release(&self.base, unused);
            }
        }
    }

    /// Replaces the estimate of a request admitted `at` by the tokens it
    /// used.
    pub(crate) fn reconcile(&self, at: Micros, estimated: u64, actual: u64) {
        let now = self.now();
        let mut state = self.state();
        if actual > estimated {
            // More tokens than counted may leave the lease more than the
            // windows still hold: the next request decides again.
            self.revoke(&mut state);
        }
        state.reconcile(&self.base, now, at, estimated, actual);
    }

    /// A refusal by the provider (see [`KeyState::report`]).
    pub(crate) fn report(&self, p: &Params, lower: Lower) {
        let now = self.now();
        let mut state = self.state();
        self.revoke(&mut state);
        state.report(p, now, lower);
    }

    /// What refusals changed, now.
    pub(crate) fn adapted(&self, p: &Params) -> Adapted {
        let now = self.now();
        self.state().adapted(p, now)
    }

    /// The key's state (tests).
    #[cfg(test)]
    pub(crate) fn state_for_test(&self) -> MutexGuard<'_, KeyState> {
        self.state()
    }
}

/// A thread's part of a key's lease, and the limits it was granted under:
/// a request under other limits decides by the rules.
#[derive(Debug, Default)]
struct Part {
    lease: Lease,
    limits: Enforced,
}

impl std::fmt::Debug for Key {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Key")
            .field("account", &self.account)
            .field("model", &self.id)
            .finish_non_exhaustive()
    }
}

impl std::fmt::Debug for LocalStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let keys: usize = read(&self.accounts).values().map(|a| a.keys.count()).sum();
        f.debug_struct("LocalStore").field("keys", &keys).finish()
    }
}

impl std::fmt::Debug for Account {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Account")
            .field("name", &self.name)
            .field("keys", &self.keys.count())
            .finish()
    }
}

impl LocalStore {
    /// A store on `clock` for a throttle whose config gives `base`.
    pub(crate) fn new(clock: StoreClock, base: Params) -> Self {
        LocalStore {
            clock,
            base,
            accounts: RwLock::default(),
        }
    }

    /// The states of `account`'s keys, made on first use.
    pub(crate) fn account(&self, account: &str) -> Arc<Account> {
        if let Some(known) = read(&self.accounts).get(account) {
            return Arc::clone(known);
        }
        let mut accounts = write(&self.accounts);
        let known = accounts.entry(Arc::from(account)).or_insert_with(|| {
            Arc::new(Account {
                name: Arc::from(account),
                clock: self.clock.clone(),
                base: self.base,
                index: Mutex::default(),
                seen: thread_local::ThreadLocal::new(),
                keys: boxcar::Vec::new(),
                in_flight: Mutex::default(),
            })
        });
        Arc::clone(known)
    }
}

impl Account {
    /// Where the state of key `id` is, made on first use.
    #[inline]
    pub(crate) fn find(&self, id: &str) -> usize {
        let seen = &self.seen.get_or_default().0;
        if let Some(&at) = seen.borrow().get(id) {
            return at;
        }
        let at = self.add(id);
        seen.borrow_mut().insert(Box::from(id), at);
        at
    }

    /// The state at `at` (from [`Account::find`]).
    #[inline]
    pub(crate) fn at(&self, at: usize) -> &Key {
        &self.keys[at]
    }

    /// The state of key `id`, made on first use.
    #[inline]
    pub(crate) fn key(&self, id: &str) -> &Key {
        self.at(self.find(id))
    }

    /// Where the state of key `id` is, from the account's map; made if
    /// no thread has met the key yet.
    #[cold]
    fn add(&self, id: &str) -> usize {
        let mut index = lock(&self.index);
        if let Some(&at) = index.get(id) {
            return at;
        }
        let at = self.keys.push(Key {
            clock: self.clock.clone(),
            base: self.base,
            account: Arc::clone(&self.name),
            id: Arc::from(id),
            state: Mutex::new(KeyState::default()),
            lease: thread_local::ThreadLocal::new(),
            admitted: crate::observe::admitted_counter(&self.name, id),
            refused_wait: crate::observe::refused_counter(&self.name, id, "retry_after"),
            refused_too_large: crate::observe::refused_counter(&self.name, id, "too_large"),
        });
        index.insert(Box::from(id), at);
        at
    }

    /// The tasks in flight of `key`, made on first use.
    pub(crate) fn in_flight(&self, key: &str) -> Arc<InFlight> {
        Arc::clone(lock(&self.in_flight).entry(Box::from(key)).or_default())
    }
}

/// One key's tasks in flight, in process: how many are held, and a wake-up
/// for those waiting for one to end.
#[derive(Debug, Default)]
pub(crate) struct InFlight {
    held: Mutex<u32>,
    ended: Notify,
}

impl InFlight {
    /// Takes a place if fewer than `limit` are held.
    pub(crate) fn try_take(&self, limit: u32) -> bool {
        let mut held = lock(&self.held);
        if *held < limit {
            *held += 1;
            true
        } else {
            false
        }
    }

    /// Takes a place, waiting for one to be freed until `deadline`.
    pub(crate) async fn take(&self, limit: u32, deadline: tokio::time::Instant) -> bool {
        loop {
            // Registered before the count is read: a place freed between
            // the two still wakes this waiter.
            let ended = self.ended.notified();
            tokio::pin!(ended);
            ended.as_mut().enable();
            if self.try_take(limit) {
                return true;
            }
            if tokio::time::timeout_at(deadline, ended).await.is_err() {
                return false;
            }
        }
    }

    /// Frees a place and wakes every waiter (each takes it or waits again).
    pub(crate) fn release(&self) {
        let mut held = lock(&self.held);
        *held = held.saturating_sub(1);
        drop(held);
        self.ended.notify_waiters();
    }

    /// How many places are held.
    pub(crate) fn count(&self) -> u32 {
        *lock(&self.held)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::admission::Enforced;
    use crate::clock::FakeClock;
    use crate::config::{Config, Pacing};

    /// Under bursty pacing at 0.2: 12,000 requests and 1.2 M tokens at once.
    const LIMITS: Enforced = Enforced {
        rpm: 60_000,
        tpm: 6_000_000,
    };

    /// An account on a fake clock under bursty pacing, and the parameters.
    fn account(clock: &FakeClock) -> (Arc<Account>, Params) {
        let config = Config::default().with_pacing(Pacing::Bursty { burst: 0.2 });
        let base = Params::new(Enforced { rpm: 1, tpm: 1 }, &config);
        let store = LocalStore::new(StoreClock::new(clock.clone()), base);
        (store.account("a"), base.with_limits(LIMITS, 1.0))
    }

    #[test]
    fn threads_admitting_to_one_key_admit_exactly_what_the_rules_admit() {
        let clock = FakeClock::new();
        clock.set_ns(5_000_000_000);
        let (account, p) = account(&clock);
        let admitted: u64 = std::thread::scope(|s| {
            let threads: Vec<_> = (0..4)
                .map(|_| {
                    s.spawn(|| {
                        // Each thread finds the key itself: it is made once.
                        let key = account.key("m");
                        let mut mine = 0;
                        while key.take_from_lease(key.now(), LIMITS, 7).is_some()
                            || key.decide(key.now(), LIMITS, &p, 7).is_ok()
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
        let key = account.key("m");
        let now = key.now();
        let mut expected = 0;
        while rules.decide(&p, now, 7).is_ok() {
            expected += 1;
        }
        assert_eq!(admitted, expected);
        assert_eq!(account.keys.count(), 1);
        assert_eq!(leased(key), (0, 0));
        let state = key.state_for_test();
        assert_eq!(state.buckets().0.sums(), (admitted, admitted * 7));
    }

    /// What the lease's parts hold: requests and tokens.
    fn leased(key: &Key) -> (u64, u64) {
        key.lease.iter().fold((0, 0), |(r, t), part| {
            let part = lock(&part.0);
            (r + part.lease.requests, t + part.lease.tokens)
        })
    }

    #[test]
    fn the_lease_admits_what_the_rules_admit_and_gives_back_the_rest() {
        let clock = FakeClock::new();
        clock.set_ns(5_000_000_000);
        let (account, p) = account(&clock);
        let key = account.key("m");
        let mut rules = KeyState::default();
        let now = key.now();
        let (mut admitted, mut by_lease) = (0, 0);
        // Requests of 70 tokens at one instant: the lease admits some, the
        // rules (after revoking it) the others, until the rules refuse.
        loop {
            if key.take_from_lease(key.now(), LIMITS, 70).is_some() {
                by_lease += 1;
            } else if key.decide(key.now(), LIMITS, &p, 70).is_err() {
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
        assert_eq!(leased(key), (0, 0));
        let state = key.state_for_test();
        assert_eq!(state.buckets().0.sums(), (admitted, admitted * 70));
        assert_eq!(state.buckets().1.sums(), (admitted, admitted * 70));
    }

    #[test]
    fn other_limits_a_new_bucket_or_a_report_end_the_lease() {
        let clock = FakeClock::new();
        let (account, p) = account(&clock);
        let key = account.key("m");
        assert_eq!(
            key.take_from_lease(key.now(), LIMITS, 1),
            None,
            "a lease before any admission"
        );
        key.decide(key.now(), LIMITS, &p, 1).unwrap();
        assert_ne!(leased(key), (0, 0));
        let other = Enforced { rpm: 60, ..LIMITS };
        assert_eq!(key.take_from_lease(key.now(), other, 1), None);
        // The lease ends with its bucket.
        let until = key.take_from_lease(key.now(), LIMITS, 1).unwrap().0 + 1;
        clock.set_ns(until * 1_000);
        assert_eq!(key.take_from_lease(key.now(), LIMITS, 1), None);
        key.decide(key.now(), LIMITS, &p, 1).unwrap();
        let lower = Lower {
            requests: true,
            tokens: false,
        };
        key.report(&p, lower);
        assert_eq!(leased(key), (0, 0));
        assert_eq!(key.take_from_lease(key.now(), LIMITS, 1), None);
    }

    #[test]
    fn more_tokens_than_estimated_end_the_lease_fewer_do_not() {
        let clock = FakeClock::new();
        let (account, p) = account(&clock);
        let key = account.key("m");
        let at = key.decide(key.now(), LIMITS, &p, 100).unwrap();
        let before = leased(key);
        key.reconcile(at, 100, 40);
        assert_eq!(leased(key), before);
        key.reconcile(at, 40, 41);
        assert_eq!(leased(key), (0, 0));
        assert_eq!(key.state_for_test().buckets().0.sums(), (1, 41));
    }
}
