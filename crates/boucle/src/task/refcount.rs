//! The `Waker` reference count of a task: the only part of a task's memory
//! that several threads touch. See the protocol in `task/mod.rs`.
//!
//! The count starts at 1: the unit of the whole local side, held while any
//! loop-local reference exists. Each `Waker` clone adds one.

use crate::loom_shim::{fence, AtomicU32, Ordering};

/// Counts above this abort the process, as `Arc` does: a count that wraps
/// would free memory still in use.
pub(crate) const MAX_REFS: u32 = u32::MAX / 2;

pub(crate) struct WakerCount(AtomicU32);

impl WakerCount {
    /// A count holding the local side's unit.
    pub(crate) fn new() -> WakerCount {
        WakerCount(AtomicU32::new(1))
    }

    /// A `Waker` clone (any thread).
    pub(crate) fn increment(&self) {
        if self.0.fetch_add(1, Ordering::Relaxed) >= MAX_REFS {
            std::process::abort();
        }
    }

    /// A `Waker` drop (any thread). True when this was the last count: the
    /// caller frees the memory, and everything written before the other
    /// counts were released is visible to it.
    #[must_use]
    pub(crate) fn decrement(&self) -> bool {
        if self.0.fetch_sub(1, Ordering::Release) != 1 {
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
        if self.0.load(Ordering::Acquire) == 1 {
            return true;
        }
        before_handoff();
        self.decrement()
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
}
