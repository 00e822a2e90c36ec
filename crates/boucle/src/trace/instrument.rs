//! `Instrument`: what the loop tells whoever watches it (trio's
//! `Instrument`, embassy's `_embassy_trace_*` hooks).
//!
//! The loop calls each hook at a named point of a task's life or of its own
//! iteration. With no instrument installed each call site is one predictable
//! branch; the recorder behind [`Builder::trace`](crate::Builder::trace),
//! the task tree behind [`dump`](crate::trace::dump) and
//! [`Runtime::metrics`](crate::Runtime::metrics)' timing are instruments
//! too, and users install their own with
//! [`Builder::instrument`](crate::Builder::instrument).
//!
//! Times are loop times since the loop's start (virtual under virtual
//! time), as the loop last sampled its clock: watching never makes the loop
//! read the clock, so in an iteration that reads no time (a queue hand-off,
//! a yield) events carry the last sampled time. Hooks run on the loop thread, inside the loop: they must be
//! quick, must not block, and must not spawn or await (they may record,
//! count, or send to a channel).

use std::panic::Location;
use std::time::Duration;

use crate::io::Direction;
use crate::task::TaskId;

/// A task was spawned.
#[derive(Debug, Clone, Copy)]
#[non_exhaustive]
pub struct Spawned<'a> {
    /// The new task.
    pub task: TaskId,
    /// The task that was running when it was spawned, if any.
    pub parent: Option<TaskId>,
    /// Its name, if it was given one.
    pub name: Option<&'a str>,
    /// Where `spawn` was called.
    pub location: &'static Location<'static>,
}

/// Who woke a task (made it runnable).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum WokenBy {
    /// Its spawn: a new task is runnable at once.
    Spawn,
    /// Code on the loop thread: another task, a callback, a cancellation.
    Loop,
    /// Another thread (or this thread outside the loop), through the
    /// loop's remote queue.
    Remote,
    /// A timer that fired.
    Timer,
    /// I/O readiness.
    Io,
}

/// What a task waits for, as far as the loop can tell.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Awaiting {
    /// A timer due at this loop time.
    Timer(Duration),
    /// A socket or fd becoming ready in this direction.
    Io(Direction),
    /// Another task's end (awaiting its handle).
    Task(TaskId),
    /// A primitive of `boucle::sync` (`"Queue.get"`, `"Lock.acquire"`...).
    Sync(&'static str),
}

/// How a task ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Exited {
    /// It returned a value.
    Done,
    /// It was cancelled.
    Cancelled,
    /// It panicked.
    Panicked,
}

/// Hooks the loop calls; every method does nothing by default. See the
/// module docs for the rules.
///
/// # Examples
///
/// ```
/// use std::cell::Cell;
/// use std::rc::Rc;
/// use std::time::Duration;
/// use boucle::trace::{Instrument, Spawned};
///
/// /// Counts spawns and polls.
/// #[derive(Default)]
/// struct Count {
///     spawns: Cell<u32>,
///     polls: Cell<u32>,
/// }
///
/// impl Instrument for Count {
///     fn task_spawned(&self, _: &Spawned<'_>, _at: Duration) {
///         self.spawns.set(self.spawns.get() + 1);
///     }
///     fn poll_start(&self, _task: boucle::TaskId, _at: Duration) {
///         self.polls.set(self.polls.get() + 1);
///     }
/// }
///
/// let count = Rc::new(Count::default());
/// let rt = boucle::Runtime::builder()
///     .virtual_time(true)
///     .instrument(count.clone())
///     .build()
///     .unwrap();
/// rt.block_on(async {
///     let t = boucle::spawn(boucle::sleep(Duration::from_secs(1)));
///     t.await.unwrap();
/// });
/// assert_eq!(count.spawns.get(), 1);
/// assert_eq!(count.polls.get(), 2); // armed its timer, then finished
/// ```
#[allow(unused_variables)]
pub trait Instrument {
    /// A task was spawned (it is runnable at once: `task_scheduled` with
    /// [`WokenBy::Spawn`] follows).
    fn task_spawned(&self, spawned: &Spawned<'_>, at: Duration) {}
    /// A task was made runnable, and by whom.
    fn task_scheduled(&self, task: TaskId, by: WokenBy, at: Duration) {}
    /// A poll of a task's future begins.
    fn poll_start(&self, task: TaskId, at: Duration) {}
    /// That poll returned; `busy` is how long it took on the real clock
    /// when the instrument asked for it ([`Instrument::wants_poll_time`]),
    /// else zero.
    fn poll_end(&self, task: TaskId, at: Duration, busy: Duration) {}
    /// A task ended.
    fn task_exited(&self, task: TaskId, exited: Exited, at: Duration) {}
    /// A task (the one being polled, if any) waits for something.
    fn task_waits(&self, task: Option<TaskId>, on: Awaiting, at: Duration) {}
    /// A timer fired, waking `task` (when the waiter is a task of this loop).
    fn timer_fired(&self, task: Option<TaskId>, at: Duration) {}
    /// I/O readiness woke `task`.
    fn io_ready(&self, task: Option<TaskId>, at: Duration) {}
    /// A loop iteration begins: it will run `ready` tasks.
    fn iteration_start(&self, ready: usize, at: Duration) {}
    /// The loop parks in the OS (epoll) until the next timer or event.
    fn park_start(&self, at: Duration) {}
    /// The park ended with `events` events, after `idle` on the real clock.
    fn park_end(&self, events: usize, idle: Duration, at: Duration) {}
    /// Whether the loop should time each poll on the real clock for this
    /// instrument (`poll_end`'s `busy`): a clock read per poll.
    fn wants_poll_time(&self) -> bool {
        false
    }
}

impl<I: Instrument + ?Sized> Instrument for std::rc::Rc<I> {
    fn task_spawned(&self, spawned: &Spawned<'_>, at: Duration) {
        (**self).task_spawned(spawned, at)
    }
    fn task_scheduled(&self, task: TaskId, by: WokenBy, at: Duration) {
        (**self).task_scheduled(task, by, at)
    }
    fn poll_start(&self, task: TaskId, at: Duration) {
        (**self).poll_start(task, at)
    }
    fn poll_end(&self, task: TaskId, at: Duration, busy: Duration) {
        (**self).poll_end(task, at, busy)
    }
    fn task_exited(&self, task: TaskId, exited: Exited, at: Duration) {
        (**self).task_exited(task, exited, at)
    }
    fn task_waits(&self, task: Option<TaskId>, on: Awaiting, at: Duration) {
        (**self).task_waits(task, on, at)
    }
    fn timer_fired(&self, task: Option<TaskId>, at: Duration) {
        (**self).timer_fired(task, at)
    }
    fn io_ready(&self, task: Option<TaskId>, at: Duration) {
        (**self).io_ready(task, at)
    }
    fn iteration_start(&self, ready: usize, at: Duration) {
        (**self).iteration_start(ready, at)
    }
    fn park_start(&self, at: Duration) {
        (**self).park_start(at)
    }
    fn park_end(&self, events: usize, idle: Duration, at: Duration) {
        (**self).park_end(events, idle, at)
    }
    fn wants_poll_time(&self) -> bool {
        (**self).wants_poll_time()
    }
}
