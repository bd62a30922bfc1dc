//! The tasks scenario: each client task submits an asynchronous task
//! (`X-DashScope-Async: enable`), polls it until it ends, and submits the
//! next, until the run's end (its last task is polled to the end after
//! it). Without a throttle a 429 is retried after the same backoff as in
//! the calls scenario; `governor` paces a process's share of the
//! submissions per second (it has no notion of tasks in flight); `local`
//! gives each process a share of the tasks in flight (at least one);
//! `redis` shares the slots fleet-wide.
//!
//! Utilization is the simulator's own count: the time the strategy's
//! account had tasks in flight during the run, over the run's length times
//! the limit of tasks in flight.

use std::collections::BTreeMap;
use std::num::NonZeroU32;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use governor::{Quota, RateLimiter};
use limits_throttle::Limits;
use reqwest_middleware::ClientWithMiddleware;
use serde_json::{json, Value};

use crate::{send_json, stats, Args, Backoff, Called, Error, Outcome, Strategy};

const SUBMIT: &str = "/api/v1/services/aigc/video-generation/video-synthesis";

/// How often a client polls its task, and a Redis store polls for a free
/// slot: a tenth of a "second".
pub(crate) fn poll(window: Duration) -> Duration {
    window / 600
}

/// Seconds the tasks of `account` spent in flight between the clients'
/// start (`epoch_ms`) and `seconds` later, by the simulator's count.
pub(crate) async fn busy_over(
    base: &str,
    account: &str,
    epoch_ms: u64,
    seconds: f64,
) -> Result<f64, Error> {
    let busy = |stats: &Value| {
        stats["tasks"]["in_flight_seconds_by_account"][account]
            .as_f64()
            .unwrap_or(0.0)
    };
    let epoch = UNIX_EPOCH + Duration::from_millis(epoch_ms);
    tokio::time::sleep(epoch.duration_since(SystemTime::now()).unwrap_or_default()).await;
    let first = busy(&stats(base).await?);
    let end = epoch + Duration::try_from_secs_f64(seconds)?;
    tokio::time::sleep(end.duration_since(SystemTime::now()).unwrap_or_default()).await;
    Ok(busy(&stats(base).await?) - first)
}

/// What one client process saw: waits from wanting to submit to the
/// submission's acceptance, and per second of the run the milliseconds
/// its tasks were in flight (from acceptance to the poll that saw the end).
#[derive(Default)]
struct Seen {
    waits_us: Vec<u64>,
    in_flight_ms: BTreeMap<u64, u64>,
    errors: u64,
}

impl Seen {
    /// Adds a task in flight from `from` to `to` (since the start).
    fn flew(&mut self, from: Duration, to: Duration) {
        let (from, to) = (from.as_millis() as u64, to.as_millis() as u64);
        let mut at = from;
        while at < to {
            let second_ends = (at / 1_000 + 1) * 1_000;
            let until = second_ends.min(to);
            *self.in_flight_ms.entry(at / 1_000).or_default() += until - at;
            at = until;
        }
    }
}

type Limiter = governor::DefaultDirectRateLimiter;

/// One client process of the tasks scenario.
pub(crate) async fn client(
    args: &Args,
    index: u32,
    strategy: Strategy,
    model: &Called,
    http: ClientWithMiddleware,
    window: Duration,
) -> Result<(), Error> {
    let second = window / 60;
    // Governor: a process's share of the submissions per "second".
    let governor = (strategy == Strategy::Governor).then(|| {
        let per_second = model.limits.submit_rps().unwrap_or(1);
        let share = (per_second / args.processes).max(1);
        Arc::new(RateLimiter::direct(
            Quota::with_period(second / share)
                .expect("a positive period")
                .allow_burst(NonZeroU32::new(share).expect("at least one")),
        ))
    });
    let epoch = UNIX_EPOCH + Duration::from_millis(args.epoch_ms);
    tokio::time::sleep(epoch.duration_since(SystemTime::now()).unwrap_or_default()).await;
    let started = Instant::now();
    let deadline = started + Duration::try_from_secs_f64(args.seconds)?;
    // A task's longest life: its run, and then some.
    let task_time = second.mul_f64(args.task_seconds);
    let give_up = deadline + task_time * 3 + window / 6;
    let key = format!("k-{}", strategy.name());
    let seen = Arc::new(Mutex::new(Seen::default()));
    let mut all = Vec::new();
    for _ in 0..args.tasks {
        let (http, key, seen, governor) =
            (http.clone(), key.clone(), seen.clone(), governor.clone());
        let (base, model_id) = (args.url.clone(), model.resolved.id.clone());
        let mut rng = fastrand::Rng::with_seed(args.seed ^ (u64::from(index) << 32));
        all.push(tokio::spawn(async move {
            while Instant::now() < deadline {
                let wanted = Instant::now();
                let submitted = tokio::time::timeout_at(
                    deadline.into(),
                    submit(
                        &http,
                        &base,
                        &key,
                        &model_id,
                        governor.as_deref(),
                        window,
                        &mut rng,
                    ),
                )
                .await;
                let id = match submitted {
                    Ok(Some(id)) => id,
                    Ok(None) => {
                        seen.lock().unwrap().errors += 1;
                        continue;
                    }
                    Err(_) => break,
                };
                let accepted = Instant::now();
                seen.lock()
                    .unwrap()
                    .waits_us
                    .push((accepted - wanted).as_micros() as u64);
                let ended = tokio::time::timeout_at(
                    give_up.into(),
                    poll_to_end(&http, &base, &key, &id, window),
                )
                .await;
                let mut seen = seen.lock().unwrap();
                seen.flew(accepted - started, started.elapsed());
                if !matches!(ended, Ok(true)) {
                    seen.errors += 1;
                }
            }
        }));
    }
    for one in all {
        one.await?;
    }
    let seen = std::mem::take(&mut *seen.lock().unwrap());
    let timeline: Vec<Value> = seen
        .in_flight_ms
        .iter()
        .map(|(s, ms)| json!([s, ms, 0]))
        .collect();
    println!(
        "{}",
        json!({"waits_us": seen.waits_us, "timeline": timeline, "errors": seen.errors})
    );
    Ok(())
}

/// Submits one task until it is accepted: its id, or `None` on an error
/// that is no rate limit. A 429 is retried after an exponential backoff
/// with jitter (0.5 s doubling to 8 s, in a 60 s window).
async fn submit(
    http: &ClientWithMiddleware,
    base: &str,
    key: &str,
    model: &str,
    governor: Option<&Limiter>,
    window: Duration,
    rng: &mut fastrand::Rng,
) -> Option<String> {
    let mut backoff = Backoff::new(window);
    loop {
        if let Some(limiter) = governor {
            limiter.until_ready().await;
        }
        let body = json!({"model": model, "input": {"prompt": "a cat running under the moon"}});
        let request = http
            .post(format!("{base}{SUBMIT}"))
            .bearer_auth(key)
            .header("X-DashScope-Async", "enable");
        match send_json(request, &body).await? {
            (200, json) => return Some(json["output"]["task_id"].as_str()?.to_string()),
            (429, _) => backoff.wait(rng).await,
            _ => return None,
        }
    }
}

/// Polls task `id` every tenth of a "second" until a final status
/// (`true`), or an error that is no rate limit (`false`); a refused query
/// waits a "second".
async fn poll_to_end(
    http: &ClientWithMiddleware,
    base: &str,
    key: &str,
    id: &str,
    window: Duration,
) -> bool {
    loop {
        tokio::time::sleep(poll(window)).await;
        let Ok(response) = http
            .get(format!("{base}/api/v1/tasks/{id}"))
            .bearer_auth(key)
            .send()
            .await
        else {
            return false;
        };
        let status = response.status().as_u16();
        let Ok(text) = response.text().await else {
            return false;
        };
        match status {
            200 => {
                let json: Value = serde_json::from_str(&text).unwrap_or(Value::Null);
                match json["output"]["task_status"].as_str() {
                    Some("PENDING" | "RUNNING") => {}
                    Some("SUCCEEDED") => return true,
                    _ => return false,
                }
            }
            429 => tokio::time::sleep(window / 60).await,
            _ => return false,
        }
    }
}

/// One panel: tasks in flight per second (the milliseconds in flight the
/// clients saw, over 1,000), one line per strategy, and the limit.
pub(crate) fn plot(
    path: &Path,
    args: &Args,
    limits: &Limits,
    outcomes: &[Outcome],
) -> Result<(), Error> {
    use plotters::prelude::*;
    let root = SVGBackend::new(path, (960, 400)).into_drawing_area();
    root.fill(&WHITE)?;
    let caption = format!(
        "tasks in flight, {} ({}), {} x {} tasks",
        args.model(),
        args.deployment(),
        args.processes,
        args.tasks
    );
    let limit = f64::from(limits.concurrency().unwrap_or(1));
    crate::panel(&root, &caption, args.seconds, limit, outcomes, |(ms, _)| {
        *ms as f64 / 1_000.0
    })?;
    root.present()?;
    Ok(())
}
