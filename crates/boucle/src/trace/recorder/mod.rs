//! The recorder: the instrument behind `Builder::trace(true)`. It keeps the
//! task events in a bounded ring buffer (older events are dropped and
//! counted) with interned task names, and gives [`Trace`] snapshots.
//!
//! A yield is about 20 ns and makes three events, so the recorder's cost is
//! the cost of storing them. It stores as little as it can:
//!
//! - a record is 16 bytes: the loop time and the kind in one word, the
//!   task in the other;
//! - a poll is one record, written when it ends; the records written while
//!   it runs are flagged, and a snapshot puts the poll's start back in front
//!   of them. A poll that began at the loop time it ended (the loop's time
//!   is sampled once per iteration) needs nothing more;
//! - what only some records have goes to side rings, in order: a word of
//!   payload (a poll's start when it is not its end, a deadline, the task
//!   or primitive waited on) and what only a spawn has (parent, location,
//!   name). The `k` records of a kind that the main ring still holds are
//!   the last `k` of that kind ever written, so their side entries are the
//!   last `k` of the side ring, which holds at least as many: a snapshot
//!   finds them by counting, and no record stores an index. A yield thus
//!   writes 32 bytes (its wake and its poll). The payload ring has the main
//!   ring's capacity; the spawn ring half of it, since a spawn writes two
//!   records (24 bytes per task less in a long run of spawns);
//! - names are interned, the sync primitives' names (`"Queue.get"`) kept
//!   once by address.

use std::cell::{Cell, RefCell};
use std::collections::HashMap;
use std::panic::Location;
use std::sync::Arc;
use std::time::Duration;

use super::instrument::{Awaiting, Exited, Spawned, WokenBy};
use super::ring::Ring;
use super::{Event, EventKind, Trace};
use crate::io::Direction;
use crate::task::TaskId;

/// The ring buffer's default size, in records (a poll's start and end make
/// one record).
pub const DEFAULT_CAPACITY: usize = 1_000_000;

pub(crate) struct Recorder {
    ring: RefCell<Ring<Record>>,
    /// The payloads of the records whose tag has one, in order.
    payloads: RefCell<Ring<u64>>,
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

/// A record as stored; it becomes one [`Event`] (two for a poll) in a
/// snapshot.
#[derive(Clone, Copy)]
struct Record {
    /// Loop time in nanoseconds (saturating at 2^56 - 1, 2.2 years) above
    /// the tag byte.
    stamp: u64,
    task: TaskId,
}

/// Set in the tag byte of a record written while a poll runs.
const IN_POLL: u8 = 0x80;
const TIME_MAX: u64 = (1 << 56) - 1;

/// A record's kind. The wake's source and the I/O direction are kinds of
/// their own, so that those records need no payload.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Tag {
    Created,
    ScheduledBySpawn,
    ScheduledByLoop,
    ScheduledByRemote,
    ScheduledByTimer,
    ScheduledByIo,
    /// A poll that began at the loop time it ended.
    Poll,
    /// A poll whose start, earlier than its end, is its payload.
    PollSince,
    /// Payload: the deadline.
    WaitTimer,
    WaitRead,
    WaitWrite,
    /// Payload: the task's id.
    WaitTask,
    /// Payload: the primitive's index in `Recorder::syncs`.
    WaitSync,
    TimerFired,
    IoReady,
    Done,
    Cancelled,
    Panicked,
}

/// Every tag, at its discriminant.
const TAGS: [Tag; 18] = [
    Tag::Created,
    Tag::ScheduledBySpawn,
    Tag::ScheduledByLoop,
    Tag::ScheduledByRemote,
    Tag::ScheduledByTimer,
    Tag::ScheduledByIo,
    Tag::Poll,
    Tag::PollSince,
    Tag::WaitTimer,
    Tag::WaitRead,
    Tag::WaitWrite,
    Tag::WaitTask,
    Tag::WaitSync,
    Tag::TimerFired,
    Tag::IoReady,
    Tag::Done,
    Tag::Cancelled,
    Tag::Panicked,
];

impl Tag {
    fn has_payload(self) -> bool {
        matches!(
            self,
            Tag::PollSince | Tag::WaitTimer | Tag::WaitTask | Tag::WaitSync
        )
    }

    fn is_poll(self) -> bool {
        matches!(self, Tag::Poll | Tag::PollSince)
    }

    fn scheduled(by: WokenBy) -> Tag {
        match by {
            WokenBy::Spawn => Tag::ScheduledBySpawn,
            WokenBy::Loop => Tag::ScheduledByLoop,
            WokenBy::Remote => Tag::ScheduledByRemote,
            WokenBy::Timer => Tag::ScheduledByTimer,
            WokenBy::Io => Tag::ScheduledByIo,
        }
    }
}

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
        if self.tag().is_poll() {
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

impl Recorder {
    pub(crate) fn new(capacity: usize) -> Recorder {
        Recorder {
            ring: RefCell::new(Ring::new(capacity)),
            payloads: RefCell::new(Ring::new(capacity)),
            recorded: Cell::new(0),
            open: Cell::new(None),
            // Enough: see `task_spawned`.
            spawns: RefCell::new(Ring::new(capacity.div_ceil(2))),
            names: RefCell::new(Names::default()),
            syncs: RefCell::new(Vec::new()),
        }
    }

    /// Stores a record of a tag without payload; `events` is how many
    /// events it stands for.
    #[inline(always)]
    fn push(&self, at: u64, task: TaskId, tag: Tag, events: u64) {
        debug_assert!(!tag.has_payload());
        self.push_record(at, task, tag, events);
    }

    /// Stores a record of a tag with a payload.
    #[inline(always)]
    fn push_with(&self, at: u64, task: TaskId, tag: Tag, payload: u64, events: u64) {
        debug_assert!(tag.has_payload());
        self.payloads.borrow_mut().push(payload);
        self.push_record(at, task, tag, events);
    }

    #[inline(always)]
    fn push_record(&self, at: u64, task: TaskId, tag: Tag, events: u64) {
        let flag = if self.open.get().is_some() {
            IN_POLL
        } else {
            0
        };
        let record = Record {
            stamp: at.min(TIME_MAX) << 8 | u64::from(tag as u8 | flag),
            task,
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
        let payloads = self.payloads.borrow();
        let spawns = self.spawns.borrow();
        // The side entries of the records kept are the last ones pushed
        // (the module's doc): count the records that have one.
        let (mut kept, mut with_payload, mut created) = (0, 0, 0);
        for r in ring.iter() {
            let tag = r.tag();
            kept += r.events();
            with_payload += u64::from(tag.has_payload());
            created += u64::from(tag == Tag::Created);
        }
        let mut next_payload = payloads.pushed - with_payload;
        let mut next_spawn = spawns.pushed - created;
        let mut events = Vec::with_capacity(kept as usize);
        // The events of the poll running at this point of the scan, which
        // its start must precede.
        let mut in_poll = Vec::new();
        for r in ring.iter() {
            let tag = r.tag();
            // A spawn's payload is its spawn number.
            let payload = match tag {
                Tag::Created => Some(next_spawn),
                tag if tag.has_payload() => payloads.get(next_payload).copied(),
                _ => Some(0),
            };
            next_spawn += u64::from(tag == Tag::Created);
            next_payload += u64::from(tag.has_payload());
            let Some(payload) = payload else {
                debug_assert!(false, "a kept record outlived its payload");
                continue;
            };
            let kind = if tag.is_poll() {
                let start = if tag == Tag::PollSince {
                    Duration::from_nanos(payload)
                } else {
                    r.time()
                };
                events.push(Event {
                    time: start,
                    task: r.task,
                    kind: EventKind::PollStart,
                });
                events.append(&mut in_poll);
                EventKind::PollEnd
            } else {
                match self.expand(tag, payload, &spawns) {
                    Some(kind) => kind,
                    None => continue,
                }
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

    /// The event of a record other than a poll, with its payload (for a
    /// spawn, its spawn number); `None` for a spawn whose details are gone,
    /// which the side ring's size rules out.
    fn expand(&self, tag: Tag, payload: u64, spawns: &Ring<SpawnRecord>) -> Option<EventKind> {
        Some(match tag {
            Tag::Created => {
                let Some(&s) = spawns.get(payload) else {
                    debug_assert!(false, "spawn {payload} outlived its details");
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
            Tag::ScheduledBySpawn => EventKind::Scheduled { by: WokenBy::Spawn },
            Tag::ScheduledByLoop => EventKind::Scheduled { by: WokenBy::Loop },
            Tag::ScheduledByRemote => EventKind::Scheduled {
                by: WokenBy::Remote,
            },
            Tag::ScheduledByTimer => EventKind::Scheduled { by: WokenBy::Timer },
            Tag::ScheduledByIo => EventKind::Scheduled { by: WokenBy::Io },
            Tag::Poll | Tag::PollSince => EventKind::PollEnd,
            Tag::WaitTimer => EventKind::Waits {
                on: Awaiting::Timer(Duration::from_nanos(payload)),
            },
            Tag::WaitRead => EventKind::Waits {
                on: Awaiting::Io(Direction::Read),
            },
            Tag::WaitWrite => EventKind::Waits {
                on: Awaiting::Io(Direction::Write),
            },
            Tag::WaitTask => EventKind::Waits {
                on: Awaiting::Task(TaskId(payload)),
            },
            Tag::WaitSync => EventKind::Waits {
                on: Awaiting::Sync(self.syncs.borrow()[payload as usize]),
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
    /// A spawn and the schedule that comes with it (a new task is runnable
    /// at once), as two records written together: every `Created` record
    /// is followed by its task's `ScheduledBySpawn`, so the main ring holds
    /// at most half its capacity of them, which the spawn ring holds.
    pub(crate) fn task_spawned(&self, s: &Spawned<'_>, at: u64) {
        let name = s.name.map_or(0, |n| self.intern(n));
        let mut spawns = self.spawns.borrow_mut();
        spawns.push(SpawnRecord {
            parent: s.parent.map_or(u64::MAX, TaskId::as_u64),
            location: s.location,
            name,
        });
        drop(spawns);
        self.push(at, s.task, Tag::Created, 1);
        self.push(at, s.task, Tag::ScheduledBySpawn, 1);
    }

    #[inline]
    pub(crate) fn task_scheduled(&self, task: TaskId, by: WokenBy, at: u64) {
        self.push(at, task, Tag::scheduled(by), 1);
    }

    #[inline]
    pub(crate) fn poll_start(&self, task: TaskId, at: u64) {
        self.open.set(Some((task, at)));
    }

    /// A poll's end; the recorder keeps no busy time (loop times only).
    #[inline]
    pub(crate) fn poll_end(&self, task: TaskId, at: u64) {
        match self.open.take() {
            Some((t, start)) if t == task && start != at => {
                self.push_with(at, task, Tag::PollSince, start, 2);
            }
            _ => self.push(at, task, Tag::Poll, 2),
        }
    }

    pub(crate) fn task_exited(&self, task: TaskId, exited: Exited, at: u64) {
        let tag = match exited {
            Exited::Done => Tag::Done,
            Exited::Cancelled => Tag::Cancelled,
            Exited::Panicked => Tag::Panicked,
        };
        self.push(at, task, tag, 1);
    }

    pub(crate) fn task_waits(&self, task: Option<TaskId>, on: Awaiting, at: u64) {
        let Some(task) = task else { return };
        match on {
            Awaiting::Timer(t) => self.push_with(at, task, Tag::WaitTimer, nanos(t), 1),
            Awaiting::Io(Direction::Read) => self.push(at, task, Tag::WaitRead, 1),
            Awaiting::Io(Direction::Write) => self.push(at, task, Tag::WaitWrite, 1),
            Awaiting::Task(t) => self.push_with(at, task, Tag::WaitTask, t.as_u64(), 1),
            Awaiting::Sync(s) => {
                let i = self.sync_index(s);
                self.push_with(at, task, Tag::WaitSync, i, 1);
            }
        }
    }

    pub(crate) fn timer_fired(&self, task: Option<TaskId>, at: u64) {
        if let Some(task) = task {
            self.push(at, task, Tag::TimerFired, 1);
        }
    }

    pub(crate) fn io_ready(&self, task: Option<TaskId>, at: u64) {
        if let Some(task) = task {
            self.push(at, task, Tag::IoReady, 1);
        }
    }
}

#[cfg(test)]
mod tests;
