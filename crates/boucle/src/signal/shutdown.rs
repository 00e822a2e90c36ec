//! Graceful shutdown on SIGINT / SIGTERM: stop accepting, let the work in
//! flight finish up to a deadline, then cancel the rest; a second signal
//! ends the process at once.
//!
//! [`Shutdown::run`] drives a long-running future (a server's accept loop)
//! until the first SIGINT or SIGTERM, drops it (which stops accepting),
//! then runs the *drain* future you give it (wait for the connections in
//! flight) for at most the grace period. Whatever is still running after
//! it is cancelled when the loop ends: [`boucle::run`](crate::run) and
//! dropping a [`Runtime`](crate::Runtime) cancel every task left. A second
//! signal during the grace period exits the process at once with
//! 128 + the signal number (130 for a second Ctrl-C), as shells report a
//! process killed by that signal.
//!
//! [`Runtime::shutdown_timeout`](crate::Runtime::shutdown_timeout) is the
//! other half: how long to wait for blocking jobs once the tasks are gone.
//!
//! # Examples
//!
//! ```
//! use std::rc::Rc;
//! use std::time::Duration;
//! use boucle::net::{start_server, StreamReader, StreamWriter};
//! use boucle::shutdown::{Outcome, Shutdown};
//!
//! boucle::run(async {
//!     let handler = |_r: StreamReader, _w: StreamWriter| async {};
//!     let server = Rc::new(start_server(handler, "127.0.0.1", 0).await.unwrap());
//!     let shutdown = Shutdown::new().unwrap().grace(Duration::from_secs(5));
//!     // In a real server nobody sends the signal but the user; here, this process.
//!     let me = std::process::id().to_string();
//!     std::process::Command::new("kill").args(["-TERM", &me]).status().unwrap();
//!     let s = server.clone();
//!     let outcome = shutdown
//!         .run(server.serve_forever(), |_signal| async move {
//!             s.close();
//!             s.wait_closed().await; // the connections in flight finish
//!         })
//!         .await;
//!     assert!(matches!(outcome, Outcome::Drained { .. }));
//! });
//! ```

use std::fmt;
use std::future::{poll_fn, Future};
use std::io;
use std::pin::pin;
use std::task::{Context, Poll};
use std::time::Duration;

use super::{signal, Signal, SignalKind};

/// The default grace period: 10 s.
pub const DEFAULT_GRACE: Duration = Duration::from_secs(10);

/// How [`Shutdown::run`] ended.
#[derive(Debug, Clone, PartialEq, Eq)]
#[must_use = "tells whether the work in flight finished"]
pub enum Outcome<T> {
    /// The served future finished by itself, with this output.
    Finished(T),
    /// A signal came, and the drain finished within the grace period.
    Drained {
        /// The signal that asked for the shutdown.
        signal: SignalKind,
    },
    /// A signal came, and the drain was still running after the grace
    /// period: it was dropped (cancelled).
    TimedOut {
        /// The signal that asked for the shutdown.
        signal: SignalKind,
    },
    /// A second signal came during the grace period, with
    /// [`exit_on_second_signal(false)`](Shutdown::exit_on_second_signal).
    Forced {
        /// The first signal.
        signal: SignalKind,
        /// The second one.
        second: SignalKind,
    },
}

/// Listens to SIGINT and SIGTERM and runs a graceful shutdown (see the
/// [module](self)).
#[must_use = "a Shutdown listens from its creation; call run() or requested()"]
pub struct Shutdown {
    interrupt: Signal,
    terminate: Signal,
    grace: Duration,
    exit_on_second: bool,
    on_signal: Option<Box<dyn FnMut(SignalKind)>>,
}

impl Shutdown {
    /// Starts listening to SIGINT and SIGTERM now (from here on, they no
    /// longer end the process by themselves: see `boucle::signal`).
    ///
    /// # Errors
    /// If the handlers cannot be installed.
    ///
    /// # Panics
    /// Outside a running loop.
    pub fn new() -> io::Result<Shutdown> {
        Ok(Shutdown {
            interrupt: signal(SignalKind::interrupt())?,
            terminate: signal(SignalKind::terminate())?,
            grace: DEFAULT_GRACE,
            exit_on_second: true,
            on_signal: None,
        })
    }

    /// How long the drain may run after the first signal (default 10 s).
    pub fn grace(mut self, grace: Duration) -> Shutdown {
        self.grace = grace;
        self
    }

    /// Whether a second signal during the grace period exits the process
    /// at once with 128 + its number (default true; false makes
    /// [`run`](Shutdown::run) return [`Outcome::Forced`] instead).
    pub fn exit_on_second_signal(mut self, exit: bool) -> Shutdown {
        self.exit_on_second = exit;
        self
    }

    /// Calls `f` with the first signal as it arrives, before the drain
    /// starts (to print "stopping..." and the like).
    pub fn on_signal(mut self, f: impl FnMut(SignalKind) + 'static) -> Shutdown {
        self.on_signal = Some(Box::new(f));
        self
    }

    /// Waits for the next SIGINT or SIGTERM; returns which.
    ///
    /// # Cancel safety
    /// Cancel-safe.
    pub async fn requested(&mut self) -> SignalKind {
        poll_fn(|cx| self.poll_signal(cx)).await
    }

    fn poll_signal(&mut self, cx: &mut Context<'_>) -> Poll<SignalKind> {
        if self.interrupt.poll_recv(cx).is_ready() {
            return Poll::Ready(SignalKind::interrupt());
        }
        if self.terminate.poll_recv(cx).is_ready() {
            return Poll::Ready(SignalKind::terminate());
        }
        Poll::Pending
    }

    /// Runs `serve` until it finishes or a signal comes. On a signal,
    /// drops `serve`, then runs `drain(signal)` for at most the grace
    /// period (see the [module](self)).
    ///
    /// # Examples
    /// See the [module](self).
    ///
    /// # Cancel safety
    /// Dropping it drops `serve` or the drain.
    pub async fn run<F, D, DF>(mut self, serve: F, drain: D) -> Outcome<F::Output>
    where
        F: Future,
        D: FnOnce(SignalKind) -> DF,
        DF: Future,
    {
        let first = {
            let mut serve = pin!(serve);
            let first = poll_fn(|cx| {
                if let Poll::Ready(v) = serve.as_mut().poll(cx) {
                    return Poll::Ready(Err(v));
                }
                self.poll_signal(cx).map(Ok)
            })
            .await;
            match first {
                Ok(signal) => signal,
                Err(output) => return Outcome::Finished(output),
            }
            // `serve` is dropped here: it stops accepting.
        };
        if let Some(f) = &mut self.on_signal {
            f(first);
        }
        let mut drain = pin!(crate::timeout(self.grace, drain(first)));
        let ended = poll_fn(|cx| {
            if let Poll::Ready(r) = drain.as_mut().poll(cx) {
                return Poll::Ready(Ok(r.is_ok()));
            }
            self.poll_signal(cx).map(Err)
        })
        .await;
        match ended {
            Ok(true) => Outcome::Drained { signal: first },
            Ok(false) => Outcome::TimedOut { signal: first },
            Err(second) if self.exit_on_second => {
                eprintln!("boucle: {second} again during the graceful shutdown: exiting now");
                std::process::exit(128 + second.as_raw());
            }
            Err(second) => Outcome::Forced {
                signal: first,
                second,
            },
        }
    }
}

impl fmt::Debug for Shutdown {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Shutdown")
            .field("grace", &self.grace)
            .field("exit_on_second_signal", &self.exit_on_second)
            .finish_non_exhaustive()
    }
}
