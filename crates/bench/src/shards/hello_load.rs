//! `shards::hello_load`: the "Hello, World!" HTTP/1.1 server with its load
//! generator inside the process, as `shards::tcp_echo` does it: `CONNS`
//! keep-alive connections x `REQUESTS` sequential `GET /`, the clients on
//! the runtime under test, split over its threads, so that wrk's own
//! share of the two cores does not decide the result.
//!
//! * boucle-http on n shards, each serving its own `SO_REUSEPORT` listener
//!   (`cpu`: marked with its shard's core, so each shard serves its own
//!   clients) and running `CONNS / n` clients;
//! * hyper on tokio multi_thread with n workers (hyper-util's auto builder,
//!   as `shards::hello`), the clients spawned beside it;
//! * hyper's HTTP/1 connection on monoio, n threads pinned one per core,
//!   each with a `reuse_port` listener (`cpu`: marked with its core) and
//!   `CONNS / n` clients.
//!
//! Every runtime runs the same client: write the request, read until a whole
//! response (headers and `Content-Length` body) has come, check its body.

use std::sync::atomic::{AtomicU16, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::http::servers::HELLO;

const REQUEST: &[u8] = b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n";

/// Runs one configuration; requests per second.
pub fn run(config: &str, conns: usize, requests: usize) -> Result<f64, String> {
    let wall = match config {
        "boucle-1" => boucle_load(1, false, conns, requests)?,
        "boucle-2" => boucle_load(2, false, conns, requests)?,
        "boucle-2-cpu" => boucle_load(2, true, conns, requests)?,
        "tokio-mt1" => tokio_load(1, conns, requests)?,
        "tokio-mt2" => tokio_load(2, conns, requests)?,
        "monoio-1" => monoio_load(1, false, conns, requests)?,
        "monoio-2" => monoio_load(2, false, conns, requests)?,
        "monoio-2-cpu" => monoio_load(2, true, conns, requests)?,
        other => return Err(format!("unknown hello_load config `{other}`")),
    };
    Ok((conns * requests) as f64 / wall.as_secs_f64())
}

/// The length of the first whole response in `buf`, once it has come.
/// Panics on a response that is not `200` with a `Content-Length` and
/// the hello body: the benchmark measures nothing else.
fn response_len(buf: &[u8]) -> Option<usize> {
    let head = buf.windows(4).position(|w| w == b"\r\n\r\n")? + 4;
    let text = std::str::from_utf8(&buf[..head]).expect("response head is not UTF-8");
    assert!(
        text.starts_with("HTTP/1.1 200"),
        "unexpected response: {text}"
    );
    let body: usize = text
        .lines()
        .find_map(|l| {
            let (name, value) = l.split_once(':')?;
            name.eq_ignore_ascii_case("content-length")
                .then(|| value.trim().parse().ok())?
        })
        .expect("response without Content-Length");
    let end = head + body;
    if buf.len() < end {
        return None;
    }
    assert_eq!(&buf[head..end], HELLO.as_bytes(), "wrong body");
    Some(end)
}

/// The bytes a client has read and not yet taken as a response.
#[derive(Default)]
struct Responses {
    buf: Vec<u8>,
}

impl Responses {
    /// Drops the first response once it is whole; whether it was.
    fn take_one(&mut self) -> bool {
        match response_len(&self.buf) {
            Some(len) => {
                self.buf.drain(..len);
                true
            }
            None => false,
        }
    }

    /// Adds bytes read; an empty read means the server closed.
    fn feed(&mut self, bytes: &[u8]) {
        assert!(!bytes.is_empty(), "server closed the connection");
        self.buf.extend_from_slice(bytes);
    }
}

#[cfg(feature = "boucle")]
fn boucle_load(n: usize, cpu: bool, conns: usize, requests: usize) -> Result<Duration, String> {
    use boucle::net::{TcpListener, TcpStream};

    let rt = boucle::Runtime::builder()
        .threads(n)
        .build()
        .map_err(|e| e.to_string())?;
    let (probe, reserved) = super::echo::reserve_port()?;
    let port = Arc::new(AtomicU16::new(reserved));
    // Counts listeners bound, then shards whose clients are done.
    let bound = Arc::new(AtomicUsize::new(0));
    let done = Arc::new(AtomicUsize::new(0));
    let probe = std::sync::Mutex::new(Some(probe));
    let start = Instant::now();
    let out = rt.block_on(move |shard| {
        let (port, bound, done) = (port.clone(), bound.clone(), done.clone());
        let probe = probe.lock().unwrap().take_if(|_| shard.id() == 0);
        async move {
            let port = port.load(Ordering::Acquire);
            let l = TcpListener::bind_reuseport(("127.0.0.1", port))
                .await
                .expect("bind_reuseport");
            if let (true, Some(core)) = (cpu, shard.cpu()) {
                l.set_incoming_cpu(core).expect("SO_INCOMING_CPU");
            }
            drop(boucle::spawn(
                boucle_http::serve(l, boucle_http::server::hello(HELLO))
                    .header_read_timeout(None)
                    .run(),
            ));
            let n = shard.count();
            bound.fetch_add(1, Ordering::AcqRel);
            if shard.id() == 0 {
                while bound.load(Ordering::Acquire) < n {
                    boucle::sleep(Duration::from_micros(100)).await;
                }
                drop(probe);
                bound.fetch_add(1, Ordering::AcqRel);
            }
            while bound.load(Ordering::Acquire) <= n {
                boucle::sleep(Duration::from_micros(100)).await;
            }
            let mine = conns / n + usize::from(shard.id() < conns % n);
            let clients: Vec<_> = (0..mine)
                .map(|_| {
                    boucle::spawn(async move {
                        let mut s = TcpStream::connect(("127.0.0.1", port))
                            .await
                            .expect("connect");
                        s.set_nodelay(true).unwrap();
                        let (mut responses, mut chunk) = (Responses::default(), [0u8; 512]);
                        for _ in 0..requests {
                            s.write_all(REQUEST).await.expect("write");
                            while !responses.take_one() {
                                let got = s.read(&mut chunk).await.expect("read");
                                responses.feed(&chunk[..got]);
                            }
                        }
                    })
                })
                .collect();
            for c in clients {
                c.await.expect("client");
            }
            // Serve the other shards' clients until they are done too.
            done.fetch_add(1, Ordering::AcqRel);
            while done.load(Ordering::Acquire) < n {
                boucle::sleep(Duration::from_micros(100)).await;
            }
        }
    });
    let wall = start.elapsed();
    if let Some(e) = out.into_iter().find_map(Result::err) {
        return Err(e.to_string());
    }
    let _ = rt.shutdown_now(Duration::from_secs(5));
    Ok(wall)
}

#[cfg(not(feature = "boucle"))]
fn boucle_load(_: usize, _: bool, _: usize, _: usize) -> Result<Duration, String> {
    Err("built without boucle".into())
}

fn tokio_load(workers: usize, conns: usize, requests: usize) -> Result<Duration, String> {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(workers)
        .enable_all()
        .build()
        .map_err(|e| e.to_string())?;
    rt.block_on(async move {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .map_err(|e| e.to_string())?;
        let addr = listener.local_addr().map_err(|e| e.to_string())?;
        let start = Instant::now();
        tokio::spawn(super::hello::tokio_accept(listener));
        let clients: Vec<_> = (0..conns)
            .map(|_| {
                tokio::spawn(async move {
                    let mut s = tokio::net::TcpStream::connect(addr).await.expect("connect");
                    s.set_nodelay(true).unwrap();
                    let (mut responses, mut chunk) = (Responses::default(), [0u8; 512]);
                    for _ in 0..requests {
                        s.write_all(REQUEST).await.expect("write");
                        while !responses.take_one() {
                            let got = s.read(&mut chunk).await.expect("read");
                            responses.feed(&chunk[..got]);
                        }
                    }
                })
            })
            .collect();
        for c in clients {
            c.await.map_err(|e| e.to_string())?;
        }
        Ok(start.elapsed())
    })
}

fn monoio_load(
    threads: usize,
    cpu: bool,
    conns: usize,
    requests: usize,
) -> Result<Duration, String> {
    use monoio::io::{AsyncReadRent, AsyncWriteRentExt};

    super::monoio_shards::run(
        threads,
        cpu,
        conns,
        super::hello::monoio_serve,
        move |port, _| async move {
            let mut s = monoio::net::TcpStream::connect(("127.0.0.1", port))
                .await
                .expect("connect");
            s.set_nodelay(true).unwrap();
            let (mut responses, mut chunk) = (Responses::default(), vec![0u8; 512]);
            for _ in 0..requests {
                let (r, _) = s.write_all(REQUEST).await;
                r.expect("write");
                while !responses.take_one() {
                    chunk.clear();
                    let (r, c) = s.read(chunk).await;
                    chunk = c;
                    responses.feed(&chunk[..r.expect("read")]);
                }
            }
        },
    )
}

#[cfg(test)]
mod tests {
    use super::response_len;

    #[test]
    fn a_response_is_whole_only_with_its_body() {
        let r = b"HTTP/1.1 200 OK\r\ncontent-length: 13\r\ndate: x\r\n\r\nHello, World!";
        for cut in 0..r.len() {
            assert_eq!(response_len(&r[..cut]), None, "cut at {cut}");
        }
        assert_eq!(response_len(r), Some(r.len()));
        let two = [&r[..], &r[..]].concat();
        assert_eq!(response_len(&two), Some(r.len()));
    }
}
