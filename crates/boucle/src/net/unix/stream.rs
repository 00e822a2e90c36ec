//! `UnixStream`: a Unix stream connection on the loop.

use std::fmt;
use std::future::poll_fn;
use std::future::Future;
use std::io;
use std::net::Shutdown;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, RawFd};
use std::os::unix::net::SocketAddr;
use std::path::Path;
use std::task::{Context, Poll};
use std::time::Duration;

use crate::io::{Direction, PollEvented};
use crate::net::ops::{self, impl_async_io, Read, ReadAhead, ReadExact, Write, WriteAll};
use crate::net::tcp::in_progress;

/// A Unix stream connection. Implements `futures_io::AsyncRead` and
/// `AsyncWrite`.
///
/// Reads smaller than [`READ_AHEAD`](crate::net::READ_AHEAD) bytes
/// read ahead into a small buffer of the stream (see
/// `net/ops.rs`): that saves the system call that would only
/// say `EAGAIN`. Bytes read ahead go along to the halves and to
/// `streams_from_*`; read the socket through its raw fd only before any
/// small read.
///
/// # Examples
///
/// ```
/// use boucle::net::UnixStream;
///
/// boucle::run(async {
///     let (mut a, mut b) = UnixStream::pair().unwrap();
///     a.write_all(b"ping").await.unwrap();
///     let mut buf = [0u8; 4];
///     b.read_exact(&mut buf).await.unwrap();
///     assert_eq!(&buf, b"ping");
/// });
/// ```
pub struct UnixStream {
    io: PollEvented<mio::net::UnixStream>,
    ahead: ReadAhead,
}

impl UnixStream {
    /// Connects to the socket at `path`. When the listener's backlog is
    /// full, retries for up to about a second.
    ///
    /// # Examples
    /// See [`UnixListener`](super::UnixListener).
    ///
    /// # Cancel safety
    /// Cancel-safe.
    ///
    /// # Errors
    /// `NotFound` / `ConnectionRefused` when nobody listens there; as
    /// `connect(2)`.
    ///
    /// # Panics
    /// Outside a running loop.
    pub async fn connect(path: impl AsRef<Path>) -> io::Result<UnixStream> {
        let path = path.as_ref();
        let mut backoff = Duration::from_millis(1);
        let stream = loop {
            match mio::net::UnixStream::connect(path) {
                Ok(s) => break UnixStream::from_mio(s)?,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock && backoff.as_millis() < 512 => {
                    // Backlog full: the socket is not connecting, retry.
                    crate::time::sleep(backoff).await;
                    backoff *= 2;
                }
                Err(e) => return Err(e),
            }
        };
        poll_fn(|cx| stream.poll_connected(cx)).await?;
        Ok(stream)
    }

    fn poll_connected(&self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let mut cleared = false;
        loop {
            if self.io.poll_ready(cx, Direction::Write).is_pending() {
                return Poll::Pending;
            }
            let sock = self.io.get_ref();
            if let Some(e) = sock.take_error()? {
                return Poll::Ready(Err(e));
            }
            match sock.peer_addr() {
                Ok(_) => return Poll::Ready(Ok(())),
                Err(e) if !cleared && in_progress(&e) => {
                    self.io.clear_ready(Direction::Write);
                    cleared = true;
                }
                Err(e) => return Poll::Ready(Err(e)),
            }
        }
    }

    /// A connected pair of streams (`socketpair(2)`).
    ///
    /// # Examples
    /// See [`UnixStream`].
    ///
    /// # Errors
    /// As `socketpair(2)`.
    ///
    /// # Panics
    /// Outside a running loop.
    #[track_caller]
    pub fn pair() -> io::Result<(UnixStream, UnixStream)> {
        let (a, b) = mio::net::UnixStream::pair()?;
        Ok((UnixStream::from_mio(a)?, UnixStream::from_mio(b)?))
    }

    pub(crate) fn from_mio(stream: mio::net::UnixStream) -> io::Result<UnixStream> {
        Ok(UnixStream {
            io: PollEvented::new(stream)?,
            ahead: ReadAhead::default(),
        })
    }

    /// Wraps a connected std stream (made non-blocking here).
    ///
    /// # Examples
    ///
    /// ```
    /// boucle::run(async {
    ///     let (a, _b) = std::os::unix::net::UnixStream::pair().unwrap();
    ///     let a = boucle::net::UnixStream::from_std(a).unwrap();
    ///     assert!(a.peer_addr().unwrap().is_unnamed());
    /// });
    /// ```
    ///
    /// # Errors
    /// If the socket cannot be made non-blocking or registered.
    ///
    /// # Panics
    /// Outside a running loop.
    #[track_caller]
    pub fn from_std(stream: std::os::unix::net::UnixStream) -> io::Result<UnixStream> {
        stream.set_nonblocking(true)?;
        UnixStream::from_mio(mio::net::UnixStream::from_std(stream))
    }

    /// The local address.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::net::Shutdown;
    /// use boucle::net::UnixStream;
    ///
    /// boucle::run(async {
    ///     let (mut a, b) = UnixStream::pair().unwrap();
    ///     assert!(a.local_addr().unwrap().is_unnamed());
    ///     assert!(b.peer_addr().unwrap().is_unnamed());
    ///     b.shutdown(Shutdown::Write).unwrap();
    ///     let mut buf = [0u8; 1];
    ///     assert_eq!(a.read(&mut buf).await.unwrap(), 0);
    /// });
    /// ```
    ///
    /// # Errors
    /// As `getsockname`.
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.io.get_ref().local_addr()
    }

    /// The peer's address.
    ///
    /// # Examples
    /// See [`local_addr`](UnixStream::local_addr).
    ///
    /// # Errors
    /// As `getpeername`.
    pub fn peer_addr(&self) -> io::Result<SocketAddr> {
        self.io.get_ref().peer_addr()
    }

    /// Shuts down reading, writing or both (`Shutdown::Write`: half-close).
    ///
    /// # Examples
    /// See [`local_addr`](UnixStream::local_addr).
    ///
    /// # Errors
    /// As `shutdown(2)`.
    pub fn shutdown(&self, how: Shutdown) -> io::Result<()> {
        self.io.get_ref().shutdown(how)
    }

    /// Reads once, up to `buf.len()` bytes; `Ok(0)` at end of stream.
    ///
    /// # Examples
    /// See [`UnixStream`].
    ///
    /// # Cancel safety
    /// Cancel-safe.
    ///
    /// # Errors
    /// The socket's error.
    pub fn read<'a>(
        &'a mut self,
        buf: &'a mut [u8],
    ) -> impl Future<Output = io::Result<usize>> + 'a {
        Read::new(&self.io, &mut self.ahead, buf)
    }

    /// Fills `buf` completely.
    ///
    /// # Examples
    /// See [`UnixStream`].
    ///
    /// # Cancel safety
    /// Not cancel-safe: bytes read before the future is dropped are lost.
    ///
    /// # Errors
    /// `UnexpectedEof` if the stream ends first; the socket's error.
    pub fn read_exact<'a>(
        &'a mut self,
        buf: &'a mut [u8],
    ) -> impl Future<Output = io::Result<()>> + 'a {
        ReadExact::new(&self.io, &mut self.ahead, buf)
    }

    /// Writes once, some prefix of `buf`.
    ///
    /// # Examples
    /// See [`UnixStream`].
    ///
    /// # Cancel safety
    /// Cancel-safe.
    ///
    /// # Errors
    /// The socket's error.
    pub fn write<'a>(&'a mut self, buf: &'a [u8]) -> impl Future<Output = io::Result<usize>> + 'a {
        Write::new(&self.io, buf)
    }

    /// Writes all of `buf`.
    ///
    /// # Examples
    /// See [`UnixStream`].
    ///
    /// # Cancel safety
    /// Not cancel-safe: a dropped `write_all` wrote an unknown prefix.
    ///
    /// # Errors
    /// The socket's error; `WriteZero`.
    pub fn write_all<'a>(&'a mut self, buf: &'a [u8]) -> impl Future<Output = io::Result<()>> + 'a {
        WriteAll::new(&self.io, buf)
    }

    pub(crate) fn io(&self) -> &PollEvented<mio::net::UnixStream> {
        &self.io
    }

    fn parts(&mut self) -> (&PollEvented<mio::net::UnixStream>, &mut ReadAhead) {
        (&self.io, &mut self.ahead)
    }

    /// The bytes read ahead of the reader, taken out.
    pub(crate) fn take_read_ahead(&mut self) -> Vec<u8> {
        self.ahead.take()
    }
}

impl_async_io!(read: UnixStream, parts);
impl_async_io!(write: UnixStream, io, |s| ops::shutdown_write(s.io()));

impl AsRawFd for UnixStream {
    fn as_raw_fd(&self) -> RawFd {
        self.io.get_ref().as_raw_fd()
    }
}

impl AsFd for UnixStream {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.io.get_ref().as_fd()
    }
}

impl fmt::Debug for UnixStream {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("UnixStream")
            .field("local", &self.local_addr().ok())
            .field("peer", &self.peer_addr().ok())
            .field("fd", &self.as_raw_fd())
            .finish()
    }
}
