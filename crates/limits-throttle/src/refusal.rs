//! Why a request was not admitted, and what went wrong with the store.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

/// Why a request was not admitted.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub enum Refusal {
    /// Not now: the request conforms after this wait, if nothing else is
    /// admitted meanwhile.
    RetryAfter(Duration),
    /// Never: the request's tokens exceed what a whole window admits.
    TooLarge {
        /// The request's tokens.
        tokens: u64,
        /// The most tokens a window admits (the TPM limit after headroom).
        max: u64,
        /// The model's TPM limit.
        tpm: u64,
    },
    /// The model's table does not list it in the throttle's deployment
    /// mode (call it where it is listed, or give it limits with
    /// `Throttle::set_limits`).
    NotListed {
        /// The model's id.
        model: Box<str>,
        /// The throttle's mode.
        deployment: modelstudio_limits::Deployment,
    },
    /// The model's row in the throttle's mode has no limit at all (a
    /// retired model): nothing to pace by, so nothing is admitted.
    NoLimits {
        /// The model's id.
        model: Box<str>,
        /// The throttle's mode.
        deployment: modelstudio_limits::Deployment,
    },
    /// The model takes part in no pooled budget in the throttle's mode
    /// (`Throttle::acquire_pooled` was asked for one).
    NotPooled {
        /// The model's id.
        model: Box<str>,
        /// The throttle's mode.
        deployment: modelstudio_limits::Deployment,
    },
    /// Every slot of the model's tasks in flight is held (a submission
    /// that could not wait for one to be freed).
    TasksInFlight {
        /// The model's limit of tasks in flight.
        limit: u32,
    },
    /// The shared store could not be asked, and the throttle fails closed.
    Unavailable(StoreError),
}

impl fmt::Display for Refusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Refusal::RetryAfter(d) => write!(f, "rate limited: retry after {d:?}"),
            Refusal::TooLarge { tokens, max, tpm } if *max >= *tpm => write!(
                f,
                "a request of {tokens} tokens exceeds the model's whole limit of {tpm} tokens \
                 per minute; split it"
            ),
            Refusal::TooLarge { tokens, max, tpm } => write!(
                f,
                "a request of {tokens} tokens exceeds the {max} tokens per minute this throttle \
                 uses of the {tpm} TPM limit (its headroom); split it or raise the headroom"
            ),
            Refusal::Unavailable(_) => f.write_str("the throttle's store is unavailable"),
            Refusal::NotListed { model, deployment } => write!(
                f,
                "`{model}` has no limits in deployment mode `{deployment}`: its table does not list it there"
            ),
            Refusal::NoLimits { model, deployment } => write!(
                f,
                "`{model}` has no limits in deployment mode `{deployment}` (retired?): nothing to pace it by"
            ),
            Refusal::TasksInFlight { limit } => write!(
                f,
                "all {limit} of the model's tasks in flight are running: submit when one ends"
            ),
            Refusal::NotPooled { model, deployment } => write!(
                f,
                "`{model}` takes part in no pooled budget in deployment mode `{deployment}`"
            ),
        }
    }
}

impl std::error::Error for Refusal {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Refusal::Unavailable(e) => Some(e),
            _ => None,
        }
    }
}

/// What kind of failure a [`StoreError`] is.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum StoreErrorKind {
    /// The store did not answer within the throttle's timeout.
    Timeout,
    /// The store refused the credentials: a missing or wrong password, an
    /// unknown user, or a user not allowed to run the throttle's commands.
    Auth,
    /// The store could not be reached, or the connection broke.
    Connection,
    /// The store answered with an error.
    Server,
    /// The TLS handshake failed: the server's certificate is not trusted
    /// (or not for its name), or the server wants a client certificate.
    Tls,
}

/// A failure of the throttle's shared store (Redis), with the store
/// client's error as its [`source`](std::error::Error::source).
#[derive(Clone, Debug)]
pub struct StoreError {
    kind: StoreErrorKind,
    message: String,
    source: Option<Arc<dyn std::error::Error + Send + Sync>>,
}

impl StoreError {
    /// A store error of `kind`, saying `message`, caused by `source`.
    #[cfg_attr(not(feature = "redis"), allow(dead_code))]
    pub(crate) fn new(
        kind: StoreErrorKind,
        message: impl Into<String>,
        source: Option<Arc<dyn std::error::Error + Send + Sync>>,
    ) -> Self {
        StoreError {
            kind,
            message: message.into(),
            source,
        }
    }

    /// What kind of failure this is.
    pub fn kind(&self) -> StoreErrorKind {
        self.kind
    }
}

impl fmt::Display for StoreError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for StoreError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.source
            .as_deref()
            .map(|e| e as &(dyn std::error::Error + 'static))
    }
}
