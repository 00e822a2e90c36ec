//! `shards::tcp_echo` in one process: `CONNS` loopback connections x
//! `TRIPS` sequential 64 B round trips, the clients *and* the echo server on
//! the runtime under test, spread over its threads:
//!
//! * boucle with n shards: each shard binds the port with `SO_REUSEPORT`
//!   and runs `CONNS / n` clients (the kernel hashes each connection to one
//!   shard's listener, so about half of them cross shards); or, `cpu`,
//!   each shard also marks its listener with its own core
//!   (`SO_INCOMING_CPU`), so the kernel hands a connection to the shard
//!   whose core made it; or, `handoff`, shard 0 accepts and hands each
//!   connection to the least-loaded shard;
//! * tokio multi_thread with n workers: one listener, everything spawned
//!   (work stealing spreads it);
//! * monoio thread-per-core: n threads pinned to cores, each its own
//!   runtime (legacy epoll driver) with a `reuse_port` listener (marked
//!   with its core too, in `monoio-2-cpu`) and `CONNS / n` clients.
//!
//! The load generator is the clients inside the runtime: every runtime
//! does the same client work, so the ratios compare whole systems.

use std::sync::atomic::{AtomicU16, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Bytes per round trip.
pub const BYTES: usize = 64;

/// A std reuseport socket holding `port` until every server socket of the
/// group is bound (then dropped, so it gets no connection).
pub(super) fn reserve_port() -> Result<(std::net::TcpListener, u16), String> {
    #[cfg(feature = "boucle")]
    {
        let l = boucle::net::bind_reuseport_std("127.0.0.1:0".parse().unwrap(), 16)
            .map_err(|e| format!("reserve a port: {e}"))?;
        let port = l.local_addr().map_err(|e| e.to_string())?.port();
        Ok((l, port))
    }
    #[cfg(not(feature = "boucle"))]
    Err("built without boucle".into())
}

/// Runs one configuration; round trips per second.
pub fn run(config: &str, conns: usize, trips: usize) -> Result<f64, String> {
    let total = (conns * trips) as f64;
    let wall = match config {
        "boucle-1" => boucle_echo(1, Accept::Hash, true, conns, trips)?,
        "boucle-2" => boucle_echo(2, Accept::Hash, true, conns, trips)?,
        "boucle-2-unpinned" => boucle_echo(2, Accept::Hash, false, conns, trips)?,
        "boucle-2-cpu" => boucle_echo(2, Accept::Cpu, true, conns, trips)?,
        "boucle-2-handoff" => boucle_echo(2, Accept::Handoff, true, conns, trips)?,
        "boucle-2-local" => boucle_local(2, conns, trips)?,
        "tokio-mt1" => tokio_echo(1, conns, trips)?,
        "tokio-mt2" => tokio_echo(2, conns, trips)?,
        "monoio-1" => monoio_echo(1, false, conns, trips)?,
        "monoio-2" => monoio_echo(2, false, conns, trips)?,
        "monoio-2-cpu" => monoio_echo(2, true, conns, trips)?,
        other => return Err(format!("unknown echo config `{other}`")),
    };
    Ok(total / wall.as_secs_f64())
}

/// How boucle's shards share the port.
#[derive(Clone, Copy, PartialEq)]
enum Accept {
    /// `SO_REUSEPORT`: the kernel's address hash picks the shard.
    Hash,
    /// `SO_REUSEPORT` with each listener marked with its shard's core.
    Cpu,
    /// Shard 0 accepts and hands off to the least-loaded shard.
    Handoff,
}

#[cfg(feature = "boucle")]
fn boucle_echo(
    n: usize,
    accept: Accept,
    pin: bool,
    conns: usize,
    trips: usize,
) -> Result<Duration, String> {
    use boucle::net::{HandoffListener, TcpListener, TcpStream};

    async fn serve(mut s: TcpStream) {
        let _ = s.set_nodelay(true);
        let mut buf = [0u8; BYTES];
        while s.read_exact(&mut buf).await.is_ok() {
            if s.write_all(&buf).await.is_err() {
                break;
            }
        }
    }

    let rt = boucle::Runtime::builder()
        .threads(n)
        .pin(pin)
        .build()
        .map_err(|e| e.to_string())?;
    let (probe, reserved) = reserve_port()?;
    let handoff = accept == Accept::Handoff;
    let port = Arc::new(AtomicU16::new(if handoff { 0 } else { reserved }));
    let bound = Arc::new(AtomicUsize::new(0));
    let probe = std::sync::Mutex::new(Some(probe));
    let start = Instant::now();
    let out = rt.block_on(move |shard| {
        let (port, bound) = (port.clone(), bound.clone());
        let probe = if shard.id() == 0 {
            probe.lock().unwrap().take()
        } else {
            None
        };
        async move {
            if handoff {
                if shard.id() == 0 {
                    let l = HandoffListener::bind("127.0.0.1:0").await.expect("bind");
                    port.store(l.local_addr().unwrap().port(), Ordering::Release);
                    drop(boucle::spawn(async move { l.serve(|s, _| serve(s)).await }));
                }
            } else {
                let l = TcpListener::bind_reuseport(("127.0.0.1", port.load(Ordering::Acquire)))
                    .await
                    .expect("bind_reuseport");
                if let (Accept::Cpu, Some(cpu)) = (accept, shard.cpu()) {
                    l.set_incoming_cpu(cpu).expect("SO_INCOMING_CPU");
                }
                drop(boucle::spawn(async move {
                    while let Ok((s, _)) = l.accept().await {
                        drop(boucle::spawn(serve(s)));
                    }
                }));
            }
            bound.fetch_add(1, Ordering::AcqRel);
            // Shard 0 releases the reserved socket once every listener is
            // bound (a connection queued on it would be reset), then counts
            // itself once more: the go signal for every shard's clients.
            let n = shard.count();
            if shard.id() == 0 {
                while bound.load(Ordering::Acquire) < n || port.load(Ordering::Acquire) == 0 {
                    boucle::sleep(Duration::from_micros(100)).await;
                }
                drop(probe);
                bound.fetch_add(1, Ordering::AcqRel);
            }
            while bound.load(Ordering::Acquire) <= n {
                boucle::sleep(Duration::from_micros(100)).await;
            }
            let port = port.load(Ordering::Acquire);
            let mine = conns / shard.count() + usize::from(shard.id() < conns % shard.count());
            let clients: Vec<_> = (0..mine)
                .map(|c| {
                    boucle::spawn(async move {
                        let mut s = TcpStream::connect(("127.0.0.1", port))
                            .await
                            .expect("connect");
                        s.set_nodelay(true).unwrap();
                        let msg = [c as u8; BYTES];
                        let mut buf = [0u8; BYTES];
                        for _ in 0..trips {
                            s.write_all(&msg).await.expect("write");
                            s.read_exact(&mut buf).await.expect("read");
                            assert_eq!(buf, msg);
                        }
                    })
                })
                .collect();
            for c in clients {
                c.await.expect("client");
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

/// Diagnostic: each shard's clients talk to that shard's own listener
/// (its own port), so no round trip crosses shards: share-nothing at its
/// purest, the ceiling of what the shards can scale to on this machine.
#[cfg(feature = "boucle")]
fn boucle_local(n: usize, conns: usize, trips: usize) -> Result<Duration, String> {
    use boucle::net::{TcpListener, TcpStream};

    let rt = boucle::Runtime::builder()
        .threads(n)
        .build()
        .map_err(|e| e.to_string())?;
    let ready = Arc::new(AtomicUsize::new(0));
    let start = Instant::now();
    let out = rt.block_on(move |shard| {
        let ready = ready.clone();
        async move {
            let l = TcpListener::bind("127.0.0.1:0").await.expect("bind");
            let port = l.local_addr().unwrap().port();
            drop(boucle::spawn(async move {
                while let Ok((mut s, _)) = l.accept().await {
                    drop(boucle::spawn(async move {
                        let _ = s.set_nodelay(true);
                        let mut buf = [0u8; BYTES];
                        while s.read_exact(&mut buf).await.is_ok() {
                            if s.write_all(&buf).await.is_err() {
                                break;
                            }
                        }
                    }));
                }
            }));
            ready.fetch_add(1, Ordering::AcqRel);
            while ready.load(Ordering::Acquire) < shard.count() {
                boucle::sleep(Duration::from_micros(100)).await;
            }
            let mine = conns / shard.count() + usize::from(shard.id() < conns % shard.count());
            let clients: Vec<_> = (0..mine)
                .map(|c| {
                    boucle::spawn(async move {
                        let mut s = TcpStream::connect(("127.0.0.1", port))
                            .await
                            .expect("connect");
                        s.set_nodelay(true).unwrap();
                        let msg = [c as u8; BYTES];
                        let mut buf = [0u8; BYTES];
                        for _ in 0..trips {
                            s.write_all(&msg).await.expect("write");
                            s.read_exact(&mut buf).await.expect("read");
                            assert_eq!(buf, msg);
                        }
                    })
                })
                .collect();
            for c in clients {
                c.await.expect("client");
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
fn boucle_local(_: usize, _: usize, _: usize) -> Result<Duration, String> {
    Err("built without boucle".into())
}

#[cfg(not(feature = "boucle"))]
fn boucle_echo(_: usize, _: Accept, _: bool, _: usize, _: usize) -> Result<Duration, String> {
    Err("built without boucle".into())
}

fn tokio_echo(workers: usize, conns: usize, trips: usize) -> Result<Duration, String> {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    use tokio::net::{TcpListener, TcpStream};

    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(workers)
        .enable_all()
        .build()
        .map_err(|e| e.to_string())?;
    rt.block_on(async move {
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .map_err(|e| e.to_string())?;
        let addr = listener.local_addr().map_err(|e| e.to_string())?;
        let start = Instant::now();
        tokio::spawn(async move {
            while let Ok((mut s, _)) = listener.accept().await {
                tokio::spawn(async move {
                    let _ = s.set_nodelay(true);
                    let mut buf = [0u8; BYTES];
                    while s.read_exact(&mut buf).await.is_ok() {
                        if s.write_all(&buf).await.is_err() {
                            break;
                        }
                    }
                });
            }
        });
        let clients: Vec<_> = (0..conns)
            .map(|c| {
                tokio::spawn(async move {
                    let mut s = TcpStream::connect(addr).await.expect("connect");
                    s.set_nodelay(true).unwrap();
                    let msg = [c as u8; BYTES];
                    let mut buf = [0u8; BYTES];
                    for _ in 0..trips {
                        s.write_all(&msg).await.expect("write");
                        s.read_exact(&mut buf).await.expect("read");
                        assert_eq!(buf, msg);
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

fn monoio_echo(threads: usize, cpu: bool, conns: usize, trips: usize) -> Result<Duration, String> {
    use monoio::io::{AsyncReadRentExt, AsyncWriteRentExt};
    use monoio::net::TcpStream;

    async fn serve(mut s: TcpStream) {
        let _ = s.set_nodelay(true);
        let mut buf = Box::new([0u8; BYTES]);
        loop {
            let (r, b) = s.read_exact(buf).await;
            if r.is_err() {
                break;
            }
            let (r, b) = s.write_all(b).await;
            if r.is_err() {
                break;
            }
            buf = b;
        }
    }

    super::monoio_shards::run(threads, cpu, conns, serve, move |port, c| async move {
        let mut s = TcpStream::connect(("127.0.0.1", port))
            .await
            .expect("connect");
        s.set_nodelay(true).unwrap();
        let expected = [c as u8; BYTES];
        let (mut msg, mut buf) = (Box::new(expected), Box::new([0u8; BYTES]));
        for _ in 0..trips {
            let (r, m) = s.write_all(msg).await;
            r.expect("write");
            msg = m;
            let (r, b) = s.read_exact(buf).await;
            r.expect("read");
            buf = b;
            assert_eq!(*buf, expected);
        }
    })
}
