//! `Error`: everything that can go wrong with a request, by kind.

use std::error::Error as StdError;
use std::fmt;
use std::time::Duration;

/// A boxed cause.
pub(crate) type BoxError = Box<dyn StdError + Send + Sync>;

/// Which timeout of a [`ClientTimeout`](crate::ClientTimeout) expired.
///
/// # Examples
///
/// ```
/// use boucle_http::TimeoutKind;
/// assert_eq!(TimeoutKind::Read.to_string(), "read");
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum TimeoutKind {
    /// Opening the connection (TCP, TLS and HTTP handshakes).
    Connect,
    /// Waiting for the response headers, or for the next body bytes.
    Read,
    /// The whole request, from `send` to the last body byte.
    Total,
    /// Waiting for a free connection in the pool (at `limit` /
    /// `limit_per_host`).
    Pool,
}

impl fmt::Display for TimeoutKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            TimeoutKind::Connect => "connect",
            TimeoutKind::Read => "read",
            TimeoutKind::Total => "total",
            TimeoutKind::Pool => "pool",
        })
    }
}

/// What kind of failure an [`Error`] is.
///
/// An HTTP status is not an error by itself: a 404 or a 503 is a
/// [`Response`](crate::Response); call
/// [`error_for_status`](crate::Response::error_for_status) to make it one.
///
/// # Examples
///
/// ```
/// use boucle_http::{Client, ErrorKind};
///
/// boucle::run(async {
///     let err = Client::new().get("not a url").send().await.unwrap_err();
///     assert_eq!(err.kind(), ErrorKind::InvalidUrl);
/// });
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ErrorKind {
    /// The URL does not parse, or is not `http`/`https`, or has no host.
    InvalidUrl,
    /// A request could not be built (a bad header name or value...).
    Builder,
    /// Name resolution or the TCP connection failed.
    Connect,
    /// The TLS handshake failed (unknown CA, wrong host name...).
    Tls,
    /// A timeout expired; which one is in the kind.
    Timeout(TimeoutKind),
    /// More redirects than the limit.
    RedirectLimit,
    /// A redirect without a usable `Location`.
    Redirect,
    /// The body is larger than the cap.
    BodyTooLarge,
    /// The HTTP exchange failed (the connection closed or was reset while
    /// sending or waiting for the headers, a malformed response...).
    Request,
    /// Reading the body failed (a reset in mid-body, a short body...).
    Body,
    /// The body could not be decoded (bad gzip, not UTF-8 for `text`).
    Decode,
    /// A status of 400 or more, from
    /// [`error_for_status`](crate::Response::error_for_status).
    Status(http::StatusCode),
}

/// The error of every fallible operation of the client.
///
/// Its [`Display`](fmt::Display) is one line that names what failed and
/// where (the host or the URL), then the cause:
/// `cannot connect to 127.0.0.1:9: Connection refused (os error 111)`.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use boucle_http::{Client, ClientTimeout, ErrorKind, TimeoutKind};
///
/// boucle::run(async {
///     let listener = boucle::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
///     let addr = listener.local_addr().unwrap();
///     // Accepts and never answers.
///     boucle::spawn(async move {
///         let _conn = listener.accept().await.unwrap();
///         boucle::sleep(Duration::from_secs(60)).await;
///     });
///     let client = Client::builder()
///         .timeout(ClientTimeout::new().read(Duration::from_millis(20)))
///         .build()
///         .unwrap();
///     let err = client.get(format!("http://{addr}/")).send().await.unwrap_err();
///     assert_eq!(err.kind(), ErrorKind::Timeout(TimeoutKind::Read));
///     assert!(err.is_timeout());
///     assert!(err.to_string().contains(&addr.to_string()), "{err}");
/// });
/// ```
pub struct Error {
    kind: ErrorKind,
    message: String,
    source: Option<BoxError>,
}

impl Error {
    pub(crate) fn new(kind: ErrorKind, message: impl Into<String>) -> Error {
        Error {
            kind,
            message: message.into(),
            source: None,
        }
    }

    pub(crate) fn with_source(mut self, source: impl Into<BoxError>) -> Error {
        self.source = Some(source.into());
        self
    }

    pub(crate) fn timeout(kind: TimeoutKind, after: Duration, what: impl fmt::Display) -> Error {
        Error::new(
            ErrorKind::Timeout(kind),
            format!("{kind} timeout ({}) {what}", human(after)),
        )
    }

    /// The kind of failure.
    ///
    /// # Examples
    /// See [`ErrorKind`].
    pub fn kind(&self) -> ErrorKind {
        self.kind
    }

    /// Whether a timeout expired (of any kind).
    ///
    /// # Examples
    /// See [`Error`].
    pub fn is_timeout(&self) -> bool {
        matches!(self.kind, ErrorKind::Timeout(_))
    }

    /// Whether the connection could not be opened (resolution, TCP,
    /// connect timeout): the request was not sent, so retrying is safe.
    ///
    /// # Examples
    ///
    /// ```
    /// boucle::run(async {
    ///     // Port 9 (discard) on loopback: nothing listens there.
    ///     let err = boucle_http::get("http://127.0.0.1:9/").await.unwrap_err();
    ///     assert!(err.is_connect(), "{err}");
    /// });
    /// ```
    pub fn is_connect(&self) -> bool {
        matches!(
            self.kind,
            ErrorKind::Connect | ErrorKind::Timeout(TimeoutKind::Connect)
        )
    }

    /// The status, for an error made by
    /// [`error_for_status`](crate::Response::error_for_status).
    ///
    /// # Examples
    /// See [`Response::error_for_status`](crate::Response::error_for_status).
    pub fn status(&self) -> Option<http::StatusCode> {
        match self.kind {
            ErrorKind::Status(s) => Some(s),
            _ => None,
        }
    }
}

/// `1.5 s`, `50 ms`, `250 us`.
pub(crate) fn human(d: Duration) -> String {
    if d >= Duration::from_secs(1) {
        let s = d.as_secs_f64();
        if s.fract() == 0.0 {
            format!("{s:.0} s")
        } else {
            format!("{s:.3} s")
        }
    } else if d >= Duration::from_millis(1) {
        format!("{} ms", d.as_millis())
    } else {
        format!("{} us", d.as_micros())
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)?;
        // The causes, each once: hyper's and rustls's messages are short.
        let mut cause = self
            .source
            .as_deref()
            .map(|e| e as &(dyn StdError + 'static));
        let mut last = String::new();
        while let Some(e) = cause {
            let text = e.to_string();
            if !text.is_empty() && !self.message.contains(&text) && !last.contains(&text) {
                write!(f, ": {text}")?;
            }
            last = text;
            cause = e.source();
        }
        Ok(())
    }
}

impl fmt::Debug for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Error")
            .field("kind", &self.kind)
            .field("message", &self.message)
            .field("source", &self.source)
            .finish()
    }
}

impl StdError for Error {
    fn source(&self) -> Option<&(dyn StdError + 'static)> {
        self.source
            .as_deref()
            .map(|e| e as &(dyn StdError + 'static))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_names_the_place_then_the_causes_once() {
        let io = std::io::Error::new(std::io::ErrorKind::ConnectionRefused, "refused");
        let e = Error::new(ErrorKind::Connect, "cannot connect to 127.0.0.1:9").with_source(io);
        assert_eq!(e.to_string(), "cannot connect to 127.0.0.1:9: refused");
        let t = Error::timeout(
            TimeoutKind::Read,
            Duration::from_millis(50),
            "waiting for x",
        );
        assert_eq!(t.to_string(), "read timeout (50 ms) waiting for x");
        assert_eq!(human(Duration::from_secs(2)), "2 s");
        assert_eq!(human(Duration::from_millis(1500)), "1.500 s");
        assert_eq!(human(Duration::from_micros(20)), "20 us");
    }
}
