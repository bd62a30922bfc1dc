//! The middleware's settings, and the error of a request it refuses for
//! an unknown model.

use std::time::Duration;

use limits_throttle::Deployment;
use modelstudio_limits::Scope;

/// What to do with a request whose model no table knows.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum UnknownModels {
    /// Send it unthrottled.
    Pass,
    /// Fail it with [`UnknownModel`] before sending.
    Refuse,
}

/// Settings of a [`ThrottleMiddleware`](crate::ThrottleMiddleware).
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
    /// says (see [`ThrottleMiddleware`](crate::ThrottleMiddleware)). Default `None`.
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

impl Options {
    /// A random pause of up to [`Options::retry_jitter`] before a retry.
    pub(crate) async fn pause_before_retry(&self) {
        let jitter = self.retry_jitter.mul_f64(fastrand::f64());
        tokio::time::sleep(jitter).await;
    }
}
