//! The server helper: [`serve`] a hyper service on a boucle listener,
//! HTTP/1.1 and HTTP/2 (h2c with prior knowledge on plain TCP, ALPN on
//! TLS), one loop-local task per connection, graceful shutdown.
//!
//! ```
//! use std::time::Duration;
//! use boucle_http::server::{serve, service_fn, text};
//!
//! boucle::run(async {
//!     let listener = boucle::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
//!     let url = format!("http://{}/", listener.local_addr().unwrap());
//!     let server = serve(listener, service_fn(|_req| async {
//!         Ok::<_, std::convert::Infallible>(text("Hello, World!"))
//!     }));
//!     let handle = server.shutdown_handle();
//!     let running = boucle::spawn(server.run());
//!
//!     assert_eq!(boucle_http::get(&url).await.unwrap().text().await.unwrap(), "Hello, World!");
//!
//!     // Stop accepting; let requests in flight finish (1 s at most).
//!     let report = handle.shutdown(Duration::from_secs(1)).await;
//!     assert_eq!(report.dropped, 0);
//!     running.await.unwrap().unwrap();
//! });
//! ```

mod detect;
mod shutdown;

use std::convert::Infallible;
use std::error::Error as StdError;
use std::future::{poll_fn, Future};
use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::rc::Rc;
use std::sync::Arc;
use std::task::Poll;
use std::time::Duration;

use boucle::net::{TcpListener, TcpStream};
use bytes::Bytes;
use http_body::Body;
use http_body_util::Full;
use hyper::body::Incoming;
use hyper::service::Service;
use hyper::{Request, Response};

pub use hyper::service::service_fn;
pub use shutdown::{ShutdownHandle, ShutdownReport};

use crate::rt::{BoucleIo, BoucleTimer, LocalExecutor};
use detect::{detect, Detected, Rewind};
use shutdown::{ConnGuard, Shared};

/// A `200 OK` with a `text/plain; charset=utf-8` body.
///
/// # Examples
///
/// ```
/// let r = boucle_http::server::text("hi");
/// assert_eq!(r.status(), 200);
/// assert_eq!(r.headers()["content-type"], "text/plain; charset=utf-8");
/// ```
pub fn text(body: impl Into<String>) -> Response<Full<Bytes>> {
    let mut r = Response::new(Full::new(Bytes::from(body.into())));
    r.headers_mut().insert(
        http::header::CONTENT_TYPE,
        http::HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    r
}

/// A `200 OK` with these bytes as body (no `Content-Type`).
///
/// # Examples
///
/// ```
/// let r = boucle_http::server::full(vec![0u8; 3]);
/// assert_eq!(r.status(), 200);
/// ```
pub fn full(body: impl Into<Bytes>) -> Response<Full<Bytes>> {
    Response::new(Full::new(body.into()))
}

/// A server being set up; [`run`](Server::run) it. Made by [`serve`].
///
/// # Examples
/// See the [module docs](crate::server).
#[must_use = "a server does nothing until .run().await"]
pub struct Server<S> {
    listener: TcpListener,
    service: S,
    tls: Option<Arc<rustls::ServerConfig>>,
    header_read_timeout: Option<Duration>,
    shared: Rc<Shared>,
}

/// Serves `service` on every connection `listener` accepts: HTTP/1.1
/// (keep-alive) and HTTP/2 (h2c prior knowledge, detected from the first
/// bytes; with [`Server::tls`], chosen by ALPN).
///
/// The service is cloned for each connection; make it cheap to clone
/// ([`service_fn`] of a closure that captures `Rc`s is).
///
/// # Examples
/// See the [module docs](crate::server).
pub fn serve<S>(listener: TcpListener, service: S) -> Server<S> {
    Server {
        listener,
        service,
        tls: None,
        header_read_timeout: Some(Duration::from_secs(30)),
        shared: Rc::new(Shared::default()),
    }
}

impl<S, B> Server<S>
where
    S: Service<Request<Incoming>, Response = Response<B>> + Clone + 'static,
    S::Future: 'static,
    S::Error: Into<Box<dyn StdError + Send + Sync>>,
    B: Body + 'static,
    B::Data: Send,
    B::Error: Into<Box<dyn StdError + Send + Sync>>,
{
    /// Serves HTTPS with this rustls configuration (see
    /// [`tls::server_config`](crate::tls::server_config)); HTTP/2 when the
    /// client and the configuration's ALPN list agree on `h2`.
    ///
    /// # Examples
    /// See the crate's `tests/http_tls.rs`.
    pub fn tls(mut self, config: Arc<rustls::ServerConfig>) -> Server<S> {
        self.tls = Some(config);
        self
    }

    /// How long a client may take to send a request's headers (and, on
    /// TLS, the handshake) before its connection is closed (default 30 s;
    /// `None`: forever). Guards against clients that open connections and
    /// send nothing.
    ///
    /// # Examples
    ///
    /// ```
    /// boucle::run(async {
    ///     let listener = boucle::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    ///     let server = boucle_http::serve(listener, boucle_http::server::service_fn(|_| async {
    ///         Ok::<_, std::convert::Infallible>(boucle_http::server::text("x"))
    ///     }))
    ///     .header_read_timeout(Some(std::time::Duration::from_secs(5)));
    ///     # drop(server);
    /// });
    /// ```
    pub fn header_read_timeout(mut self, timeout: Option<Duration>) -> Server<S> {
        self.header_read_timeout = timeout;
        self
    }

    /// The address the server listens on.
    ///
    /// # Examples
    ///
    /// ```
    /// boucle::run(async {
    ///     let listener = boucle::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    ///     let server = boucle_http::serve(listener, boucle_http::server::service_fn(|_| async {
    ///         Ok::<_, std::convert::Infallible>(boucle_http::server::text("x"))
    ///     }));
    ///     assert!(server.local_addr().unwrap().ip().is_loopback());
    /// });
    /// ```
    ///
    /// # Errors
    /// As `getsockname`.
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.listener.local_addr()
    }

    /// A handle to stop the server later (cheap to clone).
    ///
    /// # Examples
    /// See the [module docs](crate::server).
    pub fn shutdown_handle(&self) -> ShutdownHandle {
        ShutdownHandle::new(Rc::clone(&self.shared))
    }

    /// Accepts and serves until a [`ShutdownHandle::shutdown`]; then
    /// returns once the connections are finished or dropped.
    ///
    /// An accept error that concerns one connection (the peer reset it)
    /// is skipped; one that concerns the process (out of file
    /// descriptors) pauses accepting for 50 ms and goes on.
    ///
    /// # Examples
    /// See the [module docs](crate::server).
    ///
    /// # Errors
    /// None today; `io::Result` leaves room for fatal listener errors.
    pub async fn run(self) -> io::Result<()> {
        let Server {
            listener,
            service,
            tls,
            header_read_timeout,
            shared,
        } = self;
        let proto = Rc::new(Protocols::new(header_read_timeout));
        loop {
            let accepted = poll_fn(|cx| {
                if shared.is_stopping() {
                    return Poll::Ready(None);
                }
                shared.register_accept_waker(cx.waker());
                listener.poll_accept(cx).map(Some)
            })
            .await;
            let (stream, _peer) = match accepted {
                None => break,
                Some(Ok(conn)) => conn,
                Some(Err(e)) if is_per_connection(&e) => continue,
                Some(Err(_)) => {
                    boucle::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            };
            let _ = stream.set_nodelay(true);
            let guard = shared.add();
            let conn = serve_conn(
                stream,
                service.clone(),
                tls.clone(),
                Rc::clone(&proto),
                guard,
            );
            let task = boucle::spawn(conn);
            shared.set_task(task);
        }
        drop(listener);
        shared.wait_all_done().await;
        Ok(())
    }
}

fn is_per_connection(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::ConnectionAborted
            | io::ErrorKind::ConnectionReset
            | io::ErrorKind::Interrupted
            | io::ErrorKind::WouldBlock
    )
}

/// hyper's two connection builders, set up once per server.
struct Protocols {
    h1: hyper::server::conn::http1::Builder,
    h2: hyper::server::conn::http2::Builder<LocalExecutor>,
    header_read_timeout: Option<Duration>,
}

impl Protocols {
    fn new(header_read_timeout: Option<Duration>) -> Protocols {
        let mut h1 = hyper::server::conn::http1::Builder::new();
        h1.timer(BoucleTimer)
            .header_read_timeout(header_read_timeout);
        let mut h2 = hyper::server::conn::http2::Builder::new(LocalExecutor);
        h2.timer(BoucleTimer);
        Protocols {
            h1,
            h2,
            header_read_timeout,
        }
    }
}

/// Serves one connection; stops gracefully when the server does.
async fn serve_conn<S, B>(
    mut stream: TcpStream,
    service: S,
    tls: Option<Arc<rustls::ServerConfig>>,
    proto: Rc<Protocols>,
    guard: ConnGuard,
) where
    S: Service<Request<Incoming>, Response = Response<B>> + Clone + 'static,
    S::Future: 'static,
    S::Error: Into<Box<dyn StdError + Send + Sync>>,
    B: Body + 'static,
    B::Data: Send,
    B::Error: Into<Box<dyn StdError + Send + Sync>>,
{
    let limit = proto.header_read_timeout;
    match tls {
        Some(config) => {
            let accept = futures_rustls::TlsAcceptor::from(config).accept(stream);
            let Some(Ok(tls)) = within(limit, accept).await else {
                return;
            };
            let h2 = tls.get_ref().1.alpn_protocol() == Some(crate::tls::ALPN_H2);
            let io = BoucleIo::without_vectored_writes(tls);
            if h2 {
                drive(proto.h2.serve_connection(io, service), &guard).await;
            } else {
                drive(proto.h1.serve_connection(io, service), &guard).await;
            }
        }
        None => {
            let Some(Ok((detected, prefix))) = within(limit, detect(&mut stream)).await else {
                return;
            };
            let io = BoucleIo::new(Rewind::new(prefix, stream));
            match detected {
                Detected::Closed => {}
                Detected::Http2 => drive(proto.h2.serve_connection(io, service), &guard).await,
                Detected::Http1 => drive(proto.h1.serve_connection(io, service), &guard).await,
            }
        }
    }
}

async fn within<F: Future>(limit: Option<Duration>, fut: F) -> Option<F::Output> {
    match limit {
        Some(d) => boucle::timeout(d, fut).await.ok(),
        None => Some(fut.await),
    }
}

/// hyper's connections that can be told to finish.
trait Graceful: Future {
    fn graceful(self: Pin<&mut Self>);
}

impl<I, S, B> Graceful for hyper::server::conn::http1::Connection<I, S>
where
    S: hyper::service::HttpService<Incoming, ResBody = B>,
    S::Error: Into<Box<dyn StdError + Send + Sync>>,
    I: hyper::rt::Read + hyper::rt::Write + Unpin,
    B: Body + 'static,
    B::Error: Into<Box<dyn StdError + Send + Sync>>,
{
    fn graceful(self: Pin<&mut Self>) {
        self.graceful_shutdown();
    }
}

impl<I, S, B, E> Graceful for hyper::server::conn::http2::Connection<I, S, E>
where
    S: hyper::service::HttpService<Incoming, ResBody = B>,
    S::Error: Into<Box<dyn StdError + Send + Sync>>,
    I: hyper::rt::Read + hyper::rt::Write + Unpin,
    B: Body + 'static,
    B::Error: Into<Box<dyn StdError + Send + Sync>>,
    E: hyper::rt::bounds::Http2ServerConnExec<S::Future, B>,
{
    fn graceful(self: Pin<&mut Self>) {
        self.graceful_shutdown();
    }
}

/// Runs a connection; on shutdown, asks it to finish what is in flight.
async fn drive<C: Graceful>(conn: C, guard: &ConnGuard) {
    let mut conn = std::pin::pin!(conn);
    let mut told = false;
    poll_fn(|cx| {
        if conn.as_mut().poll(cx).is_ready() {
            return Poll::Ready(());
        }
        if !told && guard.poll_stopping(cx) {
            told = true;
            conn.as_mut().graceful();
            return conn.as_mut().poll(cx).map(|_| ());
        }
        Poll::Pending
    })
    .await;
}

/// A service that always answers `text(body)`: for examples and tests.
///
/// # Examples
///
/// ```
/// let svc = boucle_http::server::hello("Hello, World!");
/// # drop(svc);
/// ```
pub fn hello(body: &'static str) -> Hello {
    Hello(body)
}

/// The service of [`hello`].
#[derive(Clone, Copy, Debug)]
pub struct Hello(&'static str);

impl Service<Request<Incoming>> for Hello {
    type Response = Response<Full<Bytes>>;
    type Error = Infallible;
    type Future = std::future::Ready<Result<Response<Full<Bytes>>, Infallible>>;

    fn call(&self, _req: Request<Incoming>) -> Self::Future {
        std::future::ready(Ok(text(self.0)))
    }
}
