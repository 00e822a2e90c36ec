//! `hyper::rt` for boucle: the three traits hyper asks of a runtime.
//!
//! | hyper asks for | boucle-http gives | built on |
//! | --- | --- | --- |
//! | [`hyper::rt::Read`] / [`hyper::rt::Write`] | [`BoucleIo`] | any `futures_io::AsyncRead + AsyncWrite` (boucle's `TcpStream`, `UnixStream`, futures-rustls streams) |
//! | [`hyper::rt::Executor`] | [`LocalExecutor`] | [`boucle::spawn`]: loop-local tasks, no `Send` bound |
//! | [`hyper::rt::Timer`] | [`BoucleTimer`] | boucle's timer wheel ([`boucle::sleep_until`], [`boucle::now`]): virtual time works |
//!
//! With these, hyper's own connection types run on boucle as they are:
//!
//! ```
//! use boucle::net::{TcpListener, TcpStream};
//! use boucle_http::rt::{BoucleIo, LocalExecutor};
//! use bytes::Bytes;
//! use http_body_util::{BodyExt, Empty, Full};
//! use hyper::service::service_fn;
//!
//! boucle::run(async {
//!     let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
//!     let addr = listener.local_addr().unwrap();
//!     boucle::spawn(async move {
//!         let (stream, _) = listener.accept().await.unwrap();
//!         let hello = service_fn(|_req| async {
//!             Ok::<_, std::convert::Infallible>(hyper::Response::new(Full::new(Bytes::from("hi"))))
//!         });
//!         hyper::server::conn::http1::Builder::new()
//!             .serve_connection(BoucleIo::new(stream), hello)
//!             .await
//!             .unwrap();
//!     });
//!     let stream = TcpStream::connect(addr).await.unwrap();
//!     let (mut sender, conn) =
//!         hyper::client::conn::http1::handshake(BoucleIo::new(stream)).await.unwrap();
//!     LocalExecutor.spawn(conn);
//!     let req = hyper::Request::get("/").header("host", "x").body(Empty::<Bytes>::new()).unwrap();
//!     let body = sender.send_request(req).await.unwrap().into_body().collect().await.unwrap();
//!     assert_eq!(body.to_bytes(), "hi");
//! });
//! ```

mod exec;
mod io;
mod timer;

pub use exec::LocalExecutor;
pub use io::BoucleIo;
pub use timer::{BoucleSleep, BoucleTimer};
