//! The time engine: the loop clock, the timer wheel, and the timer layer of
//! the park (it computes how long the I/O layer may wait, and fires the due
//! timers afterwards). Facades (`Sleep`, `now`, `advance`) hold an
//! `Rc<TimeDriver>` handle and never see the runtime's `Core`.

use std::cell::RefCell;
use std::rc::Rc;
use std::task::Context;
use std::time::{Duration, Instant};

use super::clock::{Clock, TimeBase, NEVER};
use super::stage;
use super::wheel::{TimerKey, Wheel};
use crate::io::driver::{IoDriver, Park};
use crate::task::waker::WakeHandle;
use crate::trace::hooks::Hooks;
use crate::trace::{Awaiting, WokenBy};

pub(crate) struct TimeDriver {
    clock: Rc<Clock>,
    hooks: Option<Rc<Hooks>>,
    wheel: RefCell<Wheel<WakeHandle>>,
    /// Reused buffer of the handles of fired timers.
    fired: RefCell<Vec<WakeHandle>>,
    /// Timers fired so far (`Runtime::metrics`).
    fired_count: std::cell::Cell<u64>,
    /// No timer is due before this loop time ([`NEVER`]: none is armed):
    /// the wheel's `next_wake` at the last park, lowered by each timer
    /// armed since.
    next_due: std::cell::Cell<u64>,
}

/// What the loop knows when it asks the timer layer to park.
pub(crate) struct Turn {
    /// Tasks are ready to run: do not wait.
    pub(crate) ready: bool,
    /// Blocking-pool jobs are running (virtual time must wait for them).
    pub(crate) blocking_inflight: bool,
}

impl TimeDriver {
    /// The clock the loop will use (the hooks read it too).
    pub(crate) fn clock(is_virtual: bool, base: TimeBase) -> Rc<Clock> {
        Rc::new(Clock::new(is_virtual, base))
    }

    pub(crate) fn new(clock: Rc<Clock>, hooks: Option<Rc<Hooks>>) -> TimeDriver {
        TimeDriver {
            clock,
            hooks,
            wheel: RefCell::new(Wheel::new()),
            fired: RefCell::new(Vec::new()),
            fired_count: std::cell::Cell::new(0),
            next_due: std::cell::Cell::new(NEVER),
        }
    }

    /// Loop time of this iteration, in ticks.
    #[inline]
    pub(crate) fn now(&self) -> u64 {
        self.clock.now()
    }

    /// Loop time of this iteration.
    pub(crate) fn now_instant(&self) -> Instant {
        self.clock.instant(self.clock.now())
    }

    pub(crate) fn instant(&self, ticks: u64) -> Instant {
        self.clock.instant(ticks)
    }

    pub(crate) fn ticks(&self, at: Instant) -> u64 {
        self.clock.ticks(at)
    }

    pub(crate) fn is_virtual(&self) -> bool {
        self.clock.is_virtual()
    }

    /// `boucle::time::update_time`.
    pub(crate) fn update(&self) {
        self.clock.update();
    }

    /// Moves a virtual clock forward (`boucle::time::advance`).
    pub(crate) fn advance_to(&self, ticks: u64) {
        self.clock.advance_to(ticks);
    }

    /// Arms the timer of `key` for `deadline`, or refreshes the task it
    /// wakes. `deadline` must not be [`NEVER`].
    #[inline]
    pub(crate) fn arm(&self, key: &mut Option<TimerKey>, deadline: u64, cx: &Context<'_>) {
        debug_assert_ne!(deadline, NEVER);
        if let Some(hooks) = &self.hooks {
            hooks.waits(Awaiting::Timer(Duration::from_nanos(deadline)));
        }
        let mut wheel = self.wheel.borrow_mut();
        if let Some(k) = *key {
            if let Some(handle) = wheel.payload_mut(k) {
                if !handle.will_wake(cx) {
                    let old = std::mem::replace(handle, WakeHandle::new(cx));
                    drop(wheel);
                    drop(old);
                }
                return;
            }
        }
        *key = Some(wheel.insert(deadline, WakeHandle::new(cx)));
        self.next_due.set(self.next_due.get().min(deadline));
    }

    /// Disarms the timer of `key`, if armed. A no-op while the wheel is
    /// being advanced (a fired timer's wake dropping another timer): the
    /// stale key is then ignored by the wheel's generations.
    #[inline]
    pub(crate) fn disarm(&self, key: TimerKey) {
        if let Ok(mut wheel) = self.wheel.try_borrow_mut() {
            let handle = wheel.remove(key);
            drop(wheel);
            drop(handle);
        }
    }

    /// The timer layer of the park: waits in `io` until the next deadline
    /// (not at all when work is ready; forever when no timer is armed),
    /// then samples the clock, jumps a virtual clock when nothing else
    /// happened, and fires the due timers. `after_park` runs between the
    /// I/O park and the timers (the loop takes its remote wakes there) and
    /// says whether it found any.
    #[inline]
    pub(crate) fn park(
        &self,
        io: &IoDriver,
        turn: Turn,
        after_park: impl FnOnce() -> bool,
    ) -> std::io::Result<()> {
        let next_timer = {
            let wheel = self.wheel.borrow();
            let next = if wheel.len() == 0 {
                None
            } else {
                wheel.next_wake()
            };
            self.next_due.set(next.unwrap_or(NEVER));
            next
        };
        let virtual_time = self.clock.is_virtual();
        let busy = match next_timer {
            _ if turn.ready => true,
            Some(_) if virtual_time => true,
            Some(t) => t <= self.clock.now(),
            None => false,
        };
        let park = if busy {
            // With work ready the OS is asked only now and then (the I/O
            // layer decides); a virtual jump first looks at I/O.
            io.busy_park(virtual_time && !turn.ready)
        } else if let Some(t) = next_timer {
            // About to wait: sort entries of the next cascades into place
            // now, so that no cascade holds the loop when it is due.
            let t = stage::before_park(&mut self.wheel.borrow_mut(), self.clock.now(), t);
            Some(Park::Until(self.clock.monotonic_deadline(t)))
        } else {
            Some(Park::Forever)
        };
        // Virtual time with blocking jobs in flight: wait for them rather
        // than jumping the clock over their duration.
        let park = if virtual_time && !turn.ready && turn.blocking_inflight {
            Some(Park::Forever)
        } else {
            park
        };
        let events = io.park(park)?;
        self.clock.tick();
        let woke_remote = after_park();
        if virtual_time && !turn.ready && events == 0 && !woke_remote && !turn.blocking_inflight {
            if let Some(t) = next_timer {
                self.clock.advance_to(t);
            }
        }
        self.fire_due();
        Ok(())
    }

    /// Fires the due timers, if some may be due: an iteration whose earliest
    /// timer is still ahead (each turn of a yielding task under a timeout,
    /// say) leaves the wheel alone. Its `elapsed` then lags the clock, as
    /// when the loop is busy; the wheel is exact whatever the lag.
    #[inline]
    fn fire_due(&self) {
        let t = self.next_due.get();
        if t != NEVER && t <= self.clock.now() {
            self.fire_due_timers();
        }
    }

    #[inline(never)]
    fn fire_due_timers(&self) {
        let mut fired = self.fired.take();
        self.wheel
            .borrow_mut()
            .advance(self.clock.now(), &mut fired);
        self.fired_count
            .set(self.fired_count.get() + fired.len() as u64);
        // Wake outside the wheel's borrow: a wake may drop a task, whose
        // future may cancel a timer.
        match &self.hooks {
            None => {
                for handle in fired.drain(..) {
                    handle.wake();
                }
            }
            Some(hooks) => hooks.waking(WokenBy::Timer, || {
                for handle in fired.drain(..) {
                    hooks.timer_fired(handle.task_id());
                    handle.wake();
                }
            }),
        }
        *self.fired.borrow_mut() = fired;
    }

    /// Timers armed now, and fired so far.
    pub(crate) fn timer_counts(&self) -> (usize, u64) {
        (self.wheel.borrow().len(), self.fired_count.get())
    }

    /// Shutdown: every armed timer's handle, to be dropped by the caller.
    pub(crate) fn drain(&self) -> Vec<WakeHandle> {
        self.wheel.borrow_mut().drain()
    }
}
