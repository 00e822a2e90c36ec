//! `Barrier` with asyncio 3.11 semantics: arrival indices, rounds, abort
//! and reset with waiters, cancelled waiters.

mod common;
use common::secs;
use std::future::Future;
use std::time::Duration;

use boucle::sync::{Barrier, BrokenBarrierError};

fn run<F: Future>(f: F) -> F::Output {
    common::run_virtual(4, f)
}

/// Spawns a task that sleeps `delay` seconds, then waits on the barrier,
/// returning its result and the time it passed.
fn arrive(b: &Barrier, delay: u64) -> boucle::Task<(Result<usize, BrokenBarrierError>, Duration)> {
    let b = b.clone();
    boucle::spawn(async move {
        let start = boucle::now();
        boucle::sleep(secs(delay)).await;
        let r = b.wait().await;
        (r, boucle::now() - start)
    })
}

#[test]
fn everyone_passes_when_the_last_party_arrives_with_arrival_indices() {
    let out = run(async {
        let b = Barrier::new(3);
        let tasks = [arrive(&b, 3), arrive(&b, 1), arrive(&b, 2)];
        let mut out = Vec::new();
        for t in tasks {
            out.push(t.await.unwrap());
        }
        out
    });
    assert_eq!(out, [(Ok(2), secs(3)), (Ok(0), secs(3)), (Ok(1), secs(3))]);
}

#[test]
fn a_barrier_of_one_never_waits() {
    run(async {
        let b = Barrier::new(1);
        assert_eq!(b.wait().await, Ok(0));
        assert_eq!(b.wait().await, Ok(0));
        assert_eq!(b.n_waiting(), 0);
    });
}

#[test]
fn a_barrier_can_be_used_for_several_rounds() {
    let results = run(async {
        let b = Barrier::new(2);
        let mut results = Vec::new();
        for round in 0..3 {
            let t = arrive(&b, round + 1);
            let me = b.wait().await;
            results.push((me, t.await.unwrap().0));
        }
        results
    });
    // The main task arrives first each round.
    assert_eq!(results, [(Ok(0), Ok(1)); 3]);
}

#[test]
fn n_waiting_parties_and_statistics_follow_the_round() {
    run(async {
        let b = Barrier::new(3);
        assert_eq!((b.parties(), b.n_waiting(), b.broken()), (3, 0, false));
        let t1 = arrive(&b, 0);
        let t2 = arrive(&b, 0);
        boucle::sleep(secs(1)).await;
        assert_eq!(b.n_waiting(), 2);
        let s = b.statistics();
        assert_eq!((s.parties, s.n_waiting, s.broken), (3, 2, false));
        assert_eq!(b.wait().await, Ok(2));
        assert_eq!(b.n_waiting(), 0);
        assert_eq!(t1.await.unwrap().0, Ok(0));
        assert_eq!(t2.await.unwrap().0, Ok(1));
    });
}

#[test]
fn abort_breaks_the_waiters_and_every_later_wait() {
    run(async {
        let b = Barrier::new(3);
        let t1 = arrive(&b, 0);
        let t2 = arrive(&b, 0);
        boucle::sleep(secs(1)).await;
        b.abort();
        assert!(b.broken());
        assert_eq!(b.n_waiting(), 0);
        assert_eq!(t1.await.unwrap(), (Err(BrokenBarrierError), secs(1)));
        assert_eq!(t2.await.unwrap(), (Err(BrokenBarrierError), secs(1)));
        assert_eq!(b.wait().await, Err(BrokenBarrierError));
        assert_eq!(b.wait().await, Err(BrokenBarrierError));
    });
}

#[test]
fn reset_breaks_the_current_waiters_and_empties_the_barrier() {
    run(async {
        let b = Barrier::new(2);
        let t1 = arrive(&b, 0);
        boucle::sleep(secs(1)).await;
        assert_eq!(b.n_waiting(), 1);
        b.reset();
        assert!(!b.broken());
        assert_eq!(t1.await.unwrap().0, Err(BrokenBarrierError));
        // A fresh round works.
        let t2 = arrive(&b, 1);
        assert_eq!(b.wait().await, Ok(0));
        assert_eq!(t2.await.unwrap().0, Ok(1));
    });
}

#[test]
fn reset_repairs_an_aborted_barrier() {
    run(async {
        let b = Barrier::new(2);
        b.abort();
        assert!(b.broken());
        b.reset();
        assert!(!b.broken());
        let t = arrive(&b, 0);
        assert_eq!(b.wait().await, Ok(0));
        assert_eq!(t.await.unwrap().0, Ok(1));
    });
}

#[test]
fn a_cancelled_waiter_leaves_the_round() {
    run(async {
        let b = Barrier::new(3);
        let t1 = arrive(&b, 0);
        let t2 = arrive(&b, 0);
        boucle::sleep(secs(1)).await;
        t1.cancel();
        assert!(t1.await.is_err());
        assert_eq!(b.n_waiting(), 1);
        // One arrival is not enough any more: the round needs two.
        assert!(boucle::timeout(secs(1), b.wait()).await.is_err());
        assert_eq!(b.n_waiting(), 1);
        let t3 = arrive(&b, 0); // arrives after the main task
        assert_eq!(b.wait().await, Ok(1));
        assert_eq!(t2.await.unwrap().0, Ok(0));
        assert_eq!(t3.await.unwrap().0, Ok(2));
    });
}

#[test]
#[should_panic(expected = "at least one party")]
fn a_barrier_of_zero_parties_panics() {
    let _ = Barrier::new(0);
}

#[test]
fn broken_barrier_error_displays() {
    assert_eq!(
        BrokenBarrierError.to_string(),
        "barrier is broken (aborted or reset)"
    );
}

/// A reset just after a round passed, before its waiters resumed: they keep
/// their indices (asyncio, in its draining state, breaks them instead: the
/// difference is documented on `Barrier::reset`), and the barrier is empty
/// and whole for the next round.
#[test]
fn a_reset_after_a_round_passed_leaves_that_round_alone() {
    run(async {
        let b = Barrier::new(2);
        let first = {
            let b = b.clone();
            boucle::spawn(async move { b.wait().await })
        };
        boucle::yield_now().await;
        assert_eq!(b.wait().await, Ok(1)); // the round passes; `first` has not run
        b.reset();
        assert_eq!(first.await.unwrap(), Ok(0));
        assert!(!b.broken());
        // The next round works.
        let a = arrive(&b, 1);
        let c = arrive(&b, 2);
        assert_eq!(a.await.unwrap().0, Ok(0));
        assert_eq!(c.await.unwrap().0, Ok(1));
    });
}

/// Tasks that wait after a reset form a new round: only the tasks waiting
/// when `reset` was called are broken (as in asyncio).
#[test]
fn waiters_after_a_reset_are_not_broken() {
    run(async {
        let b = Barrier::new(2);
        let early = arrive(&b, 0);
        boucle::sleep(secs(1)).await;
        b.reset();
        let late1 = arrive(&b, 0);
        let late2 = arrive(&b, 0);
        assert_eq!(early.await.unwrap().0, Err(BrokenBarrierError));
        assert_eq!(late1.await.unwrap().0, Ok(0));
        assert_eq!(late2.await.unwrap().0, Ok(1));
    });
}
