//! `ShardedBuilder`: how many shards, pinned or not, and the exception
//! handler they share.

use std::io;
use std::sync::Arc;

use super::error::{ShardException, ShardHandler};
use super::ShardedRuntime;
use crate::runtime::Builder;

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
}

impl std::fmt::Debug for ShardedBuilder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ShardedBuilder")
            .field("loop_builder", &self.loop_builder)
            .field("threads", &self.threads)
            .field("pin", &self.pin)
            .field("exception_handler", &self.handler.is_some())
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

    /// Starts the shards: each thread builds its loop, and this returns
    /// once all are ready (they then idle until given work).
    ///
    /// # Errors
    /// `InvalidInput` for zero threads, for an exception handler set on the
    /// loop builder (it is `!Send`: set it here), or as
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
        let (settings, has_loop_handler) = self.loop_builder.shard_settings();
        if has_loop_handler {
            return invalid(
                "boucle: the loop builder's exception_handler is !Send and cannot go to the \
                 shards: set it with ShardedBuilder::exception_handler (after .threads(n))",
            );
        }
        if settings.max_blocking_threads() == 0 {
            return invalid(
                "boucle: max_blocking_threads must be at least 1 (the blocking pool \
                 runs spawn_blocking and boucle::fs)",
            );
        }
        ShardedRuntime::start(n, settings, self.pin, self.handler)
    }
}
