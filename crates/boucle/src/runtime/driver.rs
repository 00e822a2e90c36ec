//! The driver: where the loop thread parks. One `epoll_wait` (through mio)
//! serves I/O readiness, foreign wakes (`mio::Waker`) and timers.
//!
//! Timers are precise: mio rounds a poll timeout up to whole milliseconds,
//! so the driver arms a `timerfd` at the exact deadline (absolute
//! `CLOCK_MONOTONIC`, nanoseconds) and waits without a timeout. Without a
//! timerfd it falls back to mio's timeout, rounded up (late, never early).

use std::io;
use std::os::fd::{AsFd, AsRawFd, OwnedFd};
use std::time::Duration;

use mio::unix::SourceFd;
use mio::{Events, Interest, Poll, Token};
use rustix::time::{
    timerfd_create, timerfd_settime, Itimerspec, TimerfdClockId, TimerfdFlags, TimerfdTimerFlags,
    Timespec,
};

use crate::io::reactor::Ready;
use crate::time::clock::monotonic_ns;

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

pub(crate) struct Driver {
    poll: Poll,
    events: Events,
    timer: Option<TimerFd>,
}

struct TimerFd {
    fd: OwnedFd,
    armed: Option<u64>,
}

impl TimerFd {
    fn new(poll: &Poll) -> io::Result<TimerFd> {
        let fd = timerfd_create(
            TimerfdClockId::Monotonic,
            TimerfdFlags::NONBLOCK | TimerfdFlags::CLOEXEC,
        )?;
        poll.registry().register(
            &mut SourceFd(&fd.as_fd().as_raw_fd()),
            TIMER_TOKEN,
            Interest::READABLE,
        )?;
        Ok(TimerFd { fd, armed: None })
    }

    fn arm(&mut self, deadline_ns: u64) -> io::Result<()> {
        if self.armed == Some(deadline_ns) {
            return Ok(());
        }
        // A zero `it_value` would disarm: a deadline of 0 ns is long past.
        let deadline_ns = deadline_ns.max(1);
        let spec = Itimerspec {
            it_interval: Timespec {
                tv_sec: 0,
                tv_nsec: 0,
            },
            it_value: Timespec {
                tv_sec: (deadline_ns / 1_000_000_000) as _,
                tv_nsec: (deadline_ns % 1_000_000_000) as _,
            },
        };
        timerfd_settime(&self.fd, TimerfdTimerFlags::ABSTIME, &spec)?;
        self.armed = Some(deadline_ns);
        Ok(())
    }
}

impl Driver {
    /// A driver and the waker other threads use to interrupt its park.
    pub(crate) fn new() -> io::Result<(Driver, mio::Waker)> {
        let poll = Poll::new()?;
        let waker = mio::Waker::new(poll.registry(), WAKER_TOKEN)?;
        // No timerfd (seccomp, old kernel): fall back to rounded timeouts.
        let timer = TimerFd::new(&poll).ok();
        Ok((
            Driver {
                poll,
                events: Events::with_capacity(1024),
                timer,
            },
            waker,
        ))
    }

    /// The mio registry, to register I/O sources.
    pub(crate) fn registry(&self) -> &mio::Registry {
        self.poll.registry()
    }

    /// Parks the thread. Returns how many events arrived (timer and waker
    /// events included); I/O readiness goes to `io` as (token, readiness).
    pub(crate) fn park(&mut self, park: Park, io: &mut Vec<(usize, Ready)>) -> io::Result<usize> {
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
                        // Fired: the next `arm` must reprogram it even for
                        // the same deadline.
                        timer.armed = None;
                    }
                }
                WAKER_TOKEN => {}
                Token(t) => io.push((t, Ready::from_event(event))),
            }
        }
        Ok(n)
    }
}
