//! `RequestBuilder` and `send`: one request, its redirects, its retry on a
//! connection that died while idle, its timeouts.

use std::time::Instant;

use bytes::Bytes;
use http::header::{self, HeaderMap, HeaderName, HeaderValue};
use http::{Method, StatusCode};
use http_body_util::Full;
use url::Url;

use super::body::RawBody;
use super::pool::{Checkout, Key, Pooled, Sender};
use super::response::Response;
use super::{connect, Client, ClientTimeout, ReqBody};
use crate::error::{Error, ErrorKind, TimeoutKind};

/// What a URL argument may be: `&str`, `String`, `&String` or a parsed
/// [`Url`].
///
/// # Examples
///
/// ```
/// use boucle_http::IntoUrl;
/// assert!("http://127.0.0.1/".into_url().is_ok());
/// assert!("ftp://example.com/".into_url().is_err());
/// assert!(url::Url::parse("https://example.com").unwrap().into_url().is_ok());
/// ```
pub trait IntoUrl {
    /// Parses and checks the URL: `http` or `https`, with a host.
    ///
    /// # Errors
    /// `InvalidUrl`, naming the URL.
    fn into_url(self) -> Result<Url, Error>;
}

fn check(url: Url) -> Result<Url, Error> {
    match url.scheme() {
        "http" | "https" => {}
        other => {
            return Err(Error::new(
                ErrorKind::InvalidUrl,
                format!("invalid URL {url}: scheme {other:?} is not http or https"),
            ))
        }
    }
    if url.host().is_none() {
        return Err(Error::new(
            ErrorKind::InvalidUrl,
            format!("invalid URL {url}: no host"),
        ));
    }
    Ok(url)
}

impl IntoUrl for Url {
    fn into_url(self) -> Result<Url, Error> {
        check(self)
    }
}

impl IntoUrl for &str {
    fn into_url(self) -> Result<Url, Error> {
        match Url::parse(self) {
            Ok(url) => check(url),
            Err(e) => Err(Error::new(
                ErrorKind::InvalidUrl,
                format!("invalid URL {self:?}: {e}"),
            )),
        }
    }
}

impl IntoUrl for String {
    fn into_url(self) -> Result<Url, Error> {
        self.as_str().into_url()
    }
}

impl IntoUrl for &String {
    fn into_url(self) -> Result<Url, Error> {
        self.as_str().into_url()
    }
}

/// A request being built: `client.get(url).header(..).send().await`.
///
/// # Examples
/// See [`Client`] and [`body`](RequestBuilder::body).
#[must_use = "a request is sent only by .send().await"]
pub struct RequestBuilder {
    client: Client,
    method: Method,
    url: Result<Url, Error>,
    headers: HeaderMap,
    body: Bytes,
    timeout: Option<ClientTimeout>,
    redirects: Option<usize>,
}

impl RequestBuilder {
    pub(crate) fn new(client: Client, method: Method, url: Result<Url, Error>) -> RequestBuilder {
        RequestBuilder {
            client,
            method,
            url,
            headers: HeaderMap::new(),
            body: Bytes::new(),
            timeout: None,
            redirects: None,
        }
    }

    /// Adds a header (an invalid name or value fails at `send`).
    ///
    /// # Examples
    /// See [`body`](RequestBuilder::body).
    pub fn header(mut self, name: &str, value: &str) -> RequestBuilder {
        match (
            HeaderName::from_bytes(name.as_bytes()),
            HeaderValue::from_str(value),
        ) {
            (Ok(n), Ok(v)) => {
                self.headers.append(n, v);
            }
            _ => {
                if self.url.is_ok() {
                    self.url = Err(Error::new(
                        ErrorKind::Builder,
                        format!("invalid header {name:?}: {value:?}"),
                    ));
                }
            }
        }
        self
    }

    /// Adds headers.
    ///
    /// # Examples
    ///
    /// ```
    /// let mut h = http::HeaderMap::new();
    /// h.insert("x-a", "1".parse().unwrap());
    /// let req = boucle_http::Client::new().get("http://127.0.0.1/").headers(h);
    /// # drop(req);
    /// ```
    pub fn headers(mut self, headers: HeaderMap) -> RequestBuilder {
        for (name, value) in headers.iter() {
            self.headers.append(name.clone(), value.clone());
        }
        self
    }

    /// The request body (bytes in memory, so it can be sent again on a
    /// 307/308 redirect or a retry).
    ///
    /// # Examples
    ///
    /// ```
    /// use boucle_http::server::{service_fn, text, serve};
    /// use http_body_util::BodyExt;
    ///
    /// boucle::run(async {
    ///     let listener = boucle::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    ///     let url = format!("http://{}/echo", listener.local_addr().unwrap());
    ///     let server = serve(listener, service_fn(|req: http::Request<hyper::body::Incoming>| async move {
    ///         let body = req.into_body().collect().await?.to_bytes();
    ///         Ok::<_, hyper::Error>(text(format!("got {} bytes", body.len())))
    ///     }));
    ///     boucle::spawn(server.run());
    ///     let response = boucle_http::Client::new()
    ///         .post(&url)
    ///         .header("content-type", "text/plain")
    ///         .body("hello")
    ///         .send()
    ///         .await
    ///         .unwrap();
    ///     assert_eq!(response.text().await.unwrap(), "got 5 bytes");
    /// });
    /// ```
    pub fn body(mut self, body: impl Into<Bytes>) -> RequestBuilder {
        self.body = body.into();
        self
    }

    /// A form body (`application/x-www-form-urlencoded`).
    ///
    /// # Examples
    ///
    /// ```
    /// let req = boucle_http::Client::new().post("http://127.0.0.1/").form(&[("q", "a b")]);
    /// # drop(req);
    /// ```
    pub fn form(mut self, pairs: &[(&str, &str)]) -> RequestBuilder {
        let body = url::form_urlencoded::Serializer::new(String::new())
            .extend_pairs(pairs)
            .finish();
        self.headers.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/x-www-form-urlencoded"),
        );
        self.body = Bytes::from(body);
        self
    }

    /// Adds query parameters to the URL.
    ///
    /// # Examples
    ///
    /// ```
    /// let req = boucle_http::Client::new().get("http://127.0.0.1/s").query(&[("q", "rust")]);
    /// # drop(req);
    /// ```
    pub fn query(mut self, pairs: &[(&str, &str)]) -> RequestBuilder {
        if let Ok(url) = &mut self.url {
            url.query_pairs_mut().extend_pairs(pairs);
        }
        self
    }

    /// Timeouts for this request instead of the client's.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// let req = boucle_http::Client::new()
    ///     .get("http://127.0.0.1/")
    ///     .timeout(boucle_http::ClientTimeout::new().total(Duration::from_secs(1)));
    /// # drop(req);
    /// ```
    pub fn timeout(mut self, timeout: ClientTimeout) -> RequestBuilder {
        self.timeout = Some(timeout);
        self
    }

    /// Follows at most `n` redirects for this request (0: none).
    ///
    /// # Examples
    ///
    /// ```
    /// let req = boucle_http::Client::new().get("http://127.0.0.1/").max_redirects(0);
    /// # drop(req);
    /// ```
    pub fn max_redirects(mut self, n: usize) -> RequestBuilder {
        self.redirects = Some(n);
        self
    }

    /// Sends the request and waits for the response headers (the body is
    /// read from the [`Response`]). Redirects are followed; the total
    /// timeout runs on while the body is read.
    ///
    /// # Examples
    /// See [`Client`].
    ///
    /// # Cancel safety
    /// Dropping the future abandons the request; its connection is closed
    /// (not returned half-used to the pool).
    ///
    /// # Errors
    /// Every [`ErrorKind`] but `Body` and `Decode`; a status of 400 or
    /// more is a response, not an error.
    pub async fn send(self) -> Result<Response, Error> {
        let url = self.url?;
        let config = self.client.config();
        let timeout = self.timeout.unwrap_or(config.timeout);
        let start = boucle::now();
        let deadline = timeout.total_limit().and_then(|t| start.checked_add(t));
        let max_redirects = self.redirects.unwrap_or(config.max_redirects);
        let job = Exchange {
            client: &self.client,
            timeout,
            deadline,
            max_redirects,
        };
        let run = job.run(self.method, url.clone(), self.headers, self.body);
        match (deadline, timeout.total_limit()) {
            (Some(d), Some(total)) => match boucle::timeout_at(d, run).await {
                Ok(r) => r,
                Err(_) => Err(Error::timeout(
                    TimeoutKind::Total,
                    total,
                    format_args!("for {url}"),
                )),
            },
            _ => run.await,
        }
    }
}

/// One `send`: the request and its redirects.
struct Exchange<'a> {
    client: &'a Client,
    timeout: ClientTimeout,
    deadline: Option<Instant>,
    max_redirects: usize,
}

impl Exchange<'_> {
    async fn run(
        &self,
        mut method: Method,
        mut url: Url,
        mut headers: HeaderMap,
        mut body: Bytes,
    ) -> Result<Response, Error> {
        let mut redirects = 0;
        loop {
            let (response, pooled) = self.once(&method, &url, &headers, &body).await?;
            let status = response.status();
            let location = response.headers().get(header::LOCATION).cloned();
            let follow = is_redirect(status) && self.max_redirects > 0;
            if !follow {
                return Ok(self.response(response, pooled, url));
            }
            let Some(location) = location else {
                // A 3xx without a Location is a response like any other.
                return Ok(self.response(response, pooled, url));
            };
            if redirects >= self.max_redirects {
                return Err(Error::new(
                    ErrorKind::RedirectLimit,
                    format!(
                        "too many redirects: {} followed, the limit, and {url} redirects again",
                        self.max_redirects
                    ),
                ));
            }
            redirects += 1;
            let next = location
                .to_str()
                .ok()
                .and_then(|l| url.join(l).ok())
                .ok_or_else(|| {
                    Error::new(
                        ErrorKind::Redirect,
                        format!("{url} redirects to an invalid Location {location:?}"),
                    )
                })?;
            let next = check(next).map_err(|e| {
                Error::new(
                    ErrorKind::Redirect,
                    format!("{url} redirects to an unusable URL: {e}"),
                )
            })?;
            // Read what is left of the redirect's body, so its connection
            // can serve the next request.
            self.response(response, pooled, url.clone()).drain().await;
            // 303, and 301/302 after a POST: the next request is a GET
            // without a body (what browsers, curl and aiohttp do).
            let to_get = status == StatusCode::SEE_OTHER && method != Method::HEAD
                || (matches!(status, StatusCode::MOVED_PERMANENTLY | StatusCode::FOUND)
                    && method == Method::POST);
            if to_get {
                method = Method::GET;
                body = Bytes::new();
                for h in [
                    header::CONTENT_TYPE,
                    header::CONTENT_LENGTH,
                    header::CONTENT_ENCODING,
                    header::TRANSFER_ENCODING,
                ] {
                    headers.remove(h);
                }
            }
            if origin(&next) != origin(&url) {
                // Credentials stay with the origin they were given for.
                for h in [
                    header::AUTHORIZATION,
                    header::COOKIE,
                    header::PROXY_AUTHORIZATION,
                ] {
                    headers.remove(h);
                }
            }
            url = next;
        }
    }

    fn response(
        &self,
        response: http::Response<hyper::body::Incoming>,
        pooled: Pooled,
        url: Url,
    ) -> Response {
        let config = self.client.config();
        let (parts, incoming) = response.into_parts();
        let raw = RawBody::new(
            incoming,
            pooled,
            self.timeout.read_limit(),
            self.deadline.zip(self.timeout.total_limit()),
            key_of(&url).to_string(),
        );
        Response::new(parts, raw, url, config.decompress, config.max_body)
    }

    /// One request on one connection, retried once on a fresh connection
    /// when a pooled one turns out to be dead and retrying is safe.
    async fn once(
        &self,
        method: &Method,
        url: &Url,
        headers: &HeaderMap,
        body: &Bytes,
    ) -> Result<(http::Response<hyper::body::Incoming>, Pooled), Error> {
        let config = self.client.config();
        let key = key_of(url);
        let mut fresh_only = false;
        loop {
            let mut pooled = self.checkout(&key, fresh_only).await?;
            let h2 = pooled.is_h2();
            let request = build(method, url, headers, body, config, h2)?;
            let reused = pooled.reused;
            let sent = match self.timeout.read_limit() {
                Some(limit) => match boucle::timeout(limit, send_on(&mut pooled, request)).await {
                    Ok(r) => r,
                    Err(_) => {
                        return Err(Error::timeout(
                            TimeoutKind::Read,
                            limit,
                            format_args!("waiting for the response headers from {key}"),
                        ))
                    }
                },
                None => send_on(&mut pooled, request).await,
            };
            match sent {
                Ok(response) => return Ok((response, pooled)),
                Err(failure) => {
                    let safe = !failure.sent || (idempotent(method) && failure.incomplete);
                    if reused && !fresh_only && safe {
                        // The server closed this idle connection: once more
                        // on a new one.
                        drop(pooled);
                        fresh_only = true;
                        continue;
                    }
                    return Err(failure.into_error(&key, url));
                }
            }
        }
    }

    /// A connection for `key`: from the pool, or a new one.
    async fn checkout(&self, key: &Key, fresh_only: bool) -> Result<Pooled, Error> {
        let config = self.client.config();
        let pool = self.client.pool();
        loop {
            let checkout = match self.timeout.pool_limit() {
                Some(limit) => boucle::timeout(limit, pool.checkout(key))
                    .await
                    .map_err(|_| {
                        Error::timeout(
                            TimeoutKind::Pool,
                            limit,
                            format_args!("waiting for a free connection to {key}"),
                        )
                    })?,
                None => pool.checkout(key).await,
            };
            match checkout {
                Checkout::Ready(p) if fresh_only && p.reused && !p.is_h2() => {
                    // Not the idle one we want: close it (it may be just as
                    // dead) and look again.
                    drop(p);
                }
                Checkout::Ready(p) => return Ok(p),
                Checkout::Connect(slot) => {
                    let sender = connect::connect(config, key).await?;
                    return Ok(slot.into_pooled(sender));
                }
            }
        }
    }
}

/// Why a send failed, and whether the request may have left.
struct SendFailure {
    error: hyper::Error,
    /// Some of the request may have reached the server.
    sent: bool,
    /// The connection closed before a response began.
    incomplete: bool,
}

impl SendFailure {
    fn into_error(self, key: &Key, url: &Url) -> Error {
        let message = if self.error.is_incomplete_message() || self.error.is_closed() {
            format!("{key} closed the connection before responding to {url}")
        } else if self.error.is_parse() {
            format!("{key} sent an invalid response for {url}")
        } else {
            format!("request to {url} failed")
        };
        Error::new(ErrorKind::Request, message).with_source(self.error)
    }
}

async fn send_on(
    pooled: &mut Pooled,
    request: http::Request<ReqBody>,
) -> Result<http::Response<hyper::body::Incoming>, SendFailure> {
    let failure = |mut e: hyper::client::conn::TrySendError<http::Request<ReqBody>>| {
        let sent = e.take_message().is_none();
        let error = e.into_error();
        let incomplete = error.is_incomplete_message() || error.is_canceled() || error.is_closed();
        SendFailure {
            error,
            sent,
            incomplete,
        }
    };
    let ready_failure = |error: hyper::Error| SendFailure {
        incomplete: true,
        sent: false,
        error,
    };
    match pooled.sender() {
        Some(Sender::H1(tx)) => {
            tx.ready().await.map_err(ready_failure)?;
            tx.try_send_request(request).await.map_err(failure)
        }
        Some(Sender::H2(tx)) => {
            tx.ready().await.map_err(ready_failure)?;
            tx.try_send_request(request).await.map_err(failure)
        }
        None => unreachable!("a checked-out connection has its sender until released"),
    }
}

fn idempotent(m: &Method) -> bool {
    matches!(
        *m,
        Method::GET | Method::HEAD | Method::PUT | Method::DELETE | Method::OPTIONS | Method::TRACE
    )
}

fn is_redirect(s: StatusCode) -> bool {
    matches!(
        s,
        StatusCode::MOVED_PERMANENTLY
            | StatusCode::FOUND
            | StatusCode::SEE_OTHER
            | StatusCode::TEMPORARY_REDIRECT
            | StatusCode::PERMANENT_REDIRECT
    )
}

fn origin(url: &Url) -> (String, Option<String>, Option<u16>) {
    (
        url.scheme().to_string(),
        url.host_str().map(str::to_string),
        url.port_or_known_default(),
    )
}

pub(crate) fn key_of(url: &Url) -> Key {
    let https = url.scheme() == "https";
    let host = match url.host() {
        Some(url::Host::Ipv6(a)) => a.to_string(),
        Some(h) => h.to_string(),
        None => String::new(),
    };
    Key {
        https,
        host,
        port: url
            .port_or_known_default()
            .unwrap_or(if https { 443 } else { 80 }),
    }
}

/// The hyper request: origin-form URI and a Host header on HTTP/1.1,
/// absolute URI (`:authority`) on HTTP/2.
fn build(
    method: &Method,
    url: &Url,
    headers: &HeaderMap,
    body: &Bytes,
    config: &super::Config,
    h2: bool,
) -> Result<http::Request<ReqBody>, Error> {
    let target = if h2 {
        let mut u = url.clone();
        u.set_fragment(None);
        u.to_string()
    } else {
        let mut t = url.path().to_string();
        if let Some(q) = url.query() {
            t.push('?');
            t.push_str(q);
        }
        t
    };
    let uri: http::Uri = target.parse().map_err(|e| {
        Error::new(ErrorKind::InvalidUrl, format!("invalid URL {url}")).with_source(e)
    })?;
    let mut req = http::Request::new(Full::new(body.clone()));
    *req.method_mut() = method.clone();
    *req.uri_mut() = uri;
    *req.version_mut() = if h2 {
        http::Version::HTTP_2
    } else {
        http::Version::HTTP_11
    };
    let h = req.headers_mut();
    for (name, value) in config.headers.iter() {
        if !headers.contains_key(name) {
            h.insert(name.clone(), value.clone());
        }
    }
    for (name, value) in headers.iter() {
        h.append(name.clone(), value.clone());
    }
    if !h2 && !h.contains_key(header::HOST) {
        let host = url.host_str().unwrap_or_default();
        let value = match url.port() {
            Some(p) => format!("{host}:{p}"),
            None => host.to_string(),
        };
        let value = HeaderValue::from_str(&value).map_err(|e| {
            Error::new(ErrorKind::InvalidUrl, format!("invalid host in {url}")).with_source(e)
        })?;
        h.insert(header::HOST, value);
    }
    if config.decompress && !h.contains_key(header::ACCEPT_ENCODING) {
        h.insert(
            header::ACCEPT_ENCODING,
            HeaderValue::from_static("gzip, deflate, br"),
        );
    }
    if !h.contains_key(header::ACCEPT) {
        h.insert(header::ACCEPT, HeaderValue::from_static("*/*"));
    }
    Ok(req)
}
