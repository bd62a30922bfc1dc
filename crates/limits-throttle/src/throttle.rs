//! The throttle: one API over the in-process and the Redis store.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, RwLock};
use std::time::Duration;

use modelstudio_limits::{Deployment, HasLimits, Limits};

use crate::admission::{Enforced, Lower, Params, Refused, UNLIMITED};
use crate::classify::Tripped;
use crate::clock::{Clock, MonotonicClock, StoreClock};
use crate::config::{Config, ConfigError};
use crate::local::{read, write, Account};
use crate::observe;
use crate::permit::Permit;
use crate::refusal::{Refusal, StoreError};
use crate::store::{Keyed, SharedStore, Store};

/// Admits requests only while every limit of their model allows them, for
/// any table's models (anything [`HasLimits`]), per account; in one process
/// or, with feature `redis`, across a fleet.
///
/// Cloning is cheap and shares the state. Switching stores is one line:
/// [`Throttle::in_process`] or `Throttle::redis` (feature `redis`); everything else is the
/// same.
#[derive(Clone, Debug)]
pub struct Throttle {
    inner: Arc<Inner>,
    account: Arc<str>,
    /// The deployment mode whose limits this handle applies.
    deployment: Deployment,
    /// The store's name for the account in this mode: `account:mode`.
    pub(crate) store_account: Arc<str>,
    /// Where the states of `account` in `deployment` are.
    pub(crate) keyed: Keyed,
    /// The API key this handle calls with, as a digest (never the key):
    /// budgets shared per API key are keyed by it.
    pub(crate) api_key: Option<Arc<str>>,
}

#[derive(Debug)]
struct Inner {
    config: Config,
    /// What the config alone decides, computed once.
    base: Params,
    store: Store,
    overrides: RwLock<HashMap<String, Limits>>,
    any_override: AtomicBool,
}

/// The account a throttle keys by until [`Throttle::for_account`] says
/// otherwise.
pub const DEFAULT_ACCOUNT: &str = "default";

/// The deployment mode a throttle applies until
/// [`Throttle::for_deployment`] says otherwise: International, the mode of
/// the simulator's default table.
pub const DEFAULT_DEPLOYMENT: Deployment = Deployment::INTERNATIONAL;

impl Throttle {
    /// A throttle whose state lives in this process, on the monotonic clock.
    pub fn in_process(config: Config) -> Result<Self, ConfigError> {
        Self::in_process_with_clock(config, MonotonicClock::new())
    }

    /// A throttle whose state lives in this process, on `clock`.
    pub fn in_process_with_clock(config: Config, clock: impl Clock) -> Result<Self, ConfigError> {
        let clock = StoreClock::new(clock);
        Self::with_store(config, |base| Store::local(clock, base))
    }

    /// A throttle whose state lives in Redis, shared by every process that
    /// uses the same server and key prefix.
    #[cfg(feature = "redis")]
    pub fn redis(store: crate::redis::RedisStore, config: Config) -> Result<Self, ConfigError> {
        Self::with_store(config, |_| Store::Shared(Arc::new(store)))
    }

    /// A throttle on the store `make` makes from the parameters the config
    /// alone decides.
    fn with_store(config: Config, make: impl FnOnce(Params) -> Store) -> Result<Self, ConfigError> {
        config.validate()?;
        let base = Params::new(Enforced { rpm: 1, tpm: 1 }, &config);
        let inner = Arc::new(Inner {
            base,
            config,
            store: make(base),
            overrides: RwLock::default(),
            any_override: AtomicBool::new(false),
        });
        Ok(Throttle::on(inner, DEFAULT_ACCOUNT, DEFAULT_DEPLOYMENT))
    }

    /// A handle on `inner` keyed by `account` in `deployment`.
    fn on(inner: Arc<Inner>, account: &str, deployment: Deployment) -> Throttle {
        let store_account: Arc<str> = Arc::from(format!("{account}:{deployment}"));
        let keyed = inner.store.keyed(&store_account);
        Throttle {
            inner,
            account: Arc::from(account),
            deployment,
            store_account,
            keyed,
            api_key: None,
        }
    }

    /// The settings this throttle runs with.
    pub fn config(&self) -> &Config {
        &self.inner.config
    }

    /// The account this handle keys by.
    pub fn account(&self) -> &str {
        &self.account
    }

    /// A handle on the same throttle that keys by `account`: the limits are
    /// per account, so each account has its own state.
    pub fn for_account(&self, account: &str) -> Throttle {
        Throttle::on(Arc::clone(&self.inner), account, self.deployment)
    }

    /// A handle on the same throttle for calls made with the API key
    /// `key` (e.g. an `Authorization` header's value): budgets shared per
    /// API key (`per = "api-key"`) are keyed by it, the others are not.
    /// The handle holds a SHA-256 digest of the key, never the key, and
    /// neither is logged.
    pub fn for_api_key(&self, key: &str) -> Throttle {
        use sha2::Digest;
        let digest = sha2::Sha256::digest(key.as_bytes());
        let hex: String = digest[..8].iter().map(|b| format!("{b:02x}")).collect();
        Throttle {
            api_key: Some(Arc::from(hex)),
            ..self.clone()
        }
    }

    /// The deployment mode whose limits this handle applies.
    pub fn deployment(&self) -> Deployment {
        self.deployment
    }

    /// A handle on the same throttle that applies the limits of
    /// `deployment` (each mode has its own table, and its own state: the
    /// provider counts each region apart).
    pub fn for_deployment(&self, deployment: Deployment) -> Throttle {
        if deployment == self.deployment {
            return self.clone();
        }
        Throttle::on(Arc::clone(&self.inner), &self.account, deployment)
    }

    /// Uses `limits` for the model with canonical id `id` instead of the
    /// limits its table gives (an account with raised limits), in every
    /// mode. Applies at once, to keys already in use too; with Redis, set
    /// the same limits in every process.
    pub fn set_limits(&self, id: &str, limits: Limits) {
        write(&self.inner.overrides).insert(id.to_string(), limits);
        self.inner.any_override.store(true, Ordering::Release);
    }

    /// Goes back to the table's limits for `id`.
    pub fn clear_limits(&self, id: &str) {
        write(&self.inner.overrides).remove(id);
    }

    /// The limits the throttle applies to `model` in this handle's mode:
    /// those set with [`Throttle::set_limits`], else the model's own
    /// (`None`: its table does not list it in this mode), a dynamic limit
    /// at the TPM of [`Config::spend_tier`].
    pub fn limits_of(&self, model: &(impl HasLimits + ?Sized)) -> Option<Limits> {
        if self.inner.any_override.load(Ordering::Acquire) {
            if let Some(limits) = read(&self.inner.overrides).get(model.id()) {
                return Some(*limits);
            }
        }
        let limits = model.limits_in(self.deployment)?;
        let tier = self.inner.config.spend_tier;
        match limits.tpm_tiers() {
            Some(tiers) if tier > 0 && limits.dynamic() => {
                let tpm = tiers[tier.min(tiers.len() - 1)];
                Some(limits.with_tpm(tpm))
            }
            _ => Some(limits),
        }
    }

    /// What a synchronous call to `model` takes: requests and tokens per
    /// window, requests per second as that many per sixtieth of the window
    /// (`Some`), or nothing (`None`: a row whose only limits are its task
    /// APIs' or that says synchronous calls are unlimited). Refuses, saying
    /// so, a model not listed in this mode and a row without any limit.
    #[inline]
    pub(crate) fn enforced(
        &self,
        model: &(impl HasLimits + ?Sized),
    ) -> Result<Option<Enforced>, Refusal> {
        let Some(limits) = self.limits_of(model) else {
            return Err(self.not_enforced(model.id(), false));
        };
        let enforced = Enforced::of(&limits);
        if !enforced.is_unlimited() {
            return Ok(Some(enforced));
        }
        if limits.has_task_kinds() || limits.sync_unlimited() {
            return Ok(None);
        }
        Err(self.not_enforced(model.id(), true))
    }

    /// Why a model's limits are not enforced (out of the admission's hot
    /// path): not listed in the mode, or listed with no limit at all.
    #[cold]
    #[inline(never)]
    pub(crate) fn not_enforced(&self, id: &str, listed: bool) -> Refusal {
        let deployment = self.deployment;
        let model: Box<str> = id.into();
        if listed {
            Refusal::NoLimits { model, deployment }
        } else {
            Refusal::NotListed { model, deployment }
        }
    }

    /// The parameters of `model`'s synchronous key, if it has one.
    fn params(&self, model: &(impl HasLimits + ?Sized)) -> Option<Params> {
        Some(self.params_of(self.enforced(model).ok()??))
    }

    pub(crate) fn params_of(&self, limits: Enforced) -> Params {
        self.inner
            .base
            .with_limits(limits, self.inner.config.headroom)
    }

    /// The pooled budget `model` takes part in here: the key it is counted
    /// on (the pool's, and for a budget shared per API key, this handle's
    /// key's digest too) and the pool's limits.
    pub(crate) fn pool_of(&self, model: &(impl HasLimits + ?Sized)) -> Option<(String, Limits)> {
        let (name, limits) = model.budget_in(self.deployment)?;
        let key = match &self.api_key {
            Some(digest) if model.pooled_per_api_key_in(self.deployment) => {
                format!("@pool:{name}@key:{digest}")
            }
            _ => format!("@pool:{name}"),
        };
        Some((key, limits))
    }

    /// Whether `model`'s only row here is its pool's (`pooled`, the pool's
    /// limits): it then counts on the pool's keys alone.
    pub(crate) fn pool_alone(&self, model: &(impl HasLimits + ?Sized), pooled: &Limits) -> bool {
        model.limits_in(self.deployment) == Some(*pooled)
    }

    /// The keys a synchronous call to `model` takes: its own limits (as
    /// [`Throttle::enforced`]), and its pool's requests and tokens when it
    /// takes part in a pool that limits them. A model whose only row is
    /// its pool's (its limits are the pool's) takes the pool's key alone:
    /// the budget is the whole pool's, not each member's.
    #[inline]
    pub(crate) fn sync_keys(&self, model: &(impl HasLimits + ?Sized)) -> Result<SyncKeys, Refusal> {
        let Some((key, limits)) = self.pool_of(model) else {
            return Ok((self.enforced(model)?, None));
        };
        let alone = self.pool_alone(model, &limits);
        let pooled = Enforced::of(&limits);
        let pooled = (!pooled.is_unlimited()).then_some((key, pooled));
        if alone {
            return Ok((None, pooled));
        }
        Ok((self.enforced(model)?, pooled))
    }

    /// Admits a request of `tokens` (an estimate: input plus expected
    /// output) to `model`, and counts it: at once if every limit allows it
    /// now, else after waiting (with jitter, on Tokio's timer) while the
    /// limits say wait, for at most `max_wait`. A wait that would end later
    /// is returned at once as [`Refusal::RetryAfter`]; so is any wait when
    /// `max_wait` is zero (answer now). Other refusals return at once. A
    /// refusal counts nothing (but for a model in a pooled budget, whose own
    /// key counts the request when the pool then refuses: its tokens are
    /// given back).
    ///
    /// A model that takes part in a pooled budget of requests or tokens
    /// (Kimi's, shared by five models) takes the pool's permit too; one
    /// whose only row is the pool's takes the pool's alone.
    ///
    #[inline]
    pub async fn acquire<M: HasLimits + ?Sized>(
        &self,
        model: &M,
        tokens: u64,
        max_wait: Duration,
    ) -> Result<Permit<'_>, Refusal> {
        if max_wait.is_zero() {
            self.attempt::<true, M>(model, tokens).await
        } else {
            // Boxed: a wait's future stays out of the answer now's.
            Box::pin(self.acquire_waiting(model, tokens, max_wait)).await
        }
    }

    /// Counts a refusal (`observe`): the key's own counters in process, the
    /// labelled facade otherwise.
    pub(crate) fn observe_refusal(&self, id: &str, refusal: &Refusal) {
        match (&self.keyed, refusal) {
            (Keyed::Local(account), Refusal::RetryAfter(_) | Refusal::TooLarge { .. }) => {
                account.key(id).observe_refusal(refusal);
            }
            _ => observe::refused(&self.store_account, id, refusal),
        }
    }

    /// [`Throttle::acquire`] answering now; a refusal is observed (`observe`) when
    /// `OBSERVE` (an `acquire` that may wait observes only the refusal it returns).
    #[inline]
    async fn attempt<const OBSERVE: bool, M: HasLimits + ?Sized>(
        &self,
        model: &M,
        tokens: u64,
    ) -> Result<Permit<'_>, Refusal> {
        if model.pooled_in(self.deployment) {
            // Boxed: the pooled path's futures stay out of every other
            // admission's.
            return Box::pin(self.attempt_pooled::<OBSERVE, M>(model, tokens)).await;
        }
        match self.enforced(model) {
            // In process, decided here, without a future inside this one.
            Ok(Some(limits)) => match &self.keyed {
                Keyed::Local(account) => {
                    self.attempt_local::<OBSERVE>(account, model.id(), limits, tokens)
                }
                // Boxed, out of line: a round trip's future and code stay
                // out of the in-process admission's.
                Keyed::Shared(store) => {
                    self.attempt_shared_boxed::<OBSERVE>(store, model.id(), limits, tokens)
                        .await
                }
            },
            Ok(None) => Ok(self.free(model.id(), tokens)),
            Err(refusal) => {
                if OBSERVE {
                    self.observe_refusal(model.id(), &refusal);
                }
                Err(refusal)
            }
        }
    }

    /// [`Throttle::attempt`] for a model in a pooled budget: its own key
    /// (if any), then the pool's.
    async fn attempt_pooled<const OBSERVE: bool, M: HasLimits + ?Sized>(
        &self,
        model: &M,
        tokens: u64,
    ) -> Result<Permit<'_>, Refusal> {
        let id = model.id();
        let (own, pool) = match self.sync_keys(model) {
            Ok(keys) => keys,
            Err(refusal) => {
                if OBSERVE {
                    self.observe_refusal(id, &refusal);
                }
                return Err(refusal);
            }
        };
        let permit = match own {
            Some(limits) => self.attempt_key::<OBSERVE>(id, limits, tokens).await?,
            None => self.free(id, tokens),
        };
        match pool {
            Some((key, rate)) => {
                let pooled = self.attempt_key::<OBSERVE>(&key, rate, tokens).await;
                permit.with_pool(pooled).await
            }
            None => Ok(permit),
        }
    }

    /// A permit that counts nothing: a call its row does not limit.
    #[cold]
    fn free(&self, id: &str, tokens: u64) -> Permit<'static> {
        Permit::free(&self.store_account, id, tokens)
    }

    /// Admits a request of `tokens` on the rate key `id` (a model's own,
    /// its task APIs', a pool's) under `limits`, if they allow it now.
    #[inline]
    pub(crate) async fn attempt_key<const OBSERVE: bool>(
        &self,
        id: &str,
        limits: Enforced,
        tokens: u64,
    ) -> Result<Permit<'_>, Refusal> {
        match &self.keyed {
            Keyed::Local(account) => self.attempt_local::<OBSERVE>(account, id, limits, tokens),
            Keyed::Shared(store) => {
                self.attempt_shared::<OBSERVE>(store, id, limits, tokens)
                    .await
            }
        }
    }

    /// [`Throttle::attempt_shared`], boxed.
    #[inline(never)]
    fn attempt_shared_boxed<'t: 'f, 'f, const OBSERVE: bool>(
        &'t self,
        store: &'t Arc<dyn SharedStore>,
        id: &'f str,
        limits: Enforced,
        tokens: u64,
    ) -> crate::store::Boxed<'f, Result<Permit<'t>, Refusal>> {
        Box::pin(self.attempt_shared::<OBSERVE>(store, id, limits, tokens))
    }

    /// [`Throttle::attempt_key`] in a shared store: one round trip.
    async fn attempt_shared<const OBSERVE: bool>(
        &self,
        store: &Arc<dyn SharedStore>,
        id: &str,
        limits: Enforced,
        tokens: u64,
    ) -> Result<Permit<'_>, Refusal> {
        let refused = |refusal: Refusal| {
            if OBSERVE {
                self.observe_refusal(id, &refusal);
            }
            refusal
        };
        let p = self.params_of(limits);
        let shared = |counted, unchecked| {
            let account = &self.store_account;
            Permit::shared(store, account, id, p, counted, tokens, unchecked)
        };
        let decided = match store.decide(&self.store_account, id, &p, tokens).await {
            Ok(decided) => decided,
            Err(e) => {
                return if self.store_failed(id, &e) {
                    Ok(shared(None, Some(e)))
                } else {
                    Err(refused(Refusal::Unavailable(e)))
                };
            }
        };
        match decided {
            Ok(counted) => {
                observe::admitted(&self.store_account, id);
                Ok(shared(Some(counted), None))
            }
            Err(decision) => Err(refused(refusal_of(decision, &p, limits, tokens))),
        }
    }

    /// Says that the store could not be asked for `id` (`observe`), and
    /// whether its failure policy lets the call through unchecked.
    #[cold]
    pub(crate) fn store_failed(&self, id: &str, e: &StoreError) -> bool {
        let open = self.keyed.fails_open();
        observe::store_error(&self.store_account, id, e, open);
        open
    }

    /// [`Throttle::attempt_key`] in process: this thread's part of the
    /// key's lease, else the key's rules under its lock; no `.await`.
    #[inline]
    fn attempt_local<'a, const OBSERVE: bool>(
        &'a self,
        account: &'a Arc<Account>,
        id: &str,
        limits: Enforced,
        tokens: u64,
    ) -> Result<Permit<'a>, Refusal> {
        let found = account.find(id);
        let key = account.at(found);
        // Read once: most admissions under `Pacing::PerSecond` find no
        // lease and decide by the rules.
        let now = key.now();
        if let Some(at) = key.take_from_lease(now, limits, tokens) {
            key.admitted.increment(1);
            return Ok(Permit::local(account, found, at, tokens));
        }
        let p = self.params_of(limits);
        match key.decide(now, limits, &p, tokens) {
            Ok(at) => {
                key.admitted.increment(1);
                Ok(Permit::local(account, found, at, tokens))
            }
            Err(decision) => {
                let refusal = refusal_of(decision, &p, limits, tokens);
                if OBSERVE {
                    self.observe_refusal(id, &refusal);
                }
                Err(refusal)
            }
        }
    }

    /// [`Throttle::acquire`] that may wait.
    async fn acquire_waiting<M: HasLimits + ?Sized>(
        &self,
        model: &M,
        tokens: u64,
        max_wait: Duration,
    ) -> Result<Permit<'_>, Refusal> {
        let (own, pool) = match self.sync_keys(model) {
            Ok(keys) => keys,
            Err(refusal) => {
                self.observe_refusal(model.id(), &refusal);
                return Err(refusal);
            }
        };
        let deadline = later(max_wait);
        let permit = match own {
            Some(limits) => self.wait_key(model.id(), limits, tokens, deadline).await?,
            None => self.free(model.id(), tokens),
        };
        match pool {
            None => Ok(permit),
            Some((key, rate)) => {
                let pooled = self.wait_key(&key, rate, tokens, deadline).await;
                permit.with_pool(pooled).await
            }
        }
    }

    /// Admits a request on the rate key `id` under `limits`, waiting (with
    /// jitter) while they say wait, until `deadline` at the latest: a wait
    /// that would end later is returned at once as
    /// [`Refusal::RetryAfter`].
    pub(crate) async fn wait_key(
        &self,
        id: &str,
        limits: Enforced,
        tokens: u64,
        deadline: tokio::time::Instant,
    ) -> Result<Permit<'_>, Refusal> {
        let started = tokio::time::Instant::now();
        let mut waited = false;
        loop {
            match self.attempt_key::<false>(id, limits, tokens).await {
                Err(Refusal::RetryAfter(wait)) if later(wait) <= deadline => {
                    observe::waiting(&self.store_account, id, wait);
                    waited = true;
                    tokio::time::sleep_until((later(wait) + jitter(wait)).min(deadline)).await;
                }
                Err(refusal) => {
                    self.observe_refusal(id, &refusal);
                    return Err(refusal);
                }
                Ok(permit) => {
                    if waited {
                        observe::waited(&self.store_account, id, started.elapsed());
                    }
                    return Ok(permit);
                }
            }
        }
    }

    /// Tells the throttle that the provider refused a request to `model`
    /// for `tripped` (see [`classify`](crate::classify)): the key stops
    /// admitting for the cool-down and lowers the limit that tripped
    /// ([`Adaptation`](crate::Adaptation)); through Redis, for the whole
    /// fleet. Reports during a cool-down change nothing more.
    pub async fn report(
        &self,
        model: &(impl HasLimits + ?Sized),
        tripped: Tripped,
    ) -> Result<(), StoreError> {
        // A model without a synchronous limit has no state to lower.
        let Some(p) = self.params(model) else {
            return Ok(());
        };
        self.report_key(model.id(), &p, tripped).await
    }

    /// [`Throttle::report`] on the rate key `id` with parameters `p`.
    pub(crate) async fn report_key(
        &self,
        id: &str,
        p: &Params,
        tripped: Tripped,
    ) -> Result<(), StoreError> {
        observe::reported(&self.store_account, id, tripped);
        let lower = match tripped {
            Tripped::Requests | Tripped::Burst => Lower {
                requests: true,
                tokens: false,
            },
            Tripped::Tokens => Lower {
                requests: false,
                tokens: true,
            },
            _ => Lower {
                requests: true,
                tokens: true,
            },
        };
        self.keyed.report(&self.store_account, id, p, lower).await
    }

    /// What the throttle admits for `model` now: the limits after headroom
    /// and after the decreases that refusals caused (`None`: a model the
    /// throttle does not pace synchronous calls to in this mode: one not
    /// listed, one without limits, one whose row limits only its task
    /// APIs). A kind the model lacks shows as absent.
    pub async fn effective(
        &self,
        model: &(impl HasLimits + ?Sized),
    ) -> Result<Option<Effective>, StoreError> {
        let Ok(Some(enforced)) = self.enforced(model) else {
            return Ok(None);
        };
        let p = self.params_of(enforced);
        let adapted = self
            .keyed
            .adapted(&self.store_account, model.id(), &p)
            .await?;
        let caps = p.caps(adapted.requests, adapted.tokens);
        let limits = |r: u64, t: u64| {
            let mut l = Limits::NONE;
            if enforced.rpm < UNLIMITED {
                l = l.with_rpm(u32::try_from(r).unwrap_or(u32::MAX));
            }
            if enforced.tpm < UNLIMITED {
                l = l.with_tpm(t);
            }
            l
        };
        Ok(Some(Effective {
            per_window: limits(caps.rpm, caps.tpm),
            per_second: limits(caps.rps, caps.tps),
            requests_factor: adapted.requests.as_f64(),
            tokens_factor: adapted.tokens.as_f64(),
            cooldown: adapted.cooldown.as_duration(),
        }))
    }
}

/// The keys a synchronous call takes: the model's own limits, if paced,
/// and a pooled budget's key and limits, if it takes part in one.
pub(crate) type SyncKeys = (Option<Enforced>, Option<(String, Enforced)>);

/// The refusal of the rules' `decision` for a request of `tokens` under
/// `limits` (`p` after headroom).
#[cold]
fn refusal_of(decision: Refused, p: &Params, limits: Enforced, tokens: u64) -> Refusal {
    match decision {
        Refused::Wait(wait) => Refusal::RetryAfter(wait.as_duration()),
        Refused::TooLarge => Refusal::TooLarge {
            tokens,
            max: p.tpm,
            tpm: limits.tpm,
        },
    }
}

/// Longer than any wait that matters (a century).
const FOREVER: Duration = Duration::from_secs(100 * 365 * 24 * 3_600);

/// The instant `by` from now on Tokio's clock (beyond what an Instant
/// holds is as good as never).
pub(crate) fn later(by: Duration) -> tokio::time::Instant {
    let now = tokio::time::Instant::now();
    now.checked_add(by).unwrap_or(now + FOREVER)
}

/// A random delay added to a wait, so that tasks woken for the same moment
/// do not all ask at once: up to a sixteenth of the wait, at least 1 ms.
pub(crate) fn jitter(wait: Duration) -> Duration {
    let most = (wait / 16).max(Duration::from_millis(1));
    most.mul_f64(fastrand::f64())
}

/// What a throttle admits for one model now.
#[derive(Copy, Clone, Debug, PartialEq)]
#[non_exhaustive]
pub struct Effective {
    /// Requests and tokens per window, after headroom and decreases.
    pub per_window: Limits,
    /// Requests and tokens per "second" (a sixtieth of the window), or per
    /// burst under [`Pacing::Bursty`](crate::Pacing::Bursty).
    pub per_second: Limits,
    /// The fraction of the requests limit in use after refusals, in `(0, 1]`.
    pub requests_factor: f64,
    /// The fraction of the tokens limit in use after refusals, in `(0, 1]`.
    pub tokens_factor: f64,
    /// How long the cool-down after a refusal still lasts.
    pub cooldown: Duration,
}
