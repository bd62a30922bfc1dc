//! In one process: each key's state behind a mutex of its own, held for the
//! few hundred nanoseconds the rules take (never across an `.await`), and,
//! beside it, the key's lease: what the rules set aside after an admission,
//! taken by later requests with one compare-and-swap and no lock.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError, RwLock};

use portable_atomic::AtomicU128;

use modelstudio_limits::Limits;

use crate::admission::{Adapted, KeyState, Lease, Lower, Params, Refused};
use crate::clock::Clock;
use crate::slots::SlotMap;

type Map<V> = HashMap<Arc<str>, V, foldhash::fast::RandomState>;

/// The states of every (account, model) this process has seen.
pub(crate) struct LocalStore {
    clock: Arc<dyn Clock>,
    /// What the config alone decides (the windows and their buckets).
    base: Params,
    accounts: RwLock<Map<Arc<Account>>>,
}

/// The states of one account's models. A throttle handle holds its
/// account's, so an admission looks up the model alone, without a lock.
pub(crate) struct Account {
    name: Arc<str>,
    clock: Arc<dyn Clock>,
    base: Params,
    models: SlotMap<Slot>,
}

/// One key's state, its lease, and what a permit needs to reconcile.
pub(crate) struct Slot {
    /// The lease, packed by [`pack`]; 0 when there is none.
    lease: OwnLine<AtomicU128>,
    /// The limits the lease was granted for, by [`limits_key`]: a request
    /// under other limits decides under the lock. Read by every admission
    /// from the lease, written by few: off the lease's line.
    leased_for: AtomicU64,
    clock: Arc<dyn Clock>,
    base: Params,
    account: Arc<str>,
    id: Arc<str>,
    state: Mutex<KeyState>,
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
        let mut word = self.lease.0.load(Ordering::Acquire);
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
            match self.lease.0.compare_exchange_weak(
                word,
                pack(rest),
                Ordering::AcqRel,
                Ordering::Acquire,
            ) {
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
            self.lease.0.store(pack(lease), Ordering::Release);
        }
        Ok(at)
    }

    /// Ends the lease, and takes back what it did not use (under the lock,
    /// before the rules look at the buckets).
    fn revoke(&self, state: &mut KeyState) {
        let word = self.lease.0.swap(0, Ordering::AcqRel);
        if word != 0 {
            state.release(&self.base, unpack(word));
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
    pub fn new(clock: Arc<dyn Clock>, base: Params) -> Self {
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
                clock: Arc::clone(&self.clock),
                base: self.base,
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
            lease: OwnLine(AtomicU128::new(0)),
            leased_for: AtomicU64::new(0),
            clock: Arc::clone(&self.clock),
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
