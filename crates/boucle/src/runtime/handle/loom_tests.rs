//! Loom models of a `Handle`'s result path (what `spawn_on` and
//! `Handle::spawn` give back): the task's completion racing the thread or
//! task that waits for it, and a cross-thread cancel racing the task's poll.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll, Wake, Waker};

use loom::sync::atomic::{AtomicUsize, Ordering};

use super::*;

#[derive(Default)]
struct Count(AtomicUsize);

impl Wake for Count {
    fn wake(self: Arc<Self>) {
        self.0.fetch_add(1, Ordering::SeqCst);
    }
}

fn pair<T>() -> (Completion<T>, RemoteTask<T>) {
    let slot = Arc::new(Slot::default());
    let cancel = Arc::new(Cancel::default());
    (
        Completion {
            slot: slot.clone(),
            sent: false,
        },
        RemoteTask { slot, cancel },
    )
}

/// The loop thread completes the task while another thread blocks in
/// `wait`: it wakes with the value (never hangs).
#[test]
fn wait_sees_the_completion() {
    loom::model(|| {
        let (mut done, task) = pair::<u32>();
        let loop_thread = loom::thread::spawn(move || done.send(Ok(9)));
        assert_eq!(task.wait().unwrap(), 9);
        loop_thread.join().unwrap();
    });
}

/// The job is dropped unrun (its loop shut down) while a thread waits:
/// the waiter gets `Cancelled`.
#[test]
fn a_dropped_completion_reads_as_cancelled() {
    loom::model(|| {
        let (done, task) = pair::<u32>();
        let loop_thread = loom::thread::spawn(move || drop(done));
        assert!(task.wait().unwrap_err().is_cancelled());
        loop_thread.join().unwrap();
    });
}

/// Awaited from another loop: the poll gets the result, or its waker is
/// woken by the completion (no lost wake-up).
#[test]
fn an_awaiting_task_is_woken_by_the_completion() {
    loom::model(|| {
        let (mut done, mut task) = pair::<u32>();
        let loop_thread = loom::thread::spawn(move || done.send(Ok(4)));
        let count = Arc::new(Count::default());
        let waker = Waker::from(count.clone());
        let mut cx = Context::from_waker(&waker);
        let first = Pin::new(&mut task).poll(&mut cx);
        loop_thread.join().unwrap();
        match first {
            Poll::Ready(r) => assert_eq!(r.unwrap(), 4),
            Poll::Pending => {
                assert_eq!(count.0.load(Ordering::SeqCst), 1, "lost wake-up");
                assert_eq!(
                    Pin::new(&mut task).poll(&mut cx).map(Result::unwrap),
                    Poll::Ready(4)
                );
            }
        }
    });
}

/// `cancel` from another thread while the loop polls the task: the poll
/// sees the request (and the result is Cancelled), or the task's waker is
/// woken so that its next poll does.
#[test]
fn a_cancel_is_seen_or_wakes_the_task() {
    loom::model(|| {
        let (done, task) = pair::<u32>();
        let cancel = task.cancel.clone();
        let mut remote = Box::pin(Remote {
            future: std::future::pending::<u32>(),
            cancel: cancel.clone(),
            completion: done,
        });
        let canceller = loom::thread::spawn(move || task.cancel());
        let count = Arc::new(Count::default());
        let waker = Waker::from(count.clone());
        let mut cx = Context::from_waker(&waker);
        let first = remote.as_mut().poll(&mut cx);
        canceller.join().unwrap();
        if first.is_pending() {
            assert_eq!(count.0.load(Ordering::SeqCst), 1, "lost cancel");
            assert!(remote.as_mut().poll(&mut cx).is_ready());
        }
        drop(remote); // sends Cancelled
    });
}
