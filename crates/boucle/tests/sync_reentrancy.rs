//! No primitive wakes a waiter, or drops a waiter's waker, while it holds
//! its own `RefCell` borrow: a wake can run code (or drop a task) that
//! touches the same primitive. Each test polls a waiter with a waker whose
//! `wake` and `Drop` read the primitive, then triggers every path that
//! wakes or drops it; a borrow held across them would panic.

use std::cell::{Cell, RefCell};
use std::future::Future;
use std::pin::pin;
use std::rc::Rc;
use std::sync::Arc;
use std::task::{Context, Poll, Wake, Waker};

use boucle::sync::{Barrier, Condition, Event, Lock, Queue, Semaphore};

thread_local! {
    static TOUCH: RefCell<Option<Rc<dyn Fn()>>> = RefCell::new(None);
    static TOUCHES: Cell<u32> = const { Cell::new(0) };
}

/// A waker that reads the primitive when woken and when dropped.
struct Probe;

fn touch() {
    let f = TOUCH.with(|t| t.borrow().clone());
    if let Some(f) = f {
        f();
        TOUCHES.with(|n| n.set(n.get() + 1));
    }
}

impl Wake for Probe {
    fn wake(self: Arc<Self>) {
        touch();
    }
}

impl Drop for Probe {
    fn drop(&mut self) {
        touch();
    }
}

/// Installs `f` as what the probe does, and resets the count.
fn on_touch(f: impl Fn() + 'static) {
    TOUCH.with(|t| *t.borrow_mut() = Some(Rc::new(f)));
    TOUCHES.with(|n| n.set(0));
}

fn touches() -> u32 {
    TOUCHES.with(|n| n.get())
}

/// Polls `fut` once with a fresh probe waker and drops the caller's copy,
/// so the primitive holds the last reference: its wake and its drop both
/// happen inside the primitive.
fn park<F: Future>(fut: std::pin::Pin<&mut F>) {
    let waker = Waker::from(Arc::new(Probe));
    let polled = fut.poll(&mut Context::from_waker(&waker));
    assert!(polled.is_pending());
}

fn poll_now<F: Future>(fut: std::pin::Pin<&mut F>) -> Poll<F::Output> {
    fut.poll(&mut Context::from_waker(Waker::noop()))
}

#[test]
fn queue_put_wakes_a_getter_after_releasing_its_borrow() {
    let q = Queue::new(0);
    let q2 = q.clone();
    on_touch(move || assert_eq!(q2.statistics().getters, 0));
    let mut get = pin!(q.get());
    park(get.as_mut());
    q.put_nowait(1).unwrap();
    assert_eq!(touches(), 2); // woken, then its waker dropped
    assert_eq!(poll_now(get.as_mut()), Poll::Ready(Ok(1)));
}

#[test]
fn queue_get_wakes_a_putter_after_releasing_its_borrow() {
    let q = Queue::new(1);
    q.put_nowait(0).unwrap();
    let q2 = q.clone();
    on_touch(move || {
        let _ = q2.full();
    });
    let mut put = pin!(q.put(1));
    park(put.as_mut());
    assert_eq!(q.get_nowait(), Ok(0));
    assert_eq!(touches(), 2);
    assert_eq!(poll_now(put.as_mut()), Poll::Ready(Ok(())));
    assert_eq!(q.get_nowait(), Ok(1));
}

#[test]
fn queue_shutdown_task_done_and_cancel_release_their_borrow_first() {
    let q = Queue::<u8>::new(0);
    let q2 = q.clone();
    on_touch(move || {
        let _ = q2.statistics();
    });
    {
        let mut get = pin!(q.get());
        park(get.as_mut());
    } // dropped while waiting: its waker is dropped by cancel_get
    assert_eq!(touches(), 1);

    q.put_nowait(1).unwrap();
    q.get_nowait().unwrap();
    let mut join = pin!(q.join());
    park(join.as_mut());
    q.task_done().unwrap();
    assert_eq!(touches(), 3);
    assert_eq!(poll_now(join.as_mut()), Poll::Ready(()));

    let mut get = pin!(q.get());
    park(get.as_mut());
    q.shutdown(true);
    assert_eq!(touches(), 5);
    assert!(matches!(poll_now(get.as_mut()), Poll::Ready(Err(_))));
}

#[test]
fn lock_and_semaphore_releases_wake_after_their_borrow() {
    let lock = Lock::new();
    let l2 = lock.clone();
    on_touch(move || assert!(l2.locked()));
    let guard = lock.try_acquire().unwrap();
    let mut acquire = pin!(lock.acquire());
    park(acquire.as_mut());
    drop(guard);
    assert_eq!(touches(), 2);
    assert!(poll_now(acquire.as_mut()).is_ready());

    let sem = Semaphore::new(1);
    let s2 = sem.clone();
    on_touch(move || assert_eq!(s2.available_permits(), 0));
    let permit = sem.try_acquire().unwrap();
    let mut acquire = pin!(sem.acquire());
    park(acquire.as_mut());
    drop(permit);
    assert_eq!(touches(), 2);
    assert!(poll_now(acquire.as_mut()).is_ready());
}

#[test]
fn event_set_and_condition_notify_wake_after_their_borrow() {
    let ev = Event::new();
    let e2 = ev.clone();
    on_touch(move || assert!(e2.is_set()));
    let mut wait = pin!(ev.wait());
    park(wait.as_mut());
    ev.set();
    assert_eq!(touches(), 2);
    assert_eq!(poll_now(wait.as_mut()), Poll::Ready(()));

    let cond = Condition::new();
    let c2 = cond.clone();
    on_touch(move || {
        let _ = c2.statistics();
    });
    let guard = cond.try_acquire().unwrap();
    let mut wait = pin!(cond.wait(guard));
    park(wait.as_mut());
    cond.notify_all();
    assert_eq!(touches(), 2);
    assert!(poll_now(wait.as_mut()).is_ready());
}

#[test]
fn barrier_release_and_abort_wake_after_their_borrow() {
    let b = Barrier::new(2);
    let b2 = b.clone();
    on_touch(move || {
        let _ = b2.statistics();
    });
    let mut first = pin!(b.wait());
    park(first.as_mut());
    let mut second = pin!(b.wait());
    assert_eq!(poll_now(second.as_mut()), Poll::Ready(Ok(1)));
    assert_eq!(touches(), 2);
    assert_eq!(poll_now(first.as_mut()), Poll::Ready(Ok(0)));

    let mut third = pin!(b.wait());
    park(third.as_mut());
    b.abort();
    assert_eq!(touches(), 4);
    assert!(matches!(poll_now(third.as_mut()), Poll::Ready(Err(_))));
}

#[test]
fn a_waker_replaced_on_a_new_poll_is_dropped_after_the_borrow() {
    let q = Queue::<u8>::new(0);
    let q2 = q.clone();
    on_touch(move || {
        let _ = q2.statistics();
    });
    let mut get = pin!(q.get());
    park(get.as_mut());
    // Polled again with another waker: the probe is replaced and dropped.
    assert!(poll_now(get.as_mut()).is_pending());
    assert_eq!(touches(), 1);
}
