//! An admitted request: where it was counted, so that the tokens its
//! response reports can take the estimate's place.

use std::sync::Arc;

use crate::admission::{Counted, Micros, Params};
use crate::local::Account;
use crate::refusal::{Refusal, StoreError};
use crate::store::SharedStore;

/// The most tokens a reconcile counts for one request (2^40): keeps every
/// sum exact in the Lua script's doubles, and is far above any limit.
const MOST_TOKENS: u64 = 1 << 40;

/// An admitted request. Once the response tells the tokens it used,
/// [`Permit::reconcile`] puts them in place of the estimate.
///
/// A permit borrows the throttle it came from, as a
/// `tokio::sync::SemaphorePermit` borrows its semaphore: admitting one
/// counts no reference. [`Permit::into_owned`] makes one that does not
/// borrow, to move into a spawned task or a response stream.
#[must_use = "dropping a permit keeps its estimated tokens counted; `reconcile` it with the tokens the response reports"]
pub struct Permit<'t> {
    held: Held<'t>,
    tokens: u64,
    unchecked: Option<Box<StoreError>>,
}

/// The key a permit was counted in, and where.
enum Held<'t> {
    /// In process: the account's states, borrowed from the throttle, where
    /// the key's is among them, and when the request counts as admitted.
    Local(&'t Arc<Account>, usize, Micros),
    /// The same, owned.
    Owned(Arc<Account>, usize, Micros),
    /// In a shared store.
    Shared(Box<Shared>),
    /// Nowhere: a call its row does not limit (the account and model;
    /// boxed, so that every permit stays as small as a counted one).
    Free(Box<(Arc<str>, Box<str>)>),
    /// In two keys: the model's own (or nowhere) and its pooled budget's
    /// (boxed, as `Free`).
    Pooled(Box<(Held<'t>, Held<'t>)>),
}

/// A permit of a shared store: the store, the key's names, the parameters
/// the request was admitted under, and its buckets (none if the store was
/// not asked).
struct Shared {
    store: Arc<dyn SharedStore>,
    account: Arc<str>,
    id: Box<str>,
    params: Params,
    counted: Option<Counted>,
}

impl Held<'_> {
    fn names(&self) -> (&str, &str) {
        match self {
            Held::Local(account, key, _) => account.at(*key).names(),
            Held::Owned(account, key, _) => account.at(*key).names(),
            Held::Shared(shared) => (&shared.account, &shared.id),
            Held::Free(names) => (&names.0, &names.1),
            Held::Pooled(both) => both.0.names(),
        }
    }

    /// The same, no longer borrowing its throttle.
    fn into_owned(self) -> Held<'static> {
        match self {
            Held::Local(account, key, at) => Held::Owned(Arc::clone(account), key, at),
            Held::Owned(account, key, at) => Held::Owned(account, key, at),
            Held::Shared(shared) => Held::Shared(shared),
            Held::Free(names) => Held::Free(names),
            Held::Pooled(both) => {
                let (own, pool) = *both;
                Held::Pooled(Box::new((own.into_owned(), pool.into_owned())))
            }
        }
    }
}

impl std::fmt::Debug for Permit<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let (account, model) = self.held.names();
        f.debug_struct("Permit")
            .field("account", &account)
            .field("model", &model)
            .field("tokens", &self.tokens)
            .field("unchecked", &self.unchecked)
            .finish_non_exhaustive()
    }
}

impl<'t> Permit<'t> {
    /// A permit of a request counted at `at` in the key at `key` of
    /// `account`.
    #[inline]
    pub(crate) fn local(account: &'t Arc<Account>, key: usize, at: Micros, tokens: u64) -> Self {
        Permit {
            held: Held::Local(account, key, at),
            tokens,
            unchecked: None,
        }
    }

    /// A permit that counts nothing: a call its row does not limit, to
    /// `id` of `account`.
    pub(crate) fn free(account: &Arc<str>, id: &str, tokens: u64) -> Self {
        Permit {
            held: Held::Free(Box::new((Arc::clone(account), Box::from(id)))),
            tokens,
            unchecked: None,
        }
    }

    /// A permit of a shared store's key `id` of `account`, admitted under
    /// `params` and counted in `counted` (`None`: the store could not be
    /// asked, and `unchecked` says why).
    pub(crate) fn shared(
        store: &Arc<dyn SharedStore>,
        account: &Arc<str>,
        id: &str,
        params: Params,
        counted: Option<Counted>,
        tokens: u64,
        unchecked: Option<StoreError>,
    ) -> Self {
        let shared = Shared {
            store: Arc::clone(store),
            account: Arc::clone(account),
            id: Box::from(id),
            params,
            counted,
        };
        Permit {
            held: Held::Shared(Box::new(shared)),
            tokens,
            unchecked: unchecked.map(Box::new),
        }
    }

    /// The tokens the request was admitted with.
    pub fn tokens(&self) -> u64 {
        self.tokens
    }

    /// Why the request was admitted without asking the store (Redis down
    /// under `FailurePolicy::FailOpen`, feature `redis`), if so.
    pub fn unchecked(&self) -> Option<&StoreError> {
        self.unchecked.as_deref()
    }

    /// The same permit, no longer borrowing its throttle.
    pub fn into_owned(self) -> Permit<'static> {
        Permit {
            held: self.held.into_owned(),
            tokens: self.tokens,
            unchecked: self.unchecked,
        }
    }

    /// This permit with the pooled budget's `pooled` beside it; when the
    /// pool refused, the refusal, and this permit's tokens given back (its
    /// request stays counted: the call was not sent).
    pub(crate) async fn with_pool(
        self,
        pooled: Result<Permit<'t>, Refusal>,
    ) -> Result<Permit<'t>, Refusal> {
        match pooled {
            Ok(pooled) => Ok(Permit {
                held: Held::Pooled(Box::new((self.held, pooled.held))),
                tokens: self.tokens,
                unchecked: self.unchecked.or(pooled.unchecked),
            }),
            Err(refusal) => {
                let _ = self.reconcile(0).await;
                Err(refusal)
            }
        }
    }

    /// Replaces the estimate by the tokens actually used: more are counted,
    /// fewer are given back, in every window that still counts the request.
    /// (More than 2^40 tokens count as 2^40.)
    pub async fn reconcile(self, actual_tokens: u64) -> Result<(), StoreError> {
        let actual_tokens = actual_tokens.min(MOST_TOKENS);
        match &self.held {
            Held::Pooled(both) => {
                let own = both.0.reconcile(self.tokens, actual_tokens).await;
                own.and(both.1.reconcile(self.tokens, actual_tokens).await)
            }
            held => held.reconcile(self.tokens, actual_tokens).await,
        }
    }
}

impl Held<'_> {
    /// Moves the key's count of a request from `estimated` tokens to
    /// `actual` (a pair of keys: see [`Permit::reconcile`]).
    async fn reconcile(&self, estimated: u64, actual: u64) -> Result<(), StoreError> {
        match self {
            Held::Local(account, key, at) => account.at(*key).reconcile(*at, estimated, actual),
            Held::Owned(account, key, at) => account.at(*key).reconcile(*at, estimated, actual),
            Held::Free(..) | Held::Pooled(..) => {}
            Held::Shared(shared) => {
                let Some(counted) = shared.counted else {
                    return Ok(());
                };
                let Shared {
                    store,
                    account,
                    id,
                    params,
                    ..
                } = &**shared;
                return store
                    .reconcile(account, id, params, counted, estimated, actual)
                    .await;
            }
        }
        Ok(())
    }
}
