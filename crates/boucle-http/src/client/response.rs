//! `Response`: status, headers, and the body as bytes, text or a stream.

use std::fmt;

use bytes::{Bytes, BytesMut};
use futures_util::StreamExt;
use http::header::{self, HeaderMap};
use http::{StatusCode, Version};
use url::Url;

use super::body::{BodyStream, Coding, RawBody};
use crate::error::{Error, ErrorKind};

/// Bytes read from a redirect's body so its connection can be reused.
const DRAIN_BUDGET: u64 = 64 * 1024;

/// A response whose headers have come; the body is read on demand
/// ([`bytes`](Response::bytes), [`text`](Response::text),
/// [`bytes_stream`](Response::bytes_stream)). Its connection goes back to
/// the pool when the body has been read to the end; a response dropped
/// before that closes its connection.
///
/// # Examples
/// See [`Client`](crate::Client).
pub struct Response {
    status: StatusCode,
    version: Version,
    headers: HeaderMap,
    url: Url,
    body: BodyStream,
}

impl Response {
    pub(crate) fn new(
        mut parts: http::response::Parts,
        mut raw: RawBody,
        url: Url,
        decompress: bool,
        max_body: Option<u64>,
    ) -> Response {
        let coding = if decompress {
            let values: Vec<_> = parts
                .headers
                .get_all(header::CONTENT_ENCODING)
                .iter()
                .collect();
            match values.as_slice() {
                [one] => one.to_str().ok().and_then(Coding::parse),
                _ => None,
            }
        } else {
            None
        };
        if coding.is_some() {
            // What the caller reads is the decoded body.
            parts.headers.remove(header::CONTENT_ENCODING);
            parts.headers.remove(header::CONTENT_LENGTH);
        }
        let name = url.to_string();
        let declared = raw.exact_len();
        let body = match (max_body, declared) {
            (Some(limit), Some(len)) if coding.is_none() && len > limit => {
                raw.abandon();
                BodyStream::failed(BodyStream::too_large(limit, &name, Some(len)), name)
            }
            _ => BodyStream::new(raw, coding, max_body, name),
        };
        Response {
            status: parts.status,
            version: parts.version,
            headers: parts.headers,
            url,
            body,
        }
    }

    /// The status code. A 404 or a 500 is not an error by itself.
    ///
    /// # Examples
    /// See [`Client`](crate::Client).
    pub fn status(&self) -> StatusCode {
        self.status
    }

    /// The HTTP version the server answered with.
    ///
    /// # Examples
    /// See [`ClientBuilder::http2_prior_knowledge`](crate::ClientBuilder::http2_prior_knowledge)'s tests.
    pub fn version(&self) -> Version {
        self.version
    }

    /// The headers (without `Content-Encoding` and `Content-Length` when
    /// the body was compressed: the body read is the decoded one).
    ///
    /// # Examples
    /// See [`content_length`](Response::content_length).
    pub fn headers(&self) -> &HeaderMap {
        &self.headers
    }

    /// The URL of this response: after redirects, the last one.
    ///
    /// # Examples
    /// See [`error_for_status`](Response::error_for_status).
    pub fn url(&self) -> &Url {
        &self.url
    }

    /// The `Content-Length`, when the server sent one (and the body is
    /// not decompressed).
    ///
    /// # Examples
    ///
    /// ```
    /// use boucle_http::server::{serve, service_fn, text};
    ///
    /// boucle::run(async {
    ///     let listener = boucle::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    ///     let url = format!("http://{}/", listener.local_addr().unwrap());
    ///     boucle::spawn(serve(listener, service_fn(|_| async {
    ///         Ok::<_, std::convert::Infallible>(text("12345"))
    ///     })).run());
    ///     let response = boucle_http::get(&url).await.unwrap();
    ///     assert_eq!(response.content_length(), Some(5));
    ///     assert_eq!(response.headers()["content-type"], "text/plain; charset=utf-8");
    /// });
    /// ```
    pub fn content_length(&self) -> Option<u64> {
        self.headers
            .get(header::CONTENT_LENGTH)?
            .to_str()
            .ok()?
            .parse()
            .ok()
    }

    /// The response itself when its status is below 400; else an error of
    /// kind [`ErrorKind::Status`] naming the URL and the status.
    ///
    /// # Examples
    ///
    /// ```
    /// use boucle_http::server::{serve, service_fn};
    ///
    /// boucle::run(async {
    ///     let listener = boucle::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    ///     let url = format!("http://{}/missing", listener.local_addr().unwrap());
    ///     boucle::spawn(serve(listener, service_fn(|_| async {
    ///         let mut r = boucle_http::server::text("no");
    ///         *r.status_mut() = http::StatusCode::NOT_FOUND;
    ///         Ok::<_, std::convert::Infallible>(r)
    ///     })).run());
    ///     let response = boucle_http::get(&url).await.unwrap(); // a 404 is a response
    ///     assert_eq!(response.url().path(), "/missing");
    ///     let err = response.error_for_status().unwrap_err();
    ///     assert_eq!(err.status(), Some(http::StatusCode::NOT_FOUND));
    ///     assert!(err.to_string().contains("404"), "{err}");
    /// });
    /// ```
    ///
    /// # Errors
    /// `Status` for 4xx and 5xx.
    pub fn error_for_status(self) -> Result<Response, Error> {
        if self.status.is_client_error() || self.status.is_server_error() {
            return Err(Error::new(
                ErrorKind::Status(self.status),
                format!("{} answered {}", self.url, self.status),
            ));
        }
        Ok(self)
    }

    /// The next chunk of the body; `None` at its end.
    ///
    /// # Examples
    ///
    /// ```
    /// use boucle_http::server::{serve, service_fn, text};
    ///
    /// boucle::run(async {
    ///     let listener = boucle::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    ///     let url = format!("http://{}/", listener.local_addr().unwrap());
    ///     boucle::spawn(serve(listener, service_fn(|_| async {
    ///         Ok::<_, std::convert::Infallible>(text("abc"))
    ///     })).run());
    ///     let mut response = boucle_http::get(&url).await.unwrap();
    ///     let mut all = Vec::new();
    ///     while let Some(chunk) = response.chunk().await.unwrap() {
    ///         all.extend_from_slice(&chunk);
    ///     }
    ///     assert_eq!(all, b"abc");
    /// });
    /// ```
    ///
    /// # Errors
    /// `Body` (a reset, a short body), `Timeout` (read or total),
    /// `BodyTooLarge`, `Decode`.
    pub async fn chunk(&mut self) -> Result<Option<Bytes>, Error> {
        self.body.next().await.transpose()
    }

    /// The whole body.
    ///
    /// # Examples
    /// See [`Client`](crate::Client).
    ///
    /// # Errors
    /// As [`chunk`](Response::chunk).
    pub async fn bytes(mut self) -> Result<Bytes, Error> {
        let first = match self.chunk().await? {
            Some(c) => c,
            None => return Ok(Bytes::new()),
        };
        let Some(second) = self.chunk().await? else {
            return Ok(first);
        };
        let mut all = BytesMut::with_capacity(first.len() + second.len());
        all.extend_from_slice(&first);
        all.extend_from_slice(&second);
        while let Some(c) = self.chunk().await? {
            all.extend_from_slice(&c);
        }
        Ok(all.freeze())
    }

    /// The whole body as text, decoded by the `charset` of the
    /// `Content-Type` (UTF-8 when none; also ISO-8859-1 and US-ASCII).
    ///
    /// # Examples
    /// See [`Client`](crate::Client).
    ///
    /// # Errors
    /// As [`bytes`](Response::bytes); `Decode` when the body is not valid
    /// in its charset or the charset is not one of those.
    pub async fn text(self) -> Result<String, Error> {
        let charset = self.charset();
        let url = self.url.to_string();
        let bytes = self.bytes().await?;
        decode_text(&bytes, charset.as_deref(), &url)
    }

    /// The body as a [`Stream`](futures_core::Stream) of chunks.
    ///
    /// # Examples
    /// See [`BodyStream`].
    pub fn bytes_stream(self) -> BodyStream {
        self.body
    }

    /// Reads a little of what is left, so the connection can be reused.
    pub(crate) async fn drain(self) {
        self.body.drain(DRAIN_BUDGET).await;
    }

    fn charset(&self) -> Option<String> {
        let ct = self.headers.get(header::CONTENT_TYPE)?.to_str().ok()?;
        ct.split(';').skip(1).find_map(|p| {
            let (k, v) = p.split_once('=')?;
            k.trim()
                .eq_ignore_ascii_case("charset")
                .then(|| v.trim().trim_matches('"').to_ascii_lowercase())
        })
    }
}

fn decode_text(bytes: &[u8], charset: Option<&str>, url: &str) -> Result<String, Error> {
    match charset {
        None | Some("utf-8" | "utf8") => String::from_utf8(bytes.to_vec()).map_err(|e| {
            Error::new(
                ErrorKind::Decode,
                format!("the body of {url} is not valid UTF-8"),
            )
            .with_source(e)
        }),
        Some("iso-8859-1" | "latin1" | "latin-1") => Ok(bytes.iter().map(|&b| b as char).collect()),
        Some("us-ascii" | "ascii") if bytes.is_ascii() => {
            Ok(bytes.iter().map(|&b| b as char).collect())
        }
        Some(other) => Err(Error::new(
            ErrorKind::Decode,
            format!("the body of {url} is in charset {other:?}, which text() does not decode (use bytes())"),
        )),
    }
}

impl fmt::Debug for Response {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Response")
            .field("url", &self.url.as_str())
            .field("status", &self.status)
            .field("version", &self.version)
            .field("headers", &self.headers)
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::decode_text;

    #[test]
    fn text_follows_the_charset() {
        assert_eq!(decode_text("é".as_bytes(), None, "u").unwrap(), "é");
        assert_eq!(decode_text(&[0xe9], Some("iso-8859-1"), "u").unwrap(), "é");
        assert!(decode_text(&[0xe9], None, "u")
            .unwrap_err()
            .to_string()
            .contains("not valid UTF-8"));
        assert!(decode_text(b"x", Some("koi8-r"), "u").is_err());
    }
}
