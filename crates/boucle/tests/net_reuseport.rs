//! `TcpListener::bind_reuseport` (one port, a listener per shard) and the
//! `HandoffListener` (one acceptor, least-loaded shard).

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use boucle::net::{HandoffListener, TcpListener, TcpStream};
use boucle::runtime::ShardedHandle;
use boucle::Runtime;

#[test]
fn reuseport_listeners_share_a_port_and_a_plain_one_is_refused() {
    boucle::run(async {
        let a = TcpListener::bind_reuseport("127.0.0.1:0").await.unwrap();
        let addr = a.local_addr().unwrap();
        let b = TcpListener::bind_reuseport(addr).await.unwrap();
        assert_eq!(b.local_addr().unwrap(), addr);
        // A port held without SO_REUSEPORT cannot join.
        let plain = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let err = TcpListener::bind_reuseport(plain.local_addr().unwrap())
            .await
            .unwrap_err();
        assert_eq!(err.kind(), std::io::ErrorKind::AddrInUse);
        // Nor can a plain socket join a reuseport group.
        assert!(TcpListener::bind(addr).await.is_err());
    });
}

#[test]
fn reuseport_shards_each_accept_a_share_of_the_connections() {
    const N: usize = 200;
    let rt = Runtime::builder().threads(2).build().unwrap();
    let probe = boucle::net::bind_reuseport_std("127.0.0.1:0".parse().unwrap(), 16).unwrap();
    let port = probe.local_addr().unwrap().port();
    let (bound_tx, bound_rx) = std::sync::mpsc::channel();
    let bound_tx = std::sync::Mutex::new(bound_tx);
    let shards = rt.handle();
    let accepted = Arc::new(AtomicUsize::new(0));
    let count = accepted.clone();
    let server = {
        let server = std::thread::spawn(move || {
            rt.block_on(move |_| {
                let bound = bound_tx.lock().unwrap().clone();
                let count = count.clone();
                async move {
                    let l = TcpListener::bind_reuseport(("127.0.0.1", port))
                        .await
                        .unwrap();
                    bound.send(()).unwrap();
                    let stop = ShardedHandle::current();
                    let mut held = Vec::new();
                    loop {
                        let next = std::future::poll_fn(|cx| {
                            if stop.poll_stopping(cx).is_ready() {
                                return std::task::Poll::Ready(None);
                            }
                            l.poll_accept(cx).map(Some)
                        })
                        .await;
                        match next {
                            Some(Ok((s, _))) => {
                                held.push(s);
                                count.fetch_add(1, Ordering::Relaxed);
                            }
                            Some(Err(e)) => panic!("accept: {e}"),
                            None => return held.len(),
                        }
                    }
                }
            })
        });
        server
    };
    bound_rx.recv().unwrap();
    bound_rx.recv().unwrap();
    drop(probe);
    let clients: Vec<std::net::TcpStream> = (0..N)
        .map(|_| std::net::TcpStream::connect(("127.0.0.1", port)).unwrap())
        .collect();
    // Wait until every connection is accepted.
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while accepted.load(Ordering::Relaxed) < N {
        assert!(
            std::time::Instant::now() < deadline,
            "accepted {accepted:?} of {N}"
        );
        std::thread::sleep(Duration::from_millis(5));
    }
    shards.shutdown(Duration::from_secs(1));
    let out: Vec<usize> = server
        .join()
        .unwrap()
        .into_iter()
        .map(Result::unwrap)
        .collect();
    drop(clients);
    assert_eq!(out.iter().sum::<usize>(), N, "{out:?}");
    // The kernel's hash spreads 200 ephemeral ports over both sockets (all
    // on one happens with probability 2^-199).
    assert!(out.iter().all(|&n| n > 0), "{out:?}");
}

#[test]
fn handoff_balances_live_connections_and_stops_at_shutdown() {
    const N: usize = 30;
    let rt = Runtime::builder().threads(3).build().unwrap();
    let shards = rt.handle();
    let rt = std::sync::Arc::new(rt);
    let (port_tx, port_rx) = std::sync::mpsc::channel();
    let port_tx = std::sync::Mutex::new(Some(port_tx));
    let server_rt = rt.clone();
    let server = std::thread::spawn(move || {
        server_rt.block_on(move |shard| {
            let port_tx = if shard.id() == 1 {
                port_tx.lock().unwrap().take()
            } else {
                None
            };
            async move {
                let Some(port_tx) = port_tx else {
                    ShardedHandle::current().stopping().await;
                    return 0;
                };
                // The acceptor is shard 1; it serves its own share too.
                let l = HandoffListener::bind("127.0.0.1:0").await.unwrap();
                port_tx.send(l.local_addr().unwrap()).unwrap();
                l.serve(|mut s: TcpStream, _| async move {
                    let id = boucle::runtime::shard_id().unwrap() as u8;
                    let _ = s.write_all(&[id]).await;
                    let mut end = [0u8; 1];
                    let _ = s.read(&mut end).await; // open until the client closes
                })
                .await
                .unwrap();
                1
            }
        })
    });
    let addr = port_rx.recv().unwrap();
    let mut per_shard = [0usize; 3];
    let mut held = Vec::new();
    for _ in 0..N {
        let mut c = std::net::TcpStream::connect(addr).unwrap();
        let mut id = [0u8];
        std::io::Read::read_exact(&mut c, &mut id).unwrap();
        per_shard[id[0] as usize] += 1;
        held.push(c);
    }
    assert_eq!(per_shard, [N / 3; 3], "each shard holds a third");
    assert_eq!(shards.loads(), [N / 3; 3]);
    let m = rt.metrics();
    assert_eq!(
        m.iter().map(|m| m.connections).collect::<Vec<_>>(),
        [N / 3; 3]
    );
    // Closed connections are uncounted on their shards.
    drop(held);
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while shards.loads() != [0, 0, 0] {
        assert!(std::time::Instant::now() < deadline, "{:?}", shards.loads());
        std::thread::sleep(Duration::from_millis(5));
    }
    shards.shutdown(Duration::from_secs(1));
    let out: Vec<usize> = server
        .join()
        .unwrap()
        .into_iter()
        .map(Result::unwrap)
        .collect();
    assert_eq!(out, [0, 1, 0], "serve returned at the shutdown");
}

/// Linux's release as (major, minor), from /proc.
fn kernel() -> (u32, u32) {
    let release = std::fs::read_to_string("/proc/sys/kernel/osrelease").unwrap();
    let mut parts = release
        .trim()
        .split(['.', '-'])
        .map(|p| p.parse().unwrap_or(0));
    (parts.next().unwrap_or(0), parts.next().unwrap_or(0))
}

#[test]
fn incoming_cpu_is_read_back_and_a_bad_core_is_refused() {
    boucle::run(async {
        let l = TcpListener::bind_reuseport("127.0.0.1:0").await.unwrap();
        assert_eq!(l.incoming_cpu().unwrap(), None, "unset at first");
        l.set_incoming_cpu(1).unwrap();
        assert_eq!(l.incoming_cpu().unwrap(), Some(1));
        let err = l.set_incoming_cpu(usize::MAX).unwrap_err();
        assert_eq!(err.kind(), std::io::ErrorKind::InvalidInput);
        assert!(err.to_string().contains("out of range"), "{err}");
        assert_eq!(l.incoming_cpu().unwrap(), Some(1), "unchanged");
    });
}

#[test]
fn listeners_marked_with_their_cores_accept_their_own_shards_clients() {
    const PER_SHARD: usize = 40;
    let rt = Runtime::builder().threads(2).build().unwrap();
    let probe = boucle::net::bind_reuseport_std("127.0.0.1:0".parse().unwrap(), 16).unwrap();
    let port = probe.local_addr().unwrap().port();
    let probe = std::sync::Mutex::new(Some(probe));
    let bound = Arc::new(AtomicUsize::new(0));
    let out = rt.block_on(move |shard| {
        let bound = bound.clone();
        let probe = probe.lock().unwrap().take_if(|_| shard.id() == 0);
        async move {
            let l = TcpListener::bind_reuseport(("127.0.0.1", port))
                .await
                .unwrap();
            if let Some(cpu) = shard.cpu() {
                l.set_incoming_cpu(cpu).unwrap();
            }
            // Both listeners bound, then the probe goes (a connection
            // queued on it would be lost), then both shards connect.
            bound.fetch_add(1, Ordering::AcqRel);
            while bound.load(Ordering::Acquire) < 2 {
                boucle::sleep(Duration::from_millis(1)).await;
            }
            drop(probe);
            if shard.id() == 0 {
                bound.fetch_add(1, Ordering::AcqRel);
            }
            while bound.load(Ordering::Acquire) < 3 {
                boucle::sleep(Duration::from_millis(1)).await;
            }
            let me = shard.id() as u8;
            let clients: Vec<_> = (0..PER_SHARD)
                .map(|_| {
                    boucle::spawn(async move {
                        let mut s = TcpStream::connect(("127.0.0.1", port)).await.unwrap();
                        s.write_all(&[me]).await.unwrap();
                        let mut end = [0u8; 1];
                        let _ = s.read(&mut end).await; // held until the server is done
                    })
                })
                .collect();
            // Accept this shard's share: the other shard's listener takes
            // the rest, so count by the first byte, until all of ours came.
            let mut from = [0usize; 2];
            let mut held = Vec::new();
            while from.iter().sum::<usize>() < PER_SHARD {
                let next = boucle::wait_for(l.accept(), Duration::from_secs(5)).await;
                let Ok(Ok((mut s, _))) = next else { break };
                let mut id = [0u8; 1];
                s.read_exact(&mut id).await.unwrap();
                from[usize::from(id[0])] += 1;
                held.push(s);
            }
            // Unaccepted connections are reset with the listener, so a
            // wrong count ends the clients too.
            drop((held, l));
            for c in clients {
                c.await.unwrap();
            }
            (shard.cpu(), from)
        }
    });
    let out: Vec<_> = out.into_iter().map(Result::unwrap).collect();
    let cpus: Vec<_> = out.iter().map(|o| o.0).collect();
    if cpus[0].is_none() || cpus[0] == cpus[1] || kernel() < (6, 2) {
        // One core, pinning refused, or a kernel that only hashes: the
        // option is set, and nothing can be said of where connections go.
        eprintln!("skipped: shards on {cpus:?}, kernel {:?}", kernel());
        return;
    }
    // Over loopback the SYN is handled on the connecting thread's core:
    // each listener took exactly its own shard's clients.
    assert_eq!(out[0].1, [PER_SHARD, 0], "{out:?}");
    assert_eq!(out[1].1, [0, PER_SHARD], "{out:?}");
}
