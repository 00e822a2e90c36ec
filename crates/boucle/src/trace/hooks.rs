//! `Hooks`: the installed instruments, as the loop and its engines call
//! them. Each call site costs one branch on an `Option<Rc<Hooks>>` when
//! nothing is installed; facades that hold no engine handle (a task's join,
//! the sync wait lists) check a thread-local flag first. The recorder is
//! called directly (its calls inline); other instruments through one
//! virtual call each.

use std::cell::Cell;
use std::fmt;
use std::rc::Rc;
use std::time::{Duration, Instant};

use super::instrument::{Awaiting, Exited, Instrument, Spawned, WokenBy};
use super::recorder::Recorder;
use crate::runtime::context;
use crate::task::TaskId;
use crate::time::clock::Clock;

/// Calls one hook on every instrument with the loop time `$at`: first on
/// the recorder, directly and in nanoseconds, then on the others as a
/// `Duration`. `others:` skips the recorder (hooks it has no use for, or
/// calls with other arguments).
macro_rules! each {
    ($hooks:ident, |$at:ident| $method:ident($($arg:expr),*)) => {{
        let ns = $hooks.clock.peek();
        if let Some(r) = &$hooks.recorder {
            let $at = ns;
            r.$method($($arg),*);
        }
        each!(others: $hooks, ns, |$at| $method($($arg),*));
    }};
    (others: $hooks:ident, $ns:expr, |$at:ident| $method:ident($($arg:expr),*)) => {{
        if !$hooks.list.is_empty() {
            let $at = Duration::from_nanos($ns);
            for i in &$hooks.list {
                i.$method($($arg),*);
            }
        }
    }};
}

thread_local! {
    /// True while this thread runs a loop with instruments installed.
    static ON: Cell<bool> = const { Cell::new(false) };
}

pub(crate) struct Hooks {
    recorder: Option<Rc<Recorder>>,
    list: Vec<Rc<dyn Instrument>>,
    clock: Rc<Clock>,
    /// The task being polled, if any.
    current: Cell<Option<TaskId>>,
    /// Who the wakes happening now come from.
    source: Cell<WokenBy>,
    /// Some instrument wants each poll timed.
    poll_time: bool,
}

impl Hooks {
    pub(crate) fn new(
        recorder: Option<Rc<Recorder>>,
        list: Vec<Rc<dyn Instrument>>,
        clock: Rc<Clock>,
    ) -> Option<Rc<Hooks>> {
        if recorder.is_none() && list.is_empty() {
            return None;
        }
        // The recorder keeps loop times only.
        let poll_time = list.iter().any(|i| i.wants_poll_time());
        Some(Rc::new(Hooks {
            recorder,
            list,
            clock,
            current: Cell::new(None),
            source: Cell::new(WokenBy::Loop),
            poll_time,
        }))
    }

    pub(crate) fn spawned(
        &self,
        task: TaskId,
        name: Option<&str>,
        location: &'static std::panic::Location<'static>,
    ) {
        let spawned = Spawned {
            task,
            parent: self.current.get(),
            name,
            location,
        };
        let ns = self.clock.peek();
        // The recorder's spawn record includes its schedule.
        if let Some(r) = &self.recorder {
            r.task_spawned(&spawned, ns);
        }
        each!(others: self, ns, |at| task_spawned(&spawned, at));
        each!(others: self, ns, |at| task_scheduled(task, WokenBy::Spawn, at));
    }

    /// A task was woken. With the recorder alone (the usual case), a path
    /// that makes no call; else [`Hooks::scheduled_all`]. (Either path
    /// inlined into the other made the recorder's save and restore six
    /// registers, or every other instrument pay a second call.)
    #[inline(never)]
    pub(crate) fn scheduled(&self, task: TaskId) {
        let by = self.source.get();
        match &self.recorder {
            Some(r) if self.list.is_empty() => r.task_scheduled(task, by, self.clock.peek()),
            _ => self.scheduled_all(task, by),
        }
    }

    #[inline(never)]
    fn scheduled_all(&self, task: TaskId, by: WokenBy) {
        each!(self, |at| task_scheduled(task, by, at));
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
    /// Two paths, as for [`Hooks::scheduled`].
    #[inline(never)]
    pub(crate) fn poll_start(&self, task: TaskId) -> Option<Instant> {
        self.current.set(Some(task));
        match &self.recorder {
            Some(r) if self.list.is_empty() => {
                r.poll_start(task, self.clock.peek());
                None
            }
            _ => self.poll_start_all(task),
        }
    }

    #[inline(never)]
    fn poll_start_all(&self, task: TaskId) -> Option<Instant> {
        each!(self, |at| poll_start(task, at));
        self.poll_time.then(Instant::now)
    }

    /// A poll ends; `started` is what [`Hooks::poll_start`] returned. Two
    /// paths, as for [`Hooks::scheduled`].
    #[inline(never)]
    pub(crate) fn poll_end(&self, task: TaskId, started: Option<Instant>) {
        self.current.set(None);
        match &self.recorder {
            Some(r) if self.list.is_empty() => r.poll_end(task, self.clock.peek()),
            _ => self.poll_end_all(task, started),
        }
    }

    #[inline(never)]
    fn poll_end_all(&self, task: TaskId, started: Option<Instant>) {
        let ns = self.clock.peek();
        if let Some(r) = &self.recorder {
            r.poll_end(task, ns);
        }
        let busy = started.map(|s| s.elapsed()).unwrap_or_default();
        each!(others: self, ns, |at| poll_end(task, at, busy));
    }

    #[inline(never)]
    pub(crate) fn exited(&self, task: TaskId, exited: Exited) {
        each!(self, |at| task_exited(task, exited, at));
    }

    pub(crate) fn waits(&self, on: Awaiting) {
        let task = self.current.get();
        each!(self, |at| task_waits(task, on, at));
    }

    /// The task being polled, if any.
    pub(crate) fn current_task(&self) -> Option<TaskId> {
        self.current.get()
    }

    pub(crate) fn timer_fired(&self, task: Option<TaskId>) {
        each!(self, |at| timer_fired(task, at));
    }

    pub(crate) fn io_ready(&self, task: Option<TaskId>) {
        each!(self, |at| io_ready(task, at));
    }

    pub(crate) fn iteration_start(&self, ready: usize) {
        each!(others: self, self.clock.peek(), |at| iteration_start(ready, at));
    }

    pub(crate) fn park_start(&self) {
        each!(others: self, self.clock.peek(), |at| park_start(at));
    }

    pub(crate) fn park_end(&self, events: usize, idle: Duration) {
        each!(others: self, self.clock.peek(), |at| park_end(events, idle, at));
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
