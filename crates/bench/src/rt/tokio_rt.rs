//! tokio as its users write it: a `current_thread` runtime (or `multi_thread` with 2 workers)
//! with `enable_all`, tasks spawned with `tokio::spawn` (so they are `Send`), shared state
//! behind `Arc<Mutex<..>>`, `tokio::sync::mpsc` channels, `tokio::net` sockets.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

use super::{
    accept_share, arm_background, as_ns, fan_in_sum, lateness_ns, Job, Outcome, Unavailable,
    ACCEPT_CONCURRENCY, BACKGROUND_DELAY, CHURN_TIMEOUT, ECHO_BYTES,
};
use crate::worker::rss_kb;

fn runtime(multi_thread: bool) -> tokio::runtime::Runtime {
    let mut builder = if multi_thread {
        let mut b = tokio::runtime::Builder::new_multi_thread();
        b.worker_threads(2);
        b
    } else {
        tokio::runtime::Builder::new_current_thread()
    };
    builder.enable_all().build().expect("build tokio runtime")
}

pub fn run(job: Job<'_>, multi_thread: bool) -> Result<Outcome, Unavailable> {
    let rt = runtime(multi_thread);
    let rss_before_kb = rss_kb();
    let mut out = rt.block_on(async move {
        let _background = arm_background(|| tokio::time::sleep(BACKGROUND_DELAY)).await;
        match job {
            Job::SpawnJoin { tasks } => spawn_join(tasks).await,
            Job::YieldMany { tasks, yields } => yield_many(tasks, yields).await,
            Job::WaitN { delays } => wait_n(delays).await,
            Job::TimeoutChurn { iters } => timeout_churn(iters).await,
            Job::TimerLateness { delays } => timer_lateness(delays).await,
            Job::PingPong { trips } => ping_pong(trips).await,
            Job::TcpEcho { conns, trips } => tcp_echo(conns, trips).await,
            Job::FanIn { producers, items } => fan_in(producers, items).await,
            Job::LockContention { tasks, iters } => lock_contention(tasks, iters).await,
            Job::AcceptStorm { conns } => accept_storm(conns).await,
        }
    });
    drop(rt);
    out.rss_before_kb = rss_before_kb;
    Ok(out)
}

async fn spawn_join(n: usize) -> Outcome {
    let start = Instant::now();
    let handles: Vec<_> = (0..n).map(|i| tokio::spawn(async move { i })).collect();
    for (i, handle) in handles.into_iter().enumerate() {
        let got = handle.await.expect("tokio task failed");
        assert_eq!(got, i, "tokio: task {i} returned {got}");
    }
    Outcome::timed(start.elapsed())
}

async fn yield_many(tasks: usize, yields: usize) -> Outcome {
    let start = Instant::now();
    let handles: Vec<_> = (0..tasks)
        .map(|_| {
            tokio::spawn(async move {
                for _ in 0..yields {
                    tokio::task::yield_now().await;
                }
            })
        })
        .collect();
    for handle in handles {
        handle.await.expect("tokio task failed");
    }
    Outcome::timed(start.elapsed())
}

async fn wait_n(delays: &[Duration]) -> Outcome {
    let completed = Arc::new(Mutex::new(Vec::with_capacity(delays.len())));
    let start = Instant::now();
    let handles: Vec<_> = delays
        .iter()
        .map(|&delay| {
            let completed = Arc::clone(&completed);
            tokio::spawn(async move {
                tokio::time::sleep(delay).await;
                completed.lock().unwrap().push(delay);
            })
        })
        .collect();
    for handle in handles {
        handle.await.expect("tokio task failed");
    }
    let wall = start.elapsed();
    let completed = std::mem::take(&mut *completed.lock().unwrap());
    Outcome {
        wall,
        completed,
        ..Outcome::default()
    }
}

async fn timeout_churn(iters: usize) -> Outcome {
    let start = Instant::now();
    tokio::spawn(async move {
        for _ in 0..iters {
            tokio::time::timeout(CHURN_TIMEOUT, tokio::task::yield_now())
                .await
                .expect("tokio: a 1 s timeout fired around a yield");
        }
    })
    .await
    .expect("tokio task failed");
    Outcome::timed(start.elapsed())
}

async fn timer_lateness(delays: &[Duration]) -> Outcome {
    let start = Instant::now();
    let handles: Vec<_> = delays
        .iter()
        .map(|&delay| {
            let deadline = start + delay;
            tokio::spawn(async move {
                tokio::time::sleep_until(deadline.into()).await;
                lateness_ns(deadline, Instant::now())
            })
        })
        .collect();
    let mut samples_ns = Vec::with_capacity(handles.len());
    for handle in handles {
        samples_ns.push(handle.await.expect("tokio task failed"));
    }
    Outcome {
        wall: start.elapsed(),
        samples_ns,
        ..Outcome::default()
    }
}

async fn ping_pong(trips: usize) -> Outcome {
    let (ping_tx, mut ping_rx) = tokio::sync::mpsc::channel::<usize>(1);
    let (pong_tx, mut pong_rx) = tokio::sync::mpsc::channel::<usize>(1);
    let start = Instant::now();
    let ponger = tokio::spawn(async move {
        while let Some(x) = ping_rx.recv().await {
            pong_tx.send(x).await.expect("tokio: pinger gone");
        }
    });
    let pinger = tokio::spawn(async move {
        for i in 0..trips {
            ping_tx.send(i).await.expect("tokio: ponger gone");
            let got = pong_rx.recv().await.expect("tokio: ponger gone");
            assert_eq!(got, i, "tokio: token {i} came back as {got}");
        }
    });
    pinger.await.expect("tokio pinger failed");
    ponger.await.expect("tokio ponger failed");
    Outcome::timed(start.elapsed())
}

async fn tcp_echo(conns: usize, trips: usize) -> Outcome {
    let listener = TcpListener::bind("127.0.0.1:0")
        .await
        .expect("tokio: bind loopback");
    let addr = listener.local_addr().expect("tokio: local_addr");
    let start = Instant::now();
    tokio::spawn(async move {
        for _ in 0..conns {
            let (mut stream, _) = listener.accept().await.expect("tokio: accept");
            stream.set_nodelay(true).expect("tokio: nodelay");
            tokio::spawn(async move {
                let mut buf = [0u8; ECHO_BYTES];
                // Until the client closes: read_exact then fails with UnexpectedEof.
                while stream.read_exact(&mut buf).await.is_ok() {
                    stream.write_all(&buf).await.expect("tokio: echo write");
                }
            });
        }
    });
    let clients: Vec<_> = (0..conns)
        .map(|c| {
            tokio::spawn(async move {
                let mut stream = TcpStream::connect(addr).await.expect("tokio: connect");
                stream.set_nodelay(true).expect("tokio: nodelay");
                let msg = [c as u8; ECHO_BYTES];
                let mut buf = [0u8; ECHO_BYTES];
                let mut latencies = Vec::with_capacity(trips);
                for _ in 0..trips {
                    let sent = Instant::now();
                    stream.write_all(&msg).await.expect("tokio: write");
                    stream.read_exact(&mut buf).await.expect("tokio: read");
                    latencies.push(as_ns(sent.elapsed()));
                    assert_eq!(buf, msg, "tokio: echo mismatch");
                }
                latencies
            })
        })
        .collect();
    let mut samples_ns = Vec::with_capacity(conns * trips);
    for client in clients {
        samples_ns.extend(client.await.expect("tokio client failed"));
    }
    Outcome {
        wall: start.elapsed(),
        samples_ns,
        ..Outcome::default()
    }
}

async fn fan_in(producers: usize, items: usize) -> Outcome {
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<u64>();
    let start = Instant::now();
    let consumer = tokio::spawn(async move {
        let (mut count, mut sum) = (0usize, 0u64);
        while let Some(x) = rx.recv().await {
            count += 1;
            sum += x;
        }
        (count, sum)
    });
    let handles: Vec<_> = (0..producers)
        .map(|p| {
            let tx = tx.clone();
            tokio::spawn(async move {
                let base = (p * items) as u64;
                for i in 0..items as u64 {
                    tx.send(base + i).expect("tokio: consumer gone");
                }
            })
        })
        .collect();
    drop(tx);
    for handle in handles {
        handle.await.expect("tokio producer failed");
    }
    let (count, sum) = consumer.await.expect("tokio consumer failed");
    assert_eq!(count, producers * items, "tokio: fan_in count");
    assert_eq!(sum, fan_in_sum(producers, items), "tokio: fan_in sum");
    Outcome::timed(start.elapsed())
}

async fn lock_contention(tasks: usize, iters: usize) -> Outcome {
    let counter = Arc::new(tokio::sync::Mutex::new(0u64));
    let start = Instant::now();
    let handles: Vec<_> = (0..tasks)
        .map(|_| {
            let counter = Arc::clone(&counter);
            tokio::spawn(async move {
                for _ in 0..iters {
                    let mut guard = counter.lock().await;
                    let seen = *guard;
                    tokio::task::yield_now().await;
                    *guard = seen + 1;
                }
            })
        })
        .collect();
    for handle in handles {
        handle.await.expect("tokio task failed");
    }
    let wall = start.elapsed();
    assert_eq!(
        *counter.lock().await,
        (tasks * iters) as u64,
        "tokio: lost updates"
    );
    Outcome::timed(wall)
}

async fn accept_storm(conns: usize) -> Outcome {
    let listener = TcpListener::bind("127.0.0.1:0")
        .await
        .expect("tokio: bind loopback");
    let addr = listener.local_addr().expect("tokio: local_addr");
    let start = Instant::now();
    let server = tokio::spawn(async move {
        for _ in 0..conns {
            let (stream, _) = listener.accept().await.expect("tokio: accept");
            drop(stream);
        }
    });
    let clients: Vec<_> = (0..ACCEPT_CONCURRENCY.min(conns))
        .map(|c| {
            tokio::spawn(async move {
                for _ in 0..accept_share(conns, c) {
                    let stream = TcpStream::connect(addr).await.expect("tokio: connect");
                    drop(stream);
                }
            })
        })
        .collect();
    for client in clients {
        client.await.expect("tokio client failed");
    }
    server.await.expect("tokio accept loop failed");
    Outcome::timed(start.elapsed())
}
