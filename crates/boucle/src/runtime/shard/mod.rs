//! Many cores: n loops on n threads that share nothing (thread-per-core,
//! as Seastar, glommio and monoio do it).
//!
//! A [`ShardedRuntime`] is n shards; each shard is the same single-thread
//! loop as a [`Runtime`](crate::Runtime) (its own run queue, timer wheel,
//! reactor and blocking pool, `!Send` tasks), on its own thread, pinned to
//! a core where the OS allows. Nothing of one loop is reachable from
//! another: work crosses between shards only as `Send` values, through
//!
//! * [`spawn_on`] / [`ShardedHandle::spawn_on`] (a `Send` future) and
//!   [`spawn_on_with`] (a closure that builds a `!Send` future on the
//!   target shard), which give a [`RemoteTask`] to
//!   await from any shard or wait for from any thread;
//! * each shard's [`Handle`](crate::runtime::Handle), usable from any thread;
//! * the cross-thread channels [`sync::oneshot`](crate::sync::oneshot) and
//!   [`sync::mpsc`](crate::sync::mpsc): their senders are `Send`, and a
//!   receiver is awaited on the shard that holds it;
//! * for servers, [`TcpListener::bind_reuseport`](crate::net::TcpListener::bind_reuseport)
//!   (every shard accepts on one port; the kernel spreads connections,
//!   and with [`set_incoming_cpu`](crate::net::TcpListener::set_incoming_cpu)
//!   gives each to the shard on the core its packets arrive on) or
//!   a [`HandoffListener`](crate::net::HandoffListener) (one shard accepts
//!   and hands each connection to the shard with the fewest live ones).
//!
//! Why a separate type and not a `Runtime` with more threads: a `Runtime`
//! is `!Send` and *is* one loop (its `block_on` runs a `!Send` future on
//! the calling thread); a sharded runtime owns threads and takes one
//! future *per shard*, built on that shard. The name says what it is: a
//! runtime cut into shards.
//!
//! # Examples
//!
//! ```
//! use boucle::runtime::{spawn_on, Shard};
//!
//! // One future per shard, built on its shard (it may hold Rc's); the
//! // outputs come back in shard order.
//! let outputs = boucle::run_sharded(2, |shard: Shard| async move {
//!     let local = std::rc::Rc::new(shard.id() * 10); // !Send is fine here
//!     // Ask the other shard for something (a Send future).
//!     let other = (shard.id() + 1) % shard.count();
//!     let theirs = spawn_on(other, async { boucle::runtime::shard_id().unwrap() }).await.unwrap();
//!     (*local, theirs)
//! });
//! let outputs: Vec<_> = outputs.into_iter().map(Result::unwrap).collect();
//! assert_eq!(outputs, [(0, 1), (10, 0)]);
//! ```
//!
//! # Time, seeds, panics
//!
//! Each shard has its own clock: with virtual time, each shard's clock
//! jumps on its own (a shard waiting for another is woken by it, as by a
//! thread). Shard `i`'s random generator is seeded with `seed + i`, so a
//! seeded run is reproducible per shard. A panic in a shard's main future
//! (the one given to [`ShardedRuntime::block_on`] or [`run_sharded`])
//! stops that shard (its tasks are cancelled, work sent to it afterwards
//! is refused) and is reported; the other shards go on.

mod builder;
mod control;
mod error;
mod fleet;
mod handle;
mod observe;
mod pin;
mod sharded;
mod thread;

#[cfg(all(test, loom))]
mod loom_tests;

use std::cell::RefCell;
use std::future::Future;
use std::rc::Rc;
use std::sync::Arc;

pub use builder::ShardedBuilder;
pub use error::{ShardError, ShardException};
pub use handle::ShardedHandle;
pub use observe::{ShardMetrics, ShardTask, ShardTrace, ShardedTrace};
pub use sharded::{run_sharded, ShardStop, ShardedRuntime, ShutdownReport};

pub(crate) use control::RootGuard;
pub(crate) use fleet::{ConnGuard, Fleet};

use super::RemoteTask;

/// Who a shard is: its index, how many there are, and the core its thread
/// is pinned to (if pinning worked).
///
/// # Examples
///
/// ```
/// let ids = boucle::run_sharded(2, |shard| async move {
///     assert_eq!(boucle::runtime::Shard::current(), Some(shard));
///     (shard.id(), shard.count())
/// });
/// assert_eq!(ids.into_iter().map(Result::unwrap).collect::<Vec<_>>(), [(0, 2), (1, 2)]);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Shard {
    id: usize,
    count: usize,
    cpu: Option<usize>,
}

impl Shard {
    pub(crate) fn new(id: usize, count: usize, cpu: Option<usize>) -> Shard {
        Shard { id, count, cpu }
    }

    /// The shard's index, `0..count()`.
    pub fn id(&self) -> usize {
        self.id
    }

    /// How many shards the runtime has.
    pub fn count(&self) -> usize {
        self.count
    }

    /// The core this shard's thread is pinned to; `None` when it runs
    /// unpinned (pinning off, or refused by the OS).
    pub fn cpu(&self) -> Option<usize> {
        self.cpu
    }

    /// The shard this thread runs, if it is a shard's thread.
    pub fn current() -> Option<Shard> {
        with_local(|l| l.shard)
    }
}

impl std::fmt::Display for Shard {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "shard {}", self.id)
    }
}

/// The index of the shard running this code; `None` outside a sharded
/// runtime (a plain `boucle::run` loop, or a thread that is no shard).
///
/// # Examples
///
/// ```
/// assert_eq!(boucle::runtime::shard_id(), None);
/// let ids = boucle::run_sharded(2, |_| async { boucle::runtime::shard_id() });
/// assert_eq!(ids.into_iter().map(Result::unwrap).collect::<Vec<_>>(), [Some(0), Some(1)]);
/// ```
pub fn shard_id() -> Option<usize> {
    with_local(|l| l.shard.id)
}

/// Spawns the `Send` future `future` on shard `shard` of the sharded
/// runtime this code runs in (its [`ShardedHandle::spawn_on`]). Await the
/// [`RemoteTask`] from any shard, or wait for it from any thread.
///
/// # Examples
/// See the [module docs](crate::runtime::shard).
///
/// # Panics
/// Outside a shard (use [`ShardedHandle::spawn_on`] there), or if `shard`
/// is not below the number of shards.
#[track_caller]
pub fn spawn_on<F>(shard: usize, future: F) -> RemoteTask<F::Output>
where
    F: Future + Send + 'static,
    F::Output: Send + 'static,
{
    ShardedHandle::current().spawn_on(shard, future)
}

/// Spawns on shard `shard` the future that `make` builds there, so the
/// future need not be `Send` (its [`ShardedHandle::spawn_on_with`]).
///
/// # Examples
///
/// ```
/// use std::time::Duration;
///
/// let out = boucle::run_sharded(2, |shard| async move {
///     let other = 1 - shard.id();
///     boucle::runtime::spawn_on_with(other, move || async move {
///         let rc = std::rc::Rc::new(other); // built on the other shard
///         boucle::sleep(Duration::from_millis(1)).await;
///         *rc
///     })
///     .await
///     .unwrap()
/// });
/// assert_eq!(out.into_iter().map(Result::unwrap).collect::<Vec<_>>(), [1, 0]);
/// ```
///
/// # Panics
/// Outside a shard, or if `shard` is not below the number of shards.
#[track_caller]
pub fn spawn_on_with<M, F>(shard: usize, make: M) -> RemoteTask<F::Output>
where
    M: FnOnce() -> F + Send + 'static,
    F: Future + 'static,
    F::Output: Send + 'static,
{
    ShardedHandle::current().spawn_on_with(shard, make)
}

/// What a shard's thread knows about itself.
pub(crate) struct Local {
    pub(crate) shard: Shard,
    pub(crate) fleet: Arc<Fleet>,
    /// The futures that entered through the sharded runtime and are still
    /// running here (mains, `spawn_on`, handed-off connections): shutdown
    /// gives them the grace period to finish.
    pub(crate) roots: Rc<control::Roots>,
}

thread_local! {
    static LOCAL: RefCell<Option<Local>> = const { RefCell::new(None) };
}

pub(crate) fn with_local<R>(f: impl FnOnce(&Local) -> R) -> Option<R> {
    LOCAL
        .try_with(|l| l.try_borrow().ok().and_then(|l| l.as_ref().map(f)))
        .ok()
        .flatten()
}

fn set_local(local: Option<Local>) -> Option<Local> {
    LOCAL
        .try_with(|l| std::mem::replace(&mut *l.borrow_mut(), local))
        .ok()
        .flatten()
}
