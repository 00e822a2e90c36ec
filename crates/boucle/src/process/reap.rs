//! Seeing a child exit without a thread per child, and reaping children
//! nobody waits for.
//!
//! Each child gets a pidfd (`pidfd_open(2)`, Linux >= 5.3) registered in
//! the reactor: it turns readable when the child exits. Where pidfds are
//! unavailable (older kernels, some sandboxes), the child listens to
//! SIGCHLD instead (`boucle::signal`), and every SIGCHLD makes each waiting
//! child try `waitpid(WNOHANG)` once. Either way the exit status is read by
//! std's `Child::try_wait`.
//!
//! A child dropped while running is not left a zombie: on a running loop a
//! small detached task keeps waiting for it; when that cannot be (no loop,
//! or the loop shuts down first), it joins a process-wide orphan list,
//! which every later `spawn` and every child exit in any loop of the
//! process sweeps with `try_wait`.

use std::future::poll_fn;
use std::io;
use std::process::ExitStatus;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;
use std::task::{ready, Context, Poll};

use mio::Interest;
use rustix::process::{pidfd_open, Pid, PidfdFlags};

use crate::io::fd::FdSource;
use crate::io::{Direction, PollEvented};
use crate::signal::{signal, Signal, SignalKind};

/// Children that outlived their `Child` and their loop.
static ORPHANS: Mutex<Vec<std::process::Child>> = Mutex::new(Vec::new());
/// Set once pidfd_open failed: later children go straight to SIGCHLD.
static NO_PIDFD: AtomicBool = AtomicBool::new(false);

/// Reaps the orphans that have exited.
pub(crate) fn reap_orphans() {
    let Ok(mut orphans) = ORPHANS.try_lock() else {
        return; // another thread sweeps right now
    };
    orphans.retain_mut(|c| matches!(c.try_wait(), Ok(None)));
}

fn adopt(mut child: std::process::Child) {
    if matches!(child.try_wait(), Ok(None)) {
        ORPHANS
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(child);
    }
}

/// How a child's exit reaches the loop.
enum Watch {
    Pidfd(PollEvented<FdSource>),
    Sigchld(Signal),
}

impl Watch {
    /// A pidfd for `pid`, else a SIGCHLD listener. `BOUCLE_NO_PIDFD=1`
    /// forces the fallback (to test it).
    fn new(pid: u32) -> io::Result<Watch> {
        let forced = std::env::var_os("BOUCLE_NO_PIDFD").is_some_and(|v| v != "0");
        if !forced && !NO_PIDFD.load(Ordering::Relaxed) {
            let pidfd = Pid::from_raw(pid as i32)
                .ok_or_else(|| io::Error::other("the child has pid 0"))
                .and_then(|p| Ok(pidfd_open(p, PidfdFlags::NONBLOCK)?));
            match pidfd {
                Ok(fd) => {
                    return Ok(Watch::Pidfd(PollEvented::with_interest(
                        FdSource(fd),
                        Interest::READABLE,
                    )?))
                }
                Err(_) => NO_PIDFD.store(true, Ordering::Relaxed),
            }
        }
        Ok(Watch::Sigchld(signal(SignalKind::child())?))
    }

    /// Whether this child uses a pidfd.
    fn is_pidfd(&self) -> bool {
        matches!(self, Watch::Pidfd(_))
    }
}

/// A child process and the means to see it exit.
pub(crate) struct Reaper {
    /// `None` once handed elsewhere (orphan list).
    std: Option<std::process::Child>,
    watch: Watch,
}

impl Reaper {
    pub(crate) fn new(std: std::process::Child) -> io::Result<Reaper> {
        let watch = Watch::new(std.id())?;
        Ok(Reaper {
            std: Some(std),
            watch,
        })
    }

    pub(crate) fn std(&self) -> &std::process::Child {
        self.std.as_ref().expect("present until drop")
    }

    pub(crate) fn std_mut(&mut self) -> &mut std::process::Child {
        self.std.as_mut().expect("present until drop")
    }

    pub(crate) fn uses_pidfd(&self) -> bool {
        self.watch.is_pidfd()
    }

    pub(crate) fn try_wait(&mut self) -> io::Result<Option<ExitStatus>> {
        self.std_mut().try_wait()
    }

    /// Ready with the exit status once the child has exited (and is
    /// reaped).
    pub(crate) fn poll_exit(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<ExitStatus>> {
        loop {
            if let Some(status) = self.try_wait()? {
                reap_orphans();
                return Poll::Ready(Ok(status));
            }
            match &mut self.watch {
                Watch::Pidfd(fd) => {
                    ready!(fd.poll_ready(cx, Direction::Read));
                    // Readable means exited; if `try_wait` still says no
                    // (it cannot, but never spin), wait for the next edge.
                    match self.std.as_mut().expect("present").try_wait()? {
                        Some(status) => {
                            reap_orphans();
                            return Poll::Ready(Ok(status));
                        }
                        None => fd.clear_ready(Direction::Read),
                    }
                }
                Watch::Sigchld(sig) => {
                    ready!(sig.poll_recv(cx));
                }
            }
        }
    }

    /// Waits for the exit in a detached task if a loop runs, else hands
    /// the child to the orphan list.
    pub(crate) fn reap_in_background(self) {
        if crate::runtime::context::is_running() {
            let mut reaper = self;
            drop(crate::spawn(async move {
                let _ = poll_fn(|cx| reaper.poll_exit(cx)).await;
            }));
        } else {
            drop(self);
        }
    }
}

impl Drop for Reaper {
    fn drop(&mut self) {
        if let Some(child) = self.std.take() {
            adopt(child);
        }
    }
}
