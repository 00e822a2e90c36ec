//! Tracing: every task's life as timed events, recorded when the runtime is
//! built with `Builder::trace(true)`. When off, each hook is one branch on an
//! `Option`.
//!
//! A [`Trace`] renders as an ASCII timeline for the terminal
//! ([`Trace::timeline`]) or as Chrome trace JSON that opens in Perfetto
//! ([`Trace::to_chrome_json`]).
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

mod render;

use std::cell::RefCell;
use std::panic::Location;
use std::time::Duration;

use crate::task::TaskId;

/// What happened to a task.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EventKind {
    /// The task was spawned (by `parent`, if a task spawned it).
    Created {
        /// The task's name, if it was given one.
        name: Option<String>,
        /// The task running when this one was spawned.
        parent: Option<TaskId>,
        /// Where `spawn` was called.
        location: &'static Location<'static>,
    },
    /// A poll of the task's future began.
    PollStart,
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
}

impl Trace {
    /// Loop time when the snapshot was taken (the right edge of a timeline).
    pub fn taken_at(&self) -> Duration {
        self.taken_at
    }

    /// Every event, in the order they happened.
    pub fn events(&self) -> &[Event] {
        &self.events
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
                        name: name.clone(),
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

/// The recorder the loop owns when tracing is on.
#[derive(Default)]
pub(crate) struct Tracer {
    events: RefCell<Vec<Event>>,
}

impl Tracer {
    pub(crate) fn record(&self, ticks: u64, task: TaskId, kind: EventKind) {
        self.events.borrow_mut().push(Event {
            time: Duration::from_nanos(ticks),
            task,
            kind,
        });
    }

    pub(crate) fn snapshot(&self, now_ticks: u64) -> Trace {
        let events = self.events.borrow().clone();
        let last = events.last().map(|e| e.time).unwrap_or_default();
        Trace {
            taken_at: last.max(Duration::from_nanos(now_ticks)),
            events,
        }
    }
}

/// The trace of the running loop so far, if it was built with tracing on.
///
/// # Panics
/// Outside a running loop.
pub fn snapshot() -> Option<Trace> {
    let core = crate::runtime::context::current();
    let now = core.time().now();
    core.tracer().map(|t| t.snapshot(now))
}
