//! `BoucleIo`: hyper's `Read` / `Write` over a `futures_io` stream.
//!
//! hyper reads into buffers it has not initialised (`ReadBufCursor`), and
//! the only safe way to fill one is `put_slice`. So a read goes through a
//! scratch buffer: `futures_io::AsyncRead` fills it, `put_slice` copies it
//! out. The buffer is one per thread, not one per connection (the loop
//! polls one connection at a time, and the read is synchronous within the
//! poll), so ten thousand idle connections cost no buffer memory. The copy
//! is a `memcpy` of what the system call just wrote: small next to the
//! system call itself, and it keeps the crate free of `unsafe`.

use std::cell::RefCell;
use std::fmt;
use std::io::{self, IoSlice};
use std::pin::Pin;
use std::task::{Context, Poll};

use futures_io::{AsyncRead, AsyncWrite};
use hyper::rt::ReadBufCursor;

/// The most one read asks of the stream.
const SCRATCH: usize = 16 * 1024;

thread_local! {
    static SCRATCH_BUF: RefCell<Box<[u8]>> = RefCell::new(vec![0u8; SCRATCH].into_boxed_slice());
}

/// A `futures_io` byte stream (boucle's `TcpStream`, `UnixStream`, a
/// futures-rustls `TlsStream`...) seen as hyper's [`hyper::rt::Read`] and
/// [`hyper::rt::Write`].
///
/// # Examples
/// See the [module docs](crate::rt).
pub struct BoucleIo<T> {
    inner: T,
    vectored: bool,
}

impl<T> BoucleIo<T> {
    /// Wraps `inner`. hyper's writes of several buffers go to
    /// `poll_write_vectored` (boucle's sockets implement it with one
    /// `writev`).
    ///
    /// # Examples
    ///
    /// ```
    /// use boucle::net::{TcpListener, TcpStream};
    /// use boucle_http::rt::BoucleIo;
    ///
    /// boucle::run(async {
    ///     let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    ///     let stream = TcpStream::connect(listener.local_addr().unwrap()).await.unwrap();
    ///     let io = BoucleIo::new(stream);
    ///     assert!(io.get_ref().peer_addr().is_ok());
    /// });
    /// ```
    pub fn new(inner: T) -> BoucleIo<T> {
        BoucleIo {
            inner,
            vectored: true,
        }
    }

    /// Wraps `inner`, telling hyper to flatten its buffers itself (for
    /// streams whose `poll_write_vectored` writes only the first buffer,
    /// as futures-io's default does).
    ///
    /// # Examples
    ///
    /// ```
    /// let io = boucle_http::rt::BoucleIo::without_vectored_writes(futures_util::io::Cursor::new(Vec::<u8>::new()));
    /// assert!(io.into_inner().into_inner().is_empty());
    /// ```
    pub fn without_vectored_writes(inner: T) -> BoucleIo<T> {
        BoucleIo {
            inner,
            vectored: false,
        }
    }

    /// The wrapped stream.
    ///
    /// # Examples
    /// See [`new`](BoucleIo::new).
    pub fn get_ref(&self) -> &T {
        &self.inner
    }

    /// The wrapped stream, mutably.
    ///
    /// # Examples
    ///
    /// ```
    /// let mut io = boucle_http::rt::BoucleIo::new(futures_util::io::Cursor::new(vec![1u8]));
    /// io.get_mut().set_position(1);
    /// assert_eq!(io.get_ref().position(), 1);
    /// ```
    pub fn get_mut(&mut self) -> &mut T {
        &mut self.inner
    }

    /// Unwraps the stream.
    ///
    /// # Examples
    /// See [`without_vectored_writes`](BoucleIo::without_vectored_writes).
    pub fn into_inner(self) -> T {
        self.inner
    }
}

impl<T: AsyncRead + Unpin> hyper::rt::Read for BoucleIo<T> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        mut buf: ReadBufCursor<'_>,
    ) -> Poll<io::Result<()>> {
        let want = buf.remaining().min(SCRATCH);
        if want == 0 {
            return Poll::Ready(Ok(()));
        }
        let this = self.get_mut();
        SCRATCH_BUF.with(|scratch| {
            // A stream whose poll_read polls another BoucleIo on the same
            // thread (a stream nested in a stream) finds the buffer taken:
            // it gets a buffer of its own for that read.
            let mut own;
            let mut borrowed = scratch.try_borrow_mut();
            let tmp: &mut [u8] = match &mut borrowed {
                Ok(b) => &mut b[..want],
                Err(_) => {
                    own = vec![0u8; want];
                    &mut own[..]
                }
            };
            match Pin::new(&mut this.inner).poll_read(cx, tmp) {
                Poll::Ready(Ok(n)) => {
                    buf.put_slice(&tmp[..n.min(want)]);
                    Poll::Ready(Ok(()))
                }
                Poll::Ready(Err(e)) => Poll::Ready(Err(e)),
                Poll::Pending => Poll::Pending,
            }
        })
    }
}

impl<T: AsyncWrite + Unpin> hyper::rt::Write for BoucleIo<T> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().inner).poll_write(cx, buf)
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_close(cx)
    }

    fn is_write_vectored(&self) -> bool {
        self.vectored
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().inner).poll_write_vectored(cx, bufs)
    }
}

impl<T: fmt::Debug> fmt::Debug for BoucleIo<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("BoucleIo").field(&self.inner).finish()
    }
}
