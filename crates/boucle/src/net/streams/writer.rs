//! `StreamWriter`: asyncio's `StreamWriter`, a buffered writer with
//! back-pressure, over the transport of `transport.rs`. `drain` waits
//! while the transport is paused; any number of tasks may drain one writer
//! at once (each waits in its own slot of a wait list).

use std::fmt;
use std::future::Future;
use std::io;
use std::pin::Pin;
use std::rc::Rc;
use std::task::{ready, Context, Poll};

use super::conn::{Conn, StreamAddr};
use super::transport::{State, Transport};

/// The default high-water mark of a [`StreamWriter`] (asyncio's, 64 KiB).
///
/// # Examples
///
/// ```
/// assert_eq!(boucle::net::DEFAULT_HIGH_WATER, 64 * 1024);
/// assert_eq!(boucle::net::DEFAULT_LOW_WATER, 16 * 1024);
/// ```
pub const DEFAULT_HIGH_WATER: usize = 64 * 1024;
/// The default low-water mark (asyncio's: a quarter of the high mark).
///
/// # Examples
/// See [`DEFAULT_HIGH_WATER`].
pub const DEFAULT_LOW_WATER: usize = DEFAULT_HIGH_WATER / 4;

/// The writing side of a connection (asyncio's `StreamWriter`), from
/// [`open_connection`](crate::net::open_connection) or a
/// [`start_server`](crate::net::start_server) handler.
///
/// Methods take `&self`: share one writer between tasks with an `Rc`.
/// Dropping the writer flushes what is queued, then shuts the write
/// direction down (the peer reads end of stream); the reader keeps working.
/// It implements `futures_io::AsyncWrite` (writes wait while paused).
///
/// # Examples
///
/// ```
/// use boucle::net::{open_connection, TcpListener};
///
/// boucle::run(async {
///     let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
///     let port = listener.local_addr().unwrap().port();
///     let (_reader, writer) = open_connection("127.0.0.1", port).await.unwrap();
///     let (mut peer, _) = listener.accept().await.unwrap();
///     writer.write(b"hello ");
///     writer.writelines([b"big ".as_slice(), b"world"]);
///     writer.drain().await.unwrap();
///     writer.close();
///     writer.wait_closed().await.unwrap();
///     let mut got = [0u8; 15];
///     peer.read_exact(&mut got).await.unwrap();
///     assert_eq!(&got, b"hello big world");
/// });
/// ```
pub struct StreamWriter {
    shared: Rc<Transport>,
    /// The wait-list slot of `AsyncWrite`'s polls.
    poll_key: Option<usize>,
}

impl StreamWriter {
    pub(crate) fn new(conn: Rc<Conn>) -> StreamWriter {
        StreamWriter {
            shared: Rc::new(Transport::new(conn)),
            poll_key: None,
        }
    }

    /// Queues `data` for sending; it does not wait. When nothing is queued
    /// it goes to the socket at once. Follow with
    /// [`drain`](StreamWriter::drain) to respect back-pressure.
    ///
    /// After `close` or `write_eof`, or once the connection failed, the
    /// data is dropped and `drain` reports the error.
    ///
    /// # Examples
    /// See [`StreamWriter`].
    pub fn write(&self, data: &[u8]) {
        self.shared.write(data, true);
    }

    /// Queues each buffer in turn (asyncio's `writelines`), with at most
    /// one system call now.
    ///
    /// # Examples
    /// See [`StreamWriter`].
    pub fn writelines<I>(&self, lines: I)
    where
        I: IntoIterator,
        I::Item: AsRef<[u8]>,
    {
        let s = &self.shared;
        if !s.accepts_writes() {
            return;
        }
        {
            let mut q = s.queue.borrow_mut();
            for line in lines {
                q.push(line.as_ref());
            }
        }
        s.after_queue();
    }

    /// Waits until the queue is below the low-water mark, if it went past
    /// the high-water mark (asyncio's `drain`). Returns at once otherwise.
    ///
    /// Several tasks may drain one writer at once; all of them resume.
    ///
    /// # Examples
    /// See [`StreamWriter`].
    ///
    /// # Cancel safety
    /// Cancel-safe: dropping it only stops waiting.
    ///
    /// # Errors
    /// The connection's error (`ConnectionReset`, `BrokenPipe`...), and
    /// `BrokenPipe` after a write that followed `close` / `write_eof`.
    pub fn drain(&self) -> Drain<'_> {
        Drain {
            shared: &self.shared,
            key: None,
        }
    }

    /// Closes the connection once the queue is flushed (asyncio's
    /// `close`): both directions are shut down. Await
    /// [`wait_closed`](StreamWriter::wait_closed) to know when.
    ///
    /// # Examples
    /// See [`StreamWriter`].
    pub fn close(&self) {
        let s = &self.shared;
        match s.state.get() {
            State::Closing | State::Closed => return,
            _ => s.state.set(State::Closing),
        }
        let idle = s.queue.borrow().len() == 0 && !s.flushing.get();
        if s.error.get().is_some() || idle {
            s.finish_close();
        } else {
            s.ensure_flusher();
        }
    }

    /// Waits until the connection is closed: `close` was called and the
    /// queue flushed (or the connection failed).
    ///
    /// # Examples
    /// See [`StreamWriter`].
    ///
    /// # Cancel safety
    /// Cancel-safe.
    ///
    /// # Errors
    /// The error that ended the connection, if one did.
    pub fn wait_closed(&self) -> WaitClosed<'_> {
        WaitClosed {
            shared: &self.shared,
            key: None,
        }
    }

    /// Whether the writer is closing or closed, or the connection failed
    /// (asyncio's `is_closing`).
    ///
    /// # Examples
    /// See [`set_write_buffer_limits`](StreamWriter::set_write_buffer_limits).
    pub fn is_closing(&self) -> bool {
        matches!(self.shared.state.get(), State::Closing | State::Closed)
            || self.shared.error.get().is_some()
    }

    /// Whether [`write_eof`](StreamWriter::write_eof) is supported: always,
    /// for TCP and Unix streams.
    ///
    /// # Examples
    /// See [`set_write_buffer_limits`](StreamWriter::set_write_buffer_limits).
    pub fn can_write_eof(&self) -> bool {
        true
    }

    /// Half-closes once the queue is flushed: the peer reads end of stream
    /// and may keep sending; the reader keeps working.
    ///
    /// # Examples
    ///
    /// ```
    /// use boucle::net::{open_connection, start_server, StreamReader, StreamWriter};
    ///
    /// boucle::run(async {
    ///     let server = start_server(
    ///         |mut r: StreamReader, w: StreamWriter| async move {
    ///             let all = r.read_to_eof().await.unwrap(); // until the client's EOF
    ///             w.write(format!("{} bytes", all.len()).as_bytes());
    ///             w.close();
    ///         },
    ///         "127.0.0.1",
    ///         0,
    ///     )
    ///     .await
    ///     .unwrap();
    ///     let port = server.local_addrs()[0].port().unwrap();
    ///     let (mut r, w) = open_connection("127.0.0.1", port).await.unwrap();
    ///     w.write(b"twelve bytes");
    ///     w.write_eof().unwrap();
    ///     assert_eq!(r.read_to_eof().await.unwrap(), b"12 bytes");
    /// });
    /// ```
    ///
    /// # Errors
    /// As `shutdown(2)` when it happens at once.
    pub fn write_eof(&self) -> io::Result<()> {
        self.shared.write_eof()
    }

    /// The bytes queued and not yet sent (asyncio's
    /// `transport.get_write_buffer_size()`).
    ///
    /// # Examples
    /// See [`set_write_buffer_limits`](StreamWriter::set_write_buffer_limits).
    pub fn write_buffer_size(&self) -> usize {
        self.shared.queue.borrow().len()
    }

    /// Sets the high- and low-water marks (asyncio's
    /// `transport.set_write_buffer_limits`); `low` is capped at `high`.
    ///
    /// # Examples
    ///
    /// ```
    /// use boucle::net::{streams_from_unix, UnixStream, DEFAULT_HIGH_WATER, DEFAULT_LOW_WATER};
    ///
    /// boucle::run(async {
    ///     let (a, _b) = UnixStream::pair().unwrap();
    ///     let (_r, w) = streams_from_unix(a);
    ///     assert_eq!(w.write_buffer_limits(), (DEFAULT_LOW_WATER, DEFAULT_HIGH_WATER));
    ///     w.set_write_buffer_limits(1 << 20, 1 << 18);
    ///     assert_eq!(w.write_buffer_limits(), (1 << 18, 1 << 20));
    ///     assert_eq!(w.write_buffer_size(), 0);
    ///     assert!(w.can_write_eof());
    ///     assert!(!w.is_closing());
    ///     assert!(w.peer_addr().unwrap().as_unix().is_some());
    ///     assert!(w.local_addr().unwrap().as_unix().is_some());
    ///     w.close();
    ///     assert!(w.is_closing());
    /// });
    /// ```
    pub fn set_write_buffer_limits(&self, high: usize, low: usize) {
        let s = &self.shared;
        s.high.set(high);
        s.low.set(low.min(high));
        s.update_pause();
    }

    /// The `(low, high)` water marks (asyncio's
    /// `transport.get_write_buffer_limits`).
    ///
    /// # Examples
    /// See [`set_write_buffer_limits`](StreamWriter::set_write_buffer_limits).
    pub fn write_buffer_limits(&self) -> (usize, usize) {
        (self.shared.low.get(), self.shared.high.get())
    }

    /// The peer's address (`get_extra_info("peername")`).
    ///
    /// # Examples
    /// See [`set_write_buffer_limits`](StreamWriter::set_write_buffer_limits).
    ///
    /// # Errors
    /// `NotConnected` when the peer is gone.
    pub fn peer_addr(&self) -> io::Result<StreamAddr> {
        self.shared.conn.peer_addr()
    }

    /// The local address (`get_extra_info("sockname")`).
    ///
    /// # Examples
    /// See [`set_write_buffer_limits`](StreamWriter::set_write_buffer_limits).
    ///
    /// # Errors
    /// As `getsockname`.
    pub fn local_addr(&self) -> io::Result<StreamAddr> {
        self.shared.conn.local_addr()
    }
}

/// The future of [`StreamWriter::drain`].
///
/// # Examples
/// See [`StreamWriter`].
///
/// # Cancel safety
/// Cancel-safe.
#[must_use = "futures do nothing unless you .await them"]
pub struct Drain<'a> {
    shared: &'a Rc<Transport>,
    key: Option<usize>,
}

impl Future for Drain<'_> {
    type Output = io::Result<()>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        let s = this.shared;
        if let Some(e) = s.error() {
            s.waiters.remove(&mut this.key);
            return Poll::Ready(Err(e));
        }
        if !s.paused.get() {
            s.waiters.remove(&mut this.key);
            return Poll::Ready(Ok(()));
        }
        s.ensure_flusher();
        s.waiters.register(&mut this.key, cx);
        Poll::Pending
    }
}

impl Drop for Drain<'_> {
    fn drop(&mut self) {
        self.shared.waiters.remove(&mut self.key);
    }
}

impl fmt::Debug for Drain<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Drain").finish_non_exhaustive()
    }
}

/// The future of [`StreamWriter::wait_closed`].
///
/// # Examples
/// See [`StreamWriter`].
///
/// # Cancel safety
/// Cancel-safe.
#[must_use = "futures do nothing unless you .await them"]
pub struct WaitClosed<'a> {
    shared: &'a Rc<Transport>,
    key: Option<usize>,
}

impl Future for WaitClosed<'_> {
    type Output = io::Result<()>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        let s = this.shared;
        if let Some(e) = s.error() {
            s.waiters.remove(&mut this.key);
            return Poll::Ready(Err(e));
        }
        if s.state.get() == State::Closed {
            s.waiters.remove(&mut this.key);
            return Poll::Ready(Ok(()));
        }
        s.waiters.register(&mut this.key, cx);
        Poll::Pending
    }
}

impl Drop for WaitClosed<'_> {
    fn drop(&mut self) {
        self.shared.waiters.remove(&mut self.key);
    }
}

impl fmt::Debug for WaitClosed<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WaitClosed").finish_non_exhaustive()
    }
}

impl futures_io::AsyncWrite for StreamWriter {
    /// Queues `buf` whole, unless the writer is paused (then it waits).
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        let s = &this.shared;
        if let Some(e) = s.error() {
            return Poll::Ready(Err(e));
        }
        if s.state.get() != State::Open {
            return Poll::Ready(Err(io::Error::new(
                io::ErrorKind::BrokenPipe,
                "write after close() or write_eof() on a StreamWriter",
            )));
        }
        if s.paused.get() {
            s.waiters.register(&mut this.poll_key, cx);
            return Poll::Pending;
        }
        s.waiters.remove(&mut this.poll_key);
        s.write(buf, true);
        Poll::Ready(Ok(buf.len()))
    }

    /// Waits until the queue is empty.
    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        let s = &this.shared;
        if let Some(e) = s.error() {
            return Poll::Ready(Err(e));
        }
        if s.queue.borrow().len() == 0 {
            s.waiters.remove(&mut this.poll_key);
            return Poll::Ready(Ok(()));
        }
        s.ensure_flusher();
        s.waiters.register(&mut this.poll_key, cx);
        Poll::Pending
    }

    /// Flushes, then half-closes (`write_eof`).
    fn poll_close(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        ready!(self.as_mut().poll_flush(cx))?;
        Poll::Ready(self.shared.write_eof())
    }
}

impl Drop for StreamWriter {
    fn drop(&mut self) {
        self.shared.waiters.remove(&mut self.poll_key);
        // Flush what is queued (the flusher holds its own reference), then
        // send end of stream.
        let _ = self.shared.write_eof();
    }
}

impl fmt::Debug for StreamWriter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let s = &self.shared;
        f.debug_struct("StreamWriter")
            .field("conn", &s.conn)
            .field("queued", &s.queue.borrow().len())
            .field("paused", &s.paused.get())
            .field("state", &s.state.get())
            .finish()
    }
}
