//! `Runtime::metrics`: what the loop has done, counted as it goes (plain
//! counters: one add at each point, always on).

use std::time::Duration;

use super::core::Core;

/// A snapshot of a loop's counters, from [`Runtime::metrics`](crate::Runtime::metrics).
///
/// # Examples
///
/// ```
/// use std::time::Duration;
///
/// let rt = boucle::Runtime::builder().virtual_time(true).build().unwrap();
/// rt.block_on(async {
///     let t = boucle::spawn(boucle::sleep(Duration::from_secs(1)));
///     boucle::spawn(async { panic!("counted") }).await.unwrap_err();
///     t.await.unwrap();
/// });
/// let m = rt.metrics();
/// assert_eq!(m.tasks_spawned, 2);
/// assert_eq!((m.tasks_done, m.tasks_panicked, m.tasks_alive), (1, 1, 0));
/// assert_eq!(m.timers_fired, 1);
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Metrics {
    /// Tasks spawned since the runtime was built.
    pub tasks_spawned: u64,
    /// Tasks not finished yet.
    pub tasks_alive: u64,
    /// Tasks that returned a value.
    pub tasks_done: u64,
    /// Tasks that were cancelled.
    pub tasks_cancelled: u64,
    /// Tasks that panicked.
    pub tasks_panicked: u64,
    /// Polls of task futures.
    pub polls: u64,
    /// Loop iterations (batches of ready tasks).
    pub iterations: u64,
    /// Tasks in the run queue now.
    pub run_queue_depth: u64,
    /// Timers armed now.
    pub timers_armed: u64,
    /// Timers fired so far.
    pub timers_fired: u64,
    /// I/O sources registered now.
    pub io_sources: u64,
    /// I/O events received from the OS.
    pub io_events: u64,
    /// Wakes that came from other threads (or from outside the loop).
    pub remote_wakes: u64,
    /// Times the loop waited in the OS (epoll).
    pub parks: u64,
    /// Real time spent waiting in the OS.
    pub idle: Duration,
    /// Real time since the runtime was built, less `idle`: time the loop
    /// thread was running tasks or the loop (or was not inside `block_on`).
    pub busy: Duration,
    /// Threads of the blocking pool now.
    pub blocking_threads: u64,
    /// Jobs waiting for a blocking-pool thread.
    pub blocking_queue_depth: u64,
}

pub(crate) fn snapshot(core: &Core) -> Metrics {
    let (alive, queued) = core.task_counts();
    let (armed, fired) = core.time().timer_counts();
    let io = &core.io().stats;
    let s = &core.stats;
    let idle = io.idle.get();
    Metrics {
        tasks_spawned: core.spawned(),
        tasks_alive: alive as u64,
        tasks_done: s.done.get(),
        tasks_cancelled: s.cancelled.get(),
        tasks_panicked: s.panicked.get(),
        polls: s.polls.get(),
        iterations: s.iterations.get(),
        run_queue_depth: queued as u64,
        timers_armed: armed as u64,
        timers_fired: fired,
        io_sources: core.io().sources() as u64,
        io_events: io.events.get(),
        remote_wakes: s.remote_wakes.get(),
        parks: io.parks.get(),
        idle,
        busy: core.started().elapsed().saturating_sub(idle),
        blocking_threads: core.blocking.threads() as u64,
        blocking_queue_depth: core.blocking.queued() as u64,
    }
}
