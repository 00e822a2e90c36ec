//! The recorder: the instrument behind `Builder::trace(true)`. It keeps the
//! task events in a bounded ring buffer (older events are dropped and
//! counted) with interned task names, and gives [`Trace`] snapshots.
//!
//! A yield is about 20 ns and makes three events, so the recorder's cost is
//! the cost of storing them. It stores as little as it can:
//!
//! - a record is 24 bytes: the loop time and the kind in one word, the task,
//!   one word of payload;
//! - a poll is one record, written when it ends, with its start time as the
//!   payload; the records written while it runs are flagged, and a snapshot
//!   puts the poll's start back in front of them;
//! - what only a spawn has (parent, location, name) goes to a side ring of
//!   the same capacity, indexed by spawn number: the records the main ring
//!   still holds are never older than the spawns the side ring still holds;
//! - names are interned, the sync primitives' names (`"Queue.get"`) kept
//!   once by address.

use std::cell::{Cell, RefCell};
use std::collections::HashMap;
use std::panic::Location;
use std::sync::Arc;
use std::time::Duration;

use super::instrument::{Awaiting, Exited, Spawned, WokenBy};
use super::{Event, EventKind, Trace};
use crate::io::Direction;
use crate::task::TaskId;

/// The ring buffer's default size, in records (a poll's start and end make
/// one record).
pub const DEFAULT_CAPACITY: usize = 1_000_000;

pub(crate) struct Recorder {
    ring: RefCell<Ring<Record>>,
    /// Events recorded so far, kept or not (those the ring holds no more
    /// were dropped).
    recorded: Cell<u64>,
    /// The poll running now, if any: its task and start time.
    open: Cell<Option<(TaskId, u64)>>,
    /// Spawn details, by spawn number.
    spawns: RefCell<Ring<SpawnRecord>>,
    /// Distinct task names; a spawn record stores an index.
    names: RefCell<Names>,
    /// Distinct sync primitive names; a `WaitSync` record stores an index.
    syncs: RefCell<Vec<&'static str>>,
}

#[derive(Default)]
struct Names {
    list: Vec<Arc<str>>,
    index: HashMap<Arc<str>, u32>,
}

/// A fixed-capacity ring: the oldest element is overwritten once it is
/// full, so the `n`th element pushed sits at `n % capacity`.
struct Ring<T> {
    buf: Vec<T>,
    capacity: usize,
    /// Index of the oldest element once the ring has wrapped.
    head: usize,
    /// Elements pushed so far, kept or not.
    pushed: u64,
}

impl<T> Ring<T> {
    fn new(capacity: usize) -> Ring<T> {
        Ring {
            buf: Vec::new(),
            capacity: capacity.max(1),
            head: 0,
            pushed: 0,
        }
    }

    /// Adds `x`, overwriting the oldest element when full. No call on
    /// either path but the growth of the buffer, out of line: the hooks
    /// that inline this then need no frame of their own.
    #[inline(always)]
    fn push(&mut self, x: T) {
        self.pushed += 1;
        let len = self.buf.len();
        if len < self.capacity {
            if len < self.buf.capacity() {
                // Cannot grow: `Vec::push`'s own check folds into this one.
                self.buf.push(x);
            } else {
                self.grow_and_push(x);
            }
            return;
        }
        let head = self.head;
        // No division on this path: wrap by comparison.
        self.head = if head + 1 == self.capacity {
            0
        } else {
            head + 1
        };
        self.buf[head] = x;
    }

    /// The buffer grows as the ring fills (a short run does not reserve
    /// the whole capacity), doubling up to the capacity.
    #[cold]
    #[inline(never)]
    fn grow_and_push(&mut self, x: T) {
        let len = self.buf.len();
        self.buf.reserve_exact(len.max(64).min(self.capacity - len));
        self.buf.push(x);
    }

    /// The element pushed `n`th (from 0), if not overwritten yet.
    fn get(&self, n: u64) -> Option<&T> {
        if n >= self.pushed || self.pushed - n > self.capacity as u64 {
            return None;
        }
        self.buf.get((n % self.capacity as u64) as usize)
    }

    /// Oldest first.
    fn iter(&self) -> impl Iterator<Item = &T> {
        let (old, new) = self.buf.split_at(self.head);
        new.iter().chain(old)
    }
}

/// A record as stored; it becomes one [`Event`] (two for a poll) in a
/// snapshot.
#[derive(Clone, Copy)]
struct Record {
    /// Loop time in nanoseconds (saturating at 2^56 - 1, 2.2 years) above
    /// the tag byte.
    stamp: u64,
    task: TaskId,
    /// Depends on the tag: the poll's start, a spawn number, a deadline...
    data: u64,
}

/// Set in the tag byte of a record written while a poll runs.
const IN_POLL: u8 = 0x80;
const TIME_MAX: u64 = (1 << 56) - 1;

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Tag {
    Created,
    Scheduled,
    Poll,
    WaitTimer,
    WaitIo,
    WaitTask,
    WaitSync,
    TimerFired,
    IoReady,
    Done,
    Cancelled,
    Panicked,
}

/// Every tag, at its discriminant.
const TAGS: [Tag; 12] = [
    Tag::Created,
    Tag::Scheduled,
    Tag::Poll,
    Tag::WaitTimer,
    Tag::WaitIo,
    Tag::WaitTask,
    Tag::WaitSync,
    Tag::TimerFired,
    Tag::IoReady,
    Tag::Done,
    Tag::Cancelled,
    Tag::Panicked,
];

impl Record {
    fn time(&self) -> Duration {
        Duration::from_nanos(self.stamp >> 8)
    }

    fn tag(&self) -> Tag {
        // Every stamp is written by `Recorder::push` from a `Tag`.
        TAGS[usize::from(self.stamp as u8 & !IN_POLL)]
    }

    fn in_poll(&self) -> bool {
        self.stamp as u8 & IN_POLL != 0
    }

    /// How many events it stands for.
    fn events(&self) -> u64 {
        if self.tag() == Tag::Poll {
            2
        } else {
            1
        }
    }
}

/// What a spawn record keeps beyond its task and time.
#[derive(Clone, Copy)]
struct SpawnRecord {
    /// `u64::MAX`: no parent.
    parent: u64,
    location: &'static Location<'static>,
    /// 0: no name, else the index in `names` plus one.
    name: u32,
}

fn nanos(d: Duration) -> u64 {
    u64::try_from(d.as_nanos()).unwrap_or(u64::MAX)
}

fn woken_code(by: WokenBy) -> u64 {
    match by {
        WokenBy::Spawn => 0,
        WokenBy::Loop => 1,
        WokenBy::Remote => 2,
        WokenBy::Timer => 3,
        WokenBy::Io => 4,
    }
}

fn woken_by(code: u64) -> WokenBy {
    match code {
        0 => WokenBy::Spawn,
        2 => WokenBy::Remote,
        3 => WokenBy::Timer,
        4 => WokenBy::Io,
        _ => WokenBy::Loop,
    }
}

impl Recorder {
    pub(crate) fn new(capacity: usize) -> Recorder {
        Recorder {
            ring: RefCell::new(Ring::new(capacity)),
            recorded: Cell::new(0),
            open: Cell::new(None),
            spawns: RefCell::new(Ring::new(capacity)),
            names: RefCell::new(Names::default()),
            syncs: RefCell::new(Vec::new()),
        }
    }

    /// Stores a record; `events` is how many events it stands for.
    #[inline(always)]
    fn push(&self, at: u64, task: TaskId, tag: Tag, data: u64, events: u64) {
        let flag = if self.open.get().is_some() {
            IN_POLL
        } else {
            0
        };
        let record = Record {
            stamp: at.min(TIME_MAX) << 8 | u64::from(tag as u8 | flag),
            task,
            data,
        };
        self.ring.borrow_mut().push(record);
        self.recorded.set(self.recorded.get() + events);
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

    fn sync_index(&self, what: &'static str) -> u64 {
        let mut syncs = self.syncs.borrow_mut();
        let i = match syncs.iter().position(|s| std::ptr::eq(*s, what)) {
            Some(i) => i,
            None => {
                syncs.push(what);
                syncs.len() - 1
            }
        };
        i as u64
    }

    pub(crate) fn snapshot(&self, now: Duration) -> Trace {
        let ring = self.ring.borrow();
        let kept: u64 = ring.buf.iter().map(Record::events).sum();
        let mut events = Vec::with_capacity(kept as usize);
        // The events of the poll running at this point of the scan, which
        // its start must precede.
        let mut in_poll = Vec::new();
        for r in ring.iter() {
            let kind = match r.tag() {
                Tag::Poll => {
                    events.push(Event {
                        time: Duration::from_nanos(r.data),
                        task: r.task,
                        kind: EventKind::PollStart,
                    });
                    events.append(&mut in_poll);
                    EventKind::PollEnd
                }
                tag => match self.expand(tag, r.data) {
                    Some(kind) => kind,
                    None => continue,
                },
            };
            let event = Event {
                time: r.time(),
                task: r.task,
                kind,
            };
            if r.in_poll() {
                in_poll.push(event);
            } else {
                events.append(&mut in_poll);
                events.push(event);
            }
        }
        if let Some((task, start)) = self.open.get() {
            events.push(Event {
                time: Duration::from_nanos(start),
                task,
                kind: EventKind::PollStart,
            });
        }
        events.append(&mut in_poll);
        let last = events.last().map(|e| e.time).unwrap_or_default();
        Trace {
            taken_at: last.max(now),
            events,
            dropped: self.recorded.get() - kept,
        }
    }

    /// The event of a record other than a poll; `None` for a spawn whose
    /// details are gone, which the side ring's size rules out.
    fn expand(&self, tag: Tag, data: u64) -> Option<EventKind> {
        Some(match tag {
            Tag::Created => {
                let Some(&s) = self.spawns.borrow().get(data) else {
                    debug_assert!(false, "spawn {data} outlived its details");
                    return None;
                };
                let names = self.names.borrow();
                EventKind::Created {
                    name: s
                        .name
                        .checked_sub(1)
                        .map(|i| names.list[i as usize].clone()),
                    parent: (s.parent != u64::MAX).then_some(TaskId(s.parent)),
                    location: s.location,
                }
            }
            Tag::Scheduled => EventKind::Scheduled { by: woken_by(data) },
            Tag::Poll => EventKind::PollEnd,
            Tag::WaitTimer => EventKind::Waits {
                on: Awaiting::Timer(Duration::from_nanos(data)),
            },
            Tag::WaitIo => EventKind::Waits {
                on: Awaiting::Io(if data == 0 {
                    Direction::Read
                } else {
                    Direction::Write
                }),
            },
            Tag::WaitTask => EventKind::Waits {
                on: Awaiting::Task(TaskId(data)),
            },
            Tag::WaitSync => EventKind::Waits {
                on: Awaiting::Sync(self.syncs.borrow()[data as usize]),
            },
            Tag::TimerFired => EventKind::TimerFired,
            Tag::IoReady => EventKind::IoReady,
            Tag::Done => EventKind::Done,
            Tag::Cancelled => EventKind::Cancelled,
            Tag::Panicked => EventKind::Panicked,
        })
    }
}

/// The hooks, as [`Instrument`]'s but with loop times in nanoseconds (the
/// loop's clock unit: no conversion on the hot path).
impl Recorder {
    pub(crate) fn task_spawned(&self, s: &Spawned<'_>, at: u64) {
        let name = s.name.map_or(0, |n| self.intern(n));
        let mut spawns = self.spawns.borrow_mut();
        let n = spawns.pushed;
        spawns.push(SpawnRecord {
            parent: s.parent.map_or(u64::MAX, TaskId::as_u64),
            location: s.location,
            name,
        });
        drop(spawns);
        self.push(at, s.task, Tag::Created, n, 1);
    }

    #[inline]
    pub(crate) fn task_scheduled(&self, task: TaskId, by: WokenBy, at: u64) {
        self.push(at, task, Tag::Scheduled, woken_code(by), 1);
    }

    #[inline]
    pub(crate) fn poll_start(&self, task: TaskId, at: u64) {
        self.open.set(Some((task, at)));
    }

    /// A poll's end; the recorder keeps no busy time (loop times only).
    #[inline]
    pub(crate) fn poll_end(&self, task: TaskId, at: u64) {
        let start = match self.open.take() {
            Some((t, start)) if t == task => start,
            _ => at,
        };
        self.push(at, task, Tag::Poll, start, 2);
    }

    pub(crate) fn task_exited(&self, task: TaskId, exited: Exited, at: u64) {
        let tag = match exited {
            Exited::Done => Tag::Done,
            Exited::Cancelled => Tag::Cancelled,
            Exited::Panicked => Tag::Panicked,
        };
        self.push(at, task, tag, 0, 1);
    }

    pub(crate) fn task_waits(&self, task: Option<TaskId>, on: Awaiting, at: u64) {
        let Some(task) = task else { return };
        let (tag, data) = match on {
            Awaiting::Timer(t) => (Tag::WaitTimer, nanos(t)),
            Awaiting::Io(Direction::Read) => (Tag::WaitIo, 0),
            Awaiting::Io(Direction::Write) => (Tag::WaitIo, 1),
            Awaiting::Task(t) => (Tag::WaitTask, t.as_u64()),
            Awaiting::Sync(s) => (Tag::WaitSync, self.sync_index(s)),
        };
        self.push(at, task, tag, data, 1);
    }

    pub(crate) fn timer_fired(&self, task: Option<TaskId>, at: u64) {
        if let Some(task) = task {
            self.push(at, task, Tag::TimerFired, 0, 1);
        }
    }

    pub(crate) fn io_ready(&self, task: Option<TaskId>, at: u64) {
        if let Some(task) = task {
            self.push(at, task, Tag::IoReady, 0, 1);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_stay_small() {
        // The ring's memory is capacity x this: 24 MB for the default
        // million records. A field that grows it should be a choice.
        assert_eq!(std::mem::size_of::<Record>(), 24);
    }

    fn kinds(trace: &Trace) -> Vec<(u64, EventKind)> {
        trace
            .events
            .iter()
            .map(|e| (e.time.as_nanos() as u64, e.kind.clone()))
            .collect()
    }

    #[test]
    fn a_poll_is_one_record_and_two_events_around_what_it_did() {
        let r = Recorder::new(16);
        let (a, b) = (TaskId(1), TaskId(2));
        r.poll_start(a, 10);
        r.task_scheduled(b, WokenBy::Loop, 11);
        r.task_waits(Some(a), Awaiting::Sync("Queue.get"), 12);
        r.poll_end(a, 13);
        r.task_scheduled(a, WokenBy::Timer, 14);
        r.poll_start(b, 15);
        assert_eq!(
            r.ring.borrow().buf.len(),
            4,
            "the open poll has no record yet"
        );
        let trace = r.snapshot(Duration::from_nanos(16));
        assert_eq!(
            kinds(&trace),
            vec![
                (10, EventKind::PollStart),
                (11, EventKind::Scheduled { by: WokenBy::Loop }),
                (
                    12,
                    EventKind::Waits {
                        on: Awaiting::Sync("Queue.get")
                    }
                ),
                (13, EventKind::PollEnd),
                (14, EventKind::Scheduled { by: WokenBy::Timer }),
                (15, EventKind::PollStart),
            ]
        );
        let tasks: Vec<u64> = trace.events.iter().map(|e| e.task.as_u64()).collect();
        assert_eq!(tasks, [1, 2, 1, 1, 1, 2]);
    }

    #[test]
    fn the_ring_grows_to_its_capacity_then_keeps_the_newest() {
        let mut ring = Ring::new(200);
        for i in 0..150u32 {
            ring.push(i);
        }
        assert_eq!(ring.buf.len(), 150);
        assert!(
            ring.buf.capacity() <= 200,
            "never reserves past the capacity"
        );
        assert_eq!(
            ring.iter().copied().collect::<Vec<_>>(),
            (0..150).collect::<Vec<_>>()
        );
        for i in 150..530u32 {
            ring.push(i);
        }
        assert_eq!(ring.buf.len(), 200);
        assert_eq!(
            ring.iter().copied().collect::<Vec<_>>(),
            (330..530).collect::<Vec<_>>()
        );
        assert_eq!(ring.get(329), None, "overwritten");
        assert_eq!(ring.get(330), Some(&330));
        assert_eq!(ring.get(529), Some(&529));
        assert_eq!(ring.get(530), None, "not pushed yet");
    }

    #[test]
    fn a_full_ring_drops_the_oldest_and_keeps_spawn_details() {
        let r = Recorder::new(3);
        let here = Location::caller();
        for i in 0..5u64 {
            let name = format!("t{i}");
            let spawned = Spawned {
                task: TaskId(i),
                parent: i.checked_sub(1).map(TaskId),
                name: Some(&name),
                location: here,
            };
            r.task_spawned(&spawned, i);
        }
        r.poll_start(TaskId(4), 5);
        r.poll_end(TaskId(4), 6);
        let trace = r.snapshot(Duration::ZERO);
        assert_eq!(trace.dropped, 3, "three spawns overwritten");
        let kept: Vec<(u64, Option<String>, Option<u64>)> = trace
            .events
            .iter()
            .filter_map(|e| match &e.kind {
                EventKind::Created { name, parent, .. } => Some((
                    e.task.as_u64(),
                    name.as_deref().map(str::to_owned),
                    parent.map(TaskId::as_u64),
                )),
                _ => None,
            })
            .collect();
        assert_eq!(
            kept,
            [
                (3, Some("t3".into()), Some(2)),
                (4, Some("t4".into()), Some(3))
            ]
        );
        assert_eq!(trace.events.len(), 4, "two spawns, a poll's start and end");
        assert_eq!(trace.taken_at, Duration::from_nanos(6));
    }
}
