//! The runtime's engines, reachable from other crates of this workspace
//! (the Python event loop in `boucle-py`) without making them public API:
//! the timer wheel, the loop clock, the trace recorder and the timerfd.
//!
//! Not part of boucle's stable surface: hidden from the docs, and free to
//! change with the internals it wraps. Each item is a thin wrapper that
//! delegates to the engine, so a move inside boucle is a change to this
//! file only.

use std::time::Duration;

use crate::task::TaskId;
use crate::time::clock::Clock;
use crate::time::wheel::{TimerKey as WheelKey, Wheel};
use crate::trace::recorder;
use crate::trace::{EventKind, Exited, Spawned, Trace};

pub use crate::io::timerfd::TimerFd;
pub use crate::time::TimeBase;

/// The tick that stands for "never" (see `time::clock::NEVER`).
pub const NEVER: u64 = crate::time::clock::NEVER;

/// `CLOCK_MONOTONIC` in nanoseconds.
pub fn monotonic_ns() -> u64 {
    crate::time::clock::monotonic_ns()
}

/// A key to an armed timer of a [`TimerWheel`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TimerKey(WheelKey);

/// boucle's timer wheel: integer ticks, exact `(deadline, insertion)`
/// firing order, O(1) insert and remove.
pub struct TimerWheel<W>(Wheel<W>);

impl<W> Default for TimerWheel<W> {
    fn default() -> Self {
        Self::new()
    }
}

impl<W> TimerWheel<W> {
    /// An empty wheel at tick 0.
    pub fn new() -> TimerWheel<W> {
        TimerWheel(Wheel::new())
    }

    /// Number of armed timers.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Whether no timer is armed.
    pub fn is_empty(&self) -> bool {
        self.0.len() == 0
    }

    /// Arms a timer due at `deadline` ticks.
    pub fn insert(&mut self, deadline: u64, payload: W) -> TimerKey {
        TimerKey(self.0.insert(deadline, payload))
    }

    /// Disarms a timer, returning its payload if it was still armed.
    pub fn remove(&mut self, key: TimerKey) -> Option<W> {
        self.0.remove(key.0)
    }

    /// A time at which [`advance`](Self::advance) has work to do (a lower
    /// bound of the earliest deadline).
    pub fn next_wake(&self) -> Option<u64> {
        self.0.next_wake()
    }

    /// Fires every timer due at or before `now`, in exact order.
    pub fn advance(&mut self, now: u64, out: &mut Vec<W>) {
        self.0.advance(now, out)
    }

    /// About to wait from `now` for the timer due at `next`: sorts entries
    /// of the next cascades into place for a third of the wait at most,
    /// and returns the time to park until (`next`, or sooner while entries
    /// are left to sort), so that no cascade holds the loop when it is due.
    pub fn stage_before_park(&mut self, now: u64, next: u64) -> u64 {
        crate::time::stage::before_park(&mut self.0, now, next)
    }

    /// Removes every timer (shutdown).
    pub fn drain(&mut self) -> Vec<W> {
        self.0.drain()
    }
}

/// boucle's loop clock: real (cached per iteration) or virtual.
pub struct LoopClock(Clock);

impl LoopClock {
    /// A clock at tick 0, real or virtual.
    pub fn new(is_virtual: bool, base: TimeBase) -> LoopClock {
        LoopClock(Clock::new(is_virtual, base))
    }

    /// Whether the clock is virtual.
    pub fn is_virtual(&self) -> bool {
        self.0.is_virtual()
    }

    /// The loop time of this iteration, in ticks.
    pub fn now(&self) -> u64 {
        self.0.now()
    }

    /// A new iteration begins: the next `now` reads a real clock.
    pub fn tick(&self) {
        self.0.tick()
    }

    /// Moves a virtual clock forward to `ticks` (never back).
    pub fn advance_to(&self, ticks: u64) {
        self.0.advance_to(ticks)
    }

    /// `CLOCK_MONOTONIC` nanoseconds at which real loop time reaches `ticks`.
    pub fn monotonic_deadline(&self, ticks: u64) -> u64 {
        self.0.monotonic_deadline(ticks)
    }
}

/// boucle's trace recorder (a bounded ring of
/// [`DEFAULT_CAPACITY`](crate::trace::DEFAULT_CAPACITY) events); its
/// snapshots render with [`Trace::timeline`] and [`Trace::to_chrome_json`].
pub struct Recorder(recorder::Recorder);

impl Default for Recorder {
    fn default() -> Self {
        Recorder(recorder::Recorder::new(crate::trace::DEFAULT_CAPACITY))
    }
}

impl Recorder {
    /// Records an event at loop time `at` (ticks), through the recorder's
    /// hooks (the kinds a Python task can have; the others, which only
    /// boucle's own loop produces, are ignored).
    pub fn record(&self, at: u64, task: TaskId, kind: EventKind) {
        let r = &self.0;
        match kind {
            EventKind::Created {
                name,
                parent,
                location,
            } => r.task_spawned(
                &Spawned {
                    task,
                    parent,
                    name: name.as_deref(),
                    location,
                },
                at,
            ),
            EventKind::Scheduled { by } => r.task_scheduled(task, by, at),
            EventKind::PollStart => r.poll_start(task, at),
            EventKind::PollEnd => r.poll_end(task, at),
            EventKind::Waits { on } => r.task_waits(Some(task), on, at),
            EventKind::TimerFired => r.timer_fired(Some(task), at),
            EventKind::IoReady => r.io_ready(Some(task), at),
            EventKind::Done => r.task_exited(task, Exited::Done, at),
            EventKind::Cancelled => r.task_exited(task, Exited::Cancelled, at),
            EventKind::Panicked => r.task_exited(task, Exited::Panicked, at),
        }
    }

    /// Every event so far, taken at loop time `now_ticks`.
    pub fn snapshot(&self, now_ticks: u64) -> Trace {
        self.0.snapshot(Duration::from_nanos(now_ticks))
    }
}

/// A task id for a task that is not boucle's own (a Python task).
pub fn task_id(n: u64) -> TaskId {
    TaskId(n)
}
