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
    keys: RwLock<Map<Map<Arc<Slot>>>>,
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
        let keys: usize = read(&self.keys).values().map(HashMap::len).sum();
        f.debug_struct("LocalStore").field("keys", &keys).finish()
    }
}

impl LocalStore {
    pub fn new(clock: Arc<dyn Clock>) -> Self {
        LocalStore {
            clock,
            keys: RwLock::default(),
        }
    }

    /// Runs `f` on the key's slot, made on first use.
    fn with<T>(&self, account: &str, id: &str, f: impl FnOnce(&Arc<Slot>) -> T) -> T {
        {
            let keys = read(&self.keys);
            if let Some(slot) = keys.get(account).and_then(|models| models.get(id)) {
                return f(slot);
            }
        }
        let mut keys = write(&self.keys);
        let account: Arc<str> = match keys.get_key_value(account) {
            Some((known, _)) => Arc::clone(known),
            None => Arc::from(account),
        };
        let models = keys.entry(Arc::clone(&account)).or_default();
        let slot = models.entry(Arc::from(id)).or_insert_with(|| {
            Arc::new(Slot {
                account,
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
        account: &str,
        id: &str,
        p: &Params,
        tokens: u64,
    ) -> Result<(Counted, Arc<Slot>), Refused> {
        self.with(account, id, |slot| {
            let now = slot.now();
            let counted = slot.state().decide(p, now, tokens)?;
            Ok((counted, Arc::clone(slot)))
        })
    }

    pub fn report(&self, account: &str, id: &str, p: &Params, lower: Lower) {
        self.with(account, id, |slot| {
            let now = slot.now();
            slot.state().report(p, now, lower);
        });
    }

    pub fn adapted(&self, account: &str, id: &str, p: &Params) -> Adapted {
        self.with(account, id, |slot| {
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
