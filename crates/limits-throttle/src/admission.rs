//! The admission rules of one key, on a clock of microseconds. The
//! in-process store runs this code; the Redis store runs `admission.lua`,
//! the same rules step for step (the test `redis_matches_in_process` feeds
//! both one history and compares every answer).
//!
//! Per key, two queues of buckets count what was admitted: one covers the
//! last window (a "minute", `MINUTE_BUCKETS` buckets) and one the last
//! sixtieth of it (a "second"). A bucket counts while any of it lies in the
//! window `(now - span, now]`, so the sums cover at least the true window:
//! a request admitted when `requests + 1 <= cap` and `tokens + its tokens
//! <= cap` keeps every true window within the caps.
//!
//! Under [`Pacing::PerSecond`](crate::Pacing::PerSecond) requests take
//! their places on a schedule, one every `window / RPM` (a GCRA: the key
//! keeps the place of the last request, and the next is a spacing at the
//! current rate after it, so a change of limits applies at once), and a
//! request may take its place up to a tolerance early (a twentieth of a
//! "second"). A request admitted late moves the schedule on from its
//! place, not from the moment it was admitted, so a task woken late by the
//! timer does not push every later request back; what a late admission
//! lost is taken back within the tolerance. The per-second buckets are one
//! microsecond wide, so the per-second rules are exact, and they count over
//! a "second" lengthened by the arrival margin ([`Config::arrival_margin`]):
//! two requests admitted a second apart that arrive less than a second
//! apart (a client descheduled between admission and send) are still in
//! different seconds of the provider's. The per-window sums overcount by at
//! most one bucket, 1/600 of the window, so the steady rate they allow is
//! at least 99.8% of the limit. Under `Pacing::Bursty` nothing spaces
//! requests, and a "second" has `SECOND_BUCKETS` buckets.
//!
//! Under `Pacing::Bursty` the in-process store also asks for a [`Lease`]
//! after each admission: what the current buckets can still admit, counted
//! at once, for later requests to take without deciding each; what is left
//! of it is given back ([`KeyState::release`]) before the rules run again.
//! The Redis store has no leases: its answers are the rules' own, and so
//! are the lease's (`redis_matches_in_process` compares them).

use std::collections::VecDeque;
use std::time::Duration;

use modelstudio_limits::Limits;

use crate::config::{Config, Pacing};

/// A time on a store's clock, or a span of it, in microseconds: the unit
/// the rules and the Lua script share.
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) struct Micros(pub u64);

impl Micros {
    /// The span as a `Duration`.
    pub fn as_duration(self) -> Duration {
        Duration::from_micros(self.0)
    }
}

/// A fraction in parts per million: the rules' and the Lua script's
/// integers.
#[derive(Copy, Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) struct Ppm(pub u64);

impl Ppm {
    /// The whole: nothing lowered.
    pub const ONE: Ppm = Ppm(PPM);

    /// The fraction as a float, in `[0, 1]`.
    pub fn as_f64(self) -> f64 {
        self.0 as f64 / PPM as f64
    }
}

/// What stands in for a kind of limit a row does not have: far above any
/// limit, and exact in the Lua script's doubles.
pub(crate) const UNLIMITED: u64 = 1 << 40;

/// The limits the stores enforce: requests and tokens per window, each
/// [`UNLIMITED`] where the row has no such kind.
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct Enforced {
    /// Requests per window: `rpm`, or 60 × `rps` (the per-second pacing
    /// then admits `rps` a second), the lower of the two.
    pub rpm: u64,
    /// Tokens per window.
    pub tpm: u64,
}

impl Enforced {
    /// Whether neither requests nor tokens are limited (a row without
    /// `rpm`, `tpm` or `rps`).
    #[inline]
    pub(crate) fn is_unlimited(&self) -> bool {
        self.rpm >= UNLIMITED && self.tpm >= UNLIMITED
    }

    #[inline]
    pub(crate) fn of(limits: &Limits) -> Enforced {
        let from_rps = limits.rps().map(|n| u64::from(n) * 60);
        let rpm = min_some(limits.rpm().map(u64::from), from_rps).unwrap_or(UNLIMITED);
        Enforced {
            rpm,
            tpm: limits.tpm().unwrap_or(UNLIMITED).min(UNLIMITED),
        }
    }
}

/// The lower of two limits a row may have, or the one it has.
#[inline]
pub(crate) fn min_some(a: Option<u64>, b: Option<u64>) -> Option<u64> {
    match (a, b) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    }
}

/// Buckets per "second" under `Pacing::Bursty`: the per-second sums
/// overcount by at most one bucket, 1/250 of a second.
pub(crate) const SECOND_BUCKETS: u64 = 250;
/// Buckets per window (a "minute"): 1/600 of it each.
pub(crate) const MINUTE_BUCKETS: u64 = 600;
/// The schedule's tolerance is a "second" over this: 50 ms at a 60 s
/// window. A burst the tolerance allows after a pause, with the requests
/// of a tenth of a second at the full rate, stays within twice a tenth's
/// share (what the provider's burst protection is modelled to allow), and
/// it covers the timer's late wake-ups.
const TOLERANCE_PER_SECOND: u64 = 20;
/// Fractions are carried as parts per million, so that this code and the
/// Lua script compute the same integers.
pub(crate) const PPM: u64 = 1_000_000;

/// What the rules of one call need besides the key's state: the limits
/// after headroom, and the config, in microseconds and parts per million.
/// (The spans the config alone decides are kept, computed once, in
/// microseconds: see their accessors.)
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub(crate) struct Params {
    /// The window ("minute").
    pub window: Micros,
    /// Requests per window after headroom (at least 1).
    pub rpm: u64,
    /// Tokens per window after headroom (at least 1).
    pub tpm: u64,
    /// The fraction of a window's caps admitted at once (0: per second).
    pub burst: Ppm,
    /// The cool-down after a reported refusal.
    pub cooldown: Micros,
    /// The factor applied per reported refusal.
    pub decrease: Ppm,
    /// The lowest factor.
    pub floor: Ppm,
    /// The factor regained per window.
    pub recovery: Ppm,
    second: u64,
    second_width: u64,
    minute_width: u64,
    full_recovery: u64,
    tolerance: u64,
}

impl Params {
    /// The parameters of `limits` under a validated `config`.
    pub fn new(limits: Enforced, config: &Config) -> Params {
        let ppm = |fraction: f64| ((fraction * PPM as f64).round() as u64).clamp(1, PPM);
        let a = &config.adaptation;
        let window = config.window.as_micros() as u64;
        let burst_ppm = match config.pacing {
            Pacing::PerSecond => 0,
            Pacing::Bursty { burst } => ppm(burst),
        };
        let recovery_ppm = ppm(a.recovery);
        let base_second = window.div_ceil(60);
        let margin = (config.arrival_margin.as_micros() as u64).min(base_second);
        let second = base_second + margin;
        Params {
            window: Micros(window),
            rpm: 1,
            tpm: 1,
            burst: Ppm(burst_ppm),
            cooldown: Micros(a.cooldown.as_micros() as u64),
            decrease: Ppm(ppm(a.decrease)),
            floor: Ppm(ppm(a.floor)),
            recovery: Ppm(recovery_ppm),
            second,
            second_width: if burst_ppm == 0 {
                1
            } else {
                second.div_ceil(SECOND_BUCKETS)
            },
            minute_width: window.div_ceil(MINUTE_BUCKETS),
            full_recovery: (window * PPM).div_ceil(recovery_ppm),
            tolerance: match (burst_ppm, config.schedule_tolerance) {
                (0, None) => base_second / TOLERANCE_PER_SECOND,
                (0, Some(t)) => (t.as_micros() as u64).min(base_second),
                _ => 0,
            },
        }
        .with_limits(limits, config.headroom)
    }

    /// These parameters for other limits under the same config (what
    /// depends on the config alone is computed once, by [`Params::new`]).
    pub fn with_limits(self, limits: Enforced, headroom: f64) -> Params {
        let after_headroom = |limit: u64| ((limit as f64 * headroom) as u64).max(1);
        Params {
            rpm: after_headroom(limits.rpm),
            tpm: after_headroom(limits.tpm),
            ..self
        }
    }

    /// The span of the per-second rules: a sixtieth of the window, rounded
    /// up, and the arrival margin.
    pub fn second(&self) -> u64 {
        self.second
    }

    /// How early a request may take its place on the schedule (0 where
    /// nothing spaces requests).
    pub fn tolerance(&self) -> u64 {
        self.tolerance
    }

    /// The width of a bucket of the per-second queue: one microsecond when
    /// requests are spaced (at most `ceil(RPM / 60) + 1` of them a second).
    pub fn second_width(&self) -> u64 {
        self.second_width
    }

    /// The width of a bucket of the per-window queue.
    pub fn minute_width(&self) -> u64 {
        self.minute_width
    }

    /// How long a factor takes to recover from 0 to 1: the most time worth
    /// counting since a decrease (keeps the products exact in Lua's doubles).
    pub fn full_recovery(&self) -> u64 {
        self.full_recovery
    }

    /// The caps at factors `fr` (requests) and `ft` (tokens).
    pub fn caps(&self, fr: Ppm, ft: Ppm) -> Caps {
        let rpm = (self.rpm * fr.0 / PPM).max(1);
        let tpm = (self.tpm * ft.0 / PPM).max(1);
        let share = |n: u64| n.div_ceil(60).max(n * self.burst.0 / PPM);
        Caps {
            rpm,
            tpm,
            rps: share(rpm),
            tps: share(tpm),
            spacing: if self.burst.0 == 0 {
                self.window.0.div_ceil(rpm)
            } else {
                0
            },
        }
    }
}

/// What one key may admit now.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub(crate) struct Caps {
    /// Requests per window.
    pub rpm: u64,
    /// Tokens per window.
    pub tpm: u64,
    /// Requests per "second".
    pub rps: u64,
    /// Tokens per "second" (a single larger request may go alone).
    pub tps: u64,
    /// The least time between two requests (0: none).
    pub spacing: u64,
}

/// A limit scaled down after refusals, recovering linearly.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub(crate) struct Factor {
    /// The factor at `since`, in parts per million.
    pub ppm: u64,
    /// When it was last decreased.
    pub since: u64,
}

impl Default for Factor {
    fn default() -> Self {
        Factor { ppm: PPM, since: 0 }
    }
}

impl Factor {
    /// The factor at `now`.
    pub fn at(&self, p: &Params, now: u64) -> Ppm {
        if self.ppm >= PPM {
            return Ppm::ONE;
        }
        let elapsed = now.saturating_sub(self.since).min(p.full_recovery());
        Ppm((self.ppm + elapsed * p.recovery.0 / p.window.0).min(PPM))
    }

    /// When the factor reaches `need`.
    fn reaches(&self, p: &Params, need: u64) -> u64 {
        self.since + (need.saturating_sub(self.ppm) * p.window.0).div_ceil(p.recovery.0)
    }
}

/// What one bucket counts.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub(crate) struct Bucket {
    /// `time / width`.
    pub index: u64,
    /// Requests admitted in it.
    pub requests: u64,
    /// Their tokens (reconciled).
    pub tokens: u64,
}

/// The buckets of one window, oldest first, and their sums.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct Buckets {
    queue: VecDeque<Bucket>,
    requests: u64,
    tokens: u64,
}

impl Buckets {
    /// Drops the buckets that lie wholly before the window `(now - span, now]`:
    /// bucket `b` holds the times `[b * width, (b + 1) * width)`.
    fn expire(&mut self, now: u64, span: u64, width: u64) {
        let first_counted = (now + 1).saturating_sub(span) / width;
        while let Some(b) = self.queue.front().copied() {
            if b.index >= first_counted {
                break;
            }
            self.queue.pop_front();
            self.requests -= b.requests;
            self.tokens -= b.tokens;
        }
    }

    /// How long until `fits(requests, tokens)` holds for what is still
    /// counted (0 if it holds now).
    fn wait(&self, now: u64, span: u64, width: u64, fits: impl Fn(u64, u64) -> bool) -> u64 {
        let (mut requests, mut tokens) = (self.requests, self.tokens);
        if fits(requests, tokens) {
            return 0;
        }
        for b in &self.queue {
            requests -= b.requests;
            tokens -= b.tokens;
            if fits(requests, tokens) {
                // The first time the bucket lies wholly before the window.
                return ((b.index + 1) * width + span - 1).saturating_sub(now);
            }
        }
        0
    }

    /// Counts `requests` of `tokens` in all in bucket `index`, the newest.
    fn add(&mut self, index: u64, requests: u64, tokens: u64) {
        match self.queue.back_mut() {
            Some(b) if b.index == index => {
                b.requests += requests;
                b.tokens += tokens;
            }
            _ => self.queue.push_back(Bucket {
                index,
                requests,
                tokens,
            }),
        }
        self.requests += requests;
        self.tokens += tokens;
    }

    /// Takes back `requests` and `tokens` counted in bucket `index`, if it
    /// still counts (never below none).
    fn take(&mut self, index: u64, requests: u64, tokens: u64) {
        let Ok(at) = self.queue.binary_search_by_key(&index, |b| b.index) else {
            return;
        };
        let b = &mut self.queue[at];
        let (requests, tokens) = (requests.min(b.requests), tokens.min(b.tokens));
        b.requests -= requests;
        b.tokens -= tokens;
        self.requests -= requests;
        self.tokens -= tokens;
    }

    /// Moves the tokens of bucket `index`, if still counted, from
    /// `estimated` to `actual` (never below none).
    fn reconcile(&mut self, index: u64, estimated: u64, actual: u64) {
        if actual < estimated {
            return self.take(index, 0, estimated - actual);
        }
        let Ok(at) = self.queue.binary_search_by_key(&index, |b| b.index) else {
            return;
        };
        self.queue[at].tokens += actual - estimated;
        self.tokens += actual - estimated;
    }

    /// The sums still counted: requests and tokens.
    #[cfg(test)]
    pub fn sums(&self) -> (u64, u64) {
        (self.requests, self.tokens)
    }
}

/// Where an admitted request was counted, to reconcile it later.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub(crate) struct Counted {
    /// Its bucket in the per-second queue.
    pub second: u64,
    /// Its bucket in the per-window queue.
    pub minute: u64,
}

impl Counted {
    /// The buckets of a request admitted at `time`.
    pub fn at(p: &Params, time: u64) -> Counted {
        Counted {
            second: time / p.second_width(),
            minute: time / p.minute_width(),
        }
    }
}

/// Why a request was not admitted.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub(crate) enum Refused {
    /// Not before this long.
    Wait(Micros),
    /// Never: more tokens than a window admits.
    TooLarge,
}

/// What refusals have changed of a key's limits, now.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub(crate) struct Adapted {
    /// The requests factor.
    pub requests: Ppm,
    /// The tokens factor.
    pub tokens: Ppm,
    /// The cool-down left.
    pub cooldown: Micros,
}

/// What a reported refusal lowers.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub(crate) struct Lower {
    /// The requests limit.
    pub requests: bool,
    /// The tokens limit.
    pub tokens: bool,
}

/// What the current buckets can still admit, set aside after an admission
/// for requests admitted without deciding each (the in-process store's
/// path without the key's lock). It is counted in the buckets when granted, so every
/// sum covers it, and what it did not use is taken back when it is
/// revoked. Only where nothing spaces requests (`Pacing::Bursty`).
///
/// Any split of a lease among requests keeps every rule: `requests` and
/// `tokens` are what the tightest window still held at the grant, later
/// times in the same buckets only see older buckets leave, and a lease
/// ends where either queue's current bucket does. A request admitted from
/// it is counted where the lease is, in the buckets of `until - 1`.
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct Lease {
    /// The lease holds before this time (us), the end of the current
    /// bucket of one of the queues.
    pub until: u64,
    /// Requests it may still admit.
    pub requests: u64,
    /// Tokens it may still admit.
    pub tokens: u64,
}

impl Lease {
    /// When a request admitted from this lease counts as admitted: its
    /// buckets are the lease's.
    #[inline]
    pub fn at(&self) -> Micros {
        Micros(self.until - 1)
    }

    /// The lease in `n` parts whose sums are the lease's: as many parts as
    /// it has requests and tokens for (at most `n`) share them evenly, and
    /// the rest are empty.
    pub fn split(self, n: u64) -> impl Iterator<Item = Lease> {
        let full = n.min(self.requests).min(self.tokens).max(1);
        let share = move |total: u64, k: u64| total / full + u64::from(k < total % full);
        (0..n).map(move |k| Lease {
            until: self.until,
            requests: if k < full { share(self.requests, k) } else { 0 },
            tokens: if k < full { share(self.tokens, k) } else { 0 },
        })
    }
}

/// The state of one key.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct KeyState {
    /// The latest time seen: the clock never goes back for the rules.
    last: u64,
    /// The schedule's place of the last request admitted (its theoretical
    /// arrival time; none before the first): the next is a spacing after.
    place: Option<u64>,
    /// No request before this time (a cool-down after a refusal).
    cool: u64,
    requests_factor: Factor,
    tokens_factor: Factor,
    second: Buckets,
    minute: Buckets,
}

impl KeyState {
    fn observe(&mut self, p: &Params, now: u64) -> u64 {
        self.last = self.last.max(now);
        let now = self.last;
        self.second.expire(now, p.second(), p.second_width());
        self.minute.expire(now, p.window.0, p.minute_width());
        now
    }

    /// Admits a request of `tokens` at `now` and counts it (returning when
    /// it counts as admitted), or says how long to wait (changing nothing).
    pub fn decide(&mut self, p: &Params, now: Micros, tokens: u64) -> Result<Micros, Refused> {
        if tokens > p.tpm {
            return Err(Refused::TooLarge);
        }
        let now = self.observe(p, now.0);
        let fr = self.requests_factor.at(p, now);
        let ft = self.tokens_factor.at(p, now);
        let caps = p.caps(fr, ft);
        let mut wait = self.cool.saturating_sub(now);
        let next = self.place.map(|place| place + caps.spacing);
        if let (Some(next), true) = (next, caps.spacing > 0) {
            wait = wait.max(next.saturating_sub(p.tolerance()).saturating_sub(now));
        }
        if tokens > caps.tpm {
            // Only a lowered limit refuses it: wait for the recovery.
            let need = (tokens * PPM).div_ceil(p.tpm);
            wait = wait.max(self.tokens_factor.reaches(p, need).saturating_sub(now));
        } else {
            let minute = self.minute.wait(now, p.window.0, p.minute_width(), |n, t| {
                n < caps.rpm && t + tokens <= caps.tpm
            });
            wait = wait.max(minute);
        }
        let second = self.second.wait(now, p.second(), p.second_width(), |n, t| {
            n < caps.rps && (t + tokens <= caps.tps || n == 0)
        });
        wait = wait.max(second);
        if wait > 0 {
            return Err(Refused::Wait(Micros(wait)));
        }
        let counted = Counted::at(p, now);
        self.second.add(counted.second, 1, tokens);
        self.minute.add(counted.minute, 1, tokens);
        // Taken early, the place stays where it was; taken late, the
        // schedule goes on from now.
        self.place = Some(next.map_or(now, |next| next.max(now)));
        Ok(Micros(now))
    }

    /// After an admission: sets aside, and counts, what the current
    /// buckets can still admit at once, for `parts` parts, unless requests
    /// are spaced or nothing is left.
    pub fn lease(&mut self, p: &Params, parts: u64) -> Option<Lease> {
        let now = self.last;
        let fr = self.requests_factor.at(p, now);
        let ft = self.tokens_factor.at(p, now);
        let caps = p.caps(fr, ft);
        if caps.spacing > 0 || self.cool > now {
            return None;
        }
        let left = |cap: u64, used: u64| cap.saturating_sub(used);
        let requests =
            left(caps.rps, self.second.requests).min(left(caps.rpm, self.minute.requests));
        let tokens = left(caps.tps, self.second.tokens).min(left(caps.tpm, self.minute.tokens));
        // As many parts as [`Lease::split`] fills.
        if parts.min(requests).min(tokens) == 0 {
            return None;
        }
        let (sw, mw) = (p.second_width(), p.minute_width());
        self.second.add(now / sw, requests, tokens);
        self.minute.add(now / mw, requests, tokens);
        Some(Lease {
            until: ((now / sw + 1) * sw).min((now / mw + 1) * mw),
            requests,
            tokens,
        })
    }

    /// Takes back what a revoked lease did not use.
    pub fn release(&mut self, p: &Params, unused: Lease) {
        let counted = Counted::at(p, unused.at().0);
        self.second
            .take(counted.second, unused.requests, unused.tokens);
        self.minute
            .take(counted.minute, unused.requests, unused.tokens);
    }

    /// Replaces the estimate of a request admitted `at` by the tokens it
    /// used, in the buckets that still count it.
    pub fn reconcile(&mut self, p: &Params, now: Micros, at: Micros, estimated: u64, actual: u64) {
        self.observe(p, now.0);
        let counted = Counted::at(p, at.0);
        self.second.reconcile(counted.second, estimated, actual);
        self.minute.reconcile(counted.minute, estimated, actual);
    }

    /// A refusal by the provider: a cool-down, and lower limits. During a
    /// cool-down, further reports change nothing.
    pub fn report(&mut self, p: &Params, now: Micros, lower: Lower) {
        let now = self.observe(p, now.0);
        if now < self.cool {
            return;
        }
        self.cool = now + p.cooldown.0;
        for (factor, on) in [
            (&mut self.requests_factor, lower.requests),
            (&mut self.tokens_factor, lower.tokens),
        ] {
            if on {
                let decreased = factor.at(p, now).0 * p.decrease.0 / PPM;
                *factor = Factor {
                    ppm: decreased.max(p.floor.0),
                    since: now,
                };
            }
        }
    }

    /// Both factors now and the cool-down left: what refusals changed.
    pub fn adapted(&mut self, p: &Params, now: Micros) -> Adapted {
        let now = self.observe(p, now.0);
        Adapted {
            requests: self.requests_factor.at(p, now),
            tokens: self.tokens_factor.at(p, now),
            cooldown: Micros(self.cool.saturating_sub(now)),
        }
    }

    /// The per-second and per-window buckets (tests).
    #[cfg(test)]
    pub fn buckets(&self) -> (&Buckets, &Buckets) {
        (&self.second, &self.minute)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Pacing;

    const S: u64 = 1_000_000;

    fn params(qpm: u32, tpm: u32, config: Config) -> Params {
        Params::new(
            Enforced {
                rpm: u64::from(qpm),
                tpm: u64::from(tpm),
            },
            &config,
        )
    }

    fn admit(state: &mut KeyState, p: &Params, now: u64, tokens: u64) -> bool {
        state.decide(p, Micros(now), tokens).is_ok()
    }

    /// The default config without an arrival margin: a "second" is 1 s.
    fn exact() -> Config {
        Config::default().with_arrival_margin(std::time::Duration::ZERO)
    }

    #[test]
    fn requests_take_places_on_a_schedule_up_to_the_tolerance_early() {
        // 120 RPM: a place every 0.5 s, taken up to 50 ms early.
        let p = params(120, 1_000_000, exact());
        assert_eq!(p.tolerance(), S / 20);
        let mut s = KeyState::default();
        assert!(admit(&mut s, &p, 10 * S, 1));
        assert_eq!(
            s.decide(&p, Micros(10 * S), 1),
            Err(Refused::Wait(Micros(S / 2 - S / 20)))
        );
        assert!(!admit(&mut s, &p, 10 * S + S / 2 - S / 20 - 1, 1));
        assert!(admit(&mut s, &p, 10 * S + S / 2 - S / 20, 1));
        // The next place is a second after the first, whenever this one
        // was taken, 50 ms early; but the second's two requests are taken
        // until the first leaves it.
        assert_eq!(
            s.decide(&p, Micros(10 * S + S / 2), 1),
            Err(Refused::Wait(Micros(S / 2)))
        );
        assert!(admit(&mut s, &p, 11 * S, 1));
    }

    #[test]
    fn late_wake_ups_do_not_push_the_schedule_back() {
        // 6,000 RPM: a place every 10 ms. A task that always wakes 3 ms
        // after it was told to (a coarse timer) still gets 99% of the
        // minute's 6,000 (spaced from each admission, it got 10/13 of it),
        // and no second holds more than its 100. (Where the per-second rule
        // binds, after the first burst, a late wake-up costs its 3 ms once
        // a second, not once a place.)
        let p = params(6_000, u32::MAX, exact());
        let mut s = KeyState::default();
        let (start, mut now, mut admitted) = (10 * S, 10 * S, Vec::new());
        while now < start + 60 * S {
            match s.decide(&p, Micros(now), 1) {
                Ok(Micros(at)) => admitted.push(at),
                Err(Refused::Wait(Micros(wait))) => now += wait + 3_000,
                Err(Refused::TooLarge) => unreachable!(),
            }
        }
        assert!(
            (5_940..=6_000).contains(&admitted.len()),
            "{}",
            admitted.len()
        );
        for (i, &at) in admitted.iter().enumerate() {
            let in_second = admitted[i..].iter().take_while(|&&t| t < at + S).count();
            assert!(in_second <= 100, "{in_second} in the second from {at}");
        }
    }

    #[test]
    fn without_tolerance_each_request_is_spaced_from_the_last_admitted() {
        let config = exact().with_schedule_tolerance(std::time::Duration::ZERO);
        let p = params(120, 1_000_000, config);
        let mut s = KeyState::default();
        assert!(admit(&mut s, &p, 10 * S, 1));
        assert_eq!(
            s.decide(&p, Micros(10 * S), 1),
            Err(Refused::Wait(Micros(S / 2)))
        );
        // Admitted 3 ms late: the next is half a second after that.
        assert!(admit(&mut s, &p, 10 * S + S / 2 + 3_000, 1));
        assert_eq!(
            s.decide(&p, Micros(11 * S), 1),
            Err(Refused::Wait(Micros(3_000)))
        );
    }

    #[test]
    fn the_arrival_margin_lengthens_the_second() {
        // 60 RPM: one request a second, and the margin more.
        let margin = 5_000;
        let config =
            Config::default().with_arrival_margin(std::time::Duration::from_micros(margin));
        let p = params(60, 1_000_000, config);
        assert_eq!(p.second(), S + margin);
        let mut s = KeyState::default();
        assert!(admit(&mut s, &p, 10 * S, 1));
        assert_eq!(
            s.decide(&p, Micros(11 * S), 1),
            Err(Refused::Wait(Micros(margin)))
        );
        assert!(admit(&mut s, &p, 11 * S + margin, 1));
        // No more than a second.
        let long = Config::default().with_window(std::time::Duration::from_millis(60));
        let long = long.with_arrival_margin(std::time::Duration::from_secs(1));
        assert_eq!(params(60, 60, long).second(), 2_000);
    }

    #[test]
    fn a_large_request_goes_alone_in_its_second() {
        // 6,000 TPM: 100 tokens a second; 600 QPM: spaced 0.1 s.
        let p = params(600, 6_000, exact());
        let mut s = KeyState::default();
        assert!(admit(&mut s, &p, 0, 10));
        // 250 tokens do not fit beside the 10 already in this second: they
        // wait until the 10 have left it.
        let Err(Refused::Wait(Micros(wait))) = s.decide(&p, Micros(S / 10), 250) else {
            panic!("admitted beside another request")
        };
        assert_eq!(S / 10 + wait, S);
        assert!(admit(&mut s, &p, S, 250));
        // Nothing else in the second after it.
        assert!(!admit(&mut s, &p, S + S / 2, 1));
        assert!(admit(&mut s, &p, 2 * S, 1));
    }

    #[test]
    fn a_lease_is_what_every_window_still_holds() {
        // Half of each minute at once: 300 requests and 30,000 tokens.
        let bursty = exact().with_pacing(Pacing::Bursty { burst: 0.5 });
        let p = params(600, 60_000, bursty);
        let mut s = KeyState::default();
        assert!(admit(&mut s, &p, S, 100));
        let mut whole = s.clone();
        let lease = whole.lease(&p, 4).unwrap();
        assert_eq!((lease.requests, lease.tokens), (299, 29_900));
        // It ends with the per-second bucket (4 ms), and is counted.
        assert_eq!(lease.until, S + 4_000);
        assert_eq!(whole.buckets().0.sums(), (300, 30_000));
        assert_eq!(whole.buckets().1.sums(), (300, 30_000));
        // Given back whole, nothing of it stays counted.
        whole.release(&p, lease);
        assert_eq!(whole, s);
        // Spaced requests take no lease.
        let mut paced = KeyState::default();
        let p = params(600, 60_000, Config::default());
        assert!(admit(&mut paced, &p, S, 100));
        assert_eq!(paced.lease(&p, 4), None);
    }

    #[test]
    fn a_lease_splits_into_parts_that_sum_to_it() {
        for (requests, tokens, n) in [
            (10, 1_000, 4),
            (3, 1_000, 8),
            (100, 2, 4),
            (1, 1, 1),
            (7, 7, 7),
        ] {
            let lease = Lease {
                until: 9,
                requests,
                tokens,
            };
            let parts: Vec<Lease> = lease.split(n).collect();
            assert_eq!(parts.len() as u64, n);
            assert_eq!(parts.iter().map(|l| l.requests).sum::<u64>(), requests);
            assert_eq!(parts.iter().map(|l| l.tokens).sum::<u64>(), tokens);
            for part in &parts {
                assert_eq!(part.until, 9);
                // A part admits something, or nothing at all.
                assert_eq!(part.requests == 0, part.tokens == 0, "{part:?}");
                let even = |total: u64, x: u64| {
                    x == 0 || x.abs_diff(total / n.min(requests).min(tokens)) <= 1
                };
                assert!(
                    even(requests, part.requests) && even(tokens, part.tokens),
                    "{part:?}"
                );
            }
        }
    }

    #[test]
    fn too_large_is_more_than_a_window_admits() {
        let p = params(60, 100_000, Config::default().with_headroom(0.5));
        let mut s = KeyState::default();
        assert_eq!(s.decide(&p, Micros(0), 50_001), Err(Refused::TooLarge));
        assert!(admit(&mut s, &p, 0, 50_000));
    }

    #[test]
    fn reconcile_moves_the_tokens_of_the_buckets_that_still_count() {
        let p = params(600, 60_000, Config::default());
        let mut s = KeyState::default();
        let Ok(at) = s.decide(&p, Micros(5 * S), 500) else {
            panic!()
        };
        s.reconcile(&p, Micros(5 * S), at, 500, 800);
        assert_eq!(s.buckets().0.sums(), (1, 800));
        assert_eq!(s.buckets().1.sums(), (1, 800));
        // Two seconds later the per-second bucket has gone; the minute's
        // is refunded, never below zero.
        s.reconcile(&p, Micros(7 * S), at, 500, 0);
        assert_eq!(s.buckets().0.sums(), (0, 0));
        assert_eq!(s.buckets().1.sums(), (1, 300));
        s.reconcile(&p, Micros(7 * S), at, 10_000, 0);
        assert_eq!(s.buckets().1.sums(), (1, 0));
    }

    #[test]
    fn a_report_cools_down_once_and_the_limit_recovers() {
        let config = Config::default();
        let p = params(600, 60_000, config);
        let mut s = KeyState::default();
        let both = Lower {
            requests: true,
            tokens: true,
        };
        s.report(&p, Micros(10 * S), both);
        let a = s.adapted(&p, Micros(10 * S));
        let a_ppm = |f: f64| (f * PPM as f64).round() as u64;
        let lowered = a_ppm(config.adaptation.decrease);
        let cooldown = config.adaptation.cooldown.as_micros() as u64;
        assert_eq!(
            (a.requests.0, a.tokens.0, a.cooldown.0),
            (lowered, lowered, cooldown)
        );
        let caps = p.caps(a.requests, a.tokens);
        assert_eq!(
            (caps.rpm, caps.tpm),
            (600 * lowered / PPM, 60_000 * lowered / PPM)
        );
        assert_eq!(
            s.decide(&p, Micros(10 * S), 1),
            Err(Refused::Wait(Micros(cooldown)))
        );
        // The same episode, reported again during the cool-down: no change.
        s.report(&p, Micros(10 * S + 1), both);
        assert_eq!(s.adapted(&p, Micros(10 * S + 1)).requests.0, lowered);
        // `recovery` of the limit regained per window, linearly, up to it.
        let window = config.window.as_micros() as u64;
        let recovery = a_ppm(config.adaptation.recovery);
        let full = ((PPM - lowered) * window).div_ceil(recovery);
        let half = full / 2;
        assert_eq!(
            s.adapted(&p, Micros(10 * S + half)).requests.0,
            lowered + recovery * half / window
        );
        assert!(s.adapted(&p, Micros(10 * S + full - full / 10)).requests.0 < PPM);
        assert_eq!(s.adapted(&p, Micros(10 * S + full)).requests.0, PPM);
    }
}
