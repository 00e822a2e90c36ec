//! `UnixListener`: a listening Unix stream socket on the loop.

use std::fmt;
use std::future::poll_fn;
use std::io;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, RawFd};
use std::os::unix::net::SocketAddr;
use std::path::Path;
use std::task::{Context, Poll};

use super::UnixStream;
use crate::io::{Direction, PollEvented};

/// A Unix stream socket listening for connections.
///
/// # Examples
///
/// ```
/// use boucle::net::{UnixListener, UnixStream};
///
/// let path = std::env::temp_dir().join(format!("boucle-doc-ul-{}.sock", std::process::id()));
/// let _ = std::fs::remove_file(&path);
/// boucle::run(async {
///     let listener = UnixListener::bind(&path).unwrap();
///     let mut client = UnixStream::connect(&path).await.unwrap();
///     let (mut server, _) = listener.accept().await.unwrap();
///     client.write_all(b"hi").await.unwrap();
///     let mut buf = [0u8; 2];
///     server.read_exact(&mut buf).await.unwrap();
///     assert_eq!(&buf, b"hi");
/// });
/// std::fs::remove_file(&path).unwrap();
/// ```
pub struct UnixListener {
    io: PollEvented<mio::net::UnixListener>,
}

impl UnixListener {
    /// Binds to the filesystem path `path` and listens. The path must not
    /// exist (remove a stale socket first); it is not removed on drop.
    ///
    /// # Examples
    /// See [`UnixListener`].
    ///
    /// # Errors
    /// `AddrInUse` when the path exists; as `bind(2)`.
    ///
    /// # Panics
    /// Outside a running loop.
    #[track_caller]
    pub fn bind(path: impl AsRef<Path>) -> io::Result<UnixListener> {
        let listener = mio::net::UnixListener::bind(path)?;
        Ok(UnixListener {
            io: PollEvented::with_interest(listener, mio::Interest::READABLE)?,
        })
    }

    /// Wraps a listening std socket (made non-blocking here).
    ///
    /// # Examples
    ///
    /// ```
    /// let path = std::env::temp_dir().join(format!("boucle-doc-ufs-{}.sock", std::process::id()));
    /// let _ = std::fs::remove_file(&path);
    /// boucle::run(async {
    ///     let std_listener = std::os::unix::net::UnixListener::bind(&path).unwrap();
    ///     let listener = boucle::net::UnixListener::from_std(std_listener).unwrap();
    ///     assert_eq!(listener.local_addr().unwrap().as_pathname(), Some(path.as_path()));
    /// });
    /// std::fs::remove_file(&path).unwrap();
    /// ```
    ///
    /// # Errors
    /// If the socket cannot be made non-blocking or registered.
    ///
    /// # Panics
    /// Outside a running loop.
    #[track_caller]
    pub fn from_std(listener: std::os::unix::net::UnixListener) -> io::Result<UnixListener> {
        listener.set_nonblocking(true)?;
        Ok(UnixListener {
            io: PollEvented::with_interest(
                mio::net::UnixListener::from_std(listener),
                mio::Interest::READABLE,
            )?,
        })
    }

    /// Waits for a connection and accepts it. Accept from one task at a
    /// time.
    ///
    /// # Examples
    /// See [`UnixListener`].
    ///
    /// # Cancel safety
    /// Cancel-safe: the connection stays queued for the next `accept`.
    ///
    /// # Errors
    /// As `accept4(2)` (`EMFILE`...); the listener stays usable.
    pub async fn accept(&self) -> io::Result<(UnixStream, SocketAddr)> {
        poll_fn(|cx| self.poll_accept(cx)).await
    }

    /// The poll form of [`accept`](UnixListener::accept).
    ///
    /// # Examples
    /// See [`TcpListener::poll_accept`](crate::net::TcpListener::poll_accept), the same for TCP.
    ///
    /// # Errors
    /// As [`accept`](UnixListener::accept).
    pub fn poll_accept(&self, cx: &mut Context<'_>) -> Poll<io::Result<(UnixStream, SocketAddr)>> {
        match self.io.poll_io(cx, Direction::Read, |l| l.accept()) {
            Poll::Ready(Ok((s, addr))) => Poll::Ready(UnixStream::from_mio(s).map(|s| (s, addr))),
            Poll::Ready(Err(e)) => Poll::Ready(Err(e)),
            Poll::Pending => Poll::Pending,
        }
    }

    /// The bound address.
    ///
    /// # Examples
    /// See [`UnixListener::from_std`].
    ///
    /// # Errors
    /// As `getsockname`.
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.io.get_ref().local_addr()
    }
}

impl AsRawFd for UnixListener {
    fn as_raw_fd(&self) -> RawFd {
        self.io.get_ref().as_raw_fd()
    }
}

impl AsFd for UnixListener {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.io.get_ref().as_fd()
    }
}

impl fmt::Debug for UnixListener {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("UnixListener")
            .field("local", &self.local_addr().ok())
            .field("fd", &self.as_raw_fd())
            .finish()
    }
}
