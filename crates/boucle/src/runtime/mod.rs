//! The runtime: one event loop on the current thread.
//!
//! [`run`] is `asyncio.run`: a new loop runs a future to completion, then
//! cancels whatever tasks remain and shuts down. [`Runtime`] with
//! [`Runtime::block_on`] is `loop.run_until_complete`, for when the loop
//! must outlive one call (or be configured: virtual time, seed, tracing).

pub(crate) mod blocking;
mod builder;
pub(crate) mod context;
pub(crate) mod core;
pub(crate) mod exception;
mod handle;
mod metrics;
mod remote;
pub mod shard;
pub(crate) mod shared;

use std::future::Future;
use std::panic::{self, AssertUnwindSafe};
use std::pin::pin;
use std::rc::Rc;
use std::sync::Arc;
use std::task::{Context, Poll, Wake, Waker};
use std::time::Duration;

pub use blocking::{spawn_blocking, to_thread, BlockingTask};
pub use builder::Builder;
pub use exception::ExceptionContext;
pub use handle::{run_coroutine_threadsafe, Handle, RemoteTask};
pub use metrics::Metrics;
pub use shard::{
    run_sharded, shard_id, spawn_on, spawn_on_with, Shard, ShardError, ShardException,
    ShardMetrics, ShardStop, ShardTask, ShardTrace, ShardedBuilder, ShardedHandle, ShardedRuntime,
    ShardedTrace, ShutdownReport,
};

use self::core::Core;
use self::shared::Shared;
use crate::trace::Trace;

/// An event loop (asyncio's `AbstractEventLoop`), bound to the thread that
/// created it (`!Send`).
///
/// # Examples
///
/// ```
/// use std::time::Duration;
///
/// let rt = boucle::Runtime::builder().virtual_time(true).build().unwrap();
/// let took = rt.block_on(async {
///     let start = boucle::now();
///     boucle::sleep(Duration::from_secs(3600)).await; // virtual: instant
///     boucle::now() - start
/// });
/// assert_eq!(took, Duration::from_secs(3600));
/// ```
pub struct Runtime {
    core: Rc<Core>,
}

impl Runtime {
    /// A builder for a configured runtime.
    pub fn builder() -> Builder {
        Builder::new()
    }

    /// A runtime with default settings (real time, seed from `BOUCLE_SEED`
    /// or random).
    ///
    /// # Errors
    /// If the OS poller (epoll) cannot be created.
    pub fn new() -> std::io::Result<Runtime> {
        Builder::new().build()
    }

    /// Runs `future` on this loop until it completes, running other tasks
    /// meanwhile (asyncio's `run_until_complete`). Tasks still unfinished
    /// when it returns stay alive for the next `block_on`, or are cancelled
    /// when the runtime is dropped.
    ///
    /// # Panics
    /// Inside a running boucle loop (await the future instead). If `future`
    /// panics, the panic resumes here after the loop's state is restored.
    #[track_caller]
    pub fn block_on<F: Future>(&self, future: F) -> F::Output {
        let _enter = context::enter(self.core.clone());
        let core = &self.core;
        core.start_dump_listener();
        let waker = Waker::from(Arc::new(MainWaker {
            shared: core.shared.clone(),
        }));
        let mut cx = Context::from_waker(&waker);
        let mut future = pin!(future);
        let mut output = None;
        core.schedule_main();
        loop {
            core.run_batch(|| {
                if output.is_none() {
                    crate::coop::reset();
                    match panic::catch_unwind(AssertUnwindSafe(|| future.as_mut().poll(&mut cx))) {
                        Ok(Poll::Ready(v)) => output = Some(Ok(v)),
                        Ok(Poll::Pending) => {}
                        Err(payload) => output = Some(Err(payload)),
                    }
                }
            });
            if output.is_some() {
                break;
            }
            if let Err(e) = core.turn() {
                panic!("boucle: the OS poller failed: {e}");
            }
        }
        match output {
            Some(Ok(v)) => v,
            Some(Err(payload)) => panic::resume_unwind(payload),
            None => unreachable!(),
        }
    }

    /// The trace recorded so far, if the runtime was built with
    /// `Builder::trace(true)`.
    pub fn trace(&self) -> Option<Trace> {
        let now = std::time::Duration::from_nanos(self.core.time().now());
        self.core.recorder().map(|r| r.snapshot(now))
    }

    /// A [`Handle`] to this loop, usable from any thread: spawn `Send`
    /// futures on it and queue callbacks (`call_soon_threadsafe`). They run
    /// while the loop runs (inside `block_on`).
    ///
    /// # Examples
    /// See [`Handle`].
    pub fn handle(&self) -> Handle {
        Handle::new(self.core.shared.clone())
    }

    /// The loop's counters: tasks, polls, timers, I/O, remote wakes, idle
    /// and busy time, the blocking pool.
    ///
    /// # Examples
    /// See [`Metrics`].
    pub fn metrics(&self) -> Metrics {
        metrics::snapshot(&self.core)
    }

    /// The seed of this loop's random generator (`boucle::random`).
    pub fn seed(&self) -> u64 {
        self.core.seed()
    }

    /// Shuts the loop down now and waits at most `timeout` for blocking
    /// jobs that are running (tokio's `shutdown_timeout`).
    ///
    /// Unfinished tasks are cancelled and dropped, as when the runtime is
    /// dropped; queued blocking jobs that no thread took yet are dropped
    /// (their handles see `Cancelled`), except a `boucle::fs::File`'s
    /// write-back, which still runs. A running job cannot be stopped: if it
    /// is still running after `timeout`, its thread is left to finish on
    /// its own and a line on stderr says so. Dropping a `Runtime` instead
    /// waits for running jobs without bound; [`run`] waits at most
    /// [`RUN_SHUTDOWN_TIMEOUT`].
    ///
    /// To let tasks *finish* before they are cancelled (a server draining
    /// its connections), see [`boucle::shutdown`](crate::shutdown).
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::{Duration, Instant};
    ///
    /// let rt = boucle::Runtime::new().unwrap();
    /// rt.block_on(async {
    ///     // A job nobody waits for, that outlives the loop.
    ///     drop(boucle::spawn_blocking(|| std::thread::sleep(Duration::from_millis(300))));
    ///     boucle::yield_now().await;
    /// });
    /// let start = Instant::now();
    /// rt.shutdown_timeout(Duration::from_millis(10));
    /// assert!(start.elapsed() < Duration::from_millis(250));
    /// ```
    pub fn shutdown_timeout(self, timeout: Duration) {
        self.core.blocking.set_shutdown_timeout(Some(timeout));
        drop(self);
    }

    /// Shuts the loop down without waiting for running blocking jobs
    /// (`shutdown_timeout(Duration::ZERO)`, tokio's `shutdown_background`).
    pub fn shutdown_background(self) {
        self.shutdown_timeout(Duration::ZERO);
    }
}

/// How long [`run`] waits, after its future returned and the remaining
/// tasks were cancelled, for blocking jobs that are still running (a
/// `spawn_blocking` whose handle was dropped, say): 10 s. Past it the
/// threads are left running, detached, with a line on stderr, so that a
/// job stuck in a blocking call (reading a terminal, a hung NFS mount)
/// cannot keep the program from ending. Use [`Runtime::shutdown_timeout`]
/// to choose another bound.
pub const RUN_SHUTDOWN_TIMEOUT: Duration = Duration::from_secs(10);

impl Drop for Runtime {
    fn drop(&mut self) {
        // Enter the loop (unless this thread runs another one) so that code
        // running in task destructors finds it. At thread exit the loop slot
        // may already be destroyed (this runtime lives in another
        // thread-local): shut down without entering, rather than abort.
        let guard = if context::is_running() {
            None
        } else {
            context::try_enter(self.core.clone())
        };
        self.core.shutdown();
        drop(guard);
        // Tasks whose local side outlives the runtime (a `Task` handle kept
        // after the loop) keep `Shared` alive for their wakers.
        if !self.core.shared.local_task_released() {
            std::mem::forget(Arc::clone(&self.core.shared));
        }
    }
}

impl std::fmt::Debug for Runtime {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Runtime")
            .field("virtual_time", &self.core.time().is_virtual())
            .field("seed", &self.core.seed())
            .finish()
    }
}

/// Wakes the `block_on` future.
struct MainWaker {
    shared: Arc<Shared>,
}

impl Wake for MainWaker {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        let ptr = Arc::as_ptr(&self.shared);
        if context::with_core_of(ptr, |core| core.schedule_main()).is_none() {
            self.shared.push_remote_main();
        }
    }
}

/// Runs `future` on a new loop and returns its output (asyncio's `run`).
/// Tasks still alive at the end are cancelled and dropped, then the loop
/// and its blocking pool shut down; blocking jobs still running are waited
/// for at most [`RUN_SHUTDOWN_TIMEOUT`] (see [`Runtime::shutdown_timeout`]).
///
/// # Examples
///
/// ```
/// use std::time::Duration;
///
/// async fn dire_apres(delai: u64, message: &str) -> String {
///     boucle::sleep(Duration::from_millis(delai)).await;
///     message.to_string()
/// }
///
/// let words = boucle::run(async {
///     let a = boucle::spawn(dire_apres(2, "Bonjour"));
///     let b = boucle::spawn(dire_apres(1, "Monde"));
///     (a.await.unwrap(), b.await.unwrap())
/// });
/// assert_eq!(words, ("Bonjour".to_string(), "Monde".to_string()));
/// ```
///
/// # Panics
/// Inside a running loop; if the OS poller cannot be created; and if
/// `future` panics (the panic resumes after shutdown).
#[track_caller]
pub fn run<F: Future>(future: F) -> F::Output {
    if context::is_running() {
        panic!(
            "boucle: cannot start a loop (run / block_on) inside a running boucle loop: \
             await the future instead, or use spawn"
        );
    }
    let rt = match Runtime::new() {
        Ok(rt) => rt,
        Err(e) => panic!("boucle: cannot create the event loop: {e}"),
    };
    let result = panic::catch_unwind(AssertUnwindSafe(|| rt.block_on(future)));
    rt.shutdown_timeout(RUN_SHUTDOWN_TIMEOUT);
    match result {
        Ok(v) => v,
        Err(p) => panic::resume_unwind(p),
    }
}
