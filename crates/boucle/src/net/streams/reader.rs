//! `StreamReader`: asyncio's `StreamReader`, a buffered reader over a
//! connection.
//!
//! It pulls from the socket when a read needs more bytes (asyncio's reader
//! is fed by its protocol; the effect for the caller is the same). Bytes
//! stay in the buffer until a read completes, which makes every read
//! method cancel-safe.

use std::fmt;
use std::future::poll_fn;
use std::io;
use std::pin::Pin;
use std::rc::Rc;
use std::task::{ready, Context, Poll};

use super::conn::{Conn, StreamAddr};
use super::error::{IncompleteReadError, LimitOverrunError, ReadError};

/// The default buffer limit of a [`StreamReader`] (asyncio's
/// `_DEFAULT_LIMIT`, 64 KiB): `readuntil` gives up when the separator is
/// not within this many bytes.
///
/// # Examples
///
/// ```
/// assert_eq!(boucle::net::DEFAULT_LIMIT, 64 * 1024);
/// ```
pub const DEFAULT_LIMIT: usize = 64 * 1024;

/// The buffer's first size; it grows when a read needs more.
const INITIAL_CAPACITY: usize = 8 * 1024;

/// An emptied buffer larger than this is released.
const SHRINK_ABOVE: usize = 1024 * 1024;

/// The reading side of a connection (asyncio's `StreamReader`), from
/// [`open_connection`](crate::net::open_connection) or a
/// [`start_server`](crate::net::start_server) handler.
///
/// It implements `futures_io::AsyncRead` and `AsyncBufRead`.
///
/// # Examples
///
/// ```
/// use boucle::net::{open_connection, start_server, StreamReader, StreamWriter};
///
/// boucle::run(async {
///     let server = start_server(
///         |mut reader: StreamReader, writer: StreamWriter| async move {
///             while let Ok(line) = reader.readline().await {
///                 if line.is_empty() {
///                     break; // end of stream
///                 }
///                 writer.write(&line.to_ascii_uppercase());
///                 if writer.drain().await.is_err() {
///                     break;
///                 }
///             }
///         },
///         "127.0.0.1",
///         0,
///     )
///     .await
///     .unwrap();
///     let port = server.local_addrs()[0].port().unwrap();
///     let (mut reader, writer) = open_connection("127.0.0.1", port).await.unwrap();
///     writer.write(b"hello\nworld\n");
///     assert_eq!(reader.readline().await.unwrap(), b"HELLO\n");
///     assert_eq!(reader.readexactly(6).await.unwrap(), b"WORLD\n");
/// });
/// ```
pub struct StreamReader {
    conn: Rc<Conn>,
    buf: Vec<u8>,
    start: usize,
    end: usize,
    eof: bool,
    limit: usize,
}

impl StreamReader {
    pub(crate) fn new(conn: Rc<Conn>) -> StreamReader {
        StreamReader {
            conn,
            buf: Vec::new(),
            start: 0,
            end: 0,
            eof: false,
            limit: DEFAULT_LIMIT,
        }
    }

    /// Puts bytes already read from the socket first in the buffer.
    pub(crate) fn preload(&mut self, bytes: Vec<u8>) {
        if !bytes.is_empty() {
            self.end = bytes.len();
            self.start = 0;
            self.buf = bytes;
        }
    }

    fn available(&self) -> usize {
        self.end - self.start
    }

    /// The bytes read from the socket and not consumed yet.
    ///
    /// # Examples
    /// See [`set_limit`](StreamReader::set_limit).
    pub fn buffer(&self) -> &[u8] {
        &self.buf[self.start..self.end]
    }

    fn consume_bytes(&mut self, n: usize) {
        self.start += n;
        if self.start == self.end {
            self.start = 0;
            self.end = 0;
            if self.buf.len() > SHRINK_ABOVE {
                // One large message must not pin its memory for the life
                // of the connection.
                self.buf = Vec::new();
            }
        }
    }

    fn take(&mut self, n: usize) -> Vec<u8> {
        let out = self.buf[self.start..self.start + n].to_vec();
        self.consume_bytes(n);
        out
    }

    /// Reads more bytes into the buffer, making room towards `want`
    /// buffered bytes in all. `Ok(0)` at end of stream.
    ///
    /// `want` is what the caller hopes for, not a reservation: the buffer
    /// at most doubles per call, so memory follows the bytes that arrive,
    /// never a length the peer announced (`readexactly(1 << 40)` must not
    /// allocate a terabyte before the first byte).
    fn poll_fill(&mut self, cx: &mut Context<'_>, want: usize) -> Poll<io::Result<usize>> {
        if self.eof {
            return Poll::Ready(Ok(0));
        }
        if self.end == self.buf.len() || self.buf.len() - self.start < want {
            if self.start > 0 {
                // Move the unread bytes to the front.
                let used = self.available();
                self.buf.copy_within(self.start..self.end, 0);
                self.start = 0;
                self.end = used;
            }
            if self.end == self.buf.len() {
                let doubled = self.buf.len().saturating_mul(2).max(INITIAL_CAPACITY);
                let grown = if want > self.end {
                    want.clamp(INITIAL_CAPACITY, doubled)
                } else {
                    doubled
                };
                self.buf.resize(grown, 0);
            }
        }
        let n = ready!(self.conn.poll_read(cx, &mut self.buf[self.end..]))?;
        if n == 0 {
            self.eof = true;
        }
        self.end += n;
        Poll::Ready(Ok(n))
    }

    async fn fill(&mut self, want: usize) -> io::Result<usize> {
        poll_fn(|cx| self.poll_fill(cx, want)).await
    }

    /// Reads up to `n` bytes: what is buffered, else what one read from the
    /// socket gives. An empty `Vec` means end of stream (or `n == 0`).
    ///
    /// # Examples
    ///
    /// ```
    /// use boucle::net::{open_connection, TcpListener};
    ///
    /// boucle::run(async {
    ///     let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    ///     let port = listener.local_addr().unwrap().port();
    ///     let (mut reader, _writer) = open_connection("127.0.0.1", port).await.unwrap();
    ///     let (mut peer, _) = listener.accept().await.unwrap();
    ///     peer.write_all(b"abcdef").await.unwrap();
    ///     drop(peer);
    ///     let mut got = Vec::new();
    ///     loop {
    ///         let chunk = reader.read(4).await.unwrap();
    ///         if chunk.is_empty() {
    ///             break;
    ///         }
    ///         assert!(chunk.len() <= 4);
    ///         got.extend(chunk);
    ///     }
    ///     assert_eq!(got, b"abcdef");
    ///     assert!(reader.at_eof());
    /// });
    /// ```
    ///
    /// # Cancel safety
    /// Cancel-safe: bytes read from the socket stay buffered.
    ///
    /// # Errors
    /// The socket's error (`ConnectionReset`...).
    pub async fn read(&mut self, n: usize) -> io::Result<Vec<u8>> {
        if n == 0 {
            return Ok(Vec::new());
        }
        if self.available() == 0 {
            self.fill(0).await?;
        }
        let k = n.min(self.available());
        Ok(self.take(k))
    }

    /// Reads until end of stream (asyncio's `read(-1)`).
    ///
    /// # Examples
    /// See [`StreamWriter::write_eof`](super::StreamWriter::write_eof).
    ///
    /// # Cancel safety
    /// Cancel-safe: bytes stay buffered until the end of stream.
    ///
    /// # Errors
    /// The socket's error.
    pub async fn read_to_eof(&mut self) -> io::Result<Vec<u8>> {
        while !self.eof {
            let want = self.available() + INITIAL_CAPACITY;
            self.fill(want).await?;
        }
        let n = self.available();
        Ok(self.take(n))
    }

    /// Reads one line, through `b'\n'` inclusive. At end of stream, the
    /// rest (maybe empty: an empty line means end of stream, as in asyncio).
    ///
    /// # Examples
    /// See [`StreamReader`].
    ///
    /// # Cancel safety
    /// Cancel-safe: bytes stay buffered until the line is complete.
    ///
    /// # Errors
    /// [`ReadError::LimitOverrun`] when no `b'\n'` is within the limit (the
    /// line, or the bytes searched, are discarded as asyncio does);
    /// [`ReadError::Io`].
    pub async fn readline(&mut self) -> Result<Vec<u8>, ReadError> {
        match self.readuntil(b"\n").await {
            Ok(line) => Ok(line),
            Err(ReadError::IncompleteRead(e)) => Ok(e.partial),
            Err(ReadError::LimitOverrun(e)) => {
                if self.buffer()[e.consumed..].starts_with(b"\n") {
                    self.consume_bytes(e.consumed + 1);
                } else {
                    let n = self.available();
                    self.consume_bytes(n);
                }
                Err(ReadError::LimitOverrun(e))
            }
            Err(e) => Err(e),
        }
    }

    /// Reads through the first `separator` (inclusive).
    ///
    /// # Examples
    ///
    /// ```
    /// use boucle::net::{open_connection, ReadError, TcpListener};
    ///
    /// boucle::run(async {
    ///     let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    ///     let port = listener.local_addr().unwrap().port();
    ///     let (mut reader, _w) = open_connection("127.0.0.1", port).await.unwrap();
    ///     let (mut peer, _) = listener.accept().await.unwrap();
    ///     peer.write_all(b"key: value\r\n\r\ntail").await.unwrap();
    ///     drop(peer);
    ///     assert_eq!(reader.readuntil(b"\r\n\r\n").await.unwrap(), b"key: value\r\n\r\n");
    ///     match reader.readuntil(b"\r\n").await {
    ///         Err(ReadError::IncompleteRead(e)) => assert_eq!(e.partial, b"tail"),
    ///         other => panic!("{other:?}"),
    ///     }
    /// });
    /// ```
    ///
    /// # Cancel safety
    /// Cancel-safe: bytes stay buffered until the separator is found.
    ///
    /// # Errors
    /// [`ReadError::LimitOverrun`] when the separator is not within the
    /// limit (nothing is consumed); [`ReadError::IncompleteRead`] at end of
    /// stream (with the rest, consumed); [`ReadError::Io`]; `InvalidInput`
    /// for an empty separator.
    pub async fn readuntil(&mut self, separator: &[u8]) -> Result<Vec<u8>, ReadError> {
        let seplen = separator.len();
        if seplen == 0 {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "separator should be at least one byte",
            )
            .into());
        }
        // Bytes already searched (relative to the unread start).
        let mut offset = 0;
        loop {
            let avail = self.available();
            if avail >= seplen {
                if let Some(i) = find(&self.buffer()[offset..], separator) {
                    let isep = offset + i;
                    if isep > self.limit {
                        return Err(LimitOverrunError {
                            consumed: isep,
                            found: true,
                        }
                        .into());
                    }
                    return Ok(self.take(isep + seplen));
                }
                offset = avail + 1 - seplen;
                if offset > self.limit {
                    return Err(LimitOverrunError {
                        consumed: offset,
                        found: false,
                    }
                    .into());
                }
            }
            if self.eof {
                let partial = self.take(avail);
                return Err(IncompleteReadError {
                    partial,
                    expected: None,
                }
                .into());
            }
            self.fill(0).await?;
        }
    }

    /// Reads exactly `n` bytes.
    ///
    /// # Examples
    ///
    /// ```
    /// use boucle::net::{open_connection, ReadError, TcpListener};
    ///
    /// boucle::run(async {
    ///     let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    ///     let port = listener.local_addr().unwrap().port();
    ///     let (mut reader, _w) = open_connection("127.0.0.1", port).await.unwrap();
    ///     let (mut peer, _) = listener.accept().await.unwrap();
    ///     peer.write_all(b"12345").await.unwrap();
    ///     drop(peer);
    ///     assert_eq!(reader.readexactly(2).await.unwrap(), b"12");
    ///     match reader.readexactly(10).await {
    ///         Err(ReadError::IncompleteRead(e)) => {
    ///             assert_eq!(e.partial, b"345");
    ///             assert_eq!(e.expected, Some(10));
    ///         }
    ///         other => panic!("{other:?}"),
    ///     }
    /// });
    /// ```
    ///
    /// # Cancel safety
    /// Cancel-safe here (unlike `TcpStream::read_exact`): the bytes stay
    /// buffered until all `n` are there.
    ///
    /// # Errors
    /// [`ReadError::IncompleteRead`] when the stream ends first (the bytes
    /// that came are in `partial`, consumed); [`ReadError::Io`].
    pub async fn readexactly(&mut self, n: usize) -> Result<Vec<u8>, ReadError> {
        loop {
            let avail = self.available();
            if avail >= n {
                return Ok(self.take(n));
            }
            if self.eof {
                let partial = self.take(avail);
                return Err(IncompleteReadError {
                    partial,
                    expected: Some(n),
                }
                .into());
            }
            self.fill(n).await?;
        }
    }

    /// Whether the stream ended and the buffer is empty (asyncio's
    /// `at_eof`).
    ///
    /// # Examples
    /// See [`set_limit`](StreamReader::set_limit).
    pub fn at_eof(&self) -> bool {
        self.eof && self.available() == 0
    }

    /// The buffer limit of `readuntil` / `readline`.
    ///
    /// # Examples
    /// See [`set_limit`](StreamReader::set_limit).
    pub fn limit(&self) -> usize {
        self.limit
    }

    /// Sets the buffer limit (asyncio's `limit=` argument).
    ///
    /// # Examples
    ///
    /// ```
    /// use boucle::net::{streams_from_unix, ReadError, UnixStream, DEFAULT_LIMIT};
    ///
    /// boucle::run(async {
    ///     let (a, mut b) = UnixStream::pair().unwrap();
    ///     let (mut r, _w) = streams_from_unix(a);
    ///     assert_eq!(r.limit(), DEFAULT_LIMIT);
    ///     r.set_limit(4);
    ///     b.write_all(b"too long a line\n").await.unwrap();
    ///     assert!(matches!(r.readuntil(b"\n").await, Err(ReadError::LimitOverrun(_))));
    ///     assert_eq!(r.buffer(), b"too long a line\n"); // nothing consumed
    ///     assert!(!r.at_eof());
    ///     assert!(r.peer_addr().unwrap().as_unix().is_some());
    ///     assert!(r.local_addr().unwrap().as_unix().is_some());
    /// });
    /// ```
    pub fn set_limit(&mut self, limit: usize) {
        self.limit = limit.max(1);
    }

    /// The peer's address (`get_extra_info("peername")`).
    ///
    /// # Examples
    /// See [`set_limit`](StreamReader::set_limit).
    ///
    /// # Errors
    /// `NotConnected` when the peer is gone.
    pub fn peer_addr(&self) -> io::Result<StreamAddr> {
        self.conn.peer_addr()
    }

    /// The local address (`get_extra_info("sockname")`).
    ///
    /// # Examples
    /// See [`set_limit`](StreamReader::set_limit).
    ///
    /// # Errors
    /// As `getsockname`.
    pub fn local_addr(&self) -> io::Result<StreamAddr> {
        self.conn.local_addr()
    }
}

/// The first position of `needle` in `hay`.
fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    match needle {
        [b] => hay.iter().position(|c| c == b),
        _ => hay.windows(needle.len()).position(|w| w == needle),
    }
}

impl futures_io::AsyncRead for StreamReader {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        out: &mut [u8],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        if this.available() == 0 {
            if this.eof || out.is_empty() {
                return Poll::Ready(Ok(0));
            }
            if out.len() >= this.buf.len().max(INITIAL_CAPACITY) {
                // A large read: skip the copy through the buffer.
                let n = ready!(this.conn.poll_read(cx, out))?;
                this.eof = n == 0;
                return Poll::Ready(Ok(n));
            }
            if ready!(this.poll_fill(cx, 0))? == 0 {
                return Poll::Ready(Ok(0));
            }
        }
        let n = out.len().min(this.available());
        out[..n].copy_from_slice(&this.buf[this.start..this.start + n]);
        this.consume_bytes(n);
        Poll::Ready(Ok(n))
    }
}

impl futures_io::AsyncBufRead for StreamReader {
    fn poll_fill_buf(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<&[u8]>> {
        let this = self.get_mut();
        if this.available() == 0 && !this.eof {
            ready!(this.poll_fill(cx, 0))?;
        }
        Poll::Ready(Ok(&this.buf[this.start..this.end]))
    }

    fn consume(self: Pin<&mut Self>, amt: usize) {
        let this = self.get_mut();
        this.consume_bytes(amt.min(this.available()));
    }
}

impl fmt::Debug for StreamReader {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("StreamReader")
            .field("conn", &self.conn)
            .field("buffered", &self.available())
            .field("eof", &self.eof)
            .field("limit", &self.limit)
            .finish()
    }
}
