//! `WakeSet`: tasks waiting for a condition of a stream or server (the
//! writer's drain, a server's close). Each waiting future owns a slot, so
//! any number can wait, a dropped future leaves nothing behind, and a wake
//! reaches every waiter (each one re-checks its condition).

use std::cell::RefCell;
use std::task::Context;

use crate::task::waker::WakeHandle;

#[derive(Default)]
pub(crate) struct WakeSet {
    slots: RefCell<Slots>,
}

#[derive(Default)]
struct Slots {
    entries: Vec<Option<WakeHandle>>,
    free: Vec<usize>,
    waiting: usize,
}

impl WakeSet {
    /// Remembers `cx` in the slot `key` (taking a slot when `None`).
    pub(crate) fn register(&self, key: &mut Option<usize>, cx: &Context<'_>) {
        let old = {
            let mut s = self.slots.borrow_mut();
            match *key {
                Some(k) if s.entries.get(k).is_some() => {
                    let entry = &mut s.entries[k];
                    match entry {
                        Some(h) if h.will_wake(cx) => None,
                        _ => {
                            let was_empty = entry.is_none();
                            let old = entry.replace(WakeHandle::new(cx));
                            if was_empty {
                                s.waiting += 1;
                            }
                            old
                        }
                    }
                }
                _ => {
                    let handle = Some(WakeHandle::new(cx));
                    let k = match s.free.pop() {
                        Some(k) => {
                            s.entries[k] = handle;
                            k
                        }
                        None => {
                            s.entries.push(handle);
                            s.entries.len() - 1
                        }
                    };
                    s.waiting += 1;
                    *key = Some(k);
                    None
                }
            }
        };
        drop(old);
    }

    /// Gives the slot back (a waiting future completed or was dropped).
    pub(crate) fn remove(&self, key: &mut Option<usize>) {
        let Some(k) = key.take() else { return };
        let old = {
            let mut s = self.slots.borrow_mut();
            let old = s.entries.get_mut(k).and_then(Option::take);
            if old.is_some() {
                s.waiting -= 1;
            }
            s.free.push(k);
            old
        };
        drop(old);
    }

    /// Wakes every waiter. Their slots stay theirs (empty) until they
    /// re-register or drop.
    pub(crate) fn wake_all(&self) {
        let woken: Vec<WakeHandle> = {
            let mut s = self.slots.borrow_mut();
            if s.waiting == 0 {
                return;
            }
            s.waiting = 0;
            s.entries.iter_mut().filter_map(Option::take).collect()
        };
        for w in woken {
            w.wake();
        }
    }
}
