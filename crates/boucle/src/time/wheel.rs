//! The timer wheel: pure data on integer ticks (nanoseconds of loop time).
//!
//! Eleven levels of 64 slots; level `l` slot `s` covers deadlines whose bits
//! `6l..6l+6` equal `s` and whose higher bits equal the wheel's `elapsed`.
//! Level 0 slots are one tick wide, so every entry in one holds the same
//! deadline. An entry sits at the level of the highest bit where its deadline
//! differs from `elapsed`, so the lowest occupied level's first slot holds the
//! earliest deadlines.
//!
//! Expiry takes whole slots: entries already due fire, sorted by
//! `(deadline, sequence)`, the rest drop to a lower level. Each entry moves
//! at most once per level, so insert, cancel and expiry are O(1) amortised,
//! and the firing order is exact: deadline order, ties in insertion order.
//! Only the slot that fires is sorted, and it is usually small or sorted.
//!
//! Entries live in a slab owned by the wheel (index + generation keys).
//! DESIGN.md asks for entries intrusive in the waiting future; a slab gives
//! the same O(1) insert/cancel and no allocation in steady state (slots are
//! reused) while keeping `unsafe` confined to task memory, as the project's
//! standards require.

const LEVELS: usize = 11;
const SLOT_BITS: u32 = 6;
const SLOTS: usize = 1 << SLOT_BITS;
const NIL: u32 = u32::MAX;
/// `Entry::place` value for entries in the `expired` list.
const EXPIRED_PLACE: u16 = (LEVELS * SLOTS) as u16;
/// `Entry::place` value for free slab entries.
const FREE_PLACE: u16 = EXPIRED_PLACE + 1;

/// Identifies a timer in the wheel. Stale keys (the timer fired or was
/// removed, and the slab entry reused) are detected by the generation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct TimerKey {
    index: u32,
    generation: u32,
}

struct Entry<W> {
    deadline: u64,
    seq: u64,
    prev: u32,
    next: u32,
    generation: u32,
    place: u16,
    payload: Option<W>,
}

pub(crate) struct Wheel<W> {
    elapsed: u64,
    next_seq: u64,
    heads: Box<[u32; LEVELS * SLOTS + 1]>,
    occupied: [u64; LEVELS],
    entries: Vec<Entry<W>>,
    free: u32,
    len: usize,
    /// Scratch space for expiry, kept to avoid allocating per call.
    scratch: Vec<(u64, u64, u32)>,
}

impl<W> Default for Wheel<W> {
    fn default() -> Self {
        Self::new()
    }
}

impl<W> Wheel<W> {
    pub(crate) fn new() -> Wheel<W> {
        Wheel {
            elapsed: 0,
            next_seq: 0,
            heads: Box::new([NIL; LEVELS * SLOTS + 1]),
            occupied: [0; LEVELS],
            entries: Vec::new(),
            free: NIL,
            len: 0,
            scratch: Vec::new(),
        }
    }

    /// Number of armed timers.
    pub(crate) fn len(&self) -> usize {
        self.len
    }

    /// The time up to which the wheel has been advanced.
    #[cfg(test)]
    pub(crate) fn elapsed(&self) -> u64 {
        self.elapsed
    }

    /// Arms a timer. A deadline at or before `elapsed` fires at the next
    /// `advance`.
    pub(crate) fn insert(&mut self, deadline: u64, payload: W) -> TimerKey {
        let index = if self.free != NIL {
            let i = self.free;
            self.free = self.entries[i as usize].next;
            i
        } else {
            let i = u32::try_from(self.entries.len())
                .ok()
                .filter(|&i| i != NIL)
                .expect("boucle: more than 4 billion timers armed at once");
            self.entries.push(Entry {
                deadline: 0,
                seq: 0,
                prev: NIL,
                next: NIL,
                generation: 0,
                place: FREE_PLACE,
                payload: None,
            });
            i
        };
        let seq = self.next_seq;
        self.next_seq += 1;
        let e = &mut self.entries[index as usize];
        e.deadline = deadline;
        e.seq = seq;
        e.payload = Some(payload);
        let generation = e.generation;
        self.len += 1;
        self.link(index);
        TimerKey { index, generation }
    }

    /// Disarms a timer; returns its payload if it was still armed.
    pub(crate) fn remove(&mut self, key: TimerKey) -> Option<W> {
        if !self.is_armed(key) {
            return None;
        }
        self.unlink(key.index);
        Some(self.free_entry(key.index))
    }

    /// Whether `key` names a timer that has neither fired nor been removed.
    pub(crate) fn is_armed(&self, key: TimerKey) -> bool {
        self.entries
            .get(key.index as usize)
            .is_some_and(|e| e.generation == key.generation && e.place != FREE_PLACE)
    }

    /// The payload of an armed timer, to refresh it.
    pub(crate) fn payload_mut(&mut self, key: TimerKey) -> Option<&mut W> {
        if !self.is_armed(key) {
            return None;
        }
        self.entries[key.index as usize].payload.as_mut()
    }

    /// A time at which `advance` has work to do: the exact earliest deadline
    /// when it sits in level 0 (or the expired list), else the start of the
    /// slot holding it (a lower bound; advancing there cascades the slot).
    pub(crate) fn next_wake(&self) -> Option<u64> {
        if self.heads[EXPIRED_PLACE as usize] != NIL {
            return Some(self.elapsed);
        }
        self.next_slot().map(|(_, _, start)| start)
    }

    /// Fires every timer with `deadline <= now`, pushing payloads to `out` in
    /// deadline order (ties in insertion order), and moves `elapsed` to `now`.
    pub(crate) fn advance(&mut self, now: u64, out: &mut Vec<W>) {
        if now < self.elapsed {
            return;
        }
        // The expired list first: its deadlines are <= elapsed <= the rest.
        self.take_list(EXPIRED_PLACE as usize, now, out);
        while let Some((level, slot, start)) = self.next_slot() {
            if start > now {
                break;
            }
            self.elapsed = self.elapsed.max(start);
            self.take_list(level * SLOTS + slot, now, out);
        }
        self.elapsed = now;
    }

    /// Removes every timer, returning their payloads (shutdown).
    pub(crate) fn drain(&mut self) -> Vec<W> {
        let mut out = Vec::with_capacity(self.len);
        for i in 0..self.entries.len() {
            if self.entries[i].place != FREE_PLACE {
                self.unlink(i as u32);
                out.push(self.free_entry(i as u32));
            }
        }
        out
    }

    /// Takes the whole list at `place`: due entries are pushed to `out` in
    /// order, the others re-linked relative to the current `elapsed`.
    fn take_list(&mut self, place: usize, now: u64, out: &mut Vec<W>) {
        let mut i = self.heads[place];
        if i == NIL {
            return;
        }
        self.heads[place] = NIL;
        if place < LEVELS * SLOTS {
            self.occupied[place / SLOTS] &= !(1u64 << (place % SLOTS));
        }
        let mut due = std::mem::take(&mut self.scratch);
        while i != NIL {
            let e = &mut self.entries[i as usize];
            let next = e.next;
            e.prev = NIL;
            e.next = NIL;
            if e.deadline <= now {
                due.push((e.deadline, e.seq, i));
            } else {
                self.link(i);
            }
            i = next;
        }
        due.sort_unstable();
        for &(_, _, index) in &due {
            out.push(self.free_entry(index));
        }
        due.clear();
        self.scratch = due;
    }

    /// The first occupied slot at the lowest occupied level, with its start.
    fn next_slot(&self) -> Option<(usize, usize, u64)> {
        for level in 0..LEVELS {
            let occupied = self.occupied[level];
            if occupied == 0 {
                continue;
            }
            let shift = SLOT_BITS * level as u32;
            let current = ((self.elapsed >> shift) & (SLOTS as u64 - 1)) as u32;
            // Entries of this level sit at or after the current slot.
            let masked = occupied & (u64::MAX << current);
            debug_assert!(masked != 0, "timer wheel entry behind elapsed");
            let slot = masked.trailing_zeros() as usize;
            let span_bits = shift + SLOT_BITS;
            let high = if span_bits >= 64 {
                0
            } else {
                self.elapsed & !((1u64 << span_bits) - 1)
            };
            return Some((level, slot, high | ((slot as u64) << shift)));
        }
        None
    }

    fn place_for(&self, deadline: u64) -> usize {
        if deadline <= self.elapsed {
            return EXPIRED_PLACE as usize;
        }
        let masked = (self.elapsed ^ deadline) | (SLOTS as u64 - 1);
        let significant = 63 - masked.leading_zeros();
        let level = (significant / SLOT_BITS) as usize;
        let slot = ((deadline >> (SLOT_BITS * level as u32)) & (SLOTS as u64 - 1)) as usize;
        level * SLOTS + slot
    }

    fn link(&mut self, index: u32) {
        let place = self.place_for(self.entries[index as usize].deadline);
        let head = self.heads[place];
        {
            let e = &mut self.entries[index as usize];
            e.place = place as u16;
            e.prev = NIL;
            e.next = head;
        }
        if head != NIL {
            self.entries[head as usize].prev = index;
        }
        self.heads[place] = index;
        if place < LEVELS * SLOTS {
            self.occupied[place / SLOTS] |= 1u64 << (place % SLOTS);
        }
    }

    fn unlink(&mut self, index: u32) {
        let (prev, next, place) = {
            let e = &self.entries[index as usize];
            (e.prev, e.next, e.place as usize)
        };
        if prev != NIL {
            self.entries[prev as usize].next = next;
        } else {
            self.heads[place] = next;
            if next == NIL && place < LEVELS * SLOTS {
                self.occupied[place / SLOTS] &= !(1u64 << (place % SLOTS));
            }
        }
        if next != NIL {
            self.entries[next as usize].prev = prev;
        }
    }

    /// Returns an (unlinked) entry to the free list and its payload.
    fn free_entry(&mut self, index: u32) -> W {
        self.len -= 1;
        let free = self.free;
        let e = &mut self.entries[index as usize];
        e.generation = e.generation.wrapping_add(1);
        e.place = FREE_PLACE;
        e.prev = NIL;
        e.next = free;
        self.free = index;
        e.payload.take().expect("armed timer has a payload")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::collections::BTreeMap;

    #[test]
    fn fires_in_deadline_then_insertion_order() {
        let mut w = Wheel::new();
        w.insert(50, "c");
        w.insert(10, "a");
        w.insert(50, "d");
        w.insert(10, "b");
        w.insert(1 << 40, "z");
        let mut out = Vec::new();
        w.advance(49, &mut out);
        assert_eq!(out, ["a", "b"]);
        out.clear();
        w.advance(50, &mut out);
        assert_eq!(out, ["c", "d"]);
        assert_eq!(w.len(), 1);
        out.clear();
        w.advance(u64::MAX, &mut out);
        assert_eq!(out, ["z"]);
    }

    #[test]
    fn never_fires_early() {
        let mut w = Wheel::new();
        w.insert(1_000_000_007, ());
        let mut out = Vec::new();
        let mut t = 0;
        while out.is_empty() {
            let wake = w.next_wake().unwrap();
            assert!(wake > t || wake == w.elapsed());
            t = wake;
            w.advance(t, &mut out);
            if out.is_empty() {
                assert!(t < 1_000_000_007);
            }
        }
        assert_eq!(t, 1_000_000_007);
    }

    #[test]
    fn removed_and_stale_keys() {
        let mut w = Wheel::new();
        let a = w.insert(100, 1);
        let b = w.insert(100, 2);
        assert_eq!(w.remove(a), Some(1));
        assert_eq!(w.remove(a), None);
        let mut out = Vec::new();
        w.advance(100, &mut out);
        assert_eq!(out, [2]);
        assert!(!w.is_armed(b));
        let c = w.insert(200, 3);
        assert_eq!(c.index, b.index, "slab entries are reused");
        assert_eq!(w.remove(b), None, "a stale key cannot remove the new timer");
        assert!(w.is_armed(c));
    }

    #[derive(Debug, Clone)]
    enum Op {
        Insert(u64),
        Remove(usize),
        Advance(u64),
    }

    fn op() -> impl Strategy<Value = Op> {
        prop_oneof![
            4 => prop_oneof![0u64..200, 0u64..100_000, 0u64..(1 << 40), Just(u64::MAX / 2)]
                .prop_map(Op::Insert),
            1 => any::<usize>().prop_map(Op::Remove),
            2 => prop_oneof![0u64..300, 0u64..200_000, 0u64..(1 << 41)].prop_map(Op::Advance),
        ]
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(512))]
        /// The wheel fires exactly what a BTreeMap ordered by
        /// (deadline, insertion) fires, in the same order.
        #[test]
        fn matches_btreemap_model(ops in proptest::collection::vec(op(), 1..300)) {
            let mut wheel = Wheel::new();
            let mut model: BTreeMap<(u64, u64), u64> = BTreeMap::new();
            let mut keys: Vec<(TimerKey, (u64, u64))> = Vec::new();
            let mut now = 0u64;
            let mut id = 0u64;
            for op in ops {
                match op {
                    Op::Insert(delta) => {
                        let deadline = now.saturating_add(delta);
                        let key = wheel.insert(deadline, id);
                        model.insert((deadline, id), id);
                        keys.push((key, (deadline, id)));
                        id += 1;
                    }
                    Op::Remove(i) if !keys.is_empty() => {
                        let (key, mk) = keys.swap_remove(i % keys.len());
                        prop_assert_eq!(wheel.remove(key), model.remove(&mk));
                    }
                    Op::Remove(_) => {}
                    Op::Advance(delta) => {
                        now = now.saturating_add(delta);
                        let mut out = Vec::new();
                        wheel.advance(now, &mut out);
                        let due: Vec<(u64, u64)> =
                            model.range(..=(now, u64::MAX)).map(|(k, _)| *k).collect();
                        let expected: Vec<u64> = due.iter().map(|k| model.remove(k).unwrap()).collect();
                        prop_assert_eq!(out, expected);
                        if let Some(wake) = wheel.next_wake() {
                            let first = model.keys().next().unwrap().0;
                            prop_assert!(wake <= first, "next_wake {} after first deadline {}", wake, first);
                            prop_assert!(wake > now || first <= now);
                        } else {
                            prop_assert!(model.is_empty());
                        }
                    }
                }
                prop_assert_eq!(wheel.len(), model.len());
            }
        }
    }
}
