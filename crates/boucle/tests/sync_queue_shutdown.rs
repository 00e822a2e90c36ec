//! Queue shutdown (Python 3.13): both modes, with getters and putters
//! blocked, and what it does to `join`. Virtual time throughout.

mod common;
use common::secs;
use std::cell::Cell;
use std::future::Future;
use std::rc::Rc;

use boucle::sync::{GetNowaitError, PutNowaitError, Queue, QueueShutDown};

fn run<F: Future>(f: F) -> F::Output {
    common::run_virtual(7, f)
}

/// Counts drops of the items it is attached to.
struct Tracked(Rc<Cell<u32>>);

impl Drop for Tracked {
    fn drop(&mut self) {
        self.0.set(self.0.get() + 1);
    }
}

// --------------------------------------------------------------- shutdown

#[test]
fn after_shutdown_put_and_put_nowait_fail_with_the_item() {
    run(async {
        let q = Queue::new(0);
        q.shutdown(false);
        assert!(q.is_shut_down());
        assert_eq!(q.put(1).await, Err(QueueShutDown(1)));
        let err = q.put_nowait(2).unwrap_err();
        assert_eq!(err, PutNowaitError::ShutDown(QueueShutDown(2)));
        assert!(err.is_shut_down());
    });
}

#[test]
fn after_shutdown_gets_drain_the_queue_then_fail() {
    run(async {
        let q = Queue::new(0);
        q.put_nowait(1).unwrap();
        q.put_nowait(2).unwrap();
        q.shutdown(false);
        assert_eq!(q.get().await, Ok(1));
        assert_eq!(q.get_nowait(), Ok(2));
        assert_eq!(q.get().await, Err(QueueShutDown(())));
        assert_eq!(
            q.get_nowait(),
            Err(GetNowaitError::ShutDown(QueueShutDown(())))
        );
    });
}

fn blocked_getters_are_woken_by(immediate: bool) {
    let results = run(async {
        let q = Queue::<u32>::new(0);
        let tasks: Vec<_> = (0..3)
            .map(|_| {
                let q = q.clone();
                boucle::spawn(async move { q.get().await })
            })
            .collect();
        boucle::yield_now().await;
        assert_eq!(q.statistics().getters, 3);
        q.shutdown(immediate);
        let mut results = Vec::new();
        for t in tasks {
            results.push(t.await.unwrap());
        }
        assert_eq!(q.statistics().getters, 0);
        results
    });
    assert_eq!(results, [Err(QueueShutDown(())); 3]);
}

#[test]
fn shutdown_wakes_blocked_getters_with_the_error() {
    blocked_getters_are_woken_by(false);
}

#[test]
fn shutdown_immediate_wakes_blocked_getters_with_the_error() {
    blocked_getters_are_woken_by(true);
}

fn blocked_putters_are_woken_by(immediate: bool) -> (Vec<Result<(), QueueShutDown<u32>>>, usize) {
    run(async {
        let q = Queue::new(1);
        q.put_nowait(0).unwrap();
        let tasks: Vec<_> = (1..=3)
            .map(|i| {
                let q = q.clone();
                boucle::spawn(async move { q.put(i).await })
            })
            .collect();
        boucle::yield_now().await;
        assert_eq!(q.statistics().putters, 3);
        q.shutdown(immediate);
        let mut results = Vec::new();
        for t in tasks {
            results.push(t.await.unwrap());
        }
        (results, q.qsize())
    })
}

#[test]
fn shutdown_wakes_blocked_putters_with_their_items() {
    let (results, left) = blocked_putters_are_woken_by(false);
    assert_eq!(
        results,
        [
            Err(QueueShutDown(1)),
            Err(QueueShutDown(2)),
            Err(QueueShutDown(3))
        ]
    );
    assert_eq!(left, 1); // the queued item stays, to be drained
}

#[test]
fn shutdown_immediate_wakes_blocked_putters_and_drops_the_items() {
    let (results, left) = blocked_putters_are_woken_by(true);
    assert_eq!(
        results,
        [
            Err(QueueShutDown(1)),
            Err(QueueShutDown(2)),
            Err(QueueShutDown(3))
        ]
    );
    assert_eq!(left, 0);
}

#[test]
fn shutdown_immediate_drops_the_items_and_releases_join() {
    let drops = Rc::new(Cell::new(0));
    let d = drops.clone();
    let (t, stats) = run(async move {
        let q = Queue::new(0);
        for _ in 0..4 {
            q.put_nowait(Tracked(d.clone())).unwrap();
        }
        let q2 = q.clone();
        let joiner = boucle::spawn(async move {
            let start = boucle::now();
            q2.join().await;
            boucle::now() - start
        });
        boucle::sleep(secs(5)).await;
        assert_eq!(d.get(), 0);
        q.shutdown(true);
        assert_eq!(d.get(), 4);
        (joiner.await.unwrap(), q.statistics())
    });
    assert_eq!(t, secs(5));
    assert_eq!(drops.get(), 4);
    assert_eq!(
        (stats.qsize, stats.unfinished_tasks, stats.joiners),
        (0, 0, 0)
    );
}

#[test]
fn shutdown_immediate_keeps_join_waiting_for_items_already_taken() {
    let t = run(async {
        let q = Queue::new(0);
        q.put_nowait(1).unwrap();
        q.put_nowait(2).unwrap();
        let taken = q.get_nowait().unwrap();
        let q2 = q.clone();
        let joiner = boucle::spawn(async move {
            let start = boucle::now();
            q2.join().await;
            boucle::now() - start
        });
        boucle::yield_now().await;
        q.shutdown(true); // drops item 2; item 1 is still being processed
        assert_eq!(q.statistics().unfinished_tasks, 1);
        boucle::sleep(secs(4)).await;
        assert_eq!(taken, 1);
        q.task_done().unwrap();
        joiner.await.unwrap()
    });
    assert_eq!(t, secs(4));
}

#[test]
fn shutdown_without_immediate_leaves_join_to_the_consumers() {
    run(async {
        let q = Queue::new(0);
        q.put_nowait(1).unwrap();
        q.shutdown(false);
        let q2 = q.clone();
        let joiner = boucle::spawn(async move { q2.join().await });
        boucle::sleep(secs(1)).await;
        assert!(!joiner.is_done());
        assert_eq!(q.get().await, Ok(1));
        q.task_done().unwrap();
        joiner.await.unwrap();
    });
}
