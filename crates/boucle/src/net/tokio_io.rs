//! tokio's `AsyncRead` / `AsyncWrite` (and `AsyncBufRead` for
//! [`StreamReader`]) on boucle's streams, with the cargo feature
//! `tokio-io`, so that crates written against tokio's I/O traits
//! (tokio-rustls, tokio-util codecs, hyper-util's `TokioIo`) run on them.
//! They forward to the `futures_io` implementations.
//!
//! ```
//! # #[cfg(feature = "tokio-io")]
//! # {
//! use std::future::poll_fn;
//! use std::pin::Pin;
//! use boucle::net::UnixStream;
//! use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
//!
//! boucle::run(async {
//!     let (mut a, mut b) = UnixStream::pair().unwrap();
//!     poll_fn(|cx| Pin::new(&mut a).poll_write(cx, b"tokio")).await.unwrap();
//!     let mut storage = [0u8; 8];
//!     let mut buf = ReadBuf::new(&mut storage);
//!     poll_fn(|cx| Pin::new(&mut b).poll_read(cx, &mut buf)).await.unwrap();
//!     assert_eq!(buf.filled(), b"tokio");
//! });
//! # }
//! ```

use std::io;
use std::pin::Pin;
use std::task::{ready, Context, Poll};

use tokio::io::{AsyncBufRead, AsyncRead, AsyncWrite, ReadBuf};

use super::{OwnedReadHalf, OwnedWriteHalf, StreamReader, StreamWriter, TcpStream, UnixStream};

macro_rules! tokio_read {
    ($($t:ty),*) => {$(
        impl AsyncRead for $t {
            fn poll_read(
                self: Pin<&mut Self>,
                cx: &mut Context<'_>,
                buf: &mut ReadBuf<'_>,
            ) -> Poll<io::Result<()>> {
                let n = ready!(futures_io::AsyncRead::poll_read(
                    self,
                    cx,
                    buf.initialize_unfilled()
                ))?;
                buf.advance(n);
                Poll::Ready(Ok(()))
            }
        }
    )*};
}

macro_rules! tokio_write {
    ($($t:ty),*) => {$(
        impl AsyncWrite for $t {
            fn poll_write(
                self: Pin<&mut Self>,
                cx: &mut Context<'_>,
                buf: &[u8],
            ) -> Poll<io::Result<usize>> {
                futures_io::AsyncWrite::poll_write(self, cx, buf)
            }

            fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
                futures_io::AsyncWrite::poll_flush(self, cx)
            }

            fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
                futures_io::AsyncWrite::poll_close(self, cx)
            }
        }
    )*};
}

tokio_read!(TcpStream, OwnedReadHalf, UnixStream, StreamReader);
tokio_write!(TcpStream, OwnedWriteHalf, UnixStream, StreamWriter);

impl AsyncBufRead for StreamReader {
    fn poll_fill_buf(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<&[u8]>> {
        futures_io::AsyncBufRead::poll_fill_buf(self, cx)
    }

    fn consume(self: Pin<&mut Self>, amt: usize) {
        futures_io::AsyncBufRead::consume(self, amt)
    }
}
