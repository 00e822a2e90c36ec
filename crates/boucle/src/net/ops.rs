//! The futures of byte-stream reads and writes, shared by every stream
//! type ([`TcpStream`](super::TcpStream), its halves,
//! [`UnixStream`](super::UnixStream)).
//!
//! Each one tries the system call when the source's cached readiness says
//! it may succeed, and waits only after `WouldBlock`. Two rules save the
//! system call that would only return `WouldBlock`:
//!
//! * **Short transfers.** A stream read that returns fewer bytes than asked
//!   emptied the socket's receive queue (TCP and Unix streams copy until
//!   the buffer is full or the queue is empty), and a short write filled
//!   the send buffer: the readiness is forgotten at once, and the next
//!   operation waits for the next epoll edge (Linux reports one for every
//!   arrival). tokio does the same.
//! * **Read-ahead.** A small read (under [`READ_AHEAD`] bytes) reads up to
//!   `READ_AHEAD` bytes into a per-stream buffer, allocated on first use,
//!   and hands out what was asked; the rest serves the next reads. So a
//!   protocol that reads exactly the message it expects (`read_exact` of a
//!   64-byte reply) still sees a short read and never calls `recv` just to
//!   hear `EAGAIN`.
//!
//! The futures hold a borrow of the stream, which stays exclusively
//! borrowed (`&mut`) for the future's life.

use std::future::Future;
use std::io::{self, IoSlice, Read as _, Write as _};
use std::net::Shutdown;
use std::pin::Pin;
use std::task::{ready, Context, Poll};

use mio::event::Source;

use crate::io::{Direction, PollEvented};

/// A mio stream whose shared reference reads and writes (`&TcpStream`,
/// `&UnixStream`). Crate-internal: mio's types stay out of boucle's API.
pub(crate) trait StreamSource: Source {
    /// Reads from a shared reference.
    fn read_ref(&self, buf: &mut [u8]) -> io::Result<usize>;
    /// Writes from a shared reference.
    fn write_ref(&self, buf: &[u8]) -> io::Result<usize>;
    /// Writes several buffers.
    fn write_vectored_ref(&self, bufs: &[IoSlice<'_>]) -> io::Result<usize>;
    /// Shuts down one or both directions.
    fn shutdown_ref(&self, how: Shutdown) -> io::Result<()>;
}

macro_rules! stream_source {
    ($($t:ty),*) => {$(
        impl StreamSource for $t {
            fn read_ref(&self, buf: &mut [u8]) -> io::Result<usize> {
                let mut s = self;
                s.read(buf)
            }
            fn write_ref(&self, buf: &[u8]) -> io::Result<usize> {
                let mut s = self;
                s.write(buf)
            }
            fn write_vectored_ref(&self, bufs: &[IoSlice<'_>]) -> io::Result<usize> {
                let mut s = self;
                s.write_vectored(bufs)
            }
            fn shutdown_ref(&self, how: Shutdown) -> io::Result<()> {
                self.shutdown(how)
            }
        }
    )*};
}

stream_source!(mio::net::TcpStream, mio::net::UnixStream);

/// Reads straight into `buf`; a short read forgets the read readiness.
pub(crate) fn poll_read<S: StreamSource>(
    io: &PollEvented<S>,
    cx: &mut Context<'_>,
    buf: &mut [u8],
) -> Poll<io::Result<usize>> {
    let len = buf.len();
    if len == 0 {
        return Poll::Ready(Ok(0));
    }
    let n = ready!(io.poll_io(cx, Direction::Read, |s| s.read_ref(buf)))?;
    if n > 0 && n < len {
        io.clear_ready(Direction::Read);
    }
    Poll::Ready(Ok(n))
}

/// Reads smaller than this go through the stream's read-ahead buffer.
///
/// # Examples
///
/// ```
/// assert_eq!(boucle::net::READ_AHEAD, 4096);
/// ```
pub const READ_AHEAD: usize = 4096;

/// The bytes a stream read from its socket ahead of its reader.
#[derive(Default)]
pub(crate) struct ReadAhead {
    buf: Option<Box<[u8]>>,
    start: usize,
    end: usize,
}

impl ReadAhead {
    /// Bytes read ahead and not handed out yet.
    pub(crate) fn buffered(&self) -> usize {
        self.end - self.start
    }

    /// Takes the bytes read ahead (for a reader that takes over the socket).
    pub(crate) fn take(&mut self) -> Vec<u8> {
        let out = match &self.buf {
            Some(buf) => buf[self.start..self.end].to_vec(),
            None => Vec::new(),
        };
        self.start = 0;
        self.end = 0;
        out
    }

    fn copy_out(&mut self, out: &mut [u8]) -> usize {
        let Some(buf) = &self.buf else { return 0 };
        let n = out.len().min(self.end - self.start);
        out[..n].copy_from_slice(&buf[self.start..self.start + n]);
        self.start += n;
        n
    }
}

impl std::fmt::Debug for ReadAhead {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} bytes read ahead", self.buffered())
    }
}

/// Reads into `out`, through the read-ahead buffer when `out` is small.
pub(crate) fn poll_read_ahead<S: StreamSource>(
    io: &PollEvented<S>,
    ahead: &mut ReadAhead,
    cx: &mut Context<'_>,
    out: &mut [u8],
) -> Poll<io::Result<usize>> {
    if out.is_empty() {
        return Poll::Ready(Ok(0));
    }
    if ahead.buffered() > 0 {
        return Poll::Ready(Ok(ahead.copy_out(out)));
    }
    if out.len() >= READ_AHEAD {
        return poll_read(io, cx, out);
    }
    let buf = ahead
        .buf
        .get_or_insert_with(|| vec![0; READ_AHEAD].into_boxed_slice());
    let n = ready!(poll_read(io, cx, buf))?;
    ahead.start = 0;
    ahead.end = n;
    Poll::Ready(Ok(ahead.copy_out(out)))
}

/// Reads what is buffered, else makes one attempt now (no waiting).
pub(crate) fn try_read_ahead<S: StreamSource>(
    io: &PollEvented<S>,
    ahead: &mut ReadAhead,
    out: &mut [u8],
) -> io::Result<usize> {
    if ahead.buffered() > 0 || out.is_empty() {
        return Ok(ahead.copy_out(out));
    }
    let direct = out.len() >= READ_AHEAD;
    let target: &mut [u8] = if direct {
        out
    } else {
        ahead
            .buf
            .get_or_insert_with(|| vec![0; READ_AHEAD].into_boxed_slice())
    };
    let len = target.len();
    let n = try_op(io, Direction::Read, |s| s.read_ref(target))?;
    if n > 0 && n < len {
        io.clear_ready(Direction::Read);
    }
    if direct {
        return Ok(n);
    }
    ahead.start = 0;
    ahead.end = n;
    Ok(ahead.copy_out(out))
}

/// Writes from `buf`; a short write forgets the write readiness.
pub(crate) fn poll_write<S: StreamSource>(
    io: &PollEvented<S>,
    cx: &mut Context<'_>,
    buf: &[u8],
) -> Poll<io::Result<usize>> {
    let len = buf.len();
    if len == 0 {
        return Poll::Ready(Ok(0));
    }
    let n = ready!(io.poll_io(cx, Direction::Write, |s| s.write_ref(buf)))?;
    if n < len {
        io.clear_ready(Direction::Write);
    }
    Poll::Ready(Ok(n))
}

pub(crate) fn poll_write_vectored<S: StreamSource>(
    io: &PollEvented<S>,
    cx: &mut Context<'_>,
    bufs: &[IoSlice<'_>],
) -> Poll<io::Result<usize>> {
    io.poll_io(cx, Direction::Write, |s| s.write_vectored_ref(bufs))
}

/// One write attempt without waiting; `WouldBlock` or a short write
/// forgets the readiness.
pub(crate) fn try_write<S: StreamSource>(io: &PollEvented<S>, buf: &[u8]) -> io::Result<usize> {
    let n = try_op(io, Direction::Write, |s| s.write_ref(buf))?;
    if n < buf.len() {
        io.clear_ready(Direction::Write);
    }
    Ok(n)
}

pub(crate) fn try_op<S: Source, R>(
    io: &PollEvented<S>,
    dir: Direction,
    op: impl FnOnce(&S) -> io::Result<R>,
) -> io::Result<R> {
    let r = op(io.get_ref());
    if matches!(&r, Err(e) if e.kind() == io::ErrorKind::WouldBlock) {
        io.clear_ready(dir);
    }
    r
}

/// The future of `read`: reads once, up to `buf.len()` bytes.
///
/// # Examples
/// See [`TcpStream::read`](crate::net::TcpStream::read).
///
/// # Cancel safety
/// Cancel-safe: if it is dropped before completing, no byte was read.
#[must_use = "futures do nothing unless you .await them"]
#[derive(Debug)]
pub(crate) struct Read<'a, S: Source> {
    io: &'a PollEvented<S>,
    ahead: &'a mut ReadAhead,
    buf: &'a mut [u8],
}

impl<'a, S: Source> Read<'a, S> {
    pub(crate) fn new(io: &'a PollEvented<S>, ahead: &'a mut ReadAhead, buf: &'a mut [u8]) -> Self {
        Read { io, ahead, buf }
    }
}

impl<S: StreamSource> Future for Read<'_, S> {
    type Output = io::Result<usize>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        poll_read_ahead(this.io, this.ahead, cx, this.buf)
    }
}

/// The future of `write`: writes once, some prefix of the buffer.
///
/// # Examples
/// See [`TcpStream::write`](crate::net::TcpStream::write).
///
/// # Cancel safety
/// Cancel-safe: if it is dropped before completing, no byte was written.
#[must_use = "futures do nothing unless you .await them"]
#[derive(Debug)]
pub(crate) struct Write<'a, S: Source> {
    io: &'a PollEvented<S>,
    buf: &'a [u8],
}

impl<'a, S: Source> Write<'a, S> {
    pub(crate) fn new(io: &'a PollEvented<S>, buf: &'a [u8]) -> Self {
        Write { io, buf }
    }
}

impl<S: StreamSource> Future for Write<'_, S> {
    type Output = io::Result<usize>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<usize>> {
        poll_write(self.io, cx, self.buf)
    }
}

/// The future of `read_exact`: fills the whole buffer.
///
/// # Examples
/// See [`TcpStream::read_exact`](crate::net::TcpStream::read_exact).
///
/// # Cancel safety
/// Not cancel-safe: bytes read before the future is dropped are lost.
#[must_use = "futures do nothing unless you .await them"]
#[derive(Debug)]
pub(crate) struct ReadExact<'a, S: Source> {
    io: &'a PollEvented<S>,
    ahead: &'a mut ReadAhead,
    buf: &'a mut [u8],
    filled: usize,
}

impl<'a, S: Source> ReadExact<'a, S> {
    pub(crate) fn new(io: &'a PollEvented<S>, ahead: &'a mut ReadAhead, buf: &'a mut [u8]) -> Self {
        ReadExact {
            io,
            ahead,
            buf,
            filled: 0,
        }
    }
}

impl<S: StreamSource> Future for ReadExact<'_, S> {
    type Output = io::Result<()>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        while this.filled < this.buf.len() {
            let n = ready!(poll_read_ahead(
                this.io,
                this.ahead,
                cx,
                &mut this.buf[this.filled..]
            ))?;
            if n == 0 {
                return Poll::Ready(Err(io::Error::new(
                    io::ErrorKind::UnexpectedEof,
                    "end of stream before the buffer was filled",
                )));
            }
            this.filled += n;
        }
        Poll::Ready(Ok(()))
    }
}

/// The future of `write_all`: writes the whole buffer.
///
/// # Examples
/// See [`TcpStream::write_all`](crate::net::TcpStream::write_all).
///
/// # Cancel safety
/// Not cancel-safe: if it is dropped, an unknown prefix was written.
#[must_use = "futures do nothing unless you .await them"]
#[derive(Debug)]
pub(crate) struct WriteAll<'a, S: Source> {
    io: &'a PollEvented<S>,
    buf: &'a [u8],
}

impl<'a, S: Source> WriteAll<'a, S> {
    pub(crate) fn new(io: &'a PollEvented<S>, buf: &'a [u8]) -> Self {
        WriteAll { io, buf }
    }
}

impl<S: StreamSource> Future for WriteAll<'_, S> {
    type Output = io::Result<()>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        while !this.buf.is_empty() {
            let n = ready!(poll_write(this.io, cx, this.buf))?;
            if n == 0 {
                return Poll::Ready(Err(io::ErrorKind::WriteZero.into()));
            }
            this.buf = &this.buf[n..];
        }
        Poll::Ready(Ok(()))
    }
}

/// Implements `futures_io::AsyncRead` (for a type whose `$parts(&mut self)`
/// gives its `PollEvented` and read-ahead) / `AsyncWrite` (whose `$io(&self)`
/// gives its `PollEvented`).
macro_rules! impl_async_io {
    (read: $t:ty, $parts:ident) => {
        impl futures_io::AsyncRead for $t {
            fn poll_read(
                self: std::pin::Pin<&mut Self>,
                cx: &mut std::task::Context<'_>,
                buf: &mut [u8],
            ) -> std::task::Poll<std::io::Result<usize>> {
                let (io, ahead) = self.get_mut().$parts();
                $crate::net::ops::poll_read_ahead(io, ahead, cx, buf)
            }
        }
    };
    (write: $t:ty, $io:ident, $close:expr) => {
        impl futures_io::AsyncWrite for $t {
            fn poll_write(
                self: std::pin::Pin<&mut Self>,
                cx: &mut std::task::Context<'_>,
                buf: &[u8],
            ) -> std::task::Poll<std::io::Result<usize>> {
                $crate::net::ops::poll_write(self.$io(), cx, buf)
            }

            fn poll_write_vectored(
                self: std::pin::Pin<&mut Self>,
                cx: &mut std::task::Context<'_>,
                bufs: &[std::io::IoSlice<'_>],
            ) -> std::task::Poll<std::io::Result<usize>> {
                $crate::net::ops::poll_write_vectored(self.$io(), cx, bufs)
            }

            fn poll_flush(
                self: std::pin::Pin<&mut Self>,
                _cx: &mut std::task::Context<'_>,
            ) -> std::task::Poll<std::io::Result<()>> {
                // Unbuffered: every write went to the kernel.
                std::task::Poll::Ready(Ok(()))
            }

            fn poll_close(
                self: std::pin::Pin<&mut Self>,
                _cx: &mut std::task::Context<'_>,
            ) -> std::task::Poll<std::io::Result<()>> {
                let close: fn(&Self) -> std::io::Result<()> = $close;
                std::task::Poll::Ready(close(&self))
            }
        }
    };
}

pub(crate) use impl_async_io;

/// `shutdown(Write)` that tolerates a peer that already went away.
pub(crate) fn shutdown_write<S: StreamSource>(io: &PollEvented<S>) -> io::Result<()> {
    match io.get_ref().shutdown_ref(Shutdown::Write) {
        Err(e) if e.kind() == io::ErrorKind::NotConnected => Ok(()),
        other => other,
    }
}
