//! `UdpSocket`: datagrams on the loop.

use std::fmt;
use std::future::poll_fn;
use std::io;
use std::net::SocketAddr;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, RawFd};
use std::task::{Context, Poll};

use crate::io::{Direction, PollEvented};
use crate::net::addr::{each_addr, resolve, ToSocketAddrs};
use crate::net::ops::try_op;

/// A UDP socket (asyncio's datagram endpoint; tokio's `UdpSocket`).
///
/// Its methods take `&self`, so one socket can be shared (`Rc`) by a task
/// that sends and a task that receives. The reactor remembers one waiting
/// receiver and one waiting sender per socket: receive from one task at a
/// time, and send from one task at a time.
///
/// # Examples
///
/// ```
/// use boucle::net::UdpSocket;
///
/// boucle::run(async {
///     let a = UdpSocket::bind("127.0.0.1:0").await.unwrap();
///     let b = UdpSocket::bind("127.0.0.1:0").await.unwrap();
///     a.send_to(b"hello", b.local_addr().unwrap()).await.unwrap();
///     let mut buf = [0u8; 16];
///     let (n, from) = b.recv_from(&mut buf).await.unwrap();
///     assert_eq!(&buf[..n], b"hello");
///     assert_eq!(from, a.local_addr().unwrap());
/// });
/// ```
pub struct UdpSocket {
    io: PollEvented<mio::net::UdpSocket>,
}

impl UdpSocket {
    /// Binds a socket to `addr` (port 0 picks a free port). A host name is
    /// resolved on the blocking pool and its addresses tried in turn.
    ///
    /// # Examples
    /// See [`UdpSocket`].
    ///
    /// # Cancel safety
    /// Cancel-safe: nothing is bound until the future completes.
    ///
    /// # Errors
    /// `AddrInUse`, a resolver error...
    ///
    /// # Panics
    /// Outside a running loop.
    pub async fn bind(addr: impl ToSocketAddrs) -> io::Result<UdpSocket> {
        let addrs = resolve(&addr).await?;
        each_addr(addrs, |a| async move {
            UdpSocket::from_mio(mio::net::UdpSocket::bind(a)?)
        })
        .await
    }

    fn from_mio(socket: mio::net::UdpSocket) -> io::Result<UdpSocket> {
        Ok(UdpSocket {
            io: PollEvented::new(socket)?,
        })
    }

    /// Wraps a bound std socket (made non-blocking here).
    ///
    /// # Examples
    ///
    /// ```
    /// boucle::run(async {
    ///     let std_socket = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    ///     let addr = std_socket.local_addr().unwrap();
    ///     let socket = boucle::net::UdpSocket::from_std(std_socket).unwrap();
    ///     assert_eq!(socket.local_addr().unwrap(), addr);
    /// });
    /// ```
    ///
    /// # Errors
    /// If the socket cannot be made non-blocking or registered.
    ///
    /// # Panics
    /// Outside a running loop.
    #[track_caller]
    pub fn from_std(socket: std::net::UdpSocket) -> io::Result<UdpSocket> {
        socket.set_nonblocking(true)?;
        UdpSocket::from_mio(mio::net::UdpSocket::from_std(socket))
    }

    /// Sets the default peer: [`send`](UdpSocket::send) goes there and
    /// [`recv`](UdpSocket::recv) takes datagrams from there only. A host
    /// name is resolved on the blocking pool; the first address that
    /// connects is kept.
    ///
    /// # Examples
    ///
    /// ```
    /// use boucle::net::UdpSocket;
    ///
    /// boucle::run(async {
    ///     let a = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    ///     let b = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    ///     a.connect(b.local_addr().unwrap()).await.unwrap();
    ///     b.connect(a.local_addr().unwrap()).await.unwrap();
    ///     a.send(b"ping").await.unwrap();
    ///     let mut buf = [0u8; 8];
    ///     let n = b.recv(&mut buf).await.unwrap();
    ///     assert_eq!(&buf[..n], b"ping");
    ///     assert_eq!(a.peer_addr().unwrap(), b.local_addr().unwrap());
    /// });
    /// ```
    ///
    /// # Cancel safety
    /// Cancel-safe.
    ///
    /// # Errors
    /// As `connect(2)`; a resolver error.
    pub async fn connect(&self, addr: impl ToSocketAddrs) -> io::Result<()> {
        let addrs = resolve(&addr).await?;
        each_addr(addrs, |a| async move { self.io.get_ref().connect(a) }).await
    }

    /// Sends a datagram to `target`; returns the bytes sent.
    ///
    /// # Examples
    /// See [`UdpSocket`].
    ///
    /// # Cancel safety
    /// Cancel-safe: a dropped `send_to` sent nothing.
    ///
    /// # Errors
    /// As `sendto(2)` (`EMSGSIZE` for a datagram too large...).
    pub async fn send_to(&self, buf: &[u8], target: SocketAddr) -> io::Result<usize> {
        poll_fn(|cx| self.poll_send_to(cx, buf, target)).await
    }

    /// The poll form of [`send_to`](UdpSocket::send_to).
    ///
    /// # Examples
    ///
    /// ```
    /// use std::future::poll_fn;
    /// use boucle::net::UdpSocket;
    ///
    /// boucle::run(async {
    ///     let a = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    ///     let b = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    ///     let to = b.local_addr().unwrap();
    ///     poll_fn(|cx| a.poll_send_to(cx, b"poll", to)).await.unwrap();
    ///     let mut buf = [0u8; 8];
    ///     let (n, _) = poll_fn(|cx| b.poll_recv_from(cx, &mut buf)).await.unwrap();
    ///     assert_eq!(&buf[..n], b"poll");
    /// });
    /// ```
    ///
    /// # Errors
    /// As [`send_to`](UdpSocket::send_to).
    pub fn poll_send_to(
        &self,
        cx: &mut Context<'_>,
        buf: &[u8],
        target: SocketAddr,
    ) -> Poll<io::Result<usize>> {
        self.io
            .poll_io(cx, Direction::Write, |s| s.send_to(buf, target))
    }

    /// Receives a datagram into `buf`: its length and sender. A datagram
    /// longer than `buf` is truncated.
    ///
    /// # Examples
    /// See [`UdpSocket`].
    ///
    /// # Cancel safety
    /// Cancel-safe: a dropped `recv_from` received nothing.
    ///
    /// # Errors
    /// As `recvfrom(2)`.
    pub async fn recv_from(&self, buf: &mut [u8]) -> io::Result<(usize, SocketAddr)> {
        poll_fn(|cx| self.poll_recv_from(cx, buf)).await
    }

    /// The poll form of [`recv_from`](UdpSocket::recv_from).
    ///
    /// # Examples
    /// See [`poll_send_to`](UdpSocket::poll_send_to).
    ///
    /// # Errors
    /// As [`recv_from`](UdpSocket::recv_from).
    pub fn poll_recv_from(
        &self,
        cx: &mut Context<'_>,
        buf: &mut [u8],
    ) -> Poll<io::Result<(usize, SocketAddr)>> {
        self.io.poll_io(cx, Direction::Read, |s| s.recv_from(buf))
    }

    /// Sends a datagram to the connected peer.
    ///
    /// # Examples
    /// See [`connect`](UdpSocket::connect).
    ///
    /// # Cancel safety
    /// Cancel-safe.
    ///
    /// # Errors
    /// `NotConnected` without [`connect`](UdpSocket::connect);
    /// `ConnectionRefused` after the peer's port answered ICMP unreachable.
    pub async fn send(&self, buf: &[u8]) -> io::Result<usize> {
        poll_fn(|cx| self.io.poll_io(cx, Direction::Write, |s| s.send(buf))).await
    }

    /// Receives a datagram from the connected peer.
    ///
    /// # Examples
    /// See [`connect`](UdpSocket::connect).
    ///
    /// # Cancel safety
    /// Cancel-safe.
    ///
    /// # Errors
    /// As `recv(2)`; `ConnectionRefused` after an ICMP unreachable.
    pub async fn recv(&self, buf: &mut [u8]) -> io::Result<usize> {
        poll_fn(|cx| self.io.poll_io(cx, Direction::Read, |s| s.recv(buf))).await
    }

    /// Sends now if the socket can, without waiting.
    ///
    /// # Examples
    /// See [`set_broadcast`](UdpSocket::set_broadcast).
    ///
    /// # Errors
    /// `WouldBlock` when the send buffer is full; as `sendto(2)`.
    pub fn try_send_to(&self, buf: &[u8], target: SocketAddr) -> io::Result<usize> {
        try_op(&self.io, Direction::Write, |s| s.send_to(buf, target))
    }

    /// Receives a datagram that is already there, without waiting.
    ///
    /// # Examples
    /// See [`set_broadcast`](UdpSocket::set_broadcast).
    ///
    /// # Errors
    /// `WouldBlock` when none is there; as `recvfrom(2)`.
    pub fn try_recv_from(&self, buf: &mut [u8]) -> io::Result<(usize, SocketAddr)> {
        try_op(&self.io, Direction::Read, |s| s.recv_from(buf))
    }

    /// The local address.
    ///
    /// # Examples
    /// See [`set_broadcast`](UdpSocket::set_broadcast).
    ///
    /// # Errors
    /// As `getsockname`.
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.io.get_ref().local_addr()
    }

    /// The connected peer's address.
    ///
    /// # Examples
    /// See [`set_broadcast`](UdpSocket::set_broadcast).
    ///
    /// # Errors
    /// `NotConnected` without [`connect`](UdpSocket::connect).
    pub fn peer_addr(&self) -> io::Result<SocketAddr> {
        self.io.get_ref().peer_addr()
    }

    /// Allows sending to broadcast addresses.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::io::ErrorKind;
    /// use boucle::net::UdpSocket;
    ///
    /// boucle::run(async {
    ///     let a = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    ///     let b = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    ///     a.set_broadcast(true).unwrap();
    ///     assert!(a.broadcast().unwrap());
    ///     a.set_ttl(16).unwrap();
    ///     assert_eq!(a.ttl().unwrap(), 16);
    ///     assert!(a.take_error().unwrap().is_none());
    ///     assert_eq!(a.peer_addr().unwrap_err().kind(), ErrorKind::NotConnected);
    ///     let mut buf = [0u8; 4];
    ///     assert_eq!(b.try_recv_from(&mut buf).unwrap_err().kind(), ErrorKind::WouldBlock);
    ///     a.try_send_to(b"now", b.local_addr().unwrap()).unwrap();
    ///     let (n, from) = b.recv_from(&mut buf).await.unwrap();
    ///     assert_eq!((&buf[..n], from), (&b"now"[..], a.local_addr().unwrap()));
    /// });
    /// ```
    ///
    /// # Errors
    /// As `setsockopt`.
    pub fn set_broadcast(&self, on: bool) -> io::Result<()> {
        self.io.get_ref().set_broadcast(on)
    }

    /// Whether broadcast is allowed.
    ///
    /// # Examples
    /// See [`set_broadcast`](UdpSocket::set_broadcast).
    ///
    /// # Errors
    /// As `getsockopt`.
    pub fn broadcast(&self) -> io::Result<bool> {
        self.io.get_ref().broadcast()
    }

    /// Sets the IP time-to-live.
    ///
    /// # Examples
    /// See [`set_broadcast`](UdpSocket::set_broadcast).
    ///
    /// # Errors
    /// As `setsockopt`.
    pub fn set_ttl(&self, ttl: u32) -> io::Result<()> {
        self.io.get_ref().set_ttl(ttl)
    }

    /// The IP time-to-live.
    ///
    /// # Examples
    /// See [`set_broadcast`](UdpSocket::set_broadcast).
    ///
    /// # Errors
    /// As `getsockopt`.
    pub fn ttl(&self) -> io::Result<u32> {
        self.io.get_ref().ttl()
    }

    /// The pending socket error (`SO_ERROR`), cleared by reading it.
    ///
    /// # Examples
    /// See [`set_broadcast`](UdpSocket::set_broadcast).
    ///
    /// # Errors
    /// As `getsockopt`.
    pub fn take_error(&self) -> io::Result<Option<io::Error>> {
        self.io.get_ref().take_error()
    }
}

impl AsRawFd for UdpSocket {
    fn as_raw_fd(&self) -> RawFd {
        self.io.get_ref().as_raw_fd()
    }
}

impl AsFd for UdpSocket {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.io.get_ref().as_fd()
    }
}

impl fmt::Debug for UdpSocket {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("UdpSocket")
            .field("local", &self.local_addr().ok())
            .field("fd", &self.as_raw_fd())
            .finish()
    }
}
