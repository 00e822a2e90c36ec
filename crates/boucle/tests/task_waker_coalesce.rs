//! Wakes from other threads are coalesced: a task already on its way to
//! the loop is not queued again (hardening issue, bug 2). Memory stays
//! bounded by the number of tasks, whatever the number of wakes. This file
//! is its own process so that the peak-RSS reading is its own.

use std::cell::Cell;
use std::future::poll_fn;
use std::rc::Rc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Poll, Waker};
use std::time::Duration;

/// The process's peak resident set (VmHWM), in bytes.
fn peak_rss() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    let kib: u64 = status
        .lines()
        .find(|l| l.starts_with("VmHWM:"))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|v| v.parse().ok())
        .expect("VmHWM in /proc/self/status");
    kib * 1024
}

#[test]
fn millions_of_foreign_wakes_on_a_busy_loop_cost_one_entry() {
    const THREADS: usize = 4;
    const WAKES: usize = 1_000_000;
    let polls = Rc::new(Cell::new(0u32));
    let slot: Arc<Mutex<Option<Waker>>> = Arc::default();
    let (grown, polls_seen) = boucle::run({
        let polls = polls.clone();
        let slot = slot.clone();
        async move {
            let task = boucle::spawn({
                let polls = polls.clone();
                let slot = slot.clone();
                poll_fn(move |cx| {
                    polls.set(polls.get() + 1);
                    *slot.lock().unwrap() = Some(cx.waker().clone());
                    if polls.get() >= 2 {
                        Poll::Ready(())
                    } else {
                        Poll::Pending
                    }
                })
            });
            boucle::yield_now().await; // the task runs once and parks
            let waker = slot.lock().unwrap().take().expect("the task parked");
            let before = peak_rss();
            // The loop is busy in this poll while the threads wake the task:
            // before the fix, each wake queued an 8-byte entry (32 MB here).
            std::thread::scope(|s| {
                for _ in 0..THREADS {
                    s.spawn(|| {
                        for _ in 0..WAKES {
                            waker.wake_by_ref();
                        }
                    });
                }
            });
            let grown = peak_rss().saturating_sub(before);
            task.await.unwrap();
            (grown, polls.get())
        }
    });
    assert_eq!(polls_seen, 2, "one poll for all the wakes");
    assert!(
        grown < 8 << 20,
        "peak RSS grew by {} KiB for {} foreign wakes",
        grown >> 10,
        THREADS * WAKES
    );
}

#[test]
fn a_wake_after_the_loop_took_the_entry_is_sent_again() {
    // A thread advances a counter and wakes the task each time, racing the
    // loop as it clears the notified bit: the task must see every step up to
    // the last (a lost wake would hang it; the timeout turns that into a
    // failure).
    const STEPS: usize = 20_000;
    boucle::run(async {
        let counter = Arc::new(AtomicUsize::new(0));
        let slot: Arc<Mutex<Option<Waker>>> = Arc::default();
        let polls = Rc::new(Cell::new(0usize));
        let task = boucle::spawn({
            let (counter, slot, polls) = (counter.clone(), slot.clone(), polls.clone());
            poll_fn(move |cx| {
                polls.set(polls.get() + 1);
                *slot.lock().unwrap() = Some(cx.waker().clone());
                if counter.load(Ordering::Acquire) == STEPS {
                    Poll::Ready(())
                } else {
                    Poll::Pending
                }
            })
        });
        boucle::yield_now().await;
        let waker = slot.lock().unwrap().take().unwrap();
        let thread = std::thread::spawn({
            let counter = counter.clone();
            move || {
                for i in 1..=STEPS {
                    counter.store(i, Ordering::Release);
                    waker.wake_by_ref();
                }
            }
        });
        boucle::timeout(Duration::from_secs(30), task)
            .await
            .expect("a foreign wake was lost")
            .unwrap();
        thread.join().unwrap();
        assert!(polls.get() >= 2 && polls.get() <= STEPS + 1);
    });
}

#[test]
#[allow(clippy::async_yields_async)] // the handle is awaited by the next block_on
fn wakes_from_outside_the_loop_are_coalesced_too() {
    // Between two block_on calls no loop runs: wakes take the remote path.
    let rt = boucle::Runtime::new().unwrap();
    let polls = Rc::new(Cell::new(0u32));
    let slot: Arc<Mutex<Option<Waker>>> = Arc::default();
    let task = rt.block_on({
        let (polls, slot) = (polls.clone(), slot.clone());
        async move {
            let t = boucle::spawn(poll_fn(move |cx| {
                polls.set(polls.get() + 1);
                *slot.lock().unwrap() = Some(cx.waker().clone());
                if polls.get() >= 2 {
                    Poll::Ready(7)
                } else {
                    Poll::Pending
                }
            }));
            boucle::yield_now().await;
            t
        }
    });
    let waker = slot.lock().unwrap().take().unwrap();
    for _ in 0..100_000 {
        waker.wake_by_ref();
    }
    assert_eq!(rt.block_on(task).unwrap(), 7);
    assert_eq!(polls.get(), 2);
}
