//! `time::interval` with each missed-tick policy, and asyncio's
//! `call_soon` / `call_later` / `call_at`. Virtual time: exact.

mod common;
use common::secs;
use std::cell::RefCell;
use std::rc::Rc;
use std::time::Duration;

use boucle::stream::StreamExt;
use boucle::time::{interval, interval_at, MissedTickBehavior};

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

/// Ticks an interval of 1 s after a 3.5 s stall; returns the tick instants
/// and when each tick returned, both relative to the start.
fn after_a_stall(policy: MissedTickBehavior) -> Vec<(Duration, Duration)> {
    common::run_virtual(1, async move {
        let start = boucle::now();
        let mut ticks = interval(secs(1));
        ticks.set_missed_tick_behavior(policy);
        assert_eq!(ticks.missed_tick_behavior(), policy);
        let mut out = Vec::new();
        let first = ticks.tick().await;
        out.push((first - start, boucle::now() - start));
        boucle::sleep(ms(3500)).await;
        for _ in 0..4 {
            let t = ticks.tick().await;
            out.push((t - start, boucle::now() - start));
        }
        out
    })
}

#[test]
fn burst_fires_the_missed_ticks_at_once_then_keeps_the_schedule() {
    assert_eq!(
        after_a_stall(MissedTickBehavior::Burst),
        [
            (secs(0), secs(0)),
            (secs(1), ms(3500)),
            (secs(2), ms(3500)),
            (secs(3), ms(3500)),
            (secs(4), secs(4)),
        ]
    );
}

#[test]
fn delay_fires_once_and_shifts_the_schedule() {
    assert_eq!(
        after_a_stall(MissedTickBehavior::Delay),
        [
            (secs(0), secs(0)),
            (secs(1), ms(3500)),
            (ms(4500), ms(4500)),
            (ms(5500), ms(5500)),
            (ms(6500), ms(6500)),
        ]
    );
}

#[test]
fn skip_fires_once_and_rejoins_the_original_schedule() {
    assert_eq!(
        after_a_stall(MissedTickBehavior::Skip),
        [
            (secs(0), secs(0)),
            (secs(1), ms(3500)),
            (secs(4), secs(4)),
            (secs(5), secs(5)),
            (secs(6), secs(6)),
        ]
    );
}

#[test]
fn an_interval_at_a_later_start_and_as_a_stream() {
    common::run_virtual(2, async {
        let start = boucle::now();
        let ticks = interval_at(start + secs(10), ms(500));
        assert_eq!(ticks.period(), ms(500));
        let at: Vec<_> = ticks.take(3).map(|t| t - start).collect().await;
        assert_eq!(at, [secs(10), ms(10_500), secs(11)]);
    });
}

#[test]
fn reset_counts_the_next_period_from_now() {
    common::run_virtual(3, async {
        let start = boucle::now();
        let mut ticks = interval(secs(2));
        ticks.tick().await;
        boucle::sleep(secs(1)).await;
        ticks.reset();
        assert_eq!(ticks.tick().await - start, secs(3));
        assert_eq!(ticks.tick().await - start, secs(5));
    });
}

#[test]
#[should_panic(expected = "the period must be greater than zero")]
fn a_zero_period_is_refused() {
    let _ = interval(Duration::ZERO);
}

#[test]
fn a_huge_period_does_not_overflow() {
    common::run_virtual(4, async {
        let mut ticks = interval(Duration::MAX);
        ticks.tick().await;
        let second = boucle::timeout(secs(3600), ticks.tick()).await;
        assert!(
            second.is_err(),
            "the second tick is beyond the clock's range"
        );
    });
}

// ------------------------------------------------------------- callbacks

#[test]
fn callbacks_run_in_order_at_their_times_and_can_be_cancelled() {
    let log = Rc::new(RefCell::new(Vec::new()));
    common::run_virtual(5, {
        let log = log.clone();
        async move {
            let start = boucle::now();
            let entry = |name: &'static str| {
                let log = log.clone();
                move || log.borrow_mut().push((name, boucle::now() - start))
            };
            boucle::call_later(secs(3), entry("later 3 s"));
            let at = boucle::call_at(start + secs(1), entry("at 1 s"));
            let soon = boucle::call_soon(entry("soon"));
            let dropped = boucle::call_later(secs(2), entry("cancelled"));
            assert_eq!(soon.when(), None);
            assert_eq!(at.when(), Some(start + secs(1)));
            assert!(dropped.cancel());
            assert!(dropped.cancelled());
            drop(at); // dropping a handle does not cancel
            boucle::sleep(secs(4)).await;
            assert!(soon.is_done() && !soon.cancelled());
            assert!(!soon.cancel(), "already ran");
        }
    });
    assert_eq!(
        *log.borrow(),
        [
            ("soon", secs(0)),
            ("at 1 s", secs(1)),
            ("later 3 s", secs(3))
        ]
    );
}
