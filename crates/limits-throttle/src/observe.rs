//! What the throttle does, made visible: `tracing` events and `metrics`
//! counters and histograms. Both facades cost next to nothing when no
//! subscriber or recorder is installed: a disabled event is one check of a
//! cached interest, and the per-key admission counter is registered once,
//! when the key's state is made (install a recorder before the first
//! admission to count it), so an admission adds one call on a handle.
//!
//! The metrics (labels `account`, `deployment`, `model`):
//! - `limits_throttle_admitted_total` ([`ADMITTED`]): admissions;
//! - `limits_throttle_refused_total` ([`REFUSED`]): refusals, with `reason`
//!   (`retry_after`, `too_large`, `unavailable`, `not_listed`,
//!   `not_pooled`, `no_limits`, `tasks_in_flight`);
//! - `limits_throttle_tasks_in_flight` ([`TASKS`]): task slots this
//!   process holds (a gauge);
//! - `limits_throttle_wait_seconds` ([`WAITED`]): seconds an `acquire`
//!   waited before its admission (a histogram);
//! - `limits_throttle_reported_total` ([`REPORTED`]): the provider's
//!   refusals reported, with `tripped`;
//! - `limits_throttle_store_errors_total` ([`STORE_ERRORS`]): calls the
//!   store could not answer (Redis), with `policy` (`fail_open`,
//!   `fail_closed`).
//!
//! Events: `debug` for a wait and a "not now" refusal, `warn` for a
//! refusal that waiting will not end, a reported 429 and a store error;
//! limits-reqwest adds a `limits_request` span per throttled call, a
//! `warn` for a 429 it reads and, once per model, for a model no table
//! lists in the request's mode.

use std::time::Duration;

use metrics::{counter, histogram, Counter};

use crate::classify::Tripped;
use crate::refusal::{Refusal, StoreError};

/// Counter: admissions.
pub const ADMITTED: &str = "limits_throttle_admitted_total";
/// Counter: refusals, by `reason`.
pub const REFUSED: &str = "limits_throttle_refused_total";
/// Histogram: seconds an `acquire` waited before its admission.
pub const WAITED: &str = "limits_throttle_wait_seconds";
/// Counter: the provider's refusals reported to the throttle, by `tripped`.
pub const REPORTED: &str = "limits_throttle_reported_total";
/// Gauge: task slots held.
pub const TASKS: &str = "limits_throttle_tasks_in_flight";
/// Counter: calls the store could not answer, by `policy`.
pub const STORE_ERRORS: &str = "limits_throttle_store_errors_total";

/// The account and the mode of a store's account name (`ACCOUNT:MODE`).
fn split(store_account: &str) -> (&str, &str) {
    store_account
        .rsplit_once(':')
        .unwrap_or((store_account, ""))
}

/// The labels of a key, owned (metrics keeps them).
fn labels(store_account: &str, model: &str) -> [(&'static str, String); 3] {
    let (account, deployment) = split(store_account);
    [
        ("account", account.to_string()),
        ("deployment", deployment.to_string()),
        ("model", model.to_string()),
    ]
}

/// The admission counter of a key, registered once with the recorder
/// installed now.
pub(crate) fn admitted_counter(store_account: &str, model: &str) -> Counter {
    counter!(ADMITTED, &labels(store_account, model))
}

/// An admission through a store without per-key state (a shared one).
pub(crate) fn admitted(store_account: &str, model: &str) {
    counter!(ADMITTED, &labels(store_account, model)).increment(1);
}

/// The `reason` label of a refusal.
fn reason(refusal: &Refusal) -> &'static str {
    match refusal {
        Refusal::RetryAfter(_) => "retry_after",
        Refusal::TooLarge { .. } => "too_large",
        Refusal::Unavailable(_) => "unavailable",
        Refusal::NotListed { .. } => "not_listed",
        Refusal::NotPooled { .. } => "not_pooled",
        Refusal::TasksInFlight { .. } => "tasks_in_flight",
        Refusal::NoLimits { .. } => "no_limits",
    }
}

/// The refusal counter of a key for one `reason`, registered once.
pub(crate) fn refused_counter(store_account: &str, model: &str, reason: &'static str) -> Counter {
    let mut labels = labels(store_account, model).to_vec();
    labels.push(("reason", reason.to_string()));
    counter!(REFUSED, &labels)
}

/// "Not now": a debug event (a wait is the throttle working).
pub(crate) fn not_now(store_account: &str, model: &str, wait: Duration) {
    wait_event(store_account, model, wait, "throttle: not now");
}

/// A debug event about a wait.
fn wait_event(store_account: &str, model: &str, wait: Duration, what: &str) {
    let (account, deployment) = split(store_account);
    let wait_ms = wait.as_millis() as u64;
    tracing::debug!(account, deployment, model, wait_ms, "{what}");
}

/// A refusal that waiting will not end: a warning.
pub(crate) fn refused_event(store_account: &str, model: &str, refusal: &Refusal) {
    let (account, deployment) = split(store_account);
    let reason = reason(refusal);
    tracing::warn!(
        account,
        deployment,
        model,
        reason,
        "throttle: refused: {refusal}"
    );
}

/// A refusal: its event and its counter (for keys without their own).
pub(crate) fn refused(store_account: &str, model: &str, refusal: &Refusal) {
    match refusal {
        Refusal::RetryAfter(wait) => not_now(store_account, model, *wait),
        other => refused_event(store_account, model, other),
    }
    refused_counter(store_account, model, reason(refusal)).increment(1);
}

/// An `acquire` that waits `wait` before trying again.
pub(crate) fn waiting(store_account: &str, model: &str, wait: Duration) {
    wait_event(store_account, model, wait, "throttle: waiting");
}

/// An `acquire` admitted after waiting `waited` in all.
pub(crate) fn waited(store_account: &str, model: &str, waited: Duration) {
    histogram!(WAITED, &labels(store_account, model)).record(waited.as_secs_f64());
}

/// The provider refused a request anyway, and it was reported.
pub(crate) fn reported(store_account: &str, model: &str, tripped: Tripped) {
    let (account, deployment) = split(store_account);
    let tripped = format!("{tripped:?}").to_lowercase();
    tracing::warn!(
        account,
        deployment,
        model,
        tripped = tripped.as_str(),
        "throttle: the provider refused a request; cooling down"
    );
    let mut labels = labels(store_account, model).to_vec();
    labels.push(("tripped", tripped));
    counter!(REPORTED, &labels).increment(1);
}

/// The store could not answer; `admitted` says whether the call went on
/// unchecked (fail open).
pub(crate) fn task_held(store_account: &str, model: &str) {
    let (account, deployment) = split(store_account);
    tracing::debug!(account, deployment, model, "throttle: task slot held");
    metrics::gauge!(TASKS, &labels(store_account, model)).increment(1.0);
}

pub(crate) fn task_freed(store_account: &str, model: &str) {
    let (account, deployment) = split(store_account);
    tracing::debug!(account, deployment, model, "throttle: task slot freed");
    metrics::gauge!(TASKS, &labels(store_account, model)).decrement(1.0);
}

pub(crate) fn store_error(store_account: &str, model: &str, error: &StoreError, admitted: bool) {
    let (account, deployment) = split(store_account);
    let policy = if admitted { "fail_open" } else { "fail_closed" };
    tracing::warn!(
        account,
        deployment,
        model,
        policy,
        "throttle: store error: {error}"
    );
    let mut labels = labels(store_account, model).to_vec();
    labels.push(("policy", policy.to_string()));
    counter!(STORE_ERRORS, &labels).increment(1);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_store_account_splits_at_its_last_colon() {
        assert_eq!(split("default:intl"), ("default", "intl"));
        assert_eq!(split("team:a:cn"), ("team:a", "cn"));
        assert_eq!(split("plain"), ("plain", ""));
    }
}
