//! `ShardedHandle`: every shard of a sharded runtime, from any thread.

use std::fmt;
use std::future::{poll_fn, Future};
use std::sync::Arc;
use std::time::{Duration, Instant};

use super::control::{RootGuard, Stop};
use super::observe::{self, ShardMetrics, ShardTask, ShardedTrace};
use super::{with_local, Fleet, Shard};
use crate::runtime::{Handle, RemoteTask};

/// The shards of a [`ShardedRuntime`](super::ShardedRuntime), reachable
/// from any thread and any shard: spawn on a chosen shard, reach a shard's
/// [`Handle`], ask for a shutdown, read per-shard traces and metrics.
/// Cheap to clone; `Send` and `Sync`.
///
/// # Examples
///
/// ```
/// let rt = boucle::Runtime::builder().threads(2).build().unwrap();
/// let shards = rt.handle();
/// // From this (non-shard) thread: run a Send future on shard 1.
/// let id = shards.spawn_on(1, async { boucle::runtime::shard_id() }).wait().unwrap();
/// assert_eq!(id, Some(1));
/// ```
#[derive(Clone)]
pub struct ShardedHandle {
    pub(crate) fleet: Arc<Fleet>,
}

impl ShardedHandle {
    /// The sharded runtime this shard belongs to.
    ///
    /// # Panics
    /// Outside a shard's thread (see [`try_current`](ShardedHandle::try_current)).
    #[track_caller]
    pub fn current() -> ShardedHandle {
        match ShardedHandle::try_current() {
            Some(h) => h,
            None => panic!(
                "boucle: not on a shard: call this inside a sharded runtime \
                 (boucle::run_sharded, ShardedRuntime::block_on), or use ShardedRuntime::handle"
            ),
        }
    }

    /// The sharded runtime this thread's shard belongs to, if any.
    pub fn try_current() -> Option<ShardedHandle> {
        with_local(|l| ShardedHandle {
            fleet: l.fleet.clone(),
        })
    }

    /// The number of shards.
    pub fn len(&self) -> usize {
        self.fleet.len()
    }

    /// Always false: a sharded runtime has at least one shard.
    pub fn is_empty(&self) -> bool {
        false
    }

    /// Who each shard is (index, count, core), in order.
    pub fn shards(&self) -> Vec<Shard> {
        self.fleet.entries.iter().map(|e| e.shard).collect()
    }

    /// Shard `shard`'s loop handle (`call_soon_threadsafe`, `spawn`). Tasks
    /// spawned through it directly are not among the work a shutdown
    /// waits for; [`spawn_on`](ShardedHandle::spawn_on)'s are.
    ///
    /// # Panics
    /// If `shard` is not below [`len`](ShardedHandle::len).
    #[track_caller]
    pub fn handle(&self, shard: usize) -> &Handle {
        &self.fleet.entry(shard).handle
    }

    /// Spawns the `Send` future `future` on shard `shard`, from any thread
    /// or shard. Await the [`RemoteTask`] anywhere, or
    /// [`wait`](RemoteTask::wait) for it from a thread that is no shard.
    /// If the shard has stopped, the result is a cancelled `TaskError`.
    ///
    /// # Examples
    /// See [`ShardedHandle`].
    ///
    /// # Panics
    /// If `shard` is not below [`len`](ShardedHandle::len).
    #[track_caller]
    pub fn spawn_on<F>(&self, shard: usize, future: F) -> RemoteTask<F::Output>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        self.spawn_on_with(shard, move || future)
    }

    /// Spawns on shard `shard` the future that `make` builds there: the
    /// future may be `!Send` (use the shard's sockets, `Rc`s, timers).
    ///
    /// # Examples
    ///
    /// ```
    /// let rt = boucle::Runtime::builder().threads(2).build().unwrap();
    /// let task = rt.handle().spawn_on_with(0, || async {
    ///     let local = std::rc::Rc::new(5); // !Send, built on shard 0
    ///     boucle::sleep(std::time::Duration::from_millis(1)).await;
    ///     *local + 1
    /// });
    /// assert_eq!(task.wait().unwrap(), 6);
    /// ```
    ///
    /// # Panics
    /// If `shard` is not below [`len`](ShardedHandle::len).
    #[track_caller]
    pub fn spawn_on_with<M, F>(&self, shard: usize, make: M) -> RemoteTask<F::Output>
    where
        M: FnOnce() -> F + Send + 'static,
        F: Future + 'static,
        F::Output: Send + 'static,
    {
        self.fleet.entry(shard).handle.spawn_with(move || {
            // On the target shard: count the future as a root while it runs.
            let guard = with_local(|l| RootGuard::new(&l.roots));
            let future = make();
            async move {
                let _guard = guard;
                future.await
            }
        })
    }

    /// Asks every shard to stop, from any thread, without waiting: the
    /// [`stopping`](ShardedHandle::stopping) futures complete, each shard
    /// gives the futures that came in through the sharded runtime (its
    /// main, `spawn_on`'s, handed-off connections) up to `grace` on its
    /// loop clock to finish, then cancels what is left and its thread
    /// ends. [`ShardedRuntime::shutdown_timeout`](super::ShardedRuntime::shutdown_timeout)
    /// does this and waits. Only the first call counts. A future sent to a
    /// shard that has already stopped (a `block_on` called after
    /// `shutdown`, say) does not run: its output is
    /// [`ShardError`](super::ShardError) "stopped".
    ///
    /// # Examples
    /// See [`stopping`](ShardedHandle::stopping).
    pub fn shutdown(&self, grace: Duration) {
        self.stop(Stop {
            grace,
            deadline: Instant::now()
                .checked_add(grace)
                .unwrap_or_else(|| Instant::now() + Duration::from_secs(86_400)),
        });
    }

    pub(crate) fn stop(&self, stop: Stop) -> bool {
        if !self.fleet.stop.raise(stop) {
            return false;
        }
        // One job per shard wakes its waiters together, after the jobs
        // queued before it (see `control::Roots`).
        for e in &self.fleet.entries {
            let _ = e.shared.push_job(Box::new(|| {
                with_local(|l| l.roots.stop_here());
            }));
        }
        true
    }

    /// True once a shutdown was asked.
    pub fn is_stopping(&self) -> bool {
        self.fleet.stop.get().is_some()
    }

    /// Completes when a shutdown is asked: a server's accept loop awaits it
    /// to stop accepting and drain its connections within the grace period.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    ///
    /// let rt = boucle::Runtime::builder().virtual_time(true).threads(2).build().unwrap();
    /// let stopper = rt.handle();
    /// // The stop comes from another thread once both mains run: a shard
    /// // that sees it before its main arrives stops without running it.
    /// let (started, running) = std::sync::mpsc::channel::<()>();
    /// std::thread::spawn(move || {
    ///     running.iter().take(2).for_each(drop);
    ///     stopper.shutdown(Duration::from_secs(5));
    /// });
    /// let out = rt.block_on(move |_shard| {
    ///     let started = started.clone();
    ///     async move {
    ///         started.send(()).unwrap();
    ///         let shards = boucle::runtime::ShardedHandle::current();
    ///         shards.stopping().await; // stop accepting...
    ///         boucle::sleep(Duration::from_secs(1)).await; // ...and drain, within the grace
    ///         "drained"
    ///     }
    /// });
    /// assert!(out.iter().all(|r| *r.as_ref().unwrap() == "drained"));
    /// ```
    pub async fn stopping(&self) {
        poll_fn(|cx| self.poll_stopping(cx)).await;
    }

    /// The poll form of [`stopping`](ShardedHandle::stopping), for an
    /// accept loop that polls its listener and the stop together.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::future::poll_fn;
    /// use std::task::Poll;
    ///
    /// let rt = boucle::Runtime::builder().threads(1).build().unwrap();
    /// let out = rt.block_on(|_| async {
    ///     let listener = boucle::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    ///     let shards = boucle::runtime::ShardedHandle::current();
    ///     // Asked while this future runs (a signal handler would do it):
    ///     // it gets the grace to finish. Asked before `block_on`, the
    ///     // shard could stop before this future reached it.
    ///     shards.shutdown(std::time::Duration::from_secs(30));
    ///     let next = poll_fn(|cx| {
    ///         if shards.poll_stopping(cx).is_ready() {
    ///             return Poll::Ready(None); // stop accepting
    ///         }
    ///         listener.poll_accept(cx).map(Some)
    ///     });
    ///     next.await.is_none()
    /// });
    /// assert!(out[0].as_ref().unwrap());
    /// ```
    pub fn poll_stopping(&self, cx: &mut std::task::Context<'_>) -> std::task::Poll<()> {
        // On a shard of this runtime: its stop job wakes it (see
        // `control::Roots`); elsewhere the flag itself does.
        let here =
            with_local(|l| Arc::ptr_eq(&l.fleet, &self.fleet).then(|| l.roots.poll_stopping(cx)))
                .flatten();
        match here {
            Some(polled) => polled,
            None => self.fleet.stop.poll_raised(cx).map(|_| ()),
        }
    }

    /// Live connections that a [`HandoffListener`](crate::net::HandoffListener)
    /// handed to each shard, in shard order.
    pub fn loads(&self) -> Vec<usize> {
        (0..self.len()).map(|i| self.fleet.loads.conns(i)).collect()
    }

    /// Each shard's trace (if built with `trace(true)`), and all merged on
    /// one time axis. Await it on a shard or any executor.
    ///
    /// # Examples
    /// See [`ShardedTrace`].
    pub async fn trace(&self) -> Option<ShardedTrace> {
        observe::trace(self).await
    }

    /// Each shard's metrics, in shard order.
    ///
    /// # Examples
    /// See [`ShardMetrics`].
    pub async fn metrics(&self) -> Vec<ShardMetrics> {
        observe::metrics(self).await
    }

    /// Every unfinished task of every shard (a dump), shard by shard.
    ///
    /// # Examples
    /// See [`ShardTask`].
    pub async fn all_tasks(&self) -> Vec<ShardTask> {
        observe::all_tasks(self).await
    }
}

impl fmt::Debug for ShardedHandle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ShardedHandle")
            .field("shards", &self.len())
            .field("stopping", &self.is_stopping())
            .finish()
    }
}
