//! The one fair FIFO wait list under every primitive of `boucle::sync`
//! (trio's `ParkingLot`, tokio's `batch_semaphore` waiter queue).
//!
//! # Protocol
//!
//! A waiting future calls [`WaitList::push`] and keeps the [`WaitKey`] it
//! gets. The primitive picks waiters in arrival order with
//! [`WaitList::notify`] (optionally handing them a payload: an item, a
//! barrier index, an error); the notified entry leaves the queue at once
//! but keeps its slot until its future has seen the notification, by
//! [`WaitList::poll`] (then the future completes) or [`WaitList::remove`]
//! (the future was dropped). A dropped future that was already notified
//! gets its payload back from `remove`, and the primitive **passes the
//! notification on** to the next waiter (or gives the lock, permit, item
//! or slot back): no wake-up is ever swallowed.
//!
//! ```text
//!   push ──▶ Waiting ──notify──▶ Notified ──poll──▶ slot freed (future Ready)
//!               │                    └──remove──▶ slot freed, payload back: pass it on
//!               └──remove──▶ slot freed (nothing to pass on)
//! ```
//!
//! Entries live in a slab (`Vec`) linked by index, so push, notify and
//! remove are O(1), a freed slot is reused by the next push (no allocation
//! in steady state), and a generation in each key catches stale keys.
//!
//! The list never wakes anyone itself: `notify` returns the waker, and
//! callers wake it **after** releasing their `RefCell` borrow (or `Mutex`),
//! because a wake can drop a task whose destructor touches the same
//! primitive. Replaced and removed wakers are handed back for the same
//! reason.

use std::task::{Context, Waker};

use crate::task::waker::WakeHandle;

const NIL: u32 = u32::MAX;

/// How an entry remembers whom to wake: a [`WakeHandle`] for the loop's own
/// primitives, a [`Waker`] for the cross-thread channels.
pub(crate) trait Wakeup: Sized {
    fn from_cx(cx: &Context<'_>) -> Self;
    fn will_wake(&self, cx: &Context<'_>) -> bool;
    fn wake(self);
}

impl Wakeup for WakeHandle {
    fn from_cx(cx: &Context<'_>) -> Self {
        WakeHandle::new(cx)
    }
    fn will_wake(&self, cx: &Context<'_>) -> bool {
        WakeHandle::will_wake(self, cx)
    }
    fn wake(self) {
        WakeHandle::wake(self);
    }
}

impl Wakeup for Waker {
    fn from_cx(cx: &Context<'_>) -> Self {
        cx.waker().clone()
    }
    fn will_wake(&self, cx: &Context<'_>) -> bool {
        Waker::will_wake(self, cx.waker())
    }
    fn wake(self) {
        Waker::wake(self);
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum SlotState {
    Free,
    Waiting,
    Notified,
}

struct Slot<P, W> {
    gen: u32,
    state: SlotState,
    prev: u32,
    /// The next waiter while `Waiting`; the next free slot while `Free`.
    next: u32,
    waker: Option<W>,
    payload: Option<P>,
}

/// A waiter's place in a [`WaitList`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct WaitKey {
    index: u32,
    gen: u32,
}

/// What [`WaitList::poll`] found.
pub(crate) enum Polled<P, W> {
    /// Notified: the entry is gone; here is its payload.
    Notified(P),
    /// Still waiting. Holds the waker this poll replaced, to be dropped
    /// after the caller's borrow ends.
    Waiting(Option<W>),
}

/// What [`WaitList::remove`] took out.
pub(crate) struct Removed<P, W> {
    /// `Some(payload)` if the entry had been notified: the caller must pass
    /// the notification on.
    pub(crate) notified: Option<P>,
    /// The entry's waker, to be dropped after the caller's borrow ends.
    pub(crate) waker: Option<W>,
}

/// A FIFO queue of waiting futures; see the module docs for the protocol.
pub(crate) struct WaitList<P, W = WakeHandle> {
    slots: Vec<Slot<P, W>>,
    head: u32,
    tail: u32,
    free: u32,
    waiting: usize,
    notified: usize,
}

impl<P, W: Wakeup> WaitList<P, W> {
    pub(crate) const fn new() -> Self {
        WaitList {
            slots: Vec::new(),
            head: NIL,
            tail: NIL,
            free: NIL,
            waiting: 0,
            notified: 0,
        }
    }

    /// Waiters not yet notified.
    pub(crate) fn waiting(&self) -> usize {
        self.waiting
    }

    /// Waiters notified whose futures have not yet seen it.
    pub(crate) fn notified(&self) -> usize {
        self.notified
    }

    /// Queues a waiter for `cx` at the back. The primitive tells the loop's
    /// instruments what the wait is (`trace::hooks::waits_sync`).
    pub(crate) fn push(&mut self, cx: &Context<'_>) -> WaitKey {
        let waker = W::from_cx(cx);
        let index = if self.free != NIL {
            let i = self.free;
            self.free = self.slots[i as usize].next;
            i
        } else {
            let i = u32::try_from(self.slots.len())
                .ok()
                .filter(|&i| i != NIL)
                .expect("boucle: more than 4 billion waiters on one primitive");
            self.slots.push(Slot {
                gen: 0,
                state: SlotState::Free,
                prev: NIL,
                next: NIL,
                waker: None,
                payload: None,
            });
            i
        };
        let tail = self.tail;
        let slot = &mut self.slots[index as usize];
        slot.state = SlotState::Waiting;
        slot.prev = tail;
        slot.next = NIL;
        slot.waker = Some(waker);
        let gen = slot.gen;
        if tail == NIL {
            self.head = index;
        } else {
            self.slots[tail as usize].next = index;
        }
        self.tail = index;
        self.waiting += 1;
        WaitKey { index, gen }
    }

    fn slot_mut(&mut self, key: WaitKey) -> &mut Slot<P, W> {
        match self.slots.get_mut(key.index as usize) {
            Some(slot) if slot.gen == key.gen && slot.state != SlotState::Free => slot,
            _ => unreachable!("boucle: a wait-list key outlived its entry"),
        }
    }

    /// Checks a waiter: its payload if it was notified (the entry is then
    /// freed), else refreshes its waker.
    pub(crate) fn poll(&mut self, key: WaitKey, cx: &Context<'_>) -> Polled<P, W> {
        let slot = self.slot_mut(key);
        match slot.state {
            SlotState::Notified => {
                let payload = slot.payload.take().expect("a notified entry has a payload");
                self.notified -= 1;
                self.release(key.index);
                Polled::Notified(payload)
            }
            _ => match &slot.waker {
                Some(w) if w.will_wake(cx) => Polled::Waiting(None),
                _ => Polled::Waiting(slot.waker.replace(W::from_cx(cx))),
            },
        }
    }

    /// Takes a waiter out, whatever its state (its future is dropped).
    pub(crate) fn remove(&mut self, key: WaitKey) -> Removed<P, W> {
        let slot = self.slot_mut(key);
        let removed = Removed {
            notified: slot.payload.take(),
            waker: slot.waker.take(),
        };
        match slot.state {
            SlotState::Notified => self.notified -= 1,
            _ => {
                self.unlink(key.index);
                self.waiting -= 1;
            }
        }
        self.release(key.index);
        removed
    }

    /// Notifies the first waiter with `payload` and returns its waker (wake
    /// it after releasing your borrow); `Err(payload)` if nobody waits.
    #[inline]
    pub(crate) fn notify(&mut self, payload: P) -> Result<W, P> {
        // The empty case inline: a put with no getter waiting (the common
        // case of a busy queue) pays one compare.
        if self.head == NIL {
            return Err(payload);
        }
        Ok(self.notify_head(payload))
    }

    fn notify_head(&mut self, payload: P) -> W {
        let index = self.head;
        self.unlink(index);
        self.waiting -= 1;
        self.notified += 1;
        let slot = &mut self.slots[index as usize];
        slot.state = SlotState::Notified;
        slot.payload = Some(payload);
        slot.waker.take().expect("a waiting entry has a waker")
    }

    /// Notifies every waiter, in order, with `payload()`; their wakers are
    /// appended to `wakers` (see [`wake_all`]).
    pub(crate) fn notify_all(&mut self, mut payload: impl FnMut() -> P, wakers: &mut Vec<W>) {
        wakers.reserve(self.waiting);
        while self.head != NIL {
            if let Ok(w) = self.notify(payload()) {
                wakers.push(w);
            }
        }
    }

    fn unlink(&mut self, index: u32) {
        let (prev, next) = {
            let s = &self.slots[index as usize];
            (s.prev, s.next)
        };
        if prev == NIL {
            self.head = next;
        } else {
            self.slots[prev as usize].next = next;
        }
        if next == NIL {
            self.tail = prev;
        } else {
            self.slots[next as usize].prev = prev;
        }
    }

    fn release(&mut self, index: u32) {
        let slot = &mut self.slots[index as usize];
        slot.state = SlotState::Free;
        slot.gen = slot.gen.wrapping_add(1);
        slot.prev = NIL;
        slot.next = self.free;
        self.free = index;
    }
}

impl<P, W: Wakeup> Default for WaitList<P, W> {
    fn default() -> Self {
        WaitList::new()
    }
}

/// Wakes (and empties) a batch made by [`WaitList::notify_all`]. Call it
/// with no borrow held; the emptied `Vec` keeps its capacity for reuse.
pub(crate) fn wake_all<W: Wakeup>(wakers: &mut Vec<W>) {
    for w in wakers.drain(..) {
        w.wake();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    type List = WaitList<u32, Waker>;

    struct Noop;
    impl std::task::Wake for Noop {
        fn wake(self: std::sync::Arc<Self>) {}
    }

    thread_local! {
        // One waker, so `will_wake` can recognise it (two `Waker::noop()`
        // need not compare equal).
        static WAKER: &'static Waker = Box::leak(Box::new(Waker::from(std::sync::Arc::new(Noop))));
    }

    fn cx() -> Context<'static> {
        Context::from_waker(WAKER.with(|w| *w))
    }

    #[test]
    fn notifies_in_arrival_order() {
        let mut list = List::new();
        let keys: Vec<_> = (0..3).map(|_| list.push(&cx())).collect();
        assert_eq!(list.waiting(), 3);
        for p in 10..13 {
            assert!(list.notify(p).is_ok());
        }
        assert!(matches!(list.notify(99), Err(99)));
        assert_eq!((list.waiting(), list.notified()), (0, 3));
        let got: Vec<_> = keys
            .iter()
            .map(|&k| match list.poll(k, &cx()) {
                Polled::Notified(p) => p,
                Polled::Waiting(_) => panic!("not notified"),
            })
            .collect();
        assert_eq!(got, [10, 11, 12]);
        assert_eq!(list.notified(), 0);
    }

    #[test]
    fn removing_from_the_middle_keeps_the_order() {
        let mut list = List::new();
        let a = list.push(&cx());
        let b = list.push(&cx());
        let c = list.push(&cx());
        let removed = list.remove(b);
        assert!(removed.notified.is_none());
        assert!(removed.waker.is_some());
        list.notify(1).ok().unwrap();
        list.notify(2).ok().unwrap();
        assert!(matches!(list.poll(a, &cx()), Polled::Notified(1)));
        assert!(matches!(list.poll(c, &cx()), Polled::Notified(2)));
    }

    #[test]
    fn removing_a_notified_entry_gives_the_payload_back() {
        let mut list = List::new();
        let a = list.push(&cx());
        list.notify(7).ok().unwrap();
        let removed = list.remove(a);
        assert_eq!(removed.notified, Some(7));
        assert_eq!((list.waiting(), list.notified()), (0, 0));
    }

    #[test]
    fn slots_are_reused_with_a_new_generation() {
        let mut list = List::new();
        let a = list.push(&cx());
        let _ = list.remove(a);
        let b = list.push(&cx());
        assert_eq!(b.index, a.index);
        assert_ne!(b.gen, a.gen);
        assert_eq!(list.slots.len(), 1);
    }

    #[test]
    fn waiting_entries_stay_pending_on_poll() {
        let mut list = List::new();
        let a = list.push(&cx());
        assert!(matches!(list.poll(a, &cx()), Polled::Waiting(None)));
        let mut all = Vec::new();
        list.notify_all(|| 5, &mut all);
        assert_eq!(all.len(), 1);
        assert!(matches!(list.poll(a, &cx()), Polled::Notified(5)));
    }

    #[test]
    fn matches_a_vecdeque_model_under_random_operations() {
        use std::collections::VecDeque;
        let mut rng = fastrand::Rng::with_seed(3);
        let mut list = List::new();
        // Model: waiting keys in order, and notified keys with payloads.
        let mut waiting: VecDeque<WaitKey> = VecDeque::new();
        let mut notified: Vec<(WaitKey, u32)> = Vec::new();
        for step in 0..20_000u32 {
            match rng.u8(..4) {
                0 => waiting.push_back(list.push(&cx())),
                1 => match list.notify(step) {
                    Ok(_) => notified.push((waiting.pop_front().unwrap(), step)),
                    Err(p) => assert!(waiting.is_empty() && p == step),
                },
                2 if !waiting.is_empty() => {
                    let k = waiting.remove(rng.usize(..waiting.len())).unwrap();
                    assert!(list.remove(k).notified.is_none());
                }
                3 if !notified.is_empty() => {
                    let (k, p) = notified.swap_remove(rng.usize(..notified.len()));
                    if rng.bool() {
                        assert_eq!(list.remove(k).notified, Some(p));
                    } else {
                        assert!(matches!(list.poll(k, &cx()), Polled::Notified(q) if q == p));
                    }
                }
                _ => {}
            }
            assert_eq!(list.waiting(), waiting.len());
            assert_eq!(list.notified(), notified.len());
        }
    }
}
