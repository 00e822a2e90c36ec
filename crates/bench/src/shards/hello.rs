//! `shards::hello`: the "Hello, World!" HTTP/1.1 server with 1 and 2
//! threads, serving until killed (the parent drives it with wrk):
//!
//! * boucle-http on n shards, each serving its own `SO_REUSEPORT` listener
//!   (`boucle_http::serve`, no header-read timeout, as hyper-util's auto
//!   builder on tokio has none), or, `handoff`, shard 0 accepting and
//!   handing each connection to the least-loaded shard, where hyper's
//!   HTTP/1 connection runs on `boucle_http::rt::BoucleIo`;
//! * hyper on tokio multi_thread with n workers (hyper-util's auto
//!   builder, as the `http::hello` bench);
//! * hyper's HTTP/1 connection on monoio thread-per-core (n threads pinned
//!   one per core, each its own runtime, legacy epoll driver, with a
//!   `reuse_port` listener), through monoio-compat's `MonoioIo`, the glue
//!   monoio's own hyper example uses.

use std::convert::Infallible;

use crate::http::servers::HELLO;

/// Serves on 127.0.0.1:`port` until the process is killed.
pub fn serve(config: &str, port: u16) -> Result<(), String> {
    match config {
        "boucle-1" => boucle_hello(1, false, true, port),
        "boucle-2" => boucle_hello(2, false, true, port),
        "boucle-2-unpinned" => boucle_hello(2, false, false, port),
        "boucle-2-handoff" => boucle_hello(2, true, true, port),
        "tokio-mt1" => tokio_hello(1, port),
        "tokio-mt2" => tokio_hello(2, port),
        "monoio-1" => monoio_hello(1, port),
        "monoio-2" => monoio_hello(2, port),
        other => Err(format!("unknown hello config `{other}`")),
    }
}

#[cfg(feature = "boucle")]
fn boucle_hello(n: usize, handoff: bool, pin: bool, port: u16) -> Result<(), String> {
    use boucle::net::{HandoffListener, TcpListener, TcpStream};

    let rt = boucle::Runtime::builder()
        .threads(n)
        .pin(pin)
        .build()
        .map_err(|e| e.to_string())?;
    let out = rt.block_on(move |shard| async move {
        if handoff {
            if shard.id() != 0 {
                boucle::runtime::ShardedHandle::current().stopping().await;
                return Ok(());
            }
            let l = HandoffListener::bind(("127.0.0.1", port))
                .await
                .map_err(|e| format!("bind: {e}"))?;
            l.serve(|stream: TcpStream, _| async move {
                let _ = stream.set_nodelay(true);
                let io = boucle_http::rt::BoucleIo::new(stream);
                let _ = boucle_http::hyper::server::conn::http1::Builder::new()
                    .serve_connection(io, boucle_http::server::hello(HELLO))
                    .await;
            })
            .await
            .map_err(|e| e.to_string())
        } else {
            let l = TcpListener::bind_reuseport(("127.0.0.1", port))
                .await
                .map_err(|e| format!("bind: {e}"))?;
            boucle_http::serve(l, boucle_http::server::hello(HELLO))
                .header_read_timeout(None)
                .run()
                .await
                .map_err(|e| e.to_string())
        }
    });
    match out
        .into_iter()
        .find_map(|r| r.map_err(|e| e.to_string()).and_then(|r| r).err())
    {
        Some(e) => Err(e),
        None => Ok(()),
    }
}

#[cfg(not(feature = "boucle"))]
fn boucle_hello(_: usize, _: bool, _: bool, _: u16) -> Result<(), String> {
    Err("built without boucle".into())
}

fn tokio_hello(workers: usize, port: u16) -> Result<(), String> {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(workers)
        .enable_all()
        .build()
        .map_err(|e| e.to_string())?;
    rt.block_on(async move {
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", port))
            .await
            .map_err(|e| format!("bind: {e}"))?;
        tokio_accept(listener).await;
        Ok(())
    })
}

/// Accepts forever, each connection served by `tokio_serve` in a task of
/// its own (a failed accept is skipped).
pub(super) async fn tokio_accept(listener: tokio::net::TcpListener) {
    loop {
        let Ok((stream, _)) = listener.accept().await else {
            continue;
        };
        let _ = stream.set_nodelay(true);
        tokio::spawn(tokio_serve(stream));
    }
}

/// The hello response hyper's servers send (as boucle-http's `hello`).
fn hello_response() -> hyper::Response<http_body_util::Full<bytes::Bytes>> {
    let mut r = hyper::Response::new(http_body_util::Full::new(bytes::Bytes::from_static(
        HELLO.as_bytes(),
    )));
    r.headers_mut().insert(
        hyper::header::CONTENT_TYPE,
        hyper::header::HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    r
}

/// One connection served by hyper-util's auto builder on tokio.
async fn tokio_serve(stream: tokio::net::TcpStream) {
    let service =
        hyper::service::service_fn(|_req| async { Ok::<_, Infallible>(hello_response()) });
    let _ = hyper_util::server::conn::auto::Builder::new(hyper_util::rt::TokioExecutor::new())
        .serve_connection(hyper_util::rt::TokioIo::new(stream), service)
        .await;
}

/// One connection served by hyper's HTTP/1 connection on monoio.
pub(super) async fn monoio_serve(stream: monoio::net::TcpStream) {
    let _ = stream.set_nodelay(true);
    let Ok(io) = stream.try_into_poll_io() else {
        return;
    };
    let service =
        hyper::service::service_fn(|_req| async { Ok::<_, Infallible>(hello_response()) });
    let _ = hyper::server::conn::http1::Builder::new()
        .serve_connection(monoio_compat::hyper::MonoioIo::new(io), service)
        .await;
}

fn monoio_hello(threads: usize, port: u16) -> Result<(), String> {
    let handles: Vec<_> = (0..threads)
        .map(|t| {
            std::thread::spawn(move || {
                super::monoio_shards::runtime(t).block_on(async move {
                    let opts = monoio::net::ListenerOpts::new().reuse_port(true);
                    let l = monoio::net::TcpListener::bind_with_config(("127.0.0.1", port), &opts)
                        .expect("monoio bind");
                    while let Ok((s, _)) = l.accept().await {
                        monoio::spawn(monoio_serve(s));
                    }
                })
            })
        })
        .collect();
    for h in handles {
        h.join()
            .map_err(|_| "a monoio thread panicked".to_owned())?;
    }
    Ok(())
}
