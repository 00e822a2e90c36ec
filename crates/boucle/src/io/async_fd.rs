//! `AsyncFd`: any file descriptor that supports readiness (a socket, a pipe,
//! a pidfd, an eventfd, a device), registered with the running loop's
//! reactor (tokio's `AsyncFd`). It is the public door to the reactor, and
//! it keeps mio's types out of boucle's API.

use std::fmt;
use std::future::poll_fn;
use std::io;
use std::os::fd::{AsRawFd, RawFd};
use std::rc::Rc;
use std::task::{Context, Poll};

use mio::unix::SourceFd;

use super::driver::IoDriver;
use super::reactor::{Direction, IoKey};
use crate::runtime::context;

/// `EPERM`, which epoll returns for an fd that has no readiness.
fn libc_eperm() -> i32 {
    rustix::io::Errno::PERM.raw_os_error()
}

/// Which readiness an [`AsyncFd`] waits for.
///
/// # Examples
///
/// ```
/// use boucle::io::Interest;
/// let both = Interest::READABLE | Interest::WRITABLE;
/// assert!(both.is_readable() && both.is_writable());
/// assert!(!Interest::READABLE.is_writable());
/// ```
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct Interest(u8);

impl Interest {
    /// Readable (or peer closed, or an error).
    pub const READABLE: Interest = Interest(1);
    /// Writable (or an error).
    pub const WRITABLE: Interest = Interest(2);

    /// Whether it includes readability.
    pub fn is_readable(self) -> bool {
        self.0 & 1 != 0
    }

    /// Whether it includes writability.
    pub fn is_writable(self) -> bool {
        self.0 & 2 != 0
    }

    fn to_mio(self) -> mio::Interest {
        match (self.is_readable(), self.is_writable()) {
            (true, true) => mio::Interest::READABLE | mio::Interest::WRITABLE,
            (false, true) => mio::Interest::WRITABLE,
            _ => mio::Interest::READABLE,
        }
    }
}

impl std::ops::BitOr for Interest {
    type Output = Interest;
    fn bitor(self, other: Interest) -> Interest {
        Interest(self.0 | other.0)
    }
}

impl fmt::Debug for Interest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (self.is_readable(), self.is_writable()) {
            (true, true) => f.write_str("READABLE | WRITABLE"),
            (true, false) => f.write_str("READABLE"),
            _ => f.write_str("WRITABLE"),
        }
    }
}

/// A file descriptor registered with the loop's reactor: wait until it is
/// readable or writable, then do the (non-blocking) I/O yourself.
///
/// The fd must be in non-blocking mode (`O_NONBLOCK`). Readiness follows
/// epoll's edge-triggered rule: after an operation returns `WouldBlock`,
/// clear the readiness ([`ReadyGuard::clear_ready`], or use
/// [`ReadyGuard::try_io`] / [`AsyncFd::async_io`], which do it for you), and
/// the next wait lasts until new readiness arrives. The fd is deregistered
/// when the `AsyncFd` is dropped (and closed if `T` owns it).
///
/// # Examples
///
/// ```
/// use std::io::{Read, Write};
/// use std::os::unix::net::UnixStream;
/// use boucle::io::{AsyncFd, Interest};
///
/// boucle::run(async {
///     let (a, mut b) = UnixStream::pair().unwrap();
///     a.set_nonblocking(true).unwrap();
///     let a = AsyncFd::with_interest(a, Interest::READABLE).unwrap();
///     boucle::spawn(async move { b.write_all(b"ping").unwrap() });
///     let mut buf = [0u8; 4];
///     let n = a.async_io(Interest::READABLE, |s| (&*s).read(&mut buf)).await.unwrap();
///     assert_eq!(&buf[..n], b"ping");
/// });
/// ```
pub struct AsyncFd<T: AsRawFd> {
    io: Rc<IoDriver>,
    key: IoKey,
    fd: RawFd,
    inner: Option<T>,
}

impl<T: AsRawFd> AsyncFd<T> {
    /// Registers `inner` for reading and writing.
    ///
    /// # Errors
    /// If epoll refuses the fd (a regular file, say: files have no
    /// readiness, use `boucle::fs`).
    ///
    /// # Panics
    /// Outside a running loop.
    #[track_caller]
    pub fn new(inner: T) -> io::Result<AsyncFd<T>> {
        AsyncFd::with_interest(inner, Interest::READABLE | Interest::WRITABLE)
    }

    /// Registers `inner` for the given readiness.
    ///
    /// # Errors
    /// As [`new`](AsyncFd::new).
    ///
    /// # Panics
    /// Outside a running loop.
    #[track_caller]
    pub fn with_interest(inner: T, interest: Interest) -> io::Result<AsyncFd<T>> {
        let io = context::current().io().clone();
        let fd = inner.as_raw_fd();
        let key = io
            .register(&mut SourceFd(&fd), interest.to_mio())
            .map_err(|e| {
                if e.raw_os_error() == Some(libc_eperm()) {
                    // epoll refuses fds without readiness.
                    io::Error::new(
                        e.kind(),
                        format!(
                            "fd {fd} cannot wait for readiness ({e}): regular files have none, \
                             use boucle::fs"
                        ),
                    )
                } else {
                    e
                }
            })?;
        Ok(AsyncFd {
            io,
            key,
            fd,
            inner: Some(inner),
        })
    }

    /// The wrapped value.
    pub fn get_ref(&self) -> &T {
        self.inner.as_ref().expect("present until drop")
    }

    /// The wrapped value, mutably.
    pub fn get_mut(&mut self) -> &mut T {
        self.inner.as_mut().expect("present until drop")
    }

    /// Deregisters the fd and gives the value back.
    pub fn into_inner(mut self) -> T {
        self.deregister();
        self.inner.take().expect("present until drop")
    }

    fn deregister(&mut self) {
        // The fd may already be closed by its owner: nothing to undo then.
        let _ = self.io.deregister(&mut SourceFd(&self.fd), self.key);
    }

    fn poll_ready(&self, cx: &mut Context<'_>, dir: Direction) -> Poll<()> {
        if crate::coop::poll_proceed(cx).is_pending() {
            return Poll::Pending;
        }
        self.io.poll_ready(self.key, dir, cx)
    }

    /// Ready once the fd may be readable (or closed, or in error).
    pub fn poll_read_ready(&self, cx: &mut Context<'_>) -> Poll<ReadyGuard<'_, T>> {
        self.poll_ready(cx, Direction::Read).map(|()| ReadyGuard {
            fd: self,
            dir: Direction::Read,
        })
    }

    /// Ready once the fd may be writable (or in error).
    pub fn poll_write_ready(&self, cx: &mut Context<'_>) -> Poll<ReadyGuard<'_, T>> {
        self.poll_ready(cx, Direction::Write).map(|()| ReadyGuard {
            fd: self,
            dir: Direction::Write,
        })
    }

    /// Waits until the fd may be readable.
    ///
    /// # Cancel safety
    /// Cancel-safe: waiting takes nothing.
    pub async fn readable(&self) -> ReadyGuard<'_, T> {
        poll_fn(|cx| self.poll_read_ready(cx)).await
    }

    /// Waits until the fd may be writable.
    ///
    /// # Cancel safety
    /// Cancel-safe: waiting takes nothing.
    pub async fn writable(&self) -> ReadyGuard<'_, T> {
        poll_fn(|cx| self.poll_write_ready(cx)).await
    }

    /// Runs `op` once the fd is ready for `interest` (readable if it
    /// includes it, else writable), clearing the readiness and waiting again
    /// each time `op` returns `WouldBlock`.
    ///
    /// # Errors
    /// What `op` returns, other than `WouldBlock`.
    pub async fn async_io<R>(
        &self,
        interest: Interest,
        mut op: impl FnMut(&T) -> io::Result<R>,
    ) -> io::Result<R> {
        let dir = if interest.is_readable() {
            Direction::Read
        } else {
            Direction::Write
        };
        loop {
            poll_fn(|cx| self.poll_ready(cx, dir)).await;
            match op(self.get_ref()) {
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                    self.io.clear_ready(self.key, dir)
                }
                other => return other,
            }
        }
    }
}

impl<T: AsRawFd> Drop for AsyncFd<T> {
    fn drop(&mut self) {
        if self.inner.is_some() {
            self.deregister();
        }
    }
}

impl<T: AsRawFd + fmt::Debug> fmt::Debug for AsyncFd<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AsyncFd")
            .field("inner", &self.inner)
            .finish()
    }
}

/// The fd may be ready in one direction (from [`AsyncFd::readable`] or
/// [`AsyncFd::writable`]). Do the I/O; after `WouldBlock`, clear the
/// readiness so the next wait waits for new readiness.
pub struct ReadyGuard<'a, T: AsRawFd> {
    fd: &'a AsyncFd<T>,
    dir: Direction,
}

impl<'a, T: AsRawFd> ReadyGuard<'a, T> {
    /// Forgets the readiness: the next wait lasts until epoll reports new
    /// readiness. Call it after an operation returned `WouldBlock`.
    pub fn clear_ready(&mut self) {
        self.fd.io.clear_ready(self.fd.key, self.dir);
    }

    /// The `AsyncFd`.
    pub fn get_ref(&self) -> &'a AsyncFd<T> {
        self.fd
    }

    /// Runs `op`; if it returns `WouldBlock`, clears the readiness and gives
    /// `Err(WouldBlock)` back, so the caller waits again.
    ///
    /// # Errors
    /// `Err(WouldBlock)` (readiness cleared), or `op`'s result.
    pub fn try_io<R>(&mut self, op: impl FnOnce(&'a AsyncFd<T>) -> io::Result<R>) -> io::Result<R> {
        match op(self.fd) {
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                self.clear_ready();
                Err(e)
            }
            other => other,
        }
    }
}

impl<T: AsRawFd> fmt::Debug for ReadyGuard<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ReadyGuard")
            .field("direction", &self.dir)
            .finish()
    }
}
