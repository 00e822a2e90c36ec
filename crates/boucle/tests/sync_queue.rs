//! `boucle::sync` queues: every method and error, FIFO fairness on both
//! sides, cancel safety, shutdown in both modes. Virtual time throughout.

mod common;
use common::secs;
use std::cell::{Cell, RefCell};
use std::future::Future;
use std::rc::Rc;
use std::time::Duration;

use boucle::stream::StreamExt;
use boucle::sync::{
    GetNowaitError, LifoQueue, PriorityQueue, PutNowaitError, Queue, QueueEmpty, QueueFull,
    QueueShutDown, TaskDoneError,
};

fn run<F: Future>(f: F) -> F::Output {
    common::run_virtual(7, f)
}

// ------------------------------------------------------------ the basics

#[test]
fn put_nowait_and_get_nowait_are_first_in_first_out() {
    let q = Queue::new(0);
    for i in 0..5 {
        q.put_nowait(i).unwrap();
    }
    let out: Vec<_> = (0..5).map(|_| q.get_nowait().unwrap()).collect();
    assert_eq!(out, [0, 1, 2, 3, 4]);
}

#[test]
fn lifo_queue_serves_the_last_item_first() {
    let q = LifoQueue::new(0);
    for i in 0..4 {
        q.put_nowait(i).unwrap();
    }
    let out: Vec<_> = (0..4).map(|_| q.get_nowait().unwrap()).collect();
    assert_eq!(out, [3, 2, 1, 0]);
}

#[test]
fn priority_queue_serves_the_smallest_item_first() {
    let q = PriorityQueue::new(0);
    for p in [5, 1, 4, 2, 3] {
        q.put_nowait((p, format!("job {p}"))).unwrap();
    }
    let out: Vec<_> = (0..5).map(|_| q.get_nowait().unwrap().0).collect();
    assert_eq!(out, [1, 2, 3, 4, 5]);
}

/// A getter already waiting receives what the order picks when it runs,
/// not the first item put (asyncio: the smallest, or the newest).
#[test]
fn a_waiting_priority_getter_receives_the_smallest_item() {
    run(async {
        let q = PriorityQueue::new(0);
        let q2 = q.clone();
        let getter = boucle::spawn(async move { q2.get().await.unwrap() });
        boucle::yield_now().await; // the getter waits
        q.put_nowait(5).unwrap();
        q.put_nowait(1).unwrap();
        assert_eq!(getter.await.unwrap(), 1);
        assert_eq!(q.get_nowait().unwrap(), 5);
    });
}

#[test]
fn a_waiting_lifo_getter_receives_the_newest_item() {
    run(async {
        let q = LifoQueue::new(0);
        let q2 = q.clone();
        let getter = boucle::spawn(async move { q2.get().await.unwrap() });
        boucle::yield_now().await;
        q.put("old").await.unwrap();
        q.put("new").await.unwrap();
        assert_eq!(getter.await.unwrap(), "new");
        assert_eq!(q.get_nowait().unwrap(), "old");
    });
}

#[test]
fn waiting_priority_getters_are_served_in_arrival_order_by_priority() {
    run(async {
        let q = PriorityQueue::new(0);
        let log = Rc::new(RefCell::new(Vec::new()));
        let getters: Vec<_> = (0..3)
            .map(|i| {
                let (q, log) = (q.clone(), log.clone());
                boucle::spawn(async move {
                    let v = q.get().await.unwrap();
                    log.borrow_mut().push((i, v));
                })
            })
            .collect();
        boucle::yield_now().await;
        for p in [30, 10, 20] {
            q.put_nowait(p).unwrap();
        }
        // Promised to the waiters: nobody else jumps the line.
        assert!(q.get_nowait().unwrap_err().is_empty());
        for g in getters {
            g.await.unwrap();
        }
        assert_eq!(*log.borrow(), [(0, 10), (1, 20), (2, 30)]);
    });
}

#[test]
fn a_cancelled_priority_getter_passes_its_claim_on() {
    run(async {
        let q = PriorityQueue::new(0);
        let (q1, q2) = (q.clone(), q.clone());
        let first = boucle::spawn(async move { q1.get().await.unwrap() });
        let second = boucle::spawn(async move { q2.get().await.unwrap() });
        boucle::yield_now().await;
        q.put_nowait(7).unwrap(); // claimed by `first`
        first.cancel();
        assert!(first.await.unwrap_err().is_cancelled());
        // The claim went to `second`, which took the only item.
        assert_eq!(second.await.unwrap(), 7);
        assert!(q.empty());

        let (q1, q2) = (q.clone(), q.clone());
        let first = boucle::spawn(async move { q1.get().await.unwrap() });
        let second = boucle::spawn(async move { q2.get().await.unwrap() });
        boucle::yield_now().await;
        q.put_nowait(7).unwrap(); // claimed by `first`
        q.put_nowait(3).unwrap(); // claimed by `second`
        first.cancel();
        assert!(first.await.unwrap_err().is_cancelled());
        // `second` runs after the put of 3: it gets the smallest.
        assert_eq!(second.await.unwrap(), 3);
        assert_eq!(
            q.get_nowait().unwrap(),
            7,
            "the released claim's item stayed queued"
        );
        assert!(q.empty());
    });
}

#[test]
fn a_claim_given_up_with_nobody_waiting_makes_the_item_available() {
    run(async {
        let q = LifoQueue::new(0);
        let q1 = q.clone();
        let getter = boucle::spawn(async move { q1.get().await.unwrap() });
        boucle::yield_now().await;
        q.put_nowait(1).unwrap();
        getter.cancel();
        assert!(getter.await.unwrap_err().is_cancelled());
        assert_eq!(q.get_nowait().unwrap(), 1);
    });
}

#[test]
fn put_nowait_on_a_full_queue_gives_the_item_back() {
    let q = Queue::new(2);
    q.put_nowait("a").unwrap();
    q.put_nowait("b").unwrap();
    let err = q.put_nowait("c").unwrap_err();
    assert_eq!(err, PutNowaitError::Full(QueueFull("c")));
    assert!(err.is_full() && !err.is_shut_down());
    assert_eq!(err.into_inner(), "c");
    assert_eq!(q.qsize(), 2);
}

#[test]
fn get_nowait_on_an_empty_queue_is_queue_empty() {
    let q = Queue::<u8>::new(0);
    let err = q.get_nowait().unwrap_err();
    assert_eq!(err, GetNowaitError::Empty(QueueEmpty));
    assert!(err.is_empty() && !err.is_shut_down());
}

#[test]
fn qsize_empty_full_and_maxsize_report_the_state() {
    let q = Queue::new(2);
    assert_eq!(
        (q.qsize(), q.empty(), q.full(), q.maxsize()),
        (0, true, false, 2)
    );
    q.put_nowait(1).unwrap();
    assert_eq!((q.qsize(), q.empty(), q.full()), (1, false, false));
    q.put_nowait(2).unwrap();
    assert_eq!((q.qsize(), q.empty(), q.full()), (2, false, true));
}

#[test]
fn an_unbounded_queue_is_never_full() {
    let q = Queue::new(0);
    for i in 0..10_000 {
        q.put_nowait(i).unwrap();
    }
    assert!(!q.full());
    assert_eq!((q.qsize(), q.maxsize()), (10_000, 0));
}

#[test]
fn clones_are_handles_to_one_queue() {
    let q = Queue::new(0);
    let q2 = q.clone();
    q.put_nowait(9).unwrap();
    assert_eq!(q2.get_nowait(), Ok(9));
    assert!(q.empty());
}

#[test]
fn put_waits_while_full_and_completes_when_a_get_makes_room() {
    let (t, got) = run(async {
        let q = Queue::new(1);
        q.put(1).await.unwrap();
        let q2 = q.clone();
        let consumer = boucle::spawn(async move {
            boucle::sleep(secs(3)).await;
            q2.get().await.unwrap()
        });
        let start = boucle::now();
        q.put(2).await.unwrap(); // waits for the consumer
        let t = boucle::now() - start;
        (t, (consumer.await.unwrap(), q.get_nowait().unwrap()))
    });
    assert_eq!(t, secs(3));
    assert_eq!(got, (1, 2));
}

#[test]
fn get_waits_while_empty_and_receives_the_next_put() {
    let (t, v) = run(async {
        let q = Queue::new(0);
        let q2 = q.clone();
        let producer = boucle::spawn(async move {
            boucle::sleep(secs(2)).await;
            q2.put_nowait("late").unwrap();
        });
        let start = boucle::now();
        let v = q.get().await.unwrap();
        producer.await.unwrap();
        (boucle::now() - start, v)
    });
    assert_eq!(t, secs(2));
    assert_eq!(v, "late");
}

// -------------------------------------------------------------- fairness

#[test]
fn getters_are_served_in_arrival_order() {
    let got = run(async {
        let q = Queue::new(0);
        let log = Rc::new(RefCell::new(Vec::new()));
        let mut tasks = Vec::new();
        for g in 0..5u32 {
            let (q, log) = (q.clone(), log.clone());
            tasks.push(boucle::spawn(async move {
                let item = q.get().await.unwrap();
                log.borrow_mut().push((g, item));
            }));
            boucle::yield_now().await; // getter g queues before g + 1
        }
        assert_eq!(q.statistics().getters, 5);
        for item in 100..105 {
            q.put(item).await.unwrap();
        }
        for t in tasks {
            t.await.unwrap();
        }
        log.take()
    });
    assert_eq!(got, [(0, 100), (1, 101), (2, 102), (3, 103), (4, 104)]);
}

#[test]
fn putters_are_served_in_arrival_order() {
    let got = run(async {
        let q = Queue::new(1);
        q.put_nowait(0).unwrap();
        let mut tasks = Vec::new();
        for p in 1..=4 {
            let q = q.clone();
            tasks.push(boucle::spawn(async move { q.put(p).await.unwrap() }));
            boucle::yield_now().await;
        }
        assert_eq!(q.statistics().putters, 4);
        let mut got = Vec::new();
        for _ in 0..5 {
            got.push(q.get().await.unwrap());
        }
        for t in tasks {
            t.await.unwrap();
        }
        got
    });
    assert_eq!(got, [0, 1, 2, 3, 4]);
}

#[test]
fn an_item_handed_to_a_waiting_getter_cannot_be_taken_by_a_newcomer() {
    run(async {
        let q = Queue::new(0);
        let q2 = q.clone();
        let waiter = boucle::spawn(async move { q2.get().await.unwrap() });
        boucle::yield_now().await;
        q.put_nowait("mine").unwrap();
        // Handed over: not in the queue any more.
        assert_eq!(q.qsize(), 0);
        assert_eq!(q.get_nowait(), Err(GetNowaitError::Empty(QueueEmpty)));
        assert_eq!(waiter.await.unwrap(), "mine");
    });
}

#[test]
fn a_place_reserved_for_a_waiting_putter_cannot_be_taken_by_put_nowait() {
    run(async {
        let q = Queue::new(1);
        q.put_nowait(1).unwrap();
        let q2 = q.clone();
        let putter = boucle::spawn(async move { q2.put(2).await.unwrap() });
        boucle::yield_now().await;
        assert_eq!(q.get_nowait(), Ok(1)); // frees the place for the putter
        assert!(q.full());
        assert_eq!(q.put_nowait(3), Err(PutNowaitError::Full(QueueFull(3))));
        putter.await.unwrap();
        assert_eq!(q.get_nowait(), Ok(2));
    });
}

// ------------------------------------------------------ task_done / join

#[test]
fn task_done_called_more_times_than_items_were_put_is_an_error() {
    let q = Queue::new(0);
    assert_eq!(q.task_done(), Err(TaskDoneError));
    q.put_nowait(1).unwrap();
    q.put_nowait(2).unwrap();
    assert_eq!(q.task_done(), Ok(()));
    assert_eq!(q.task_done(), Ok(()));
    assert_eq!(q.task_done(), Err(TaskDoneError));
    assert_eq!(q.statistics().unfinished_tasks, 0);
}

#[test]
fn join_returns_at_once_when_nothing_is_unfinished() {
    let t = run(async {
        let q = Queue::<u8>::new(0);
        let start = boucle::now();
        q.join().await;
        boucle::now() - start
    });
    assert_eq!(t, Duration::ZERO);
}

#[test]
fn join_waits_until_every_item_was_marked_done() {
    let (t, processed) = run(async {
        let q = Queue::new(0);
        for i in 1..=3u64 {
            q.put_nowait(i).unwrap();
        }
        let processed = Rc::new(Cell::new(0));
        let (q2, p) = (q.clone(), processed.clone());
        let consumer = boucle::spawn(async move {
            while let Ok(i) = q2.get().await {
                boucle::sleep(secs(i)).await;
                p.set(p.get() + 1);
                q2.task_done().unwrap();
            }
        });
        let start = boucle::now();
        q.join().await;
        let t = boucle::now() - start;
        q.shutdown(false);
        consumer.await.unwrap();
        (t, processed.get())
    });
    assert_eq!(t, secs(6)); // 1 + 2 + 3
    assert_eq!(processed, 3);
}

// --------------------------------------------------------------- streams

#[test]
fn a_queue_stream_yields_the_items_and_ends_after_shutdown() {
    let got = run(async {
        let q = Queue::new(0);
        let q2 = q.clone();
        let producer = boucle::spawn(async move {
            for i in 0..3 {
                boucle::sleep(secs(1)).await;
                q2.put(i).await.unwrap();
            }
            q2.shutdown(false);
        });
        let mut s = q.stream();
        let mut got = Vec::new();
        while let Some(i) = s.next().await {
            got.push(i);
        }
        assert_eq!(s.next().await, None); // stays ended
        producer.await.unwrap();
        got
    });
    assert_eq!(got, [0, 1, 2]);
}

#[test]
fn dropping_a_waiting_queue_stream_gives_back_its_handed_item() {
    run(async {
        let q = Queue::new(0);
        let q2 = q.clone();
        let reader = boucle::spawn(async move {
            let mut s = q2.stream();
            s.next().await
        });
        boucle::yield_now().await;
        q.put_nowait(8).unwrap();
        reader.cancel();
        assert!(reader.await.is_err());
        assert_eq!(q.get_nowait(), Ok(8));
    });
}

// ------------------------------------------------------------ statistics

#[test]
fn statistics_count_the_waiters_on_each_side() {
    run(async {
        let full = Queue::new(1);
        full.put_nowait(0).unwrap();
        let empty = Queue::<u8>::new(0);
        let mut tasks = Vec::new();
        for i in 0..2 {
            let q = full.clone();
            tasks.push(boucle::spawn(async move {
                let _ = q.put(i).await;
            }));
        }
        for _ in 0..3 {
            let q = empty.clone();
            tasks.push(boucle::spawn(async move {
                let _ = q.get().await;
            }));
        }
        let q = full.clone();
        tasks.push(boucle::spawn(async move { q.join().await }));
        boucle::yield_now().await;
        let s = full.statistics();
        assert_eq!(
            (
                s.qsize,
                s.maxsize,
                s.unfinished_tasks,
                s.putters,
                s.getters,
                s.joiners
            ),
            (1, 1, 1, 2, 0, 1)
        );
        assert_eq!(empty.statistics().getters, 3);
        for t in &tasks {
            t.cancel();
        }
        for t in tasks {
            let _ = t.await;
        }
        let s = full.statistics();
        assert_eq!((s.putters, s.joiners), (0, 0));
        assert_eq!(empty.statistics().getters, 0);
    });
}

#[test]
fn errors_display_and_are_std_errors() {
    fn msg(e: &dyn std::error::Error) -> String {
        e.to_string()
    }
    assert_eq!(msg(&QueueFull(1)), "queue is full");
    assert_eq!(msg(&QueueEmpty), "queue is empty");
    assert_eq!(msg(&QueueShutDown(())), "queue is shut down");
    assert_eq!(msg(&TaskDoneError), "task_done() called too many times");
    assert_eq!(msg(&PutNowaitError::Full(QueueFull(1))), "queue is full");
    assert_eq!(
        msg(&GetNowaitError::ShutDown(QueueShutDown(()))),
        "queue is shut down"
    );
    // Debug never needs the item to be Debug.
    struct Opaque;
    assert_eq!(format!("{:?}", QueueFull(Opaque)), "QueueFull(..)");
}

#[test]
fn a_task_looping_on_a_ready_queue_still_lets_others_run() {
    let (seen, total) = run(async {
        let q = Queue::new(0);
        for i in 0..1000u64 {
            q.put_nowait(i).unwrap();
        }
        let progress = Rc::new(Cell::new(0));
        let (q2, p) = (q.clone(), progress.clone());
        let consumer = boucle::spawn(async move {
            let mut total = 0;
            for _ in 0..1000 {
                total += q2.get().await.unwrap();
                p.set(p.get() + 1);
            }
            total
        });
        let p = progress.clone();
        let other = boucle::spawn(async move { p.get() });
        let total = consumer.await.unwrap();
        (other.await.unwrap(), total)
    });
    assert_eq!(total, 999 * 1000 / 2);
    assert_eq!(seen, 128, "the consumer ran {seen} gets before yielding");
}

#[test]
fn a_claimed_priority_getter_still_gets_its_item_after_a_graceful_shutdown() {
    run(async {
        let q = PriorityQueue::new(0);
        let q1 = q.clone();
        let getter = boucle::spawn(async move { q1.get().await });
        boucle::yield_now().await;
        q.put_nowait(4).unwrap();
        q.shutdown(false);
        assert_eq!(getter.await.unwrap(), Ok(4));
    });
}

#[test]
fn an_immediate_shutdown_voids_the_claims_with_the_items() {
    run(async {
        let q = LifoQueue::new(0);
        let q1 = q.clone();
        let getter = boucle::spawn(async move { q1.get().await });
        boucle::yield_now().await;
        q.put_nowait(4).unwrap();
        q.shutdown(true);
        assert_eq!(getter.await.unwrap(), Err(QueueShutDown(())));
        assert_eq!(q.qsize(), 0);
    });
}
