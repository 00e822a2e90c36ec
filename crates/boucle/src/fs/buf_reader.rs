//! `BufReader`: a buffer over any `AsyncRead`, and its lines as a `Stream`.

use std::fmt;
use std::future::poll_fn;
use std::io;
use std::pin::Pin;
use std::task::{ready, Context, Poll};

use futures_core::Stream;
use futures_io::{AsyncBufRead, AsyncRead};

/// The default buffer size: 64 KiB.
const DEFAULT_CAPACITY: usize = 64 * 1024;

/// Adds a buffer to a reader (`std::io::BufReader`, tokio's `BufReader`):
/// small reads come from the buffer, and [`lines`](BufReader::lines) gives
/// the lines as a `Stream`. Implements `futures_io::AsyncRead` and
/// `AsyncBufRead`.
///
/// # Examples
///
/// ```
/// use boucle::fs::{BufReader, File};
/// use boucle::stream::StreamExt;
///
/// boucle::run(async {
///     let p = std::env::temp_dir().join(format!("boucle-lines-{}", std::process::id()));
///     boucle::fs::write(&p, "un\ndeux\r\ntrois").await.unwrap();
///     let lines: Vec<String> = BufReader::new(File::open(&p).await.unwrap())
///         .lines()
///         .map(Result::unwrap)
///         .collect()
///         .await;
///     assert_eq!(lines, ["un", "deux", "trois"]);
///     boucle::fs::remove_file(&p).await.unwrap();
/// });
/// ```
pub struct BufReader<R> {
    inner: R,
    buf: Box<[u8]>,
    pos: usize,
    filled: usize,
}

impl<R: AsyncRead + Unpin> BufReader<R> {
    /// A reader with a 64 KiB buffer.
    pub fn new(inner: R) -> BufReader<R> {
        BufReader::with_capacity(DEFAULT_CAPACITY, inner)
    }

    /// A reader with a buffer of `capacity` bytes (at least 1).
    pub fn with_capacity(capacity: usize, inner: R) -> BufReader<R> {
        BufReader {
            inner,
            buf: vec![0; capacity.max(1)].into_boxed_slice(),
            pos: 0,
            filled: 0,
        }
    }

    /// The reader inside.
    pub fn get_ref(&self) -> &R {
        &self.inner
    }

    /// The reader inside, mutably (reading from it directly skips the
    /// buffered bytes).
    pub fn get_mut(&mut self) -> &mut R {
        &mut self.inner
    }

    /// The reader back; buffered bytes are lost.
    pub fn into_inner(self) -> R {
        self.inner
    }

    /// The bytes buffered and not read yet.
    pub fn buffer(&self) -> &[u8] {
        &self.buf[self.pos..self.filled]
    }

    /// Reads into `out`; returns how many bytes (0 at the end).
    ///
    /// # Errors
    /// The reader's.
    pub async fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        poll_fn(|cx| Pin::new(&mut *self).poll_read(cx, out)).await
    }

    /// Appends the next line, `\n` included, to `line`; returns its length
    /// in bytes (0 at the end).
    ///
    /// # Cancel safety
    /// Not cancel-safe: bytes of a partial line may be lost.
    ///
    /// # Errors
    /// `InvalidData` if the line is not UTF-8 (the bytes are consumed and
    /// `line` is unchanged); the reader's errors.
    pub async fn read_line(&mut self, line: &mut String) -> io::Result<usize> {
        let mut bytes = Vec::new();
        let n = poll_fn(|cx| self.poll_until_newline(cx, &mut bytes)).await?;
        let text = String::from_utf8(bytes)
            .map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e.utf8_error()))?;
        line.push_str(&text);
        Ok(n)
    }

    /// The lines, without their `\n` or `\r\n`, as a `Stream` of
    /// `io::Result<String>` (`std::io::BufRead::lines`).
    pub fn lines(self) -> Lines<R> {
        Lines {
            reader: self,
            partial: Vec::new(),
        }
    }

    fn poll_fill(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<&[u8]>> {
        if self.pos >= self.filled {
            let n = ready!(Pin::new(&mut self.inner).poll_read(cx, &mut self.buf))?;
            self.pos = 0;
            self.filled = n;
        }
        Poll::Ready(Ok(&self.buf[self.pos..self.filled]))
    }

    /// Moves bytes up to and including the next `\n` into `out`; returns
    /// how many bytes `out` got in all (0: end of input).
    fn poll_until_newline(
        &mut self,
        cx: &mut Context<'_>,
        out: &mut Vec<u8>,
    ) -> Poll<io::Result<usize>> {
        loop {
            let available = ready!(self.poll_fill(cx))?;
            if available.is_empty() {
                return Poll::Ready(Ok(out.len()));
            }
            match available.iter().position(|&b| b == b'\n') {
                Some(i) => {
                    out.extend_from_slice(&available[..=i]);
                    self.pos += i + 1;
                    return Poll::Ready(Ok(out.len()));
                }
                None => {
                    out.extend_from_slice(available);
                    self.pos = self.filled;
                }
            }
        }
    }
}

impl<R: AsyncRead + Unpin> AsyncRead for BufReader<R> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        out: &mut [u8],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        // Big reads with an empty buffer go straight through.
        if this.pos >= this.filled && out.len() >= this.buf.len() {
            return Pin::new(&mut this.inner).poll_read(cx, out);
        }
        let available = ready!(this.poll_fill(cx))?;
        let n = available.len().min(out.len());
        out[..n].copy_from_slice(&available[..n]);
        this.pos += n;
        Poll::Ready(Ok(n))
    }
}

impl<R: AsyncRead + Unpin> AsyncBufRead for BufReader<R> {
    fn poll_fill_buf(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<&[u8]>> {
        self.get_mut().poll_fill(cx)
    }

    fn consume(self: Pin<&mut Self>, amt: usize) {
        let this = self.get_mut();
        this.pos = (this.pos + amt).min(this.filled);
    }
}

impl<R> fmt::Debug for BufReader<R> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BufReader")
            .field("buffered", &(self.filled - self.pos))
            .field("capacity", &self.buf.len())
            .finish()
    }
}

/// The lines of a [`BufReader`]: a `futures_core::Stream` of
/// `io::Result<String>`, each line without its `\n` or `\r\n`. A line that
/// is not UTF-8 is an `InvalidData` item, and the stream goes on with the
/// next line.
#[must_use = "a Lines stream does nothing unless polled"]
pub struct Lines<R> {
    reader: BufReader<R>,
    partial: Vec<u8>,
}

impl<R: AsyncRead + Unpin> Lines<R> {
    /// The next line, `None` at the end (tokio's `next_line`).
    ///
    /// # Cancel safety
    /// Cancel-safe: a partial line is kept for the next call.
    ///
    /// # Errors
    /// As the stream's items.
    pub async fn next_line(&mut self) -> io::Result<Option<String>> {
        poll_fn(|cx| Pin::new(&mut *self).poll_next(cx))
            .await
            .transpose()
    }
}

impl<R: AsyncRead + Unpin> Stream for Lines<R> {
    type Item = io::Result<String>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = self.get_mut();
        let n = ready!(this.reader.poll_until_newline(cx, &mut this.partial));
        let n = match n {
            Ok(n) => n,
            Err(e) => return Poll::Ready(Some(Err(e))),
        };
        if n == 0 {
            return Poll::Ready(None);
        }
        let mut bytes = std::mem::take(&mut this.partial);
        if bytes.last() == Some(&b'\n') {
            bytes.pop();
            if bytes.last() == Some(&b'\r') {
                bytes.pop();
            }
        }
        Poll::Ready(Some(String::from_utf8(bytes).map_err(|e| {
            io::Error::new(io::ErrorKind::InvalidData, e.utf8_error())
        })))
    }
}

impl<R> fmt::Debug for Lines<R> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Lines").finish_non_exhaustive()
    }
}
