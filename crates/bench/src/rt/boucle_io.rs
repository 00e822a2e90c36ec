//! boucle's side of the workloads on `boucle::sync::Queue` (ping_pong: `Queue::new(1)`,
//! fan_in: `Queue::new(0)`, with `put(x).await` / `get().await`) and `boucle::net`
//! (tcp_echo: `TcpListener`, `TcpStream` and their `read_exact` / `write_all`;
//! accept_storm: `accept` and `connect`). Each sits behind a feature (`boucle-queue`,
//! `boucle-net`, both on by default) so the bench still builds against a boucle without
//! them; a build without one reports the workload unavailable for boucle.

use super::Job;
#[cfg(any(not(feature = "boucle-queue"), not(feature = "boucle-net")))]
use super::Outcome;

/// Why boucle cannot run `job` in this build, if it cannot.
pub fn unavailable(job: &Job<'_>) -> Option<&'static str> {
    match job {
        Job::PingPong { .. } | Job::FanIn { .. } if !cfg!(feature = "boucle-queue") => {
            Some("built without the `boucle-queue` feature (boucle::sync::Queue)")
        }
        Job::TcpEcho { .. } | Job::AcceptStorm { .. } if !cfg!(feature = "boucle-net") => {
            Some("built without the `boucle-net` feature (boucle::net)")
        }
        _ => None,
    }
}

#[cfg(feature = "boucle-queue")]
pub use queue::{fan_in, ping_pong};

#[cfg(feature = "boucle-queue")]
mod queue {
    use std::time::Instant;

    use boucle::sync::Queue;

    use crate::rt::{fan_in_sum, Outcome};

    pub async fn ping_pong(trips: usize) -> Outcome {
        let ping = Queue::new(1);
        let pong = Queue::new(1);
        let start = Instant::now();
        let ponger = {
            let (ping, pong) = (ping.clone(), pong.clone());
            boucle::spawn(async move {
                for _ in 0..trips {
                    let x = ping.get().await.expect("boucle: ping queue shut down");
                    pong.put(x).await.expect("boucle: pong queue shut down");
                }
            })
        };
        let pinger = boucle::spawn(async move {
            for i in 0..trips {
                ping.put(i).await.expect("boucle: ping queue shut down");
                let got = pong.get().await.expect("boucle: pong queue shut down");
                assert_eq!(got, i, "boucle: token {i} came back as {got}");
            }
        });
        assert!(pinger.await.is_ok(), "boucle: pinger failed");
        assert!(ponger.await.is_ok(), "boucle: ponger failed");
        Outcome::timed(start.elapsed())
    }

    pub async fn fan_in(producers: usize, items: usize) -> Outcome {
        let queue = Queue::new(0);
        let total = producers * items;
        let start = Instant::now();
        let consumer = {
            let queue = queue.clone();
            boucle::spawn(async move {
                let mut sum = 0u64;
                for _ in 0..total {
                    let x: u64 = queue.get().await.expect("boucle: queue shut down");
                    sum += x;
                }
                sum
            })
        };
        let handles: Vec<_> = (0..producers)
            .map(|p| {
                let queue = queue.clone();
                boucle::spawn(async move {
                    let base = (p * items) as u64;
                    for i in 0..items as u64 {
                        queue.put(base + i).await.expect("boucle: queue shut down");
                    }
                })
            })
            .collect();
        for (i, producer) in handles.into_iter().enumerate() {
            assert!(producer.await.is_ok(), "boucle: producer {i} failed");
        }
        let sum = consumer.await.expect("boucle: consumer failed");
        let wall = start.elapsed();
        // The consumer took exactly `total` items: nothing may be left over.
        assert!(
            queue.empty(),
            "boucle: fan_in count: items left in the queue"
        );
        assert_eq!(sum, fan_in_sum(producers, items), "boucle: fan_in sum");
        Outcome::timed(wall)
    }
}

#[cfg(not(feature = "boucle-queue"))]
pub async fn ping_pong(_trips: usize) -> Outcome {
    unreachable!(
        "{}",
        unavailable(&Job::PingPong { trips: 0 }).unwrap_or_default()
    )
}

#[cfg(not(feature = "boucle-queue"))]
pub async fn fan_in(_producers: usize, _items: usize) -> Outcome {
    unreachable!(
        "{}",
        unavailable(&Job::FanIn {
            producers: 0,
            items: 0
        })
        .unwrap_or_default()
    )
}

#[cfg(feature = "boucle-net")]
pub use net::{accept_storm, tcp_echo};

#[cfg(feature = "boucle-net")]
mod net {
    use std::time::Instant;

    use boucle::net::{TcpListener, TcpStream};

    use crate::rt::{accept_share, as_ns, Outcome, ACCEPT_CONCURRENCY, ECHO_BYTES};

    pub async fn tcp_echo(conns: usize, trips: usize) -> Outcome {
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .expect("boucle: bind loopback");
        let addr = listener.local_addr().expect("boucle: local_addr");
        let start = Instant::now();
        // Detached: the echo handlers end when their client closes.
        drop(boucle::spawn(async move {
            for _ in 0..conns {
                let (mut stream, _) = listener.accept().await.expect("boucle: accept");
                stream.set_nodelay(true).expect("boucle: nodelay");
                drop(boucle::spawn(async move {
                    let mut buf = [0u8; ECHO_BYTES];
                    // Until the client closes: read_exact then fails with UnexpectedEof.
                    while stream.read_exact(&mut buf).await.is_ok() {
                        stream.write_all(&buf).await.expect("boucle: echo write");
                    }
                }));
            }
        }));
        let clients: Vec<_> = (0..conns)
            .map(|c| {
                boucle::spawn(async move {
                    let mut stream = TcpStream::connect(addr).await.expect("boucle: connect");
                    stream.set_nodelay(true).expect("boucle: nodelay");
                    let msg = [c as u8; ECHO_BYTES];
                    let mut buf = [0u8; ECHO_BYTES];
                    let mut latencies = Vec::with_capacity(trips);
                    for _ in 0..trips {
                        let sent = Instant::now();
                        stream.write_all(&msg).await.expect("boucle: write");
                        stream.read_exact(&mut buf).await.expect("boucle: read");
                        latencies.push(as_ns(sent.elapsed()));
                        assert_eq!(buf, msg, "boucle: echo mismatch");
                    }
                    latencies
                })
            })
            .collect();
        let mut samples_ns = Vec::with_capacity(conns * trips);
        for (i, client) in clients.into_iter().enumerate() {
            match client.await {
                Ok(latencies) => samples_ns.extend(latencies),
                Err(_) => panic!("boucle: client {i} failed"),
            }
        }
        Outcome {
            wall: start.elapsed(),
            samples_ns,
            ..Outcome::default()
        }
    }

    pub async fn accept_storm(conns: usize) -> Outcome {
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .expect("boucle: bind loopback");
        let addr = listener.local_addr().expect("boucle: local_addr");
        let start = Instant::now();
        let server = boucle::spawn(async move {
            for _ in 0..conns {
                let (stream, _) = listener.accept().await.expect("boucle: accept");
                drop(stream);
            }
        });
        let clients: Vec<_> = (0..ACCEPT_CONCURRENCY.min(conns))
            .map(|c| {
                boucle::spawn(async move {
                    for _ in 0..accept_share(conns, c) {
                        let stream = TcpStream::connect(addr).await.expect("boucle: connect");
                        drop(stream);
                    }
                })
            })
            .collect();
        for (i, client) in clients.into_iter().enumerate() {
            assert!(client.await.is_ok(), "boucle: client {i} failed");
        }
        assert!(server.await.is_ok(), "boucle: accept loop failed");
        Outcome::timed(start.elapsed())
    }
}

#[cfg(not(feature = "boucle-net"))]
pub async fn tcp_echo(_conns: usize, _trips: usize) -> Outcome {
    unreachable!(
        "{}",
        unavailable(&Job::TcpEcho { conns: 0, trips: 0 }).unwrap_or_default()
    )
}

#[cfg(not(feature = "boucle-net"))]
pub async fn accept_storm(_conns: usize) -> Outcome {
    unreachable!(
        "{}",
        unavailable(&Job::AcceptStorm { conns: 0 }).unwrap_or_default()
    )
}
