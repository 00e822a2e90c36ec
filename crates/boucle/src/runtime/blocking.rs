//! The blocking pool: threads for work that would block the loop
//! (`to_thread` / `spawn_blocking`), like asyncio's default executor.
//!
//! Threads are started on demand up to a bound and exit after idling for
//! ten seconds. Results come back through a oneshot whose waker is woken
//! from the worker thread (the remote-queue path).

use std::collections::VecDeque;
use std::future::Future;
use std::panic::{self, AssertUnwindSafe};
use std::pin::Pin;
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::task::{Context, Poll, Waker};
use std::thread;
use std::time::Duration;

use super::context;
use super::shared::Shared;
use crate::task::TaskError;

const KEEP_ALIVE: Duration = Duration::from_secs(10);

type Job = Box<dyn FnOnce() + Send + 'static>;

pub(crate) struct BlockingPool {
    inner: Arc<Inner>,
}

struct Inner {
    state: Mutex<PoolState>,
    cond: Condvar,
    max_threads: usize,
}

#[derive(Default)]
struct PoolState {
    queue: VecDeque<Job>,
    idle: usize,
    threads: usize,
    shutdown: bool,
    handles: Vec<thread::JoinHandle<()>>,
}

fn lock(m: &Mutex<PoolState>) -> MutexGuard<'_, PoolState> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

impl BlockingPool {
    pub(crate) fn new(max_threads: usize) -> BlockingPool {
        BlockingPool {
            inner: Arc::new(Inner {
                state: Mutex::new(PoolState::default()),
                cond: Condvar::new(),
                max_threads: max_threads.max(1),
            }),
        }
    }

    fn submit(&self, job: Job) {
        let mut state = lock(&self.inner.state);
        if state.shutdown {
            // Dropping the job reports `Cancelled` to its handle.
            drop(state);
            drop(job);
            return;
        }
        state.queue.push_back(job);
        // Idle workers wake one per queued job; start a thread when there
        // are more jobs than idle workers.
        if state.idle >= state.queue.len() {
            drop(state);
            self.inner.cond.notify_one();
            return;
        }
        if state.threads < self.inner.max_threads {
            let inner = self.inner.clone();
            let spawned = thread::Builder::new()
                .name("boucle-blocking".into())
                .spawn(move || worker(inner));
            match spawned {
                Ok(handle) => {
                    state.threads += 1;
                    state.handles.push(handle);
                }
                Err(e) if state.threads == 0 => {
                    // No thread can run it: fail the job rather than hang.
                    let job = state.queue.pop_back();
                    drop(state);
                    eprintln!("boucle: could not start a blocking-pool thread: {e}");
                    drop(job);
                }
                Err(_) => {} // Queued for a running thread.
            }
        }
    }

    /// Stops the pool: queued jobs are dropped (their handles see
    /// `Cancelled`), running ones are waited for.
    pub(crate) fn shutdown(&self) {
        let (queued, handles) = {
            let mut state = lock(&self.inner.state);
            state.shutdown = true;
            (
                std::mem::take(&mut state.queue),
                std::mem::take(&mut state.handles),
            )
        };
        self.inner.cond.notify_all();
        drop(queued);
        let me = thread::current().id();
        for h in handles {
            if h.thread().id() != me {
                let _ = h.join();
            }
        }
    }
}

fn worker(inner: Arc<Inner>) {
    let mut state = lock(&inner.state);
    loop {
        if let Some(job) = state.queue.pop_front() {
            drop(state);
            job();
            state = lock(&inner.state);
            continue;
        }
        if state.shutdown {
            break;
        }
        state.idle += 1;
        let (s, timeout) = inner
            .cond
            .wait_timeout(state, KEEP_ALIVE)
            .unwrap_or_else(|e| e.into_inner());
        state = s;
        state.idle -= 1;
        if timeout.timed_out() && state.queue.is_empty() {
            break;
        }
    }
    state.threads -= 1;
}

struct Slot<T> {
    result: Option<Result<T, TaskError>>,
    waker: Option<Waker>,
}

/// Sends the job's result, or `Cancelled` if the job is dropped unrun.
struct Completion<T> {
    slot: Arc<Mutex<Slot<T>>>,
    shared: Arc<Shared>,
    sent: bool,
}

impl<T> Completion<T> {
    fn send(&mut self, result: Result<T, TaskError>) {
        self.sent = true;
        let waker = {
            let mut slot = self.slot.lock().unwrap_or_else(|e| e.into_inner());
            slot.result = Some(result);
            slot.waker.take()
        };
        // Wake the awaiter before the job stops counting as in flight: a
        // virtual clock that sees no job in flight must also see the wake,
        // or it could jump over the job's result.
        if let Some(w) = waker {
            w.wake();
        }
        self.shared.blocking_finished();
    }
}

impl<T> Drop for Completion<T> {
    fn drop(&mut self) {
        if !self.sent {
            self.send(Err(TaskError::cancelled()));
        }
    }
}

/// The handle of a job on the blocking pool. Await it for the closure's
/// return value, or `Err(TaskError)` if it panicked or the loop shut down
/// before it started.
#[must_use = "the job runs anyway; await the handle to get its result"]
pub struct BlockingTask<T> {
    slot: Arc<Mutex<Slot<T>>>,
}

impl<T> Future for BlockingTask<T> {
    type Output = Result<T, TaskError>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let mut slot = self.slot.lock().unwrap_or_else(|e| e.into_inner());
        match slot.result.take() {
            Some(r) => Poll::Ready(r),
            None => {
                match &slot.waker {
                    Some(w) if w.will_wake(cx.waker()) => {}
                    _ => slot.waker = Some(cx.waker().clone()),
                }
                Poll::Pending
            }
        }
    }
}

/// Runs a blocking closure on the loop's thread pool and awaits its result
/// (asyncio's `loop.run_in_executor(None, f)`; tokio's `spawn_blocking`).
///
/// # Examples
///
/// ```
/// let n = boucle::run(async {
///     boucle::spawn_blocking(|| (1..=10u64).product::<u64>()).await.unwrap()
/// });
/// assert_eq!(n, 3_628_800);
/// ```
///
/// # Panics
/// Outside a running loop.
#[track_caller]
pub fn spawn_blocking<F, T>(f: F) -> BlockingTask<T>
where
    F: FnOnce() -> T + Send + 'static,
    T: Send + 'static,
{
    let core = context::current();
    let slot = Arc::new(Mutex::new(Slot {
        result: None,
        waker: None,
    }));
    core.shared.blocking_started();
    let mut completion = Completion {
        slot: slot.clone(),
        shared: core.shared.clone(),
        sent: false,
    };
    core.blocking.submit(Box::new(move || {
        let result = panic::catch_unwind(AssertUnwindSafe(f)).map_err(TaskError::panic);
        completion.send(result);
    }));
    BlockingTask { slot }
}

/// asyncio's `to_thread`: the same as [`spawn_blocking`].
#[track_caller]
pub fn to_thread<F, T>(f: F) -> BlockingTask<T>
where
    F: FnOnce() -> T + Send + 'static,
    T: Send + 'static,
{
    spawn_blocking(f)
}
