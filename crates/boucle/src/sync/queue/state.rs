//! The queue's state machine, shared by every handle and future.
//!
//! # How items move (the cancel-safety argument)
//!
//! * **FIFO getters get items handed over.** A put finding a waiting
//!   getter moves the item into that getter's wait-list entry (it never
//!   enters the queue). If the getter's future is dropped before it sees
//!   the item, `cancel_get` takes the item back and hands it to the next
//!   waiter, or puts it back at the head of the queue: it is received
//!   exactly once. So items exist either in the queue or in exactly one
//!   notified entry, and a waiting getter implies an empty queue (nobody
//!   jumps the line).
//! * **LIFO and priority getters get a claim.** In those orders the item a
//!   getter receives must be the one the order picks when the getter runs
//!   (`put(5); put(1)` gives a waiting priority getter 1, as asyncio does),
//!   so a put queues its item and notifies the first getter with a claim:
//!   `claims` counts items in the queue promised to notified getters, and
//!   only the rest are `available` to others. A claimed getter pops by the
//!   order when it runs; one dropped first passes its claim to the next
//!   waiter, or gives it up (the item stays queued). A waiting getter
//!   implies no available item, so nobody jumps the line here either.
//! * **Putters get room reserved.** A get that frees room while putters
//!   wait notifies the first one and reserves the room for it (notified
//!   putters count as occupying a place: `has_room`). The item moves only
//!   when that putter's future is polled, so a put dropped before it
//!   completes inserts nothing; its reservation passes to the next putter.
//!   A waiting putter implies a full queue.
//! * `unfinished` counts puts not yet matched by `task_done` (asyncio's
//!   `_unfinished_tasks`); `join` waits for it to reach 0.
//!
//! Every wake happens after the `RefCell` borrow ends.

use std::cell::RefCell;
use std::task::{Context, Poll};

use super::order::Order;
use super::QueueStatistics;
use crate::sync::error::{
    GetNowaitError, PutNowaitError, QueueEmpty, QueueFull, QueueShutDown, TaskDoneError,
};
use crate::sync::wait_list::{wake_all, Polled, WaitKey, WaitList};
use crate::task::waker::WakeHandle;

pub(crate) struct QueueCore<T, O: Order<T>> {
    state: RefCell<State<T, O>>,
}

struct State<T, O: Order<T>> {
    items: O::Items,
    maxsize: usize,
    getters: WaitList<Handed<T>>,
    /// Queued items promised to notified getters (LIFO and priority).
    claims: usize,
    /// Notified putters hold a reserved place.
    putters: WaitList<()>,
    joiners: WaitList<()>,
    unfinished: usize,
    shut_down: bool,
    immediate: bool,
    batch: Vec<WakeHandle>,
}

/// What a notified getter was given.
enum Handed<T> {
    /// The item itself (FIFO hand-off).
    Item(T),
    /// A claim on the best queued item, taken when the getter runs.
    Claim,
    /// Woken by `shutdown`: drain what is left, if anything.
    ShutDown,
}

#[inline]
fn wake(w: Option<WakeHandle>) {
    if let Some(w) = w {
        w.wake();
    }
}

impl<T, O: Order<T>> State<T, O> {
    fn len(&self) -> usize {
        O::len(&self.items)
    }

    /// Room for one more item, counting places reserved for putters.
    fn has_room(&self) -> bool {
        self.maxsize == 0 || self.len() + self.putters.notified() < self.maxsize
    }

    /// Queued items not promised to a notified getter.
    fn available(&self) -> usize {
        self.len() - self.claims
    }

    /// A put succeeded: hand the item to the first getter (FIFO), or queue
    /// it and give the first getter a claim.
    fn insert(&mut self, item: T) -> Option<WakeHandle> {
        self.unfinished += 1;
        if O::HAND_OFF {
            return match self.getters.notify(Handed::Item(item)) {
                Ok(w) => Some(w),
                Err(Handed::Item(item)) => {
                    O::push(&mut self.items, item);
                    None
                }
                Err(_) => None,
            };
        }
        O::push(&mut self.items, item);
        self.claim_for_next_getter()
    }

    /// Promises a queued item to the first waiting getter, if any.
    fn claim_for_next_getter(&mut self) -> Option<WakeHandle> {
        let w = self.getters.notify(Handed::Claim).ok()?;
        self.claims += 1;
        Some(w)
    }

    /// Reserves free room for the first waiting putter.
    fn grant_room(&mut self) -> Option<WakeHandle> {
        // Nobody waiting to put is the common case: test it first.
        if self.putters.waiting() == 0 || self.shut_down || !self.has_room() {
            return None;
        }
        self.putters.notify(()).ok()
    }

    /// Takes the next available item, reserving the room it frees for a
    /// putter.
    fn take(&mut self) -> Option<(T, Option<WakeHandle>)> {
        // FIFO never has claims (a const test: free for `Queue`).
        if !O::HAND_OFF && self.available() == 0 {
            return None;
        }
        let item = O::pop(&mut self.items)?;
        Some((item, self.grant_room()))
    }

    /// A notified getter uses its claim. `None` only after an immediate
    /// shutdown dropped the items (and the claims with them).
    fn take_claimed(&mut self) -> Option<(T, Option<WakeHandle>)> {
        if self.claims == 0 {
            return None;
        }
        self.claims -= 1;
        let item = O::pop(&mut self.items)?;
        Some((item, self.grant_room()))
    }
}

impl<T, O: Order<T>> QueueCore<T, O> {
    pub(crate) fn new(maxsize: usize) -> QueueCore<T, O> {
        QueueCore {
            state: RefCell::new(State {
                items: O::Items::default(),
                maxsize,
                getters: WaitList::new(),
                claims: 0,
                putters: WaitList::new(),
                joiners: WaitList::new(),
                unfinished: 0,
                shut_down: false,
                immediate: false,
                batch: Vec::new(),
            }),
        }
    }

    pub(crate) fn put_nowait(&self, item: T) -> Result<(), PutNowaitError<T>> {
        let w = {
            let mut st = self.state.borrow_mut();
            if st.shut_down {
                return Err(QueueShutDown(item).into());
            }
            if !st.has_room() {
                return Err(QueueFull(item).into());
            }
            st.insert(item)
        };
        wake(w);
        Ok(())
    }

    pub(crate) fn get_nowait(&self) -> Result<T, GetNowaitError> {
        let taken = {
            let mut st = self.state.borrow_mut();
            match st.take() {
                Some(taken) => taken,
                None if st.shut_down => return Err(QueueShutDown(()).into()),
                None => return Err(QueueEmpty.into()),
            }
        };
        wake(taken.1);
        Ok(taken.0)
    }

    /// A `get` turn. The common case, an item ready for a getter not yet
    /// queued, is inline and small; the rest is out of line, so that the
    /// fast path does not pay for the slow one's registers.
    #[inline]
    pub(crate) fn poll_get(
        &self,
        key: &mut Option<WaitKey>,
        cx: &mut Context<'_>,
    ) -> Poll<Result<T, QueueShutDown>> {
        if key.is_none() {
            if crate::coop::poll_proceed(cx).is_pending() {
                return Poll::Pending;
            }
            let taken = self.state.borrow_mut().take();
            if let Some((item, w)) = taken {
                wake(w);
                return Poll::Ready(Ok(item));
            }
        }
        self.poll_get_slow(key, cx)
    }

    /// `poll_get` when no item was ready, or when queued (`key` is set).
    #[inline(never)]
    fn poll_get_slow(
        &self,
        key: &mut Option<WaitKey>,
        cx: &mut Context<'_>,
    ) -> Poll<Result<T, QueueShutDown>> {
        let Some(k) = *key else {
            // `poll_get` found nothing to take, and nothing ran since.
            let mut st = self.state.borrow_mut();
            if st.shut_down {
                return Poll::Ready(Err(QueueShutDown(())));
            }
            *key = Some(st.getters.push(cx));
            crate::trace::hooks::waits_sync("Queue.get", || st.statistics());
            return Poll::Pending;
        };
        let polled = self.state.borrow_mut().getters.poll(k, cx);
        let item = match polled {
            Polled::Waiting(_stale) => return Poll::Pending,
            Polled::Notified(Handed::Item(item)) => item,
            Polled::Notified(how) => {
                let taken = {
                    let mut st = self.state.borrow_mut();
                    match how {
                        Handed::Claim => st.take_claimed(),
                        // Woken by `shutdown`: drain what is left, if anything.
                        _ => st.take(),
                    }
                };
                let Some((item, w)) = taken else {
                    *key = None;
                    return Poll::Ready(Err(QueueShutDown(())));
                };
                wake(w);
                item
            }
        };
        *key = None;
        Poll::Ready(Ok(item))
    }

    /// A `get` future is dropped while queued.
    pub(crate) fn cancel_get(&self, key: WaitKey) {
        let removed = self.state.borrow_mut().getters.remove(key);
        let item = match removed.notified {
            Some(Handed::Item(item)) => item,
            Some(Handed::Claim) => {
                // The claim passes to the next getter, or the item is
                // available again.
                let next = {
                    let mut st = self.state.borrow_mut();
                    if st.claims == 0 {
                        None // an immediate shutdown dropped the items
                    } else {
                        st.claims -= 1;
                        if st.shut_down {
                            None
                        } else {
                            st.claim_for_next_getter()
                        }
                    }
                };
                wake(next);
                return;
            }
            Some(Handed::ShutDown) | None => return,
        };
        let mut st = self.state.borrow_mut();
        if st.immediate {
            // `shutdown(immediate)` drops every item not yet received.
            st.unfinished = st.unfinished.saturating_sub(1);
            drop(st);
            drop(item);
            self.release_joiners();
            return;
        }
        // Never lost: to the next getter, or back at the head.
        let next = match st.getters.notify(Handed::Item(item)) {
            Ok(w) => Some(w),
            Err(Handed::Item(item)) => {
                O::put_back(&mut st.items, item);
                None
            }
            Err(_) => None,
        };
        drop(st);
        wake(next);
    }

    /// A `put` turn. The common case, room for a putter not yet queued,
    /// is inline; waiting and shutdown are out of line (as `poll_get`).
    #[inline]
    pub(crate) fn poll_put(
        &self,
        item: &mut Option<T>,
        key: &mut Option<WaitKey>,
        cx: &mut Context<'_>,
    ) -> Poll<Result<(), QueueShutDown<T>>> {
        if key.is_none() {
            if crate::coop::poll_proceed(cx).is_pending() {
                return Poll::Pending;
            }
            let st = self.state.borrow_mut();
            if !st.shut_down && st.has_room() {
                let item = item.take().expect("boucle: Put polled after completion");
                self.finish_put(st, item);
                return Poll::Ready(Ok(()));
            }
        }
        self.poll_put_slow(item, key, cx)
    }

    /// `poll_put` when there was no room or the queue is shut down, or
    /// when queued (`key` is set).
    #[inline(never)]
    fn poll_put_slow(
        &self,
        item: &mut Option<T>,
        key: &mut Option<WaitKey>,
        cx: &mut Context<'_>,
    ) -> Poll<Result<(), QueueShutDown<T>>> {
        let st = match *key {
            None => {
                let mut st = self.state.borrow_mut();
                if !st.shut_down {
                    *key = Some(st.putters.push(cx));
                    crate::trace::hooks::waits_sync("Queue.put", || st.statistics());
                    return Poll::Pending;
                }
                st
            }
            Some(k) => {
                let polled = self.state.borrow_mut().putters.poll(k, cx);
                match polled {
                    Polled::Waiting(_stale) => return Poll::Pending,
                    Polled::Notified(()) => *key = None,
                }
                self.state.borrow_mut()
            }
        };
        let item = item.take().expect("boucle: Put polled after completion");
        if st.shut_down {
            return Poll::Ready(Err(QueueShutDown(item)));
        }
        self.finish_put(st, item);
        Poll::Ready(Ok(()))
    }

    /// Inserts the item of a put that may go ahead, and wakes whom it
    /// concerns.
    #[inline]
    fn finish_put(&self, mut st: std::cell::RefMut<'_, State<T, O>>, item: T) {
        // Queued (the common case of a busy queue), the item took the room
        // it was given: nobody else to wake.
        let Some(handed) = st.insert(item) else {
            return;
        };
        // Handed straight to a getter, the item left room for a putter.
        let room = st.grant_room();
        drop(st);
        handed.wake();
        wake(room);
    }

    /// A `put` future is dropped while queued.
    pub(crate) fn cancel_put(&self, key: WaitKey) {
        let mut st = self.state.borrow_mut();
        let removed = st.putters.remove(key);
        let next = match removed.notified {
            // Its reserved place goes to the next putter.
            Some(()) => st.grant_room(),
            None => None,
        };
        drop(st);
        drop(removed.waker);
        wake(next);
    }

    pub(crate) fn poll_join(&self, key: &mut Option<WaitKey>, cx: &mut Context<'_>) -> Poll<()> {
        let Some(k) = *key else {
            if crate::coop::poll_proceed(cx).is_pending() {
                return Poll::Pending;
            }
            let mut st = self.state.borrow_mut();
            if st.unfinished == 0 {
                return Poll::Ready(());
            }
            *key = Some(st.joiners.push(cx));
            crate::trace::hooks::waits_sync("Queue.join", || st.statistics());
            return Poll::Pending;
        };
        let polled = self.state.borrow_mut().joiners.poll(k, cx);
        match polled {
            Polled::Waiting(_stale) => Poll::Pending,
            Polled::Notified(()) => {
                *key = None;
                Poll::Ready(())
            }
        }
    }

    pub(crate) fn cancel_join(&self, key: WaitKey) {
        // Joiners are released all at once: nothing to pass on.
        let removed = self.state.borrow_mut().joiners.remove(key);
        drop(removed);
    }

    pub(crate) fn task_done(&self) -> Result<(), TaskDoneError> {
        {
            let mut st = self.state.borrow_mut();
            if st.unfinished == 0 {
                return Err(TaskDoneError);
            }
            st.unfinished -= 1;
            if st.unfinished > 0 {
                return Ok(());
            }
        }
        self.release_joiners();
        Ok(())
    }

    /// Wakes every `join` if no task is unfinished.
    fn release_joiners(&self) {
        let mut batch = {
            let mut st = self.state.borrow_mut();
            if st.unfinished > 0 || st.joiners.waiting() == 0 {
                return;
            }
            let mut batch = std::mem::take(&mut st.batch);
            st.joiners.notify_all(|| (), &mut batch);
            batch
        };
        self.wake_batch(&mut batch);
    }

    fn wake_batch(&self, batch: &mut Vec<WakeHandle>) {
        wake_all(batch);
        let mut st = self.state.borrow_mut();
        if st.batch.capacity() == 0 {
            st.batch = std::mem::take(batch);
        }
    }

    pub(crate) fn shutdown(&self, immediate: bool) {
        let (mut batch, dropped) = {
            let mut st = self.state.borrow_mut();
            st.shut_down = true;
            let mut batch = std::mem::take(&mut st.batch);
            let dropped = if immediate {
                st.immediate = true;
                let dropped = std::mem::take(&mut st.items);
                st.claims = 0;
                st.unfinished = st.unfinished.saturating_sub(O::len(&dropped));
                if st.unfinished == 0 {
                    st.joiners.notify_all(|| (), &mut batch);
                }
                Some(dropped)
            } else {
                None
            };
            st.getters.notify_all(|| Handed::ShutDown, &mut batch);
            st.putters.notify_all(|| (), &mut batch);
            (batch, dropped)
        };
        self.wake_batch(&mut batch);
        drop(dropped);
    }

    pub(crate) fn qsize(&self) -> usize {
        self.state.borrow().len()
    }

    pub(crate) fn full(&self) -> bool {
        !self.state.borrow().has_room()
    }

    pub(crate) fn maxsize(&self) -> usize {
        self.state.borrow().maxsize
    }

    pub(crate) fn is_shut_down(&self) -> bool {
        self.state.borrow().shut_down
    }

    pub(crate) fn statistics(&self) -> QueueStatistics {
        self.state.borrow().statistics()
    }
}

impl<T, O: Order<T>> State<T, O> {
    fn statistics(&self) -> QueueStatistics {
        QueueStatistics {
            qsize: self.len(),
            maxsize: self.maxsize,
            unfinished_tasks: self.unfinished,
            getters: self.getters.waiting(),
            putters: self.putters.waiting(),
            joiners: self.joiners.waiting(),
            shut_down: self.shut_down,
        }
    }
}
