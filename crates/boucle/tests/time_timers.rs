//! Timers: exact deadline order, ties in creation order, never early,
//! cached loop time, virtual time, timeouts, determinism.

use std::cell::RefCell;
use std::rc::Rc;
use std::time::{Duration, Instant};

use boucle::Runtime;

fn virt(seed: u64) -> Runtime {
    Runtime::builder()
        .virtual_time(true)
        .seed(seed)
        .build()
        .unwrap()
}

#[test]
fn sleeps_fire_in_deadline_order_ties_in_creation_order() {
    let order = virt(0).block_on(async {
        let log = Rc::new(RefCell::new(Vec::new()));
        let delays_ms = [30u64, 10, 20, 10, 30, 0, 10];
        let tasks: Vec<_> = delays_ms
            .iter()
            .enumerate()
            .map(|(i, &ms)| {
                let log = log.clone();
                boucle::spawn(async move {
                    boucle::sleep(Duration::from_millis(ms)).await;
                    log.borrow_mut().push((ms, i));
                })
            })
            .collect();
        for t in tasks {
            t.await.unwrap();
        }
        log.take()
    });
    assert_eq!(
        order,
        [(0, 5), (10, 1), (10, 3), (10, 6), (20, 2), (30, 0), (30, 4)]
    );
}

#[test]
fn loop_time_is_cached_per_iteration() {
    let rt = Runtime::new().unwrap();
    rt.block_on(async {
        let a = boucle::now();
        std::thread::sleep(Duration::from_millis(3));
        assert_eq!(boucle::now(), a, "same iteration, same loop time");
        boucle::yield_now().await;
        assert!(boucle::now() > a, "a new iteration samples the clock");
    });
}

#[test]
fn real_sleeps_are_never_early() {
    let rt = Runtime::new().unwrap();
    let lateness = rt.block_on(async {
        let mut worst_early = Duration::ZERO;
        for ms in [1u64, 2, 3] {
            let deadline = boucle::now() + Duration::from_micros(ms * 700);
            boucle::sleep_until(deadline).await;
            let woke = Instant::now();
            if woke < deadline {
                worst_early = worst_early.max(deadline - woke);
            }
            assert!(boucle::now() >= deadline);
        }
        worst_early
    });
    assert_eq!(lateness, Duration::ZERO, "a timer fired early");
}

#[test]
fn zero_sleep_yields_once_like_asyncio() {
    let log = virt(0).block_on(async {
        let log = Rc::new(RefCell::new(Vec::new()));
        let l = log.clone();
        let other = boucle::spawn(async move { l.borrow_mut().push("other") });
        boucle::sleep(Duration::ZERO).await;
        log.borrow_mut().push("main after sleep(0)");
        other.await.unwrap();
        log.take()
    });
    assert_eq!(log, ["other", "main after sleep(0)"]);
}

#[test]
fn virtual_time_jumps_and_is_exact() {
    let rt = virt(0);
    let real = Instant::now();
    let elapsed = rt.block_on(async {
        let start = boucle::now();
        boucle::sleep(Duration::from_secs(86_400)).await;
        boucle::sleep(Duration::from_nanos(1)).await;
        boucle::now() - start
    });
    assert_eq!(
        elapsed,
        Duration::from_secs(86_400) + Duration::from_nanos(1)
    );
    assert!(real.elapsed() < Duration::from_secs(2));
}

#[test]
fn sleep_until_and_deadline() {
    virt(0).block_on(async {
        let at = boucle::now() + Duration::from_millis(1500);
        let s = boucle::sleep_until(at);
        assert_eq!(s.deadline(), at);
        assert!(!s.is_elapsed());
        s.await;
        assert_eq!(boucle::now(), at);
        // A deadline in the past completes after one yield.
        boucle::sleep_until(at - Duration::from_secs(1)).await;
        assert_eq!(boucle::now(), at);
    });
}

#[test]
fn timeout_that_fires_and_one_that_does_not() {
    virt(0).block_on(async {
        let start = boucle::now();
        let r = boucle::timeout(
            Duration::from_secs(1),
            boucle::sleep(Duration::from_secs(5)),
        )
        .await;
        assert_eq!(r, Err(boucle::Elapsed::clone(&r.unwrap_err())));
        assert_eq!(boucle::now() - start, Duration::from_secs(1));
        let r = boucle::wait_for(
            async {
                boucle::sleep(Duration::from_millis(200)).await;
                "fast"
            },
            Duration::from_secs(1),
        )
        .await;
        assert_eq!(r, Ok("fast"));
        assert_eq!(boucle::now() - start, Duration::from_millis(1200));
        assert_eq!(
            boucle::Elapsed::clone(
                &boucle::timeout(Duration::ZERO, std::future::pending::<()>())
                    .await
                    .unwrap_err()
            )
            .to_string(),
            "deadline has elapsed"
        );
    });
}

#[test]
fn a_timeout_drops_the_inner_future() {
    struct Flag(Rc<RefCell<bool>>);
    impl Drop for Flag {
        fn drop(&mut self) {
            *self.0.borrow_mut() = true;
        }
    }
    let dropped = Rc::new(RefCell::new(false));
    let d = dropped.clone();
    virt(0).block_on(async move {
        let flag = Flag(d);
        let inner = async move {
            let _flag = flag;
            boucle::sleep(Duration::from_secs(10)).await;
        };
        assert!(boucle::timeout(Duration::from_secs(1), inner)
            .await
            .is_err());
    });
    assert!(*dropped.borrow());
}

#[test]
fn timeout_can_be_rescheduled() {
    virt(0).block_on(async {
        let start = boucle::now();
        let mut t = std::pin::pin!(boucle::timeout(
            Duration::from_secs(1),
            boucle::sleep(Duration::from_secs(3))
        ));
        t.as_mut().reset(start + Duration::from_secs(5));
        assert_eq!(t.deadline(), start + Duration::from_secs(5));
        assert!(t.await.is_ok());
        assert_eq!(boucle::now() - start, Duration::from_secs(3));
    });
}

#[test]
fn advance_moves_a_virtual_clock_by_hand() {
    virt(0).block_on(async {
        let start = boucle::now();
        let t = boucle::spawn(boucle::sleep(Duration::from_secs(10)));
        boucle::yield_now().await;
        boucle::time::advance(Duration::from_secs(10)).await;
        assert_eq!(boucle::now() - start, Duration::from_secs(10));
        boucle::yield_now().await;
        assert!(t.is_done());
    });
}

/// The course's wait_n, written out: n sleeps of random length, results in
/// completion order. The delays are the `Duration`s slept (whole
/// nanoseconds): two draws within a nanosecond of each other are one
/// deadline, and fire in creation order.
async fn wait_n(n: usize, max: f64) -> Vec<Duration> {
    let mut done = boucle::as_completed((0..n).map(|_| async move {
        let d = Duration::from_secs_f64(boucle::random::uniform(0.0, max));
        boucle::sleep(d).await;
        d
    }));
    let mut out = Vec::with_capacity(n);
    while let Some(d) = done.next().await {
        out.push(d.unwrap());
    }
    out
}

#[test]
fn wait_n_100_000_in_virtual_time_is_sorted_fast_and_deterministic() {
    let real = Instant::now();
    let a = virt(42).block_on(wait_n(100_000, 10.0));
    let took = real.elapsed();
    assert_eq!(a.len(), 100_000);
    assert!(
        a.windows(2).all(|w| w[0] <= w[1]),
        "completion order is sorted"
    );
    let b = virt(42).block_on(wait_n(100_000, 10.0));
    assert_eq!(a, b, "same seed, same output");
    let c = virt(43).block_on(wait_n(1_000, 10.0));
    assert_ne!(a[..1_000], c[..], "another seed, another output");
    eprintln!("wait_n(100_000) in virtual time took {took:?} of real time");
    assert!(took < Duration::from_secs(20), "{took:?}");
}

#[test]
fn real_time_wait_n_is_sorted_too() {
    // Cached loop time: all sleeps share one time base, so completion order
    // equals delay order even in real time.
    let out = Runtime::new().unwrap().block_on(wait_n(2_000, 0.02));
    assert!(out.windows(2).all(|w| w[0] <= w[1]));
}

#[test]
fn same_seed_same_trace() {
    let trace = |seed| {
        let rt = Runtime::builder()
            .virtual_time(true)
            .seed(seed)
            .trace(true)
            .build()
            .unwrap();
        rt.block_on(wait_n(50, 1.0));
        rt.trace().unwrap()
    };
    assert_eq!(trace(7), trace(7));
    assert_ne!(trace(7), trace(8));
}

/// Endless sleeps and timeouts armed beside ordinary ones change nothing
/// for those: exact durations, deadline order.
#[test]
fn a_sleep_beyond_the_clocks_range_never_fires_and_freezes_nothing() {
    let rt = virt(0);
    let (took, order, forever_done) = rt.block_on(async {
        let forever = boucle::spawn(boucle::sleep(Duration::MAX));
        let far = boucle::spawn(boucle::sleep_until(
            boucle::now() + Duration::from_secs(u64::MAX / 4),
        ));
        boucle::yield_now().await;
        let start = boucle::now();
        boucle::sleep(Duration::from_secs(1)).await;
        let took = boucle::now() - start;
        let log = Rc::new(RefCell::new(Vec::new()));
        let tasks: Vec<_> = [2u64, 1]
            .into_iter()
            .map(|s| {
                let log = log.clone();
                boucle::spawn(async move {
                    boucle::sleep(Duration::from_secs(s)).await;
                    log.borrow_mut().push(s);
                })
            })
            .collect();
        for t in tasks {
            t.await.unwrap();
        }
        let order = log.borrow().clone();
        let done = forever.is_done() || far.is_done();
        // A timeout of Duration::MAX never expires either.
        let v = boucle::timeout(Duration::MAX, async { 5 }).await.unwrap();
        assert_eq!(v, 5);
        (took, order, done)
    });
    assert_eq!(took, Duration::from_secs(1));
    assert_eq!(order, [1, 2], "deadline order, not creation order");
    assert!(!forever_done);
}

/// The loop idles in virtual time with only an endless sleep armed, while
/// a thread takes 100 ms to send a message: the clock must not jump to the
/// endless deadline (before: it did, fired the sleep, and froze there).
#[test]
fn an_idle_virtual_loop_never_jumps_to_an_endless_deadline() {
    let rt = virt(0);
    rt.block_on(async {
        let mut forever = boucle::spawn(boucle::sleep(Duration::MAX));
        let (tx, mut rx) = boucle::sync::oneshot::channel();
        let thread = std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(100));
            let _ = tx.send(());
        });
        let fired = std::future::poll_fn(|cx| {
            use std::future::Future;
            use std::pin::Pin;
            use std::task::Poll;
            if Pin::new(&mut forever).poll(cx).is_ready() {
                return Poll::Ready(true);
            }
            Pin::new(&mut rx).poll(cx).map(|_| false)
        })
        .await;
        thread.join().unwrap();
        assert!(!fired, "the endless sleep fired");
        let start = boucle::now();
        boucle::sleep(Duration::from_secs(1)).await;
        assert_eq!(boucle::now() - start, Duration::from_secs(1));
    });
}

#[test]
fn the_deadline_of_an_endless_sleep_is_far_and_does_not_panic() {
    // Outside a loop (before: an `Instant` overflow panic).
    let s = boucle::sleep(Duration::MAX);
    assert!(s.deadline() > Instant::now() + Duration::from_secs(100 * 365 * 86_400));
    assert!(!s.is_elapsed());
    // Inside one.
    virt(0).block_on(async {
        let s = boucle::sleep(Duration::MAX);
        assert!(s.deadline() > boucle::now() + Duration::from_secs(100 * 365 * 86_400));
        assert!(!s.is_elapsed());
    });
}
