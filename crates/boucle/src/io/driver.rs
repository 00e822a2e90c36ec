//! The I/O engine: where the loop thread parks. One `epoll_wait` (through
//! mio) serves I/O readiness, foreign wakes (`mio::Waker`) and timers; the
//! reactor (`reactor.rs`) turns its events into wake-ups. The timer layer
//! (`time/driver.rs`) wraps it: it tells `park` how long it may wait.
//!
//! Timers are precise: mio rounds a poll timeout up to whole milliseconds,
//! so the driver arms a `timerfd` at the exact deadline (absolute
//! `CLOCK_MONOTONIC`, nanoseconds) and waits without a timeout. Without a
//! timerfd it falls back to mio's timeout, rounded up (late, never early).

use std::cell::{Cell, RefCell};
use std::io;
use std::rc::Rc;
use std::task::{Context, Poll as TaskPoll};
use std::time::{Duration, Instant};

use mio::{Events, Interest, Poll, Token};

use super::reactor::{Direction, IoKey, Reactor, Ready};
use super::timerfd::TimerFd;
use crate::task::waker::WakeHandle;
use crate::time::clock::monotonic_ns;
use crate::trace::hooks::Hooks;
use crate::trace::{Awaiting, WokenBy};

/// With I/O sources registered, busy turns look at I/O this often (as
/// tokio's `event_interval`), so ready tasks cannot starve sockets.
const EVENT_INTERVAL: u32 = 61;

/// Tokens of the driver's own sources; I/O tokens (`io::reactor`) never
/// reach them.
pub(crate) const WAKER_TOKEN: Token = Token(usize::MAX);
const TIMER_TOKEN: Token = Token(usize::MAX - 1);

/// How long to park.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Park {
    /// Look at I/O and return at once.
    Poll,
    /// Until this `CLOCK_MONOTONIC` time in nanoseconds.
    Until(u64),
    /// Until an event or a foreign wake.
    Forever,
}

/// The epoll instance, its event buffer and the precise timer.
struct Driver {
    poll: Poll,
    events: Events,
    timer: Option<TimerFd>,
}

/// The I/O engine: the driver, the reactor's per-source state, and the
/// buffers of one dispatch. Sockets hold an `Rc<IoDriver>` handle.
pub(crate) struct IoDriver {
    driver: RefCell<Driver>,
    reactor: RefCell<Reactor>,
    /// I/O events of the last park, dispatched after the driver's borrow.
    events: RefCell<Vec<(usize, Ready)>>,
    wakes: RefCell<Vec<WakeHandle>>,
    /// Busy turns since the OS was last asked for I/O events.
    busy_turns: Cell<u32>,
    hooks: Option<Rc<Hooks>>,
    /// Counters for `Runtime::metrics`.
    pub(crate) stats: IoStats,
}

/// What the I/O engine counts (`Runtime::metrics`).
#[derive(Default)]
pub(crate) struct IoStats {
    pub(crate) events: Cell<u64>,
    pub(crate) parks: Cell<u64>,
    pub(crate) idle: Cell<Duration>,
}

impl Driver {
    /// A driver and the waker other threads use to interrupt its park.
    fn new() -> io::Result<(Driver, mio::Waker)> {
        let poll = Poll::new()?;
        let waker = mio::Waker::new(poll.registry(), WAKER_TOKEN)?;
        // No timerfd (seccomp, old kernel): fall back to rounded timeouts.
        let timer = TimerFd::new(poll.registry(), TIMER_TOKEN).ok();
        Ok((
            Driver {
                poll,
                events: Events::with_capacity(1024),
                timer,
            },
            waker,
        ))
    }

    fn registry(&self) -> &mio::Registry {
        self.poll.registry()
    }

    /// Parks the thread. Returns how many events arrived (timer and waker
    /// events included); I/O readiness goes to `io` as (token, readiness).
    fn park(&mut self, park: Park, io: &mut Vec<(usize, Ready)>) -> io::Result<usize> {
        let timeout = match park {
            Park::Poll => Some(Duration::ZERO),
            Park::Forever => None,
            Park::Until(deadline) => {
                let now = monotonic_ns();
                if deadline <= now {
                    Some(Duration::ZERO)
                } else if let Some(timer) = &mut self.timer {
                    timer.arm(deadline)?;
                    None
                } else {
                    // mio rounds up to whole milliseconds: late, never early.
                    Some(Duration::from_nanos(deadline - now))
                }
            }
        };
        match self.poll.poll(&mut self.events, timeout) {
            Ok(()) => {}
            Err(e) if e.kind() == io::ErrorKind::Interrupted => return Ok(0),
            Err(e) => return Err(e),
        }
        let mut n = 0;
        for event in self.events.iter() {
            n += 1;
            match event.token() {
                TIMER_TOKEN => {
                    if let Some(timer) = &mut self.timer {
                        timer.fired();
                    }
                }
                WAKER_TOKEN => {}
                Token(t) => io.push((t, Ready::from_event(event))),
            }
        }
        Ok(n)
    }
}

impl IoDriver {
    /// The engine and the waker other threads use to interrupt its park.
    pub(crate) fn new(hooks: Option<Rc<Hooks>>) -> io::Result<(IoDriver, mio::Waker)> {
        let (driver, waker) = Driver::new()?;
        Ok((
            IoDriver {
                driver: RefCell::new(driver),
                reactor: RefCell::new(Reactor::default()),
                events: RefCell::new(Vec::new()),
                wakes: RefCell::new(Vec::new()),
                busy_turns: Cell::new(0),
                hooks,
                stats: IoStats::default(),
            },
            waker,
        ))
    }

    /// How to park when work is ready: `None` (do not ask the OS) unless
    /// sources exist and it is time to look at them again (every
    /// `EVENT_INTERVAL` busy turns), or `before_jump` (a virtual clock is
    /// about to jump: first see whether I/O is ready).
    #[inline]
    pub(crate) fn busy_park(&self, before_jump: bool) -> Option<Park> {
        let sources = self.reactor.borrow().len();
        let look = sources > 0 && self.busy_turns.get() >= EVENT_INTERVAL;
        (look || (before_jump && sources > 0)).then_some(Park::Poll)
    }

    /// Parks (or not, for `None`) and dispatches what came. Returns the
    /// number of events.
    #[inline]
    pub(crate) fn park(&self, park: Option<Park>) -> io::Result<usize> {
        match park {
            // A busy turn that does not ask the OS: the common case.
            None => {
                self.busy_turns.set(self.busy_turns.get() + 1);
                Ok(0)
            }
            Some(park) => self.park_os(park),
        }
    }

    #[inline(never)]
    fn park_os(&self, park: Park) -> io::Result<usize> {
        self.busy_turns.set(0);
        if let Some(hooks) = &self.hooks {
            hooks.park_start();
        }
        let mut io = self.events.take();
        // The OS is called anyway: a clock read on each side is cheap here.
        let start = Instant::now();
        let n = self.driver.borrow_mut().park(park, &mut io);
        let idle = start.elapsed();
        let s = &self.stats;
        s.parks.set(s.parks.get() + 1);
        s.idle.set(s.idle.get() + idle);
        s.events.set(s.events.get() + io.len() as u64);
        if let Some(hooks) = &self.hooks {
            hooks.park_end(*n.as_ref().unwrap_or(&0), idle);
        }
        self.dispatch(&mut io);
        *self.events.borrow_mut() = io;
        n
    }

    /// Turns I/O events into readiness and wake-ups.
    fn dispatch(&self, events: &mut Vec<(usize, Ready)>) {
        if events.is_empty() {
            return;
        }
        let mut wakes = self.wakes.take();
        {
            let mut reactor = self.reactor.borrow_mut();
            for (token, ready) in events.drain(..) {
                reactor.dispatch(token, ready, &mut wakes);
            }
        }
        match &self.hooks {
            None => {
                for w in wakes.drain(..) {
                    w.wake();
                }
            }
            Some(hooks) => hooks.waking(WokenBy::Io, || {
                for w in wakes.drain(..) {
                    hooks.io_ready(w.task_id());
                    w.wake();
                }
            }),
        }
        *self.wakes.borrow_mut() = wakes;
    }

    pub(crate) fn register(
        &self,
        source: &mut impl mio::event::Source,
        interest: Interest,
    ) -> io::Result<IoKey> {
        let key = self.reactor.borrow_mut().insert();
        let registered = self
            .driver
            .borrow()
            .registry()
            .register(source, key.token(), interest);
        if let Err(e) = registered {
            let wakers = self.reactor.borrow_mut().remove(key);
            drop(wakers);
            return Err(e);
        }
        Ok(key)
    }

    pub(crate) fn deregister(
        &self,
        source: &mut impl mio::event::Source,
        key: IoKey,
    ) -> io::Result<()> {
        let result = self.driver.borrow().registry().deregister(source);
        let wakers = self.reactor.borrow_mut().remove(key);
        drop(wakers);
        result
    }

    pub(crate) fn poll_ready(&self, key: IoKey, dir: Direction, cx: &Context<'_>) -> TaskPoll<()> {
        let (ready, old) = self.reactor.borrow_mut().poll_ready(key, dir, cx);
        drop(old);
        if ready.is_pending() {
            if let Some(hooks) = &self.hooks {
                hooks.waits(Awaiting::Io(dir));
            }
        }
        ready.map(|_| ())
    }

    pub(crate) fn clear_ready(&self, key: IoKey, dir: Direction) {
        self.reactor.borrow_mut().clear(key, dir);
    }

    /// I/O sources registered now.
    pub(crate) fn sources(&self) -> usize {
        self.reactor.borrow().len()
    }

    /// Shutdown: the handles of every I/O waiter, to be dropped by the
    /// caller.
    pub(crate) fn take_all_waiters(&self) -> Vec<WakeHandle> {
        self.reactor.borrow_mut().take_all_waiters()
    }
}
