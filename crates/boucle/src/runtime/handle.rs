//! `Handle`: a loop reached from other threads (tokio's `runtime::Handle`,
//! asyncio's `call_soon_threadsafe` and `run_coroutine_threadsafe`).
//!
//! A handle holds the loop's cross-thread half (`Shared`). What it sends is
//! a job on the remote queue, run by the loop thread at its next turn; the
//! park is interrupted as for a foreign wake. Results come back through a
//! slot that any thread can block on, or any executor can await.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

// loom's under `--cfg loom`: the models in `handle/loom_tests.rs`.
use crate::loom_shim::{AtomicBool, Condvar, Mutex, MutexGuard, Ordering};
use std::task::{Context, Poll, Waker};
use std::time::{Duration, Instant};

use super::context;
use super::shared::Shared;
use crate::task::TaskError;

/// A handle to a running (or idle) loop that works from any thread: spawn
/// `Send` futures on it, queue callbacks, and wait for their results.
/// Cheap to clone; `Send` and `Sync`. Made by [`Runtime::handle`] or
/// [`Handle::current`].
///
/// [`Runtime::handle`]: crate::Runtime::handle
///
/// # Examples
///
/// ```
/// let rt = boucle::Runtime::new().unwrap();
/// let handle = rt.handle();
/// let worker = std::thread::spawn(move || {
///     // From another thread: run a future on the loop, wait for it.
///     handle.spawn(async { 6 * 7 }).wait()
/// });
/// let answer = rt.block_on(async {
///     // The loop runs meanwhile (the job comes in through its remote queue).
///     while !worker.is_finished() {
///         boucle::sleep(std::time::Duration::from_millis(1)).await;
///     }
///     worker.join().unwrap()
/// });
/// assert_eq!(answer.unwrap(), 42);
/// ```
#[derive(Clone)]
pub struct Handle {
    shared: Arc<Shared>,
}

impl Handle {
    pub(crate) fn new(shared: Arc<Shared>) -> Handle {
        Handle { shared }
    }

    /// The handle of the loop running on this thread.
    ///
    /// # Panics
    /// Outside a running loop (see [`try_current`](Handle::try_current)).
    #[track_caller]
    pub fn current() -> Handle {
        match Handle::try_current() {
            Some(h) => h,
            None => panic!("{}", context::NO_LOOP),
        }
    }

    /// The handle of the loop running on this thread, if any.
    pub fn try_current() -> Option<Handle> {
        context::with_current(|core| Handle::new(core.shared.clone()))
    }

    /// Runs `callback` on the loop thread at its next turn (asyncio's
    /// `loop.call_soon_threadsafe`). A panic in it is reported through the
    /// loop's exception handler. Returns false, dropping `callback` unrun,
    /// if the loop has shut down.
    ///
    /// # Examples
    ///
    /// ```
    /// use boucle::sync::Event;
    /// use std::rc::Rc;
    ///
    /// boucle::run(async {
    ///     let handle = boucle::runtime::Handle::current();
    ///     let (tx, rx) = boucle::sync::oneshot::channel();
    ///     std::thread::spawn(move || {
    ///         // The callback runs on the loop thread, so it may use the
    ///         // loop's !Send world (here: spawn a local task).
    ///         handle.call_soon_threadsafe(move || {
    ///             let local = Rc::new(Event::new());
    ///             drop(boucle::spawn(async move { local.set() }));
    ///             let _ = tx.send("ran on the loop");
    ///         });
    ///     });
    ///     assert_eq!(rx.await, Ok("ran on the loop"));
    /// });
    /// ```
    pub fn call_soon_threadsafe(&self, callback: impl FnOnce() + Send + 'static) -> bool {
        self.shared.push_job(Box::new(callback)).is_ok()
    }

    /// Spawns `future` as a task on the loop, from any thread (tokio's
    /// `Handle::spawn`; asyncio's `run_coroutine_threadsafe`). The future
    /// must be `Send` because it is built here and moved to the loop
    /// thread; once there it runs as any task. The [`RemoteTask`] gives its
    /// output to a waiting thread or to any executor.
    ///
    /// If the loop shuts down first (or before the task finishes), the
    /// result is `Err(TaskError)` with `is_cancelled()`.
    ///
    /// # Examples
    /// See [`Handle`].
    #[track_caller]
    pub fn spawn<F>(&self, future: F) -> RemoteTask<F::Output>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        self.spawn_with(move || future)
    }

    /// Spawns the future that `make` builds **on the loop thread**, so the
    /// future itself need not be `Send`: only `make` crosses threads. This
    /// is the way to run boucle's own futures (`sleep`, sockets, queues:
    /// they are `!Send`, as the loop's tasks share `Rc`s) from another
    /// thread.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    ///
    /// let rt = boucle::Runtime::new().unwrap();
    /// let handle = rt.handle();
    /// let worker = std::thread::spawn(move || {
    ///     handle
    ///         .spawn_with(|| async {
    ///             boucle::sleep(Duration::from_millis(1)).await; // !Send: built on the loop
    ///             "slept on the loop"
    ///         })
    ///         .wait()
    /// });
    /// rt.block_on(async {
    ///     while !worker.is_finished() {
    ///         boucle::sleep(Duration::from_millis(1)).await;
    ///     }
    /// });
    /// assert_eq!(worker.join().unwrap().unwrap(), "slept on the loop");
    /// ```
    #[track_caller]
    pub fn spawn_with<M, F>(&self, make: M) -> RemoteTask<F::Output>
    where
        M: FnOnce() -> F + Send + 'static,
        F: Future + 'static,
        F::Output: Send + 'static,
    {
        let slot = Arc::new(Slot::default());
        let cancel = Arc::new(Cancel::default());
        let location = std::panic::Location::caller();
        let job = {
            let completion = Completion {
                slot: slot.clone(),
                sent: false,
            };
            let cancel = cancel.clone();
            move || {
                let task = context::spawn(
                    Remote {
                        future: make(),
                        cancel,
                        completion,
                    },
                    None,
                    location,
                );
                drop(task); // detached: the slot carries the result
            }
        };
        // Refused (shut down): the job is dropped unrun, and its completion
        // sends `Cancelled`.
        let _ = self.shared.push_job(Box::new(job));
        RemoteTask { slot, cancel }
    }
}

impl fmt::Debug for Handle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Handle").finish_non_exhaustive()
    }
}

/// asyncio's `run_coroutine_threadsafe(coro, loop)`: [`Handle::spawn`].
///
/// # Examples
///
/// ```
/// let rt = boucle::Runtime::new().unwrap();
/// let handle = rt.handle();
/// let result = std::thread::spawn(move || {
///     let task = boucle::runtime::run_coroutine_threadsafe(async { "hi" }, &handle);
///     task.wait_timeout(std::time::Duration::from_millis(1))
/// })
/// .join()
/// .unwrap();
/// // The loop was not running: the job waits in its queue, the wait timed out.
/// assert!(result.is_none());
/// ```
#[track_caller]
pub fn run_coroutine_threadsafe<F>(future: F, handle: &Handle) -> RemoteTask<F::Output>
where
    F: Future + Send + 'static,
    F::Output: Send + 'static,
{
    handle.spawn(future)
}

#[derive(Default)]
struct Cancel {
    requested: AtomicBool,
    waker: Mutex<Option<Waker>>,
}

struct SlotState<T> {
    result: Option<Result<T, TaskError>>,
    taken: bool,
    waker: Option<Waker>,
}

impl<T> Default for SlotState<T> {
    fn default() -> Self {
        SlotState {
            result: None,
            taken: false,
            waker: None,
        }
    }
}

struct Slot<T> {
    state: Mutex<SlotState<T>>,
    done: Condvar,
}

impl<T> Default for Slot<T> {
    fn default() -> Self {
        Slot {
            state: Mutex::default(),
            done: Condvar::new(),
        }
    }
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// Sends the task's result to its slot, or `Cancelled` if dropped unsent
/// (the job or the task was dropped: the loop shut down, or `cancel`).
struct Completion<T> {
    slot: Arc<Slot<T>>,
    sent: bool,
}

impl<T> Completion<T> {
    fn send(&mut self, result: Result<T, TaskError>) {
        self.sent = true;
        let waker = {
            let mut st = lock(&self.slot.state);
            st.result = Some(result);
            st.waker.take()
        };
        self.slot.done.notify_all();
        if let Some(w) = waker {
            w.wake();
        }
    }
}

impl<T> Drop for Completion<T> {
    fn drop(&mut self) {
        if !self.sent {
            self.send(Err(TaskError::cancelled()));
        }
    }
}

pin_project_lite::pin_project! {
    /// The task a `Handle::spawn` runs: the future, watching for a
    /// cross-thread cancel.
    struct Remote<F: Future> {
        #[pin]
        future: F,
        cancel: Arc<Cancel>,
        completion: Completion<F::Output>,
    }
}

impl<F: Future> Future for Remote<F> {
    type Output = ();

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let this = self.project();
        *lock(&this.cancel.waker) = Some(cx.waker().clone());
        if this.cancel.requested.load(Ordering::Acquire) {
            // Dropping the task (and with it `completion`) sends Cancelled.
            return Poll::Ready(());
        }
        match std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| this.future.poll(cx))) {
            Ok(Poll::Ready(v)) => {
                this.completion.send(Ok(v));
                Poll::Ready(())
            }
            Ok(Poll::Pending) => Poll::Pending,
            Err(payload) => {
                this.completion.send(Err(TaskError::panic(payload)));
                Poll::Ready(())
            }
        }
    }
}

/// The result of a future spawned through a [`Handle`]: block a thread on
/// it with [`wait`](RemoteTask::wait), or await it from any executor (it is
/// a `Send` future). Dropping it detaches the task.
#[must_use = "the task runs anyway; wait on the RemoteTask (or await it) to get its result"]
pub struct RemoteTask<T> {
    slot: Arc<Slot<T>>,
    cancel: Arc<Cancel>,
}

impl<T> RemoteTask<T> {
    /// Blocks this thread until the task finishes; its output, or
    /// `Err(TaskError)` if it was cancelled, panicked, or the loop shut
    /// down first.
    ///
    /// Calling it on the loop's own thread would wait forever (the loop
    /// cannot run while its thread waits): await the `RemoteTask` there.
    ///
    /// # Panics
    /// If the result was already taken.
    pub fn wait(self) -> Result<T, TaskError> {
        let mut st = lock(&self.slot.state);
        loop {
            if let Some(r) = take(&mut st) {
                return r;
            }
            st = self.slot.done.wait(st).unwrap_or_else(|e| e.into_inner());
        }
    }

    /// As [`wait`](RemoteTask::wait), giving up after `timeout`: `None`
    /// if the task has not finished by then (it keeps running; call again).
    pub fn wait_timeout(&self, timeout: Duration) -> Option<Result<T, TaskError>> {
        let deadline = Instant::now().checked_add(timeout);
        let mut st = lock(&self.slot.state);
        loop {
            if let Some(r) = take(&mut st) {
                return Some(r);
            }
            let left = match deadline {
                Some(d) => d.checked_duration_since(Instant::now())?,
                None => Duration::from_secs(u64::from(u32::MAX)),
            };
            st = self
                .slot
                .done
                .wait_timeout(st, left)
                .unwrap_or_else(|e| e.into_inner())
                .0;
        }
    }

    /// True once the result is there.
    pub fn is_done(&self) -> bool {
        lock(&self.slot.state).result.is_some()
    }

    /// Asks the task to stop, from any thread: its future is dropped at its
    /// next turn on the loop, and the result is `Err(TaskError)` with
    /// `is_cancelled()`. Does nothing if it already finished.
    pub fn cancel(&self) {
        self.cancel.requested.store(true, Ordering::Release);
        let waker = lock(&self.cancel.waker).take();
        if let Some(w) = waker {
            w.wake();
        }
    }
}

fn take<T>(st: &mut SlotState<T>) -> Option<Result<T, TaskError>> {
    assert!(
        !st.taken,
        "boucle: the result of a RemoteTask was already taken"
    );
    let r = st.result.take()?;
    st.taken = true;
    Some(r)
}

impl<T> Future for RemoteTask<T> {
    type Output = Result<T, TaskError>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let mut st = lock(&self.slot.state);
        if let Some(r) = take(&mut st) {
            return Poll::Ready(r);
        }
        st.waker = Some(cx.waker().clone());
        Poll::Pending
    }
}

impl<T> fmt::Debug for RemoteTask<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RemoteTask")
            .field("done", &self.is_done())
            .finish()
    }
}

#[cfg(all(test, loom))]
mod loom_tests;
