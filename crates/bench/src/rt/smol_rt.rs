//! smol as its users write it: a `LocalExecutor` driven by `smol::block_on` (which also runs
//! the async-io reactor and its timers), `!Send` tasks spawned on the executor, shared state
//! in `Rc<RefCell<..>>`, async-channel queues, async-net sockets, and the usual `or` race
//! with a `Timer` for a timeout (smol has no `timeout` combinator of its own).

use std::cell::RefCell;
use std::rc::Rc;
use std::time::{Duration, Instant};

use smol::future::{self, FutureExt as _};
use smol::io::{AsyncReadExt as _, AsyncWriteExt as _};
use smol::net::{TcpListener, TcpStream};
use smol::{LocalExecutor, Timer};

use super::{
    accept_share, arm_background, as_ns, fan_in_sum, lateness_ns, Job, Outcome, Unavailable,
    ACCEPT_CONCURRENCY, BACKGROUND_DELAY, CHURN_TIMEOUT, ECHO_BYTES,
};
use crate::worker::rss_kb;

pub fn run(job: Job<'_>) -> Result<Outcome, Unavailable> {
    // Shared with the tasks that spawn more tasks (the echo server's accept loop).
    let ex = Rc::new(LocalExecutor::new());
    let rss_before_kb = rss_kb();
    let mut out = smol::block_on(ex.run(async {
        let _background = arm_background(|| Timer::after(BACKGROUND_DELAY)).await;
        match job {
            Job::SpawnJoin { tasks } => spawn_join(&ex, tasks).await,
            Job::YieldMany { tasks, yields } => yield_many(&ex, tasks, yields).await,
            Job::WaitN { delays } => wait_n(&ex, delays).await,
            Job::TimeoutChurn { iters } => timeout_churn(&ex, iters).await,
            Job::TimerLateness { delays } => timer_lateness(&ex, delays).await,
            Job::PingPong { trips } => ping_pong(&ex, trips).await,
            Job::TcpEcho { conns, trips } => tcp_echo(&ex, conns, trips).await,
            Job::FanIn { producers, items } => fan_in(&ex, producers, items).await,
            Job::LockContention { tasks, iters } => lock_contention(&ex, tasks, iters).await,
            Job::AcceptStorm { conns } => accept_storm(&ex, conns).await,
        }
    }));
    drop(ex);
    out.rss_before_kb = rss_before_kb;
    Ok(out)
}

async fn spawn_join(ex: &LocalExecutor<'static>, n: usize) -> Outcome {
    let start = Instant::now();
    let handles: Vec<_> = (0..n).map(|i| ex.spawn(async move { i })).collect();
    for (i, handle) in handles.into_iter().enumerate() {
        let got = handle.await;
        assert_eq!(got, i, "smol: task {i} returned {got}");
    }
    Outcome::timed(start.elapsed())
}

async fn yield_many(ex: &LocalExecutor<'static>, tasks: usize, yields: usize) -> Outcome {
    let start = Instant::now();
    let handles: Vec<_> = (0..tasks)
        .map(|_| {
            ex.spawn(async move {
                for _ in 0..yields {
                    future::yield_now().await;
                }
            })
        })
        .collect();
    for handle in handles {
        handle.await;
    }
    Outcome::timed(start.elapsed())
}

async fn wait_n(ex: &LocalExecutor<'static>, delays: &[Duration]) -> Outcome {
    let completed = Rc::new(RefCell::new(Vec::with_capacity(delays.len())));
    let start = Instant::now();
    let handles: Vec<_> = delays
        .iter()
        .map(|&delay| {
            let completed = Rc::clone(&completed);
            ex.spawn(async move {
                Timer::after(delay).await;
                completed.borrow_mut().push(delay);
            })
        })
        .collect();
    for handle in handles {
        handle.await;
    }
    let wall = start.elapsed();
    let completed = completed.take();
    Outcome {
        wall,
        completed,
        ..Outcome::default()
    }
}

async fn timeout_churn(ex: &LocalExecutor<'static>, iters: usize) -> Outcome {
    let start = Instant::now();
    ex.spawn(async move {
        for _ in 0..iters {
            let finished = async {
                future::yield_now().await;
                true
            }
            .or(async {
                Timer::after(CHURN_TIMEOUT).await;
                false
            })
            .await;
            assert!(finished, "smol: a 1 s timeout fired around a yield");
        }
    })
    .await;
    Outcome::timed(start.elapsed())
}

async fn timer_lateness(ex: &LocalExecutor<'static>, delays: &[Duration]) -> Outcome {
    let start = Instant::now();
    let handles: Vec<_> = delays
        .iter()
        .map(|&delay| {
            let deadline = start + delay;
            ex.spawn(async move {
                Timer::at(deadline).await;
                lateness_ns(deadline, Instant::now())
            })
        })
        .collect();
    let mut samples_ns = Vec::with_capacity(handles.len());
    for handle in handles {
        samples_ns.push(handle.await);
    }
    Outcome {
        wall: start.elapsed(),
        samples_ns,
        ..Outcome::default()
    }
}

async fn ping_pong(ex: &LocalExecutor<'static>, trips: usize) -> Outcome {
    let (ping_tx, ping_rx) = smol::channel::bounded::<usize>(1);
    let (pong_tx, pong_rx) = smol::channel::bounded::<usize>(1);
    let start = Instant::now();
    let ponger = ex.spawn(async move {
        while let Ok(x) = ping_rx.recv().await {
            pong_tx.send(x).await.expect("smol: pinger gone");
        }
    });
    let pinger = ex.spawn(async move {
        for i in 0..trips {
            ping_tx.send(i).await.expect("smol: ponger gone");
            let got = pong_rx.recv().await.expect("smol: ponger gone");
            assert_eq!(got, i, "smol: token {i} came back as {got}");
        }
    });
    pinger.await;
    ponger.await;
    Outcome::timed(start.elapsed())
}

async fn tcp_echo(ex: &Rc<LocalExecutor<'static>>, conns: usize, trips: usize) -> Outcome {
    let listener = TcpListener::bind("127.0.0.1:0")
        .await
        .expect("smol: bind loopback");
    let addr = listener.local_addr().expect("smol: local_addr");
    let start = Instant::now();
    let spawner = Rc::clone(ex);
    ex.spawn(async move {
        for _ in 0..conns {
            let (mut stream, _) = listener.accept().await.expect("smol: accept");
            stream.set_nodelay(true).expect("smol: nodelay");
            spawner
                .spawn(async move {
                    let mut buf = [0u8; ECHO_BYTES];
                    // Until the client closes: read_exact then fails with UnexpectedEof.
                    while stream.read_exact(&mut buf).await.is_ok() {
                        stream.write_all(&buf).await.expect("smol: echo write");
                    }
                })
                .detach();
        }
    })
    .detach();
    let clients: Vec<_> = (0..conns)
        .map(|c| {
            ex.spawn(async move {
                let mut stream = TcpStream::connect(addr).await.expect("smol: connect");
                stream.set_nodelay(true).expect("smol: nodelay");
                let msg = [c as u8; ECHO_BYTES];
                let mut buf = [0u8; ECHO_BYTES];
                let mut latencies = Vec::with_capacity(trips);
                for _ in 0..trips {
                    let sent = Instant::now();
                    stream.write_all(&msg).await.expect("smol: write");
                    stream.read_exact(&mut buf).await.expect("smol: read");
                    latencies.push(as_ns(sent.elapsed()));
                    assert_eq!(buf, msg, "smol: echo mismatch");
                }
                latencies
            })
        })
        .collect();
    let mut samples_ns = Vec::with_capacity(conns * trips);
    for client in clients {
        samples_ns.extend(client.await);
    }
    Outcome {
        wall: start.elapsed(),
        samples_ns,
        ..Outcome::default()
    }
}

async fn fan_in(ex: &LocalExecutor<'static>, producers: usize, items: usize) -> Outcome {
    let (tx, rx) = smol::channel::unbounded::<u64>();
    let start = Instant::now();
    let consumer = ex.spawn(async move {
        let (mut count, mut sum) = (0usize, 0u64);
        while let Ok(x) = rx.recv().await {
            count += 1;
            sum += x;
        }
        (count, sum)
    });
    let handles: Vec<_> = (0..producers)
        .map(|p| {
            let tx = tx.clone();
            ex.spawn(async move {
                let base = (p * items) as u64;
                for i in 0..items as u64 {
                    tx.send(base + i).await.expect("smol: consumer gone");
                }
            })
        })
        .collect();
    drop(tx);
    for handle in handles {
        handle.await;
    }
    let (count, sum) = consumer.await;
    assert_eq!(count, producers * items, "smol: fan_in count");
    assert_eq!(sum, fan_in_sum(producers, items), "smol: fan_in sum");
    Outcome::timed(start.elapsed())
}

async fn lock_contention(ex: &LocalExecutor<'static>, tasks: usize, iters: usize) -> Outcome {
    let counter = Rc::new(smol::lock::Mutex::new(0u64));
    let start = Instant::now();
    let handles: Vec<_> = (0..tasks)
        .map(|_| {
            let counter = Rc::clone(&counter);
            ex.spawn(async move {
                for _ in 0..iters {
                    let mut guard = counter.lock().await;
                    let seen = *guard;
                    future::yield_now().await;
                    *guard = seen + 1;
                }
            })
        })
        .collect();
    for handle in handles {
        handle.await;
    }
    let wall = start.elapsed();
    assert_eq!(
        *counter.lock().await,
        (tasks * iters) as u64,
        "smol: lost updates"
    );
    Outcome::timed(wall)
}

async fn accept_storm(ex: &LocalExecutor<'static>, conns: usize) -> Outcome {
    let listener = TcpListener::bind("127.0.0.1:0")
        .await
        .expect("smol: bind loopback");
    let addr = listener.local_addr().expect("smol: local_addr");
    let start = Instant::now();
    let server = ex.spawn(async move {
        for _ in 0..conns {
            let (stream, _) = listener.accept().await.expect("smol: accept");
            drop(stream);
        }
    });
    let clients: Vec<_> = (0..ACCEPT_CONCURRENCY.min(conns))
        .map(|c| {
            ex.spawn(async move {
                for _ in 0..accept_share(conns, c) {
                    let stream = TcpStream::connect(addr).await.expect("smol: connect");
                    drop(stream);
                }
            })
        })
        .collect();
    for client in clients {
        client.await;
    }
    server.await;
    Outcome::timed(start.elapsed())
}
