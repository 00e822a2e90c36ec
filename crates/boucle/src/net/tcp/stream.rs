//! `TcpStream`: a TCP connection on the loop.

use std::fmt;
use std::future::poll_fn;
use std::future::Future;
use std::io;
use std::net::{Shutdown, SocketAddr};
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, RawFd};
use std::task::{Context, Poll};
use std::time::Duration;

use super::split::{OwnedReadHalf, OwnedWriteHalf};
use crate::io::{Direction, PollEvented};
use crate::net::addr::{each_addr, resolve, ToSocketAddrs};
use crate::net::ops::{self, impl_async_io, Read, ReadAhead, ReadExact, Write, WriteAll};

/// A TCP connection (asyncio's socket transport; tokio's `TcpStream`).
///
/// Read and write with the async methods below, or through
/// `futures_io::AsyncRead` / `AsyncWrite`, so that crates written against
/// those traits (futures-rustls, async-compression...) run on it as is.
/// [`into_split`](TcpStream::into_split) gives halves that two tasks can
/// use at once.
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
/// use boucle::net::{TcpListener, TcpStream};
///
/// boucle::run(async {
///     let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
///     let addr = listener.local_addr().unwrap();
///     let server = boucle::spawn(async move {
///         let (mut stream, _) = listener.accept().await.unwrap();
///         let mut buf = [0u8; 4];
///         stream.read_exact(&mut buf).await.unwrap();
///         stream.write_all(&buf).await.unwrap();
///     });
///     let mut client = TcpStream::connect(addr).await.unwrap();
///     client.write_all(b"ping").await.unwrap();
///     let mut buf = [0u8; 4];
///     client.read_exact(&mut buf).await.unwrap();
///     assert_eq!(&buf, b"ping");
///     server.await.unwrap();
/// });
/// ```
pub struct TcpStream {
    io: PollEvented<mio::net::TcpStream>,
    ahead: ReadAhead,
}

impl TcpStream {
    /// Opens a connection to `addr`. A host name is resolved on the
    /// blocking pool; each address it resolves to is tried in turn until
    /// one accepts (as asyncio's `create_connection`).
    ///
    /// # Examples
    ///
    /// ```
    /// use boucle::net::{TcpListener, TcpStream};
    ///
    /// boucle::run(async {
    ///     let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    ///     let port = listener.local_addr().unwrap().port();
    ///     // "localhost" may resolve to ::1 first: each address is tried in turn.
    ///     let stream = TcpStream::connect(("localhost", port)).await.unwrap();
    ///     assert!(stream.peer_addr().unwrap().ip().is_loopback());
    ///     let stream = TcpStream::connect(format!("127.0.0.1:{port}")).await.unwrap();
    ///     assert_eq!(stream.peer_addr().unwrap().port(), port);
    /// });
    /// ```
    ///
    /// # Cancel safety
    /// Cancel-safe: dropping the future closes the half-open socket.
    ///
    /// # Errors
    /// The last address's error (`ConnectionRefused`...), a resolver error,
    /// or `InvalidInput` when `addr` names no address.
    ///
    /// # Panics
    /// Outside a running loop.
    pub async fn connect(addr: impl ToSocketAddrs) -> io::Result<TcpStream> {
        let addrs = resolve(&addr).await?;
        each_addr(addrs, TcpStream::connect_addr).await
    }

    /// [`connect`](TcpStream::connect) bounded by `timeout` of loop time
    /// (name resolution included).
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// use boucle::net::{TcpListener, TcpStream};
    ///
    /// boucle::run(async {
    ///     let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    ///     let addr = listener.local_addr().unwrap();
    ///     let s = TcpStream::connect_timeout(addr, Duration::from_secs(5)).await.unwrap();
    ///     assert_eq!(s.peer_addr().unwrap(), addr);
    /// });
    /// ```
    ///
    /// # Cancel safety
    /// Cancel-safe, as `connect`.
    ///
    /// # Errors
    /// `TimedOut` when the deadline passes first; else as `connect`.
    ///
    /// # Panics
    /// Outside a running loop.
    pub async fn connect_timeout(
        addr: impl ToSocketAddrs,
        timeout: Duration,
    ) -> io::Result<TcpStream> {
        match crate::time::timeout(timeout, TcpStream::connect(addr)).await {
            Ok(r) => r,
            Err(_) => Err(io::Error::new(
                io::ErrorKind::TimedOut,
                format!("connect timed out after {timeout:?}"),
            )),
        }
    }

    /// Connects to one address.
    pub(crate) async fn connect_addr(addr: SocketAddr) -> io::Result<TcpStream> {
        let stream = TcpStream::from_mio(mio::net::TcpStream::connect(addr)?)?;
        poll_fn(|cx| stream.poll_connected(cx)).await?;
        Ok(stream)
    }

    /// Ready once a non-blocking connect finished (mio's recipe: wait for
    /// writable, then `SO_ERROR`, then `getpeername`).
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
                    // A spurious wake-up: wait again.
                    self.io.clear_ready(Direction::Write);
                    cleared = true;
                }
                Err(e) => return Poll::Ready(Err(e)),
            }
        }
    }

    pub(crate) fn from_mio(stream: mio::net::TcpStream) -> io::Result<TcpStream> {
        Ok(TcpStream {
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
    ///     let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    ///     let std_stream = std::net::TcpStream::connect(listener.local_addr().unwrap()).unwrap();
    ///     let stream = boucle::net::TcpStream::from_std(std_stream).unwrap();
    ///     assert_eq!(stream.peer_addr().unwrap(), listener.local_addr().unwrap());
    /// });
    /// ```
    ///
    /// # Errors
    /// If the socket cannot be made non-blocking or registered.
    ///
    /// # Panics
    /// Outside a running loop.
    #[track_caller]
    pub fn from_std(stream: std::net::TcpStream) -> io::Result<TcpStream> {
        stream.set_nonblocking(true)?;
        TcpStream::from_mio(mio::net::TcpStream::from_std(stream))
    }

    /// Leaves the loop and gives back a std stream (still non-blocking).
    ///
    /// # Examples
    ///
    /// ```
    /// use boucle::net::{TcpListener, TcpStream};
    ///
    /// boucle::run(async {
    ///     let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    ///     let stream = TcpStream::connect(listener.local_addr().unwrap()).await.unwrap();
    ///     let std_stream = stream.into_std().unwrap();
    ///     assert_eq!(std_stream.peer_addr().unwrap(), listener.local_addr().unwrap());
    /// });
    /// ```
    ///
    /// # Errors
    /// If the deregistration fails, or `InvalidData` if bytes were read
    /// ahead of the reader (small reads fill a read-ahead buffer; see
    /// `net/ops.rs`) and would be lost.
    pub fn into_std(self) -> io::Result<std::net::TcpStream> {
        if self.ahead.buffered() > 0 {
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                "into_std would lose bytes already read ahead",
            ));
        }
        let mio = self.io.into_inner()?;
        Ok(std::net::TcpStream::from(std::os::fd::OwnedFd::from(mio)))
    }

    /// The local address (asyncio's `get_extra_info("sockname")`).
    ///
    /// # Examples
    /// See [`set_nodelay`](TcpStream::set_nodelay).
    ///
    /// # Errors
    /// As `getsockname`.
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.io.get_ref().local_addr()
    }

    /// The peer's address (asyncio's `get_extra_info("peername")`).
    ///
    /// # Examples
    /// See [`set_nodelay`](TcpStream::set_nodelay).
    ///
    /// # Errors
    /// `NotConnected` when the peer is gone.
    pub fn peer_addr(&self) -> io::Result<SocketAddr> {
        self.io.get_ref().peer_addr()
    }

    /// Sets `TCP_NODELAY` (disables Nagle's algorithm; asyncio sets it on
    /// every TCP transport, and so do `open_connection`/`start_server`).
    ///
    /// # Examples
    ///
    /// ```
    /// use boucle::net::{TcpListener, TcpStream};
    ///
    /// boucle::run(async {
    ///     let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    ///     let stream = TcpStream::connect(listener.local_addr().unwrap()).await.unwrap();
    ///     assert_eq!(stream.peer_addr().unwrap(), listener.local_addr().unwrap());
    ///     assert!(stream.local_addr().unwrap().ip().is_loopback());
    ///     stream.set_nodelay(true).unwrap();
    ///     assert!(stream.nodelay().unwrap());
    ///     stream.set_ttl(64).unwrap();
    ///     assert_eq!(stream.ttl().unwrap(), 64);
    /// });
    /// ```
    ///
    /// # Errors
    /// As `setsockopt`.
    pub fn set_nodelay(&self, nodelay: bool) -> io::Result<()> {
        self.io.get_ref().set_nodelay(nodelay)
    }

    /// Whether `TCP_NODELAY` is set.
    ///
    /// # Examples
    /// See [`set_nodelay`](TcpStream::set_nodelay).
    ///
    /// # Errors
    /// As `getsockopt`.
    pub fn nodelay(&self) -> io::Result<bool> {
        self.io.get_ref().nodelay()
    }

    /// Sets the IP time-to-live.
    ///
    /// # Examples
    /// See [`set_nodelay`](TcpStream::set_nodelay).
    ///
    /// # Errors
    /// As `setsockopt`.
    pub fn set_ttl(&self, ttl: u32) -> io::Result<()> {
        self.io.get_ref().set_ttl(ttl)
    }

    /// The IP time-to-live.
    ///
    /// # Examples
    /// See [`set_nodelay`](TcpStream::set_nodelay).
    ///
    /// # Errors
    /// As `getsockopt`.
    pub fn ttl(&self) -> io::Result<u32> {
        self.io.get_ref().ttl()
    }

    /// Shuts down reading, writing or both. `Shutdown::Write` is the
    /// half-close of asyncio's `write_eof`: the peer reads end of stream and
    /// may keep sending.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::net::Shutdown;
    /// use boucle::net::{TcpListener, TcpStream};
    ///
    /// boucle::run(async {
    ///     let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    ///     let mut client = TcpStream::connect(listener.local_addr().unwrap()).await.unwrap();
    ///     let (mut server, _) = listener.accept().await.unwrap();
    ///     client.shutdown(Shutdown::Write).unwrap();
    ///     let mut buf = [0u8; 8];
    ///     assert_eq!(server.read(&mut buf).await.unwrap(), 0); // end of stream
    ///     server.write_all(b"bye").await.unwrap(); // the other way still works
    ///     assert_eq!(client.read(&mut buf).await.unwrap(), 3);
    /// });
    /// ```
    ///
    /// # Errors
    /// As `shutdown(2)` (`NotConnected` if the peer is gone).
    pub fn shutdown(&self, how: Shutdown) -> io::Result<()> {
        self.io.get_ref().shutdown(how)
    }

    /// Reads once, up to `buf.len()` bytes; `Ok(0)` at end of stream (or
    /// for an empty `buf`).
    ///
    /// # Examples
    /// See [`TcpStream`] and [`shutdown`](TcpStream::shutdown).
    ///
    /// # Cancel safety
    /// Cancel-safe: a dropped `read` read nothing.
    ///
    /// # Errors
    /// The socket's error (`ConnectionReset`...).
    pub fn read<'a>(
        &'a mut self,
        buf: &'a mut [u8],
    ) -> impl Future<Output = io::Result<usize>> + 'a {
        Read::new(&self.io, &mut self.ahead, buf)
    }

    /// Fills `buf` completely.
    ///
    /// # Examples
    /// See [`TcpStream`].
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

    /// Writes once, some prefix of `buf`; returns how many bytes.
    ///
    /// # Examples
    ///
    /// ```
    /// use boucle::net::{TcpListener, TcpStream};
    ///
    /// boucle::run(async {
    ///     let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    ///     let mut client = TcpStream::connect(listener.local_addr().unwrap()).await.unwrap();
    ///     assert_eq!(client.write(b"abc").await.unwrap(), 3);
    /// });
    /// ```
    ///
    /// # Cancel safety
    /// Cancel-safe: a dropped `write` wrote nothing.
    ///
    /// # Errors
    /// The socket's error (`BrokenPipe`, `ConnectionReset`...).
    pub fn write<'a>(&'a mut self, buf: &'a [u8]) -> impl Future<Output = io::Result<usize>> + 'a {
        Write::new(&self.io, buf)
    }

    /// Writes all of `buf`.
    ///
    /// # Examples
    /// See [`TcpStream`].
    ///
    /// # Cancel safety
    /// Not cancel-safe: a dropped `write_all` wrote an unknown prefix.
    ///
    /// # Errors
    /// The socket's error; `WriteZero` if the socket accepts no byte.
    pub fn write_all<'a>(&'a mut self, buf: &'a [u8]) -> impl Future<Output = io::Result<()>> + 'a {
        WriteAll::new(&self.io, buf)
    }

    /// Reads what is there now, without waiting.
    ///
    /// # Examples
    /// See [`try_write`](TcpStream::try_write).
    ///
    /// # Errors
    /// `WouldBlock` when nothing is there; the socket's error.
    pub fn try_read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        ops::try_read_ahead(&self.io, &mut self.ahead, buf)
    }

    /// Writes what fits now, without waiting.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::io::ErrorKind;
    /// use boucle::net::{TcpListener, TcpStream};
    ///
    /// boucle::run(async {
    ///     let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    ///     let mut a = TcpStream::connect(listener.local_addr().unwrap()).await.unwrap();
    ///     let (mut b, _) = listener.accept().await.unwrap();
    ///     let mut buf = [0u8; 8];
    ///     assert_eq!(a.try_read(&mut buf).unwrap_err().kind(), ErrorKind::WouldBlock);
    ///     assert_eq!(b.try_write(b"now").unwrap(), 3);
    ///     a.read_exact(&mut buf[..3]).await.unwrap();
    ///     assert_eq!(&buf[..3], b"now");
    /// });
    /// ```
    ///
    /// # Errors
    /// `WouldBlock` when the send buffer is full; the socket's error.
    pub fn try_write(&self, buf: &[u8]) -> io::Result<usize> {
        ops::try_write(&self.io, buf)
    }

    /// Splits the stream into a read half and a write half, owned, that
    /// two tasks can use at once (they share the socket through an `Rc`).
    ///
    /// # Examples
    ///
    /// ```
    /// use boucle::net::{TcpListener, TcpStream};
    ///
    /// boucle::run(async {
    ///     let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    ///     let client = TcpStream::connect(listener.local_addr().unwrap()).await.unwrap();
    ///     let (mut server, _) = listener.accept().await.unwrap();
    ///     let (mut rd, mut wr) = client.into_split();
    ///     let writer = boucle::spawn(async move { wr.write_all(b"hi").await.unwrap() });
    ///     let mut buf = [0u8; 2];
    ///     server.read_exact(&mut buf).await.unwrap();
    ///     server.write_all(&buf).await.unwrap();
    ///     rd.read_exact(&mut buf).await.unwrap();
    ///     assert_eq!(&buf, b"hi");
    ///     writer.await.unwrap();
    /// });
    /// ```
    pub fn into_split(self) -> (OwnedReadHalf, OwnedWriteHalf) {
        super::split::split(self)
    }

    pub(crate) fn io(&self) -> &PollEvented<mio::net::TcpStream> {
        &self.io
    }

    fn parts(&mut self) -> (&PollEvented<mio::net::TcpStream>, &mut ReadAhead) {
        (&self.io, &mut self.ahead)
    }

    pub(super) fn take_ahead(&mut self) -> ReadAhead {
        std::mem::take(&mut self.ahead)
    }

    pub(super) fn put_ahead(&mut self, ahead: ReadAhead) {
        self.ahead = ahead;
    }

    /// The bytes read ahead of the reader, taken out.
    pub(crate) fn take_read_ahead(&mut self) -> Vec<u8> {
        self.ahead.take()
    }
}

/// `ENOTCONN` / `EINPROGRESS`: the connect has not finished yet.
pub(crate) fn in_progress(e: &io::Error) -> bool {
    e.kind() == io::ErrorKind::NotConnected
        || e.raw_os_error() == Some(rustix::io::Errno::INPROGRESS.raw_os_error())
}

impl_async_io!(read: TcpStream, parts);
impl_async_io!(write: TcpStream, io, |s| ops::shutdown_write(s.io()));

impl AsRawFd for TcpStream {
    fn as_raw_fd(&self) -> RawFd {
        self.io.get_ref().as_raw_fd()
    }
}

impl AsFd for TcpStream {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.io.get_ref().as_fd()
    }
}

impl fmt::Debug for TcpStream {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TcpStream")
            .field("local", &self.local_addr().ok())
            .field("peer", &self.peer_addr().ok())
            .field("fd", &self.as_raw_fd())
            .finish()
    }
}
