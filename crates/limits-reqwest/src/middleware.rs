//! The middleware: pace, send, read the answer, reconcile, retry 429s.

use std::sync::Arc;

use http::Extensions;
use limits_throttle::{Deployment, HasLimits, Throttle};
use modelstudio_limits::runtime::LimitTable;
use modelstudio_limits::{Model, Region};
use reqwest::{Request, Response};
use reqwest_middleware::{Error, Middleware, Next, Result};
use tracing::Instrument;

use crate::estimate::{estimate, Endpoint};
use crate::options::{Options, UnknownModel, UnknownModels};
use crate::resolved::Resolved;
use crate::response::{rate_limited, settle};
use crate::tasks::{self, Call, InFlight};

type Resolve = dyn Fn(&str) -> Option<Resolved> + Send + Sync;

/// The most distinct unknown models warned about (the names come from
/// requests, so the set is bounded).
const MOST_WARNED: usize = 256;

/// Models already warned about, so that each is warned once.
#[derive(Default)]
struct Warned(std::sync::Mutex<std::collections::HashSet<String>>);

impl Warned {
    /// Whether `model` is new here (and there is room to remember it).
    fn first(&self, model: &str) -> bool {
        let mut seen = self
            .0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if seen.contains(model) || seen.len() >= MOST_WARNED {
            return false;
        }
        seen.insert(model.to_string())
    }
}

/// Model Studio's rate limits as [`reqwest_middleware`] middleware: for a
/// POST to one of the three endpoints (OpenAI-compatible chat completions
/// and embeddings, native text generation) it reads `model` and estimates
/// the tokens, waits for the throttle, sends, and reconciles with the
/// response's `usage` (a stream's last usage chunk, without buffering the
/// stream). A 429 for a rate limit is reported to the throttle (a cool-down
/// and a lower limit) and sent again, a bounded number of times; any other
/// answer is returned untouched. Everything else passes through.
///
/// **Region and scope.** Limits differ by deployment (region and scope),
/// and so does the throttle's state: the host gives the region
/// ([`Region::of_host`]: `dashscope.aliyuncs.com` Beijing,
/// `dashscope-intl.aliyuncs.com` Singapore, `dashscope-us.aliyuncs.com`
/// Virginia, `{WorkspaceId}.<region>.maas.aliyuncs.com` its region); the
/// scope is the region's own (Beijing `cn`, Singapore `intl`), at Virginia
/// `us` for an id ending in `-us`, else `global`; where only the workspace knows (Frankfurt, Tokyo, Hong Kong),
/// [`Options::with_scope`], else the throttle's scope in its own region.
/// Any other host (a proxy, the simulator) is in the throttle's own
/// deployment ([`Throttle::deployment`]); [`Options::with_deployment`] sets
/// the deployment of every request instead. A model that its table does not list in the
/// request's mode is treated as an unknown model ([`UnknownModels`]). A
/// synchronous call to a model whose row limits only its task APIs takes
/// nothing.
#[derive(Clone)]
pub struct ThrottleMiddleware {
    throttle: Throttle,
    resolve: Arc<Resolve>,
    options: Options,
    warned: Arc<Warned>,
    /// Tasks submitted through the middleware, until their end.
    in_flight: Arc<InFlight>,
}

impl std::fmt::Debug for ThrottleMiddleware {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ThrottleMiddleware")
            .field("throttle", &self.throttle)
            .field("options", &self.options)
            .finish_non_exhaustive()
    }
}

impl ThrottleMiddleware {
    /// Middleware that resolves models (ids and aliases) in the published
    /// table, [`modelstudio_limits::Model`].
    pub fn new(throttle: Throttle) -> Self {
        ThrottleMiddleware {
            throttle,
            resolve: Arc::new(|name| Model::from_id(name).map(Resolved::from)),
            options: Options::default(),
            warned: Arc::default(),
            in_flight: Arc::default(),
        }
    }

    /// Resolves models in `table` instead (a table loaded at run time, an
    /// account's raised limits).
    pub fn with_table(self, table: LimitTable) -> Self {
        self.with_resolver(move |name| {
            table.get(name).map(|e| Resolved {
                id: e.id.clone(),
                limits: e.limits.clone(),
                pools: e.pools.clone(),
            })
        })
    }

    /// Resolves models with `resolve` (e.g. a generated enum's `from_id`).
    pub fn with_resolver(
        self,
        resolve: impl Fn(&str) -> Option<Resolved> + Send + Sync + 'static,
    ) -> Self {
        ThrottleMiddleware {
            resolve: Arc::new(resolve),
            ..self
        }
    }

    /// These settings instead of the defaults.
    pub fn with_options(self, options: Options) -> Self {
        ThrottleMiddleware { options, ..self }
    }

    /// The settings the middleware runs with.
    pub fn options(&self) -> &Options {
        &self.options
    }

    /// How many tasks submitted through this middleware (and its clones)
    /// hold a slot of their model's tasks in flight: not yet seen ending.
    pub fn tasks_in_flight(&self) -> usize {
        self.in_flight.len()
    }

    /// The throttle the middleware paces with.
    pub fn throttle(&self) -> &Throttle {
        &self.throttle
    }
}

#[async_trait::async_trait]
impl Middleware for ThrottleMiddleware {
    async fn handle(
        &self,
        req: Request,
        extensions: &mut Extensions,
        next: Next<'_>,
    ) -> Result<Response> {
        match Call::of(&req) {
            Call::Batch => return next.run(req, extensions).await,
            Call::Query(task_id) => {
                // The mode of a task not submitted here: its host's.
                let host = self.deployment_of(&req, None);
                return self
                    .in_flight
                    .query(req, extensions, next, &self.throttle, host, task_id)
                    .await;
            }
            call @ (Call::Submission | Call::Enrollment) => {
                let Some(name) = req
                    .body()
                    .and_then(|b| b.as_bytes())
                    .and_then(|body| tasks::model_of(body, call == Call::Enrollment))
                else {
                    return next.run(req, extensions).await;
                };
                let Some((model, throttle)) = self.known(&name, &req)? else {
                    return next.run(req, extensions).await;
                };
                let span = tracing::debug_span!(
                    "limits_task_submission",
                    model = model.id.as_str(),
                    deployment = throttle.deployment().to_string()
                );
                return self
                    .in_flight
                    .submission(&self.options, req, extensions, next, throttle, model, call)
                    .instrument(span)
                    .await;
            }
            Call::Other => {}
        }
        let endpoint = Endpoint::of(req.url().path()).filter(|_| req.method() == "POST");
        let asked = endpoint.and_then(|endpoint| {
            let body = req.body()?.as_bytes()?;
            estimate(endpoint, body, self.options.default_output)
        });
        let Some(asked) = asked else {
            return next.run(req, extensions).await;
        };
        let Some((model, throttle)) = self.known(&asked.model, &req)? else {
            return next.run(req, extensions).await;
        };
        let span = tracing::debug_span!(
            "limits_request",
            model = model.id.as_str(),
            deployment = throttle.deployment().to_string()
        );
        self.throttled(req, extensions, next, throttle, model, asked.total())
            .instrument(span)
            .await
    }
}

impl ThrottleMiddleware {
    /// The model named `name` in a request and the throttle of the
    /// request's mode; `None` to pass an unknown model (warned once per
    /// model), an error to refuse it ([`UnknownModels`]).
    fn known(&self, name: &str, req: &Request) -> Result<Option<(Resolved, Throttle)>> {
        let resolved = (self.resolve)(name);
        let deployment = self.deployment_of(req, resolved.as_ref());
        let Some(model) = resolved.filter(|m| m.limits_in(deployment).is_some()) else {
            if self.warned.first(name) {
                tracing::warn!(
                    model = name,
                    deployment = deployment.to_string(),
                    policy = ?self.options.unknown_models,
                    "limits-reqwest: a model no table lists in this mode: its calls are not paced \
                     (passed or refused by policy; warned once per model)"
                );
            }
            return match self.options.unknown_models {
                UnknownModels::Refuse => Err(Error::middleware(UnknownModel {
                    model: name.to_string(),
                })),
                _ => Ok(None),
            };
        };
        Ok(Some((model, self.throttle.for_deployment(deployment))))
    }

    /// The deployment of a request: the options', else its host's region
    /// with the scope the request implies ([`Region::scope_of`]), else the
    /// options' scope in that region (Frankfurt, Tokyo, Hong Kong: only the
    /// workspace knows), else the throttle's scope where the region is its
    /// own; else the throttle's deployment.
    fn deployment_of(&self, req: &Request, model: Option<&Resolved>) -> Deployment {
        if let Some(d) = self.options.deployment {
            return d;
        }
        let fallback = self.throttle.deployment();
        let Some(region) = req.url().host_str().and_then(Region::of_host) else {
            return fallback;
        };
        let scope = region
            .scope_of(model.map_or("", |m| m.id.as_str()))
            .or(self.options.scope)
            .or((fallback.region == region).then_some(fallback.scope));
        scope.map_or(fallback, |scope| Deployment::new(region, scope))
    }
}

impl ThrottleMiddleware {
    /// Sends a request of a known model through `throttle`: waits, sends,
    /// reconciles, reports and retries 429s.
    async fn throttled(
        &self,
        req: Request,
        extensions: &mut Extensions,
        next: Next<'_>,
        throttle: Throttle,
        model: Resolved,
        tokens: u64,
    ) -> Result<Response> {
        let deployment = throttle.deployment();
        let mut req = req;
        let mut attempt = 0;
        loop {
            let again = (attempt < self.options.retries)
                .then(|| req.try_clone())
                .flatten();
            let permit = throttle
                .acquire(&model, tokens, throttle.config().max_wait)
                .await
                .map_err(Error::middleware)?;
            let response = next.clone().run(req, extensions).await?;
            let status = response.status();
            if status.is_success() {
                return settle(response, permit).await;
            }
            // A refused or failed call used no tokens.
            let _ = permit.reconcile(0).await;
            let (response, tripped) = rate_limited(response).await?;
            let Some(tripped) = tripped else {
                return Ok(response);
            };
            tracing::warn!(
                model = model.id.as_str(),
                deployment = deployment.to_string(),
                ?tripped,
                attempt,
                retry = again.is_some(),
                "limits-reqwest: the provider answered 429; reported to the throttle"
            );
            let _ = throttle.report(&model, tripped).await;
            match again {
                Some(next_try) => {
                    attempt += 1;
                    self.options.pause_before_retry().await;
                    req = next_try;
                }
                None => return Ok(response),
            }
        }
    }
}
