//! The task slab: where task memory comes from.
//!
//! Task cells up to 512 bytes come from per-loop size classes (8-byte
//! granules): a free list of blocks (the next pointer lives in the freed
//! block) and a bump region carved from chunks. Spawning then costs a few
//! instructions instead of a trip through the global allocator, and a
//! million live tasks touch a million blocks packed in a few chunks.
//!
//! Ownership: the chunks belong to the loop's `Shared` (`SlabShared`), which
//! lives until the last task memory of the loop is gone (see the protocol in
//! `task/mod.rs`), so a block stays valid whoever frees it last. A block
//! freed on the loop thread while the loop runs goes straight back to its
//! class; one freed anywhere else (a waker dropped on another thread, a
//! handle dropped after the loop stopped) is queued under a lock and
//! reclaimed at the loop's next turn, or freed with the chunks.
//!
//! The slab also knows which of its blocks are in use, so the loop can find
//! its unfinished tasks without a registry entry (8 bytes) per task
//! ([`TaskSlab::used_blocks`]). The contract with task memory: a block in
//! use begins with a non-zero `u32` (the task's state word, which always
//! holds `IN_SLAB`), and a free block begins with a zero one, written by
//! [`TaskSlab::free`], its next pointer after it. Blocks handed back from
//! other threads keep their last contents until they are reclaimed.
//!
//! `Builder::task_slab(false)` (or `BOUCLE_TASK_SLAB=0`) allocates every
//! task with the global allocator instead, so that tools such as valgrind
//! see each task as its own allocation.

#![allow(unsafe_code)]

use std::alloc::{self, Layout};
use std::ptr::NonNull;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;

const GRANULE: usize = 8;
const CLASSES: usize = 64;
const FIRST_CHUNK: usize = 64 * 1024;
const MAX_CHUNK: usize = 2 * 1024 * 1024;

/// The smallest block: the free marker and the next pointer.
const MIN_BLOCK: usize = 16;
/// Where a free block keeps its next pointer, after the zero marker.
const NEXT_OFFSET: usize = 8;

/// The size class of a layout, if the slab serves it.
#[inline]
pub(crate) const fn class_of(layout: Layout) -> Option<u8> {
    if layout.align() > GRANULE || layout.size() == 0 || layout.size() > GRANULE * CLASSES {
        return None;
    }
    let size = if layout.size() < MIN_BLOCK {
        MIN_BLOCK
    } else {
        layout.size()
    };
    Some((size.div_ceil(GRANULE) - 1) as u8)
}

fn block_size(class: u8) -> usize {
    (class as usize + 1) * GRANULE
}

/// The chunks of a loop's slab and the blocks freed away from the loop.
pub(crate) struct SlabShared {
    /// Every chunk, with the class whose blocks it holds.
    chunks: Mutex<Vec<(NonNull<u8>, Layout, u8)>>,
    remote: Mutex<Vec<(u8, NonNull<u8>)>>,
    remote_pending: AtomicBool,
}

// SAFETY: the pointers name memory this structure owns (chunks) or blocks
// inside it; they are only read or written under the mutexes.
unsafe impl Send for SlabShared {}
// SAFETY: as above.
unsafe impl Sync for SlabShared {}

impl SlabShared {
    pub(crate) fn new() -> SlabShared {
        SlabShared {
            chunks: Mutex::new(Vec::new()),
            remote: Mutex::new(Vec::new()),
            remote_pending: AtomicBool::new(false),
        }
    }

    /// A block freed away from its loop's running thread.
    pub(crate) fn free_remote(&self, class: u8, block: NonNull<u8>) {
        let mut remote = self.remote.lock().unwrap_or_else(|e| e.into_inner());
        remote.push((class, block));
        self.remote_pending.store(true, Ordering::Release);
    }

    fn new_chunk(&self, size: usize, class: u8) -> Option<NonNull<u8>> {
        let align = if size >= MAX_CHUNK {
            MAX_CHUNK
        } else {
            GRANULE
        };
        let layout = Layout::from_size_align(size, align).ok()?;
        // SAFETY: `layout` has a non-zero size.
        let ptr = NonNull::new(unsafe { alloc::alloc(layout) })?;

        self.chunks
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push((ptr, layout, class));
        Some(ptr)
    }
}

impl Drop for SlabShared {
    fn drop(&mut self) {
        let chunks = std::mem::take(self.chunks.get_mut().unwrap_or_else(|e| e.into_inner()));
        for (ptr, layout, _) in chunks {
            // SAFETY: allocated in `new_chunk` with this layout; `Shared`
            // drops only when no task memory of the loop remains.
            unsafe { alloc::dealloc(ptr.as_ptr(), layout) };
        }
    }
}

#[derive(Clone, Copy)]
struct Class {
    /// Head of the free list: each free block starts with the next one.
    free: Option<NonNull<u8>>,
    bump: usize,
    end: usize,
}

/// The loop-thread side: free lists and bump regions per class.
pub(crate) struct TaskSlab {
    classes: [Class; CLASSES],
    next_chunk: usize,
}

impl TaskSlab {
    pub(crate) fn new() -> TaskSlab {
        TaskSlab {
            classes: [Class {
                free: None,
                bump: 0,
                end: 0,
            }; CLASSES],
            next_chunk: FIRST_CHUNK,
        }
    }

    /// A block of `class`; `None` if memory is exhausted.
    pub(crate) fn alloc(&mut self, shared: &SlabShared, class: u8) -> Option<NonNull<u8>> {
        let size = block_size(class);
        let c = &mut self.classes[class as usize];
        if let Some(block) = c.free {
            // SAFETY: free blocks are live slab memory (their chunk lives as
            // long as `Shared`), at least `MIN_BLOCK` bytes, aligned to 8,
            // and hold the next free block's pointer at `NEXT_OFFSET`,
            // written by `free`.
            c.free = unsafe { next_slot(block).read() };
            return Some(block);
        }
        if c.end - c.bump < size {
            let chunk_size = self.next_chunk;
            let chunk = shared.new_chunk(chunk_size, class)?;
            self.next_chunk = (chunk_size * 2).min(MAX_CHUNK);
            let c = &mut self.classes[class as usize];
            c.bump = chunk.as_ptr() as usize;
            c.end = c.bump + chunk_size;
        }
        let c = &mut self.classes[class as usize];
        let block = c.bump as *mut u8;
        c.bump += size;
        NonNull::new(block)
    }

    /// Returns a block to its class.
    ///
    /// # Safety
    /// `block` came from `alloc(_, class)` of this slab and is not used
    /// any more.
    pub(crate) unsafe fn free(&mut self, class: u8, block: NonNull<u8>) {
        let c = &mut self.classes[class as usize];
        // SAFETY: the block is ours, unused, aligned to 8 and at least
        // `MIN_BLOCK` bytes long: room for the marker and the next pointer.
        unsafe {
            block.cast::<u32>().as_ptr().write(0);
            next_slot(block).write(c.free);
        }
        c.free = Some(block);
    }

    /// The blocks in use: every block carved from a chunk whose first `u32`
    /// is not zero (see the module doc), in address order per chunk. Blocks
    /// freed on other threads and not reclaimed yet are among them: their
    /// owner tells them apart by their contents.
    pub(crate) fn used_blocks(&self, shared: &SlabShared) -> Vec<NonNull<u8>> {
        let chunks = shared.chunks.lock().unwrap_or_else(|e| e.into_inner());
        let mut used = Vec::new();
        for &(chunk, layout, class) in chunks.iter() {
            let size = block_size(class);
            let start = chunk.as_ptr() as usize;
            let c = &self.classes[class as usize];
            // The chunk the class carves from now is carved up to its bump;
            // an older one as far as whole blocks fit.
            let carved = if c.end == start + layout.size() {
                c.bump - start
            } else {
                layout.size() / size * size
            };
            for offset in (0..carved).step_by(size) {
                // SAFETY: `offset` is inside the chunk (which lives as long
                // as `shared`), at a carved block: its first four bytes were
                // written, by the task that used it or by `free`. Reads and
                // writes of blocks happen on the loop thread, except that a
                // block freed elsewhere is only read there.
                let block = unsafe { NonNull::new_unchecked(chunk.as_ptr().add(offset)) };
                // SAFETY: as above.
                if unsafe { block.cast::<u32>().as_ptr().read() } != 0 {
                    used.push(block);
                }
            }
        }
        used
    }

    /// Takes back the blocks freed away from the loop.
    pub(crate) fn reclaim(&mut self, shared: &SlabShared) {
        // A plain load first: this runs every turn, and a swap would be a
        // locked instruction each time.
        if !shared.remote_pending.load(Ordering::Relaxed)
            || !shared.remote_pending.swap(false, Ordering::Acquire)
        {
            return;
        }
        let blocks = std::mem::take(&mut *shared.remote.lock().unwrap_or_else(|e| e.into_inner()));
        for (class, block) in blocks {
            // SAFETY: a remote free hands over a block of this slab.
            unsafe { self.free(class, block) };
        }
    }
}

/// Where a free block keeps its next pointer.
fn next_slot(block: NonNull<u8>) -> *mut Option<NonNull<u8>> {
    block.as_ptr().wrapping_add(NEXT_OFFSET).cast()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classes_round_up_to_granules() {
        let l = |s, a| Layout::from_size_align(s, a).unwrap();
        assert_eq!(class_of(l(1, 1)), Some(1), "blocks are at least 16 bytes");
        assert_eq!(class_of(l(8, 8)), Some(1));
        assert_eq!(class_of(l(16, 8)), Some(1));
        assert_eq!(class_of(l(17, 8)), Some(2));
        assert_eq!(class_of(l(104, 8)), Some(12));
        assert_eq!(class_of(l(512, 8)), Some(63));
        assert_eq!(class_of(l(513, 8)), None);
        assert_eq!(class_of(l(64, 16)), None);
    }

    #[test]
    fn blocks_are_distinct_reused_and_reclaimed() {
        let shared = SlabShared::new();
        let mut slab = TaskSlab::new();
        let mut blocks: Vec<NonNull<u8>> = (0..10_000)
            .map(|_| slab.alloc(&shared, 5).unwrap())
            .collect();
        let mut addrs: Vec<usize> = blocks.iter().map(|b| b.as_ptr() as usize).collect();
        addrs.sort();
        addrs.dedup();
        assert_eq!(addrs.len(), 10_000);
        assert!(addrs.windows(2).all(|w| w[1] - w[0] >= block_size(5)));
        let b = blocks.pop().unwrap();
        // SAFETY: `b` came from this slab and is not used.
        unsafe { slab.free(5, b) };
        assert_eq!(
            slab.alloc(&shared, 5),
            Some(b),
            "freed blocks come back first"
        );
        let c = blocks.pop().unwrap();
        shared.free_remote(5, c);
        slab.reclaim(&shared);
        assert_eq!(
            slab.alloc(&shared, 5),
            Some(c),
            "remote frees are reclaimed"
        );
    }

    #[test]
    fn used_blocks_are_the_carved_blocks_not_freed() {
        let shared = SlabShared::new();
        let mut slab = TaskSlab::new();
        // Enough blocks of class 6 (56 bytes) to fill the first chunks, and a
        // few of another class in between.
        let mut blocks = Vec::new();
        for i in 0..5_000 {
            let class = if i % 1000 == 0 { 3 } else { 6 };
            let block = slab.alloc(&shared, class).unwrap();
            // SAFETY: a fresh block of at least 16 bytes: what a user of the
            // slab does first, write a non-zero first word.
            unsafe { block.cast::<u32>().as_ptr().write(1) };
            blocks.push((class, block));
        }
        let mut expect: Vec<usize> = blocks.iter().map(|(_, b)| b.as_ptr() as usize).collect();
        let used = |slab: &TaskSlab| {
            let mut v: Vec<usize> = slab
                .used_blocks(&shared)
                .iter()
                .map(|b| b.as_ptr() as usize)
                .collect();
            v.sort();
            v
        };
        expect.sort();
        assert_eq!(used(&slab), expect);
        let mut kept = Vec::new();
        for (i, (class, block)) in blocks.into_iter().enumerate() {
            if i % 2 == 0 {
                // SAFETY: the block came from this slab and is not used.
                unsafe { slab.free(class, block) };
            } else {
                kept.push(block.as_ptr() as usize);
            }
        }
        kept.sort();
        assert_eq!(used(&slab), kept, "freed blocks are not in use");
        let reused = slab.alloc(&shared, 6).unwrap();
        // SAFETY: as above.
        unsafe { reused.cast::<u32>().as_ptr().write(1) };
        assert_eq!(
            used(&slab).len(),
            kept.len() + 1,
            "a reused block is in use again"
        );
    }
}
