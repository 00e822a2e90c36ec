//! Owned halves of a `TcpStream`, for a reader task and a writer task.
//!
//! Both halves share the stream through an `Rc` (one loop, one thread: no
//! atomics). The reactor keeps one waiting reader and one waiting writer
//! per socket, which is exactly what two halves need.

use std::error::Error;
use std::fmt;
use std::future::Future;
use std::io;
use std::net::{Shutdown, SocketAddr};
use std::rc::Rc;

use super::TcpStream;
use crate::io::PollEvented;
use crate::net::ops::{self, impl_async_io, Read, ReadAhead, ReadExact, Write, WriteAll};

pub(super) fn split(mut stream: TcpStream) -> (OwnedReadHalf, OwnedWriteHalf) {
    let ahead = stream.take_ahead();
    let inner = Rc::new(stream);
    (
        OwnedReadHalf {
            inner: inner.clone(),
            ahead,
        },
        OwnedWriteHalf {
            inner,
            shutdown_on_drop: true,
        },
    )
}

/// The read half of a [`TcpStream`], from
/// [`TcpStream::into_split`]. Implements `futures_io::AsyncRead`.
///
/// # Examples
/// See [`TcpStream::into_split`].
pub struct OwnedReadHalf {
    inner: Rc<TcpStream>,
    ahead: ReadAhead,
}

/// The write half of a [`TcpStream`], from
/// [`TcpStream::into_split`]. Implements `futures_io::AsyncWrite`.
///
/// Dropping it shuts the write direction down (the peer reads end of
/// stream), as tokio's does; the read half keeps working.
///
/// # Examples
/// See [`TcpStream::into_split`].
pub struct OwnedWriteHalf {
    inner: Rc<TcpStream>,
    shutdown_on_drop: bool,
}

/// The error of [`OwnedReadHalf::reunite`]: the halves came from two
/// different streams. It gives them back.
///
/// # Examples
///
/// ```
/// use boucle::net::{TcpListener, TcpStream};
///
/// boucle::run(async {
///     let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
///     let addr = listener.local_addr().unwrap();
///     let (r1, _w1) = TcpStream::connect(addr).await.unwrap().into_split();
///     let (_r2, w2) = TcpStream::connect(addr).await.unwrap().into_split();
///     let err = r1.reunite(w2).unwrap_err();
///     let (_r1, _w2) = (err.0, err.1); // the halves come back
/// });
/// ```
pub struct ReuniteError(pub OwnedReadHalf, pub OwnedWriteHalf);

impl fmt::Debug for ReuniteError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ReuniteError(..)")
    }
}

impl fmt::Display for ReuniteError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("tried to reunite halves that are not from the same socket")
    }
}

impl Error for ReuniteError {}

impl OwnedReadHalf {
    /// Reads once, up to `buf.len()` bytes; `Ok(0)` at end of stream.
    ///
    /// # Examples
    /// See [`TcpStream::into_split`].
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
        Read::new(self.inner.io(), &mut self.ahead, buf)
    }

    /// Fills `buf` completely.
    ///
    /// # Examples
    /// See [`TcpStream::into_split`].
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
        ReadExact::new(self.inner.io(), &mut self.ahead, buf)
    }

    /// The peer's address.
    ///
    /// # Examples
    /// See [`TcpStream::into_split`].
    ///
    /// # Errors
    /// `NotConnected` when the peer is gone.
    pub fn peer_addr(&self) -> io::Result<SocketAddr> {
        self.inner.peer_addr()
    }

    /// The local address.
    ///
    /// # Examples
    /// See [`TcpStream::into_split`].
    ///
    /// # Errors
    /// As `getsockname`.
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.inner.local_addr()
    }

    /// Puts the halves back together.
    ///
    /// # Examples
    ///
    /// ```
    /// use boucle::net::{TcpListener, TcpStream};
    ///
    /// boucle::run(async {
    ///     let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    ///     let stream = TcpStream::connect(listener.local_addr().unwrap()).await.unwrap();
    ///     let (rd, wr) = stream.into_split();
    ///     let stream = rd.reunite(wr).unwrap();
    ///     assert!(stream.peer_addr().is_ok());
    /// });
    /// ```
    ///
    /// # Errors
    /// [`ReuniteError`] when the halves come from different streams.
    pub fn reunite(self, mut other: OwnedWriteHalf) -> Result<TcpStream, ReuniteError> {
        if !Rc::ptr_eq(&self.inner, &other.inner) {
            return Err(ReuniteError(self, other));
        }
        other.shutdown_on_drop = false;
        drop(other);
        match Rc::try_unwrap(self.inner) {
            Ok(mut stream) => {
                stream.put_ahead(self.ahead);
                Ok(stream)
            }
            Err(_) => unreachable!("the two halves were the only owners"),
        }
    }

    fn parts(&mut self) -> (&PollEvented<mio::net::TcpStream>, &mut ReadAhead) {
        (self.inner.io(), &mut self.ahead)
    }
}

impl OwnedWriteHalf {
    /// Writes once, some prefix of `buf`.
    ///
    /// # Examples
    /// See [`TcpStream::into_split`].
    ///
    /// # Cancel safety
    /// Cancel-safe.
    ///
    /// # Errors
    /// The socket's error.
    pub fn write<'a>(&'a mut self, buf: &'a [u8]) -> impl Future<Output = io::Result<usize>> + 'a {
        Write::new(self.inner.io(), buf)
    }

    /// Writes all of `buf`.
    ///
    /// # Examples
    /// See [`TcpStream::into_split`].
    ///
    /// # Cancel safety
    /// Not cancel-safe: a dropped `write_all` wrote an unknown prefix.
    ///
    /// # Errors
    /// The socket's error; `WriteZero`.
    pub fn write_all<'a>(&'a mut self, buf: &'a [u8]) -> impl Future<Output = io::Result<()>> + 'a {
        WriteAll::new(self.inner.io(), buf)
    }

    /// Half-closes: shuts the write direction down now.
    ///
    /// # Examples
    /// See [`TcpStream::into_split`].
    ///
    /// # Errors
    /// As `shutdown(2)`.
    pub fn shutdown(&self) -> io::Result<()> {
        self.inner.shutdown(Shutdown::Write)
    }

    /// Drops the half without shutting the write direction down.
    ///
    /// # Examples
    /// See [`TcpStream::into_split`].
    pub fn forget(mut self) {
        self.shutdown_on_drop = false;
    }

    /// The peer's address.
    ///
    /// # Examples
    /// See [`TcpStream::into_split`].
    ///
    /// # Errors
    /// `NotConnected` when the peer is gone.
    pub fn peer_addr(&self) -> io::Result<SocketAddr> {
        self.inner.peer_addr()
    }

    /// The local address.
    ///
    /// # Examples
    /// See [`TcpStream::into_split`].
    ///
    /// # Errors
    /// As `getsockname`.
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.inner.local_addr()
    }

    fn io(&self) -> &PollEvented<mio::net::TcpStream> {
        self.inner.io()
    }
}

impl Drop for OwnedWriteHalf {
    fn drop(&mut self) {
        if self.shutdown_on_drop {
            let _ = self.inner.shutdown(Shutdown::Write);
        }
    }
}

impl_async_io!(read: OwnedReadHalf, parts);
impl_async_io!(write: OwnedWriteHalf, io, |s| ops::shutdown_write(s.io()));

impl fmt::Debug for OwnedReadHalf {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("OwnedReadHalf").field(&*self.inner).finish()
    }
}

impl fmt::Debug for OwnedWriteHalf {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("OwnedWriteHalf").field(&*self.inner).finish()
    }
}
