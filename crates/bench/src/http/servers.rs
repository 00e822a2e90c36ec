//! The programs the HTTP benchmarks run in child processes of this binary
//! (`boucle-bench http-worker NAME ...`): the hello server on boucle-http
//! and on hyper + tokio (current_thread, and multi_thread with 1 worker),
//! and the reqwest + tokio fetcher.

use std::convert::Infallible;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;

use bytes::Bytes;
use http_body_util::Full;

/// The body every hello server sends.
pub const HELLO: &str = "Hello, World!";

/// `http-worker NAME ARGS...`.
pub fn main(args: &[String]) -> Result<(), String> {
    match args {
        [name, port] if name.starts_with("hello-") => {
            let port: u16 = port.parse().map_err(|_| format!("bad port `{port}`"))?;
            match name.as_str() {
                "hello-boucle" => boucle_hello(port, true),
                "hello-boucle-notimer" => boucle_hello(port, false),
                "hello-tokio-ct" => tokio_hello(port, false),
                "hello-tokio-mt1" => tokio_hello(port, true),
                _ => Err(format!("unknown server `{name}`")),
            }
        }
        [name, file, conc] if name.starts_with("reqwest-") => {
            let conc: usize = conc.parse().map_err(|_| format!("bad concurrency `{conc}`"))?;
            reqwest_fetch(file, conc, name == "reqwest-mt")
        }
        _ => Err("usage: boucle-bench http-worker (hello-boucle|hello-boucle-notimer|hello-tokio-ct|hello-tokio-mt1) PORT \
                  | (reqwest-ct|reqwest-mt) URLS_FILE CONCURRENCY"
            .to_owned()),
    }
}

fn hello_response() -> hyper::Response<Full<Bytes>> {
    let mut r = hyper::Response::new(Full::new(Bytes::from_static(HELLO.as_bytes())));
    r.headers_mut().insert(
        hyper::header::CONTENT_TYPE,
        hyper::header::HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    r
}

#[cfg(feature = "boucle")]
fn boucle_hello(port: u16, header_timeout: bool) -> Result<(), String> {
    boucle::run(async move {
        let listener = boucle::net::TcpListener::bind(("127.0.0.1", port))
            .await
            .map_err(|e| format!("bind: {e}"))?;
        let timeout = header_timeout.then(|| std::time::Duration::from_secs(30));
        boucle_http::serve(listener, boucle_http::server::hello(HELLO))
            .header_read_timeout(timeout)
            .run()
            .await
            .map_err(|e| e.to_string())
    })
}

#[cfg(not(feature = "boucle"))]
fn boucle_hello(_port: u16, _header_timeout: bool) -> Result<(), String> {
    Err("built without the `boucle` feature".to_owned())
}

fn tokio_hello(port: u16, multi: bool) -> Result<(), String> {
    let rt = if multi {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
    } else {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
    }
    .map_err(|e| e.to_string())?;
    rt.block_on(async move {
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", port))
            .await
            .map_err(|e| format!("bind: {e}"))?;
        loop {
            let Ok((stream, _)) = listener.accept().await else {
                continue;
            };
            let _ = stream.set_nodelay(true);
            tokio::spawn(async move {
                let service = hyper::service::service_fn(|_req| async {
                    Ok::<_, Infallible>(hello_response())
                });
                let _ = hyper_util::server::conn::auto::Builder::new(
                    hyper_util::rt::TokioExecutor::new(),
                )
                .serve_connection(hyper_util::rt::TokioIo::new(stream), service)
                .await;
            });
        }
    })
}

/// `CONCURRENCY` tasks take URLs in order and read each body; exits with
/// an error unless every response is a 200 and the byte count adds up.
fn reqwest_fetch(file: &str, conc: usize, multi: bool) -> Result<(), String> {
    let text = std::fs::read_to_string(file).map_err(|e| format!("{file}: {e}"))?;
    let urls: Arc<Vec<String>> = Arc::new(text.lines().map(str::to_owned).collect());
    let rt = if multi {
        tokio::runtime::Builder::new_multi_thread()
            .enable_all()
            .build()
    } else {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
    }
    .map_err(|e| e.to_string())?;
    let bytes = Arc::new(AtomicU64::new(0));
    let failed = Arc::new(AtomicUsize::new(0));
    rt.block_on(async {
        let client = reqwest::Client::builder()
            .pool_max_idle_per_host(conc)
            .build()
            .map_err(|e| e.to_string())?;
        let next = Arc::new(AtomicUsize::new(0));
        let mut tasks = Vec::new();
        for _ in 0..conc {
            let (client, urls, next) = (client.clone(), Arc::clone(&urls), Arc::clone(&next));
            let (bytes, failed) = (Arc::clone(&bytes), Arc::clone(&failed));
            tasks.push(tokio::spawn(async move {
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    let Some(url) = urls.get(i) else { break };
                    let body = match client.get(url).send().await {
                        Ok(r) if r.status() == 200 => r.bytes().await.ok(),
                        _ => None,
                    };
                    match body {
                        Some(b) => {
                            bytes.fetch_add(b.len() as u64, Ordering::Relaxed);
                        }
                        None => {
                            failed.fetch_add(1, Ordering::Relaxed);
                        }
                    }
                }
            }));
        }
        for t in tasks {
            t.await.map_err(|e| e.to_string())?;
        }
        Ok::<_, String>(())
    })?;
    let failed = failed.load(Ordering::Relaxed);
    if failed > 0 {
        return Err(format!("{failed} requests failed"));
    }
    println!("bytes={}", bytes.load(Ordering::Relaxed));
    Ok(())
}
