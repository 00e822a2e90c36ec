//! The connection under a reader/writer pair, TCP or Unix, and its
//! addresses.

use std::fmt;
use std::io;
use std::net::{Shutdown, SocketAddr};
use std::task::{Context, Poll};

use crate::net::ops;
use crate::net::{TcpStream, UnixStream};

/// A socket address of a stream: IP or Unix (what asyncio's
/// `get_extra_info("peername")` / `("sockname")` give).
///
/// # Examples
///
/// ```
/// use boucle::net::{streams_from_unix, TcpListener, TcpStream, UnixStream, StreamAddr};
///
/// boucle::run(async {
///     let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
///     let addr = listener.local_addr().unwrap();
///     let (_r, w) = boucle::net::streams_from_tcp(TcpStream::connect(addr).await.unwrap());
///     let peer: StreamAddr = w.peer_addr().unwrap();
///     assert_eq!(peer.as_inet(), Some(addr));
///     assert_eq!(peer.port(), Some(addr.port()));
///     assert!(peer.as_unix().is_none());
///     assert_eq!(peer, addr);
///     assert_eq!(peer.to_string(), addr.to_string());
///
///     let (a, _b) = UnixStream::pair().unwrap();
///     let (_r, w) = streams_from_unix(a);
///     let peer = w.peer_addr().unwrap();
///     assert!(peer.as_unix().unwrap().is_unnamed());
///     assert_eq!(peer.port(), None);
///     assert_eq!(peer.to_string(), "(unnamed)");
/// });
/// ```
#[derive(Debug, Clone)]
pub enum StreamAddr {
    /// A TCP address.
    Inet(SocketAddr),
    /// A Unix socket address (a path, or unnamed).
    Unix(std::os::unix::net::SocketAddr),
}

impl StreamAddr {
    /// The IP address and port, for TCP.
    ///
    /// # Examples
    /// See [`StreamAddr`].
    pub fn as_inet(&self) -> Option<SocketAddr> {
        match self {
            StreamAddr::Inet(a) => Some(*a),
            StreamAddr::Unix(_) => None,
        }
    }

    /// The Unix address, for Unix sockets.
    ///
    /// # Examples
    /// See [`StreamAddr`].
    pub fn as_unix(&self) -> Option<&std::os::unix::net::SocketAddr> {
        match self {
            StreamAddr::Inet(_) => None,
            StreamAddr::Unix(a) => Some(a),
        }
    }

    /// The port, for TCP.
    ///
    /// # Examples
    /// See [`StreamAddr`].
    pub fn port(&self) -> Option<u16> {
        self.as_inet().map(|a| a.port())
    }
}

impl PartialEq<SocketAddr> for StreamAddr {
    fn eq(&self, other: &SocketAddr) -> bool {
        self.as_inet() == Some(*other)
    }
}

impl fmt::Display for StreamAddr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            StreamAddr::Inet(a) => fmt::Display::fmt(a, f),
            StreamAddr::Unix(a) => match a.as_pathname() {
                Some(p) => write!(f, "{}", p.display()),
                None => f.write_str("(unnamed)"),
            },
        }
    }
}

/// The socket shared by a `StreamReader` and its `StreamWriter`.
pub(crate) enum Conn {
    Tcp(TcpStream),
    Unix(UnixStream),
}

impl Conn {
    pub(crate) fn poll_read(
        &self,
        cx: &mut Context<'_>,
        buf: &mut [u8],
    ) -> Poll<io::Result<usize>> {
        match self {
            Conn::Tcp(s) => ops::poll_read(s.io(), cx, buf),
            Conn::Unix(s) => ops::poll_read(s.io(), cx, buf),
        }
    }

    pub(crate) fn poll_write(&self, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        match self {
            Conn::Tcp(s) => ops::poll_write(s.io(), cx, buf),
            Conn::Unix(s) => ops::poll_write(s.io(), cx, buf),
        }
    }

    /// One write attempt now.
    pub(crate) fn try_write(&self, buf: &[u8]) -> io::Result<usize> {
        match self {
            Conn::Tcp(s) => ops::try_write(s.io(), buf),
            Conn::Unix(s) => ops::try_write(s.io(), buf),
        }
    }

    pub(crate) fn shutdown(&self, how: Shutdown) -> io::Result<()> {
        let r = match self {
            Conn::Tcp(s) => s.shutdown(how),
            Conn::Unix(s) => s.shutdown(how),
        };
        match r {
            // The peer is gone already: the direction is shut either way.
            Err(e) if e.kind() == io::ErrorKind::NotConnected => Ok(()),
            other => other,
        }
    }

    pub(crate) fn peer_addr(&self) -> io::Result<StreamAddr> {
        match self {
            Conn::Tcp(s) => s.peer_addr().map(StreamAddr::Inet),
            Conn::Unix(s) => s.peer_addr().map(StreamAddr::Unix),
        }
    }

    pub(crate) fn local_addr(&self) -> io::Result<StreamAddr> {
        match self {
            Conn::Tcp(s) => s.local_addr().map(StreamAddr::Inet),
            Conn::Unix(s) => s.local_addr().map(StreamAddr::Unix),
        }
    }
}

impl fmt::Debug for Conn {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Conn::Tcp(s) => fmt::Debug::fmt(s, f),
            Conn::Unix(s) => fmt::Debug::fmt(s, f),
        }
    }
}
