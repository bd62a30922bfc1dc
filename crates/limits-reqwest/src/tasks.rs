//! The asynchronous task APIs through the middleware.
//!
//! - A submission, `POST .../api/v1/services/...` with
//!   `X-DashScope-Async: enable`, takes a slot of its model's tasks in
//!   flight and a submission permit ([`Throttle::submit`]); the slot is held
//!   from the answer's `output.task_id` until a query passing through the
//!   middleware reports a final status (`SUCCEEDED`, `FAILED`, `CANCELED`,
//!   `UNKNOWN`), or for [`Options::max_task_time`](crate::Options) at most.
//!   A refused or failed submission frees its slot at once.
//! - A query, `GET .../api/v1/tasks/{task_id}`, takes a query permit: the
//!   account's 20 a second, and the task's model's `query_rps` when the
//!   task was submitted through this middleware.
//! - A voice enrollment, `POST .../api/v1/services/audio/tts/customization`,
//!   takes a permit of the pooled budget its `input.target_model` takes
//!   part in ([`Throttle::acquire_pooled`]).
//! - Batch API calls (`.../batches`, `.../files`) pass untouched: the
//!   provider does not rate-limit them.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use http::Extensions;
use limits_throttle::{Deployment, Task, Throttle, UnknownTaskModel};
use reqwest::{Request, Response};
use reqwest_middleware::{Error, Next, Result};
use serde_json::Value;

use crate::options::Options;
use crate::resolved::Resolved;
use crate::response::{buffered, rate_limited};

/// What a request is, for the middleware.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Call {
    /// A Batch API call: never paced.
    Batch,
    /// A task query, with the task's id.
    Query(String),
    /// An asynchronous task submission.
    Submission,
    /// A voice enrollment (a pooled budget).
    Enrollment,
    /// Anything else (a synchronous call, or not the provider's).
    Other,
}

impl Call {
    pub(crate) fn of(req: &Request) -> Call {
        let path = req.url().path().trim_end_matches('/');
        if path.contains("/compatible-mode/v1/batches")
            || path.contains("/compatible-mode/v1/files")
        {
            return Call::Batch;
        }
        if req.method() == http::Method::GET {
            if let Some((_, id)) = path.rsplit_once("/api/v1/tasks/") {
                if !id.is_empty() && !id.contains('/') {
                    return Call::Query(id.to_string());
                }
            }
            return Call::Other;
        }
        if req.method() != http::Method::POST {
            return Call::Other;
        }
        if path.ends_with("/api/v1/services/audio/tts/customization") {
            return Call::Enrollment;
        }
        let asynchronous = req
            .headers()
            .get("x-dashscope-async")
            .is_some_and(|v| v.as_bytes().eq_ignore_ascii_case(b"enable"));
        if asynchronous && path.contains("/api/v1/services/") {
            return Call::Submission;
        }
        Call::Other
    }
}

/// The model a submission names (`model`), or an enrollment's target
/// (`input.target_model`).
pub(crate) fn model_of(body: &[u8], enrollment: bool) -> Option<String> {
    let json: Value = serde_json::from_slice(body).ok()?;
    let pointer = if enrollment {
        "/input/target_model"
    } else {
        "/model"
    };
    Some(json.pointer(pointer)?.as_str()?.to_string())
}

/// Whether a task status is final.
fn is_final(status: &str) -> bool {
    matches!(status, "SUCCEEDED" | "FAILED" | "CANCELED" | "UNKNOWN")
}

/// A task's id and status in an answer's `output`.
fn task_of(body: &[u8]) -> Option<(String, String)> {
    let json: Value = serde_json::from_slice(body).ok()?;
    let id = json.pointer("/output/task_id")?.as_str()?.to_string();
    let status = json
        .pointer("/output/task_status")
        .and_then(Value::as_str)
        .unwrap_or("PENDING")
        .to_string();
    Some((id, status))
}

/// Tasks submitted through the middleware and not seen ending, by id.
#[derive(Default)]
pub(crate) struct InFlight(Mutex<HashMap<String, Flying>>);

struct Flying {
    /// Holds the slot until dropped.
    _task: Task,
    model: Resolved,
    deployment: Deployment,
    /// Frees the slot after the longest task time.
    expiry: tokio::task::AbortHandle,
}

impl InFlight {
    fn map(&self) -> MutexGuard<'_, HashMap<String, Flying>> {
        self.0.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Frees the slot of task `id`, if it holds one.
    fn end(&self, id: &str) {
        let ended = self.map().remove(id);
        if let Some(flying) = ended {
            flying.expiry.abort();
        }
    }

    /// The model and mode of task `id`.
    fn of(&self, id: &str) -> Option<(Resolved, Deployment)> {
        self.map().get(id).map(|f| (f.model.clone(), f.deployment))
    }

    /// How many tasks hold slots.
    pub(crate) fn len(&self) -> usize {
        self.map().len()
    }
}

impl InFlight {
    /// Sends a submission (or an enrollment) of `model`: a slot and a
    /// submission permit first (an enrollment: a permit of its pool), then
    /// the call; a 429 is reported and retried like a synchronous call's.
    /// A task that runs is tracked here.
    #[allow(clippy::too_many_arguments)]
    pub(crate) async fn submission(
        self: &Arc<Self>,
        options: &Options,
        req: Request,
        extensions: &mut Extensions,
        next: Next<'_>,
        throttle: Throttle,
        model: Resolved,
        call: Call,
    ) -> Result<Response> {
        // A budget shared per API key is keyed by the request's key, as
        // a digest (`Throttle::for_api_key`).
        let keyed = match req.headers().get(http::header::AUTHORIZATION) {
            Some(key) => throttle.for_api_key(&String::from_utf8_lossy(key.as_bytes())),
            None => throttle.clone(),
        };
        let mut req = req;
        let mut attempt = 0;
        loop {
            let again = (attempt < options.retries)
                .then(|| req.try_clone())
                .flatten();
            let task = if call == Call::Enrollment {
                let max_wait = keyed.config().max_wait;
                let permit = keyed.acquire_pooled(&model, 0, max_wait).await;
                drop(permit.map_err(Error::middleware)?);
                None
            } else {
                let max_wait = throttle.config().max_wait;
                Some(
                    throttle
                        .submit(&model, max_wait)
                        .await
                        .map_err(Error::middleware)?,
                )
            };
            let response = next.clone().run(req, extensions).await?;
            let status = response.status();
            if status.is_success() {
                let Some(task) = task else {
                    return Ok(response);
                };
                let (response, body) = buffered(response).await?;
                match task_of(&body) {
                    Some((id, status)) if !is_final(&status) => {
                        self.track(id, task, model, throttle.deployment(), options);
                    }
                    _ => drop(task),
                }
                return Ok(response);
            }
            // No task runs: its slot is free again.
            drop(task);
            let (response, tripped) = rate_limited(response).await?;
            let Some(tripped) = tripped else {
                return Ok(response);
            };
            tracing::warn!(
                model = model.id.as_str(),
                deployment = throttle.deployment().to_string(),
                ?tripped,
                attempt,
                retry = again.is_some(),
                "limits-reqwest: the provider refused a task submission (429); reported to the \
                 throttle"
            );
            if call == Call::Submission {
                let _ = throttle.report_submission(&model, tripped).await;
            }
            match again {
                Some(next_try) => {
                    attempt += 1;
                    options.pause_before_retry().await;
                    req = next_try;
                }
                None => return Ok(response),
            }
        }
    }

    /// Holds `task`'s slot until a query sees task `id` end, or for the
    /// longest task time.
    fn track(
        self: &Arc<Self>,
        id: String,
        task: Task,
        model: Resolved,
        deployment: Deployment,
        options: &Options,
    ) {
        let in_flight = Arc::downgrade(self);
        let longest = options.max_task_time;
        let key = id.clone();
        let expiry = tokio::spawn(async move {
            tokio::time::sleep(longest).await;
            if let Some(in_flight) = in_flight.upgrade() {
                tracing::warn!(
                    task_id = key.as_str(),
                    "limits-reqwest: no query saw the task end within the longest task time; \
                     its slot is freed"
                );
                in_flight.end(&key);
            }
        })
        .abort_handle();
        let flying = Flying {
            _task: task,
            model,
            deployment,
            expiry,
        };
        // A task id the provider gave twice ends the first's hold.
        if let Some(old) = self.map().insert(id, flying) {
            old.expiry.abort();
        }
    }

    /// Sends a query of task `task_id` through `throttle`: a query permit
    /// first (in the task's mode when it was submitted here, else in
    /// `host`, the request's); a final status frees the task's slot.
    pub(crate) async fn query(
        &self,
        req: Request,
        extensions: &mut Extensions,
        next: Next<'_>,
        throttle: &Throttle,
        host: Deployment,
        task_id: String,
    ) -> Result<Response> {
        let known = self.of(&task_id);
        let deployment = known.as_ref().map_or(host, |(_, deployment)| *deployment);
        let throttle = throttle.for_deployment(deployment);
        let max_wait = throttle.config().max_wait;
        let queried = match &known {
            Some((model, _)) => throttle.query(model, max_wait).await,
            None => throttle.query(&UnknownTaskModel, max_wait).await,
        };
        queried.map_err(Error::middleware)?;
        let response = next.run(req, extensions).await?;
        if !response.status().is_success() || known.is_none() {
            return Ok(response);
        }
        let (response, body) = buffered(response).await?;
        if task_of(&body).is_some_and(|(_, status)| is_final(&status)) {
            tracing::debug!(task_id = task_id.as_str(), "limits-reqwest: task ended");
            self.end(&task_id);
        }
        Ok(response)
    }
}
