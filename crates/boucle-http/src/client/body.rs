//! Response bodies: the raw frames from hyper (with the read and total
//! timeouts, and the connection's return to the pool at the end), content
//! decoding (gzip, deflate, br), and the size cap.

use std::io;
use std::pin::Pin;
use std::task::{ready, Context, Poll};
use std::time::{Duration, Instant};

use async_compression::futures::bufread::{BrotliDecoder, GzipDecoder, ZlibDecoder};
use bytes::Bytes;
use futures_core::Stream;
use futures_io::AsyncRead;
use futures_util::stream::IntoAsyncRead;
use futures_util::TryStreamExt;
use http_body::Body as _;
use hyper::body::Incoming;

use super::pool::Pooled;
use crate::error::{Error, ErrorKind, TimeoutKind};

/// The bytes of a body as hyper delivers them.
pub(crate) struct RawBody {
    incoming: Incoming,
    /// The connection, until the body ends (then back to the pool).
    pooled: Option<Pooled>,
    read: Option<Duration>,
    total: Option<(Instant, Duration)>,
    read_deadline: Option<Instant>,
    sleep: Option<Pin<Box<boucle::Sleep>>>,
    host: String,
    done: bool,
}

impl RawBody {
    pub(crate) fn new(
        incoming: Incoming,
        pooled: Pooled,
        read: Option<Duration>,
        total: Option<(Instant, Duration)>,
        host: String,
    ) -> RawBody {
        RawBody {
            incoming,
            pooled: Some(pooled),
            read,
            total,
            read_deadline: None,
            sleep: None,
            host,
            done: false,
        }
    }

    /// The body's length, when the server said it.
    pub(crate) fn exact_len(&self) -> Option<u64> {
        self.incoming.size_hint().exact()
    }

    /// Gives up on the body: its connection is closed, not reused.
    pub(crate) fn abandon(&mut self) {
        self.done = true;
        self.pooled = None;
    }

    fn finish(&mut self) {
        self.done = true;
        self.sleep = None;
        if let Some(p) = self.pooled.take() {
            p.release();
        }
    }

    /// The timeout that expired, if one did.
    fn poll_timer(&mut self, cx: &mut Context<'_>) -> Option<Error> {
        let read = self.read_deadline.map(|d| (d, TimeoutKind::Read));
        let total = self.total.map(|(d, _)| (d, TimeoutKind::Total));
        let (deadline, kind) = match (read, total) {
            (Some(r), Some(t)) => {
                if t.0 < r.0 {
                    t
                } else {
                    r
                }
            }
            (Some(x), None) | (None, Some(x)) => x,
            (None, None) => return None,
        };
        let sleep = self
            .sleep
            .get_or_insert_with(|| Box::pin(boucle::sleep_until(deadline)));
        if sleep.deadline() != deadline {
            sleep.as_mut().get_mut().reset(deadline);
        }
        if sleep.as_mut().poll(cx).is_pending() {
            return None;
        }
        let limit = match kind {
            TimeoutKind::Total => self.total.map(|(_, t)| t).unwrap_or_default(),
            _ => self.read.unwrap_or_default(),
        };
        Some(Error::timeout(
            kind,
            limit,
            format_args!("reading the body from {}", self.host),
        ))
    }
}

use std::future::Future as _;

impl Stream for RawBody {
    type Item = Result<Bytes, Error>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = self.get_mut();
        if this.done {
            return Poll::Ready(None);
        }
        if this.read_deadline.is_none() {
            this.read_deadline = this.read.and_then(|r| boucle::now().checked_add(r));
        }
        loop {
            match Pin::new(&mut this.incoming).poll_frame(cx) {
                Poll::Ready(Some(Ok(frame))) => {
                    let Ok(data) = frame.into_data() else {
                        continue; // trailers
                    };
                    if data.is_empty() {
                        continue;
                    }
                    this.read_deadline = this.read.and_then(|r| boucle::now().checked_add(r));
                    if this.incoming.is_end_stream() {
                        this.finish();
                    }
                    return Poll::Ready(Some(Ok(data)));
                }
                Poll::Ready(Some(Err(e))) => {
                    this.abandon();
                    let message = if e.is_incomplete_message() || ended_early(&e) {
                        format!(
                            "{} closed the connection in the middle of the body",
                            this.host
                        )
                    } else {
                        format!("reading the body from {} failed", this.host)
                    };
                    return Poll::Ready(Some(Err(
                        Error::new(ErrorKind::Body, message).with_source(e)
                    )));
                }
                Poll::Ready(None) => {
                    this.finish();
                    return Poll::Ready(None);
                }
                Poll::Pending => {
                    if let Some(e) = this.poll_timer(cx) {
                        this.abandon();
                        return Poll::Ready(Some(Err(e)));
                    }
                    return Poll::Pending;
                }
            }
        }
    }
}

/// Whether an error comes from the stream ending before the body did.
fn ended_early(e: &hyper::Error) -> bool {
    let mut cause: Option<&(dyn std::error::Error + 'static)> = std::error::Error::source(e);
    while let Some(c) = cause {
        if c.downcast_ref::<io::Error>()
            .is_some_and(|io| io.kind() == io::ErrorKind::UnexpectedEof)
        {
            return true;
        }
        cause = c.source();
    }
    false
}

/// [`RawBody`] with `io::Error`s, for the decoders.
struct IoBody(RawBody);

impl Stream for IoBody {
    type Item = io::Result<Bytes>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = self.get_mut();
        match ready!(Pin::new(&mut this.0).poll_next(cx)) {
            Some(Ok(b)) => Poll::Ready(Some(Ok(b))),
            Some(Err(e)) => Poll::Ready(Some(Err(io::Error::other(e)))),
            None => Poll::Ready(None),
        }
    }
}

type Compressed = IntoAsyncRead<IoBody>;

/// The content codings decoded.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Coding {
    Gzip,
    /// HTTP's `deflate` is zlib-wrapped (RFC 9110 8.4.1.2).
    Deflate,
    Brotli,
}

impl Coding {
    pub(crate) fn parse(value: &str) -> Option<Coding> {
        match value.trim().to_ascii_lowercase().as_str() {
            "gzip" | "x-gzip" => Some(Coding::Gzip),
            "deflate" => Some(Coding::Deflate),
            "br" => Some(Coding::Brotli),
            _ => None,
        }
    }
}

enum Decoder {
    Gzip(GzipDecoder<Compressed>),
    Deflate(ZlibDecoder<Compressed>),
    Brotli(BrotliDecoder<Compressed>),
}

enum Inner {
    Raw(RawBody),
    Decoded {
        decoder: Box<Decoder>,
        buf: Box<[u8]>,
    },
    Failed(Option<Error>),
    Done,
}

/// A response body as a [`Stream`] of byte chunks (aiohttp's
/// `response.content.iter_any()`), decoded and capped as the client says.
///
/// # Examples
///
/// ```
/// use futures_util::StreamExt;
/// use boucle_http::server::{serve, service_fn, text};
///
/// boucle::run(async {
///     let listener = boucle::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
///     let url = format!("http://{}/", listener.local_addr().unwrap());
///     boucle::spawn(serve(listener, service_fn(|_| async {
///         Ok::<_, std::convert::Infallible>(text("x".repeat(100_000)))
///     })).run());
///     let response = boucle_http::get(&url).await.unwrap();
///     let mut body = response.bytes_stream();
///     let mut total = 0;
///     while let Some(chunk) = body.next().await {
///         total += chunk.unwrap().len();
///     }
///     assert_eq!(total, 100_000);
/// });
/// ```
pub struct BodyStream {
    inner: Inner,
    limit: Option<u64>,
    seen: u64,
    url: String,
}

const DECODE_CHUNK: usize = 16 * 1024;

impl BodyStream {
    pub(crate) fn new(
        raw: RawBody,
        coding: Option<Coding>,
        limit: Option<u64>,
        url: String,
    ) -> BodyStream {
        let inner = match coding {
            None => Inner::Raw(raw),
            Some(c) => {
                let reader = IoBody(raw).into_async_read();
                let decoder = match c {
                    Coding::Gzip => Decoder::Gzip(GzipDecoder::new(reader)),
                    Coding::Deflate => Decoder::Deflate(ZlibDecoder::new(reader)),
                    Coding::Brotli => Decoder::Brotli(BrotliDecoder::new(reader)),
                };
                Inner::Decoded {
                    decoder: Box::new(decoder),
                    buf: vec![0u8; DECODE_CHUNK].into_boxed_slice(),
                }
            }
        };
        BodyStream {
            inner,
            limit,
            seen: 0,
            url,
        }
    }

    pub(crate) fn failed(error: Error, url: String) -> BodyStream {
        BodyStream {
            inner: Inner::Failed(Some(error)),
            limit: None,
            seen: 0,
            url,
        }
    }

    pub(crate) fn too_large(limit: u64, url: &str, len: Option<u64>) -> Error {
        let got = match len {
            Some(n) => format!(" (Content-Length: {n})"),
            None => String::new(),
        };
        Error::new(
            ErrorKind::BodyTooLarge,
            format!("the body of {url} is larger than the cap of {limit} bytes{got}"),
        )
    }

    /// Reads what is left (at most `budget` bytes) so that the connection
    /// can be reused; past the budget, the connection is closed instead.
    pub(crate) async fn drain(mut self, budget: u64) {
        let mut read = 0u64;
        if let Inner::Raw(raw) = &mut self.inner {
            if raw.exact_len().is_some_and(|n| n > budget) {
                raw.abandon();
                return;
            }
            while let Some(Ok(chunk)) =
                std::future::poll_fn(|cx| Pin::new(&mut *raw).poll_next(cx)).await
            {
                read += chunk.len() as u64;
                if read > budget {
                    raw.abandon();
                    return;
                }
            }
        }
    }
}

impl Stream for BodyStream {
    type Item = Result<Bytes, Error>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = self.get_mut();
        let item = match &mut this.inner {
            Inner::Done => return Poll::Ready(None),
            Inner::Failed(e) => {
                let e = e.take();
                this.inner = Inner::Done;
                return Poll::Ready(e.map(Err));
            }
            Inner::Raw(raw) => ready!(Pin::new(raw).poll_next(cx)),
            Inner::Decoded { decoder, buf } => {
                let read = match decoder.as_mut() {
                    Decoder::Gzip(d) => Pin::new(d).poll_read(cx, buf),
                    Decoder::Deflate(d) => Pin::new(d).poll_read(cx, buf),
                    Decoder::Brotli(d) => Pin::new(d).poll_read(cx, buf),
                };
                match ready!(read) {
                    Ok(0) => None,
                    Ok(n) => Some(Ok(Bytes::copy_from_slice(&buf[..n]))),
                    Err(e) => Some(Err(decode_error(e, &this.url))),
                }
            }
        };
        match item {
            Some(Ok(chunk)) => {
                this.seen += chunk.len() as u64;
                if let Some(limit) = this.limit {
                    if this.seen > limit {
                        this.inner = Inner::Done;
                        return Poll::Ready(Some(Err(BodyStream::too_large(
                            limit, &this.url, None,
                        ))));
                    }
                }
                Poll::Ready(Some(Ok(chunk)))
            }
            Some(Err(e)) => {
                this.inner = Inner::Done;
                Poll::Ready(Some(Err(e)))
            }
            None => {
                this.inner = Inner::Done;
                Poll::Ready(None)
            }
        }
    }
}

/// A decoder's error: ours (a timeout, a reset) passed through, or bad
/// compressed data.
fn decode_error(e: io::Error, url: &str) -> Error {
    if e.get_ref().is_some_and(|i| i.is::<Error>()) {
        if let Some(inner) = e.into_inner() {
            if let Ok(ours) = inner.downcast::<Error>() {
                return *ours;
            }
        }
        return Error::new(
            ErrorKind::Decode,
            format!("cannot decode the body of {url}"),
        );
    }
    Error::new(
        ErrorKind::Decode,
        format!("cannot decode the compressed body of {url}"),
    )
    .with_source(e)
}
