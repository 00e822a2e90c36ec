//! The child's standard streams as non-blocking pipes in the reactor.
//!
//! Pipes, unlike regular files, have readiness: the parent's end is set
//! `O_NONBLOCK` (its own file description: the child's end is untouched)
//! and registered with the loop, so reads and writes wait for epoll, not
//! for a thread.

use std::fmt;
use std::future::poll_fn;
use std::io::{self, Read, Write};
use std::pin::Pin;
use std::task::{Context, Poll};

use mio::unix::pipe::{Receiver, Sender};
use mio::Interest;

use crate::io::{Direction, PollEvented};

/// The write end of a child's stdin. Implements `futures_io::AsyncWrite`;
/// [`close`](ChildStdin::close) (or dropping it) gives the child its
/// end of file.
pub struct ChildStdin {
    io: Option<PollEvented<Sender>>,
}

/// The read end of a child's stdout. Implements `futures_io::AsyncRead`.
pub struct ChildStdout {
    io: PollEvented<Receiver>,
}

/// The read end of a child's stderr. Implements `futures_io::AsyncRead`.
pub struct ChildStderr {
    io: PollEvented<Receiver>,
}

fn closed() -> io::Error {
    io::Error::new(io::ErrorKind::BrokenPipe, "the child's stdin was closed")
}

impl ChildStdin {
    pub(crate) fn from_std(std: std::process::ChildStdin) -> io::Result<ChildStdin> {
        let sender = Sender::from(std);
        sender.set_nonblocking(true)?;
        Ok(ChildStdin {
            io: Some(PollEvented::with_interest(sender, Interest::WRITABLE)?),
        })
    }

    fn poll_write_inner(&self, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        match &self.io {
            Some(io) => io.poll_io(cx, Direction::Write, |s| (&*s).write(buf)),
            None => Poll::Ready(Err(closed())),
        }
    }

    /// Writes some of `buf`; returns how many bytes.
    ///
    /// # Errors
    /// `BrokenPipe` once the child closed its stdin (or exited).
    pub async fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        poll_fn(|cx| self.poll_write_inner(cx, buf)).await
    }

    /// Writes all of `buf`.
    ///
    /// # Cancel safety
    /// Not cancel-safe: part of `buf` may have been written.
    ///
    /// # Errors
    /// As [`write`](ChildStdin::write).
    pub async fn write_all(&mut self, mut buf: &[u8]) -> io::Result<()> {
        while !buf.is_empty() {
            let n = self.write(buf).await?;
            buf = &buf[n..];
        }
        Ok(())
    }

    /// Closes the pipe: the child reads end of file.
    pub fn close(&mut self) {
        self.io = None;
    }
}

macro_rules! reader {
    ($t:ident, $std:ty) => {
        impl $t {
            pub(crate) fn from_std(std: $std) -> io::Result<$t> {
                let receiver = Receiver::from(std);
                receiver.set_nonblocking(true)?;
                Ok($t {
                    io: PollEvented::with_interest(receiver, Interest::READABLE)?,
                })
            }

            fn poll_read_inner(
                &self,
                cx: &mut Context<'_>,
                buf: &mut [u8],
            ) -> Poll<io::Result<usize>> {
                self.io.poll_io(cx, Direction::Read, |s| (&*s).read(buf))
            }

            /// Reads into `buf`; returns how many bytes (0: the child
            /// closed its end, usually by exiting).
            ///
            /// # Cancel safety
            /// Cancel-safe.
            ///
            /// # Errors
            /// As `read(2)`.
            pub async fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
                poll_fn(|cx| self.poll_read_inner(cx, buf)).await
            }

            /// Reads until the child closes its end, appending to `out`;
            /// returns the bytes read.
            ///
            /// # Errors
            /// As `read(2)`.
            pub async fn read_to_end(&mut self, out: &mut Vec<u8>) -> io::Result<usize> {
                let start = out.len();
                loop {
                    if out.capacity() - out.len() < 16 * 1024 {
                        out.reserve(64 * 1024);
                    }
                    let len = out.len();
                    out.resize(out.capacity(), 0);
                    let r = self.read(&mut out[len..]).await;
                    match r {
                        Ok(0) => {
                            out.truncate(len);
                            return Ok(len - start);
                        }
                        Ok(n) => out.truncate(len + n),
                        Err(e) => {
                            out.truncate(len);
                            return Err(e);
                        }
                    }
                }
            }

            /// Reads until the child closes its end, as UTF-8.
            ///
            /// # Errors
            /// `InvalidData` if the bytes are not UTF-8; as `read(2)`.
            pub async fn read_to_string(&mut self, out: &mut String) -> io::Result<usize> {
                let mut bytes = Vec::new();
                let n = self.read_to_end(&mut bytes).await?;
                let text = String::from_utf8(bytes)
                    .map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e.utf8_error()))?;
                out.push_str(&text);
                Ok(n)
            }
        }

        impl futures_io::AsyncRead for $t {
            fn poll_read(
                self: Pin<&mut Self>,
                cx: &mut Context<'_>,
                buf: &mut [u8],
            ) -> Poll<io::Result<usize>> {
                self.get_mut().poll_read_inner(cx, buf)
            }
        }

        impl fmt::Debug for $t {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.debug_struct(stringify!($t)).finish_non_exhaustive()
            }
        }
    };
}

reader!(ChildStdout, std::process::ChildStdout);
reader!(ChildStderr, std::process::ChildStderr);

impl futures_io::AsyncWrite for ChildStdin {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        self.get_mut().poll_write_inner(cx, buf)
    }

    fn poll_flush(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        // Unbuffered: every write went to the pipe.
        Poll::Ready(Ok(()))
    }

    fn poll_close(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.get_mut().close();
        Poll::Ready(Ok(()))
    }
}

impl fmt::Debug for ChildStdin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ChildStdin")
            .field("open", &self.io.is_some())
            .finish()
    }
}
