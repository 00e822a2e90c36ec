//! The client: aiohttp's `ClientSession` in Rust idiom.

mod body;
mod connect;
mod pool;
mod request;
mod response;
mod timeout;

use std::fmt;
use std::rc::Rc;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http::header::{HeaderMap, HeaderName, HeaderValue};
use http::Method;
use http_body_util::Full;
use rustls::pki_types::CertificateDer;

pub use body::BodyStream;
pub use pool::PoolStats;
pub use request::{IntoUrl, RequestBuilder};
pub use response::Response;
pub use timeout::ClientTimeout;

use crate::error::{Error, ErrorKind};
use crate::tls::{self, ALPN_H1, ALPN_H2};

/// The body type sent to hyper: a request body is bytes in memory, so a
/// request can be sent again (on a fresh connection, or after a 307).
pub(crate) type ReqBody = Full<Bytes>;

/// The `User-Agent` sent unless one is set.
pub const USER_AGENT: &str = concat!("boucle-http/", env!("CARGO_PKG_VERSION"));

/// Everything a [`Client`] was built with.
pub(crate) struct Config {
    pub(crate) timeout: ClientTimeout,
    pub(crate) max_redirects: usize,
    pub(crate) max_body: Option<u64>,
    pub(crate) decompress: bool,
    pub(crate) http2_prior_knowledge: bool,
    pub(crate) http2_keep_alive: Option<Duration>,
    pub(crate) headers: HeaderMap,
    pub(crate) tls: Arc<rustls::ClientConfig>,
}

/// An HTTP client with a connection pool (aiohttp's `ClientSession`,
/// reqwest's `Client`). Cheap to clone: clones share the pool.
///
/// A `Client` belongs to the boucle loop it is used on (it is `!Send`);
/// make one per loop and share it between that loop's tasks.
///
/// # Examples
///
/// ```
/// use boucle_http::{serve, Client, Response};
///
/// boucle::run(async {
///     let listener = boucle::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
///     let url = format!("http://{}/hello", listener.local_addr().unwrap());
///     let server = serve(listener, boucle_http::server::service_fn(|req| async move {
///         Ok::<_, std::convert::Infallible>(boucle_http::server::text(format!("hi {}", req.uri().path())))
///     }));
///     let shutdown = server.shutdown_handle();
///     boucle::spawn(server.run());
///
///     let client = Client::new();
///     let response: Response = client.get(&url).send().await.unwrap();
///     assert_eq!(response.status(), 200);
///     assert_eq!(response.text().await.unwrap(), "hi /hello");
///     shutdown.shutdown(std::time::Duration::from_secs(1)).await;
/// });
/// ```
#[derive(Clone)]
pub struct Client {
    inner: Rc<Inner>,
}

struct Inner {
    config: Config,
    pool: pool::Pool,
}

impl Client {
    /// A client with the defaults of [`ClientBuilder`].
    ///
    /// # Examples
    /// See [`Client`].
    pub fn new() -> Client {
        match ClientBuilder::new().build() {
            Ok(client) => client,
            // The defaults have no PEM text to parse and no option that
            // can fail; rustls refuses only an empty provider.
            Err(e) => unreachable!("the default client configuration is valid: {e}"),
        }
    }

    /// A builder to set limits, timeouts and TLS.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// use boucle_http::{Client, ClientTimeout};
    ///
    /// let client = Client::builder()
    ///     .limit(100)
    ///     .limit_per_host(8)
    ///     .timeout(ClientTimeout::new().total(Duration::from_secs(10)))
    ///     .max_redirects(5)
    ///     .max_body_size(10 << 20)
    ///     .build()
    ///     .unwrap();
    /// # drop(client);
    /// ```
    pub fn builder() -> ClientBuilder {
        ClientBuilder::new()
    }

    /// A request with any method.
    ///
    /// # Examples
    ///
    /// ```
    /// let client = boucle_http::Client::new();
    /// let req = client.request(http::Method::OPTIONS, "http://127.0.0.1/");
    /// # drop(req);
    /// ```
    pub fn request(&self, method: Method, url: impl IntoUrl) -> RequestBuilder {
        RequestBuilder::new(self.clone(), method, url.into_url())
    }

    /// A GET request (`session.get(url)`).
    ///
    /// # Examples
    /// See [`Client`].
    pub fn get(&self, url: impl IntoUrl) -> RequestBuilder {
        self.request(Method::GET, url)
    }

    /// A HEAD request.
    ///
    /// # Examples
    /// See [`Client::request`].
    pub fn head(&self, url: impl IntoUrl) -> RequestBuilder {
        self.request(Method::HEAD, url)
    }

    /// A POST request; give it a [`body`](RequestBuilder::body).
    ///
    /// # Examples
    /// See [`RequestBuilder::body`].
    pub fn post(&self, url: impl IntoUrl) -> RequestBuilder {
        self.request(Method::POST, url)
    }

    /// A PUT request.
    ///
    /// # Examples
    /// See [`Client::request`].
    pub fn put(&self, url: impl IntoUrl) -> RequestBuilder {
        self.request(Method::PUT, url)
    }

    /// A PATCH request.
    ///
    /// # Examples
    /// See [`Client::request`].
    pub fn patch(&self, url: impl IntoUrl) -> RequestBuilder {
        self.request(Method::PATCH, url)
    }

    /// A DELETE request.
    ///
    /// # Examples
    /// See [`Client::request`].
    pub fn delete(&self, url: impl IntoUrl) -> RequestBuilder {
        self.request(Method::DELETE, url)
    }

    /// What the pool holds now.
    ///
    /// # Examples
    ///
    /// ```
    /// assert_eq!(boucle_http::Client::new().pool_stats().open, 0);
    /// ```
    pub fn pool_stats(&self) -> PoolStats {
        self.inner.pool.stats()
    }

    pub(crate) fn config(&self) -> &Config {
        &self.inner.config
    }

    pub(crate) fn pool(&self) -> &pool::Pool {
        &self.inner.pool
    }
}

impl Default for Client {
    fn default() -> Client {
        Client::new()
    }
}

impl fmt::Debug for Client {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Client")
            .field("timeout", &self.inner.config.timeout)
            .field("pool", &self.inner.pool.stats())
            .finish_non_exhaustive()
    }
}

/// Sets up a [`Client`]. Defaults (aiohttp's where it has one):
///
/// | option | default |
/// | --- | --- |
/// | [`limit`](ClientBuilder::limit) | 100 connections in all |
/// | [`limit_per_host`](ClientBuilder::limit_per_host) | 0 (no cap per host) |
/// | [`pool_max_idle_per_host`](ClientBuilder::pool_max_idle_per_host) | no cap (below `limit`) |
/// | [`pool_idle_timeout`](ClientBuilder::pool_idle_timeout) | 15 s |
/// | [`timeout`](ClientBuilder::timeout) | [`ClientTimeout::new`]: total 300 s, connect 30 s |
/// | [`max_redirects`](ClientBuilder::max_redirects) | 10 |
/// | [`max_body_size`](ClientBuilder::max_body_size) | none |
/// | decompression | gzip, deflate, br |
/// | protocols | HTTP/2 by ALPN on TLS, else HTTP/1.1 |
/// | TLS roots | Mozilla's (webpki-roots), plus [`add_root_certificate`](ClientBuilder::add_root_certificate) |
///
/// # Examples
/// See [`Client::builder`].
#[must_use = "a builder does nothing until .build()"]
pub struct ClientBuilder {
    timeout: ClientTimeout,
    limit: usize,
    limit_per_host: usize,
    max_idle_per_host: usize,
    idle_timeout: Option<Duration>,
    max_redirects: usize,
    max_body: Option<u64>,
    decompress: bool,
    http1_only: bool,
    http2_prior_knowledge: bool,
    http2_keep_alive: Option<Duration>,
    headers: HeaderMap,
    roots: Vec<CertificateDer<'static>>,
    accept_invalid_certs: bool,
    error: Option<Error>,
}

impl Default for ClientBuilder {
    fn default() -> ClientBuilder {
        ClientBuilder::new()
    }
}

impl ClientBuilder {
    /// The defaults (see [`ClientBuilder`]).
    ///
    /// # Examples
    /// See [`Client::builder`].
    pub fn new() -> ClientBuilder {
        let mut headers = HeaderMap::new();
        headers.insert(
            http::header::USER_AGENT,
            HeaderValue::from_static(USER_AGENT),
        );
        ClientBuilder {
            timeout: ClientTimeout::new(),
            limit: 100,
            limit_per_host: 0,
            max_idle_per_host: usize::MAX,
            idle_timeout: Some(Duration::from_secs(15)),
            max_redirects: 10,
            max_body: None,
            decompress: true,
            http1_only: false,
            http2_prior_knowledge: false,
            http2_keep_alive: None,
            headers,
            roots: Vec::new(),
            accept_invalid_certs: false,
            error: None,
        }
    }

    /// The timeouts of every request (a request may override them).
    ///
    /// # Examples
    /// See [`Client::builder`].
    pub fn timeout(mut self, timeout: ClientTimeout) -> ClientBuilder {
        self.timeout = timeout;
        self
    }

    /// At most `n` connections open in all (aiohttp's `limit`; 0: no cap).
    /// A request that finds the pool full waits for a connection.
    ///
    /// # Examples
    /// See [`Client::builder`].
    pub fn limit(mut self, n: usize) -> ClientBuilder {
        self.limit = n;
        self
    }

    /// At most `n` connections open to one host (scheme, host, port;
    /// aiohttp's `limit_per_host`; 0: no cap).
    ///
    /// # Examples
    /// See [`Client::builder`].
    pub fn limit_per_host(mut self, n: usize) -> ClientBuilder {
        self.limit_per_host = n;
        self
    }

    /// At most `n` idle connections kept per host (0: no keep-alive).
    ///
    /// # Examples
    ///
    /// ```
    /// let client = boucle_http::Client::builder().pool_max_idle_per_host(0).build().unwrap();
    /// # drop(client);
    /// ```
    pub fn pool_max_idle_per_host(mut self, n: usize) -> ClientBuilder {
        self.max_idle_per_host = n;
        self
    }

    /// How long an idle connection is kept (`None`: until the server
    /// closes it).
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// let client = boucle_http::Client::builder()
    ///     .pool_idle_timeout(Some(Duration::from_secs(60)))
    ///     .build()
    ///     .unwrap();
    /// # drop(client);
    /// ```
    pub fn pool_idle_timeout(mut self, timeout: Option<Duration>) -> ClientBuilder {
        self.idle_timeout = timeout;
        self
    }

    /// Follows at most `n` redirects (0: return redirects as responses).
    ///
    /// # Examples
    /// See [`Client::builder`].
    pub fn max_redirects(mut self, n: usize) -> ClientBuilder {
        self.max_redirects = n;
        self
    }

    /// Refuses bodies larger than `bytes` (after decompression): reading
    /// one fails with [`ErrorKind::BodyTooLarge`], as soon as the
    /// `Content-Length` says so or as soon as that many bytes came.
    ///
    /// # Examples
    /// See [`Client::builder`].
    pub fn max_body_size(mut self, bytes: u64) -> ClientBuilder {
        self.max_body = Some(bytes);
        self
    }

    /// Whether to ask for and decode gzip, deflate and brotli bodies
    /// (default on).
    ///
    /// # Examples
    ///
    /// ```
    /// let client = boucle_http::Client::builder().decompress(false).build().unwrap();
    /// # drop(client);
    /// ```
    pub fn decompress(mut self, on: bool) -> ClientBuilder {
        self.decompress = on;
        self
    }

    /// Offers only HTTP/1.1 in TLS's ALPN.
    ///
    /// # Examples
    ///
    /// ```
    /// let client = boucle_http::Client::builder().http1_only().build().unwrap();
    /// # drop(client);
    /// ```
    pub fn http1_only(mut self) -> ClientBuilder {
        self.http1_only = true;
        self
    }

    /// Speaks HTTP/2 on `http://` URLs from the first byte (h2c "prior
    /// knowledge": the server must speak it).
    ///
    /// # Examples
    ///
    /// ```
    /// let client = boucle_http::Client::builder().http2_prior_knowledge().build().unwrap();
    /// # drop(client);
    /// ```
    pub fn http2_prior_knowledge(mut self) -> ClientBuilder {
        self.http2_prior_knowledge = true;
        self
    }

    /// Sends HTTP/2 pings every `interval` and closes a connection that
    /// does not answer within twice that.
    ///
    /// # Examples
    ///
    /// ```
    /// let client = boucle_http::Client::builder()
    ///     .http2_keep_alive_interval(std::time::Duration::from_secs(30))
    ///     .build()
    ///     .unwrap();
    /// # drop(client);
    /// ```
    pub fn http2_keep_alive_interval(mut self, interval: Duration) -> ClientBuilder {
        self.http2_keep_alive = Some(interval);
        self
    }

    /// A header sent with every request (a request's own header of the
    /// same name replaces it).
    ///
    /// # Examples
    ///
    /// ```
    /// let client = boucle_http::Client::builder()
    ///     .default_header("user-agent", "my-scraper/1.0")
    ///     .build()
    ///     .unwrap();
    /// # drop(client);
    /// let bad = boucle_http::Client::builder().default_header("bad name", "x").build();
    /// assert!(bad.is_err());
    /// ```
    pub fn default_header(mut self, name: &str, value: &str) -> ClientBuilder {
        match (
            HeaderName::from_bytes(name.as_bytes()),
            HeaderValue::from_str(value),
        ) {
            (Ok(n), Ok(v)) => {
                self.headers.insert(n, v);
            }
            _ => {
                self.error.get_or_insert(Error::new(
                    ErrorKind::Builder,
                    format!("invalid default header {name:?}: {value:?}"),
                ));
            }
        }
        self
    }

    /// Trusts the certificates of a PEM text as root authorities, beside
    /// Mozilla's (a private CA, a test CA).
    ///
    /// # Examples
    ///
    /// ```
    /// let ca = rcgen::generate_simple_self_signed(vec!["my-ca".to_string()]).unwrap();
    /// let client = boucle_http::Client::builder()
    ///     .add_root_certificate(ca.cert.pem().as_bytes())
    ///     .build()
    ///     .unwrap();
    /// # drop(client);
    /// assert!(boucle_http::Client::builder().add_root_certificate(b"nope").build().is_err());
    /// ```
    pub fn add_root_certificate(mut self, pem: &[u8]) -> ClientBuilder {
        match tls::certs_from_pem(pem) {
            Ok(certs) => self.roots.extend(certs),
            Err(e) => {
                self.error.get_or_insert(e);
            }
        }
        self
    }

    /// **Turns off every certificate check**: any certificate, from any
    /// issuer, for any host name, expired or not, is accepted. Anyone on
    /// the path can then read and change the traffic. For tests against a
    /// server whose certificate cannot be trusted otherwise; prefer
    /// [`add_root_certificate`](ClientBuilder::add_root_certificate).
    ///
    /// # Examples
    ///
    /// ```
    /// let client = boucle_http::Client::builder()
    ///     .danger_accept_invalid_certs(true)
    ///     .build()
    ///     .unwrap();
    /// # drop(client);
    /// ```
    pub fn danger_accept_invalid_certs(mut self, accept: bool) -> ClientBuilder {
        self.accept_invalid_certs = accept;
        self
    }

    /// Builds the client.
    ///
    /// # Examples
    /// See [`Client::builder`].
    ///
    /// # Errors
    /// `Builder` for a bad default header or root certificate given
    /// earlier.
    pub fn build(self) -> Result<Client, Error> {
        if let Some(e) = self.error {
            return Err(e);
        }
        let alpn = if self.http1_only {
            vec![ALPN_H1.to_vec()]
        } else {
            vec![ALPN_H2.to_vec(), ALPN_H1.to_vec()]
        };
        let tls = tls::client_config(&self.roots, self.accept_invalid_certs, alpn)?;
        let limits = pool::Limits {
            limit: self.limit,
            per_host: self.limit_per_host,
            max_idle_per_host: self.max_idle_per_host,
            idle_timeout: self.idle_timeout,
        };
        Ok(Client {
            inner: Rc::new(Inner {
                config: Config {
                    timeout: self.timeout,
                    max_redirects: self.max_redirects,
                    max_body: self.max_body,
                    decompress: self.decompress,
                    http2_prior_knowledge: self.http2_prior_knowledge,
                    http2_keep_alive: self.http2_keep_alive,
                    headers: self.headers,
                    tls,
                },
                pool: pool::Pool::new(limits),
            }),
        })
    }
}
