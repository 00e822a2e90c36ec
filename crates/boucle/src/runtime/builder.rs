//! `Builder`: configures a `Runtime`.

use std::io;
use std::rc::Rc;
use std::time::Duration;

use super::core::{Config, Core};
use super::exception::{ExceptionContext, Handler};
use super::shard::ShardedBuilder;
use super::Runtime;
use crate::time::TimeBase;

/// Configures a [`Runtime`]: virtual time, RNG seed, tracing, debug mode.
///
/// # Examples
///
/// ```
/// let rt = boucle::Runtime::builder()
///     .virtual_time(true)
///     .seed(42)
///     .trace(true)
///     .build()
///     .unwrap();
/// assert_eq!(rt.seed(), 42);
/// ```
#[derive(Clone)]
#[must_use = "a Builder does nothing until .build() is called"]
pub struct Builder {
    virtual_time: bool,
    seed: Option<u64>,
    trace: bool,
    debug: bool,
    slow_poll: Duration,
    max_blocking_threads: usize,
    keep_alive: Duration,
    task_slab: Option<bool>,
    time_base: TimeBase,
    exception_handler: Option<Handler>,
}

impl std::fmt::Debug for Builder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Builder")
            .field("virtual_time", &self.virtual_time)
            .field("seed", &self.seed)
            .field("trace", &self.trace)
            .field("debug", &self.debug)
            .field("slow_poll", &self.slow_poll)
            .field("max_blocking_threads", &self.max_blocking_threads)
            .field("keep_alive", &self.keep_alive)
            .field("task_slab", &self.task_slab)
            .field("time_base", &self.time_base)
            .field("exception_handler", &self.exception_handler.is_some())
            .finish()
    }
}

impl Default for Builder {
    fn default() -> Self {
        Builder::new()
    }
}

/// The seed from `BOUCLE_SEED`, if set and valid.
///
/// # Panics
/// If `BOUCLE_SEED` is set but is not an unsigned integer: a silently
/// ignored seed would make a run look reproducible when it is not.
fn env_seed() -> Option<u64> {
    let raw = std::env::var("BOUCLE_SEED").ok()?;
    match raw.trim().parse() {
        Ok(seed) => Some(seed),
        Err(_) => panic!("boucle: BOUCLE_SEED must be an unsigned integer, got {raw:?}"),
    }
}

impl Builder {
    /// Defaults: real time, seed from `BOUCLE_SEED` (else random), no
    /// tracing, no debug checks, at most 512 blocking threads that exit
    /// after 10 s idle.
    pub fn new() -> Builder {
        Builder {
            virtual_time: false,
            seed: None,
            trace: false,
            debug: false,
            slow_poll: Duration::from_millis(100),
            max_blocking_threads: super::blocking::DEFAULT_MAX_THREADS,
            keep_alive: super::blocking::DEFAULT_KEEP_ALIVE,
            task_slab: None,
            time_base: TimeBase::Iteration,
            exception_handler: None,
        }
    }

    /// Virtual time: when no task is ready and no I/O is ready, the clock
    /// jumps to the next timer instead of waiting. A program that only
    /// sleeps runs at once, and with the same seed gives the same schedule
    /// and output every time.
    pub fn virtual_time(mut self, on: bool) -> Builder {
        self.virtual_time = on;
        self
    }

    /// Seeds the loop's random generator (`boucle::random`). Without it the
    /// seed comes from the `BOUCLE_SEED` environment variable, else is
    /// random; `Runtime::seed` tells which was used.
    pub fn seed(mut self, seed: u64) -> Builder {
        self.seed = Some(seed);
        self
    }

    /// Records every task's life (see `boucle::trace`).
    pub fn trace(mut self, on: bool) -> Builder {
        self.trace = on;
        self
    }

    /// Debug mode: warns on stderr when one poll blocks the loop longer
    /// than `slow_poll_threshold` (default 100 ms, as asyncio's
    /// `slow_callback_duration`), naming the task and its spawn location.
    pub fn debug(mut self, on: bool) -> Builder {
        self.debug = on;
        self
    }

    /// The debug-mode threshold for a slow poll.
    pub fn slow_poll_threshold(mut self, limit: Duration) -> Builder {
        self.slow_poll = limit;
        self
    }

    /// Handles the panics nobody will observe (a detached task's, or a
    /// finished task's whose handle is dropped unread), as asyncio's
    /// `loop.set_exception_handler`. It is called on the loop thread with an
    /// [`ExceptionContext`]: the task's name, id and spawn location, and the
    /// panic. The default prints one line on stderr. A handler that panics
    /// is reported, and the panic then goes to the default handler.
    ///
    /// # Examples
    /// See [`ExceptionContext`].
    pub fn exception_handler(
        mut self,
        handler: impl Fn(&ExceptionContext<'_>) + 'static,
    ) -> Builder {
        self.exception_handler = Some(Rc::new(handler));
        self
    }

    /// When loop time is read from the system clock: once per iteration
    /// (the default, [`TimeBase::Iteration`]) or at every call
    /// ([`TimeBase::Call`]). See [`boucle::time`](crate::time) for what
    /// "never early" means with each.
    pub fn time_base(mut self, base: TimeBase) -> Builder {
        self.time_base = base;
        self
    }

    /// The most threads the blocking pool runs at once (default 512, as
    /// tokio). The pool serves `spawn_blocking`, `to_thread` and every
    /// `boucle::fs` call; past the bound, jobs wait in a FIFO queue. Zero
    /// is refused by [`build`](Builder::build).
    ///
    /// # Examples
    ///
    /// ```
    /// let rt = boucle::Runtime::builder().max_blocking_threads(4).build().unwrap();
    /// assert_eq!(rt.block_on(async { boucle::spawn_blocking(|| 2 + 2).await }).unwrap(), 4);
    /// let err = boucle::Runtime::builder().max_blocking_threads(0).build().unwrap_err();
    /// assert!(err.to_string().contains("max_blocking_threads"));
    /// ```
    pub fn max_blocking_threads(mut self, n: usize) -> Builder {
        self.max_blocking_threads = n;
        self
    }

    /// How long an idle blocking-pool thread waits for a job before it
    /// exits (default 10 s). Threads start again on demand.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    ///
    /// let rt = boucle::Runtime::builder()
    ///     .thread_keep_alive(Duration::from_millis(100))
    ///     .build()
    ///     .unwrap();
    /// assert_eq!(rt.block_on(async { boucle::to_thread(|| "done").await }).unwrap(), "done");
    /// ```
    pub fn thread_keep_alive(mut self, keep_alive: Duration) -> Builder {
        self.keep_alive = keep_alive;
        self
    }

    /// Whether task memory comes from the loop's slab (the default) or from
    /// the global allocator, one allocation per task. The environment
    /// variable `BOUCLE_TASK_SLAB=0` turns the slab off when this is not
    /// called: memory checkers such as valgrind then see every task.
    pub fn task_slab(mut self, on: bool) -> Builder {
        self.task_slab = Some(on);
        self
    }

    /// A runtime of `n` loops, each on its own thread (pinned to a core
    /// where the OS allows), each with these settings: see
    /// [`ShardedRuntime`](crate::ShardedRuntime).
    ///
    /// # Examples
    ///
    /// ```
    /// let rt = boucle::Runtime::builder().virtual_time(true).threads(2).build().unwrap();
    /// let ids = rt.block_on(|shard| async move { shard.id() });
    /// assert_eq!(ids.into_iter().map(Result::unwrap).collect::<Vec<_>>(), [0, 1]);
    /// ```
    pub fn threads(self, n: usize) -> ShardedBuilder {
        ShardedBuilder::new(self).threads(n)
    }

    /// A sharded runtime with one loop per core (see [`threads`](Builder::threads)).
    pub fn sharded(self) -> ShardedBuilder {
        ShardedBuilder::new(self)
    }

    /// What a shard's thread needs to build its loop: these settings less
    /// the exception handler, which is `!Send` (the sharded builder has its
    /// own). The flag says whether one was set.
    pub(crate) fn shard_settings(&self) -> (ShardSettings, bool) {
        let settings = ShardSettings {
            virtual_time: self.virtual_time,
            seed: self.seed,
            trace: self.trace,
            debug: self.debug,
            slow_poll: self.slow_poll,
            max_blocking_threads: self.max_blocking_threads,
            keep_alive: self.keep_alive,
            task_slab: self.task_slab,
            time_base: self.time_base,
        };
        (settings, self.exception_handler.is_some())
    }

    /// Builds the runtime.
    ///
    /// # Errors
    /// `InvalidInput` if `max_blocking_threads` is 0; an OS error if the
    /// poller (epoll) cannot be created.
    ///
    /// # Panics
    /// If no seed was given and `BOUCLE_SEED` is set to something other
    /// than an unsigned integer.
    pub fn build(self) -> io::Result<Runtime> {
        if self.max_blocking_threads == 0 {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "boucle: max_blocking_threads must be at least 1 (the blocking pool \
                 runs spawn_blocking and boucle::fs)",
            ));
        }
        let seed = self
            .seed
            .or_else(env_seed)
            .unwrap_or_else(|| fastrand::u64(..));
        let core = Core::new(Config {
            virtual_time: self.virtual_time,
            seed,
            trace: self.trace,
            slow_poll: self.debug.then_some(self.slow_poll),
            max_blocking_threads: self.max_blocking_threads,
            blocking_keep_alive: self.keep_alive,
            task_slab: self.task_slab.unwrap_or_else(|| {
                std::env::var("BOUCLE_TASK_SLAB").map_or(true, |v| v.trim() != "0")
            }),
            time_base: self.time_base,
            exception_handler: self.exception_handler,
        })?;
        Ok(Runtime {
            core: Rc::new(core),
        })
    }
}

/// A [`Builder`] less its exception handler: `Send`, so each shard's thread
/// can build its own loop from it.
#[derive(Clone, Debug)]
pub(crate) struct ShardSettings {
    virtual_time: bool,
    seed: Option<u64>,
    trace: bool,
    debug: bool,
    slow_poll: Duration,
    max_blocking_threads: usize,
    keep_alive: Duration,
    task_slab: Option<bool>,
    time_base: TimeBase,
}

impl ShardSettings {
    /// The seed given, else `BOUCLE_SEED`, else a random one.
    ///
    /// # Panics
    /// As [`Builder::build`], on a bad `BOUCLE_SEED`.
    pub(crate) fn base_seed(&self) -> u64 {
        self.seed
            .or_else(env_seed)
            .unwrap_or_else(|| fastrand::u64(..))
    }

    pub(crate) fn is_virtual(&self) -> bool {
        self.virtual_time
    }

    pub(crate) fn max_blocking_threads(&self) -> usize {
        self.max_blocking_threads
    }

    /// A builder with these settings, this seed and this handler.
    pub(crate) fn builder(
        &self,
        seed: u64,
        handler: impl Fn(&ExceptionContext<'_>) + 'static,
    ) -> Builder {
        Builder {
            virtual_time: self.virtual_time,
            seed: Some(seed),
            trace: self.trace,
            debug: self.debug,
            slow_poll: self.slow_poll,
            max_blocking_threads: self.max_blocking_threads,
            keep_alive: self.keep_alive,
            task_slab: self.task_slab,
            time_base: self.time_base,
            exception_handler: Some(Rc::new(handler)),
        }
    }
}
