//! Wakers cross threads: cloned to and woken from other threads, outliving
//! their task and their runtime.

// Some tests return a `Task` from `block_on` on purpose: to keep it
// beyond the loop.
#![allow(clippy::async_yields_async)]

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, Waker};
use std::thread;
use std::time::Duration;

use boucle::Runtime;

/// Completes once `flag` is set; hands its waker to `slot` each poll.
struct WaitFlag {
    flag: Arc<AtomicBool>,
    slot: Arc<Mutex<Option<Waker>>>,
}

impl Future for WaitFlag {
    type Output = ();
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        if self.flag.load(Ordering::Acquire) {
            return Poll::Ready(());
        }
        *self.slot.lock().unwrap() = Some(cx.waker().clone());
        if self.flag.load(Ordering::Acquire) {
            return Poll::Ready(());
        }
        Poll::Pending
    }
}

fn waker_from_thread(in_task: bool) {
    let flag = Arc::new(AtomicBool::new(false));
    let slot: Arc<Mutex<Option<Waker>>> = Arc::new(Mutex::new(None));
    let (f, s) = (flag.clone(), slot.clone());
    let thread = thread::spawn(move || {
        // Wait until the loop parked with our waker registered.
        loop {
            if let Some(w) = s.lock().unwrap().take() {
                thread::sleep(Duration::from_millis(2));
                f.store(true, Ordering::Release);
                w.wake();
                break;
            }
            thread::yield_now();
        }
    });
    let fut = WaitFlag { flag, slot };
    boucle::run(async move {
        if in_task {
            boucle::spawn(fut).await.unwrap();
        } else {
            fut.await;
        }
    });
    thread.join().unwrap();
}

#[test]
fn a_task_woken_from_another_thread_runs() {
    waker_from_thread(true);
}

#[test]
fn the_main_future_woken_from_another_thread_runs() {
    waker_from_thread(false);
}

#[test]
fn many_threads_wake_many_tasks() {
    const TASKS: usize = 200;
    let flags: Vec<_> = (0..TASKS)
        .map(|_| Arc::new(AtomicBool::new(false)))
        .collect();
    let slots: Vec<Arc<Mutex<Option<Waker>>>> =
        (0..TASKS).map(|_| Arc::new(Mutex::new(None))).collect();
    let threads: Vec<_> = (0..4)
        .map(|t| {
            let flags = flags.clone();
            let slots = slots.clone();
            thread::spawn(move || {
                let mut left: Vec<usize> = (t..TASKS).step_by(4).collect();
                while !left.is_empty() {
                    left.retain(|&i| match slots[i].lock().unwrap().take() {
                        Some(w) => {
                            flags[i].store(true, Ordering::Release);
                            // Wake twice, by ref and by value: duplicates are harmless.
                            w.wake_by_ref();
                            w.wake();
                            false
                        }
                        None => true,
                    });
                    thread::yield_now();
                }
            })
        })
        .collect();
    let n = boucle::run(async move {
        let tasks: Vec<_> = flags
            .into_iter()
            .zip(slots)
            .map(|(flag, slot)| boucle::spawn(WaitFlag { flag, slot }))
            .collect();
        let mut n = 0;
        for t in tasks {
            t.await.unwrap();
            n += 1;
        }
        n
    });
    assert_eq!(n, TASKS);
    for t in threads {
        t.join().unwrap();
    }
}

#[test]
fn a_waker_outliving_its_task_and_runtime_is_safe_to_wake_and_drop() {
    let kept: Arc<Mutex<Option<Waker>>> = Arc::new(Mutex::new(None));
    let k = kept.clone();
    let rt = Runtime::new().unwrap();
    rt.block_on(async move {
        boucle::spawn(std::future::poll_fn(move |cx| {
            *k.lock().unwrap() = Some(cx.waker().clone());
            Poll::Ready(())
        }))
        .await
        .unwrap();
    });
    let waker = kept.lock().unwrap().take().unwrap();
    // Woken while the runtime lives but is not running: goes to the remote
    // queue of a completed task, ignored.
    waker.wake_by_ref();
    drop(rt);
    // Woken and dropped on another thread after the runtime is gone.
    let other = waker.clone();
    thread::spawn(move || {
        other.wake_by_ref();
        other.wake();
    })
    .join()
    .unwrap();
    drop(waker);
}

#[test]
fn a_waker_of_an_unfinished_task_outliving_the_runtime() {
    let kept: Arc<Mutex<Option<Waker>>> = Arc::new(Mutex::new(None));
    let k = kept.clone();
    let rt = Runtime::new().unwrap();
    let handle = rt.block_on(async move {
        let t = boucle::spawn(std::future::poll_fn(move |cx| -> Poll<()> {
            *k.lock().unwrap() = Some(cx.waker().clone());
            Poll::Pending
        }));
        boucle::yield_now().await;
        t
    });
    drop(rt); // cancels the task; the handle and the waker survive.
    assert!(handle.is_cancelled());
    let waker = kept.lock().unwrap().take().unwrap();
    let t = thread::spawn(move || waker.wake());
    t.join().unwrap();
    drop(handle);
}

#[test]
fn wakers_are_send_and_sync() {
    fn check<T: Send + Sync>() {}
    check::<Waker>();
    check::<boucle::TaskError>();
}
