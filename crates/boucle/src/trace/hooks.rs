//! `Hooks`: the installed instruments, as the loop and its engines call
//! them. Each call site costs one branch on an `Option<Rc<Hooks>>` when
//! nothing is installed; facades that hold no engine handle (a task's join,
//! the sync wait lists) check a thread-local flag first.

use std::cell::Cell;
use std::fmt;
use std::rc::Rc;
use std::time::{Duration, Instant};

use super::instrument::{Awaiting, Exited, Instrument, Spawned, WokenBy};
use crate::runtime::context;
use crate::task::TaskId;
use crate::time::clock::Clock;

thread_local! {
    /// True while this thread runs a loop with instruments installed.
    static ON: Cell<bool> = const { Cell::new(false) };
}

pub(crate) struct Hooks {
    list: Vec<Box<dyn Instrument>>,
    clock: Rc<Clock>,
    /// The task being polled, if any.
    current: Cell<Option<TaskId>>,
    /// Who the wakes happening now come from.
    source: Cell<WokenBy>,
    /// Some instrument wants each poll timed.
    poll_time: bool,
}

impl Hooks {
    pub(crate) fn new(list: Vec<Box<dyn Instrument>>, clock: Rc<Clock>) -> Option<Rc<Hooks>> {
        if list.is_empty() {
            return None;
        }
        let poll_time = list.iter().any(|i| i.wants_poll_time());
        Some(Rc::new(Hooks {
            list,
            clock,
            current: Cell::new(None),
            source: Cell::new(WokenBy::Loop),
            poll_time,
        }))
    }

    /// The loop time as last sampled: hooks never make the loop read the
    /// clock (an iteration that reads no time makes no clock call).
    #[inline]
    fn at(&self) -> Duration {
        Duration::from_nanos(self.clock.peek())
    }

    pub(crate) fn spawned(
        &self,
        task: TaskId,
        name: Option<&str>,
        location: &'static std::panic::Location<'static>,
    ) {
        let at = self.at();
        let spawned = Spawned {
            task,
            parent: self.current.get(),
            name,
            location,
        };
        for i in &self.list {
            i.task_spawned(&spawned, at);
        }
        for i in &self.list {
            i.task_scheduled(task, WokenBy::Spawn, at);
        }
    }

    #[inline(never)]
    pub(crate) fn scheduled(&self, task: TaskId) {
        let (at, by) = (self.at(), self.source.get());
        for i in &self.list {
            i.task_scheduled(task, by, at);
        }
    }

    /// Runs `f` with wakes attributed to `by` (the timer and I/O layers,
    /// the remote queue).
    pub(crate) fn waking<R>(&self, by: WokenBy, f: impl FnOnce() -> R) -> R {
        let old = self.source.replace(by);
        let r = f();
        self.source.set(old);
        r
    }

    /// A poll begins; returns the real-clock start when polls are timed.
    #[inline(never)]
    pub(crate) fn poll_start(&self, task: TaskId) -> Option<Instant> {
        self.current.set(Some(task));
        let at = self.at();
        for i in &self.list {
            i.poll_start(task, at);
        }
        self.poll_time.then(Instant::now)
    }

    #[inline(never)]
    pub(crate) fn poll_end(&self, task: TaskId, started: Option<Instant>) {
        self.current.set(None);
        let busy = started.map(|s| s.elapsed()).unwrap_or_default();
        let at = self.at();
        for i in &self.list {
            i.poll_end(task, at, busy);
        }
    }

    #[inline(never)]
    pub(crate) fn exited(&self, task: TaskId, exited: Exited) {
        let at = self.at();
        for i in &self.list {
            i.task_exited(task, exited, at);
        }
    }

    pub(crate) fn waits(&self, on: Awaiting) {
        let (task, at) = (self.current.get(), self.at());
        for i in &self.list {
            i.task_waits(task, on, at);
        }
    }

    /// The task being polled, if any.
    pub(crate) fn current_task(&self) -> Option<TaskId> {
        self.current.get()
    }

    pub(crate) fn timer_fired(&self, task: Option<TaskId>) {
        let at = self.at();
        for i in &self.list {
            i.timer_fired(task, at);
        }
    }

    pub(crate) fn io_ready(&self, task: Option<TaskId>) {
        let at = self.at();
        for i in &self.list {
            i.io_ready(task, at);
        }
    }

    pub(crate) fn iteration_start(&self, ready: usize) {
        let at = self.at();
        for i in &self.list {
            i.iteration_start(ready, at);
        }
    }

    pub(crate) fn park_start(&self) {
        let at = self.at();
        for i in &self.list {
            i.park_start(at);
        }
    }

    pub(crate) fn park_end(&self, events: usize, idle: Duration) {
        let at = self.at();
        for i in &self.list {
            i.park_end(events, idle, at);
        }
    }
}

/// Marks this thread as running a loop with (or without) instruments, for
/// [`waits`]; returns the previous value to restore.
pub(crate) fn set_on(on: bool) -> bool {
    ON.with(|f| f.replace(on))
}

/// A facade's wait (a task's join, a sync primitive), for the running
/// loop's instruments. One thread-local read when none are installed.
#[inline]
pub(crate) fn waits(on: Awaiting) {
    if ON.with(Cell::get) {
        waits_slow(on);
    }
}

/// A wait on the sync primitive `what` (`"Queue.get"`...), for the running
/// loop's instruments; when the loop keeps the task tree, `statistics`
/// (the primitive's `statistics()` now, the waiter counted) is kept with it
/// for the dump. One thread-local read when no instrument is installed.
#[inline]
pub(crate) fn waits_sync<S: fmt::Display>(what: &'static str, statistics: impl FnOnce() -> S) {
    if ON.with(Cell::get) {
        waits_sync_slow(what, statistics);
    }
}

#[cold]
#[inline(never)]
fn waits_sync_slow<S: fmt::Display>(what: &'static str, statistics: impl FnOnce() -> S) {
    context::with_current(|core| {
        if let Some(hooks) = core.hooks() {
            hooks.waits(Awaiting::Sync(what));
            if let (Some(tree), Some(task)) = (core.tree(), hooks.current_task()) {
                tree.set_statistics(task, statistics().to_string());
            }
        }
    });
}

#[cold]
#[inline(never)]
fn waits_slow(on: Awaiting) {
    context::with_current(|core| {
        if let Some(hooks) = core.hooks() {
            hooks.waits(on);
        }
    });
}
