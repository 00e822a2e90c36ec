//! The loop's time base (hardening issue, "early sleeps measured from the
//! call"): cached per iteration by default; per call on request; moved to
//! the present by `update_time`; re-sampled after a long poll in debug
//! mode. Each test blocks the loop for a few milliseconds and checks lower
//! bounds only, so a slow machine cannot make it fail.

use std::time::{Duration, Instant};

use boucle::time::TimeBase;
use boucle::Runtime;

const BLOCK: Duration = Duration::from_millis(30);
const NAP: Duration = Duration::from_millis(20);

/// Blocks the loop, then sleeps `NAP` in the same poll; returns the loop
/// time that passed during the blocking and the real time the sleep took,
/// measured from its call.
async fn block_then_sleep(update: bool) -> (Duration, Duration) {
    let t0 = boucle::now();
    std::thread::sleep(BLOCK);
    if update {
        boucle::time::update_time();
    }
    let seen = boucle::now() - t0;
    let call = Instant::now();
    boucle::sleep(NAP).await;
    (seen, call.elapsed())
}

#[test]
fn by_default_loop_time_stays_at_the_iterations_start() {
    let rt = Runtime::new().unwrap();
    let (seen, _) = rt.block_on(block_then_sleep(false));
    assert_eq!(
        seen,
        Duration::ZERO,
        "the cached time moved within one poll"
    );
}

#[test]
fn update_time_moves_the_base_so_the_sleep_is_not_early() {
    let rt = Runtime::new().unwrap();
    let (seen, took) = rt.block_on(block_then_sleep(true));
    assert!(seen >= BLOCK, "{seen:?}");
    assert!(took >= NAP, "the sleep ended {:?} early", NAP - took);
}

#[test]
fn a_per_call_time_base_never_ends_a_sleep_early_from_its_call() {
    let rt = Runtime::builder()
        .time_base(TimeBase::Call)
        .build()
        .unwrap();
    let (seen, took) = rt.block_on(block_then_sleep(false));
    assert!(seen >= BLOCK, "{seen:?}");
    assert!(took >= NAP, "the sleep ended {:?} early", NAP - took);
}

#[test]
fn debug_mode_resamples_after_a_long_poll() {
    // The blocking happens in one task; the sleep begins in the next task of
    // the same batch, which sees the re-sampled time.
    let rt = Runtime::builder()
        .debug(true)
        .slow_poll_threshold(Duration::from_secs(10)) // no warning printed
        .build()
        .unwrap();
    let took = rt.block_on(async {
        let hog = boucle::spawn(async { std::thread::sleep(BLOCK) });
        let sleeper = boucle::spawn(async {
            let call = Instant::now();
            boucle::sleep(NAP).await;
            call.elapsed()
        });
        hog.await.unwrap();
        sleeper.await.unwrap()
    });
    assert!(took >= NAP, "the sleep ended {:?} early", NAP - took);
}

#[test]
fn a_timeout_after_blocking_work_does_not_fire_at_once_with_update_time() {
    let rt = Runtime::new().unwrap();
    let result = rt.block_on(async {
        std::thread::sleep(BLOCK); // compute, then read under a timeout
        boucle::time::update_time();
        boucle::timeout(NAP, async {
            boucle::sleep(Duration::from_millis(1)).await;
            "read"
        })
        .await
    });
    assert_eq!(result, Ok("read"));
}

#[test]
fn virtual_time_ignores_the_time_base_and_update_time() {
    let rt = Runtime::builder()
        .virtual_time(true)
        .time_base(TimeBase::Call)
        .build()
        .unwrap();
    let (seen, total) = rt.block_on(async {
        let t0 = boucle::now();
        std::thread::sleep(Duration::from_millis(2));
        boucle::time::update_time();
        let seen = boucle::now() - t0;
        boucle::sleep(Duration::from_secs(5)).await;
        (seen, boucle::now() - t0)
    });
    assert_eq!(seen, Duration::ZERO);
    assert_eq!(total, Duration::from_secs(5));
}
