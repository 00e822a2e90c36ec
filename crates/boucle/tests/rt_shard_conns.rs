//! Shards under 10,000 loopback connections, one of them killed by a
//! panic in the middle: the others serve on, every exchange completes
//! (clients retry the connections the dead shard dropped), the panic is
//! reported. Once with `SO_REUSEPORT` listeners on every shard, once with
//! one acceptor handing connections to the least-loaded shard.

use std::cell::Cell;
use std::future::poll_fn;
use std::rc::Rc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{mpsc, Arc, Mutex};
use std::task::Poll;
use std::time::Duration;

use boucle::net::{HandoffListener, TcpListener, TcpStream};
use boucle::runtime::ShardedHandle;
use boucle::Runtime;
use rustix::process::{getrlimit, setrlimit, Resource, Rlimit};

const CONNECTIONS: usize = 10_000;
const SHARDS: usize = 3;
const DOOMED: usize = 2;
const DIE_AFTER: usize = 300;

/// Raises the soft fd limit to the hard one; returns the new soft limit.
fn raise_fd_limit() -> u64 {
    let lim = getrlimit(Resource::Nofile);
    let _ = setrlimit(
        Resource::Nofile,
        Rlimit {
            current: lim.maximum,
            maximum: lim.maximum,
        },
    );
    getrlimit(Resource::Nofile).current.unwrap_or(u64::MAX)
}

/// Clients open at once: two fds each in this process (client and server
/// side), well under the limit.
fn concurrency() -> usize {
    let limit = raise_fd_limit() as usize;
    assert!(
        limit >= 600,
        "RLIMIT_NOFILE {limit} is too low for this test (need 600)"
    );
    ((limit - 300) / 2).min(400)
}

/// One exchange per connection: send the id, read it back.
async fn echo(mut s: TcpStream) {
    let mut buf = [0u8; 8];
    while s.read_exact(&mut buf).await.is_ok() {
        if s.write_all(&buf).await.is_err() {
            break;
        }
    }
}

/// `CONNECTIONS` exchanges, `concurrency()` at a time, each retried (on a
/// new connection) until it succeeds; returns how many attempts failed.
fn clients(port: u16) -> usize {
    let conc = concurrency();
    boucle::run(async move {
        let next = Rc::new(Cell::new(0usize));
        let failed = Rc::new(Cell::new(0usize));
        let workers: Vec<_> = (0..conc)
            .map(|_| {
                let (next, failed) = (next.clone(), failed.clone());
                boucle::spawn(async move {
                    loop {
                        let id = next.get();
                        if id >= CONNECTIONS {
                            return;
                        }
                        next.set(id + 1);
                        let mut tries = 0;
                        loop {
                            tries += 1;
                            assert!(tries < 50, "connection {id} kept failing");
                            let attempt = async {
                                let mut s = TcpStream::connect(("127.0.0.1", port)).await?;
                                s.write_all(&(id as u64).to_le_bytes()).await?;
                                let mut back = [0u8; 8];
                                s.read_exact(&mut back).await?;
                                Ok::<_, std::io::Error>(u64::from_le_bytes(back))
                            };
                            match boucle::timeout(Duration::from_secs(10), attempt).await {
                                Ok(Ok(v)) => {
                                    assert_eq!(v, id as u64);
                                    break;
                                }
                                _ => failed.set(failed.get() + 1),
                            }
                        }
                    }
                })
            })
            .collect();
        for w in workers {
            w.await.unwrap();
        }
        failed.get()
    })
}

fn recorder() -> (
    Arc<Mutex<Vec<String>>>,
    impl Fn(&boucle::runtime::ShardException<'_>) + Send + Sync,
) {
    let seen = Arc::new(Mutex::new(Vec::new()));
    let log = seen.clone();
    (seen, move |e: &boucle::runtime::ShardException<'_>| {
        log.lock().unwrap().push(format!(
            "{} {}",
            e.shard().id(),
            e.panic_message().unwrap_or("?")
        ));
    })
}

#[test]
fn reuseport_shards_under_10k_connections_one_killed_by_a_panic() {
    let (seen, handler) = recorder();
    let rt = Arc::new(
        Runtime::builder()
            .threads(SHARDS)
            .exception_handler(handler)
            .build()
            .unwrap(),
    );
    // Pick a port: a reuseport socket held until every shard is bound.
    let probe = boucle::net::bind_reuseport_std("127.0.0.1:0".parse().unwrap(), 16).unwrap();
    let port = probe.local_addr().unwrap().port();
    let (bound_tx, bound_rx) = mpsc::channel();
    let bound_tx = Mutex::new(bound_tx);
    let server_rt = rt.clone();
    let server = std::thread::spawn(move || {
        server_rt.block_on(move |shard| {
            let bound = bound_tx.lock().unwrap().clone();
            async move {
                let listener = TcpListener::bind_reuseport(("127.0.0.1", port))
                    .await
                    .unwrap();
                bound.send(()).unwrap();
                let stop = ShardedHandle::current();
                let mut served = 0usize;
                loop {
                    let next = poll_fn(|cx| {
                        if stop.poll_stopping(cx).is_ready() {
                            return Poll::Ready(None);
                        }
                        listener.poll_accept(cx).map(Some)
                    })
                    .await;
                    match next {
                        None => return served,
                        Some(Ok((s, _))) => {
                            served += 1;
                            if shard.id() == DOOMED && served == DIE_AFTER {
                                panic!("shard {DOOMED} dies after {DIE_AFTER} connections");
                            }
                            drop(boucle::spawn(echo(s)));
                        }
                        Some(Err(_)) => {}
                    }
                }
            }
        })
    });
    for _ in 0..SHARDS {
        bound_rx.recv_timeout(Duration::from_secs(10)).unwrap();
    }
    drop(probe);
    let failed = clients(port);
    rt.handle().shutdown(Duration::from_secs(5));
    let out = server.join().unwrap();
    let err = out[DOOMED].as_ref().unwrap_err();
    assert!(err.is_panic(), "{err}");
    let served: usize = out.iter().filter_map(|r| r.as_ref().ok()).sum();
    assert!(
        served + DIE_AFTER >= CONNECTIONS,
        "the living shards served {served}"
    );
    assert!(out
        .iter()
        .filter(|r| r.is_ok())
        .all(|r| *r.as_ref().unwrap() > 0));
    assert!(failed >= 1, "the dead shard's connections were retried");
    assert_eq!(
        *seen.lock().unwrap(),
        [format!(
            "{DOOMED} shard {DOOMED} dies after {DIE_AFTER} connections"
        )]
    );
}

#[test]
fn handoff_under_10k_connections_skips_a_shard_killed_by_a_panic() {
    let (seen, handler) = recorder();
    let rt = Arc::new(
        Runtime::builder()
            .threads(SHARDS)
            .exception_handler(handler)
            .build()
            .unwrap(),
    );
    let handled: Arc<Vec<AtomicUsize>> =
        Arc::new((0..SHARDS).map(|_| AtomicUsize::new(0)).collect());
    let (port_tx, port_rx) = mpsc::channel();
    let port_tx = Mutex::new(Some(port_tx));
    let server_rt = rt.clone();
    let counts = handled.clone();
    let server = std::thread::spawn(move || {
        server_rt.block_on(move |shard| {
            let port_tx = if shard.id() == 0 {
                port_tx.lock().unwrap().take()
            } else {
                None
            };
            let counts = counts.clone();
            async move {
                let stop = ShardedHandle::current();
                if shard.id() == 0 {
                    let listener = HandoffListener::bind("127.0.0.1:0").await.unwrap();
                    port_tx
                        .unwrap()
                        .send(listener.local_addr().unwrap().port())
                        .unwrap();
                    let c = counts.clone();
                    listener
                        .serve(move |s, _peer| {
                            c[boucle::runtime::shard_id().unwrap()].fetch_add(1, Ordering::Relaxed);
                            echo(s)
                        })
                        .await
                        .unwrap();
                } else if shard.id() == DOOMED {
                    // Dies once it has been handed DIE_AFTER connections.
                    while counts[DOOMED].load(Ordering::Relaxed) < DIE_AFTER {
                        boucle::sleep(Duration::from_millis(1)).await;
                    }
                    panic!("shard {DOOMED} dies after {DIE_AFTER} connections");
                } else {
                    stop.stopping().await;
                }
            }
        })
    });
    let port = port_rx.recv_timeout(Duration::from_secs(10)).unwrap();
    let failed = clients(port);
    let loads_after = rt.handle().loads();
    rt.handle().shutdown(Duration::from_secs(5));
    let out = server.join().unwrap();
    assert!(out[DOOMED].as_ref().unwrap_err().is_panic());
    assert!(out[0].is_ok() && out[1].is_ok());
    let handled: Vec<usize> = handled.iter().map(|c| c.load(Ordering::Relaxed)).collect();
    assert!(handled[DOOMED] >= DIE_AFTER);
    // Handed only to the living shards after the death: together they
    // served everything the dead one did not.
    assert!(
        handled[0] + handled[1] + handled[DOOMED] >= CONNECTIONS,
        "{handled:?}"
    );
    // Least-loaded: the two living shards got comparable shares.
    let (a, b) = (handled[0] as f64, handled[1] as f64);
    assert!(a / b < 2.0 && b / a < 2.0, "{handled:?}");
    assert_eq!(
        loads_after[DOOMED], 0,
        "a dead shard's connections are uncounted"
    );
    let _ = failed;
    assert_eq!(
        *seen.lock().unwrap(),
        [format!(
            "{DOOMED} shard {DOOMED} dies after {DIE_AFTER} connections"
        )]
    );
}
