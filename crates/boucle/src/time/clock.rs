//! The loop clock: loop time in integer ticks (nanoseconds since the loop's
//! origin), real or virtual, and the one place where ticks meet `Instant`.
//!
//! Loop time is cached: a real clock is read at most once per loop
//! iteration, at the first use after the iteration begins (an iteration
//! that reads no time, such as a queue hand-off between two tasks, makes no
//! clock call); a virtual clock moves only when the loop jumps it to the
//! next timer or `time::advance` moves it.

use std::cell::Cell;
use std::time::{Duration, Instant};

/// When loop time is read from the system clock (`Builder::time_base`).
///
/// # Examples
///
/// ```
/// use boucle::time::TimeBase;
///
/// let rt = boucle::Runtime::builder().time_base(TimeBase::Call).build().unwrap();
/// rt.block_on(async {
///     let t0 = boucle::now();
///     std::thread::sleep(std::time::Duration::from_millis(5)); // blocks the loop
///     // Per call: now() has moved, so a sleep begun here counts from here.
///     assert!(boucle::now() - t0 >= std::time::Duration::from_millis(5));
/// });
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum TimeBase {
    /// Once per loop iteration, at the first use (libuv's and uvloop's
    /// choice, the default): every task of one iteration sees the same
    /// `now()`, and sleeps begun in one iteration share one time base, which
    /// is what makes `wait_n` come out sorted at any `n`. A sleep begun
    /// after a poll that blocked the loop counts from the iteration's start,
    /// so measured from the call it may end early by the time already spent
    /// in that iteration; [`update_time`](crate::time::update_time) moves
    /// the base to the present, and debug mode re-samples after every poll
    /// longer than 1 ms.
    #[default]
    Iteration,
    /// At every `now()`, `sleep` and `timeout` (asyncio's and tokio's
    /// choice): a sleep never ends early measured from its call, at the
    /// cost of one clock read per call and of a shared base for sleeps
    /// begun together.
    Call,
}

pub(crate) struct Clock {
    origin: Instant,
    /// `CLOCK_MONOTONIC` at `origin`, in nanoseconds, read just after it, so
    /// that `origin_mono + ticks` is never earlier than `origin + ticks`.
    origin_mono: u64,
    now: Cell<u64>,
    /// A new iteration began since `now` was sampled (real clock only).
    stale: Cell<bool>,
    /// `TimeBase::Call` on a real clock: every read samples.
    per_call: bool,
    is_virtual: bool,
}

/// The tick that stands for "beyond the clock's range" (about 584 years of
/// loop time): deadline arithmetic saturates to it, and a timer due then
/// is never armed, so it never fires and a virtual clock never jumps to it.
pub(crate) const NEVER: u64 = u64::MAX;

/// A far instant for deadlines `Instant` cannot represent.
pub(crate) fn far_future(base: Instant) -> Instant {
    base.checked_add(Duration::from_secs(u64::from(u32::MAX)))
        .unwrap_or(base)
}

/// Nanoseconds of a duration, saturating to [`NEVER`] (a `Duration::MAX`
/// sleep never fires).
pub(crate) fn duration_ticks(d: Duration) -> u64 {
    u64::try_from(d.as_nanos()).unwrap_or(u64::MAX)
}

pub(crate) fn monotonic_ns() -> u64 {
    let ts = rustix::time::clock_gettime(rustix::time::ClockId::Monotonic);
    (ts.tv_sec as u64)
        .saturating_mul(1_000_000_000)
        .saturating_add(ts.tv_nsec as u64)
}

impl Clock {
    pub(crate) fn new(is_virtual: bool, base: TimeBase) -> Clock {
        let origin = Instant::now();
        let origin_mono = monotonic_ns();
        Clock {
            origin,
            origin_mono,
            now: Cell::new(0),
            stale: Cell::new(!is_virtual),
            per_call: !is_virtual && base == TimeBase::Call,
            is_virtual,
        }
    }

    pub(crate) fn is_virtual(&self) -> bool {
        self.is_virtual
    }

    /// The loop time of this iteration.
    pub(crate) fn now(&self) -> u64 {
        if self.stale.get() || self.per_call {
            self.sample();
        }
        self.now.get()
    }

    /// The loop time as last sampled, without sampling (the instruments'
    /// timestamps: watching the loop must not make it read the clock).
    #[inline]
    pub(crate) fn peek(&self) -> u64 {
        self.now.get()
    }

    /// Moves a real clock's cached time to the present (libuv's
    /// `uv_update_time`); nothing for a virtual clock.
    pub(crate) fn update(&self) {
        if !self.is_virtual {
            self.sample();
        }
    }

    /// A new iteration begins: the next `now` reads the real clock.
    pub(crate) fn tick(&self) {
        if !self.is_virtual {
            self.stale.set(true);
        }
    }

    fn sample(&self) {
        self.stale.set(false);
        let t = duration_ticks(self.origin.elapsed());
        // Monotonic: never let the cache go back.
        if t > self.now.get() {
            self.now.set(t);
        }
    }

    /// Moves a virtual clock forward (never back), and never onto
    /// [`NEVER`]: a clock there would make every new deadline due at once.
    pub(crate) fn advance_to(&self, ticks: u64) {
        debug_assert!(self.is_virtual);
        let ticks = ticks.min(NEVER - 1);
        if ticks > self.now.get() {
            self.now.set(ticks);
        }
    }

    pub(crate) fn instant(&self, ticks: u64) -> Instant {
        self.origin
            .checked_add(Duration::from_nanos(ticks))
            .unwrap_or_else(|| far_future(self.origin))
    }

    /// Ticks of an instant: exact, since both count nanoseconds from the
    /// same origin (an instant before the origin is tick 0, saturating).
    pub(crate) fn ticks(&self, instant: Instant) -> u64 {
        duration_ticks(instant.saturating_duration_since(self.origin))
    }

    /// `CLOCK_MONOTONIC` nanoseconds at which real loop time reaches `ticks`.
    pub(crate) fn monotonic_deadline(&self, ticks: u64) -> u64 {
        self.origin_mono.saturating_add(ticks)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn instants_and_ticks_round_trip() {
        let c = Clock::new(true, TimeBase::Iteration);
        for t in [0, 1, 999, 1_000_000_007, 86_400_000_000_000] {
            assert_eq!(c.ticks(c.instant(t)), t);
        }
        assert_eq!(c.ticks(c.instant(0) - Duration::from_secs(1)), 0);
    }

    #[test]
    fn real_clock_is_read_once_per_iteration() {
        let c = Clock::new(false, TimeBase::Iteration);
        let a = c.now();
        std::thread::sleep(Duration::from_millis(2));
        assert_eq!(c.now(), a, "same iteration");
        c.tick();
        assert!(c.now() >= a + 2_000_000, "next iteration reads the clock");
    }

    #[test]
    fn a_per_call_clock_reads_at_every_call_and_update_moves_an_iteration_clock() {
        let c = Clock::new(false, TimeBase::Call);
        let a = c.now();
        std::thread::sleep(Duration::from_millis(2));
        assert!(c.now() >= a + 2_000_000, "same iteration, new reading");
        let c = Clock::new(false, TimeBase::Iteration);
        let a = c.now();
        std::thread::sleep(Duration::from_millis(2));
        c.update();
        assert!(c.now() >= a + 2_000_000, "update_time moved the base");
        let v = Clock::new(true, TimeBase::Call);
        v.update();
        assert_eq!(v.now(), 0, "a virtual clock ignores both");
    }

    #[test]
    fn virtual_clock_moves_only_forward_and_only_when_told() {
        let c = Clock::new(true, TimeBase::Iteration);
        c.tick();
        assert_eq!(c.now(), 0);
        c.advance_to(500);
        c.advance_to(100);
        assert_eq!(c.now(), 500);
    }
}
