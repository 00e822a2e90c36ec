//! Seeing the loop: instrument hooks ([`Instrument`]), the recorder behind
//! `Builder::trace(true)` and its [`Trace`]s, and the task tree
//! ([`dump`]).
//!
//! The loop calls named hooks at each point of a task's life (spawned,
//! scheduled and by whom, poll start and end, waits, exited) and of its own
//! iteration (start, park); with no instrument installed each call site is
//! one branch. The recorder is one instrument: it keeps task events in a
//! bounded ring buffer (default [`DEFAULT_CAPACITY`] records of 16 bytes, a
//! record per event except a poll, whose start and end share one, and a
//! word more for the few that carry a payload, such as a deadline; older
//! ones are dropped and their events counted in [`Trace::dropped`]).
//!
//! A [`Trace`] renders as an ASCII timeline for the terminal
//! ([`Trace::timeline`]), as Chrome trace JSON that opens in Perfetto
//! ([`Trace::to_chrome_json`]), or as a standalone SVG ([`Trace::to_svg`]).
//!
//! # Examples
//!
//! ```
//! use std::time::Duration;
//!
//! let rt = boucle::Runtime::builder().virtual_time(true).trace(true).build().unwrap();
//! rt.block_on(async {
//!     let a = boucle::task::Builder::new().name("A").spawn(boucle::sleep(Duration::from_secs(1)));
//!     let b = boucle::task::Builder::new().name("B").spawn(boucle::sleep(Duration::from_secs(2)));
//!     a.await.unwrap();
//!     b.await.unwrap();
//! });
//! let trace = rt.trace().unwrap();
//! let a = trace.tasks().into_iter().find(|t| t.name.as_deref() == Some("A")).unwrap();
//! assert_eq!(a.end, Some(Duration::from_secs(1)));
//! println!("{}", trace.timeline(40));
//! ```

#[cfg(feature = "console")]
pub(crate) mod console;
pub(crate) mod dump;
pub(crate) mod hooks;
mod instrument;
pub(crate) mod recorder;
mod render;
mod ring;
pub(crate) mod slow_poll;
mod svg;
pub(crate) mod watchdog;

use std::panic::Location;
use std::sync::Arc;
use std::time::Duration;

pub use dump::{dump, dump_path, TaskNode, TaskTree};
pub use instrument::{Awaiting, Exited, Instrument, Spawned, WokenBy};
pub use recorder::DEFAULT_CAPACITY;
pub use render::{printable_label, timeline, Row, LABEL_WIDTH};

use crate::task::TaskId;

/// What happened to a task.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum EventKind {
    /// The task was spawned (by `parent`, if a task spawned it).
    Created {
        /// The task's name, if it was given one (interned: one allocation
        /// per distinct name).
        name: Option<Arc<str>>,
        /// The task running when this one was spawned.
        parent: Option<TaskId>,
        /// Where `spawn` was called.
        location: &'static Location<'static>,
    },
    /// The task was made runnable, by `by`.
    Scheduled {
        /// Who woke it.
        by: WokenBy,
    },
    /// A poll of the task's future began.
    PollStart,
    /// During a poll, the task began to wait for `on`.
    Waits {
        /// What it waits for.
        on: Awaiting,
    },
    /// A timer the task waited for fired.
    TimerFired,
    /// I/O the task waited for became ready.
    IoReady,
    /// That poll returned.
    PollEnd,
    /// The future completed with a value.
    Done,
    /// The task was cancelled.
    Cancelled,
    /// The future panicked.
    Panicked,
}

/// One traced event, at a loop time (since the loop's start).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Event {
    /// Loop time of the event.
    pub time: Duration,
    /// The task it concerns.
    pub task: TaskId,
    /// What happened.
    pub kind: EventKind,
}

/// How a traced task ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum End {
    /// It returned a value.
    Done,
    /// It was cancelled.
    Cancelled,
    /// It panicked.
    Panicked,
}

/// A task's life, summarised from the events.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TaskSpan {
    /// The task.
    pub id: TaskId,
    /// Its name, if any.
    pub name: Option<String>,
    /// Where it was spawned.
    pub location: &'static Location<'static>,
    /// When it was created.
    pub start: Duration,
    /// When it first ran.
    pub first_poll: Option<Duration>,
    /// When it ended, and how (`None`: still alive at the snapshot).
    pub end: Option<Duration>,
    /// How it ended.
    pub outcome: Option<End>,
    /// Number of polls.
    pub polls: usize,
}

impl TaskSpan {
    /// `name`, or `Task-<id>` as asyncio names unnamed tasks.
    pub fn label(&self) -> String {
        crate::task::label(self.name.as_deref(), self.id)
    }
}

/// The recorded events of one runtime.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Trace {
    events: Vec<Event>,
    /// Loop time when the snapshot was taken.
    taken_at: Duration,
    /// Events the ring buffer dropped before this snapshot.
    dropped: u64,
}

impl Trace {
    /// Loop time when the snapshot was taken (the right edge of a timeline).
    pub fn taken_at(&self) -> Duration {
        self.taken_at
    }

    /// Every event kept, in the order they happened.
    pub fn events(&self) -> &[Event] {
        &self.events
    }

    /// How many older events the recorder dropped (its ring buffer was
    /// full); tasks created before them are missing from [`Trace::tasks`].
    pub fn dropped(&self) -> u64 {
        self.dropped
    }

    /// A trace from events (a saved trace read back, say): `taken_at` is
    /// the right edge of its timelines.
    pub fn from_events(events: Vec<Event>, taken_at: Duration) -> Trace {
        let last = events.last().map(|e| e.time).unwrap_or_default();
        Trace {
            events,
            taken_at: taken_at.max(last),
            dropped: 0,
        }
    }

    /// One summary per task, in creation order.
    pub fn tasks(&self) -> Vec<TaskSpan> {
        let mut spans: Vec<TaskSpan> = Vec::new();
        let mut index = std::collections::HashMap::new();
        for e in &self.events {
            match &e.kind {
                EventKind::Created { name, location, .. } => {
                    index.insert(e.task, spans.len());
                    spans.push(TaskSpan {
                        id: e.task,
                        name: name.as_deref().map(str::to_owned),
                        location,
                        start: e.time,
                        first_poll: None,
                        end: None,
                        outcome: None,
                        polls: 0,
                    });
                }
                kind => {
                    let Some(&i) = index.get(&e.task) else {
                        continue;
                    };
                    let span = &mut spans[i];
                    match kind {
                        EventKind::PollStart => {
                            span.polls += 1;
                            span.first_poll.get_or_insert(e.time);
                        }
                        EventKind::Done => {
                            span.end = Some(e.time);
                            span.outcome = Some(End::Done);
                        }
                        EventKind::Cancelled => {
                            span.end = Some(e.time);
                            span.outcome = Some(End::Cancelled);
                        }
                        EventKind::Panicked => {
                            span.end = Some(e.time);
                            span.outcome = Some(End::Panicked);
                        }
                        _ => {}
                    }
                }
            }
        }
        spans
    }
}

/// The trace of the running loop so far, if it was built with tracing on.
///
/// # Panics
/// Outside a running loop.
pub fn snapshot() -> Option<Trace> {
    let core = crate::runtime::context::current();
    let now = Duration::from_nanos(core.time().now());
    core.recorder().map(|r| r.snapshot(now))
}
