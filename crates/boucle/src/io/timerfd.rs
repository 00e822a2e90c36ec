//! A `timerfd` registered in a mio poll: parks wake at an exact absolute
//! deadline instead of mio's millisecond timeout. Used by the loop's I/O
//! driver and, through `engine`, by the Python loop's poller.

use std::io;
use std::os::fd::{AsFd, AsRawFd, OwnedFd};

use mio::unix::SourceFd;
use mio::{Interest, Registry, Token};
use rustix::time::{
    timerfd_create, timerfd_settime, Itimerspec, TimerfdClockId, TimerfdFlags, TimerfdTimerFlags,
    Timespec,
};

/// A monotonic, non-blocking timerfd, armed at most once per deadline.
pub struct TimerFd {
    fd: OwnedFd,
    armed: Option<u64>,
}

impl TimerFd {
    /// A timerfd registered readable under `token`. Fails where timerfd is
    /// unavailable (seccomp, old kernels): callers fall back to timeouts.
    pub fn new(registry: &Registry, token: Token) -> io::Result<TimerFd> {
        let fd = timerfd_create(
            TimerfdClockId::Monotonic,
            TimerfdFlags::NONBLOCK | TimerfdFlags::CLOEXEC,
        )?;
        registry.register(
            &mut SourceFd(&fd.as_fd().as_raw_fd()),
            token,
            Interest::READABLE,
        )?;
        Ok(TimerFd { fd, armed: None })
    }

    /// Arms it at `deadline_ns` (`CLOCK_MONOTONIC`), unless it already is.
    pub fn arm(&mut self, deadline_ns: u64) -> io::Result<()> {
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

    /// It fired: the next `arm` reprograms it, even for the same deadline.
    pub fn fired(&mut self) {
        self.armed = None;
    }
}
