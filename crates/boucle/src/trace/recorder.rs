//! The recorder: the instrument behind `Builder::trace(true)`. It keeps the
//! task events in a bounded ring buffer (older events are dropped and
//! counted) with interned task names, and gives [`Trace`] snapshots.

use std::cell::{Cell, RefCell};
use std::collections::HashMap;
use std::panic::Location;
use std::sync::Arc;
use std::time::Duration;

use super::instrument::{Awaiting, Exited, Instrument, Spawned, WokenBy};
use super::{Event, EventKind, Trace};
use crate::task::TaskId;

/// The ring buffer's default size, in events.
pub const DEFAULT_CAPACITY: usize = 1_000_000;

pub(crate) struct Recorder {
    ring: RefCell<Ring>,
    dropped: Cell<u64>,
    /// Distinct task names; a `Created` event stores an index.
    names: RefCell<Names>,
}

#[derive(Default)]
struct Names {
    list: Vec<Arc<str>>,
    index: HashMap<Arc<str>, u32>,
}

/// A fixed-capacity ring of compact events (40 bytes each): the oldest is
/// overwritten once it is full.
struct Ring {
    buf: Vec<Raw>,
    capacity: usize,
    /// Index of the oldest event once the ring has wrapped.
    head: usize,
}

/// An event as stored: loop time in nanoseconds, and a compact kind that
/// becomes an [`EventKind`] only in a snapshot.
#[derive(Clone, Copy)]
struct Raw {
    time: u64,
    task: TaskId,
    kind: RawKind,
}

#[derive(Clone, Copy)]
enum RawKind {
    Created {
        /// `u64::MAX`: no parent.
        parent: u64,
        location: &'static Location<'static>,
        /// 0: no name, else the index in `names` plus one.
        name: u32,
    },
    Scheduled(WokenBy),
    PollStart,
    PollEnd,
    WaitTimer(u64),
    WaitIo(crate::io::Direction),
    WaitTask(TaskId),
    WaitSync(&'static str),
    TimerFired,
    IoReady,
    Done,
    Cancelled,
    Panicked,
}

impl Recorder {
    pub(crate) fn new(capacity: usize) -> Recorder {
        Recorder {
            ring: RefCell::new(Ring {
                buf: Vec::new(),
                capacity: capacity.max(1),
                head: 0,
            }),
            dropped: Cell::new(0),
            names: RefCell::new(Names::default()),
        }
    }

    #[inline]
    fn push(&self, at: Duration, task: TaskId, kind: RawKind) {
        let raw = Raw {
            time: u64::try_from(at.as_nanos()).unwrap_or(u64::MAX),
            task,
            kind,
        };
        let mut ring = self.ring.borrow_mut();
        if ring.buf.len() < ring.capacity {
            ring.buf.push(raw);
        } else {
            let head = ring.head;
            ring.buf[head] = raw;
            // No division on this path: wrap by comparison.
            ring.head = if head + 1 == ring.capacity {
                0
            } else {
                head + 1
            };
            self.dropped.set(self.dropped.get() + 1);
        }
    }

    fn intern(&self, name: &str) -> u32 {
        let mut names = self.names.borrow_mut();
        if let Some(&i) = names.index.get(name) {
            return i + 1;
        }
        let n: Arc<str> = Arc::from(name);
        let i = names.list.len() as u32;
        names.list.push(n.clone());
        names.index.insert(n, i);
        i + 1
    }

    pub(crate) fn snapshot(&self, now: Duration) -> Trace {
        let ring = self.ring.borrow();
        let names = self.names.borrow();
        let (old, new) = ring.buf.split_at(ring.head);
        let events: Vec<Event> = new
            .iter()
            .chain(old)
            .map(|r| Event {
                time: Duration::from_nanos(r.time),
                task: r.task,
                kind: r.kind.expand(&names.list),
            })
            .collect();
        let last = events.last().map(|e| e.time).unwrap_or_default();
        Trace {
            taken_at: last.max(now),
            events,
            dropped: self.dropped.get(),
        }
    }
}

impl RawKind {
    fn expand(self, names: &[Arc<str>]) -> EventKind {
        match self {
            RawKind::Created {
                parent,
                location,
                name,
            } => EventKind::Created {
                name: name.checked_sub(1).map(|i| names[i as usize].clone()),
                parent: (parent != u64::MAX).then_some(TaskId(parent)),
                location,
            },
            RawKind::Scheduled(by) => EventKind::Scheduled { by },
            RawKind::PollStart => EventKind::PollStart,
            RawKind::PollEnd => EventKind::PollEnd,
            RawKind::WaitTimer(t) => EventKind::Waits {
                on: Awaiting::Timer(Duration::from_nanos(t)),
            },
            RawKind::WaitIo(d) => EventKind::Waits {
                on: Awaiting::Io(d),
            },
            RawKind::WaitTask(t) => EventKind::Waits {
                on: Awaiting::Task(t),
            },
            RawKind::WaitSync(s) => EventKind::Waits {
                on: Awaiting::Sync(s),
            },
            RawKind::TimerFired => EventKind::TimerFired,
            RawKind::IoReady => EventKind::IoReady,
            RawKind::Done => EventKind::Done,
            RawKind::Cancelled => EventKind::Cancelled,
            RawKind::Panicked => EventKind::Panicked,
        }
    }
}

impl Instrument for Recorder {
    fn task_spawned(&self, s: &Spawned<'_>, at: Duration) {
        let name = s.name.map_or(0, |n| self.intern(n));
        let kind = RawKind::Created {
            parent: s.parent.map_or(u64::MAX, TaskId::as_u64),
            location: s.location,
            name,
        };
        self.push(at, s.task, kind);
    }

    fn task_scheduled(&self, task: TaskId, by: WokenBy, at: Duration) {
        self.push(at, task, RawKind::Scheduled(by));
    }

    fn poll_start(&self, task: TaskId, at: Duration) {
        self.push(at, task, RawKind::PollStart);
    }

    fn poll_end(&self, task: TaskId, at: Duration, _busy: Duration) {
        self.push(at, task, RawKind::PollEnd);
    }

    fn task_exited(&self, task: TaskId, exited: Exited, at: Duration) {
        let kind = match exited {
            Exited::Done => RawKind::Done,
            Exited::Cancelled => RawKind::Cancelled,
            Exited::Panicked => RawKind::Panicked,
        };
        self.push(at, task, kind);
    }

    fn task_waits(&self, task: Option<TaskId>, on: Awaiting, at: Duration) {
        let Some(task) = task else { return };
        let kind = match on {
            Awaiting::Timer(t) => {
                RawKind::WaitTimer(u64::try_from(t.as_nanos()).unwrap_or(u64::MAX))
            }
            Awaiting::Io(d) => RawKind::WaitIo(d),
            Awaiting::Task(t) => RawKind::WaitTask(t),
            Awaiting::Sync(s) => RawKind::WaitSync(s),
        };
        self.push(at, task, kind);
    }

    fn timer_fired(&self, task: Option<TaskId>, at: Duration) {
        if let Some(task) = task {
            self.push(at, task, RawKind::TimerFired);
        }
    }

    fn io_ready(&self, task: Option<TaskId>, at: Duration) {
        if let Some(task) = task {
            self.push(at, task, RawKind::IoReady);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stored_events_stay_small() {
        // The ring's memory is capacity x this: 40 MB for the default
        // million events. A new variant that grows it should be a choice.
        assert_eq!(std::mem::size_of::<Raw>(), 40);
    }
}
