//! The reactor: a slab of per-source state (cached readiness, the waiting
//! reader and writer, a generation against stale events).

use std::task::{Context, Poll};

use crate::task::waker::WakeHandle;

/// Readiness bits of one source.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) struct Ready(u8);

impl Ready {
    pub(crate) const READABLE: Ready = Ready(1);
    pub(crate) const WRITABLE: Ready = Ready(2);
    pub(crate) const READ_CLOSED: Ready = Ready(4);
    pub(crate) const WRITE_CLOSED: Ready = Ready(8);
    pub(crate) const ERROR: Ready = Ready(16);
    const EMPTY: Ready = Ready(0);

    pub(crate) fn from_event(e: &mio::event::Event) -> Ready {
        let mut r = Ready::EMPTY;
        if e.is_readable() || e.is_priority() {
            r.0 |= Ready::READABLE.0;
        }
        if e.is_writable() {
            r.0 |= Ready::WRITABLE.0;
        }
        if e.is_read_closed() {
            r.0 |= Ready::READ_CLOSED.0;
        }
        if e.is_write_closed() {
            r.0 |= Ready::WRITE_CLOSED.0;
        }
        if e.is_error() {
            r.0 |= Ready::ERROR.0;
        }
        r
    }

    fn intersects(self, other: Ready) -> bool {
        self.0 & other.0 != 0
    }
}

/// Which way a task waits on a source.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    /// Reading (or accepting).
    Read,
    /// Writing (or connecting).
    Write,
}

impl Direction {
    /// The readiness bits that let an operation in this direction proceed
    /// (closed and error states too: the operation then reports them).
    fn mask(self) -> Ready {
        match self {
            Direction::Read => Ready(Ready::READABLE.0 | Ready::READ_CLOSED.0 | Ready::ERROR.0),
            Direction::Write => Ready(Ready::WRITABLE.0 | Ready::WRITE_CLOSED.0 | Ready::ERROR.0),
        }
    }

    /// The bits an operation clears when it hits `WouldBlock`.
    fn clearable(self) -> Ready {
        match self {
            Direction::Read => Ready::READABLE,
            Direction::Write => Ready::WRITABLE,
        }
    }
}

#[derive(Default)]
struct Slot {
    generation: u32,
    in_use: bool,
    readiness: Ready,
    reader: Option<WakeHandle>,
    writer: Option<WakeHandle>,
}

/// A registered source's place in the slab.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct IoKey {
    index: u32,
    generation: u32,
}

impl IoKey {
    /// The mio token: generation in the high half, index in the low half.
    /// Generations stay below `u32::MAX - 1`, so a token never equals the
    /// driver's own (`usize::MAX`, `usize::MAX - 1`).
    pub(crate) fn token(self) -> mio::Token {
        mio::Token(((self.generation as usize) << 32) | self.index as usize)
    }

    fn from_token(token: usize) -> IoKey {
        IoKey {
            index: token as u32,
            generation: (token >> 32) as u32,
        }
    }
}

#[derive(Default)]
pub(crate) struct Reactor {
    slots: Vec<Slot>,
    free: Vec<u32>,
    live: usize,
}

const MAX_GENERATION: u32 = 1 << 30;

impl Reactor {
    /// Number of registered sources.
    pub(crate) fn len(&self) -> usize {
        self.live
    }

    pub(crate) fn insert(&mut self) -> IoKey {
        let index = match self.free.pop() {
            Some(i) => i,
            None => {
                self.slots.push(Slot::default());
                u32::try_from(self.slots.len() - 1)
                    .expect("boucle: more than 4 billion I/O sources registered")
            }
        };
        let slot = &mut self.slots[index as usize];
        slot.in_use = true;
        slot.readiness = Ready::EMPTY;
        self.live += 1;
        IoKey {
            index,
            generation: slot.generation,
        }
    }

    fn slot(&mut self, key: IoKey) -> Option<&mut Slot> {
        self.slots
            .get_mut(key.index as usize)
            .filter(|s| s.in_use && s.generation == key.generation)
    }

    /// Frees a slot; returns its wakers so the caller drops them outside
    /// the reactor's borrow.
    pub(crate) fn remove(&mut self, key: IoKey) -> [Option<WakeHandle>; 2] {
        let Some(slot) = self.slot(key) else {
            return [None, None];
        };
        slot.in_use = false;
        slot.generation = (slot.generation + 1) % MAX_GENERATION;
        let wakers = [slot.reader.take(), slot.writer.take()];
        self.free.push(key.index);
        self.live -= 1;
        wakers
    }

    /// Records an event; pushes the wakers to wake (after the borrow ends).
    pub(crate) fn dispatch(&mut self, token: usize, ready: Ready, wake: &mut Vec<WakeHandle>) {
        let Some(slot) = self.slot(IoKey::from_token(token)) else {
            return; // stale: the source was deregistered meanwhile
        };
        slot.readiness.0 |= ready.0;
        if ready.intersects(Direction::Read.mask()) {
            wake.extend(slot.reader.take());
        }
        if ready.intersects(Direction::Write.mask()) {
            wake.extend(slot.writer.take());
        }
    }

    /// Ready if the source is ready in `dir`; else remembers `cx`. The
    /// returned handle (if any) is an old waiter to drop outside the borrow.
    pub(crate) fn poll_ready(
        &mut self,
        key: IoKey,
        dir: Direction,
        cx: &Context<'_>,
    ) -> (Poll<Ready>, Option<WakeHandle>) {
        let Some(slot) = self.slot(key) else {
            // Deregistered: report it as closed and errored.
            return (Poll::Ready(Ready(0xff)), None);
        };
        if slot.readiness.intersects(dir.mask()) {
            return (Poll::Ready(slot.readiness), None);
        }
        let waiter = match dir {
            Direction::Read => &mut slot.reader,
            Direction::Write => &mut slot.writer,
        };
        let old = match waiter {
            Some(h) if h.will_wake(cx) => None,
            _ => waiter.replace(WakeHandle::new(cx)),
        };
        (Poll::Pending, old)
    }

    /// An operation in `dir` hit `WouldBlock`: forget that readiness.
    pub(crate) fn clear(&mut self, key: IoKey, dir: Direction) {
        if let Some(slot) = self.slot(key) {
            slot.readiness.0 &= !dir.clearable().0;
        }
    }

    /// Shutdown: drops every waiter (outside the borrow, by the caller).
    pub(crate) fn take_all_waiters(&mut self) -> Vec<WakeHandle> {
        let mut out = Vec::new();
        for s in &mut self.slots {
            out.extend(s.reader.take());
            out.extend(s.writer.take());
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stale_tokens_are_ignored_and_slots_reused() {
        let mut r = Reactor::default();
        let a = r.insert();
        let mut wake = Vec::new();
        let _ = r.remove(a);
        let b = r.insert();
        assert_eq!(a.index, b.index);
        assert_ne!(a.token(), b.token());
        r.dispatch(a.token().0, Ready::READABLE, &mut wake);
        let cx = Context::from_waker(std::task::Waker::noop());
        let (p, _) = r.poll_ready(b, Direction::Read, &cx);
        assert!(
            p.is_pending(),
            "the stale event did not mark the new source"
        );
        r.dispatch(b.token().0, Ready::READABLE, &mut wake);
        assert_eq!(wake.len(), 1, "the reader registered above is woken");
        let (p, _) = r.poll_ready(b, Direction::Read, &cx);
        assert!(p.is_ready());
        r.clear(b, Direction::Read);
        let (p, _) = r.poll_ready(b, Direction::Read, &cx);
        assert!(p.is_pending());
        assert_eq!(r.len(), 1);
    }

    #[test]
    fn tokens_never_collide_with_the_driver_tokens() {
        let key = IoKey {
            index: u32::MAX,
            generation: MAX_GENERATION - 1,
        };
        assert!(key.token().0 < usize::MAX - 1);
    }
}
