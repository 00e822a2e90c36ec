//! `UnixDatagram`: Unix datagram sockets on the loop.

use std::fmt;
use std::future::poll_fn;
use std::io;
use std::net::Shutdown;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, RawFd};
use std::os::unix::net::SocketAddr;
use std::path::Path;

use crate::io::{Direction, PollEvented};

/// A Unix datagram socket. Methods take `&self`; receive from one task at
/// a time and send from one task at a time.
///
/// # Examples
///
/// ```
/// use boucle::net::UnixDatagram;
///
/// boucle::run(async {
///     let (a, b) = UnixDatagram::pair().unwrap();
///     a.send(b"ping").await.unwrap();
///     let mut buf = [0u8; 8];
///     let n = b.recv(&mut buf).await.unwrap();
///     assert_eq!(&buf[..n], b"ping");
/// });
/// ```
pub struct UnixDatagram {
    io: PollEvented<mio::net::UnixDatagram>,
}

impl UnixDatagram {
    /// A socket bound to the filesystem path `path` (which must not exist).
    ///
    /// # Examples
    ///
    /// ```
    /// use boucle::net::UnixDatagram;
    ///
    /// let path = std::env::temp_dir().join(format!("boucle-doc-ud-{}.sock", std::process::id()));
    /// let _ = std::fs::remove_file(&path);
    /// boucle::run(async {
    ///     let server = UnixDatagram::bind(&path).unwrap();
    ///     let client = UnixDatagram::unbound().unwrap();
    ///     client.send_to(b"hello", &path).await.unwrap();
    ///     let mut buf = [0u8; 8];
    ///     let (n, from) = server.recv_from(&mut buf).await.unwrap();
    ///     assert_eq!(&buf[..n], b"hello");
    ///     assert!(from.is_unnamed());
    /// });
    /// std::fs::remove_file(&path).unwrap();
    /// ```
    ///
    /// # Errors
    /// `AddrInUse` when the path exists; as `bind(2)`.
    ///
    /// # Panics
    /// Outside a running loop.
    #[track_caller]
    pub fn bind(path: impl AsRef<Path>) -> io::Result<UnixDatagram> {
        UnixDatagram::from_mio(mio::net::UnixDatagram::bind(path)?)
    }

    /// A socket bound to no address (it can send, and receive replies once
    /// connected).
    ///
    /// # Examples
    /// See [`bind`](UnixDatagram::bind).
    ///
    /// # Errors
    /// As `socket(2)`.
    ///
    /// # Panics
    /// Outside a running loop.
    #[track_caller]
    pub fn unbound() -> io::Result<UnixDatagram> {
        UnixDatagram::from_mio(mio::net::UnixDatagram::unbound()?)
    }

    /// A connected pair of sockets.
    ///
    /// # Examples
    /// See [`UnixDatagram`].
    ///
    /// # Errors
    /// As `socketpair(2)`.
    ///
    /// # Panics
    /// Outside a running loop.
    #[track_caller]
    pub fn pair() -> io::Result<(UnixDatagram, UnixDatagram)> {
        let (a, b) = mio::net::UnixDatagram::pair()?;
        Ok((UnixDatagram::from_mio(a)?, UnixDatagram::from_mio(b)?))
    }

    /// Wraps a std socket (made non-blocking here).
    ///
    /// # Examples
    ///
    /// ```
    /// boucle::run(async {
    ///     let (a, _b) = std::os::unix::net::UnixDatagram::pair().unwrap();
    ///     let a = boucle::net::UnixDatagram::from_std(a).unwrap();
    ///     assert!(a.local_addr().unwrap().is_unnamed());
    /// });
    /// ```
    ///
    /// # Errors
    /// If the socket cannot be made non-blocking or registered.
    ///
    /// # Panics
    /// Outside a running loop.
    #[track_caller]
    pub fn from_std(socket: std::os::unix::net::UnixDatagram) -> io::Result<UnixDatagram> {
        socket.set_nonblocking(true)?;
        UnixDatagram::from_mio(mio::net::UnixDatagram::from_std(socket))
    }

    fn from_mio(socket: mio::net::UnixDatagram) -> io::Result<UnixDatagram> {
        Ok(UnixDatagram {
            io: PollEvented::new(socket)?,
        })
    }

    /// Sets the default peer (for [`send`](UnixDatagram::send) and
    /// [`recv`](UnixDatagram::recv)).
    ///
    /// # Examples
    ///
    /// ```
    /// use boucle::net::UnixDatagram;
    ///
    /// let path = std::env::temp_dir().join(format!("boucle-doc-udc-{}.sock", std::process::id()));
    /// let _ = std::fs::remove_file(&path);
    /// boucle::run(async {
    ///     let server = UnixDatagram::bind(&path).unwrap();
    ///     let client = UnixDatagram::unbound().unwrap();
    ///     client.connect(&path).unwrap();
    ///     client.send(b"x").await.unwrap();
    ///     let mut buf = [0u8; 1];
    ///     assert_eq!(server.recv(&mut buf).await.unwrap(), 1);
    /// });
    /// std::fs::remove_file(&path).unwrap();
    /// ```
    ///
    /// # Errors
    /// As `connect(2)`.
    pub fn connect(&self, path: impl AsRef<Path>) -> io::Result<()> {
        self.io.get_ref().connect(path)
    }

    /// Sends a datagram to the socket at `path`.
    ///
    /// # Examples
    /// See [`bind`](UnixDatagram::bind).
    ///
    /// # Cancel safety
    /// Cancel-safe.
    ///
    /// # Errors
    /// As `sendto(2)`.
    pub async fn send_to(&self, buf: &[u8], path: impl AsRef<Path>) -> io::Result<usize> {
        let path = path.as_ref();
        poll_fn(|cx| {
            self.io
                .poll_io(cx, Direction::Write, |s| s.send_to(buf, path))
        })
        .await
    }

    /// Receives a datagram: its length and sender.
    ///
    /// # Examples
    /// See [`bind`](UnixDatagram::bind).
    ///
    /// # Cancel safety
    /// Cancel-safe.
    ///
    /// # Errors
    /// As `recvfrom(2)`.
    pub async fn recv_from(&self, buf: &mut [u8]) -> io::Result<(usize, SocketAddr)> {
        poll_fn(|cx| self.io.poll_io(cx, Direction::Read, |s| s.recv_from(buf))).await
    }

    /// Sends a datagram to the connected peer.
    ///
    /// # Examples
    /// See [`UnixDatagram`].
    ///
    /// # Cancel safety
    /// Cancel-safe.
    ///
    /// # Errors
    /// `NotConnected` without a peer; as `send(2)`.
    pub async fn send(&self, buf: &[u8]) -> io::Result<usize> {
        poll_fn(|cx| self.io.poll_io(cx, Direction::Write, |s| s.send(buf))).await
    }

    /// Receives a datagram.
    ///
    /// # Examples
    /// See [`UnixDatagram`].
    ///
    /// # Cancel safety
    /// Cancel-safe.
    ///
    /// # Errors
    /// As `recv(2)`.
    pub async fn recv(&self, buf: &mut [u8]) -> io::Result<usize> {
        poll_fn(|cx| self.io.poll_io(cx, Direction::Read, |s| s.recv(buf))).await
    }

    /// The local address.
    ///
    /// # Examples
    /// See [`UnixDatagram::bind`] and [`UnixDatagram::connect`].
    ///
    /// # Errors
    /// As `getsockname`.
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.io.get_ref().local_addr()
    }

    /// The connected peer's address.
    ///
    /// # Examples
    /// See [`UnixDatagram::bind`] and [`UnixDatagram::connect`].
    ///
    /// # Errors
    /// `NotConnected` without a peer.
    pub fn peer_addr(&self) -> io::Result<SocketAddr> {
        self.io.get_ref().peer_addr()
    }

    /// Shuts down reading, writing or both.
    ///
    /// # Examples
    /// See [`UnixDatagram::bind`] and [`UnixDatagram::connect`].
    ///
    /// # Errors
    /// As `shutdown(2)`.
    pub fn shutdown(&self, how: Shutdown) -> io::Result<()> {
        self.io.get_ref().shutdown(how)
    }
}

impl AsRawFd for UnixDatagram {
    fn as_raw_fd(&self) -> RawFd {
        self.io.get_ref().as_raw_fd()
    }
}

impl AsFd for UnixDatagram {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.io.get_ref().as_fd()
    }
}

impl fmt::Debug for UnixDatagram {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("UnixDatagram")
            .field("local", &self.local_addr().ok())
            .field("fd", &self.as_raw_fd())
            .finish()
    }
}
