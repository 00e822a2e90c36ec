//! `Condition`: wait releases and re-takes the lock, notify / notify_all
//! in arrival order, spurious and surplus notifications, cancellation.

mod common;
use common::secs;
use std::cell::{Cell, RefCell};
use std::future::Future;
use std::rc::Rc;
use std::time::Duration;

use boucle::sync::{Condition, Lock};

fn run<F: Future>(f: F) -> F::Output {
    common::run_virtual(9, f)
}

/// Spawns `n` tasks that each take the lock, wait once, and log their
/// index when they resume (holding the lock).
fn waiters(cond: &Condition, n: usize, log: &Rc<RefCell<Vec<usize>>>) -> Vec<boucle::Task<()>> {
    (0..n)
        .map(|i| {
            let (cond, log) = (cond.clone(), log.clone());
            boucle::spawn(async move {
                let g = cond.acquire().await;
                let g = cond.wait(g).await;
                assert!(cond.locked(), "resumed without the lock");
                log.borrow_mut().push(i);
                drop(g);
            })
        })
        .collect()
}

#[test]
fn wait_releases_the_lock_while_waiting_and_retakes_it_before_returning() {
    run(async {
        let cond = Condition::new();
        let c = cond.clone();
        let waiter = boucle::spawn(async move {
            let g = c.acquire().await;
            let g = c.wait(g).await;
            // Held again: nobody else can take it.
            assert!(c.try_acquire().is_none());
            drop(g);
        });
        boucle::yield_now().await;
        assert!(!cond.locked());
        assert_eq!(cond.statistics().waiters, 1);
        cond.notify(1);
        waiter.await.unwrap();
        assert!(!cond.locked());
    });
}

#[test]
fn a_notified_waiter_resumes_only_after_the_notifier_releases_the_lock() {
    let t = run(async {
        let cond = Condition::new();
        let c = cond.clone();
        let waiter = boucle::spawn(async move {
            let g = c.acquire().await;
            let start = boucle::now();
            let _g = c.wait(g).await;
            boucle::now() - start
        });
        boucle::yield_now().await;
        let g = cond.acquire().await;
        cond.notify(1);
        boucle::sleep(secs(2)).await; // still holding the lock
        let s = cond.statistics();
        assert_eq!((s.waiters, s.locked, s.lock_waiters), (0, true, 1));
        drop(g);
        waiter.await.unwrap()
    });
    assert_eq!(t, secs(2));
}

#[test]
fn notify_wakes_waiters_one_at_a_time_in_arrival_order() {
    let log = run(async {
        let cond = Condition::new();
        let log = Rc::new(RefCell::new(Vec::new()));
        let tasks = waiters(&cond, 4, &log);
        boucle::yield_now().await;
        assert_eq!(cond.statistics().waiters, 4);
        cond.notify(1);
        boucle::sleep(secs(1)).await;
        assert_eq!(*log.borrow(), [0]);
        cond.notify(2);
        boucle::sleep(secs(1)).await;
        assert_eq!(*log.borrow(), [0, 1, 2]);
        cond.notify(1);
        for t in tasks {
            t.await.unwrap();
        }
        log.take()
    });
    assert_eq!(log, [0, 1, 2, 3]);
}

#[test]
fn notify_all_wakes_every_waiter() {
    let log = run(async {
        let cond = Condition::new();
        let log = Rc::new(RefCell::new(Vec::new()));
        let tasks = waiters(&cond, 5, &log);
        boucle::yield_now().await;
        cond.notify_all();
        assert_eq!(cond.statistics().waiters, 0);
        for t in tasks {
            t.await.unwrap();
        }
        log.take()
    });
    assert_eq!(log, [0, 1, 2, 3, 4]);
}

#[test]
fn a_notify_with_nobody_waiting_is_not_remembered() {
    run(async {
        let cond = Condition::new();
        cond.notify(5);
        cond.notify_all();
        let g = cond.acquire().await;
        let waited = boucle::timeout(secs(1), cond.wait(g)).await;
        assert!(waited.is_err(), "an old notify woke a new waiter");
        assert_eq!(cond.statistics().waiters, 0);
        assert!(!cond.locked());
    });
}

#[test]
fn notifying_more_than_are_waiting_wakes_them_all_and_keeps_no_surplus() {
    run(async {
        let cond = Condition::new();
        let log = Rc::new(RefCell::new(Vec::new()));
        let tasks = waiters(&cond, 2, &log);
        boucle::yield_now().await;
        cond.notify(10);
        for t in tasks {
            t.await.unwrap();
        }
        assert_eq!(*log.borrow(), [0, 1]);
        // The 8 extra notifications are gone.
        let late = waiters(&cond, 1, &log);
        boucle::sleep(secs(1)).await;
        assert_eq!(log.borrow().len(), 2);
        assert_eq!(cond.statistics().waiters, 1);
        cond.notify(1);
        for t in late {
            t.await.unwrap();
        }
        assert_eq!(*log.borrow(), [0, 1, 0]);
    });
}

#[test]
fn wait_for_keeps_waiting_while_the_predicate_is_false_after_a_notify() {
    let (t, checks) = run(async {
        let cond = Condition::new();
        let value = Rc::new(Cell::new(0));
        let checks = Rc::new(Cell::new(0));
        let (c, v, n) = (cond.clone(), value.clone(), checks.clone());
        let waiter = boucle::spawn(async move {
            let start = boucle::now();
            let g = c.acquire().await;
            let _g = c
                .wait_for(g, || {
                    n.set(n.get() + 1);
                    v.get() == 3
                })
                .await;
            assert_eq!(v.get(), 3);
            boucle::now() - start
        });
        for i in 1..=3 {
            boucle::sleep(secs(1)).await;
            let _g = cond.acquire().await;
            value.set(i);
            cond.notify_all(); // spurious for i = 1, 2
        }
        (waiter.await.unwrap(), checks.get())
    });
    assert_eq!(t, secs(3));
    assert_eq!(checks, 4); // once at first, then after each notify
}

#[test]
fn wait_for_returns_at_once_if_the_predicate_holds() {
    let t = run(async {
        let cond = Condition::new();
        let start = boucle::now();
        let g = cond.acquire().await;
        let g = cond.wait_for(g, || true).await;
        assert!(cond.locked());
        drop(g);
        boucle::now() - start
    });
    assert_eq!(t, Duration::ZERO);
}

#[test]
fn a_notified_waiter_that_is_cancelled_passes_the_notification_on() {
    run(async {
        let cond = Condition::new();
        let log = Rc::new(RefCell::new(Vec::new()));
        let tasks = waiters(&cond, 2, &log);
        boucle::yield_now().await;
        cond.notify(1); // meant for task 0...
        tasks[0].cancel(); // ...which is dropped before it sees it
        boucle::sleep(secs(1)).await;
        assert_eq!(*log.borrow(), [1]);
        assert_eq!(cond.statistics().waiters, 0);
        for t in tasks {
            let _ = t.await;
        }
        assert!(!cond.locked());
    });
}

#[test]
fn a_waiter_cancelled_while_waiting_leaves_without_the_lock() {
    run(async {
        let cond = Condition::new();
        let log = Rc::new(RefCell::new(Vec::new()));
        let tasks = waiters(&cond, 2, &log);
        boucle::yield_now().await;
        tasks[0].cancel();
        boucle::yield_now().await;
        assert_eq!(cond.statistics().waiters, 1);
        assert!(!cond.locked());
        cond.notify(1);
        for t in tasks {
            let _ = t.await;
        }
        assert_eq!(*log.borrow(), [1]);
    });
}

#[test]
fn a_wait_under_a_timeout_gives_up_without_the_lock() {
    run(async {
        let cond = Condition::new();
        let g = cond.acquire().await;
        assert!(boucle::timeout(secs(1), cond.wait(g)).await.is_err());
        assert!(!cond.locked());
        assert_eq!(cond.statistics().waiters, 0);
    });
}

#[test]
fn a_condition_on_a_given_lock_accepts_that_locks_guards() {
    run(async {
        let lock = Lock::new();
        let cond = Condition::with_lock(lock.clone());
        let c = cond.clone();
        let l = lock.clone();
        let waiter = boucle::spawn(async move {
            let g = l.acquire().await;
            let g = c.wait(g).await;
            assert!(l.locked());
            drop(g);
        });
        boucle::yield_now().await;
        assert!(!lock.locked());
        cond.notify(1);
        waiter.await.unwrap();
        assert!(!lock.locked());
        assert!(!cond.lock().locked());
    });
}

#[test]
#[should_panic(expected = "guard of another lock")]
fn waiting_with_the_guard_of_another_lock_panics() {
    let cond = Condition::new();
    let other = Lock::new();
    let g = other.try_acquire().unwrap();
    drop(cond.wait(g));
}

#[test]
fn condition_statistics() {
    let cond = Condition::default();
    let s = cond.statistics();
    assert_eq!((s.waiters, s.locked, s.lock_waiters), (0, false, 0));
    let _g = cond.try_acquire().unwrap();
    assert!(cond.statistics().locked);
}

/// CPython's `test_cancelled_wakeup_relock` (gh-112202): a consumer that is
/// notified and then cancelled while it re-takes the lock must not swallow
/// the notification: the other consumer gets the item.
#[test]
fn a_waiter_cancelled_while_retaking_the_lock_passes_the_notification_on() {
    run(async {
        let cond = Condition::new();
        let state = Rc::new(Cell::new(0i32));
        let consumed = Rc::new(Cell::new(0u32));
        let consumer = |cond: Condition, state: Rc<Cell<i32>>, consumed: Rc<Cell<u32>>| async move {
            let mut g = cond.acquire().await;
            loop {
                g = cond.wait_for(g, || state.get() != 0).await;
                if state.get() < 0 {
                    return;
                }
                state.set(state.get() - 1);
                consumed.set(consumed.get() + 1);
            }
        };
        let c0 = boucle::spawn(consumer(cond.clone(), state.clone(), consumed.clone()));
        let c1 = boucle::spawn(consumer(cond.clone(), state.clone(), consumed.clone()));
        boucle::sleep(Duration::from_millis(100)).await;
        assert_eq!(cond.statistics().waiters, 2);
        {
            let _g = cond.acquire().await;
            state.set(1);
            cond.notify(1);
            // c0 is notified and now waits for the lock we hold.
            boucle::yield_now().await;
            assert_eq!(cond.statistics().waiters, 1);
            assert_eq!(cond.statistics().lock_waiters, 1);
            c0.cancel();
            boucle::yield_now().await; // c0 is dropped while re-taking the lock
        }
        assert!(c0.await.unwrap_err().is_cancelled());
        boucle::sleep(Duration::from_millis(100)).await;
        assert_eq!(consumed.get(), 1, "the notification was swallowed");
        assert_eq!(state.get(), 0);
        {
            let _g = cond.acquire().await;
            state.set(-1);
            cond.notify_all();
        }
        c1.await.unwrap();
    });
}
