//! Task memory on a scheduler of its own, with no loop: the `Schedule`
//! seam (`task/schedule.rs`) is all raw tasks need. The test scheduler
//! records where wakes go, frees memory and counts it, and keeps unobserved
//! panics.

use std::alloc::Layout;
use std::any::Any;
use std::cell::{Cell, RefCell};
use std::future::Future;
use std::pin::Pin;
use std::ptr::NonNull;
use std::rc::Rc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, Waker};
use std::thread::{self, ThreadId};

use super::{allocate, PollOutcome, RemoteRef, TaskRef};
use crate::task::error::TaskError;
use crate::task::schedule::{LocalQueue, Schedule};
use crate::task::state::{Exit, RunAction};
use crate::task::{Task, TaskId};

thread_local! {
    /// The run queue of the test loop (on its thread).
    static QUEUE: RefCell<Vec<TaskRef>> = const { RefCell::new(Vec::new()) };
}

struct TestSched {
    thread: ThreadId,
    remote: Mutex<Vec<RemoteRef>>,
    freed: AtomicUsize,
    reports: Mutex<Vec<String>>,
}

struct TestLocal;

impl LocalQueue for TestLocal {
    fn push(&self, task: TaskRef) {
        QUEUE.with(|q| q.borrow_mut().push(task));
    }
}

// SAFETY: `with_local` runs `f` only on the thread that made the scheduler;
// `dealloc` frees with the global allocator the memory `allocate` got from
// it (these tests pass no slab block); the scheduler lives in an `Arc` the
// tests keep until every task is gone.
unsafe impl Schedule for TestSched {
    type Local = TestLocal;

    fn with_local<R>(&self, f: impl FnOnce(&TestLocal) -> R) -> Option<R> {
        (thread::current().id() == self.thread).then(|| f(&TestLocal))
    }

    fn push_remote(&self, task: RemoteRef) {
        self.remote.lock().unwrap().push(task);
    }

    fn local_task_released(&self) -> bool {
        false
    }

    unsafe fn dealloc(&self, ptr: NonNull<u8>, layout: Layout, in_slab: bool) {
        assert!(!in_slab);
        self.freed.fetch_add(1, Ordering::SeqCst);
        // SAFETY: allocated by `alloc::alloc(layout)` in `allocate`.
        unsafe { std::alloc::dealloc(ptr.as_ptr(), layout) };
    }

    fn report_unobserved(&self, payload: Box<dyn Any + Send>) {
        let msg = crate::task::error::payload_str(&*payload)
            .unwrap_or("?")
            .to_owned();
        self.reports.lock().unwrap().push(msg);
    }
}

fn sched() -> Arc<TestSched> {
    Arc::new(TestSched {
        thread: thread::current().id(),
        remote: Mutex::new(Vec::new()),
        freed: AtomicUsize::new(0),
        reports: Mutex::new(Vec::new()),
    })
}

/// Spawns `future` on `sched`: the handle, and the run queue entry (the
/// registry's owner entry is dropped at once: these tests own the task
/// through its handle and its queue entries).
fn spawn<F: Future + 'static>(sched: &Arc<TestSched>, future: F) -> (Task<F::Output>, TaskRef) {
    let location = std::panic::Location::caller();
    let [handle, owner, queued] = allocate(future, TaskId(1), sched, None, None, location);
    drop(owner);
    (Task::from_raw(handle), queued)
}

fn take_queue() -> Vec<TaskRef> {
    QUEUE.with(|q| std::mem::take(&mut *q.borrow_mut()))
}

/// A future that parks its waker in `slot` and counts its polls until
/// `ready` says to finish.
struct Parked {
    polls: Rc<Cell<u32>>,
    ready: Rc<Cell<bool>>,
    slot: Arc<Mutex<Option<Waker>>>,
}

impl Future for Parked {
    type Output = u32;
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<u32> {
        self.polls.set(self.polls.get() + 1);
        if self.ready.get() {
            return Poll::Ready(self.polls.get());
        }
        *self.slot.lock().unwrap() = Some(cx.waker().clone());
        Poll::Pending
    }
}

/// A parked future, with its poll count, its "finish" switch and its waker.
type ParkedParts = (
    Parked,
    Rc<Cell<u32>>,
    Rc<Cell<bool>>,
    Arc<Mutex<Option<Waker>>>,
);

fn parked() -> ParkedParts {
    let polls = Rc::new(Cell::new(0));
    let ready = Rc::new(Cell::new(false));
    let slot = Arc::new(Mutex::new(None));
    let f = Parked {
        polls: polls.clone(),
        ready: ready.clone(),
        slot: slot.clone(),
    };
    (f, polls, ready, slot)
}

/// The handle's output, polled with a no-op waker.
fn output<T>(task: &mut Task<T>) -> Poll<Result<T, TaskError>> {
    let mut cx = Context::from_waker(Waker::noop());
    Pin::new(task).poll(&mut cx)
}

#[test]
fn a_local_wake_goes_to_the_schedulers_run_queue() {
    let s = sched();
    let (f, polls, ready, slot) = parked();
    let (mut task, queued) = spawn(&s, f);
    assert!(matches!(
        queued.run(),
        (RunAction::Poll { first: true }, PollOutcome::Pending)
    ));
    drop(queued);
    assert!(output(&mut task).is_pending());
    let waker = slot.lock().unwrap().take().unwrap();
    waker.wake_by_ref();
    waker.wake_by_ref(); // already scheduled: queued once
    let mut queue = take_queue();
    assert_eq!(queue.len(), 1);
    ready.set(true);
    let next = queue.pop().unwrap();
    assert!(matches!(
        next.run(),
        (
            _,
            PollOutcome::Complete {
                outcome: Exit::Done,
                ..
            }
        )
    ));
    drop(next);
    assert!(matches!(output(&mut task), Poll::Ready(Ok(2))));
    assert_eq!(polls.get(), 2);
    assert_eq!(
        s.freed.load(Ordering::SeqCst),
        0,
        "the waker and the handle remain"
    );
    drop(task);
    assert_eq!(s.freed.load(Ordering::SeqCst), 0, "the waker remains");
    drop(waker);
    assert_eq!(s.freed.load(Ordering::SeqCst), 1);
}

#[test]
fn a_wake_from_another_thread_goes_to_the_remote_queue_once() {
    let s = sched();
    let (f, _polls, ready, slot) = parked();
    let (mut task, queued) = spawn(&s, f);
    let _ = queued.run();
    drop(queued);
    let waker = slot.lock().unwrap().take().unwrap();
    thread::spawn(move || {
        for _ in 0..1000 {
            waker.wake_by_ref();
        }
    })
    .join()
    .unwrap();
    let remote = std::mem::take(&mut *s.remote.lock().unwrap());
    assert_eq!(remote.len(), 1, "foreign wakes are coalesced");
    assert!(take_queue().is_empty());
    // The loop turns the remote wake into a local schedule.
    for r in remote {
        r.schedule_on_loop(|t| QUEUE.with(|q| q.borrow_mut().push(t)));
    }
    ready.set(true);
    for t in take_queue() {
        let _ = t.run();
    }
    assert!(matches!(output(&mut task), Poll::Ready(Ok(2))));
    drop(task);
    assert_eq!(
        s.freed.load(Ordering::SeqCst),
        1,
        "the waker was dropped on its thread"
    );
}

#[test]
fn memory_outlives_the_local_side_until_the_last_foreign_waker_goes() {
    let s = sched();
    let (f, _polls, _ready, slot) = parked();
    let (task, queued) = spawn(&s, f);
    let _ = queued.run();
    drop(queued);
    let waker = slot.lock().unwrap().take().unwrap();
    let before = Arc::strong_count(&s);
    task.cancel();
    for t in take_queue() {
        assert!(matches!(t.run(), (RunAction::Cancel, _)));
    }
    drop(task); // the local side is gone; the waker keeps the memory
    assert_eq!(s.freed.load(Ordering::SeqCst), 0);
    assert_eq!(
        Arc::strong_count(&s),
        before + 1,
        "the memory holds the scheduler"
    );
    let s2 = s.clone();
    thread::spawn(move || {
        // A late wake on another thread: it queues a remote entry, which
        // takes a count, so dropping the waker frees nothing yet.
        waker.wake();
        assert_eq!(s2.freed.load(Ordering::SeqCst), 0);
    })
    .join()
    .unwrap();
    assert_eq!(s.remote.lock().unwrap().len(), 1);
    // The loop drops the entry of a finished task: the last count frees the
    // memory and gives the scheduler's strong count back.
    drop(std::mem::take(&mut *s.remote.lock().unwrap()));
    assert_eq!(s.freed.load(Ordering::SeqCst), 1);
    assert_eq!(Arc::strong_count(&s), before);
}

#[test]
fn cancelling_drops_the_future_and_the_handle_sees_it() {
    let s = sched();
    let dropped = Rc::new(Cell::new(0));
    struct Guard(Rc<Cell<u32>>);
    impl Drop for Guard {
        fn drop(&mut self) {
            self.0.set(self.0.get() + 1);
        }
    }
    let guard = Guard(dropped.clone());
    let (mut task, queued) = spawn(&s, async move {
        let _guard = guard;
        std::future::pending::<()>().await
    });
    assert!(task.cancel());
    assert!(matches!(
        queued.run(),
        (
            RunAction::Cancel,
            PollOutcome::Complete {
                outcome: Exit::Cancelled,
                ..
            }
        )
    ));
    assert_eq!(dropped.get(), 1);
    drop(queued);
    assert!(matches!(output(&mut task), Poll::Ready(Err(e)) if e.is_cancelled()));
    drop(task);
    assert_eq!(s.freed.load(Ordering::SeqCst), 1);
}

#[test]
fn a_panic_nobody_observes_goes_to_the_scheduler() {
    let s = sched();
    let (task, queued) = spawn(&s, async { panic!("raw boom") });
    drop(task); // detached
    let (_, outcome) = queued.run();
    let PollOutcome::Complete {
        outcome: Exit::Panicked,
        unobserved_panic: Some(p),
    } = outcome
    else {
        panic!("expected an unobserved panic");
    };
    // The loop would hand it to its exception handler; the payload is here.
    assert_eq!(crate::task::error::payload_str(&*p), Some("raw boom"));
    drop(queued);
    assert_eq!(s.freed.load(Ordering::SeqCst), 1);
}

#[test]
fn a_panic_in_a_destructor_at_release_is_reported_through_the_scheduler() {
    let s = sched();
    struct Bomb;
    impl Drop for Bomb {
        fn drop(&mut self) {
            panic!("dropped badly");
        }
    }
    let bomb = Bomb;
    let (task, queued) = spawn(&s, async move {
        let _bomb = bomb;
        std::future::pending::<()>().await
    });
    // Never run: the last references go, and the future is dropped in the
    // release, where nobody can observe its panic but the scheduler.
    drop(task);
    drop(queued);
    assert_eq!(*s.reports.lock().unwrap(), ["dropped badly"]);
    assert_eq!(s.freed.load(Ordering::SeqCst), 1);
}

#[test]
fn header_stays_small() {
    // The per-task memory budget (DESIGN.md): keep the header compact.
    use crate::task::waker::WakeHandle;
    assert_eq!(std::mem::size_of::<Result<u64, TaskError>>(), 16);
    assert_eq!(std::mem::size_of::<Option<WakeHandle>>(), 8);
    let header = std::mem::size_of::<super::Header>();
    assert!(header <= 56, "{header}");
    // The stage is an untagged union (its tag lives in the state word): a
    // task returning a word costs the header and two words.
    fn cell_size<F: std::future::Future>(_: &F) -> usize {
        super::layout_of::<F>().size()
    }
    let i = 7usize;
    assert_eq!(cell_size(&async move { i }), header + 16);
}
