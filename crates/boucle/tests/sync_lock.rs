//! `Lock`, `Semaphore` and `BoundedSemaphore`: every method, fairness
//! (arrival order, no barging), and cancellation at every point.

mod common;
use common::secs;
use std::cell::{Cell, RefCell};
use std::future::Future;
use std::rc::Rc;
use std::time::Duration;

use boucle::sync::{BoundedSemaphore, BoundedSemaphoreError, Lock, Semaphore};

fn run<F: Future>(f: F) -> F::Output {
    common::run_virtual(3, f)
}

// ------------------------------------------------------------------- Lock

#[test]
fn acquire_on_a_free_lock_returns_at_once_and_locks_it() {
    let t = run(async {
        let lock = Lock::new();
        let start = boucle::now();
        let guard = lock.acquire().await;
        assert!(lock.locked());
        drop(guard);
        assert!(!lock.locked());
        boucle::now() - start
    });
    assert_eq!(t, Duration::ZERO);
}

#[test]
fn try_acquire_fails_while_the_lock_is_held() {
    let lock = Lock::new();
    let guard = lock.try_acquire().expect("free");
    assert!(lock.try_acquire().is_none());
    drop(guard);
    assert!(lock.try_acquire().is_some());
    assert!(!lock.locked()); // the temporary guard was dropped
}

#[test]
fn a_guard_knows_its_lock() {
    let lock = Lock::new();
    let other = lock.clone();
    let guard = other.try_acquire().unwrap();
    assert!(guard.lock().locked());
    assert!(lock.locked()); // clones share the lock
}

#[test]
fn waiters_get_the_lock_in_arrival_order() {
    let order = run(async {
        let lock = Lock::new();
        let order = Rc::new(RefCell::new(Vec::new()));
        let guard = lock.acquire().await;
        let mut tasks = Vec::new();
        for i in 0..5 {
            let (lock, order) = (lock.clone(), order.clone());
            tasks.push(boucle::spawn(async move {
                let _g = lock.acquire().await;
                order.borrow_mut().push(i);
                boucle::sleep(secs(1)).await;
            }));
            boucle::yield_now().await;
        }
        assert_eq!(lock.statistics().waiters, 5);
        drop(guard);
        for t in tasks {
            t.await.unwrap();
        }
        order.take()
    });
    assert_eq!(order, [0, 1, 2, 3, 4]);
}

#[test]
fn a_release_hands_the_lock_to_the_first_waiter_so_no_newcomer_barges_in() {
    run(async {
        let lock = Lock::new();
        let guard = lock.acquire().await;
        let l2 = lock.clone();
        let waiter = boucle::spawn(async move {
            let _g = l2.acquire().await;
            "waiter"
        });
        boucle::yield_now().await;
        drop(guard);
        // Already the waiter's, though it has not run yet.
        assert!(lock.locked());
        assert!(lock.try_acquire().is_none());
        assert!(boucle::timeout(Duration::ZERO, lock.acquire())
            .await
            .is_err());
        assert_eq!(waiter.await.unwrap(), "waiter");
        assert!(!lock.locked());
    });
}

#[test]
fn only_one_task_holds_the_lock_at_a_time() {
    let (max_inside, total) = run(async {
        let lock = Lock::new();
        let inside = Rc::new(Cell::new(0));
        let max_inside = Rc::new(Cell::new(0));
        let total = Rc::new(Cell::new(0));
        let tasks: Vec<_> = (0..50)
            .map(|i| {
                let (lock, inside, max_inside, total) = (
                    lock.clone(),
                    inside.clone(),
                    max_inside.clone(),
                    total.clone(),
                );
                boucle::spawn(async move {
                    for _ in 0..10 {
                        let _g = lock.acquire().await;
                        inside.set(inside.get() + 1);
                        max_inside.set(max_inside.get().max(inside.get()));
                        if i % 3 == 0 {
                            boucle::yield_now().await;
                        } else {
                            boucle::sleep(Duration::from_millis(i)).await;
                        }
                        total.set(total.get() + 1);
                        inside.set(inside.get() - 1);
                    }
                })
            })
            .collect();
        for t in tasks {
            t.await.unwrap();
        }
        (max_inside.get(), total.get())
    });
    assert_eq!(max_inside, 1);
    assert_eq!(total, 500);
}

#[test]
fn a_cancelled_waiter_leaves_the_queue_and_the_others_keep_their_turn() {
    let order = run(async {
        let lock = Lock::new();
        let order = Rc::new(RefCell::new(Vec::new()));
        let guard = lock.acquire().await;
        let tasks: Vec<_> = (0..3)
            .map(|i| {
                let (lock, order) = (lock.clone(), order.clone());
                boucle::spawn(async move {
                    let _g = lock.acquire().await;
                    order.borrow_mut().push(i);
                })
            })
            .collect();
        boucle::yield_now().await;
        assert_eq!(lock.statistics().waiters, 3);
        tasks[1].cancel();
        boucle::yield_now().await;
        assert_eq!(lock.statistics().waiters, 2);
        drop(guard);
        for t in tasks {
            let _ = t.await;
        }
        order.take()
    });
    assert_eq!(order, [0, 2]);
}

#[test]
fn a_waiter_cancelled_after_the_lock_was_handed_to_it_passes_it_on() {
    run(async {
        let lock = Lock::new();
        let guard = lock.acquire().await;
        let (la, lb) = (lock.clone(), lock.clone());
        let a = boucle::spawn(async move {
            let _g = la.acquire().await;
        });
        let b = boucle::spawn(async move {
            let _g = lb.acquire().await;
            "b got it"
        });
        boucle::yield_now().await;
        drop(guard); // handed to a
        a.cancel(); // a never runs with it
        assert!(a.await.unwrap_err().is_cancelled());
        assert_eq!(b.await.unwrap(), "b got it");
        assert!(!lock.locked());
    });
}

#[test]
fn a_waiter_cancelled_after_handoff_with_nobody_behind_unlocks() {
    run(async {
        let lock = Lock::new();
        let guard = lock.acquire().await;
        let la = lock.clone();
        let a = boucle::spawn(async move {
            let _g = la.acquire().await;
        });
        boucle::yield_now().await;
        drop(guard);
        assert!(lock.locked());
        a.cancel();
        assert!(a.await.is_err());
        assert!(!lock.locked());
        assert_eq!(lock.statistics().waiters, 0);
    });
}

#[test]
fn acquire_under_a_timeout_gives_up_cleanly() {
    run(async {
        let lock = Lock::new();
        let guard = lock.acquire().await;
        assert!(boucle::timeout(secs(1), lock.acquire()).await.is_err());
        assert_eq!(lock.statistics().waiters, 0);
        drop(guard);
        assert!(!lock.locked());
        let g = boucle::timeout(secs(1), lock.acquire()).await;
        assert!(g.is_ok());
    });
}

#[test]
fn lock_statistics_report_holder_and_waiters() {
    run(async {
        let lock = Lock::new();
        let s = lock.statistics();
        assert_eq!((s.locked, s.waiters), (false, 0));
        let g = lock.acquire().await;
        let l2 = lock.clone();
        let t = boucle::spawn(async move {
            drop(l2.acquire().await);
        });
        boucle::yield_now().await;
        let s = lock.statistics();
        assert_eq!((s.locked, s.waiters), (true, 1));
        assert_eq!(format!("{lock:?}"), "Lock { locked: true, waiters: 1 }");
        drop(g);
        t.await.unwrap();
    });
}

// -------------------------------------------------------------- Semaphore

#[test]
fn a_semaphore_admits_n_holders_then_makes_the_next_wait() {
    let t = run(async {
        let sem = Semaphore::new(2);
        let a = sem.acquire().await;
        let _b = sem.acquire().await;
        assert!(sem.locked());
        assert_eq!(sem.available_permits(), 0);
        let s2 = sem.clone();
        let third = boucle::spawn(async move {
            let start = boucle::now();
            let _c = s2.acquire().await;
            boucle::now() - start
        });
        boucle::sleep(secs(2)).await;
        drop(a);
        third.await.unwrap()
    });
    assert_eq!(t, secs(2));
}

#[test]
fn semaphore_try_acquire_and_permit_drop() {
    let sem = Semaphore::new(1);
    let p = sem.try_acquire().unwrap();
    assert!(sem.try_acquire().is_none());
    assert!(sem.locked());
    drop(p);
    assert_eq!(sem.available_permits(), 1);
    assert!(!sem.locked());
}

#[test]
fn semaphore_release_may_raise_the_count_above_its_start() {
    let sem = Semaphore::new(1);
    sem.release();
    sem.release();
    assert_eq!(sem.available_permits(), 3);
}

#[test]
fn a_forgotten_permit_stays_taken_until_released_by_hand() {
    let sem = Semaphore::new(1);
    sem.try_acquire().unwrap().forget();
    assert_eq!(sem.available_permits(), 0);
    sem.release();
    assert_eq!(sem.available_permits(), 1);
}

#[test]
fn semaphore_waiters_are_served_in_arrival_order_without_barging() {
    let order = run(async {
        let sem = Semaphore::new(1);
        let order = Rc::new(RefCell::new(Vec::new()));
        let held = sem.acquire().await;
        let tasks: Vec<_> = (0..4)
            .map(|i| {
                let (sem, order) = (sem.clone(), order.clone());
                boucle::spawn(async move {
                    let _p = sem.acquire().await;
                    order.borrow_mut().push(i);
                    boucle::sleep(secs(1)).await;
                })
            })
            .collect();
        boucle::yield_now().await;
        assert_eq!(sem.statistics().waiters, 4);
        drop(held);
        // Handed to task 0: nothing free for a newcomer.
        assert_eq!(sem.available_permits(), 0);
        assert!(sem.try_acquire().is_none());
        for t in tasks {
            t.await.unwrap();
        }
        assert_eq!(sem.available_permits(), 1);
        order.take()
    });
    assert_eq!(order, [0, 1, 2, 3]);
}

#[test]
fn a_manual_release_hands_the_permit_to_the_first_waiter() {
    run(async {
        let sem = Semaphore::new(0);
        let s2 = sem.clone();
        let waiter = boucle::spawn(async move {
            s2.acquire().await.forget();
            "in"
        });
        boucle::yield_now().await;
        sem.release();
        assert_eq!(sem.available_permits(), 0);
        assert_eq!(waiter.await.unwrap(), "in");
    });
}

#[test]
fn a_semaphore_waiter_cancelled_after_handoff_passes_the_permit_on() {
    run(async {
        let sem = Semaphore::new(1);
        let held = sem.acquire().await;
        let (sa, sb) = (sem.clone(), sem.clone());
        let a = boucle::spawn(async move {
            let _p = sa.acquire().await;
        });
        let b = boucle::spawn(async move {
            let _p = sb.acquire().await;
            "b"
        });
        boucle::yield_now().await;
        drop(held); // handed to a
        a.cancel();
        assert!(a.await.is_err());
        assert_eq!(b.await.unwrap(), "b");
        assert_eq!(sem.available_permits(), 1);
    });
}

#[test]
fn a_semaphore_waiter_cancelled_after_handoff_with_nobody_behind_frees_the_permit() {
    run(async {
        let sem = Semaphore::new(1);
        let held = sem.acquire().await;
        let sa = sem.clone();
        let a = boucle::spawn(async move {
            let _p = sa.acquire().await;
        });
        boucle::yield_now().await;
        drop(held);
        a.cancel();
        assert!(a.await.is_err());
        assert_eq!(sem.available_permits(), 1);
        assert_eq!(sem.statistics().waiters, 0);
    });
}

#[test]
fn semaphore_statistics_and_debug() {
    let sem = Semaphore::new(3);
    let _p = sem.try_acquire().unwrap();
    let s = sem.statistics();
    assert_eq!((s.available_permits, s.waiters), (2, 0));
    assert_eq!(
        format!("{sem:?}"),
        "Semaphore { available_permits: 2, waiters: 0 }"
    );
}

// ------------------------------------------------------- BoundedSemaphore

#[test]
fn a_bounded_semaphore_refuses_a_release_above_its_start() {
    let sem = BoundedSemaphore::new(2);
    assert_eq!(sem.release(), Err(BoundedSemaphoreError));
    assert_eq!(sem.available_permits(), 2); // unchanged
    sem.try_acquire().unwrap().forget();
    assert_eq!(sem.release(), Ok(()));
    assert_eq!(sem.release(), Err(BoundedSemaphoreError));
    assert_eq!(
        BoundedSemaphoreError.to_string(),
        "BoundedSemaphore released too many times"
    );
}

#[test]
fn a_bounded_semaphore_behaves_as_a_semaphore_otherwise() {
    let t = run(async {
        let sem = BoundedSemaphore::new(1);
        let p = sem.acquire().await;
        assert!(sem.locked());
        let s2 = sem.clone();
        let waiter = boucle::spawn(async move {
            let start = boucle::now();
            let _p = s2.acquire().await;
            boucle::now() - start
        });
        boucle::sleep(secs(1)).await;
        assert_eq!(sem.statistics().waiters, 1);
        drop(p);
        let t = waiter.await.unwrap();
        assert_eq!(sem.available_permits(), 1);
        t
    });
    assert_eq!(t, secs(1));
}

#[test]
fn dropping_a_permit_of_a_bounded_semaphore_at_its_bound_is_not_counted() {
    let sem = BoundedSemaphore::new(1);
    let p = sem.try_acquire().unwrap();
    assert_eq!(sem.release(), Ok(())); // by hand: back at the bound
    drop(p); // would exceed it: ignored
    assert_eq!(sem.available_permits(), 1);
}

#[test]
fn semaphore_release_saturates_instead_of_wrapping() {
    // Before: `permits += 1` wrapped to 0 in release builds (a silent loss of
    // every permit) and panicked in debug builds.
    let sem = Semaphore::new(usize::MAX);
    sem.release();
    assert_eq!(sem.available_permits(), usize::MAX);
    let permit = sem.try_acquire().expect("still unlimited");
    assert_eq!(sem.available_permits(), usize::MAX - 1);
    sem.release();
    drop(permit); // gives its permit back: saturates again
    assert_eq!(sem.available_permits(), usize::MAX);
}

/// CPython's `test_acquire_fifo_order_4`: permits released while the first
/// waiter has not run yet do not let later acquirers overtake it.
#[test]
fn later_acquirers_do_not_overtake_a_waiter_that_was_handed_a_permit() {
    run(async {
        let sem = Semaphore::new(0);
        let result = Rc::new(RefCell::new(Vec::new()));
        let t4: Rc<RefCell<Option<boucle::Task<()>>>> = Rc::default();
        let t1 = boucle::spawn({
            let (sem, result, t4) = (sem.clone(), result.clone(), t4.clone());
            async move {
                assert_eq!(sem.available_permits(), 0);
                sem.acquire().await.forget();
                // Every waiting task was handed a permit.
                assert_eq!(sem.available_permits(), 0);
                let r = result.clone();
                *t4.borrow_mut() = Some(boucle::spawn(async move { r.borrow_mut().push(4) }));
                result.borrow_mut().push(1);
            }
        });
        let t2 = boucle::spawn({
            let (sem, result) = (sem.clone(), result.clone());
            async move {
                sem.release();
                sem.release();
                sem.release();
                assert_eq!(sem.available_permits(), 2);
                assert!(sem.locked(), "t1 has not run yet");
                sem.acquire().await.forget();
                result.borrow_mut().push(2);
            }
        });
        let t3 = boucle::spawn({
            let (sem, result) = (sem.clone(), result.clone());
            async move {
                sem.acquire().await.forget();
                assert!(sem.locked());
                result.borrow_mut().push(3);
            }
        });
        boucle::yield_now().await;
        assert_eq!(sem.available_permits(), 2);
        assert_eq!(sem.statistics().waiters, 2); // t2, t3 (t1 was handed one)
        boucle::yield_now().await;
        t1.await.unwrap();
        t2.await.unwrap();
        t3.await.unwrap();
        let t4 = t4.borrow_mut().take().unwrap();
        t4.await.unwrap();
        assert_eq!(*result.borrow(), [1, 2, 3, 4]);
    });
}

#[test]
fn a_waiter_handed_a_permit_and_cancelled_hands_the_free_permits_on() {
    run(async {
        let sem = Semaphore::new(0);
        let got = Rc::new(Cell::new(0));
        let first = boucle::spawn({
            let sem = sem.clone();
            async move { sem.acquire().await.forget() }
        });
        boucle::yield_now().await;
        let others: Vec<_> = (0..2)
            .map(|_| {
                let (sem, got) = (sem.clone(), got.clone());
                boucle::spawn(async move {
                    sem.acquire().await.forget();
                    got.set(got.get() + 1);
                })
            })
            .collect();
        boucle::yield_now().await;
        sem.release(); // to `first`
        sem.release(); // free, but the others queue behind `first`
        first.cancel();
        assert!(first.await.unwrap_err().is_cancelled());
        for o in others {
            o.await.unwrap();
        }
        assert_eq!(got.get(), 2, "both permits reached the queued tasks");
        assert_eq!(sem.available_permits(), 0);
    });
}
