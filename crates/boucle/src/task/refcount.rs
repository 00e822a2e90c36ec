//! The `Waker` reference count of a task: the only part of a task's memory
//! that several threads touch. See the protocol in `task/mod.rs`.
//!
//! The count starts at 1: the unit of the whole local side, held while any
//! loop-local reference exists. Each `Waker` clone adds one.
//!
//! The top bit is `NOTIFIED`: a wake from another thread (or from outside
//! the running loop) is on its way to the loop's remote queue. The first
//! such wake sets it and sends one count to the queue; later ones see it set
//! and do nothing, so however many foreign wakes come while the loop is
//! busy, the remote queue holds at most one entry per task (tokio's
//! NOTIFIED bit). The loop clears it before it schedules the task, so a
//! wake that comes after the clear is sent again, and one that came before
//! is seen by the poll that follows (the clear acquires what the setter
//! released).

use crate::loom_shim::{fence, AtomicU32, Ordering};

/// A foreign wake is queued for the loop (see the module docs).
const NOTIFIED: u32 = 1 << 31;
/// The bits that count references.
const COUNT: u32 = NOTIFIED - 1;

/// Counts above this abort the process, as `Arc` does: a count that wraps
/// would free memory still in use. Local counts (`refs`) use the same bound.
pub(crate) const MAX_REFS: u32 = COUNT / 2;

pub(crate) struct WakerCount(AtomicU32);

impl WakerCount {
    /// A count holding the local side's unit.
    pub(crate) fn new() -> WakerCount {
        WakerCount(AtomicU32::new(1))
    }

    /// A `Waker` clone (any thread).
    pub(crate) fn increment(&self) {
        if self.0.fetch_add(1, Ordering::Relaxed) & COUNT >= MAX_REFS {
            std::process::abort();
        }
    }

    /// A `Waker` drop (any thread). True when this was the last count: the
    /// caller frees the memory, and everything written before the other
    /// counts were released is visible to it.
    #[must_use]
    pub(crate) fn decrement(&self) -> bool {
        if self.0.fetch_sub(1, Ordering::Release) & COUNT != 1 {
            return false;
        }
        fence(Ordering::Acquire);
        true
    }

    /// The local side is gone (loop thread). True when the caller must free
    /// the memory now. When wakers remain, `before_handoff` runs first: what
    /// it writes is visible to the thread that frees the memory later.
    #[must_use]
    pub(crate) fn release_local(&self, before_handoff: impl FnOnce()) -> bool {
        // No waker exists anywhere, and none can appear: making one needs
        // an existing waker or the loop thread (us).
        if self.0.load(Ordering::Acquire) & COUNT == 1 {
            return true;
        }
        before_handoff();
        self.decrement()
    }

    /// A foreign wake (any thread, holding a count). True when it is the
    /// first since the loop last cleared the bit: the caller then sends a
    /// count to the remote queue. Release: what the waker wrote before
    /// waking is visible to the loop once it clears the bit.
    #[must_use]
    pub(crate) fn transition_to_notified(&self) -> bool {
        self.0.fetch_or(NOTIFIED, Ordering::AcqRel) & NOTIFIED == 0
    }

    /// The loop took the task's remote-queue entry (loop thread, holding
    /// that entry's count), before it schedules the task.
    pub(crate) fn clear_notified(&self) {
        self.0.fetch_and(!NOTIFIED, Ordering::AcqRel);
    }

    #[cfg(test)]
    fn is_notified(&self) -> bool {
        self.0.load(Ordering::Relaxed) & NOTIFIED != 0
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;

    #[test]
    fn only_the_first_foreign_wake_is_sent() {
        let c = WakerCount::new();
        c.increment(); // a waker
        assert!(c.transition_to_notified());
        c.increment(); // the remote entry's count
        for _ in 0..1000 {
            assert!(!c.transition_to_notified());
        }
        assert!(c.is_notified());
        c.clear_notified();
        assert!(!c.is_notified());
        assert!(c.transition_to_notified(), "a wake after the clear is sent");
    }

    #[test]
    fn the_notified_bit_is_not_counted() {
        let c = WakerCount::new();
        c.increment();
        assert!(c.transition_to_notified());
        // The waker goes; the local side is the last count, bit or not.
        assert!(!c.decrement());
        assert!(c.release_local(|| unreachable!("no waker remains")));
    }
}

#[cfg(all(test, loom))]
#[allow(unsafe_code)]
mod loom_tests {
    use super::*;
    use loom::cell::UnsafeCell;
    use loom::sync::atomic::AtomicUsize;
    use loom::sync::Arc;

    /// A task memory model: the count, a field the local side writes before
    /// handing off (as `HOLDS_SHARED`), and how many times it was freed.
    struct Mem {
        count: WakerCount,
        handoff_flag: UnsafeCell<bool>,
        frees: AtomicUsize,
    }

    impl Mem {
        fn free(&self, by_waker: bool) {
            if by_waker {
                // The freeing waker reads the flag: loom reports a data race
                // if the write is not ordered before this read.
                let flag = self.handoff_flag.with(|p| unsafe { *p });
                assert!(flag, "a waker freed memory the local side did not hand off");
            }
            self.frees.fetch_add(1, Ordering::Relaxed);
        }
    }

    /// The loop releases its side while another thread clones, wakes and
    /// drops wakers: the memory is freed exactly once, by whoever is last,
    /// and the hand-off write is visible to a freeing waker.
    #[test]
    fn local_release_races_foreign_wakers() {
        loom::model(|| {
            let mem = Arc::new(Mem {
                count: WakerCount::new(),
                handoff_flag: UnsafeCell::new(false),
                frees: AtomicUsize::new(0),
            });
            // One waker cloned on the loop thread, sent away.
            mem.count.increment();
            let m = mem.clone();
            let foreign = loom::thread::spawn(move || {
                m.count.increment(); // clone
                if m.count.decrement() {
                    m.free(true);
                }
                if m.count.decrement() {
                    m.free(true);
                }
            });
            let m = mem.clone();
            let free_now = m
                .count
                .release_local(|| m.handoff_flag.with_mut(|p| unsafe { *p = true }));
            if free_now {
                m.free(false);
            }
            foreign.join().unwrap();
            assert_eq!(mem.frees.load(Ordering::Relaxed), 1);
        });
    }

    /// Two foreign threads each drop a waker while the loop releases.
    #[test]
    fn two_foreign_drops_and_a_release() {
        loom::model(|| {
            let mem = Arc::new(Mem {
                count: WakerCount::new(),
                handoff_flag: UnsafeCell::new(false),
                frees: AtomicUsize::new(0),
            });
            mem.count.increment();
            mem.count.increment();
            let threads: Vec<_> = (0..2)
                .map(|_| {
                    let m = mem.clone();
                    loom::thread::spawn(move || {
                        if m.count.decrement() {
                            m.free(true);
                        }
                    })
                })
                .collect();
            let m = mem.clone();
            if m.count
                .release_local(|| m.handoff_flag.with_mut(|p| unsafe { *p = true }))
            {
                m.free(false);
            }
            for t in threads {
                t.join().unwrap();
            }
            assert_eq!(mem.frees.load(Ordering::Relaxed), 1);
        });
    }

    /// A foreign thread changes what the task waits for, then wakes it,
    /// twice, while the loop drains its remote queue: at most one entry is
    /// queued at a time, and the last poll sees the last change (a wake
    /// that found the bit set is covered by the entry already queued).
    #[test]
    fn coalesced_foreign_wakes_are_never_lost() {
        use loom::sync::atomic::AtomicU32 as Data;
        use loom::sync::Mutex;

        loom::model(|| {
            let count = Arc::new(WakerCount::new());
            let queue = Arc::new(Mutex::new(0usize)); // queued entries
            let data = Arc::new(Data::new(0));
            count.increment(); // the foreign thread's waker
            let (c, q, d) = (count.clone(), queue.clone(), data.clone());
            let foreign = loom::thread::spawn(move || {
                for v in 1..=2 {
                    d.store(v, Ordering::Relaxed);
                    if c.transition_to_notified() {
                        c.increment();
                        let mut q = q.lock().unwrap();
                        *q += 1;
                        assert_eq!(*q, 1, "two entries queued for one task");
                    }
                }
                assert!(!c.decrement());
            });
            let mut last = 0;
            let drain = |last: &mut u32| {
                let n = std::mem::take(&mut *queue.lock().unwrap());
                for _ in 0..n {
                    count.clear_notified();
                    *last = data.load(Ordering::Relaxed); // the poll
                    assert!(!count.decrement());
                }
            };
            drain(&mut last);
            foreign.join().unwrap();
            drain(&mut last);
            assert_eq!(last, 2, "the last wake was lost");
            assert!(count.release_local(|| unreachable!("no waker remains")));
        });
    }
}
