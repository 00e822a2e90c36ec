//! `Builder`: configures a `Runtime`.

use std::io;
use std::rc::Rc;
use std::time::Duration;

use super::core::{Config, Core};
use super::exception::{ExceptionContext, Handler};
use super::shard::ShardedBuilder;
use super::Runtime;
use crate::time::TimeBase;
use crate::trace::Instrument;

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
    trace_capacity: usize,
    debug: Option<bool>,
    slow_poll: Duration,
    watchdog: bool,
    task_tree: bool,
    dump_on_signal: bool,
    instruments: Vec<Rc<dyn Instrument>>,
    #[cfg(feature = "console")]
    console: bool,
    max_blocking_threads: usize,
    keep_alive: Duration,
    task_slab: Option<bool>,
    time_base: TimeBase,
    exception_handler: Option<Handler>,
}

impl std::fmt::Debug for Builder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut d = f.debug_struct("Builder");
        d.field("virtual_time", &self.virtual_time)
            .field("seed", &self.seed)
            .field("trace", &self.trace)
            .field("trace_capacity", &self.trace_capacity)
            .field("debug", &self.debug)
            .field("watchdog", &self.watchdog)
            .field("task_tree", &self.task_tree)
            .field("dump_on_signal", &self.dump_on_signal)
            .field("instruments", &self.instruments.len());
        #[cfg(feature = "console")]
        d.field("console", &self.console);
        d.field("slow_poll", &self.slow_poll)
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
            trace_capacity: crate::trace::DEFAULT_CAPACITY,
            debug: None,
            slow_poll: Duration::from_millis(100),
            watchdog: false,
            task_tree: false,
            dump_on_signal: false,
            instruments: Vec::new(),
            #[cfg(feature = "console")]
            console: false,
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

    /// Records every task's life (see `boucle::trace`): the recorder
    /// instrument, read back with `Runtime::trace`.
    pub fn trace(mut self, on: bool) -> Builder {
        self.trace = on;
        self
    }

    /// The recorder's ring buffer size in records (default
    /// [`DEFAULT_CAPACITY`](crate::trace::DEFAULT_CAPACITY), one million):
    /// past it the oldest are dropped and their events counted. A record is
    /// one event, except a poll's start and end, which share one (16 bytes
    /// a record, 8 more for a wait's deadline or what it waits on, and 24
    /// for a spawn's parent, location and name, in a side ring of half the
    /// size: the default ring is at most 36 MB, 16 MB for polls and wakes
    /// alone).
    pub fn trace_capacity(mut self, events: usize) -> Builder {
        self.trace_capacity = events.max(1);
        self
    }

    /// Installs an instrument: the loop calls its hooks (see
    /// [`Instrument`]). Several may be installed; they are called in the
    /// order given. Pass an `Rc` to keep a handle to it.
    ///
    /// # Examples
    /// See [`Instrument`].
    pub fn instrument(mut self, instrument: impl Instrument + 'static) -> Builder {
        self.instruments.push(Rc::new(instrument));
        self
    }

    /// tokio-console support (feature `console`): the loop emits the
    /// `tracing` spans and events of tokio's own task instrumentation, so
    /// `console-subscriber` and `tokio-console` list boucle's tasks with
    /// their names, ids, spawn locations, polls, busy and idle times and
    /// wakes. Each task gets a span named `runtime.spawn` (target
    /// `tokio::task`, fields `kind = local`, `task.name`, `task.id`,
    /// `loc.file`, `loc.line`, `loc.col`), entered for each poll and closed
    /// when the task ends; wakes are `tokio::task::waker` events
    /// (`waker.wake`, or `waker.wake_by_ref` when a task wakes itself).
    ///
    /// boucle only emits `tracing` data, on the loop thread. Install a
    /// subscriber that collects it before the loop spawns tasks (a task's
    /// span is made when it is spawned): `console_subscriber::init()` sets
    /// the global subscriber and starts the gRPC server that
    /// `tokio-console` attaches to (127.0.0.1:6669, or
    /// `TOKIO_CONSOLE_BIND`) on a thread of its own, which runs a small
    /// tokio runtime; boucle's loop does not run on tokio. console-subscriber
    /// refuses to start (it panics) unless it is compiled with
    /// `--cfg tokio_unstable`, or with `--cfg console_without_tokio_unstable`,
    /// its switch for other runtimes: build with
    /// `RUSTFLAGS="--cfg console_without_tokio_unstable"` (or put the flag
    /// in `.cargo/config.toml`'s `build.rustflags`). Without a subscriber
    /// that wants the spans, a task costs one disabled span at spawn and
    /// each hook a failed map lookup.
    ///
    /// Not shown: the `block_on` future (it is not a task), blocking-pool
    /// jobs, and console's resources and async ops (timers, sync
    /// primitives). A wake of a task that is already runnable is coalesced
    /// by the loop and not counted. boucle's `Waker` has no hooks, so the
    /// waker clone and drop counts are a model: one clone when a poll
    /// leaves its task waiting, released by the wake that ends the wait or
    /// by the task's end. console's "wakers" column is 1 for a waiting task
    /// and 0 otherwise, and its "lost waker" warning cannot fire.
    ///
    /// # Examples
    ///
    /// In a program that depends on `console-subscriber`, built with
    /// `RUSTFLAGS="--cfg console_without_tokio_unstable"` (then run
    /// `tokio-console` in another terminal):
    ///
    /// ```no_run
    /// use std::time::Duration;
    ///
    /// console_subscriber::init();
    /// let rt = boucle::Runtime::builder().console(true).build().unwrap();
    /// rt.block_on(async {
    ///     let ticker = boucle::task::Builder::new().name("ticker").spawn(async {
    ///         loop {
    ///             boucle::sleep(Duration::from_secs(1)).await;
    ///         }
    ///     });
    ///     ticker.await.ok();
    /// });
    /// ```
    ///
    /// With no subscriber installed it costs next to nothing and changes
    /// nothing:
    ///
    /// ```
    /// let rt = boucle::Runtime::builder().console(true).build().unwrap();
    /// let answer = rt.block_on(async { boucle::spawn(async { 6 * 7 }).await.unwrap() });
    /// assert_eq!(answer, 42);
    /// ```
    #[cfg(feature = "console")]
    pub fn console(mut self, on: bool) -> Builder {
        self.console = on;
        self
    }

    /// Keeps the task tree (each task's parent, polls, busy time and what
    /// it awaits) for [`boucle::trace::dump`](crate::trace::dump). Without
    /// it, a dump lists the live tasks with their state and location only.
    pub fn task_tree(mut self, on: bool) -> Builder {
        self.task_tree = on;
        self
    }

    /// On SIGUSR1, the loop prints its task tree (as `boucle::trace::dump`)
    /// to stderr, or to the file named by the `BOUCLE_DUMP` environment
    /// variable, and always to `/tmp/boucle-dump-<pid>.txt` where `boucle
    /// ps PID` reads it. Turns the task tree on. On a sharded runtime
    /// (`.threads(n)`), one listener on shard 0 writes every shard's tree,
    /// each under a `shard N:` heading.
    pub fn dump_on_signal(mut self, on: bool) -> Builder {
        self.dump_on_signal = on;
        self
    }

    /// Debug mode: warns on stderr when one poll blocks the loop longer
    /// than `slow_poll_threshold` (default 100 ms, as asyncio's
    /// `slow_callback_duration`), naming the task and its spawn location.
    /// Without a call, the environment variable `BOUCLE_DEBUG=1` turns it
    /// on (as `PYTHONASYNCIODEBUG`).
    pub fn debug(mut self, on: bool) -> Builder {
        self.debug = Some(on);
        self
    }

    /// With debug mode, a watchdog thread also reports a poll that is
    /// still running past `slow_poll_threshold`, while it runs (glommio's
    /// stall detector): the loop is stuck now, not afterwards. It names the
    /// task; it cannot print the loop thread's stack (that needs a signal
    /// handler, which boucle's no-`unsafe` rule keeps out: attach gdb or
    /// `perf` for it).
    pub fn watchdog(mut self, on: bool) -> Builder {
        self.watchdog = on;
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
    /// the exception handler and the instruments, which are `!Send` (the
    /// sharded builder has its own). The second value names the first of
    /// them that was set, if any.
    pub(crate) fn shard_settings(&self) -> (ShardSettings, Option<&'static str>) {
        let settings = ShardSettings {
            virtual_time: self.virtual_time,
            seed: self.seed,
            trace: self.trace,
            trace_capacity: self.trace_capacity,
            debug: self.debug,
            slow_poll: self.slow_poll,
            watchdog: self.watchdog,
            task_tree: self.task_tree,
            dump_on_signal: self.dump_on_signal,
            #[cfg(feature = "console")]
            console: self.console,
            max_blocking_threads: self.max_blocking_threads,
            keep_alive: self.keep_alive,
            task_slab: self.task_slab,
            time_base: self.time_base,
        };
        let not_send = if self.exception_handler.is_some() {
            Some("exception_handler")
        } else if !self.instruments.is_empty() {
            Some("instrument")
        } else {
            None
        };
        (settings, not_send)
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
        let debug = self.debug.unwrap_or_else(|| {
            std::env::var("BOUCLE_DEBUG").is_ok_and(|v| !matches!(v.trim(), "" | "0"))
        });
        let seed = self
            .seed
            .or_else(env_seed)
            .unwrap_or_else(|| fastrand::u64(..));
        #[allow(unused_mut)]
        let mut instruments = self.instruments;
        #[cfg(feature = "console")]
        if self.console {
            instruments.push(Rc::new(crate::trace::console::Console::default()));
        }
        let core = Core::new(Config {
            virtual_time: self.virtual_time,
            seed,
            trace: self.trace.then_some(self.trace_capacity),
            slow_poll: debug.then_some(self.slow_poll),
            watchdog: debug && self.watchdog,
            task_tree: self.task_tree || self.dump_on_signal,
            dump_on_signal: self.dump_on_signal,
            instruments,
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

/// A [`Builder`] less its exception handler and instruments: `Send`, so
/// each shard's thread can build its own loop from it.
#[derive(Clone, Debug)]
pub(crate) struct ShardSettings {
    virtual_time: bool,
    seed: Option<u64>,
    trace: bool,
    trace_capacity: usize,
    debug: Option<bool>,
    slow_poll: Duration,
    watchdog: bool,
    task_tree: bool,
    dump_on_signal: bool,
    #[cfg(feature = "console")]
    console: bool,
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

    pub(crate) fn dump_on_signal(&self) -> bool {
        self.dump_on_signal
    }

    /// The same settings with the task tree kept but no SIGUSR1 listener of
    /// each loop's own: a sharded runtime runs one for all its shards.
    pub(crate) fn tree_without_listener(mut self) -> ShardSettings {
        self.task_tree |= self.dump_on_signal;
        self.dump_on_signal = false;
        self
    }

    /// A builder with these settings, this seed, this handler and these
    /// instruments (built on the shard's thread).
    pub(crate) fn builder(
        &self,
        seed: u64,
        handler: impl Fn(&ExceptionContext<'_>) + 'static,
        instruments: Vec<Rc<dyn Instrument>>,
    ) -> Builder {
        Builder {
            virtual_time: self.virtual_time,
            seed: Some(seed),
            trace: self.trace,
            trace_capacity: self.trace_capacity,
            debug: self.debug,
            slow_poll: self.slow_poll,
            watchdog: self.watchdog,
            task_tree: self.task_tree,
            dump_on_signal: self.dump_on_signal,
            instruments,
            #[cfg(feature = "console")]
            console: self.console,
            max_blocking_threads: self.max_blocking_threads,
            keep_alive: self.keep_alive,
            task_slab: self.task_slab,
            time_base: self.time_base,
            exception_handler: Some(Rc::new(handler)),
        }
    }
}
