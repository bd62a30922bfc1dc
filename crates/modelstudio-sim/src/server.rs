//! The HTTP server: Model Studio's three endpoints over one limits table,
//! per account, and `/sim/stats`.

use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use modelstudio_limits::runtime::LimitTable;
use modelstudio_limits::Deployment;
use serde_json::{json, Value};

use crate::api::{self, Style};
use crate::rules::{Reason, Windows};

/// What the simulator serves.
#[derive(Clone, Debug)]
pub struct SimConfig {
    /// The limits of every model, per account.
    pub table: LimitTable,
    /// API keys and the account each belongs to.
    pub keys: HashMap<String, String>,
    /// The length of a "minute"; every other window scales with it.
    pub window: Duration,
    /// The deployment mode whose limits the simulator serves.
    pub deployment: Deployment,
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
    windows: Mutex<HashMap<(String, String), Windows>>,
    stats: Mutex<Stats>,
    requests: AtomicU64,
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

/// The simulator's routes.
pub fn router(config: SimConfig) -> Router {
    let sim = Arc::new(Sim {
        config,
        started: Instant::now(),
        windows: Mutex::default(),
        stats: Mutex::default(),
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
        .route("/sim/stats", get(stats))
        .route("/sim/timeline", get(timeline))
        .with_state(sim)
}

fn answer(sim: &Sim, style: Style, headers: &HeaderMap, body: &[u8]) -> Response {
    let request_id = format!("sim-{}", sim.requests.fetch_add(1, Ordering::Relaxed));
    let fail = |status: StatusCode, code: &str, message: &str| {
        (status, Json(api::error(style, code, message, &request_id))).into_response()
    };
    let key = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "));
    let Some(account) = key.and_then(|k| sim.config.keys.get(k)) else {
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
    let entry = sim.config.table.get(&asked.model);
    let Some((entry, limits)) = entry.and_then(|e| Some((e, e.limits_in(sim.config.deployment)?)))
    else {
        let message = format!("The model `{}` does not exist.", asked.model);
        return fail(StatusCode::NOT_FOUND, "model_not_found", &message);
    };
    let window = sim.config.window.as_micros() as u64;
    let now = sim.started.elapsed().as_micros() as u64;
    let tokens = asked.input + asked.output;
    let verdict = lock(&sim.windows)
        .entry((account.clone(), entry.id.clone()))
        .or_insert_with(|| Windows::new(limits, window))
        .admit(now, tokens);
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
    Json(json!({"accepted": stats.accepted, "rejected": rejected, "tokens": stats.tokens}))
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
