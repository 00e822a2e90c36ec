//! Long probes of the hardening issue, kept out of `cargo test` (each is
//! `#[ignore]`): run them with `scripts/soak.sh`, which starts each in its
//! own process so that its peak-RSS ceiling is its own.
//!
//! * 4 threads x 10^7 foreign wakes of one parked task while the loop is busy;
//! * 10^6 timers armed and cancelled;
//! * 1,000 slow connections (a byte every 100 ms) for 10 s on an echo server.

use std::cell::Cell;
use std::future::{poll_fn, Future};
use std::rc::Rc;
use std::sync::{Arc, Mutex};
use std::task::{Poll, Waker};
use std::time::{Duration, Instant};

use boucle::net::{open_connection, start_server, StreamReader, StreamWriter};

const MIB: u64 = 1 << 20;

/// The process's peak resident set (VmHWM), in bytes.
fn peak_rss() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    let kib: u64 = status
        .lines()
        .find(|l| l.starts_with("VmHWM:"))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|v| v.parse().ok())
        .expect("VmHWM in /proc/self/status");
    kib * 1024
}

fn report(name: &str, grown: u64, ceiling: u64, start: Instant) {
    println!(
        "soak {name}: peak RSS grew {:.1} MiB (ceiling {} MiB) in {:.1} s",
        grown as f64 / MIB as f64,
        ceiling / MIB,
        start.elapsed().as_secs_f64()
    );
    assert!(
        grown < ceiling,
        "{name}: peak RSS grew by {} MiB",
        grown / MIB
    );
}

#[test]
#[ignore = "soak: run by scripts/soak.sh"]
fn soak_foreign_wakes() {
    const THREADS: usize = 4;
    const WAKES: usize = 10_000_000;
    let start = Instant::now();
    let before = peak_rss();
    let polls = Rc::new(Cell::new(0u32));
    let slot: Arc<Mutex<Option<Waker>>> = Arc::default();
    boucle::run({
        let (polls, slot) = (polls.clone(), slot.clone());
        async move {
            let task = boucle::spawn({
                let (polls, slot) = (polls.clone(), slot.clone());
                poll_fn(move |cx| {
                    polls.set(polls.get() + 1);
                    *slot.lock().unwrap() = Some(cx.waker().clone());
                    if polls.get() >= 2 {
                        Poll::Ready(())
                    } else {
                        Poll::Pending
                    }
                })
            });
            boucle::yield_now().await;
            let waker = slot.lock().unwrap().take().unwrap();
            std::thread::scope(|s| {
                for _ in 0..THREADS {
                    s.spawn(|| {
                        for _ in 0..WAKES {
                            waker.wake_by_ref();
                        }
                    });
                }
            });
            task.await.unwrap();
        }
    });
    assert_eq!(polls.get(), 2);
    report("foreign_wakes", peak_rss() - before, 8 * MIB, start);
}

#[test]
#[ignore = "soak: run by scripts/soak.sh"]
fn soak_cancelled_timers() {
    const N: usize = 1_000_000;
    let start = Instant::now();
    let before = peak_rss();
    let (sequential, first_batch, second_batch) = boucle::run(async {
        // 10^6 timeouts, each arming a timer an hour away and cancelled when
        // its inner future is done: the wheel must not keep them.
        for i in 0..N {
            let r = boucle::timeout(Duration::from_secs(3600), boucle::yield_now()).await;
            assert!(r.is_ok(), "timeout {i} fired");
        }
        let sequential = peak_rss() - before;
        // 10^6 armed at once, then all dropped, twice: the second batch
        // reuses the first one's memory.
        let mut batches = [0u64; 2];
        for grown in &mut batches {
            let mut sleeps: Vec<_> = (0..N)
                .map(|i| Box::pin(boucle::sleep(Duration::from_secs(3600 + i as u64))))
                .collect();
            poll_fn(|cx| {
                for s in &mut sleeps {
                    assert!(s.as_mut().poll(cx).is_pending());
                }
                Poll::Ready(())
            })
            .await;
            drop(sleeps);
            *grown = peak_rss() - before;
        }
        // Nothing left armed: a 1 ms sleep is the next timer.
        let t = Instant::now();
        boucle::sleep(Duration::from_millis(1)).await;
        assert!(t.elapsed() < Duration::from_secs(5));
        (sequential, batches[0], batches[1])
    });
    report(
        "cancelled_timers (one at a time)",
        sequential,
        4 * MIB,
        start,
    );
    report(
        "cancelled_timers (10^6 at once)",
        first_batch,
        256 * MIB,
        start,
    );
    let regrowth = second_batch - first_batch;
    report(
        "cancelled_timers (10^6 again)",
        regrowth,
        first_batch / 10 + MIB,
        start,
    );
}

#[test]
#[ignore = "soak: run by scripts/soak.sh"]
fn soak_slow_connections() {
    const CONNS: usize = 1_000;
    const SECS: u64 = 10;
    let start = Instant::now();
    let before = peak_rss();
    let echoed = boucle::run(async {
        let server = start_server(
            |mut r: StreamReader, w: StreamWriter| async move {
                loop {
                    let bytes = match r.read(64).await {
                        Ok(b) if !b.is_empty() => b,
                        _ => break,
                    };
                    w.write(&bytes);
                    if w.drain().await.is_err() {
                        break;
                    }
                }
            },
            "127.0.0.1",
            0,
        )
        .await
        .unwrap();
        let port = server.local_addrs()[0].port().unwrap();
        let clients: Vec<_> = (0..CONNS)
            .map(|i| {
                boucle::spawn(async move {
                    let (mut r, w) = open_connection("127.0.0.1", port).await.unwrap();
                    let mut got = 0usize;
                    let rounds = SECS * 10;
                    for k in 0..rounds {
                        let byte = [(i + k as usize) as u8];
                        w.write(&byte);
                        w.drain().await.unwrap();
                        let back = r.readexactly(1).await.unwrap();
                        assert_eq!(back, byte);
                        got += 1;
                        boucle::sleep(Duration::from_millis(100)).await;
                    }
                    got
                })
            })
            .collect();
        let mut total = 0;
        for c in clients {
            total += c.await.unwrap();
        }
        server.close();
        total
    });
    assert_eq!(echoed, CONNS * SECS as usize * 10);
    report("slow_connections", peak_rss() - before, 128 * MIB, start);
}
