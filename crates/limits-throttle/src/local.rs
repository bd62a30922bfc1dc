//! In one process: each key's state behind a mutex of its own, held for the
//! few hundred nanoseconds the rules take (never across an `.await`).

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError, RwLock};

use crate::admission::{Counted, Decision, KeyState, Lower, Params};
use crate::clock::Clock;
use crate::throttle::Observed;

type Keys = HashMap<Arc<str>, HashMap<Box<str>, Arc<Mutex<KeyState>>>>;

/// The states of every (account, model) this process has seen.
pub(crate) struct LocalStore {
    clock: Arc<dyn Clock>,
    keys: RwLock<Keys>,
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

    fn now(&self) -> u64 {
        self.clock.now_ns() / 1_000
    }

    fn with<T>(&self, account: &str, id: &str, f: impl FnOnce(&mut KeyState) -> T) -> T {
        let found = read(&self.keys)
            .get(account)
            .and_then(|models| models.get(id))
            .cloned();
        let state = found.unwrap_or_else(|| {
            write(&self.keys)
                .entry(Arc::from(account))
                .or_default()
                .entry(Box::from(id))
                .or_default()
                .clone()
        });
        let mut state = state.lock().unwrap_or_else(PoisonError::into_inner);
        f(&mut state)
    }

    pub fn decide(&self, account: &str, id: &str, p: &Params, tokens: u64) -> Decision {
        self.with(account, id, |s| s.decide(p, self.now(), tokens))
    }

    pub fn reconcile(
        &self,
        account: &str,
        id: &str,
        p: &Params,
        counted: Counted,
        estimated: u64,
        actual: u64,
    ) {
        self.with(account, id, |s| {
            s.reconcile(p, self.now(), counted, estimated, actual)
        });
    }

    pub fn report(&self, account: &str, id: &str, p: &Params, lower: Lower) {
        self.with(account, id, |s| s.report(p, self.now(), lower));
    }

    pub fn effective(&self, account: &str, id: &str, p: &Params) -> Observed {
        self.with(account, id, |s| Observed::from(s.effective(p, self.now())))
    }
}

pub(crate) fn read<T>(lock: &RwLock<T>) -> std::sync::RwLockReadGuard<'_, T> {
    lock.read().unwrap_or_else(PoisonError::into_inner)
}

pub(crate) fn write<T>(lock: &RwLock<T>) -> std::sync::RwLockWriteGuard<'_, T> {
    lock.write().unwrap_or_else(PoisonError::into_inner)
}
