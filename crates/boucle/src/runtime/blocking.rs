//! The blocking pool: threads for work that would block the loop
//! (`to_thread` / `spawn_blocking`, and every `boucle::fs` call), like
//! asyncio's default executor.
//!
//! Threads are started on demand, one per queued job that no idle thread
//! can take, up to a bound (`Builder::max_blocking_threads`, default 512);
//! past it jobs wait in a FIFO queue. A thread idle for the keep-alive
//! (`Builder::thread_keep_alive`, default 10 s) exits. Results come back
//! through a oneshot whose waker is woken from the worker thread (the
//! remote-queue path).
//!
//! Shutdown drops the queued jobs (their handles see `Cancelled`) except
//! those submitted as *finish on shutdown* (a `boucle::fs::File`'s
//! write-back), then waits for running jobs, for at most the shutdown
//! timeout when one is set: threads still busy after it are left to finish
//! on their own (detached), and a line on stderr says how many.

use std::collections::VecDeque;
use std::future::Future;
use std::panic::{self, AssertUnwindSafe};
use std::pin::Pin;
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::task::{Context, Poll, Waker};
use std::thread;
use std::time::{Duration, Instant};

use super::context;
use super::shared::Shared;
use crate::task::TaskError;

/// Default bound on the pool's threads (tokio's too).
pub(crate) const DEFAULT_MAX_THREADS: usize = 512;
/// Default time an idle thread waits for work before it exits.
pub(crate) const DEFAULT_KEEP_ALIVE: Duration = Duration::from_secs(10);

use super::remote::Job;

pub(crate) struct BlockingPool {
    inner: Arc<Inner>,
}

struct Inner {
    state: Mutex<PoolState>,
    /// Signalled when a job is queued or the pool shuts down.
    cond: Condvar,
    /// Signalled when a thread exits (shutdown waits on it).
    exited: Condvar,
    max_threads: usize,
    keep_alive: Duration,
    /// Jobs submitted so far (tests check batching with it).
    submitted: std::sync::atomic::AtomicU64,
}

#[derive(Default)]
struct PoolState {
    /// Jobs and whether each must run even when the pool shuts down.
    queue: VecDeque<(Job, bool)>,
    idle: usize,
    threads: usize,
    shutdown: bool,
    /// How long `shutdown` waits for running jobs (None: without bound).
    shutdown_timeout: Option<Duration>,
    handles: Vec<thread::JoinHandle<()>>,
}

fn lock(m: &Mutex<PoolState>) -> MutexGuard<'_, PoolState> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

thread_local! {
    /// Set on the pool's own threads.
    static IN_POOL: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

impl BlockingPool {
    /// `max_threads` is at least 1 (the builder checks it).
    pub(crate) fn new(max_threads: usize, keep_alive: Duration) -> BlockingPool {
        BlockingPool {
            inner: Arc::new(Inner {
                state: Mutex::new(PoolState::default()),
                cond: Condvar::new(),
                exited: Condvar::new(),
                max_threads: max_threads.max(1),
                keep_alive,
                submitted: std::sync::atomic::AtomicU64::new(0),
            }),
        }
    }

    /// Queues a job. `finish_on_shutdown`: run it even if the pool shuts
    /// down before a thread takes it.
    fn submit(&self, job: Job, finish_on_shutdown: bool) {
        self.inner
            .submitted
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let mut state = lock(&self.inner.state);
        if state.shutdown && !finish_on_shutdown {
            // Dropping the job reports `Cancelled` to its handle.
            drop(state);
            drop(job);
            return;
        }
        state.queue.push_back((job, finish_on_shutdown));
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
                    // Forget handles of threads that exited on keep-alive.
                    state.handles.retain(|h| !h.is_finished());
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

    /// Sets how long `shutdown` waits for running jobs.
    pub(crate) fn set_shutdown_timeout(&self, timeout: Option<Duration>) {
        lock(&self.inner.state).shutdown_timeout = timeout;
    }

    /// How many jobs were submitted so far.
    #[cfg(test)]
    pub(crate) fn jobs_submitted(&self) -> u64 {
        self.inner
            .submitted
            .load(std::sync::atomic::Ordering::Relaxed)
    }

    /// How many jobs wait for a thread.
    pub(crate) fn queued(&self) -> usize {
        lock(&self.inner.state).queue.len()
    }

    /// How many threads the pool has now (busy or idle).
    pub(crate) fn threads(&self) -> usize {
        lock(&self.inner.state).threads
    }

    /// Stops the pool: queued jobs are dropped (their handles see
    /// `Cancelled`) unless they must finish; running ones are waited for,
    /// up to the shutdown timeout if one is set.
    pub(crate) fn shutdown(&self) {
        let mut state = lock(&self.inner.state);
        state.shutdown = true;
        let queued: Vec<(Job, bool)> = state.queue.drain(..).collect();
        let (keep, dropped): (Vec<_>, Vec<_>) = queued.into_iter().partition(|(_, keep)| *keep);
        state.queue.extend(keep);
        let deadline = state.shutdown_timeout.map(|t| Instant::now() + t);
        drop(state);
        self.inner.cond.notify_all();
        drop(dropped);
        // A job that drops the runtime runs on a pool thread: not waited for.
        let own = usize::from(IN_POOL.with(|c| c.get()));
        let mut state = lock(&self.inner.state);
        while state.threads > own {
            match deadline {
                None => {
                    state = self
                        .inner
                        .exited
                        .wait(state)
                        .unwrap_or_else(|e| e.into_inner());
                }
                Some(deadline) => {
                    let now = Instant::now();
                    if now >= deadline {
                        break;
                    }
                    state = self
                        .inner
                        .exited
                        .wait_timeout(state, deadline - now)
                        .unwrap_or_else(|e| e.into_inner())
                        .0;
                }
            }
        }
        let busy = state.threads - own.min(state.threads);
        let handles = std::mem::take(&mut state.handles);
        drop(state);
        if busy > 0 {
            let t = deadline.map_or(0.0, |_| {
                lock(&self.inner.state)
                    .shutdown_timeout
                    .unwrap_or_default()
                    .as_secs_f64()
            });
            eprintln!(
                "boucle: {busy} blocking job(s) still running {t:.3} s after the loop shut down; \
                 left to finish on their own"
            );
        }
        let me = thread::current().id();
        for h in handles {
            // Threads still busy are detached (their handle is dropped).
            if h.thread().id() != me && h.is_finished() {
                let _ = h.join();
            }
        }
    }
}

fn worker(inner: Arc<Inner>) {
    IN_POOL.with(|c| c.set(true));
    let mut state = lock(&inner.state);
    loop {
        if let Some((job, _)) = state.queue.pop_front() {
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
            .wait_timeout(state, inner.keep_alive)
            .unwrap_or_else(|e| e.into_inner());
        state = s;
        state.idle -= 1;
        if timeout.timed_out() && state.queue.is_empty() {
            break;
        }
    }
    state.threads -= 1;
    drop(state);
    inner.exited.notify_all();
}

struct Slot<T> {
    result: Option<Result<T, TaskError>>,
    waker: Option<Waker>,
}

/// The result slot, with a condvar for the rare synchronous wait
/// (`BlockingTask::wait_sync`).
struct SlotCell<T> {
    slot: Mutex<Slot<T>>,
    done: Condvar,
}

impl<T> SlotCell<T> {
    fn lock(&self) -> MutexGuard<'_, Slot<T>> {
        self.slot.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// Sends the job's result, or `Cancelled` if the job is dropped unrun.
struct Completion<T> {
    slot: Arc<SlotCell<T>>,
    shared: Arc<Shared>,
    sent: bool,
}

impl<T> Completion<T> {
    fn send(&mut self, result: Result<T, TaskError>) {
        self.sent = true;
        let waker = {
            let mut slot = self.slot.lock();
            slot.result = Some(result);
            slot.waker.take()
        };
        self.slot.done.notify_all();
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
    slot: Arc<SlotCell<T>>,
}

impl<T> BlockingTask<T> {
    /// Blocks this thread until the job finishes (for destructors that must
    /// order work after it; never on the loop thread while the job could
    /// need the loop).
    pub(crate) fn wait_sync(self) -> Result<T, TaskError> {
        let mut slot = self.slot.lock();
        loop {
            if let Some(r) = slot.result.take() {
                return r;
            }
            slot = self.slot.done.wait(slot).unwrap_or_else(|e| e.into_inner());
        }
    }
}

impl<T> Future for BlockingTask<T> {
    type Output = Result<T, TaskError>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let mut slot = self.slot.lock();
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

impl<T> std::fmt::Debug for BlockingTask<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let done = self.slot.lock().result.is_some();
        f.debug_struct("BlockingTask").field("done", &done).finish()
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
    submit(&core, f, false)
}

/// Submits `f` to `core`'s pool. `finish_on_shutdown`: the job runs even
/// if the pool shuts down before a thread takes it (write-back).
pub(crate) fn submit<F, T>(
    core: &super::core::Core,
    f: F,
    finish_on_shutdown: bool,
) -> BlockingTask<T>
where
    F: FnOnce() -> T + Send + 'static,
    T: Send + 'static,
{
    let slot = Arc::new(SlotCell {
        slot: Mutex::new(Slot {
            result: None,
            waker: None,
        }),
        done: Condvar::new(),
    });
    core.shared.blocking_started();
    let mut completion = Completion {
        slot: slot.clone(),
        shared: core.shared.clone(),
        sent: false,
    };
    core.blocking.submit(
        Box::new(move || {
            let result = panic::catch_unwind(AssertUnwindSafe(f)).map_err(TaskError::panic);
            completion.send(result);
        }),
        finish_on_shutdown,
    );
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

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};

    /// Waits (in 1 ms steps, at most 5 s) until `f` holds.
    fn eventually(mut f: impl FnMut() -> bool) -> bool {
        let end = Instant::now() + Duration::from_secs(5);
        while Instant::now() < end {
            if f() {
                return true;
            }
            thread::sleep(Duration::from_millis(1));
        }
        false
    }

    #[test]
    fn threads_stop_at_the_bound_and_jobs_queue() {
        let pool = BlockingPool::new(2, Duration::from_secs(10));
        let gate = Arc::new((Mutex::new(false), Condvar::new()));
        let running = Arc::new(AtomicUsize::new(0));
        let peak = Arc::new(AtomicUsize::new(0));
        let done = Arc::new(AtomicUsize::new(0));
        for _ in 0..6 {
            let (gate, running, peak, done) =
                (gate.clone(), running.clone(), peak.clone(), done.clone());
            pool.submit(
                Box::new(move || {
                    let now = running.fetch_add(1, Ordering::SeqCst) + 1;
                    peak.fetch_max(now, Ordering::SeqCst);
                    let mut open = gate.0.lock().unwrap();
                    while !*open {
                        open = gate.1.wait(open).unwrap();
                    }
                    running.fetch_sub(1, Ordering::SeqCst);
                    done.fetch_add(1, Ordering::SeqCst);
                }),
                false,
            );
        }
        assert!(eventually(|| running.load(Ordering::SeqCst) == 2));
        assert_eq!(pool.threads(), 2, "never more threads than the bound");
        *gate.0.lock().unwrap() = true;
        gate.1.notify_all();
        assert!(eventually(|| done.load(Ordering::SeqCst) == 6));
        assert_eq!(peak.load(Ordering::SeqCst), 2);
        pool.shutdown();
        assert_eq!(pool.threads(), 0);
    }

    #[test]
    fn idle_threads_exit_after_the_keep_alive() {
        let pool = BlockingPool::new(4, Duration::from_millis(20));
        let done = Arc::new(AtomicUsize::new(0));
        let d = done.clone();
        pool.submit(
            Box::new(move || {
                d.fetch_add(1, Ordering::SeqCst);
            }),
            false,
        );
        assert!(eventually(|| done.load(Ordering::SeqCst) == 1));
        assert!(
            eventually(|| pool.threads() == 0),
            "the idle thread exits after 20 ms"
        );
        // A new job starts a new thread.
        let d = done.clone();
        pool.submit(
            Box::new(move || {
                d.fetch_add(1, Ordering::SeqCst);
            }),
            false,
        );
        assert!(eventually(|| done.load(Ordering::SeqCst) == 2));
        pool.shutdown();
    }

    #[test]
    fn shutdown_waits_at_most_the_timeout_and_runs_write_backs() {
        let pool = BlockingPool::new(1, Duration::from_secs(10));
        let release = Arc::new((Mutex::new(false), Condvar::new()));
        let r = release.clone();
        let started = Arc::new(AtomicUsize::new(0));
        let s = started.clone();
        pool.submit(
            Box::new(move || {
                s.fetch_add(1, Ordering::SeqCst);
                let mut open = r.0.lock().unwrap();
                while !*open {
                    open = r.1.wait(open).unwrap();
                }
            }),
            false,
        );
        assert!(eventually(|| started.load(Ordering::SeqCst) == 1));
        let ran = Arc::new(AtomicUsize::new(0));
        let (keep, lost) = (ran.clone(), ran.clone());
        pool.submit(
            Box::new(move || {
                keep.fetch_add(1, Ordering::SeqCst);
            }),
            true,
        );
        pool.submit(
            Box::new(move || {
                lost.fetch_add(100, Ordering::SeqCst);
            }),
            false,
        );
        pool.set_shutdown_timeout(Some(Duration::from_millis(10)));
        let start = Instant::now();
        pool.shutdown();
        assert!(start.elapsed() < Duration::from_secs(2), "bounded wait");
        assert_eq!(pool.threads(), 1, "the stuck job's thread is left running");
        *release.0.lock().unwrap() = true;
        release.1.notify_all();
        assert!(eventually(|| pool.threads() == 0));
        assert_eq!(
            ran.load(Ordering::SeqCst),
            1,
            "the write-back ran; the plain queued job was dropped"
        );
    }
}
