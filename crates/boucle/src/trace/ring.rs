//! `Ring`: the recorder's fixed-capacity ring buffer, for its records and
//! their side entries (payloads, spawn details).

/// A fixed-capacity ring: the oldest element is overwritten once it is
/// full, so the `n`th element pushed sits at `n % capacity`.
pub(super) struct Ring<T> {
    pub(super) buf: Vec<T>,
    capacity: usize,
    /// Index of the oldest element once the ring has wrapped.
    head: usize,
    /// Elements pushed so far, kept or not.
    pub(super) pushed: u64,
}

impl<T> Ring<T> {
    pub(super) fn new(capacity: usize) -> Ring<T> {
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
    pub(super) fn push(&mut self, x: T) {
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
    pub(super) fn get(&self, n: u64) -> Option<&T> {
        if n >= self.pushed || self.pushed - n > self.capacity as u64 {
            return None;
        }
        self.buf.get((n % self.capacity as u64) as usize)
    }

    /// Oldest first.
    pub(super) fn iter(&self) -> impl Iterator<Item = &T> {
        let (old, new) = self.buf.split_at(self.head);
        new.iter().chain(old)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
}
