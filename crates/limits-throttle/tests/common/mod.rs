//! Helpers shared by the throttle's property tests.

use limits_throttle::MINUTE_NS;

/// A small deterministic generator (xorshift64*), one per thread.
pub struct Rng(pub u64);

impl Rng {
    pub fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    pub fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

/// The most units in any window of 60 s over `events` (time, units).
pub fn max_per_minute(events: &mut [(u64, u64)]) -> u64 {
    events.sort_unstable();
    let mut best = 0;
    let mut sum = 0;
    let mut start = 0;
    for end in 0..events.len() {
        sum += events[end].1;
        while events[end].0 - events[start].0 >= MINUTE_NS {
            sum -= events[start].1;
            start += 1;
        }
        best = best.max(sum);
    }
    best
}
