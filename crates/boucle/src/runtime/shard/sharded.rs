//! `ShardedRuntime`: the shards' threads, their start, their main
//! futures, and their shutdown.

use std::future::Future;
use std::io;
use std::panic::Location;
use std::sync::mpsc as std_mpsc;
use std::sync::Arc;
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use super::builder::MakeInstrument;
use super::control::{Reply, Stop, StopFlag};
use super::error::{ShardError, ShardHandler};
use super::fleet::{Entry, Loads};
use super::observe::{self, ShardMetrics, ShardTask, ShardTrace, ShardedTrace};
use super::thread::{shard_thread, start_main, Ready, ThreadArgs};
use super::{pin, Fleet, Shard, ShardedHandle};
use crate::runtime::builder::ShardSettings;
use crate::runtime::{context, Builder, RemoteTask, RUN_SHUTDOWN_TIMEOUT};
use crate::trace::Trace;

/// How long after a shutdown's deadline the caller still waits for a
/// shard's thread to end (cancelling tasks and dropping their futures takes
/// a moment) before it reports the shard as stuck.
const JOIN_SLACK: Duration = Duration::from_millis(250);

/// n event loops on n threads that share nothing: see the
/// [module docs](crate::runtime::shard). Made by [`Builder::threads`] (or
/// [`Builder::sharded`] for one shard per core); [`run_sharded`] is the
/// one-call form.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
///
/// let rt = boucle::Runtime::builder().virtual_time(true).threads(2).build().unwrap();
/// let out = rt.block_on(|shard| async move {
///     boucle::sleep(Duration::from_secs(shard.id() as u64 + 1)).await; // virtual: instant
///     format!("{shard} at {:?}", boucle::now().elapsed())
/// });
/// assert_eq!(out.len(), 2);
/// let report = rt.shutdown_timeout(Duration::from_secs(1));
/// assert!(report.all_in_time());
/// ```
pub struct ShardedRuntime {
    handle: ShardedHandle,
    threads: Vec<Option<JoinHandle<()>>>,
    /// A `Mutex` only to make the runtime `Sync` (one thread finishes it).
    exits: std::sync::Mutex<std_mpsc::Receiver<ShardStop>>,
    seed: u64,
    finished: bool,
}

/// How one shard ended.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct ShardStop {
    /// Which shard.
    pub shard: usize,
    /// Its root futures (main, `spawn_on`'s, connections) all finished
    /// within the grace period.
    pub drained: bool,
    /// Tasks still unfinished when it stopped, cancelled then.
    pub cancelled: usize,
    /// Why the shard stopped early: its main future's panic (or its loop's
    /// failure), in words.
    pub panicked: Option<String>,
    /// Its thread ended by the deadline (false: a task blocks the thread;
    /// it was left running, detached).
    pub in_time: bool,
    /// Its trace as it stopped, if tracing was on.
    pub trace: Option<Trace>,
    /// The instant of its loop time 0 (to merge traces).
    pub(crate) origin: Option<Instant>,
}

/// What [`ShardedRuntime::shutdown_timeout`] saw: one [`ShardStop`] per
/// shard, in shard order.
#[derive(Debug, Clone)]
#[must_use = "tells whether every shard stopped in time"]
pub struct ShutdownReport {
    /// Each shard's end.
    pub shards: Vec<ShardStop>,
    virtual_time: bool,
}

impl ShutdownReport {
    /// True if every shard's thread ended by the deadline.
    pub fn all_in_time(&self) -> bool {
        self.shards.iter().all(|s| s.in_time)
    }

    /// True if every shard's root futures finished within the grace.
    pub fn all_drained(&self) -> bool {
        self.shards.iter().all(|s| s.drained)
    }

    /// The shards' final traces, merged (tracing on).
    pub fn trace(&self) -> Option<ShardedTrace> {
        let first = self.shards.iter().filter_map(|s| s.origin).min()?;
        let parts: Vec<_> = self
            .shards
            .iter()
            .filter_map(|s| {
                let trace = s.trace.clone()?;
                let offset = match (self.virtual_time, s.origin) {
                    (false, Some(o)) => o.saturating_duration_since(first),
                    _ => Duration::ZERO,
                };
                Some(ShardTrace {
                    shard: Shard::new(s.shard, self.shards.len(), None),
                    trace,
                    offset,
                })
            })
            .collect();
        (!parts.is_empty()).then(|| ShardedTrace::from_parts(parts))
    }
}

impl ShardedRuntime {
    pub(crate) fn start(
        n: usize,
        settings: ShardSettings,
        pin_threads: bool,
        handler: Option<Arc<ShardHandler>>,
        instruments: Vec<Arc<MakeInstrument>>,
    ) -> io::Result<ShardedRuntime> {
        let cpus = if pin_threads {
            pin::allowed_cpus()
        } else {
            Vec::new()
        };
        let seed = settings.base_seed();
        let virtual_time = settings.is_virtual();
        let (ready_tx, ready_rx) = std_mpsc::channel();
        let (exit_tx, exit_rx) = std_mpsc::channel();
        let mut fleet_txs = Vec::with_capacity(n);
        let mut threads = Vec::with_capacity(n);
        for id in 0..n {
            let (fleet_tx, fleet_rx) = std_mpsc::channel();
            let args = ThreadArgs {
                id,
                count: n,
                settings: settings.clone(),
                seed: seed.wrapping_add(id as u64),
                cpu: (!cpus.is_empty()).then(|| cpus[id % cpus.len()]),
                handler: handler.clone(),
                instruments: instruments.clone(),
                ready: ready_tx.clone(),
                fleet: fleet_rx,
                exit: exit_tx.clone(),
            };
            let spawned = thread::Builder::new()
                .name(format!("boucle-shard-{id}"))
                .spawn(move || shard_thread(args));
            match spawned {
                Ok(t) => threads.push(t),
                Err(e) => {
                    // The started ones see their fleet channel close and end.
                    drop(fleet_txs);
                    threads.into_iter().for_each(|t| drop(t.join()));
                    return Err(e);
                }
            }
            fleet_txs.push(fleet_tx);
        }
        drop(ready_tx);
        let mut ready: Vec<Option<Ready>> = (0..n).map(|_| None).collect();
        let mut failed = None;
        for _ in 0..n {
            match ready_rx.recv() {
                Ok((id, Ok(r))) => ready[id] = Some(r),
                Ok((_, Err(e))) => {
                    failed.get_or_insert(e);
                }
                Err(_) => {
                    failed.get_or_insert(io::Error::other(
                        "boucle: a shard thread died while starting",
                    ));
                    break;
                }
            }
        }
        let entries: Option<Vec<Entry>> = ready
            .into_iter()
            .map(|r| {
                r.map(|r| Entry {
                    shard: r.shard,
                    handle: r.handle,
                    shared: r.shared,
                    origin: r.origin,
                })
            })
            .collect();
        let entries = match (failed, entries) {
            (None, Some(entries)) => entries,
            (failed, _) => {
                drop(fleet_txs);
                threads.into_iter().for_each(|t| drop(t.join()));
                return Err(
                    failed.unwrap_or_else(|| io::Error::other("boucle: a shard did not start"))
                );
            }
        };
        let fleet = Arc::new(Fleet {
            loads: Arc::new(Loads::new(n)),
            entries,
            stop: StopFlag::new(),
            handler,
            virtual_time,
        });
        for tx in fleet_txs {
            let _ = tx.send(fleet.clone());
        }
        Ok(ShardedRuntime {
            handle: ShardedHandle { fleet },
            threads: threads.into_iter().map(Some).collect(),
            exits: std::sync::Mutex::new(exit_rx),
            seed,
            finished: false,
        })
    }

    /// The number of shards.
    pub fn len(&self) -> usize {
        self.handle.len()
    }

    /// Always false: a sharded runtime has at least one shard.
    pub fn is_empty(&self) -> bool {
        false
    }

    /// Who each shard is (index, count, the core it is pinned to).
    pub fn shards(&self) -> Vec<Shard> {
        self.handle.shards()
    }

    /// The seed of the runtime: shard `i`'s generator has `seed + i`.
    pub fn seed(&self) -> u64 {
        self.seed
    }

    /// A handle to every shard, usable from any thread.
    pub fn handle(&self) -> ShardedHandle {
        self.handle.clone()
    }

    /// [`ShardedHandle::spawn_on`].
    ///
    /// # Panics
    /// If `shard` is not below [`len`](ShardedRuntime::len).
    #[track_caller]
    pub fn spawn_on<F>(&self, shard: usize, future: F) -> RemoteTask<F::Output>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        self.handle.spawn_on(shard, future)
    }

    /// [`ShardedHandle::spawn_on_with`].
    ///
    /// # Panics
    /// If `shard` is not below [`len`](ShardedRuntime::len).
    #[track_caller]
    pub fn spawn_on_with<M, F>(&self, shard: usize, make: M) -> RemoteTask<F::Output>
    where
        M: FnOnce() -> F + Send + 'static,
        F: Future + 'static,
        F::Output: Send + 'static,
    {
        self.handle.spawn_on_with(shard, make)
    }

    /// Runs `make(shard)` on every shard, each future built on its shard
    /// (so it may be `!Send`), and blocks until all have finished; their
    /// outputs in shard order. Each is its shard's *main* future: when it
    /// panics, the panic is reported (exception handler, by default a line
    /// on stderr), that shard is stopped (its tasks cancelled), its result
    /// is a [`ShardError`] and the other shards go on. Tasks the mains
    /// leave behind keep running until the shutdown.
    ///
    /// # Examples
    /// See [`ShardedRuntime`] and [`ShardError`].
    ///
    /// # Panics
    /// On a shard's thread or inside a running loop (it would wait for
    /// itself): await [`spawn_on`](super::spawn_on)'s tasks there instead.
    #[track_caller]
    pub fn block_on<M, F>(&self, make: M) -> Vec<Result<F::Output, ShardError>>
    where
        M: Fn(Shard) -> F + Send + Sync + 'static,
        F: Future + 'static,
        F::Output: Send + 'static,
    {
        assert!(
            !context::is_running(),
            "boucle: ShardedRuntime::block_on inside a running loop would block it: \
             await spawn_on tasks instead"
        );
        let location = Location::caller();
        let make = Arc::new(make);
        let replies: Vec<Reply<F::Output>> = (0..self.len())
            .map(|i| start_main(self.handle.fleet.entry(i), make.clone(), location))
            .collect();
        replies.into_iter().map(Reply::wait).collect()
    }

    /// Every shard's trace (built with `trace(true)`), merged.
    ///
    /// # Examples
    /// See [`ShardedTrace`].
    ///
    /// # Panics
    /// Inside a running loop (await [`ShardedHandle::trace`] there).
    pub fn trace(&self) -> Option<ShardedTrace> {
        self.assert_outside("trace");
        observe::trace_blocking(&self.handle)
    }

    /// Every running shard's metrics.
    ///
    /// # Panics
    /// Inside a running loop (await [`ShardedHandle::metrics`] there).
    pub fn metrics(&self) -> Vec<ShardMetrics> {
        self.assert_outside("metrics");
        observe::metrics_blocking(&self.handle)
    }

    /// Every unfinished task of every running shard.
    ///
    /// # Panics
    /// Inside a running loop (await [`ShardedHandle::all_tasks`] there).
    pub fn all_tasks(&self) -> Vec<ShardTask> {
        self.assert_outside("all_tasks");
        observe::all_tasks_blocking(&self.handle)
    }

    #[track_caller]
    fn assert_outside(&self, what: &str) {
        assert!(
            !context::is_running(),
            "boucle: ShardedRuntime::{what} inside a running loop would block it: \
             await ShardedHandle::{what} instead"
        );
    }

    /// Stops every shard within `timeout`: the [`stopping`](ShardedHandle::stopping)
    /// futures complete, the futures that came in through the sharded
    /// runtime (mains, `spawn_on`'s, handed-off connections) get the
    /// timeout (on each shard's loop clock, virtual with virtual time) to
    /// finish, then each shard cancels what is left, waits for its
    /// blocking jobs no later than the deadline, and its thread ends. A
    /// shard whose thread has not ended shortly after the deadline (a task
    /// blocks it in a system call) is left running, detached, and a line
    /// on stderr says so.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    ///
    /// let rt = boucle::Runtime::builder().virtual_time(true).threads(2).build().unwrap();
    /// // A task that drains for 2 s (of virtual time) once asked to stop,
    /// // and one that would never end.
    /// let drains = rt.spawn_on_with(0, || async {
    ///     boucle::runtime::ShardedHandle::current().stopping().await;
    ///     boucle::sleep(Duration::from_secs(2)).await;
    /// });
    /// let _never = rt.spawn_on(1, std::future::pending::<()>());
    /// let report = rt.shutdown_timeout(Duration::from_secs(5));
    /// assert!(drains.wait().is_ok());
    /// assert!(report.shards[0].drained && !report.shards[1].drained);
    /// assert!(report.all_in_time());
    /// ```
    pub fn shutdown_timeout(mut self, timeout: Duration) -> ShutdownReport {
        let now = Instant::now();
        self.finish(Stop {
            grace: timeout,
            deadline: now
                .checked_add(timeout)
                .unwrap_or(now + Duration::from_secs(86_400)),
        })
    }

    /// Stops every shard now: cancels their tasks at once and waits at
    /// most `timeout` for their blocking jobs and threads (what
    /// [`run_sharded`] does, with [`RUN_SHUTDOWN_TIMEOUT`]).
    pub fn shutdown_now(mut self, timeout: Duration) -> ShutdownReport {
        let now = Instant::now();
        self.finish(Stop {
            grace: Duration::ZERO,
            deadline: now
                .checked_add(timeout)
                .unwrap_or(now + Duration::from_secs(86_400)),
        })
    }

    fn finish(&mut self, stop: Stop) -> ShutdownReport {
        self.finished = true;
        self.handle.stop(stop);
        // An earlier `ShardedHandle::shutdown` may have set its own stop.
        let stop = self.handle.fleet.stop.get().unwrap_or(stop);
        let n = self.len();
        let mut stops: Vec<Option<ShardStop>> = (0..n).map(|_| None).collect();
        let give_up = stop.deadline + JOIN_SLACK;
        let mut seen = 0;
        let exits = self.exits.get_mut().unwrap_or_else(|e| e.into_inner());
        while seen < n {
            let left = give_up.saturating_duration_since(Instant::now());
            match exits.recv_timeout(left) {
                Ok(s) => {
                    let id = s.shard;
                    if let Some(t) = self.threads[id].take() {
                        let _ = t.join();
                    }
                    stops[id] = Some(ShardStop { in_time: true, ..s });
                    seen += 1;
                }
                Err(_) => break,
            }
        }
        let shards = stops
            .into_iter()
            .enumerate()
            .map(|(id, s)| {
                s.unwrap_or_else(|| {
                    eprintln!(
                        "boucle: shard {id} did not stop by the shutdown deadline (a task blocks \
                         its thread); its thread is left running"
                    );
                    drop(self.threads[id].take()); // detached
                    ShardStop {
                        shard: id,
                        drained: false,
                        cancelled: 0,
                        panicked: None,
                        in_time: false,
                        trace: None,
                        origin: None,
                    }
                })
            })
            .collect();
        ShutdownReport {
            shards,
            virtual_time: self.handle.fleet.virtual_time,
        }
    }
}

impl Drop for ShardedRuntime {
    fn drop(&mut self) {
        if !self.finished {
            let now = Instant::now();
            let _ = self.finish(Stop {
                grace: Duration::ZERO,
                deadline: now + RUN_SHUTDOWN_TIMEOUT,
            });
        }
    }
}

impl std::fmt::Debug for ShardedRuntime {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ShardedRuntime")
            .field("shards", &self.shards())
            .field("seed", &self.seed)
            .finish()
    }
}

/// Runs `make(shard)` on each of `n` new shards and returns their outputs
/// in shard order (asyncio's `run`, once per shard): see
/// [`ShardedRuntime::block_on`]. Then every shard stops as
/// [`run`](crate::run)'s loop does: tasks left are cancelled, blocking jobs
/// waited for at most [`RUN_SHUTDOWN_TIMEOUT`].
///
/// # Examples
///
/// ```
/// let squares = boucle::run_sharded(2, |shard| async move { shard.id() * shard.id() });
/// let squares: Vec<usize> = squares.into_iter().map(Result::unwrap).collect();
/// assert_eq!(squares, [0, 1]);
/// ```
///
/// # Panics
/// If `n` is 0, if a loop cannot be created, and inside a running loop.
#[track_caller]
pub fn run_sharded<M, F>(n: usize, make: M) -> Vec<Result<F::Output, ShardError>>
where
    M: Fn(Shard) -> F + Send + Sync + 'static,
    F: Future + 'static,
    F::Output: Send + 'static,
{
    let rt = match Builder::new().threads(n).build() {
        Ok(rt) => rt,
        Err(e) => panic!("boucle: cannot start {n} shards: {e}"),
    };
    let out = rt.block_on(make);
    let _ = rt.shutdown_now(RUN_SHUTDOWN_TIMEOUT);
    out
}
