//! monoio as its users write it, on its legacy epoll driver (mio) or its io_uring driver,
//! with the timer enabled: thread-local tasks via `monoio::spawn`, shared state in
//! `Rc<RefCell<..>>`, `local_sync` channels (monoio's `!Send` companion crate), and
//! ownership-passing ("rent") I/O on `monoio::net` sockets.
//!
//! monoio has no `yield_now`; its users write the usual one-shot self-wake future below.

use std::cell::RefCell;
use std::rc::Rc;
use std::task::Poll;
use std::time::{Duration, Instant};

use monoio::io::{AsyncReadRentExt as _, AsyncWriteRentExt as _};
use monoio::net::{TcpListener, TcpStream};

use super::{
    accept_share, arm_background, as_ns, fan_in_sum, lateness_ns, Job, Outcome, Unavailable,
    ACCEPT_CONCURRENCY, BACKGROUND_DELAY, CHURN_TIMEOUT, ECHO_BYTES,
};
use crate::worker::rss_kb;

/// Builds the runtime (for io_uring this is the probe: a kernel without io_uring, or one
/// that forbids it, fails here) and runs `job` on it.
pub fn run(job: Job<'_>, uring: bool) -> Result<Outcome, Unavailable> {
    if let Job::LockContention { .. } = job {
        return Err("monoio has no async mutex (local_sync has none either)".to_owned());
    }
    if uring {
        let mut rt = monoio::RuntimeBuilder::<monoio::IoUringDriver>::new()
            .enable_timer()
            .build()
            .map_err(|e| format!("cannot build an io_uring runtime here: {e}"))?;
        Ok(run_on(&mut rt, job))
    } else {
        let mut rt = monoio::RuntimeBuilder::<monoio::LegacyDriver>::new()
            .enable_timer()
            .build()
            .expect("build monoio legacy runtime");
        Ok(run_on(&mut rt, job))
    }
}

fn run_on<D: monoio::Driver>(rt: &mut monoio::Runtime<D>, job: Job<'_>) -> Outcome {
    let rss_before_kb = rss_kb();
    let mut out = rt.block_on(async move {
        let _background = arm_background(|| monoio::time::sleep(BACKGROUND_DELAY)).await;
        match job {
            Job::SpawnJoin { tasks } => spawn_join(tasks).await,
            Job::YieldMany { tasks, yields } => yield_many(tasks, yields).await,
            Job::WaitN { delays } => wait_n(delays).await,
            Job::TimeoutChurn { iters } => timeout_churn(iters).await,
            Job::TimerLateness { delays } => timer_lateness(delays).await,
            Job::PingPong { trips } => ping_pong(trips).await,
            Job::TcpEcho { conns, trips } => tcp_echo(conns, trips).await,
            Job::FanIn { producers, items } => fan_in(producers, items).await,
            Job::LockContention { .. } => unreachable!("refused in run"),
            Job::AcceptStorm { conns } => accept_storm(conns).await,
        }
    });
    out.rss_before_kb = rss_before_kb;
    out
}

/// Returns `Pending` once after waking itself, so the task goes to the back of the queue.
async fn yield_now() {
    let mut yielded = false;
    std::future::poll_fn(|cx| {
        if yielded {
            Poll::Ready(())
        } else {
            yielded = true;
            cx.waker().wake_by_ref();
            Poll::Pending
        }
    })
    .await;
}

async fn spawn_join(n: usize) -> Outcome {
    let start = Instant::now();
    let handles: Vec<_> = (0..n).map(|i| monoio::spawn(async move { i })).collect();
    for (i, handle) in handles.into_iter().enumerate() {
        let got = handle.await;
        assert_eq!(got, i, "monoio: task {i} returned {got}");
    }
    Outcome::timed(start.elapsed())
}

async fn yield_many(tasks: usize, yields: usize) -> Outcome {
    let start = Instant::now();
    let handles: Vec<_> = (0..tasks)
        .map(|_| {
            monoio::spawn(async move {
                for _ in 0..yields {
                    yield_now().await;
                }
            })
        })
        .collect();
    for handle in handles {
        handle.await;
    }
    Outcome::timed(start.elapsed())
}

async fn wait_n(delays: &[Duration]) -> Outcome {
    let completed = Rc::new(RefCell::new(Vec::with_capacity(delays.len())));
    let start = Instant::now();
    let handles: Vec<_> = delays
        .iter()
        .map(|&delay| {
            let completed = Rc::clone(&completed);
            monoio::spawn(async move {
                monoio::time::sleep(delay).await;
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

async fn timeout_churn(iters: usize) -> Outcome {
    let start = Instant::now();
    monoio::spawn(async move {
        for _ in 0..iters {
            monoio::time::timeout(CHURN_TIMEOUT, yield_now())
                .await
                .expect("monoio: a 1 s timeout fired around a yield");
        }
    })
    .await;
    Outcome::timed(start.elapsed())
}

async fn timer_lateness(delays: &[Duration]) -> Outcome {
    let start = Instant::now();
    let handles: Vec<_> = delays
        .iter()
        .map(|&delay| {
            let deadline = start + delay;
            monoio::spawn(async move {
                monoio::time::sleep_until(monoio::time::Instant::from_std(deadline)).await;
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

async fn ping_pong(trips: usize) -> Outcome {
    let (ping_tx, mut ping_rx) = local_sync::mpsc::bounded::channel::<usize>(1);
    let (pong_tx, mut pong_rx) = local_sync::mpsc::bounded::channel::<usize>(1);
    let start = Instant::now();
    let ponger = monoio::spawn(async move {
        while let Some(x) = ping_rx.recv().await {
            pong_tx.send(x).await.expect("monoio: pinger gone");
        }
    });
    let pinger = monoio::spawn(async move {
        for i in 0..trips {
            ping_tx.send(i).await.expect("monoio: ponger gone");
            let got = pong_rx.recv().await.expect("monoio: ponger gone");
            assert_eq!(got, i, "monoio: token {i} came back as {got}");
        }
    });
    pinger.await;
    ponger.await;
    Outcome::timed(start.elapsed())
}

async fn tcp_echo(conns: usize, trips: usize) -> Outcome {
    let listener = TcpListener::bind("127.0.0.1:0").expect("monoio: bind loopback");
    let addr = listener.local_addr().expect("monoio: local_addr");
    let start = Instant::now();
    monoio::spawn(async move {
        for _ in 0..conns {
            let (mut stream, _) = listener.accept().await.expect("monoio: accept");
            stream.set_nodelay(true).expect("monoio: nodelay");
            monoio::spawn(async move {
                let mut buf = Box::new([0u8; ECHO_BYTES]);
                loop {
                    // Until the client closes: read_exact then fails with UnexpectedEof.
                    let (res, back) = stream.read_exact(buf).await;
                    if res.is_err() {
                        break;
                    }
                    let (res, back) = stream.write_all(back).await;
                    res.expect("monoio: echo write");
                    buf = back;
                }
            });
        }
    });
    let clients: Vec<_> = (0..conns)
        .map(|c| {
            monoio::spawn(async move {
                let mut stream = TcpStream::connect_addr(addr)
                    .await
                    .expect("monoio: connect");
                stream.set_nodelay(true).expect("monoio: nodelay");
                let expected = [c as u8; ECHO_BYTES];
                let mut msg = Box::new(expected);
                let mut buf = Box::new([0u8; ECHO_BYTES]);
                let mut latencies = Vec::with_capacity(trips);
                for _ in 0..trips {
                    let sent = Instant::now();
                    let (res, back) = stream.write_all(msg).await;
                    res.expect("monoio: write");
                    msg = back;
                    let (res, back) = stream.read_exact(buf).await;
                    res.expect("monoio: read");
                    buf = back;
                    latencies.push(as_ns(sent.elapsed()));
                    assert_eq!(*buf, expected, "monoio: echo mismatch");
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

async fn fan_in(producers: usize, items: usize) -> Outcome {
    let (tx, mut rx) = local_sync::mpsc::unbounded::channel::<u64>();
    let start = Instant::now();
    let consumer = monoio::spawn(async move {
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
            monoio::spawn(async move {
                let base = (p * items) as u64;
                for i in 0..items as u64 {
                    tx.send(base + i).expect("monoio: consumer gone");
                }
            })
        })
        .collect();
    drop(tx);
    for handle in handles {
        handle.await;
    }
    let (count, sum) = consumer.await;
    assert_eq!(count, producers * items, "monoio: fan_in count");
    assert_eq!(sum, fan_in_sum(producers, items), "monoio: fan_in sum");
    Outcome::timed(start.elapsed())
}

async fn accept_storm(conns: usize) -> Outcome {
    let listener = TcpListener::bind("127.0.0.1:0").expect("monoio: bind loopback");
    let addr = listener.local_addr().expect("monoio: local_addr");
    let start = Instant::now();
    let server = monoio::spawn(async move {
        for _ in 0..conns {
            let (stream, _) = listener.accept().await.expect("monoio: accept");
            drop(stream);
        }
    });
    let clients: Vec<_> = (0..ACCEPT_CONCURRENCY.min(conns))
        .map(|c| {
            monoio::spawn(async move {
                for _ in 0..accept_share(conns, c) {
                    let stream = TcpStream::connect_addr(addr)
                        .await
                        .expect("monoio: connect");
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
