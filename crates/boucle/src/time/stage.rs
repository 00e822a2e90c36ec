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
/// least one step; not at all when `next` is due. Returns the loop time
/// to park until: `next`, or sooner while entries are left to stage. The
/// clock is read only when there is something to stage.
#[inline(never)]
pub(crate) fn before_park<W>(wheel: &mut Wheel<W>, now: u64, next: u64) -> u64 {
    if next <= now || !wheel.stage(STEP) {
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

#[cfg(test)]
mod tests {
    use super::*;

    /// 10^5 timers 1 to 2 s ahead, most of them in one slot: more than any
    /// machine stages in 50 us (about 5 ms of work at 50 ns an entry).
    fn crowded() -> Wheel<u32> {
        let mut w = Wheel::new();
        for i in 0..100_000u32 {
            w.insert(1_000_000_000 + u64::from(i) * 10_000, i);
        }
        w
    }

    #[test]
    fn a_due_timer_is_not_held_back_by_staging() {
        let mut w = crowded();
        assert_eq!(before_park(&mut w, 5_000, 5_000), 5_000);
        assert_eq!(before_park(&mut w, 5_000, 4_000), 4_000);
        // Nothing was staged: a full call still has work for many periods.
        assert_eq!(before_park(&mut w, 0, 1_000_000_000), PERIOD);
    }

    #[test]
    fn staging_left_wakes_the_loop_again_within_a_period_and_ends() {
        let mut w = crowded();
        // A next timer so far ahead that only the end of the staging can
        // end the loop below, however slow the machine (valgrind).
        let far = 1u64 << 50;
        let mut now = 0;
        let mut wakes = 0;
        loop {
            let until = before_park(&mut w, now, far);
            if until == far {
                break;
            }
            assert_eq!(until, now + PERIOD);
            now = until;
            wakes += 1;
            assert!(wakes < 100_000, "staging never ends");
        }
        // The next slots are sorted below: nothing is left to stage until
        // one of them cascades.
        assert!(!w.stage(1));
        assert!(wakes > 1, "10^5 entries took one call");
        assert_eq!(w.len(), 100_000);
    }
}
