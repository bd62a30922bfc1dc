//! The middleware: pace, send, read the answer, reconcile, retry 429s.

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http::Extensions;
use limits_throttle::{classify, Deployment, HasLimits, Limits, Permit, Throttle};
use modelstudio_limits::runtime::{Budget, LimitTable};
use modelstudio_limits::{Model, Region, Scope};
use reqwest::{Request, Response, StatusCode};
use reqwest_middleware::{Error, Middleware, Next, Result};
use tracing::Instrument;

use crate::estimate::{estimate, usage_tokens, Endpoint};
use crate::stream::UsageStream;
use crate::tasks::{self, Call, InFlight};

/// A model the middleware resolved from a request's `model` field: its
/// canonical id and its limits in each mode that lists it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Resolved {
    /// The canonical id (the throttle's key).
    pub id: String,
    /// Its limits, per deployment mode.
    pub limits: Vec<(Deployment, Limits)>,
    /// The pooled budgets it takes part in, one per mode at most.
    pub pools: Vec<Budget>,
}

impl Resolved {
    /// The modes that list the model.
    pub fn deployments(&self) -> Vec<Deployment> {
        self.limits.iter().map(|(d, _)| *d).collect()
    }
}

impl HasLimits for Resolved {
    fn id(&self) -> &str {
        &self.id
    }
    fn limits_in(&self, deployment: Deployment) -> Option<Limits> {
        self.limits
            .iter()
            .find(|(d, _)| *d == deployment)
            .map(|(_, l)| *l)
    }
    fn budget_in(&self, deployment: Deployment) -> Option<(&str, Limits)> {
        Budget::find(&self.pools, deployment)
    }
    fn pooled_per_api_key_in(&self, deployment: Deployment) -> bool {
        Budget::per_api_key(&self.pools, deployment)
    }
}

impl From<Model> for Resolved {
    /// A published model, with its limits in every mode.
    fn from(m: Model) -> Resolved {
        Resolved {
            id: m.id().to_string(),
            limits: m
                .deployments()
                .iter()
                .filter_map(|&d| m.limits_in(d).map(|l| (d, l)))
                .collect(),
            pools: Budget::of(m),
        }
    }
}

/// What to do with a request whose model no table knows.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum UnknownModels {
    /// Send it unthrottled.
    Pass,
    /// Fail it with [`UnknownModel`] before sending.
    Refuse,
}

/// Settings of a [`ThrottleMiddleware`].
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Options {
    /// Output tokens assumed for a request that names no maximum. Default 512.
    pub default_output: u64,
    /// How many times a request refused for a rate limit (HTTP 429) is sent
    /// again. Default 3.
    pub retries: u32,
    /// The most random delay before a retry, on top of the throttle's
    /// cool-down. Default 100 ms.
    pub retry_jitter: Duration,
    /// Requests to models no table knows, or that their table does not
    /// list in the request's mode. Default [`UnknownModels::Pass`].
    pub unknown_models: UnknownModels,
    /// The deployment mode of every request, instead of the one its host
    /// says (see [`ThrottleMiddleware`]). Default `None`.
    pub deployment: Option<Deployment>,
    /// The scope of requests to a region whose scope the request does not
    /// say (Frankfurt: global or EU, chosen per workspace; Tokyo; Hong
    /// Kong). `None`: the throttle's scope where its region is the host's.
    pub scope: Option<Scope>,
    /// How long a task submitted through the middleware holds its slot of
    /// tasks in flight when no query passing through the middleware sees it
    /// end. Default 15 minutes (the provider's video tasks take 1 to 5).
    pub max_task_time: Duration,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            default_output: 512,
            retries: 3,
            retry_jitter: Duration::from_millis(100),
            unknown_models: UnknownModels::Pass,
            deployment: None,
            scope: None,
            max_task_time: Duration::from_secs(15 * 60),
        }
    }
}

impl Options {
    /// These options with another default output.
    pub fn with_default_output(self, default_output: u64) -> Self {
        Options {
            default_output,
            ..self
        }
    }

    /// These options with another number of retries.
    pub fn with_retries(self, retries: u32) -> Self {
        Options { retries, ..self }
    }

    /// These options with another longest task time.
    pub fn with_max_task_time(self, max_task_time: Duration) -> Self {
        Options {
            max_task_time,
            ..self
        }
    }

    /// These options with `scope` for requests to a region whose scope
    /// only the workspace knows (e.g. Frankfurt's `eu`).
    pub fn with_scope(self, scope: Scope) -> Self {
        Options {
            scope: Some(scope),
            ..self
        }
    }

    /// These options with every request in `deployment`, whatever its host.
    pub fn with_deployment(self, deployment: Deployment) -> Self {
        Options {
            deployment: Some(deployment),
            ..self
        }
    }

    /// These options with another policy for unknown models.
    pub fn with_unknown_models(self, unknown_models: UnknownModels) -> Self {
        Options {
            unknown_models,
            ..self
        }
    }
}

/// A request refused before sending: its model is in no table (under
/// [`UnknownModels::Refuse`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UnknownModel {
    /// The request's `model`.
    pub model: String,
}

impl std::fmt::Display for UnknownModel {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "model `{}` is in no rate-limit table the throttle knows, or not in the request's deployment mode",
            self.model
        )
    }
}

impl std::error::Error for UnknownModel {}

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
    pub(crate) in_flight: Arc<InFlight>,
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

    /// A random pause of up to [`Options::retry_jitter`] before a retry.
    pub(crate) async fn pause_before_retry(&self) {
        let jitter = self.options.retry_jitter.mul_f64(fastrand::f64());
        tokio::time::sleep(jitter).await;
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
            Call::Query(task_id) => return self.query(req, extensions, next, task_id).await,
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
                    .submission(req, extensions, next, throttle, model, call)
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
    pub(crate) fn deployment_of(&self, req: &Request, model: Option<&Resolved>) -> Deployment {
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
                    self.pause_before_retry().await;
                    req = next_try;
                }
                None => return Ok(response),
            }
        }
    }
}

/// A response's rate limit: a 429 whose body [`classify`] reads, handed on
/// rebuilt with what tripped; any other answer as it is, with `None`.
pub(crate) async fn rate_limited(
    response: Response,
) -> Result<(Response, Option<limits_throttle::Tripped>)> {
    if response.status() != StatusCode::TOO_MANY_REQUESTS {
        return Ok((response, None));
    }
    let (response, body) = buffered(response).await?;
    let tripped = classify(StatusCode::TOO_MANY_REQUESTS.as_u16(), &body);
    Ok((response, tripped))
}

/// Reads a whole (small) body, and a response with the same status,
/// headers and body to hand on.
pub(crate) async fn buffered(response: Response) -> Result<(Response, Bytes)> {
    let head = head(&response);
    let body = response.bytes().await?;
    Ok((rebuild(head, body.clone()), body))
}

/// A response's status, version and headers, without its body.
fn head(response: &Response) -> http::Response<()> {
    let mut head = http::Response::new(());
    *head.status_mut() = response.status();
    *head.version_mut() = response.version();
    *head.headers_mut() = response.headers().clone();
    head
}

/// A response to hand on: a head, with `body`.
fn rebuild(head: http::Response<()>, body: impl Into<reqwest::Body>) -> Response {
    Response::from(head.map(|()| body.into()))
}

/// Reconciles a successful call with its usage: a JSON body is read whole
/// (and handed on), a stream is watched as it passes and reconciled when it
/// ends.
async fn settle(response: Response, permit: Permit<'_>) -> Result<Response> {
    let is_stream = response
        .headers()
        .get(http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("text/event-stream"));
    if is_stream {
        let head = head(&response);
        let stream = UsageStream::new(response.bytes_stream(), permit.into_owned());
        return Ok(rebuild(head, reqwest::Body::wrap_stream(stream)));
    }
    // A body that breaks off is the caller's error; the estimate stands.
    let (response, body) = buffered(response).await?;
    if let Some(used) = serde_json::from_slice(&body)
        .ok()
        .and_then(|json| usage_tokens(&json))
    {
        let _ = permit.reconcile(used).await;
    }
    Ok(response)
}
