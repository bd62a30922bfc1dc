//! The HTTP server: Model Studio's synchronous endpoints, the task APIs
//! (submissions to `/api/v1/services/aigc/...`, voice enrollment, queries
//! of `/api/v1/tasks/{id}`) over one limits table, per account, and
//! `/sim/stats`.

use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use modelstudio_limits::runtime::LimitTable;
use modelstudio_limits::{Deployment, HasLimits, Limits, Region};
use serde_json::{json, Value};

use crate::api::{self, Style};
use crate::rules::{Reason, Windows};
use crate::tasks::{self, Tasks};

/// What the simulator serves.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct SimConfig {
    /// The limits of every model, per account.
    pub table: LimitTable,
    /// API keys and the account each belongs to.
    pub keys: HashMap<String, String>,
    /// The length of a "minute"; every other window scales with it.
    pub window: Duration,
    /// The deployment whose limits the simulator serves to a request whose
    /// `Host` names no region of the provider (loopback). A request sent
    /// under a provider's host (`dashscope-intl.aliyuncs.com`, a
    /// workspace's `{ws}.eu-central-1.maas.aliyuncs.com`, ...) is served
    /// its region's table: the scope the region implies for the model, else
    /// this one's scope where its region is the host's, else this one.
    pub deployment: Deployment,
    /// How long a task runs, in "seconds" (a sixtieth of `window` each).
    pub task_seconds: f64,
    /// Limits of an account for a model (its canonical id) that replace
    /// the table's: an account whose real limit is lower than the table's.
    pub account_limits: HashMap<(String, String), Limits>,
}

impl SimConfig {
    /// Serves `table` in `deployment` to `keys` (API key -> account), with
    /// a "minute" of `window` and tasks of 10 "seconds".
    pub fn new(table: LimitTable, keys: HashMap<String, String>, window: Duration) -> Self {
        SimConfig {
            table,
            keys,
            window,
            deployment: Deployment::INTERNATIONAL,
            task_seconds: 10.0,
            account_limits: HashMap::new(),
        }
    }

    /// How long a task runs, in us.
    fn task_us(&self) -> u64 {
        (self.window.as_secs_f64() / 60.0 * self.task_seconds * 1e6) as u64
    }
}

#[derive(Debug, Default)]
struct Stats {
    accepted: u64,
    rejected: HashMap<Reason, u64>,
    tokens: u64,
    /// Per "second" since the start: accepted requests and tokens.
    timeline: BTreeMap<u64, (u64, u64)>,
}

#[derive(Debug)]
struct Sim {
    config: SimConfig,
    started: Instant,
    /// Per account (or API key, for a budget shared per key), deployment
    /// and model (or pool): its windows.
    windows: Mutex<HashMap<(String, Deployment, String), Windows>>,
    stats: Mutex<Stats>,
    tasks: Mutex<Tasks>,
    requests: AtomicU64,
}

impl Sim {
    /// Microseconds since the start.
    fn now(&self) -> u64 {
        self.started.elapsed().as_micros() as u64
    }

    fn request_id(&self) -> String {
        format!("sim-{}", self.requests.fetch_add(1, Ordering::Relaxed))
    }

    /// The account of the request's API key.
    fn account(&self, headers: &HeaderMap) -> Option<&String> {
        self.config.keys.get(api_key(headers)?)
    }

    /// The deployment a request to `model` is served in: its `Host`'s
    /// region, with the scope that region implies (see
    /// [`SimConfig::deployment`]).
    fn deployment_of(&self, headers: &HeaderMap, model: &str) -> Deployment {
        let served = self.config.deployment;
        let host = headers.get(header::HOST).and_then(|v| v.to_str().ok());
        // A port is not part of the name.
        let name = host.map(|h| h.rsplit_once(':').map_or(h, |(name, _)| name));
        let Some(region) = name.and_then(Region::of_host) else {
            return served;
        };
        let scope = region
            .scope_of(model)
            .or((served.region == region).then_some(served.scope));
        scope.map_or(served, |scope| Deployment::new(region, scope))
    }

    /// The limits of `entry` for `account` in `deployment`.
    fn limits(
        &self,
        account: &str,
        entry: &modelstudio_limits::runtime::Entry,
        deployment: Deployment,
    ) -> Option<Limits> {
        let own = self
            .config
            .account_limits
            .get(&(account.to_string(), entry.id.clone()));
        own.copied().or_else(|| entry.limits_in(deployment))
    }

    fn refused(&self, reason: Reason) {
        *lock(&self.stats).rejected.entry(reason).or_default() += 1;
    }

    /// Counts a refusal of a task API and answers it with its 429.
    fn too_many(&self, reason: Reason, request_id: &str) -> Response {
        self.refused(reason);
        let body = api::refusal(Style::Native, reason, request_id);
        (StatusCode::TOO_MANY_REQUESTS, Json(body)).into_response()
    }

    /// The account and the JSON body of a task API's call (a body that is
    /// no JSON reads as null), or the 401 of an unknown key.
    fn task_call(
        &self,
        headers: &HeaderMap,
        body: &[u8],
        request_id: &str,
    ) -> Result<(&String, Value), Box<Response>> {
        let Some(account) = self.account(headers) else {
            return Err(Box::new(native_error(
                StatusCode::UNAUTHORIZED,
                "InvalidApiKey",
                "Invalid API-key provided.",
                request_id,
            )));
        };
        Ok((account, serde_json::from_slice(body).unwrap_or(Value::Null)))
    }
}

/// The API key of a request, `Authorization: Bearer KEY` (what an account
/// and a budget shared per key are found by).
fn api_key(headers: &HeaderMap) -> Option<&str> {
    headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

/// The simulator's routes.
pub fn router(config: SimConfig) -> Router {
    let tasks = Tasks::new(config.window.as_micros() as u64, config.task_us());
    let sim = Arc::new(Sim {
        config,
        started: Instant::now(),
        windows: Mutex::default(),
        stats: Mutex::default(),
        tasks: Mutex::new(tasks),
        requests: AtomicU64::new(0),
    });
    let endpoint = |style: Style| {
        post(
            move |State(sim): State<Arc<Sim>>, headers: HeaderMap, body: Bytes| async move {
                answer(&sim, style, &headers, &body)
            },
        )
    };
    Router::new()
        .route(
            "/compatible-mode/v1/chat/completions",
            endpoint(Style::Chat),
        )
        .route(
            "/compatible-mode/v1/embeddings",
            endpoint(Style::Embeddings),
        )
        .route(
            "/api/v1/services/aigc/text-generation/generation",
            endpoint(Style::Native),
        )
        .route("/api/v1/services/aigc/{*task}", post(submit))
        .route("/api/v1/services/audio/tts/customization", post(enroll))
        .route("/api/v1/tasks/{task_id}", get(query))
        .route("/sim/stats", get(stats))
        .route("/sim/timeline", get(timeline))
        .with_state(sim)
}

fn answer(sim: &Sim, style: Style, headers: &HeaderMap, body: &[u8]) -> Response {
    let request_id = sim.request_id();
    let fail = |status: StatusCode, code: &str, message: &str| {
        (status, Json(api::error(style, code, message, &request_id))).into_response()
    };
    let Some(account) = sim.account(headers) else {
        return fail(
            StatusCode::UNAUTHORIZED,
            "InvalidApiKey",
            "Invalid API-key provided.",
        );
    };
    let asked = serde_json::from_slice::<Value>(body)
        .map_err(|e| e.to_string())
        .and_then(|body| api::parse(style, &body));
    let asked = match asked {
        Ok(asked) => asked,
        Err(why) => return fail(StatusCode::BAD_REQUEST, "InvalidParameter", &why),
    };
    let deployment = sim.deployment_of(headers, &asked.model);
    let entry = sim.config.table.get(&asked.model);
    let Some((entry, limits)) = entry.and_then(|e| Some((e, sim.limits(account, e, deployment)?)))
    else {
        let message = format!("The model `{}` does not exist.", asked.model);
        return fail(StatusCode::NOT_FOUND, "model_not_found", &message);
    };
    let window = sim.config.window.as_micros() as u64;
    let now = sim.now();
    let tokens = asked.input + asked.output;
    // The model's own windows, and its pool's (Kimi's five models share
    // one): a model whose only row is the pool's has the pool's alone.
    let mut keys = Vec::with_capacity(2);
    let pool = entry.budget_in(deployment);
    if pool.is_none_or(|(_, pooled)| pooled != limits) {
        keys.push(((account.clone(), deployment, entry.id.clone()), limits));
    }
    if let Some((name, pooled)) = pool {
        let holder = if entry.pooled_per_api_key_in(deployment) {
            format!("@key:{}", api_key(headers).unwrap_or_default())
        } else {
            account.clone()
        };
        keys.push(((holder, deployment, format!("@pool:{name}")), pooled));
    }
    let verdict = {
        let mut windows = lock(&sim.windows);
        let mut checked = Ok(());
        for (key, limits) in &keys {
            let w = windows
                .entry(key.clone())
                .or_insert_with(|| Windows::new(*limits, window));
            checked = checked.and_then(|()| w.check(now, tokens));
        }
        if checked.is_ok() {
            for (key, _) in &keys {
                windows.get_mut(key).expect("made above").count(now, tokens);
            }
        }
        checked
    };
    let mut stats = lock(&sim.stats);
    if let Err(reason) = verdict {
        *stats.rejected.entry(reason).or_default() += 1;
        let body = api::refusal(style, reason, &request_id);
        return (StatusCode::TOO_MANY_REQUESTS, Json(body)).into_response();
    }
    stats.accepted += 1;
    stats.tokens += tokens;
    let second = now / window.div_ceil(60).max(1);
    let slot = stats.timeline.entry(second).or_default();
    slot.0 += 1;
    slot.1 += tokens;
    drop(stats);
    if asked.stream {
        let events = api::stream(&asked, &request_id);
        return ([(header::CONTENT_TYPE, "text/event-stream")], events).into_response();
    }
    Json(api::success(style, &asked, &request_id)).into_response()
}

async fn stats(State(sim): State<Arc<Sim>>) -> Json<Value> {
    let stats = lock(&sim.stats);
    let rejected: serde_json::Map<String, Value> = Reason::ALL
        .iter()
        .map(|r| {
            let n = stats.rejected.get(r).copied().unwrap_or(0);
            (r.name().to_string(), json!(n))
        })
        .collect();
    let tasks = lock(&sim.tasks);
    let now = sim.now();
    Json(json!({
        "accepted": stats.accepted,
        "rejected": rejected,
        "tokens": stats.tokens,
        "tasks": {
            "submitted": tasks.submitted(),
            "in_flight_seconds": tasks.busy_us(now) as f64 / 1e6,
            "in_flight_seconds_by_account": tasks
                .accounts()
                .into_iter()
                .map(|a| (a.to_string(), json!(tasks.busy_us_of(a, now) as f64 / 1e6)))
                .collect::<serde_json::Map<String, Value>>(),
        },
    }))
}

/// A native error body.
fn native_error(status: StatusCode, code: &str, message: &str, request_id: &str) -> Response {
    let body = api::error(Style::Native, code, message, request_id);
    (status, Json(body)).into_response()
}

/// `POST /api/v1/services/aigc/...`: with `X-DashScope-Async: enable`, a
/// task submission; without it, a synchronous call, answered at once for
/// a row that leaves synchronous calls unlimited and refused as the
/// provider refuses synchronous calls to an asynchronous-only API.
async fn submit(State(sim): State<Arc<Sim>>, headers: HeaderMap, body: Bytes) -> Response {
    let request_id = sim.request_id();
    let fail = |status, code: &str, message: &str| native_error(status, code, message, &request_id);
    let (account, body) = match sim.task_call(&headers, &body, &request_id) {
        Ok(call) => call,
        Err(answer) => return *answer,
    };
    let Some(model) = body.get("model").and_then(Value::as_str) else {
        return fail(
            StatusCode::BAD_REQUEST,
            "InvalidParameter",
            "the body has no string `model`",
        );
    };
    let deployment = sim.deployment_of(&headers, model);
    let entry = sim.config.table.get(model);
    let Some((entry, limits)) = entry.and_then(|e| Some((e, sim.limits(account, e, deployment)?)))
    else {
        let message = format!("The model `{model}` does not exist.");
        return fail(StatusCode::NOT_FOUND, "model_not_found", &message);
    };
    let asynchronous = headers
        .get("x-dashscope-async")
        .is_some_and(|v| v.as_bytes().eq_ignore_ascii_case(b"enable"));
    if !asynchronous {
        if limits.sync_unlimited() {
            let output = json!({"output": {"results": [{"url": "https://sim.invalid/result.png"}]},
                "request_id": request_id});
            return Json(output).into_response();
        }
        return fail(
            StatusCode::FORBIDDEN,
            "AccessDenied",
            "current user api does not support synchronous calls",
        );
    }
    accept_task(&sim, account, &entry.id, &entry.id, limits, &request_id)
}

/// Counts a submission on `key` (a model's or a pool's) and answers it.
fn accept_task(
    sim: &Sim,
    account: &str,
    model: &str,
    key: &str,
    limits: Limits,
    request_id: &str,
) -> Response {
    let now = sim.now();
    let verdict = lock(&sim.tasks).submit(account, model, key, limits, now);
    match verdict {
        Ok(task_id) => Json(tasks::submitted(&task_id, request_id)).into_response(),
        Err(reason) => sim.too_many(reason, request_id),
    }
}

/// `POST /api/v1/services/audio/tts/customization`: voice enrollment,
/// limited by the pooled budget its `input.target_model` takes part in
/// (CosyVoice: one budget for every version).
async fn enroll(State(sim): State<Arc<Sim>>, headers: HeaderMap, body: Bytes) -> Response {
    let request_id = sim.request_id();
    let fail = |status, code: &str, message: &str| native_error(status, code, message, &request_id);
    let (account, body) = match sim.task_call(&headers, &body, &request_id) {
        Ok(call) => call,
        Err(answer) => return *answer,
    };
    let target = body.pointer("/input/target_model").and_then(Value::as_str);
    let entry = target.and_then(|t| sim.config.table.get(t));
    let deployment = sim.deployment_of(&headers, target.unwrap_or_default());
    let Some((name, limits)) = entry.and_then(|e| e.budget_in(deployment)) else {
        return fail(
            StatusCode::BAD_REQUEST,
            "InvalidParameter",
            "`input.target_model` names no model with a voice-enrollment budget",
        );
    };
    let (name, model) = (
        format!("@pool:{name}"),
        entry.map(|e| e.id.clone()).unwrap_or_default(),
    );
    accept_task(&sim, account, &model, &name, limits, &request_id)
}

/// `GET /api/v1/tasks/{task_id}`: the task's status, within the query
/// limits.
async fn query(
    State(sim): State<Arc<Sim>>,
    Path(task_id): Path<String>,
    headers: HeaderMap,
) -> Response {
    let request_id = sim.request_id();
    let (account, _) = match sim.task_call(&headers, &[], &request_id) {
        Ok(call) => call,
        Err(answer) => return *answer,
    };
    let own = |model: &str| {
        let entry = sim.config.table.get(model)?;
        let deployment = sim.deployment_of(&headers, model);
        sim.limits(account, entry, deployment)?.query_rps()
    };
    let now = sim.now();
    let verdict = lock(&sim.tasks).query(account, &task_id, own, now);
    match verdict {
        Ok(status) => Json(tasks::queried(&task_id, status, &request_id)).into_response(),
        Err(reason) => sim.too_many(reason, &request_id),
    }
}

/// Per "second" since the start, what was accepted:
/// `{"second_ms": F, "seconds": [[index, requests, tokens], ...]}`.
async fn timeline(State(sim): State<Arc<Sim>>) -> Json<Value> {
    let stats = lock(&sim.stats);
    let seconds: Vec<Value> = stats
        .timeline
        .iter()
        .map(|(s, (r, t))| json!([s, r, t]))
        .collect();
    let second_ms = sim.config.window.as_secs_f64() * 1_000.0 / 60.0;
    Json(json!({"second_ms": second_ms, "seconds": seconds}))
}
