//! Asynchronous tasks: submissions, queries and tasks in flight.
//!
//! Image and video generation (and some audio jobs) run as tasks: a
//! submission (`X-DashScope-Async: enable`) starts one, queries
//! (`GET /api/v1/tasks/{id}`) follow it to its end. The provider limits
//! submissions per second or minute (`submit_rps`, `submit_rpm`), queries
//! per second (`query_rps`, and 20 a second per account over every
//! model), and tasks in flight (`concurrency`). [`Throttle::submit`] takes
//! a task slot and a submission permit and returns a [`Task`] that holds
//! the slot until it is dropped or [`Task::finish`]ed; [`Throttle::query`]
//! takes a query permit.
//!
//! Each kind is a key of its own beside the model's: submissions count on
//! `MODEL#submit`, queries on `MODEL#query` and the account's
//! `@tasks#query`, tasks in flight on `MODEL#tasks`, a pooled budget on
//! `@pool:NAME` (ids never hold `#` or `@`; a budget shared per API key
//! adds `@key:DIGEST`). A model in a pool takes the pool's keys beside its
//! own: synchronous calls its requests and tokens, submissions its
//! submissions and tasks in flight; a model whose only row is the pool's
//! takes the pool's keys alone. In process, a key's slots are
//! a count behind a mutex and a [`Notify`](tokio::sync::Notify) that wakes the waiters when one
//! is freed; through Redis they are leases in a sorted set (see
//! [`crate::redis`]).

use std::sync::Arc;
use std::time::Duration;

use modelstudio_limits::{Deployment, HasLimits, Limits};

use crate::admission::{min_some, Enforced, UNLIMITED};
use crate::observe;
use crate::permit::Permit;
use crate::refusal::{Refusal, StoreError};
use crate::store::Slot;
use crate::throttle::{later, Throttle};

/// The task-query API's own limit: 20 queries a second per account, over
/// every model (the provider's API reference).
pub const TASK_QUERIES_PER_SECOND: u32 = 20;

/// The model of a task whose model is not known (a query by task id
/// alone): its queries count on the account's limit only.
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq)]
pub struct UnknownTaskModel;

impl HasLimits for UnknownTaskModel {
    fn id(&self) -> &str {
        ""
    }

    fn limits_in(&self, _: Deployment) -> Option<Limits> {
        None
    }
}

/// The key of the account's queries over every model.
const ACCOUNT_QUERIES: &str = "@tasks#query";

/// A task submitted through the throttle: it holds a slot of its model's
/// tasks in flight (if the model limits them) until it is dropped or
/// [`Task::finish`]ed. Through Redis the slot is a lease the task renews
/// while it lives, so a process that dies frees its slots within
/// [`RedisOptions::task_lease`](crate::redis::RedisOptions::task_lease).
#[must_use = "dropping a task frees its slot at once: keep it until the task ends"]
pub struct Task {
    account: Arc<str>,
    model: Box<str>,
    /// The slot of the model's tasks in flight, if it limits them.
    own: Option<Slot>,
    /// The slot of the pooled budget's tasks in flight, if it limits them.
    pool: Option<Slot>,
}

impl std::fmt::Debug for Task {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Task")
            .field("account", &self.account)
            .field("model", &self.model)
            .field("holds_slot", &self.holds_slot())
            .finish()
    }
}

impl Task {
    /// The model the task was submitted to.
    pub fn model(&self) -> &str {
        &self.model
    }

    /// Whether the task holds a slot of its model's tasks in flight (or of
    /// its pool's).
    pub fn holds_slot(&self) -> bool {
        self.own.is_some() || self.pool.is_some()
    }

    /// Frees the task's slots now (the task ended), saying whether the
    /// store heard it; dropping the task does the same without waiting.
    pub async fn finish(mut self) -> Result<(), StoreError> {
        if self.holds_slot() {
            self.freed();
        }
        let (own, pool) = (self.own.take(), self.pool.take());
        let own = match own {
            Some(slot) => slot.release().await,
            None => Ok(()),
        };
        match pool {
            Some(slot) => own.and(slot.release().await),
            None => own,
        }
    }

    fn freed(&self) {
        observe::task_freed(&self.account, &self.model);
    }
}

impl Drop for Task {
    fn drop(&mut self) {
        if self.holds_slot() {
            self.freed();
        }
        for slot in [self.own.take(), self.pool.take()].into_iter().flatten() {
            slot.release_in_background();
        }
    }
}

impl Enforced {
    /// Submissions per window: `submit_rpm`, or 60 × `submit_rps`, the
    /// lower. A row with tasks in flight and no submission kind limits its
    /// submissions by its request kinds (`rpm`, 60 × `rps`: the page's
    /// video and image tables since 2026-09 say RPS). `None` if the row
    /// limits none of these.
    pub(crate) fn of_submissions(limits: &Limits) -> Option<Enforced> {
        let submit = min_some(
            limits.submit_rpm().map(u64::from),
            limits.submit_rps().map(|n| u64::from(n) * 60),
        );
        let requests = || {
            limits.concurrency().and(min_some(
                limits.rpm().map(u64::from),
                limits.rps().map(|n| u64::from(n) * 60),
            ))
        };
        let rpm = submit.or_else(requests)?;
        Some(Enforced {
            rpm,
            tpm: UNLIMITED,
        })
    }

    /// Queries per window: 60 × `query_rps`.
    fn of_queries(per_second: u32) -> Enforced {
        Enforced {
            rpm: u64::from(per_second) * 60,
            tpm: UNLIMITED,
        }
    }

    /// A pooled budget's requests (every request kind it holds, the
    /// lowest) and tokens per window.
    fn of_budget(limits: &Limits) -> Enforced {
        let own = Enforced::of(limits);
        let submissions = Enforced::of_submissions(limits).map_or(UNLIMITED, |e| e.rpm);
        Enforced {
            rpm: own.rpm.min(submissions),
            tpm: own.tpm,
        }
    }
}

impl Throttle {
    /// Submits an asynchronous task to `model`, waiting for at most
    /// `max_wait` for both: takes a slot of its tasks in flight
    /// (`concurrency`), then a submission permit (`submit_rps`,
    /// `submit_rpm`). With `max_wait` zero it answers now: it refuses at
    /// once when no slot is free ([`Refusal::TasksInFlight`]) or the
    /// submission rate says wait ([`Refusal::RetryAfter`]). A row without
    /// task kinds paces the submission by its own request limits. Send the
    /// submission once this returns, and keep the [`Task`] until the task
    /// ends.
    ///
    /// ```
    /// use std::time::Duration;
    /// use limits_throttle::{Config, Deployment, Refusal, Throttle};
    /// use modelstudio_limits::Model;
    ///
    /// # tokio::runtime::Builder::new_current_thread().enable_time().build().unwrap().block_on(async {
    /// // wan2.6-t2v in Mainland China: 5 submissions a second, 5 tasks in flight.
    /// let throttle = Throttle::in_process(Config::default())?
    ///     .for_deployment(Deployment::MAINLAND_CHINA);
    /// let video = Model::Wan2_6T2v;
    /// let mut tasks = Vec::new();
    /// for _ in 0..5 {
    ///     // ... then POST the submission with `X-DashScope-Async: enable`.
    ///     tasks.push(throttle.submit(&video, Duration::from_secs(60)).await?);
    /// }
    /// assert!(matches!(
    ///     throttle.submit(&video, Duration::ZERO).await,
    ///     Err(Refusal::TasksInFlight { limit: 5 })
    /// ));
    /// // A query saw the first task end: its slot is free.
    /// tasks.remove(0).finish().await?;
    /// assert_eq!(throttle.tasks_in_flight(&video).await?, 4);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// # }).unwrap();
    /// ```
    pub async fn submit(
        &self,
        model: &(impl HasLimits + ?Sized),
        max_wait: Duration,
    ) -> Result<Task, Refusal> {
        self.submit_by(model, later(max_wait)).await
    }

    async fn submit_by(
        &self,
        model: &(impl HasLimits + ?Sized),
        deadline: tokio::time::Instant,
    ) -> Result<Task, Refusal> {
        let id = model.id();
        let refused = |refusal: Refusal| {
            self.observe_refusal(id, &refusal);
            refusal
        };
        let Some(limits) = self.limits_of(model) else {
            return Err(refused(self.not_enforced(id, false)));
        };
        // A pooled budget's tasks in flight and submissions count on the
        // pool's key; a model whose only row is the pool's has no own key.
        let pool = self.pool_of(model);
        let own = !pool
            .as_ref()
            .is_some_and(|(_, pooled)| self.pool_alone(model, pooled));
        let mut task = Task {
            account: Arc::clone(&self.store_account),
            model: Box::from(id),
            own: None,
            pool: None,
        };
        // Taken one by one into the task, so that a refusal frees them.
        if let (true, Some(limit)) = (own, limits.concurrency()) {
            task.own = self.take_slot(id, limit, deadline).await.map_err(refused)?;
        }
        if let Some((key, Some(limit))) = pool.as_ref().map(|(k, l)| (k, l.concurrency())) {
            task.pool = self
                .take_slot(key, limit, deadline)
                .await
                .map_err(refused)?;
        }
        if task.holds_slot() {
            observe::task_held(&self.store_account, id);
        }
        if own {
            match Enforced::of_submissions(&limits) {
                Some(rate) => {
                    let key = format!("{id}#submit");
                    drop(self.wait_key(&key, rate, 0, deadline).await?);
                }
                None if limits.concurrency().is_some() => {}
                None => match self.enforced(model) {
                    Ok(Some(rate)) => drop(self.wait_key(id, rate, 0, deadline).await?),
                    Ok(None) => {}
                    Err(refusal) => return Err(refused(refusal)),
                },
            }
        }
        if let Some((key, pooled)) = &pool {
            let rate = Enforced::of_budget(pooled);
            if !rate.is_unlimited() {
                let key = format!("{key}#submit");
                drop(self.wait_key(&key, rate, 0, deadline).await?);
            }
        }
        Ok(task)
    }

    /// A slot of `id`'s tasks in flight, of `limit`, waiting until
    /// `deadline` (`None`: the store failed open, and said so).
    async fn take_slot(
        &self,
        id: &str,
        limit: u32,
        deadline: tokio::time::Instant,
    ) -> Result<Option<Slot>, Refusal> {
        let key = format!("{id}#tasks");
        match self
            .keyed
            .take_slot(&self.store_account, &key, limit, deadline)
            .await
        {
            Ok(Some(slot)) => Ok(Some(slot)),
            Ok(None) => Err(Refusal::TasksInFlight { limit }),
            // As for a synchronous call: under `FailOpen` the task runs
            // without a slot, and it is said.
            Err(e) if self.store_failed(id, &e) => Ok(None),
            Err(e) => Err(Refusal::Unavailable(e)),
        }
    }

    /// Tells the throttle that the provider refused a submission to
    /// `model` for `tripped`: the submission key cools down and lowers its
    /// rate, as [`Throttle::report`] does for synchronous calls (a row
    /// without submission limits: its own key).
    pub async fn report_submission(
        &self,
        model: &(impl HasLimits + ?Sized),
        tripped: crate::Tripped,
    ) -> Result<(), StoreError> {
        let Some(limits) = self.limits_of(model) else {
            return Ok(());
        };
        match Enforced::of_submissions(&limits) {
            Some(rate) => {
                let p = self.params_of(rate);
                let key = format!("{}#submit", model.id());
                self.report_key(&key, &p, tripped).await
            }
            None => self.report(model, tripped).await,
        }
    }

    /// How many of `model`'s tasks are in flight by this throttle's count
    /// (in process: held here; through Redis: held by the fleet, leases
    /// not yet expired).
    pub async fn tasks_in_flight(
        &self,
        model: &(impl HasLimits + ?Sized),
    ) -> Result<u32, StoreError> {
        let key = format!("{}#tasks", model.id());
        self.keyed.slots_held(&self.store_account, &key).await
    }

    /// Takes a query permit for a task of `model` ([`UnknownTaskModel`]
    /// when the task's model is not known), waiting for at most `max_wait`
    /// (zero: answer now): the account's [`TASK_QUERIES_PER_SECOND`], and
    /// `model`'s `query_rps` if its row limits its queries.
    pub async fn query(
        &self,
        model: &(impl HasLimits + ?Sized),
        max_wait: Duration,
    ) -> Result<(), Refusal> {
        let deadline = later(max_wait);
        let own = self.limits_of(model).and_then(|limits| {
            let per_second = limits.query_rps()?;
            Some((format!("{}#query", model.id()), per_second))
        });
        if let Some((key, per_second)) = own {
            let rate = Enforced::of_queries(per_second);
            drop(self.wait_key(&key, rate, 0, deadline).await?);
        }
        let rate = Enforced::of_queries(TASK_QUERIES_PER_SECOND);
        drop(self.wait_key(ACCOUNT_QUERIES, rate, 0, deadline).await?);
        Ok(())
    }

    /// Admits a request of `tokens` on the pooled budget `model` takes part
    /// in (e.g. CosyVoice voice enrollment: one submission budget for every
    /// version), keyed by the pool, and for a budget shared per API key by
    /// the handle's key too ([`Throttle::for_api_key`]; a handle without
    /// one counts its account's calls together), waiting for at most
    /// `max_wait` (zero: answer now). A model in no pool in this mode is
    /// [`Refusal::NotPooled`].
    pub async fn acquire_pooled(
        &self,
        model: &(impl HasLimits + ?Sized),
        tokens: u64,
        max_wait: Duration,
    ) -> Result<Permit<'_>, Refusal> {
        let Some((key, limits)) = self.pool_of(model) else {
            let refusal = Refusal::NotPooled {
                model: Box::from(model.id()),
                deployment: self.deployment(),
            };
            self.observe_refusal(model.id(), &refusal);
            return Err(refusal);
        };
        let rate = Enforced::of_budget(&limits);
        self.wait_key(&key, rate, tokens, later(max_wait)).await
    }
}
