//! `PollEvented`: an OS source registered with the running loop.

use std::io;
use std::rc::Rc;
use std::task::{Context, Poll};

use mio::event::Source;
use mio::Interest;

use super::driver::IoDriver;
use super::reactor::{Direction, IoKey};
use crate::runtime::context;

/// A mio source (socket, pipe, any fd through `mio::unix::SourceFd`)
/// registered with the running loop's reactor, with the readiness
/// protocol that edge-triggered epoll needs: try the operation, and only
/// when it returns `WouldBlock` forget the readiness and wait.
///
/// The socket types of `boucle::net` are built on it. It is crate-internal
/// (its type parameter is a mio source); other fds join the loop through
/// the public [`AsyncFd`](super::AsyncFd).
///
/// The source is deregistered when the `PollEvented` is dropped.
///
pub(crate) struct PollEvented<S: Source> {
    source: Option<S>,
    key: IoKey,
    io: Rc<IoDriver>,
}

impl<S: Source> PollEvented<S> {
    /// Registers `source` for reading and writing.
    ///
    /// # Errors
    /// If epoll refuses the source.
    ///
    /// # Panics
    /// Outside a running loop.
    #[track_caller]
    pub fn new(source: S) -> io::Result<PollEvented<S>> {
        Self::with_interest(source, Interest::READABLE | Interest::WRITABLE)
    }

    /// Registers `source` with the given interest.
    ///
    /// # Errors
    /// If epoll refuses the source.
    ///
    /// # Panics
    /// Outside a running loop.
    #[track_caller]
    pub fn with_interest(mut source: S, interest: Interest) -> io::Result<PollEvented<S>> {
        let io = context::current().io().clone();
        let key = io.register(&mut source, interest)?;
        Ok(PollEvented {
            source: Some(source),
            key,
            io,
        })
    }

    /// The source.
    pub fn get_ref(&self) -> &S {
        self.source.as_ref().expect("present until drop")
    }

    /// Ready once the source may be ready in `dir` (or closed, or errored).
    pub fn poll_ready(&self, cx: &mut Context<'_>, dir: Direction) -> Poll<()> {
        if crate::coop::poll_proceed(cx).is_pending() {
            return Poll::Pending;
        }
        self.io.poll_ready(self.key, dir, cx)
    }

    /// Forgets readiness in `dir` (after an operation returned `WouldBlock`).
    pub fn clear_ready(&self, dir: Direction) {
        self.io.clear_ready(self.key, dir);
    }

    /// Runs `op` when the source is ready in `dir`, retrying after waiting
    /// whenever it returns `WouldBlock`.
    pub fn poll_io<R>(
        &self,
        cx: &mut Context<'_>,
        dir: Direction,
        mut op: impl FnMut(&S) -> io::Result<R>,
    ) -> Poll<io::Result<R>> {
        loop {
            if self.poll_ready(cx, dir).is_pending() {
                return Poll::Pending;
            }
            match op(self.get_ref()) {
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => self.clear_ready(dir),
                other => return Poll::Ready(other),
            }
        }
    }

    /// Deregisters and gives the source back.
    ///
    /// # Errors
    /// If epoll refuses the deregistration.
    pub fn into_inner(mut self) -> io::Result<S> {
        let mut source = self.source.take().expect("present until drop");
        self.io.deregister(&mut source, self.key)?;
        Ok(source)
    }
}

impl<S: Source> Drop for PollEvented<S> {
    fn drop(&mut self) {
        if let Some(mut source) = self.source.take() {
            // The fd closes right after: an error here changes nothing.
            let _ = self.io.deregister(&mut source, self.key);
        }
    }
}

impl<S: Source + std::fmt::Debug> std::fmt::Debug for PollEvented<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PollEvented")
            .field("source", &self.source)
            .finish()
    }
}

// Direction is re-exported from `io`; keep the import used for docs.
#[allow(unused_imports)]
use Direction as _;
