//! Unix signals as loop events (asyncio's `loop.add_signal_handler`,
//! tokio's `tokio::signal`).
//!
//! [`ctrl_c`] waits for SIGINT; [`signal`] gives a [`Signal`], a `Stream`
//! that yields once per delivery of its signal (deliveries that come while
//! nobody looks are merged into one, as the kernel merges them too).
//!
//! How: a process-wide handler (installed with signal-hook, the
//! async-signal-safe self-pipe action) writes one byte to a pipe per loop
//! that listens; the loop's reactor sees the pipe readable and wakes the
//! listeners. No thread, no `signalfd` (which needs the signal blocked in
//! every thread of the process), and several loops in one process each get
//! every signal.
//!
//! Once a signal is listened to, its handler stays installed for the life
//! of the process, as in tokio: the default action (SIGINT and SIGTERM end
//! the process) no longer happens, even after every [`Signal`] is dropped.
//! A program that wants the default back exits by itself (see
//! [`boucle::shutdown`](crate::shutdown)). SIGKILL, SIGSTOP, SIGILL, SIGFPE
//! and SIGSEGV cannot be listened to.
//!
//! # Examples
//!
//! ```
//! use boucle::signal::{signal, SignalKind};
//!
//! boucle::run(async {
//!     let mut usr1 = signal(SignalKind::user_defined1()).unwrap();
//!     // Someone sends SIGUSR1 (here, this very process).
//!     let me = std::process::id().to_string();
//!     std::process::Command::new("kill").args(["-USR1", &me]).status().unwrap();
//!     usr1.recv().await.unwrap();
//! });
//! ```

mod registry;
pub mod shutdown;

use std::fmt;
use std::future::poll_fn;
use std::io;
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Poll};

use futures_core::Stream;
use signal_hook::consts as sig;

use registry::Entry;

/// Which signal: a named constructor per common signal, or
/// [`from_raw`](SignalKind::from_raw).
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct SignalKind(i32);

impl SignalKind {
    /// SIGHUP: the terminal went away; daemons reload their configuration.
    pub const fn hangup() -> SignalKind {
        SignalKind(sig::SIGHUP)
    }

    /// SIGINT: Ctrl-C.
    pub const fn interrupt() -> SignalKind {
        SignalKind(sig::SIGINT)
    }

    /// SIGQUIT: Ctrl-\.
    pub const fn quit() -> SignalKind {
        SignalKind(sig::SIGQUIT)
    }

    /// SIGTERM: asked to end (`kill`, service managers, container stops).
    pub const fn terminate() -> SignalKind {
        SignalKind(sig::SIGTERM)
    }

    /// SIGUSR1 (tokio's name).
    pub const fn user_defined1() -> SignalKind {
        SignalKind(sig::SIGUSR1)
    }

    /// SIGUSR1.
    pub const fn user1() -> SignalKind {
        SignalKind::user_defined1()
    }

    /// SIGUSR2 (tokio's name).
    pub const fn user_defined2() -> SignalKind {
        SignalKind(sig::SIGUSR2)
    }

    /// SIGUSR2.
    pub const fn user2() -> SignalKind {
        SignalKind::user_defined2()
    }

    /// SIGCHLD: a child process stopped or exited.
    pub const fn child() -> SignalKind {
        SignalKind(sig::SIGCHLD)
    }

    /// SIGPIPE: a write to a pipe nobody reads.
    pub const fn pipe() -> SignalKind {
        SignalKind(sig::SIGPIPE)
    }

    /// SIGALRM: a timer set with `alarm(2)`.
    pub const fn alarm() -> SignalKind {
        SignalKind(sig::SIGALRM)
    }

    /// SIGWINCH: the terminal changed size.
    pub const fn window_change() -> SignalKind {
        SignalKind(sig::SIGWINCH)
    }

    /// Any signal by number (`libc::SIGRTMIN() + 1`, say).
    pub const fn from_raw(signum: i32) -> SignalKind {
        SignalKind(signum)
    }

    /// The signal number.
    pub const fn as_raw(self) -> i32 {
        self.0
    }
}

impl fmt::Debug for SignalKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SignalKind({self})")
    }
}

impl fmt::Display for SignalKind {
    /// `SIGTERM`, or the number for a signal without a name.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match signal_hook::low_level::signal_name(self.0) {
            Some(name) => f.write_str(name),
            None => write!(f, "signal {}", self.0),
        }
    }
}

/// Listens to `kind` on the running loop from now on: deliveries from this
/// call on are not lost, even before the first `recv`.
///
/// # Examples
/// See the [module](self).
///
/// # Errors
/// `InvalidInput` for a signal that cannot be handled (SIGKILL, SIGSTOP,
/// SIGILL, SIGFPE, SIGSEGV) or is not a signal; an OS error if the pipe
/// cannot be made.
///
/// # Panics
/// Outside a running loop.
#[track_caller]
pub fn signal(kind: SignalKind) -> io::Result<Signal> {
    if signal_hook::consts::FORBIDDEN.contains(&kind.0) || !(1..=64).contains(&kind.0) {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("boucle::signal: {kind} cannot be listened to"),
        ));
    }
    let entry = Entry::get(kind)?;
    let seen = entry.generation();
    Ok(Signal { entry, seen, kind })
}

/// Waits for Ctrl-C (SIGINT), tokio's `ctrl_c`. The handler is installed
/// at the first poll, and stays (see the [module](self)).
///
/// # Examples
///
/// ```no_run
/// boucle::run(async {
///     println!("Ctrl-C to stop");
///     boucle::signal::ctrl_c().await.unwrap();
///     println!("bye");
/// });
/// ```
///
/// # Errors
/// As [`signal`].
pub async fn ctrl_c() -> io::Result<()> {
    let mut s = signal(SignalKind::interrupt())?;
    s.recv().await;
    Ok(())
}

/// The deliveries of one signal to this loop: a `futures_core::Stream` of
/// `()`, and [`recv`](Signal::recv).
#[must_use = "a Signal listens from its creation; await recv() to see deliveries"]
pub struct Signal {
    entry: Rc<Entry>,
    seen: u64,
    kind: SignalKind,
}

impl Signal {
    /// Waits for the next delivery (since this listener was created or
    /// last received). Never returns `None` today; the `Option` is tokio's
    /// signature.
    ///
    /// # Cancel safety
    /// Cancel-safe: a delivery is kept for the next call.
    pub async fn recv(&mut self) -> Option<()> {
        poll_fn(|cx| self.poll_recv(cx)).await
    }

    /// Polls for the next delivery.
    pub fn poll_recv(&mut self, cx: &mut Context<'_>) -> Poll<Option<()>> {
        match self.entry.poll_past(cx, self.seen) {
            Poll::Ready(generation) => {
                self.seen = generation;
                Poll::Ready(Some(()))
            }
            Poll::Pending => Poll::Pending,
        }
    }

    /// The signal listened to.
    pub fn kind(&self) -> SignalKind {
        self.kind
    }
}

impl Stream for Signal {
    type Item = ();

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<()>> {
        self.get_mut().poll_recv(cx)
    }
}

impl fmt::Debug for Signal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Signal").field("kind", &self.kind).finish()
    }
}
