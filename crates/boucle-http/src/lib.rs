//! # boucle-http
//!
//! HTTP on the boucle event loop: [hyper] 1.x with boucle's sockets,
//! timers and loop-local tasks, a client shaped like aiohttp's
//! `ClientSession` (a keep-alive pool with aiohttp's `limit` and
//! `limit_per_host`, HTTP/1.1 and HTTP/2, TLS by rustls, timeouts split
//! as aiohttp's `ClientTimeout`, redirects, a body cap, gzip/deflate/br),
//! and a server helper with graceful shutdown.
//!
//! ```
//! use boucle_http::server::{serve, hello};
//!
//! boucle::run(async {
//!     let listener = boucle::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
//!     let url = format!("http://{}/", listener.local_addr().unwrap());
//!     boucle::spawn(serve(listener, hello("Bonjour")).run());
//!
//!     // The seed's scraper: many pages at once, one result each.
//!     let client = boucle_http::Client::new();
//!     let pages = boucle::gather((0..3).map(|_| {
//!         let (client, url) = (client.clone(), url.clone());
//!         async move { client.get(&url).send().await?.text().await }
//!     }))
//!     .await;
//!     for page in pages {
//!         assert_eq!(page.unwrap(), "Bonjour");
//!     }
//! });
//! ```
//!
//! | aiohttp | boucle-http |
//! | --- | --- |
//! | `aiohttp.ClientSession()` | [`Client::new()`], [`Client::builder()`] |
//! | `TCPConnector(limit=100, limit_per_host=0)` | [`ClientBuilder::limit`], [`ClientBuilder::limit_per_host`] |
//! | `ClientTimeout(total, sock_connect, sock_read)` | [`ClientTimeout`] (`total`, `connect`, `read`, `pool`) |
//! | `session.get(url)` / `post(url, data=...)` | [`Client::get`], [`Client::post`] + [`RequestBuilder::body`] |
//! | `response.status`, `.headers` | [`Response::status`], [`Response::headers`] |
//! | `await response.read()` / `.text()` | [`Response::bytes`], [`Response::text`] |
//! | `response.content.iter_any()` | [`Response::bytes_stream`] ([`BodyStream`]) |
//! | `response.raise_for_status()` | [`Response::error_for_status`] |
//! | `max_redirects=10` | [`ClientBuilder::max_redirects`] |
//! | `aiohttp.web` | [`serve`], [`server`] |
//!
//! ## Why the pool is built on `hyper::client::conn`
//!
//! hyper-util's "legacy" `Client` is the usual pool, but it spawns its
//! connection tasks through an executor that must take `Send` futures,
//! and wants `Send` connectors; boucle's sockets and tasks are loop-local
//! (`!Send`), by design. Wrapping them to look `Send` would need `unsafe`
//! or a thread hop per connection. So the pool here is a thin layer on
//! hyper's per-connection API (`hyper::client::conn::{http1, http2}`):
//! hyper does the protocol, the pool only keeps `SendRequest` handles,
//! and their connection tasks are spawned with [`boucle::spawn`]. That
//! also lets the pool do what hyper-util's does not: aiohttp's total
//! `limit` and per-host cap with a FIFO of waiters, and a retry on a
//! fresh connection decided by hyper's `try_send_request` (which hands
//! the request back when none of it was written).
//!
//! ## Modules
//! * [`rt`]: the `hyper::rt` traits for boucle (use hyper directly).
//! * [`server`]: serve a hyper service, HTTP/1.1 and HTTP/2, TLS,
//!   graceful shutdown.
//! * [`tls`]: a rustls server configuration from PEM.
//!
//! Everything a request can meet (a bad URL, a refused connection, a
//! server that resets, stalls or lies) comes back as an [`Error`] with its
//! [`ErrorKind`]; nothing a user can reach panics.

#![deny(unsafe_code)]
#![warn(missing_docs)]

mod client;
mod error;
pub mod rt;
pub mod server;
pub mod tls;

pub use client::{
    BodyStream, Client, ClientBuilder, ClientTimeout, IntoUrl, PoolStats, RequestBuilder, Response,
    USER_AGENT,
};
pub use error::{Error, ErrorKind, TimeoutKind};
pub use server::serve;

/// Re-exports of the crates in boucle-http's public API.
pub use {bytes, http, hyper, rustls, url};

/// The README's examples, compiled (and the server one run) as doctests.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
pub struct ReadmeDoctests;

/// A GET with a default client (one per call: no connection reuse).
///
/// # Examples
/// See [`Response::content_length`].
///
/// # Errors
/// As [`RequestBuilder::send`].
pub async fn get(url: impl IntoUrl) -> Result<Response, Error> {
    Client::new().get(url).send().await
}
