//! Where the loop thread parks: one `epoll_wait` (through mio) serves
//! foreign wakes (`mio::Waker`, an eventfd) and timers (a `timerfd` armed at
//! the exact deadline, since mio rounds timeouts up to whole milliseconds).
//! `add_reader` / `add_writer` register fds on the same `mio::Poll`
//! (`readiness.rs`, through `registry`), so the loop stays one poller.
//!
//! boucle's own driver (`runtime/driver.rs`) does the same, but it is
//! private to the runtime; this is the Python loop's copy of the idea.

use std::io;
use std::sync::Arc;
use std::time::Duration;

use boucle::engine::TimerFd;
use mio::event::Event;
use mio::{Events, Poll, Registry, Token, Waker};

const WAKER_TOKEN: Token = Token(usize::MAX);
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

/// Why `park` returned early.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Woke {
    /// Events, a timeout or a foreign wake.
    Normally,
    /// A signal interrupted `epoll_wait` (Python's handlers must run).
    Interrupted,
}

pub(crate) struct Poller {
    poll: Poll,
    events: Events,
    timer: Option<TimerFd>,
}

impl Poller {
    /// A poller and the waker other threads use to interrupt its park.
    pub(crate) fn new() -> io::Result<(Poller, Arc<Waker>)> {
        let poll = Poll::new()?;
        let waker = Arc::new(Waker::new(poll.registry(), WAKER_TOKEN)?);
        // No timerfd (seccomp, old kernel): fall back to rounded timeouts.
        let timer = TimerFd::new(poll.registry(), TIMER_TOKEN).ok();
        Ok((
            Poller {
                poll,
                events: Events::with_capacity(256),
                timer,
            },
            waker,
        ))
    }

    /// A handle on the epoll set, for the fds of `add_reader`; their tokens
    /// are their fd numbers (the waker's and the timer's are above any fd).
    pub(crate) fn registry(&self) -> io::Result<Registry> {
        self.poll.registry().try_clone()
    }

    /// The events of the last `park`.
    pub(crate) fn events(&self) -> impl Iterator<Item = &Event> {
        self.events.iter()
    }

    /// Parks the thread (the caller has released the GIL).
    pub(crate) fn park(&mut self, park: Park) -> io::Result<Woke> {
        let timeout = match park {
            Park::Poll => Some(Duration::ZERO),
            Park::Forever => None,
            Park::Until(deadline) => {
                let now = boucle::engine::monotonic_ns();
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
            Err(e) if e.kind() == io::ErrorKind::Interrupted => return Ok(Woke::Interrupted),
            Err(e) => return Err(e),
        }
        for event in self.events.iter() {
            if event.token() == TIMER_TOKEN {
                if let Some(timer) = &mut self.timer {
                    timer.fired();
                }
            }
        }
        Ok(Woke::Normally)
    }
}
