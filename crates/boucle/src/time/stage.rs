//! Staging the wheel's next cascades while a loop is about to wait (see the
//! wheel's module docs): how long to stage, and until when the loop may
//! then sleep. Both loops park through it: the runtime's time driver, and
//! the Python loop (through `engine::TimerWheel`).

use std::time::{Duration, Instant};

use super::wheel::Wheel;

/// Timer entries staged between two reads of the clock. An entry costs
/// 100 to 400 ns (two cache misses: the entry and the head of the list it
/// joins; measured on a 2-core Xeon VM with 10^5 timers), so a step is a
/// few microseconds. Staging is bounded by time, not by a count: what an
/// entry costs depends on the machine's memory.
const STEP: usize = 16;
/// The longest staging before one park (the longest that I/O readiness
/// can wait for it): 50 us.
const MAX_NANOS: u64 = 50_000;
/// While entries are left to stage, the longest wait between two
/// stagings: an idle loop stages for at most a fifth of its time, 10^6
/// entries in about a second.
const PERIOD: u64 = 250_000;

/// Stages for a third of the wait from `now` to `next` (the earliest
/// timer), so that `next` is not made late, at most [`MAX_NANOS`] and at
/// least one step. Returns the loop time to park until: `next`, or sooner
/// while entries are left to stage. The clock is read only when there is
/// something to stage.
#[inline(never)]
pub(crate) fn before_park<W>(wheel: &mut Wheel<W>, now: u64, next: u64) -> u64 {
    if !wheel.stage(STEP) {
        return next;
    }
    let limit = Duration::from_nanos((next.saturating_sub(now) / 3).min(MAX_NANOS));
    let start = Instant::now();
    while start.elapsed() < limit {
        if !wheel.stage(STEP) {
            return next;
        }
    }
    next.min(now.saturating_add(PERIOD))
}
