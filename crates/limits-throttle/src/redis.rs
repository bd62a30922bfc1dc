//! Across a fleet: the same two-dimension GCRA as one Lua script on Redis.
//!
//! Each acquire is one round trip (`EVALSHA`, falling back to `EVAL` once
//! when the server does not have the script). Time is the server's `TIME`
//! in microseconds, so clients' clocks do not matter. Both keys of a model
//! share one hash tag (one cluster slot) and expire once idle. When Redis
//! cannot be reached in time, [`FailurePolicy`] decides: admit (fail open)
//! or refuse with [`Refusal::Unavailable`] (fail closed); never a panic or
//! a hang, as every call has a timeout.

use std::sync::{Mutex, PoisonError};
use std::time::Duration;

use modelstudio_limits::{Limits, Model};

use crate::config::{Config, ConfigError, Dimension, Rates};
use crate::gcra::Refusal;

const SCRIPT: &str = include_str!("gcra.lua");

/// What to do when Redis cannot be asked.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum FailurePolicy {
    /// Admit the request (the permit says it was not checked).
    FailOpen,
    /// Refuse the request with [`Refusal::Unavailable`].
    FailClosed,
}

/// Settings of a [`RedisThrottle`].
#[derive(Clone, Debug)]
pub struct RedisConfig {
    /// Headroom and burst, as in one process.
    pub limits: Config,
    /// Prefix of every key, e.g. `"limits"` gives `{limits:acct:qwen-max}:req`.
    pub prefix: String,
    /// Time allowed to connect, and for each command.
    pub timeout: Duration,
    /// What to do when Redis cannot be asked in time.
    pub on_failure: FailurePolicy,
}

impl Default for RedisConfig {
    fn default() -> Self {
        RedisConfig {
            limits: Config::default(),
            prefix: "limits".to_string(),
            timeout: Duration::from_millis(100),
            on_failure: FailurePolicy::FailClosed,
        }
    }
}

/// A throttle whose state lives in Redis, shared by every process that uses
/// the same server and prefix.
pub struct RedisThrottle {
    client: redis::Client,
    connection: Mutex<Option<redis::Connection>>,
    script: redis::Script,
    config: RedisConfig,
}

/// A request admitted through Redis.
#[must_use = "a permit is what a request was admitted with; reconcile it with the actual usage"]
#[derive(Debug)]
pub struct RedisPermit {
    key: String,
    per_token_us: f64,
    tokens: u64,
    unchecked: Option<String>,
}

impl RedisPermit {
    /// The tokens the request was admitted with.
    pub fn tokens(&self) -> u64 {
        self.tokens
    }

    /// Why the request was admitted without asking Redis (fail open), if so.
    pub fn unchecked(&self) -> Option<&str> {
        self.unchecked.as_deref()
    }
}

/// One dimension's parameters in microseconds, as the script takes them.
fn micros(dim: &Dimension) -> (f64, f64) {
    let per_unit = dim.ns_per_unit as f64 / 1_000.0;
    (per_unit, per_unit * dim.burst as f64)
}

impl RedisThrottle {
    /// A throttle on the Redis server at `url` (e.g. `redis://127.0.0.1:6379/`).
    /// Connects lazily; a bad URL is an error now.
    pub fn new(url: &str, config: RedisConfig) -> Result<Self, RedisSetupError> {
        config.limits.validate().map_err(RedisSetupError::Config)?;
        let client = redis::Client::open(url).map_err(|e| RedisSetupError::Url(e.to_string()))?;
        Ok(RedisThrottle {
            client,
            connection: Mutex::new(None),
            script: redis::Script::new(SCRIPT),
            config,
        })
    }

    /// The key prefix shared by both keys of `model` for `account`: a hash
    /// tag, so both keys live in one cluster slot.
    pub fn key(&self, account: &str, model: Model) -> String {
        format!("{{{}:{}:{}}}", self.config.prefix, account, model.id())
    }

    /// Admits a request of `tokens` to `model` for `account` if both of the
    /// model's limits allow it, account-wide.
    pub fn try_acquire(
        &self,
        account: &str,
        model: Model,
        tokens: u64,
    ) -> Result<RedisPermit, Refusal> {
        self.try_acquire_with(account, model, model.limits(), tokens, None)
    }

    /// As [`RedisThrottle::try_acquire`], with explicit limits (an account
    /// with raised limits) and, for tests, an explicit server time in
    /// microseconds instead of Redis's `TIME`.
    pub fn try_acquire_with(
        &self,
        account: &str,
        model: Model,
        limits: Limits,
        tokens: u64,
        now_us: Option<u64>,
    ) -> Result<RedisPermit, Refusal> {
        let rates = Rates::new(limits, &self.config.limits)
            .map_err(|e| Refusal::Unavailable(e.to_string()))?;
        if tokens > rates.tokens.burst {
            return Err(Refusal::TooLarge {
                tokens,
                max: rates.tokens.burst,
                tpm: rates.tokens.limit,
            });
        }
        let key = self.key(account, model);
        let (per_request, request_tolerance) = micros(&rates.requests);
        let (per_token, token_tolerance) = micros(&rates.tokens);
        let mut call = self.script.prepare_invoke();
        call.key(format!("{key}:req"))
            .key(format!("{key}:tok"))
            .arg("acquire")
            .arg(per_request)
            .arg(request_tolerance)
            .arg(per_token)
            .arg(token_tolerance)
            .arg(tokens)
            .arg(now_us.map(|n| n.to_string()).unwrap_or_default());
        let permit = |unchecked| RedisPermit {
            key: key.clone(),
            per_token_us: per_token,
            tokens,
            unchecked,
        };
        match self.run(&call) {
            Ok((1, _)) => Ok(permit(None)),
            Ok((_, wait_us)) => {
                let wait_us: f64 = wait_us.parse().unwrap_or(0.0);
                Err(Refusal::RetryAfter(Duration::from_nanos(
                    (wait_us * 1_000.0).ceil() as u64,
                )))
            }
            Err(e) => match self.config.on_failure {
                FailurePolicy::FailOpen => Ok(permit(Some(e))),
                FailurePolicy::FailClosed => Err(Refusal::Unavailable(e)),
            },
        }
    }

    /// Replaces a permit's estimate by the tokens actually used (one round
    /// trip). An unreachable Redis loses the correction and says so.
    pub fn reconcile(&self, permit: RedisPermit, actual_tokens: u64) -> Result<(), Refusal> {
        self.reconcile_at(permit, actual_tokens, None)
    }

    /// As [`RedisThrottle::reconcile`], at an explicit server time (tests).
    pub fn reconcile_at(
        &self,
        permit: RedisPermit,
        actual_tokens: u64,
        now_us: Option<u64>,
    ) -> Result<(), Refusal> {
        if permit.unchecked.is_some() {
            return Ok(());
        }
        let mut call = self.script.prepare_invoke();
        call.key(format!("{}:req", permit.key))
            .key(format!("{}:tok", permit.key))
            .arg("reconcile")
            .arg(permit.per_token_us)
            .arg(permit.tokens)
            .arg(actual_tokens)
            .arg("")
            .arg("")
            .arg(now_us.map(|n| n.to_string()).unwrap_or_default());
        self.run(&call).map(|_| ()).map_err(Refusal::Unavailable)
    }

    /// Runs the script on the cached connection, connecting (with the
    /// timeout) when there is none; a failed connection is dropped.
    fn run(&self, call: &redis::ScriptInvocation<'_>) -> Result<(i64, String), String> {
        let mut slot = self
            .connection
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        if slot.is_none() {
            let timeout = self.config.timeout;
            let connection = self
                .client
                .get_connection_with_timeout(timeout)
                .and_then(|c| {
                    c.set_read_timeout(Some(timeout))?;
                    c.set_write_timeout(Some(timeout))?;
                    Ok(c)
                })
                .map_err(|e| format!("cannot connect to Redis: {e}"))?;
            *slot = Some(connection);
        }
        let Some(connection) = slot.as_mut() else {
            return Err("no Redis connection".to_string());
        };
        let result = call.invoke::<(i64, String)>(connection);
        if result.is_err() {
            *slot = None;
        }
        result.map_err(|e| format!("Redis: {e}"))
    }
}

/// Why a [`RedisThrottle`] could not be made.
#[derive(Clone, Debug, PartialEq)]
pub enum RedisSetupError {
    /// The headroom or burst is out of range.
    Config(ConfigError),
    /// The URL is not a Redis URL.
    Url(String),
}

impl std::fmt::Display for RedisSetupError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            RedisSetupError::Config(e) => e.fmt(f),
            RedisSetupError::Url(e) => write!(f, "bad Redis URL: {e}"),
        }
    }
}

impl std::error::Error for RedisSetupError {}
