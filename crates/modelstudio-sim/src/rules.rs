//! The provider's rules for one model of one account, as this simulator
//! enforces them: sliding windows over what was accepted.
//!
//! - RPM and TPM: requests and tokens in the last window (60 s by default);
//! - RPS and TPS: requests in the last sixtieth of it, `ceil(RPM / 60)` at
//!   most; tokens up to `ceil(TPM / 60)`, or one larger request alone;
//! - burst protection ("Request rate increased too quickly"): at most
//!   `2 * ceil(RPS / 10)` requests in the last tenth of a "second", so that
//!   requests spread evenly over the second pass and a second's worth at once
//!   does not.
//!
//! A refused request counts for nothing.

use std::collections::VecDeque;

use modelstudio_limits::Limits;

/// Which rule refused a request.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub enum Reason {
    /// Requests per window.
    Rpm,
    /// Tokens per window.
    Tpm,
    /// Requests per "second".
    Rps,
    /// Tokens per "second".
    Tps,
    /// Burst protection.
    Burst,
    /// Task submissions per second or minute.
    Submit,
    /// Tasks in flight.
    Concurrency,
    /// Task queries per second.
    Query,
}

impl Reason {
    /// Every reason, in the order `/sim/stats` lists them.
    pub const ALL: [Reason; 8] = [
        Reason::Rpm,
        Reason::Tpm,
        Reason::Rps,
        Reason::Tps,
        Reason::Burst,
        Reason::Submit,
        Reason::Concurrency,
        Reason::Query,
    ];

    /// Its name in `/sim/stats`.
    pub fn name(self) -> &'static str {
        match self {
            Reason::Rpm => "rpm",
            Reason::Tpm => "tpm",
            Reason::Rps => "rps",
            Reason::Tps => "tps",
            Reason::Burst => "burst",
            Reason::Submit => "submit",
            Reason::Concurrency => "concurrency",
            Reason::Query => "query",
        }
    }
}

/// What was accepted in the last `span` microseconds, oldest first.
#[derive(Debug, Default)]
struct Window {
    span: u64,
    events: VecDeque<(u64, u64)>,
    requests: u64,
    tokens: u64,
}

impl Window {
    fn new(span: u64) -> Self {
        Window {
            span: span.max(1),
            ..Window::default()
        }
    }

    /// Forgets what is not in `(now - span, now]`.
    fn slide(&mut self, now: u64) {
        while let Some(&(at, tokens)) = self.events.front() {
            if at + self.span > now {
                break;
            }
            self.events.pop_front();
            self.requests -= 1;
            self.tokens -= tokens;
        }
    }

    fn push(&mut self, now: u64, tokens: u64) {
        self.events.push_back((now, tokens));
        self.requests += 1;
        self.tokens += tokens;
    }
}

/// The windows of one model of one account.
#[derive(Debug)]
pub struct Windows {
    limits: Limits,
    minute: Window,
    second: Window,
    tenth: Window,
}

impl Windows {
    /// Windows for `limits`, with a "minute" of `window` microseconds.
    pub fn new(limits: Limits, window: u64) -> Self {
        let second = window.div_ceil(60);
        Windows {
            limits,
            minute: Window::new(window),
            second: Window::new(second),
            tenth: Window::new(second.div_ceil(10)),
        }
    }

    /// Accepts a request of `tokens` at `now` (microseconds), or says which
    /// rule refuses it.
    pub fn admit(&mut self, now: u64, tokens: u64) -> Result<(), Reason> {
        self.check(now, tokens)?;
        self.count(now, tokens);
        Ok(())
    }

    /// Whether a request of `tokens` at `now` would be accepted (counting
    /// nothing), or which rule refuses it.
    pub fn check(&mut self, now: u64, tokens: u64) -> Result<(), Reason> {
        for w in [&mut self.minute, &mut self.second, &mut self.tenth] {
            w.slide(now);
        }
        // A kind the row lacks does not limit; `rps` limits each second
        // beside `rpm / 60`.
        let rpm = self.limits.rpm().map_or(u64::MAX, u64::from);
        let tpm = self.limits.tpm().unwrap_or(u64::MAX);
        let rps = match self.limits.rps() {
            Some(rps) => rpm.div_ceil(60).min(u64::from(rps)),
            None => rpm.div_ceil(60),
        };
        let tps = tpm.div_ceil(60);
        if self.tenth.requests + 1 > 2 * rps.div_ceil(10) {
            return Err(Reason::Burst);
        }
        if self.second.requests + 1 > rps {
            return Err(Reason::Rps);
        }
        if self.second.requests > 0 && self.second.tokens.saturating_add(tokens) > tps {
            return Err(Reason::Tps);
        }
        if self.minute.requests.saturating_add(1) > rpm {
            return Err(Reason::Rpm);
        }
        if self.minute.tokens.saturating_add(tokens) > tpm {
            return Err(Reason::Tpm);
        }
        Ok(())
    }

    /// Counts a request of `tokens` at `now` that [`Windows::check`] accepted.
    pub fn count(&mut self, now: u64, tokens: u64) {
        for w in [&mut self.minute, &mut self.second, &mut self.tenth] {
            w.push(now, tokens);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const S: u64 = 1_000_000;

    #[test]
    fn each_rule_refuses_what_it_should() {
        // 120 RPM: 2 a second; 6,000 TPM: 100 tokens a second.
        let mut w = Windows::new(Limits::NONE.with_rpm(120).with_tpm(6_000), 60 * S);
        assert_eq!(w.admit(0, 10), Ok(()));
        assert_eq!(w.admit(S / 2, 100), Err(Reason::Tps));
        assert_eq!(w.admit(S / 2, 90), Ok(()));
        assert_eq!(w.admit(S / 2 + S / 5, 1), Err(Reason::Rps));
        // Alone in its second, a request may exceed the second's share.
        assert_eq!(w.admit(3 * S, 500), Ok(()));
        assert_eq!(w.admit(3 * S + S / 2, 1), Err(Reason::Tps));
        // The minute's tokens: 600 used of 6,000.
        assert_eq!(w.admit(5 * S, 5_401), Err(Reason::Tpm));
        assert_eq!(w.admit(5 * S, 5_400), Ok(()));
        // 1,200 RPM: 20 a second, evenly; at most 4 in a tenth of a second.
        let mut w = Windows::new(Limits::NONE.with_rpm(1_200).with_tpm(1_000_000), 60 * S);
        for i in 0..4 {
            assert_eq!(w.admit(i, 1), Ok(()));
        }
        assert_eq!(w.admit(4, 1), Err(Reason::Burst));
        assert_eq!(w.admit(S / 10, 1), Ok(()));
        // 90 requests a minute (2 a second, so the minute binds first).
        let mut w = Windows::new(Limits::NONE.with_rpm(90).with_tpm(1_000_000), 60 * S);
        for i in 0..90 {
            assert_eq!(w.admit(i * S / 2, 1), Ok(()), "{i}");
        }
        assert_eq!(w.admit(45 * S, 1), Err(Reason::Rpm));
        // 60 s after the first, the first has left the window.
        assert_eq!(w.admit(60 * S - 1, 1), Err(Reason::Rpm));
        assert_eq!(w.admit(60 * S, 1), Ok(()));
    }

    #[test]
    fn requests_per_second_and_rows_with_one_kind() {
        // 30 RPS and a TPM (text embeddings in Mainland China).
        let mut w = Windows::new(Limits::NONE.with_rps(30).with_tpm(1_200_000), 60 * S);
        for i in 0..30 {
            assert_eq!(w.admit(i * S / 30, 1), Ok(()), "{i}");
        }
        assert_eq!(w.admit(S - 1, 1), Err(Reason::Rps));
        assert_eq!(w.admit(S, 1), Ok(()));
        // RPM only (speech synthesis): tokens never refuse.
        let mut w = Windows::new(Limits::NONE.with_rpm(180), 60 * S);
        assert_eq!(w.admit(0, u64::MAX / 2), Ok(()));
        assert_eq!(w.admit(S, u64::MAX / 2), Ok(()));
    }
}
