//! The queue's cancel-safety promise. First targeted cases: a `get` or
//! `put` dropped while waiting, or after an item or place was handed to it.
//! Then random schedules: producers and
//! consumers put and get numbered items through short random timeouts,
//! `put_nowait`/`get_nowait`, and tasks cancelled at random points (before
//! their first poll, after a yield, after a random sleep, which often lands
//! right after the item or place was handed to them). At the end, the items
//! received plus those left equal, exactly once each, the items whose put
//! returned `Ok`. Seeded virtual time: every run is the same schedule.

mod common;
use common::secs;
use std::cell::{Cell, RefCell};
use std::rc::Rc;
use std::time::Duration;

use boucle::random::randint;
use boucle::sync::queue::{BaseQueue, Order};
use boucle::sync::{GetNowaitError, LifoQueue, PriorityQueue, Queue, QueueEmpty};

fn run<F: std::future::Future>(f: F) -> F::Output {
    common::run_virtual(7, f)
}

// ------------------------------------------------- targeted cancellations

#[test]
fn a_cancelled_get_gives_its_handed_item_to_the_next_getter() {
    run(async {
        let q = Queue::new(0);
        let (qa, qb) = (q.clone(), q.clone());
        let a = boucle::spawn(async move { qa.get().await });
        let b = boucle::spawn(async move { qb.get().await });
        boucle::yield_now().await;
        q.put_nowait("x").unwrap(); // handed to a
        assert!(a.cancel()); // a is dropped before it sees the item
        assert!(a.await.unwrap_err().is_cancelled());
        assert_eq!(b.await.unwrap(), Ok("x"));
        assert!(q.empty());
    });
}

#[test]
fn a_cancelled_get_puts_its_handed_item_back_at_the_head() {
    run(async {
        let q = Queue::new(0);
        let qa = q.clone();
        let a = boucle::spawn(async move { qa.get().await });
        boucle::yield_now().await;
        q.put_nowait(1).unwrap(); // handed to a
        q.put_nowait(2).unwrap(); // queued
        a.cancel();
        assert!(a.await.is_err());
        assert_eq!(q.get_nowait(), Ok(1));
        assert_eq!(q.get_nowait(), Ok(2));
        assert_eq!(q.statistics().unfinished_tasks, 2);
    });
}

#[test]
fn a_cancelled_put_inserts_nothing() {
    run(async {
        let q = Queue::new(1);
        q.put_nowait(1).unwrap();
        let qa = q.clone();
        let a = boucle::spawn(async move { qa.put(2).await });
        boucle::yield_now().await;
        a.cancel();
        assert!(a.await.is_err());
        assert_eq!(q.get_nowait(), Ok(1));
        assert_eq!(q.get_nowait(), Err(GetNowaitError::Empty(QueueEmpty)));
        assert_eq!(q.statistics().unfinished_tasks, 1);
    });
}

#[test]
fn a_cancelled_put_passes_its_reserved_place_to_the_next_putter() {
    run(async {
        let q = Queue::new(1);
        q.put_nowait(1).unwrap();
        let (qa, qb) = (q.clone(), q.clone());
        let a = boucle::spawn(async move { qa.put(2).await });
        let b = boucle::spawn(async move { qb.put(3).await });
        boucle::yield_now().await;
        assert_eq!(q.get_nowait(), Ok(1)); // the place is reserved for a
        a.cancel();
        assert!(a.await.is_err());
        assert_eq!(b.await.unwrap(), Ok(()));
        assert_eq!(q.get_nowait(), Ok(3));
        assert!(q.empty());
    });
}

#[test]
fn a_get_whose_timeout_elapses_loses_nothing() {
    run(async {
        let q = Queue::new(0);
        let first = boucle::timeout(secs(1), q.get()).await;
        assert!(first.is_err());
        q.put_nowait(5).unwrap();
        assert_eq!(boucle::timeout(secs(1), q.get()).await, Ok(Ok(5)));
        assert_eq!(q.statistics().getters, 0);
    });
}

#[test]
fn a_put_whose_timeout_elapses_inserts_nothing() {
    run(async {
        let q = Queue::new(1);
        q.put_nowait(1).unwrap();
        assert!(boucle::timeout(secs(1), q.put(2)).await.is_err());
        assert_eq!(q.statistics().putters, 0);
        assert_eq!((q.qsize(), q.get_nowait()), (1, Ok(1)));
        assert!(q.empty());
    });
}

// ------------------------------------------- random cancellation schedules

#[derive(Default)]
struct Ledger {
    /// Items whose put returned `Ok` (inserted exactly once).
    put: RefCell<Vec<u64>>,
    /// Items a get returned.
    got: RefCell<Vec<u64>>,
    ops: Cell<usize>,
    next_id: Cell<u64>,
    /// How many spawned operations were cancelled before completing.
    cancelled: Cell<usize>,
}

impl Ledger {
    /// Takes one operation from the budget; false when it is spent.
    fn take_op(&self, budget: usize) -> bool {
        let n = self.ops.get();
        self.ops.set(n + 1);
        n < budget
    }
}

fn ms(n: i64) -> Duration {
    Duration::from_millis(n as u64)
}

/// A short random pause: none, a yield, or a sleep of 0-3 ms.
async fn pause() {
    match randint(0, 3) {
        0 => {}
        1 => boucle::yield_now().await,
        _ => boucle::sleep(ms(randint(0, 3))).await,
    }
}

/// Cancels `task` at a random point: before its first poll, after a yield
/// or after a short sleep. Returns whether it was still running.
async fn cancel_at_random<T>(task: boucle::Task<T>) -> bool {
    match randint(0, 2) {
        0 => {}
        1 => boucle::yield_now().await,
        _ => boucle::sleep(ms(randint(0, 3))).await,
    }
    let cancelled = task.cancel();
    let _ = task.await;
    cancelled
}

async fn producer<O: Order<u64> + 'static>(q: BaseQueue<u64, O>, l: Rc<Ledger>, budget: usize) {
    while l.take_op(budget) {
        let id = l.next_id.get();
        l.next_id.set(id + 1);
        match randint(0, 2) {
            0 => {
                if q.put_nowait(id).is_ok() {
                    l.put.borrow_mut().push(id);
                }
            }
            1 => {
                let limit = ms(randint(0, 4));
                if let Ok(r) = boucle::timeout(limit, q.put(id)).await {
                    r.expect("the queue is never shut down here");
                    l.put.borrow_mut().push(id);
                }
            }
            _ => {
                let (q2, l2) = (q.clone(), l.clone());
                let task = boucle::spawn(async move {
                    q2.put(id).await.unwrap();
                    l2.put.borrow_mut().push(id);
                });
                if cancel_at_random(task).await {
                    l.cancelled.set(l.cancelled.get() + 1);
                }
            }
        }
        pause().await;
    }
}

async fn consumer<O: Order<u64> + 'static>(q: BaseQueue<u64, O>, l: Rc<Ledger>, budget: usize) {
    while l.take_op(budget) {
        match randint(0, 2) {
            0 => {
                if let Ok(id) = q.get_nowait() {
                    l.got.borrow_mut().push(id);
                }
            }
            1 => {
                let limit = ms(randint(0, 4));
                if let Ok(r) = boucle::timeout(limit, q.get()).await {
                    l.got.borrow_mut().push(r.unwrap());
                }
            }
            _ => {
                let (q2, l2) = (q.clone(), l.clone());
                let task = boucle::spawn(async move {
                    let id = q2.get().await.unwrap();
                    l2.got.borrow_mut().push(id);
                });
                if cancel_at_random(task).await {
                    l.cancelled.set(l.cancelled.get() + 1);
                }
            }
        }
        pause().await;
    }
}

/// Runs the scenario and checks the ledger; returns (items put, cancelled
/// operations) for the caller to check that the run did something.
fn scenario<O, F>(seed: u64, budget: usize, make: F) -> (usize, usize)
where
    O: Order<u64> + 'static,
    F: FnOnce(usize) -> BaseQueue<u64, O>,
{
    let rt = boucle::Runtime::builder()
        .virtual_time(true)
        .seed(seed)
        .build()
        .unwrap();
    rt.block_on(async move {
        let maxsize = [1, 1, 2, 3, 8][randint(0, 4) as usize];
        let q = make(maxsize);
        let l = Rc::new(Ledger::default());
        let mut workers = Vec::new();
        for _ in 0..4 {
            workers.push(boucle::spawn(producer(q.clone(), l.clone(), budget)));
            workers.push(boucle::spawn(consumer(q.clone(), l.clone(), budget)));
        }
        for w in workers {
            w.await.unwrap();
        }
        // Every spawned operation has finished or been dropped by now.
        let s = q.statistics();
        assert_eq!((s.getters, s.putters), (0, 0));
        assert!(
            s.qsize <= maxsize + 1,
            "qsize {} > maxsize {maxsize} + 1",
            s.qsize
        );
        while let Ok(id) = q.get_nowait() {
            l.got.borrow_mut().push(id);
        }
        let mut put = l.put.take();
        let mut got = l.got.take();
        assert_eq!(q.statistics().unfinished_tasks, put.len());
        put.sort_unstable();
        got.sort_unstable();
        assert!(put.windows(2).all(|w| w[0] < w[1]), "an id was put twice");
        assert_eq!(got.len(), put.len(), "items lost or duplicated");
        assert_eq!(got, put, "received items differ from those put");
        // Every item counted once for join.
        for _ in 0..put.len() {
            q.task_done().unwrap();
        }
        assert!(q.task_done().is_err());
        q.join().await;
        (put.len(), l.cancelled.get())
    })
}

#[test]
fn fifo_queue_loses_and_duplicates_nothing_over_100_000_operations() {
    let (put, cancelled) = scenario(0x5eed, 100_000, Queue::new);
    assert!(put > 10_000, "only {put} items were put");
    assert!(
        cancelled > 1_000,
        "only {cancelled} operations were cancelled"
    );
}

#[test]
fn lifo_queue_loses_and_duplicates_nothing_under_cancellation() {
    let (put, cancelled) = scenario(11, 20_000, LifoQueue::new);
    assert!(
        put > 2_000 && cancelled > 200,
        "{put} put, {cancelled} cancelled"
    );
}

#[test]
fn priority_queue_loses_and_duplicates_nothing_under_cancellation() {
    let (put, cancelled) = scenario(12, 20_000, PriorityQueue::new);
    assert!(
        put > 2_000 && cancelled > 200,
        "{put} put, {cancelled} cancelled"
    );
}

#[test]
fn the_same_seed_gives_the_same_run() {
    let a = scenario(99, 5_000, Queue::new);
    let b = scenario(99, 5_000, Queue::new);
    assert_eq!(a, b);
}

#[test]
fn many_seeds_with_small_budgets() {
    for seed in 0..20 {
        let (put, _) = scenario(1000 + seed, 2_000, Queue::new);
        assert!(put > 0, "seed {seed}: nothing was put");
    }
}
