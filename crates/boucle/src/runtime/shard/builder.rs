//! `ShardedBuilder`: how many shards, pinned or not, the exception
//! handler they share, and the instruments each shard builds for itself.

use std::io;
use std::rc::Rc;
use std::sync::Arc;

use super::error::{ShardException, ShardHandler};
use super::{Shard, ShardedRuntime};
use crate::runtime::Builder;
use crate::trace::Instrument;

/// Builds one shard's instrument, on that shard's thread.
pub(crate) type MakeInstrument = dyn Fn(Shard) -> Rc<dyn Instrument> + Send + Sync;

/// Configures a [`ShardedRuntime`]: made by [`Builder::threads`] or
/// [`Builder::sharded`], it carries that builder's settings (virtual time,
/// seed, tracing, debug, blocking pool) to every shard.
///
/// # Examples
///
/// ```
/// let rt = boucle::Runtime::builder()
///     .seed(7)
///     .threads(2)
///     .pin(false)
///     .build()
///     .unwrap();
/// assert_eq!(rt.len(), 2);
/// assert!(rt.shards().iter().all(|s| s.cpu().is_none()));
/// // Shard i's generator is seeded with seed + i.
/// let seeds = rt.block_on(|_| async { boucle::random::uniform(0.0, 1.0) });
/// let again = boucle::Runtime::builder().seed(7).threads(2).build().unwrap()
///     .block_on(|_| async { boucle::random::uniform(0.0, 1.0) });
/// let (a, b): (Vec<f64>, Vec<f64>) = (
///     seeds.into_iter().map(Result::unwrap).collect(),
///     again.into_iter().map(Result::unwrap).collect(),
/// );
/// assert_eq!(a, b);
/// assert_ne!(a[0], a[1]);
/// ```
#[must_use = "a ShardedBuilder does nothing until .build() is called"]
pub struct ShardedBuilder {
    loop_builder: Builder,
    threads: Option<usize>,
    pin: bool,
    handler: Option<Arc<ShardHandler>>,
    instruments: Vec<Arc<MakeInstrument>>,
}

impl std::fmt::Debug for ShardedBuilder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ShardedBuilder")
            .field("loop_builder", &self.loop_builder)
            .field("threads", &self.threads)
            .field("pin", &self.pin)
            .field("exception_handler", &self.handler.is_some())
            .field("instruments", &self.instruments.len())
            .finish()
    }
}

impl ShardedBuilder {
    pub(crate) fn new(loop_builder: Builder) -> ShardedBuilder {
        ShardedBuilder {
            loop_builder,
            threads: None,
            pin: true,
            handler: None,
            instruments: Vec::new(),
        }
    }

    /// The number of shards (default: one per core this process may use,
    /// `std::thread::available_parallelism`). Zero is refused by
    /// [`build`](ShardedBuilder::build).
    pub fn threads(mut self, n: usize) -> ShardedBuilder {
        self.threads = Some(n);
        self
    }

    /// Pins each shard's thread to one core (default true): shard `i` to
    /// the `i`-th core of the process's affinity mask, wrapping around.
    /// When the OS refuses, the shards run unpinned and one line on stderr
    /// says so; [`Shard::cpu`](super::Shard::cpu) tells.
    pub fn pin(mut self, on: bool) -> ShardedBuilder {
        self.pin = on;
        self
    }

    /// Handles the panics nobody observed on any shard, and the panics of
    /// shards' main futures (which stop their shard), as
    /// [`Builder::exception_handler`] does for one loop. It runs on the
    /// shard's thread, so it must be `Send + Sync`. The default prints one
    /// line on stderr naming the shard.
    ///
    /// # Examples
    /// See [`ShardException`].
    pub fn exception_handler(
        mut self,
        handler: impl Fn(&ShardException<'_>) + Send + Sync + 'static,
    ) -> ShardedBuilder {
        self.handler = Some(Arc::new(handler));
        self
    }

    /// Installs an instrument on every shard: `make` runs on each shard's
    /// thread as its loop is built and returns that shard's instrument
    /// (an [`Instrument`] is `!Send`, as the loop it watches); the loop
    /// then calls its hooks as [`Builder::instrument`] does for one loop.
    /// Several may be installed; each shard calls them in the order given.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::sync::atomic::{AtomicU64, Ordering};
    /// use std::sync::Arc;
    /// use std::time::Duration;
    ///
    /// use boucle::trace::{Instrument, Spawned};
    ///
    /// // Counts the spawns of one shard into its slot.
    /// struct Spawns(Arc<[AtomicU64; 2]>, usize);
    /// impl Instrument for Spawns {
    ///     fn task_spawned(&self, _: &Spawned<'_>, _: Duration) {
    ///         self.0[self.1].fetch_add(1, Ordering::Relaxed);
    ///     }
    /// }
    ///
    /// let counts = Arc::new([AtomicU64::new(0), AtomicU64::new(0)]);
    /// let slots = counts.clone();
    /// let rt = boucle::Runtime::builder()
    ///     .threads(2)
    ///     .instrument(move |shard| Spawns(slots.clone(), shard.id()))
    ///     .build()
    ///     .unwrap();
    /// rt.block_on(|_| async { boucle::spawn(async {}).await.unwrap() });
    /// // On each shard: its main future and the task it spawned.
    /// assert_eq!(counts[0].load(Ordering::Relaxed), 2);
    /// assert_eq!(counts[1].load(Ordering::Relaxed), 2);
    /// ```
    pub fn instrument<I, M>(mut self, make: M) -> ShardedBuilder
    where
        M: Fn(Shard) -> I + Send + Sync + 'static,
        I: Instrument + 'static,
    {
        self.instruments.push(Arc::new(move |shard| {
            Rc::new(make(shard)) as Rc<dyn Instrument>
        }));
        self
    }

    /// Starts the shards: each thread builds its loop, and this returns
    /// once all are ready (they then idle until given work).
    ///
    /// # Errors
    /// `InvalidInput` for zero threads, for an exception handler or an
    /// instrument set on the loop builder (they are `!Send`: set them
    /// here), or as
    /// [`Builder::build`]; an OS error if a thread or a loop cannot be
    /// created (the shards already started are stopped).
    ///
    /// # Panics
    /// As [`Builder::build`], on a bad `BOUCLE_SEED`.
    pub fn build(self) -> io::Result<ShardedRuntime> {
        let invalid = |msg: &str| Err(io::Error::new(io::ErrorKind::InvalidInput, msg.to_owned()));
        let n = match self.threads {
            Some(n) => n,
            None => std::thread::available_parallelism().map_or(1, |n| n.get()),
        };
        if n == 0 {
            return invalid("boucle: a sharded runtime needs at least one thread (threads(0))");
        }
        let (settings, not_send) = self.loop_builder.shard_settings();
        if let Some(what) = not_send {
            return invalid(&format!(
                "boucle: the loop builder's {what} is !Send and cannot go to the shards: \
                 set it with ShardedBuilder::{what} (after .threads(n))"
            ));
        }
        let dump_on_signal = settings.dump_on_signal();
        let settings = settings.tree_without_listener();
        if settings.max_blocking_threads() == 0 {
            return invalid(
                "boucle: max_blocking_threads must be at least 1 (the blocking pool \
                 runs spawn_blocking and boucle::fs)",
            );
        }
        let rt = ShardedRuntime::start(n, settings, self.pin, self.handler, self.instruments)?;
        if dump_on_signal {
            super::observe::start_dump_listener(&rt.handle());
        }
        Ok(rt)
    }
}
