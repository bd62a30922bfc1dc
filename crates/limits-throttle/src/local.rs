//! In one process: each key's state behind a mutex of its own, held for the
//! few hundred nanoseconds the rules take (never across an `.await`).

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError, RwLock};

use crate::admission::{Adapted, Counted, KeyState, Lower, Params, Refused};
use crate::clock::Clock;

type Map<V> = HashMap<Arc<str>, V, foldhash::fast::RandomState>;

/// The states of every (account, model) this process has seen.
pub(crate) struct LocalStore {
    clock: Arc<dyn Clock>,
    accounts: RwLock<Map<Arc<Account>>>,
}

/// The states of one account's models. A throttle handle holds its
/// account's, so an admission looks up the model alone.
pub(crate) struct Account {
    name: Arc<str>,
    clock: Arc<dyn Clock>,
    models: RwLock<Map<Arc<Slot>>>,
}

/// One key's state, and what a permit needs to reconcile with it.
pub(crate) struct Slot {
    account: Arc<str>,
    id: Arc<str>,
    clock: Arc<dyn Clock>,
    state: Mutex<KeyState>,
}

impl Slot {
    fn now(&self) -> u64 {
        self.clock.now_ns() / 1_000
    }

    fn state(&self) -> std::sync::MutexGuard<'_, KeyState> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The account and model of the key.
    pub fn names(&self) -> (&str, &str) {
        (&self.account, &self.id)
    }

    pub fn reconcile(&self, p: &Params, counted: Counted, estimated: u64, actual: u64) {
        let now = self.now();
        self.state().reconcile(p, now, counted, estimated, actual);
    }
}

impl std::fmt::Debug for LocalStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let keys: usize = read(&self.accounts)
            .values()
            .map(|a| read(&a.models).len())
            .sum();
        f.debug_struct("LocalStore").field("keys", &keys).finish()
    }
}

impl std::fmt::Debug for Account {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Account")
            .field("name", &self.name)
            .field("models", &read(&self.models).len())
            .finish()
    }
}

impl LocalStore {
    pub fn new(clock: Arc<dyn Clock>) -> Self {
        LocalStore {
            clock,
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
                models: RwLock::default(),
            })
        });
        Arc::clone(known)
    }
}

impl Account {
    /// Runs `f` on the model's slot, made on first use.
    fn with<T>(&self, id: &str, f: impl FnOnce(&Arc<Slot>) -> T) -> T {
        if let Some(slot) = read(&self.models).get(id) {
            return f(slot);
        }
        let mut models = write(&self.models);
        let slot = models.entry(Arc::from(id)).or_insert_with(|| {
            Arc::new(Slot {
                account: Arc::clone(&self.name),
                id: Arc::from(id),
                clock: Arc::clone(&self.clock),
                state: Mutex::default(),
            })
        });
        f(slot)
    }

    /// Where the request was counted and the key's slot (for its permit),
    /// or why it was not admitted.
    pub fn decide(
        &self,
        id: &str,
        p: &Params,
        tokens: u64,
    ) -> Result<(Counted, Arc<Slot>), Refused> {
        self.with(id, |slot| {
            let now = slot.now();
            let counted = slot.state().decide(p, now, tokens)?;
            Ok((counted, Arc::clone(slot)))
        })
    }

    pub fn report(&self, id: &str, p: &Params, lower: Lower) {
        self.with(id, |slot| {
            let now = slot.now();
            slot.state().report(p, now, lower);
        });
    }

    pub fn adapted(&self, id: &str, p: &Params) -> Adapted {
        self.with(id, |slot| {
            let now = slot.now();
            slot.state().adapted(p, now)
        })
    }
}

pub(crate) fn read<T>(lock: &RwLock<T>) -> std::sync::RwLockReadGuard<'_, T> {
    lock.read().unwrap_or_else(PoisonError::into_inner)
}

pub(crate) fn write<T>(lock: &RwLock<T>) -> std::sync::RwLockWriteGuard<'_, T> {
    lock.write().unwrap_or_else(PoisonError::into_inner)
}
