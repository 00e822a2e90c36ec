//! `Event`: set, clear, wait, and cancelled waiters.

mod common;
use common::secs;
use std::cell::RefCell;
use std::future::Future;
use std::rc::Rc;
use std::time::Duration;

use boucle::sync::Event;

fn run<F: Future>(f: F) -> F::Output {
    common::run_virtual(5, f)
}

#[test]
fn a_new_event_is_not_set_and_set_clear_toggle_it() {
    let ev = Event::new();
    assert!(!ev.is_set());
    ev.set();
    assert!(ev.is_set());
    ev.set(); // idempotent
    assert!(ev.is_set());
    ev.clear();
    assert!(!ev.is_set());
}

#[test]
fn wait_on_a_set_event_returns_at_once() {
    let t = run(async {
        let ev = Event::new();
        ev.set();
        let start = boucle::now();
        ev.wait().await;
        ev.wait().await;
        boucle::now() - start
    });
    assert_eq!(t, Duration::ZERO);
}

#[test]
fn set_wakes_every_waiter_in_arrival_order() {
    let (log, t) = run(async {
        let ev = Event::new();
        let log = Rc::new(RefCell::new(Vec::new()));
        let tasks: Vec<_> = (0..4)
            .map(|i| {
                let (ev, log) = (ev.clone(), log.clone());
                boucle::spawn(async move {
                    ev.wait().await;
                    log.borrow_mut().push((i, boucle::now()));
                })
            })
            .collect();
        boucle::yield_now().await;
        assert_eq!(ev.statistics().waiters, 4);
        let start = boucle::now();
        boucle::sleep(secs(3)).await;
        ev.set();
        assert_eq!(ev.statistics().waiters, 0);
        for t in tasks {
            t.await.unwrap();
        }
        let log = log.take();
        let times: Vec<_> = log.iter().map(|(_, t)| *t - start).collect();
        (log.iter().map(|(i, _)| *i).collect::<Vec<_>>(), times)
    });
    assert_eq!(log, [0, 1, 2, 3]);
    assert_eq!(t, [secs(3); 4]);
}

#[test]
fn a_waiter_woken_by_set_returns_even_if_the_event_is_cleared_before_it_runs() {
    run(async {
        let ev = Event::new();
        let e2 = ev.clone();
        let waiter = boucle::spawn(async move {
            e2.wait().await;
            "woken"
        });
        boucle::yield_now().await;
        ev.set();
        ev.clear();
        assert_eq!(waiter.await.unwrap(), "woken");
    });
}

#[test]
fn after_clear_wait_blocks_until_the_next_set() {
    let t = run(async {
        let ev = Event::new();
        ev.set();
        ev.clear();
        let e2 = ev.clone();
        let setter = boucle::spawn(async move {
            boucle::sleep(secs(2)).await;
            e2.set();
        });
        let start = boucle::now();
        ev.wait().await;
        setter.await.unwrap();
        boucle::now() - start
    });
    assert_eq!(t, secs(2));
}

#[test]
fn a_cancelled_waiter_leaves_and_the_others_are_still_woken() {
    run(async {
        let ev = Event::new();
        let tasks: Vec<_> = (0..3)
            .map(|i| {
                let ev = ev.clone();
                boucle::spawn(async move {
                    ev.wait().await;
                    i
                })
            })
            .collect();
        boucle::yield_now().await;
        tasks[0].cancel();
        boucle::yield_now().await;
        assert_eq!(ev.statistics().waiters, 2);
        assert!(boucle::timeout(secs(1), ev.wait()).await.is_err());
        assert_eq!(ev.statistics().waiters, 2);
        ev.set();
        let mut out = Vec::new();
        for t in tasks {
            out.push(t.await.ok());
        }
        assert_eq!(out, [None, Some(1), Some(2)]);
    });
}

#[test]
fn event_statistics_and_debug() {
    let ev = Event::new();
    let s = ev.statistics();
    assert_eq!((s.is_set, s.waiters), (false, 0));
    ev.set();
    assert!(ev.statistics().is_set);
    assert_eq!(format!("{ev:?}"), "Event { is_set: true, waiters: 0 }");
}
