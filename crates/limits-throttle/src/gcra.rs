//! The two-dimension GCRA: one theoretical arrival time (TAT) per
//! dimension, updated together, so a request is admitted only when both the
//! request and its tokens conform, and a refusal changes nothing.
//!
//! For a dimension with burst `b` units and `ns_per_unit` = ceil(60 s /
//! (limit - b + 1)), a request of `c` units at time `now` conforms when
//! `max(tat, now) + c * ns_per_unit - now <= b * ns_per_unit`. Then no
//! 60-second window admits more than `limit` units.

use std::fmt;
use std::time::Duration;

use crate::config::{Dimension, Rates};

/// The TATs of one key, in nanoseconds of its clock.
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq)]
pub struct State {
    /// Theoretical arrival time of the requests dimension.
    pub requests_tat: u64,
    /// Theoretical arrival time of the tokens dimension.
    pub tokens_tat: u64,
}

/// Why a request was not admitted.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Refusal {
    /// Not now: the request conforms after this wait (if nothing else is
    /// admitted meanwhile).
    RetryAfter(Duration),
    /// Never: the request's tokens exceed what the throttle admits at once.
    TooLarge {
        /// The request's tokens.
        tokens: u64,
        /// The most tokens admitted at once (the token burst).
        max: u64,
        /// The model's TPM limit.
        tpm: u32,
    },
    /// The shared store (Redis) could not be asked, and the throttle fails
    /// closed.
    Unavailable(String),
}

impl fmt::Display for Refusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Refusal::RetryAfter(d) => write!(f, "rate limited: retry after {d:?}"),
            Refusal::TooLarge { tokens, tpm, .. } if *tokens > u64::from(*tpm) => write!(
                f,
                "a request of {tokens} tokens exceeds the model's whole limit of {tpm} tokens \
                 per minute; split it"
            ),
            Refusal::TooLarge { tokens, max, tpm } => write!(
                f,
                "a request of {tokens} tokens exceeds the {max} tokens this throttle admits at \
                 once (the burst of the {tpm} TPM limit); raise `Config::burst` or split it"
            ),
            Refusal::Unavailable(why) => write!(f, "throttle store unavailable: {why}"),
        }
    }
}

impl std::error::Error for Refusal {}

/// The wait until `units` more conform in `dim` (0 if they conform now),
/// and the TAT after admitting them.
fn probe(dim: &Dimension, tat: u64, now: u64, units: u64) -> (u64, u64) {
    let new_tat = tat.max(now).saturating_add(dim.cost_ns(units));
    let wait = new_tat
        .saturating_sub(dim.tolerance_ns())
        .saturating_sub(now);
    (wait, new_tat)
}

/// Admits a request of `tokens` at `now`, or refuses it leaving `state` as
/// it was.
pub fn try_admit(state: &mut State, rates: &Rates, now: u64, tokens: u64) -> Result<(), Refusal> {
    if tokens > rates.tokens.burst {
        return Err(Refusal::TooLarge {
            tokens,
            max: rates.tokens.burst,
            tpm: rates.tokens.limit,
        });
    }
    let (wait_r, tat_r) = probe(&rates.requests, state.requests_tat, now, 1);
    let (wait_t, tat_t) = probe(&rates.tokens, state.tokens_tat, now, tokens);
    let wait = wait_r.max(wait_t);
    if wait > 0 {
        return Err(Refusal::RetryAfter(Duration::from_nanos(wait)));
    }
    state.requests_tat = tat_r;
    state.tokens_tat = tat_t;
    Ok(())
}

/// Charges (`actual > estimated`) or gives back (`actual < estimated`) the
/// difference between a request's estimated and actual tokens. A refund
/// never takes the tokens TAT below `now`: unused capacity is not banked.
pub fn reconcile(state: &mut State, rates: &Rates, now: u64, estimated: u64, actual: u64) {
    let tat = state.tokens_tat;
    state.tokens_tat = if actual >= estimated {
        tat.max(now)
            .saturating_add(rates.tokens.cost_ns(actual - estimated))
    } else {
        tat.saturating_sub(rates.tokens.cost_ns(estimated - actual))
            .max(now.min(tat))
    };
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Config;
    use modelstudio_limits::Limits;

    const S: u64 = 1_000_000_000;

    fn rates(qpm: u32, tpm: u32, burst: f64) -> Rates {
        Rates::new(
            Limits { qpm, tpm },
            &Config {
                headroom: 1.0,
                burst,
            },
        )
        .unwrap()
    }

    #[test]
    fn a_refusal_in_one_dimension_spends_nothing_in_the_other() {
        let r = rates(60, 1_000, 0.5); // 30 requests, 500 tokens at once
        let mut s = State::default();
        try_admit(&mut s, &r, 0, 500).unwrap();
        let before = s;
        // Requests would conform, tokens would not: nothing changes.
        assert!(matches!(
            try_admit(&mut s, &r, 0, 1),
            Err(Refusal::RetryAfter(_))
        ));
        assert_eq!(s, before);
    }

    #[test]
    fn retry_after_is_exact() {
        let r = rates(60, 1_000_000, 1.0 / 60.0); // 1 request at once, 60 s / 60 = 1 per second
        let mut s = State::default();
        try_admit(&mut s, &r, 0, 0).unwrap();
        let Err(Refusal::RetryAfter(wait)) = try_admit(&mut s, &r, 0, 0) else {
            panic!("admitted twice at once")
        };
        let wait = wait.as_nanos() as u64;
        assert_eq!(wait, r.requests.ns_per_unit);
        assert!(try_admit(&mut s, &r, wait - 1, 0).is_err());
        assert!(try_admit(&mut s, &r, wait, 0).is_ok());
    }

    #[test]
    fn too_large_requests_are_refused_for_good() {
        let r = rates(60, 100_000, 0.1);
        let mut s = State::default();
        let err = try_admit(&mut s, &r, 0, 10_001).unwrap_err();
        assert_eq!(
            err,
            Refusal::TooLarge {
                tokens: 10_001,
                max: 10_000,
                tpm: 100_000
            }
        );
        assert!(err.to_string().contains("raise `Config::burst`"));
        let whole = try_admit(&mut s, &r, 0, 100_001).unwrap_err();
        assert!(whole
            .to_string()
            .contains("exceeds the model's whole limit of 100000"));
        assert!(try_admit(&mut s, &r, 0, 10_000).is_ok());
    }

    #[test]
    fn reconcile_charges_and_refunds_but_never_below_empty() {
        let r = rates(600, 60_000, 1.0);
        let mut s = State::default();
        try_admit(&mut s, &r, 10 * S, 1_000).unwrap();
        let after_admit = s.tokens_tat;
        reconcile(&mut s, &r, 10 * S, 1_000, 1_500);
        assert_eq!(s.tokens_tat, after_admit + r.tokens.cost_ns(500));
        reconcile(&mut s, &r, 10 * S, 1_000, 0);
        assert_eq!(
            s.tokens_tat,
            after_admit + r.tokens.cost_ns(500) - r.tokens.cost_ns(1_000)
        );
        // A refund larger than what is outstanding stops at now.
        reconcile(&mut s, &r, 10 * S, 1_000_000, 0);
        assert_eq!(s.tokens_tat, 10 * S);
    }
}
