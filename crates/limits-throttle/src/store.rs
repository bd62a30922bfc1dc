//! The stores a throttle keeps its keys' states in, behind one interface.
//!
//! Two kinds:
//!
//! - **In process** ([`crate::local`]): the rules run here, under a key's
//!   lock, without an `.await`, and a permit borrows the key's state.
//! - **Shared** ([`SharedStore`]): the rules run in the store, one round
//!   trip an operation (Redis, with feature `redis`, runs them as a Lua
//!   script on its clock). A store of this kind is added by implementing
//!   the trait; the throttle above does not know which one it drives.
//!
//! A throttle handle holds its account's [`Keyed`]; the throttle, tasks
//! and pools above ask it, and match on its kind only where admission in
//! process must stay free of futures.

use std::fmt::Debug;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use crate::admission::{Adapted, Counted, Lower, Params, Refused};
use crate::clock::StoreClock;
use crate::local::{Account, InFlight, LocalStore};
use crate::refusal::StoreError;

/// A future a shared store returns, boxed so that the trait can be used
/// as `dyn SharedStore` (written by hand: `async fn` in a trait is not
/// object-safe, and six methods do not need a macro crate).
pub(crate) type Boxed<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// What a store shared by processes does: the admission rules run in it,
/// on a key named by its account (`ACCOUNT:MODE`) and id, with the
/// parameters the throttle computed.
pub(crate) trait SharedStore: Debug + Send + Sync + 'static {
    /// Admits a request of `tokens` if the rules allow it now: where it
    /// was counted, or why not.
    fn decide<'a>(
        &'a self,
        account: &'a str,
        id: &'a str,
        p: &'a Params,
        tokens: u64,
    ) -> Boxed<'a, Result<Result<Counted, Refused>, StoreError>>;

    /// Moves a request counted at `counted` from `estimated` tokens to
    /// `actual`.
    fn reconcile<'a>(
        &'a self,
        account: &'a str,
        id: &'a str,
        p: &'a Params,
        counted: Counted,
        estimated: u64,
        actual: u64,
    ) -> Boxed<'a, Result<(), StoreError>>;

    /// Cools the key down and lowers what `lower` says.
    fn report<'a>(
        &'a self,
        account: &'a str,
        id: &'a str,
        p: &'a Params,
        lower: Lower,
    ) -> Boxed<'a, Result<(), StoreError>>;

    /// What the key admits now, after refusals.
    fn adapted<'a>(
        &'a self,
        account: &'a str,
        id: &'a str,
        p: &'a Params,
    ) -> Boxed<'a, Result<Adapted, StoreError>>;

    /// Takes one of `limit` slots of the tasks in flight of `id`, waiting
    /// until `deadline`; `None` if none was free by then.
    fn take_slot<'a>(
        &'a self,
        account: &'a str,
        id: &'a str,
        limit: u32,
        deadline: tokio::time::Instant,
    ) -> Boxed<'a, Result<Option<Box<dyn SharedSlot>>, StoreError>>;

    /// How many slots of the tasks in flight of `id` are held.
    fn slots_held<'a>(
        &'a self,
        account: &'a str,
        id: &'a str,
    ) -> Boxed<'a, Result<u32, StoreError>>;

    /// Whether a call the store could not answer goes on unchecked.
    fn fails_open(&self) -> bool;
}

/// A slot of the tasks in flight held in a shared store.
pub(crate) trait SharedSlot: Send + Sync {
    /// Frees the slot now.
    fn release(self: Box<Self>) -> Boxed<'static, Result<(), StoreError>>;

    /// Frees the slot without waiting.
    fn release_in_background(self: Box<Self>);
}

/// A throttle's store.
#[derive(Debug)]
pub(crate) enum Store {
    Local(Box<LocalStore>),
    /// Made only by the shared stores' constructors (feature `redis`).
    #[cfg_attr(not(feature = "redis"), allow(dead_code))]
    Shared(Arc<dyn SharedStore>),
}

impl Store {
    /// The in-process store on `clock`, for a throttle whose config gives
    /// `base`.
    pub(crate) fn local(clock: StoreClock, base: Params) -> Store {
        Store::Local(Box::new(LocalStore::new(clock, base)))
    }

    /// Where the states of `account` (`ACCOUNT:MODE`) are.
    pub(crate) fn keyed(&self, account: &str) -> Keyed {
        match self {
            Store::Local(store) => Keyed::Local(store.account(account)),
            Store::Shared(store) => Keyed::Shared(Arc::clone(store)),
        }
    }
}

/// A handle's store: in process, its account's states themselves.
#[derive(Clone, Debug)]
pub(crate) enum Keyed {
    Local(Arc<Account>),
    Shared(Arc<dyn SharedStore>),
}

/// A slot of the tasks in flight, held until released or dropped.
pub(crate) enum Slot {
    Local(Arc<InFlight>),
    Shared(Box<dyn SharedSlot>),
}

impl Slot {
    /// Frees the slot now, saying whether the store heard it.
    pub(crate) async fn release(self) -> Result<(), StoreError> {
        match self {
            Slot::Local(in_flight) => {
                in_flight.release();
                Ok(())
            }
            Slot::Shared(slot) => slot.release().await,
        }
    }

    /// Frees the slot without waiting.
    pub(crate) fn release_in_background(self) {
        match self {
            Slot::Local(in_flight) => in_flight.release(),
            Slot::Shared(slot) => slot.release_in_background(),
        }
    }
}

impl Keyed {
    /// [`SharedStore::report`], in either store.
    pub(crate) async fn report(
        &self,
        account: &str,
        id: &str,
        p: &Params,
        lower: Lower,
    ) -> Result<(), StoreError> {
        match self {
            Keyed::Local(local) => {
                local.key(id).report(p, lower);
                Ok(())
            }
            Keyed::Shared(store) => store.report(account, id, p, lower).await,
        }
    }

    /// [`SharedStore::adapted`], in either store.
    pub(crate) async fn adapted(
        &self,
        account: &str,
        id: &str,
        p: &Params,
    ) -> Result<Adapted, StoreError> {
        match self {
            Keyed::Local(local) => Ok(local.key(id).adapted(p)),
            Keyed::Shared(store) => store.adapted(account, id, p).await,
        }
    }

    /// [`SharedStore::take_slot`], in either store.
    pub(crate) async fn take_slot(
        &self,
        account: &str,
        id: &str,
        limit: u32,
        deadline: tokio::time::Instant,
    ) -> Result<Option<Slot>, StoreError> {
        match self {
            Keyed::Local(local) => {
                let in_flight = local.in_flight(id);
                let taken = in_flight.take(limit, deadline).await;
                Ok(taken.then_some(Slot::Local(in_flight)))
            }
            Keyed::Shared(store) => {
                let taken = store.take_slot(account, id, limit, deadline).await?;
                Ok(taken.map(Slot::Shared))
            }
        }
    }

    /// [`SharedStore::slots_held`], in either store.
    pub(crate) async fn slots_held(&self, account: &str, id: &str) -> Result<u32, StoreError> {
        match self {
            Keyed::Local(local) => Ok(local.in_flight(id).count()),
            Keyed::Shared(store) => store.slots_held(account, id).await,
        }
    }

    /// [`SharedStore::fails_open`]; the in-process store never fails.
    pub(crate) fn fails_open(&self) -> bool {
        match self {
            Keyed::Local(_) => false,
            Keyed::Shared(store) => store.fails_open(),
        }
    }
}
