//! In one process: a [`Limiter`] per key, and a [`Throttle`] keyed by model
//! and optionally by account.

use std::collections::HashMap;
use std::sync::atomic::Ordering;
use std::sync::{Arc, PoisonError, RwLock};

use portable_atomic::AtomicU128;

use modelstudio_limits::{Limits, Model};

use crate::clock::{Clock, MonotonicClock};
use crate::config::{Config, ConfigError, Rates};
use crate::gcra::{self, Refusal, State};

struct Shared<C> {
    rates: Rates,
    /// Both TATs in one 128-bit word (requests in the high half), updated
    /// together by compare-and-swap: no lock, and never one without the other.
    state: AtomicU128,
    clock: C,
}

fn pack(state: State) -> u128 {
    (u128::from(state.requests_tat) << 64) | u128::from(state.tokens_tat)
}

fn unpack(word: u128) -> State {
    State {
        requests_tat: (word >> 64) as u64,
        tokens_tat: word as u64,
    }
}

impl<C> Shared<C> {
    /// Applies `change` to the state atomically; `change` may refuse.
    fn update<E>(&self, mut change: impl FnMut(&mut State) -> Result<(), E>) -> Result<(), E> {
        let mut current = self.state.load(Ordering::Acquire);
        loop {
            let mut state = unpack(current);
            change(&mut state)?;
            match self.state.compare_exchange_weak(
                current,
                pack(state),
                Ordering::AcqRel,
                Ordering::Acquire,
            ) {
                Ok(_) => return Ok(()),
                Err(actual) => current = actual,
            }
        }
    }
}

/// The throttle of one key: both limits of one model, for one account.
/// Cloning is cheap and shares the state.
pub struct Limiter<C: Clock = MonotonicClock> {
    shared: Arc<Shared<C>>,
}

impl<C: Clock> Clone for Limiter<C> {
    fn clone(&self) -> Self {
        Limiter {
            shared: Arc::clone(&self.shared),
        }
    }
}

impl Limiter<MonotonicClock> {
    /// A limiter for `limits` on the monotonic clock.
    pub fn new(limits: Limits, config: &Config) -> Result<Self, ConfigError> {
        Self::with_clock(limits, config, MonotonicClock::new())
    }
}

impl<C: Clock> Limiter<C> {
    /// A limiter for `limits` on `clock`.
    pub fn with_clock(limits: Limits, config: &Config, clock: C) -> Result<Self, ConfigError> {
        Ok(Limiter {
            shared: Arc::new(Shared {
                rates: Rates::new(limits, config)?,
                state: AtomicU128::new(pack(State::default())),
                clock,
            }),
        })
    }

    /// The rates this limiter applies.
    pub fn rates(&self) -> &Rates {
        &self.shared.rates
    }

    /// Admits one request of `tokens` (an estimate: input plus expected
    /// output) if both QPM and TPM allow it now; a refusal changes nothing.
    /// The permit borrows the limiter; see [`Limiter::try_acquire_owned`].
    pub fn try_acquire(&self, tokens: u64) -> Result<Permit<'_, C>, Refusal> {
        self.admit(tokens)?;
        Ok(Permit {
            holder: Holder::Borrowed(&self.shared),
            tokens,
        })
    }

    /// As [`Limiter::try_acquire`], with a permit that owns a handle to the
    /// limiter (to keep across `.await`s or threads).
    pub fn try_acquire_owned(&self, tokens: u64) -> Result<Permit<'static, C>, Refusal> {
        self.admit(tokens)?;
        Ok(Permit {
            holder: Holder::Owned(Arc::clone(&self.shared)),
            tokens,
        })
    }

    fn admit(&self, tokens: u64) -> Result<(), Refusal> {
        let now = self.shared.clock.now_ns();
        let rates = &self.shared.rates;
        self.shared
            .update(|state| gcra::try_admit(state, rates, now, tokens))
    }

    /// Admits a request, sleeping (tokio's timer) while the limits say wait.
    /// Fails only for a request that can never be admitted.
    #[cfg(feature = "tokio")]
    pub async fn acquire(&self, tokens: u64) -> Result<Permit<'static, C>, Refusal> {
        loop {
            match self.try_acquire_owned(tokens) {
                Err(Refusal::RetryAfter(wait)) => tokio::time::sleep(wait).await,
                other => return other,
            }
        }
    }
}

impl<C: Clock> Shared<C> {
    fn reconcile(&self, estimated: u64, actual: u64) {
        let now = self.clock.now_ns();
        let _ = self.update(|state| {
            gcra::reconcile(state, &self.rates, now, estimated, actual);
            Ok::<(), ()>(())
        });
    }
}

enum Holder<'a, C: Clock> {
    Borrowed(&'a Shared<C>),
    Owned(Arc<Shared<C>>),
}

/// An admitted request. Once the response tells the tokens really used,
/// [`Permit::reconcile`] charges or gives back the difference; dropping the
/// permit keeps the estimate.
#[must_use = "a permit is what a request was admitted with; reconcile it with the actual usage"]
pub struct Permit<'a, C: Clock = MonotonicClock> {
    holder: Holder<'a, C>,
    tokens: u64,
}

impl<C: Clock> Permit<'_, C> {
    /// The tokens the request was admitted with.
    pub fn tokens(&self) -> u64 {
        self.tokens
    }

    /// Replaces the estimate by the tokens actually used: more are charged,
    /// fewer are given back (never below an empty state).
    pub fn reconcile(self, actual_tokens: u64) {
        let shared = match &self.holder {
            Holder::Borrowed(shared) => shared,
            Holder::Owned(shared) => &**shared,
        };
        shared.reconcile(self.tokens, actual_tokens);
    }
}

impl<C: Clock> std::fmt::Debug for Permit<'_, C> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Permit")
            .field("tokens", &self.tokens)
            .finish()
    }
}

type Limiters<C> = HashMap<Model, Limiter<C>>;

/// Limiters for every model, created on first use from the model's
/// published limits (or limits set with [`Throttle::set_limits`]), for the
/// default account and for named accounts.
pub struct Throttle<C: Clock + Clone = MonotonicClock> {
    config: Config,
    clock: C,
    overrides: RwLock<HashMap<Model, Limits>>,
    default_account: RwLock<Limiters<C>>,
    accounts: RwLock<HashMap<Arc<str>, Limiters<C>>>,
}

impl Throttle<MonotonicClock> {
    /// A throttle on the monotonic clock.
    pub fn new(config: Config) -> Result<Self, ConfigError> {
        Self::with_clock(config, MonotonicClock::new())
    }
}

impl<C: Clock + Clone> Throttle<C> {
    /// A throttle on `clock`.
    pub fn with_clock(config: Config, clock: C) -> Result<Self, ConfigError> {
        config.validate()?;
        Ok(Throttle {
            config,
            clock,
            overrides: RwLock::default(),
            default_account: RwLock::default(),
            accounts: RwLock::default(),
        })
    }

    /// Uses `limits` for `model` instead of the published ones (an account
    /// with raised limits). Applies to limiters created afterwards.
    pub fn set_limits(&self, model: Model, limits: Limits) {
        write(&self.overrides).insert(model, limits);
    }

    /// Admits a request of `tokens` to `model` for the default account.
    pub fn try_acquire(&self, model: Model, tokens: u64) -> Result<Permit<'static, C>, Refusal> {
        self.limiter(None, model).try_acquire_owned(tokens)
    }

    /// Admits a request of `tokens` to `model` for `account`.
    pub fn try_acquire_for(
        &self,
        account: &str,
        model: Model,
        tokens: u64,
    ) -> Result<Permit<'static, C>, Refusal> {
        self.limiter(Some(account), model).try_acquire_owned(tokens)
    }

    /// Admits a request, sleeping while the limits say wait.
    #[cfg(feature = "tokio")]
    pub async fn acquire(&self, model: Model, tokens: u64) -> Result<Permit<'static, C>, Refusal> {
        self.limiter(None, model).acquire(tokens).await
    }

    /// The limiter of `model` for `account` (the default account if `None`).
    pub fn limiter(&self, account: Option<&str>, model: Model) -> Limiter<C> {
        let found = match account {
            None => read(&self.default_account).get(&model).cloned(),
            Some(a) => read(&self.accounts)
                .get(a)
                .and_then(|m| m.get(&model))
                .cloned(),
        };
        if let Some(limiter) = found {
            return limiter;
        }
        let limits = read(&self.overrides)
            .get(&model)
            .copied()
            .unwrap_or(model.limits());
        let make = || {
            Limiter::with_clock(limits, &self.config, self.clock.clone())
                .expect("the config was validated when the throttle was made")
        };
        match account {
            None => write(&self.default_account)
                .entry(model)
                .or_insert_with(make)
                .clone(),
            Some(a) => write(&self.accounts)
                .entry(Arc::from(a))
                .or_default()
                .entry(model)
                .or_insert_with(make)
                .clone(),
        }
    }
}

fn read<T>(lock: &RwLock<T>) -> std::sync::RwLockReadGuard<'_, T> {
    lock.read().unwrap_or_else(PoisonError::into_inner)
}

fn write<T>(lock: &RwLock<T>) -> std::sync::RwLockWriteGuard<'_, T> {
    lock.write().unwrap_or_else(PoisonError::into_inner)
}
