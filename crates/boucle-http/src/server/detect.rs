//! Which protocol a plain-TCP client speaks: HTTP/2 with prior knowledge
//! (h2c) starts with a fixed 24-byte preface that no HTTP/1.x request can
//! begin with. The bytes read to decide are played back by [`Rewind`].

use std::io::{self, IoSlice};
use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::{Buf, Bytes};
use futures_io::{AsyncRead, AsyncWrite};
use futures_util::AsyncReadExt;

/// RFC 9113 3.4: the client connection preface.
pub(crate) const H2_PREFACE: &[u8; 24] = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";

/// What the first bytes say.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Detected {
    Http1,
    Http2,
    /// The client closed before sending a byte.
    Closed,
}

/// Reads just enough to tell HTTP/2's preface from an HTTP/1.x request
/// (one byte usually: `G`, `P`, `H`...). Returns the verdict and the
/// bytes read.
pub(crate) async fn detect<T: AsyncRead + Unpin>(io: &mut T) -> io::Result<(Detected, Bytes)> {
    let mut buf = [0u8; 24];
    let mut n = 0;
    loop {
        let got = io.read(&mut buf[n..]).await?;
        if got == 0 {
            let verdict = if n == 0 {
                Detected::Closed
            } else {
                Detected::Http1
            };
            return Ok((verdict, Bytes::copy_from_slice(&buf[..n])));
        }
        n += got;
        if buf[..n] != H2_PREFACE[..n] {
            return Ok((Detected::Http1, Bytes::copy_from_slice(&buf[..n])));
        }
        if n == H2_PREFACE.len() {
            return Ok((Detected::Http2, Bytes::copy_from_slice(&buf[..n])));
        }
    }
}

/// A stream whose first reads return `prefix`, then the stream's bytes.
pub(crate) struct Rewind<T> {
    prefix: Bytes,
    inner: T,
}

impl<T> Rewind<T> {
    pub(crate) fn new(prefix: Bytes, inner: T) -> Rewind<T> {
        Rewind { prefix, inner }
    }
}

impl<T: AsyncRead + Unpin> AsyncRead for Rewind<T> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut [u8],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        if !this.prefix.is_empty() {
            let n = this.prefix.len().min(buf.len());
            buf[..n].copy_from_slice(&this.prefix[..n]);
            this.prefix.advance(n);
            return Poll::Ready(Ok(n));
        }
        Pin::new(&mut this.inner).poll_read(cx, buf)
    }
}

impl<T: AsyncWrite + Unpin> AsyncWrite for Rewind<T> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().inner).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().inner).poll_write_vectored(cx, bufs)
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_flush(cx)
    }

    fn poll_close(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_close(cx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use futures_util::io::Cursor;

    #[test]
    fn tells_the_preface_from_a_request_and_rewinds() {
        boucle::run(async {
            let mut h1 = Cursor::new(b"GET / HTTP/1.1\r\n\r\n".to_vec());
            let (d, prefix) = detect(&mut h1).await.unwrap();
            assert_eq!(d, Detected::Http1);
            assert_eq!(&prefix[..], b"GET / HTTP/1.1\r\n\r\n");
            let mut h2 = Cursor::new([&H2_PREFACE[..], b"\0\0\0\x04"].concat());
            let (d, prefix) = detect(&mut h2).await.unwrap();
            assert_eq!(d, Detected::Http2);
            let mut back = Rewind::new(prefix, h2);
            let mut all = Vec::new();
            back.read_to_end(&mut all).await.unwrap();
            assert_eq!(all, [&H2_PREFACE[..], b"\0\0\0\x04"].concat());
            let mut empty = Cursor::new(Vec::new());
            assert_eq!(detect(&mut empty).await.unwrap().0, Detected::Closed);
            // "PRI" then something else: HTTP/1 (a bad request, for hyper to answer).
            let mut pri = Cursor::new(b"PRI /x HTTP/1.1\r\n".to_vec());
            assert_eq!(detect(&mut pri).await.unwrap().0, Detected::Http1);
        });
    }
}
