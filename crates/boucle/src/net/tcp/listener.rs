//! `TcpListener`: a listening TCP socket on the loop.

use std::fmt;
use std::future::poll_fn;
use std::io;
use std::net::SocketAddr;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, RawFd};
use std::task::{Context, Poll};

use rustix::net::{AddressFamily, SocketFlags, SocketType};

use super::TcpStream;
use crate::io::{Direction, PollEvented};
use crate::net::addr::{each_addr, resolve, ToSocketAddrs};

/// The listen backlog of [`TcpListener::bind`] (tokio's; std and mio use
/// 128, which drops connections under a burst of a few hundred).
///
/// # Examples
///
/// ```
/// assert_eq!(boucle::net::DEFAULT_BACKLOG, 1024);
/// ```
pub const DEFAULT_BACKLOG: u32 = 1024;

/// A TCP socket listening for connections (asyncio's server socket).
///
/// # Examples
///
/// ```
/// use boucle::net::{TcpListener, TcpStream};
///
/// boucle::run(async {
///     let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
///     let addr = listener.local_addr().unwrap();
///     let client = boucle::spawn(async move { TcpStream::connect(addr).await.unwrap() });
///     let (stream, peer) = listener.accept().await.unwrap();
///     let client = client.await.unwrap();
///     assert_eq!(peer, client.local_addr().unwrap());
///     assert_eq!(stream.peer_addr().unwrap(), peer);
/// });
/// ```
pub struct TcpListener {
    io: PollEvented<mio::net::TcpListener>,
}

impl TcpListener {
    /// Binds to `addr` (`SO_REUSEADDR`, backlog [`DEFAULT_BACKLOG`]) and
    /// listens. Port 0 picks a free port: read it with
    /// [`local_addr`](TcpListener::local_addr). A host name is resolved on
    /// the blocking pool and its addresses are tried in turn.
    ///
    /// # Examples
    /// See [`TcpListener`].
    ///
    /// # Cancel safety
    /// Cancel-safe: nothing is bound until the future completes.
    ///
    /// # Errors
    /// `AddrInUse`, `AddrNotAvailable`, a resolver error...
    ///
    /// # Panics
    /// Outside a running loop.
    pub async fn bind(addr: impl ToSocketAddrs) -> io::Result<TcpListener> {
        let addrs = resolve(&addr).await?;
        each_addr(addrs, |a| async move {
            TcpListener::from_std(bind_std(a, DEFAULT_BACKLOG)?)
        })
        .await
    }

    /// Waits for a connection and accepts it: the connected stream and the
    /// peer's address. The stream is non-blocking and close-on-exec.
    ///
    /// One task at a time should accept from one listener (the reactor
    /// remembers one waiting reader per socket).
    ///
    /// # Examples
    /// See [`TcpListener`].
    ///
    /// # Cancel safety
    /// Cancel-safe: a dropped `accept` accepted nothing; the connection
    /// stays queued for the next one.
    ///
    /// # Errors
    /// As `accept4(2)`: `EMFILE`/`ENFILE` (out of file descriptors),
    /// `ECONNABORTED`... The listener stays usable after any of them.
    pub async fn accept(&self) -> io::Result<(TcpStream, SocketAddr)> {
        poll_fn(|cx| self.poll_accept(cx)).await
    }

    /// The poll form of [`accept`](TcpListener::accept).
    ///
    /// # Examples
    ///
    /// ```
    /// use std::future::poll_fn;
    /// use boucle::net::{TcpListener, TcpStream};
    ///
    /// boucle::run(async {
    ///     let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    ///     let client = TcpStream::connect(listener.local_addr().unwrap()).await.unwrap();
    ///     let (_stream, peer) = poll_fn(|cx| listener.poll_accept(cx)).await.unwrap();
    ///     assert_eq!(peer, client.local_addr().unwrap());
    /// });
    /// ```
    ///
    /// # Errors
    /// As [`accept`](TcpListener::accept).
    pub fn poll_accept(&self, cx: &mut Context<'_>) -> Poll<io::Result<(TcpStream, SocketAddr)>> {
        match self.io.poll_io(cx, Direction::Read, |l| l.accept()) {
            Poll::Ready(Ok((stream, addr))) => {
                Poll::Ready(TcpStream::from_mio(stream).map(|s| (s, addr)))
            }
            Poll::Ready(Err(e)) => Poll::Ready(Err(e)),
            Poll::Pending => Poll::Pending,
        }
    }

    /// Wraps a listening std socket (made non-blocking here).
    ///
    /// # Examples
    ///
    /// ```
    /// boucle::run(async {
    ///     let std_listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    ///     let addr = std_listener.local_addr().unwrap();
    ///     let listener = boucle::net::TcpListener::from_std(std_listener).unwrap();
    ///     assert_eq!(listener.local_addr().unwrap(), addr);
    /// });
    /// ```
    ///
    /// # Errors
    /// If the socket cannot be made non-blocking or registered.
    ///
    /// # Panics
    /// Outside a running loop.
    #[track_caller]
    pub fn from_std(listener: std::net::TcpListener) -> io::Result<TcpListener> {
        listener.set_nonblocking(true)?;
        Ok(TcpListener {
            io: PollEvented::with_interest(
                mio::net::TcpListener::from_std(listener),
                mio::Interest::READABLE,
            )?,
        })
    }

    /// Leaves the loop and gives back the std listener (still non-blocking).
    ///
    /// # Examples
    ///
    /// ```
    /// boucle::run(async {
    ///     let listener = boucle::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    ///     let addr = listener.local_addr().unwrap();
    ///     let std_listener = listener.into_std().unwrap();
    ///     assert_eq!(std_listener.local_addr().unwrap(), addr);
    /// });
    /// ```
    ///
    /// # Errors
    /// If the deregistration fails.
    pub fn into_std(self) -> io::Result<std::net::TcpListener> {
        Ok(self.io.into_inner()?.into())
    }

    /// The address the listener is bound to (with the port the system
    /// picked for port 0).
    ///
    /// # Examples
    /// See [`TcpListener`].
    ///
    /// # Errors
    /// As `getsockname`.
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.io.get_ref().local_addr()
    }

    /// Sets the IP time-to-live of accepted sockets.
    ///
    /// # Examples
    ///
    /// ```
    /// boucle::run(async {
    ///     let listener = boucle::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    ///     listener.set_ttl(32).unwrap();
    /// });
    /// ```
    ///
    /// # Errors
    /// As `setsockopt`.
    pub fn set_ttl(&self, ttl: u32) -> io::Result<()> {
        self.io.get_ref().set_ttl(ttl)
    }
}

/// A bound, listening, non-blocking, close-on-exec std listener.
pub(crate) fn bind_std(addr: SocketAddr, backlog: u32) -> io::Result<std::net::TcpListener> {
    let family = match addr {
        SocketAddr::V4(_) => AddressFamily::INET,
        SocketAddr::V6(_) => AddressFamily::INET6,
    };
    let fd = rustix::net::socket_with(
        family,
        SocketType::STREAM,
        SocketFlags::NONBLOCK | SocketFlags::CLOEXEC,
        None,
    )?;
    rustix::net::sockopt::set_socket_reuseaddr(&fd, true)?;
    rustix::net::bind(&fd, &addr)?;
    rustix::net::listen(&fd, i32::try_from(backlog).unwrap_or(i32::MAX))?;
    Ok(std::net::TcpListener::from(fd))
}

impl AsRawFd for TcpListener {
    fn as_raw_fd(&self) -> RawFd {
        self.io.get_ref().as_raw_fd()
    }
}

impl AsFd for TcpListener {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.io.get_ref().as_fd()
    }
}

impl fmt::Debug for TcpListener {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TcpListener")
            .field("local", &self.local_addr().ok())
            .field("fd", &self.as_raw_fd())
            .finish()
    }
}
