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
//! Cascades are staged ahead. A slot of a high level can hold most of the
//! armed timers (10^5 sleeps of 1 to 3 s share one level-5 slot), and
//! redistributing it in one go held the loop for most of a millisecond,
//! making every timer due meanwhile late: the tail of the lateness. So each
//! level below the top has two banks of slots: the live one, and a staging
//! one that [`Wheel::stage`] fills, a few entries at a time while the loop
//! is idle anyway, with the entries of the next slot of the level above,
//! already sorted into the slots they will take. When that slot's time
//! comes, the banks swap in O(1), and only its first sub-slot's entries
//! (those that belong lower still) are placed one by one.
//!
//! Entries live in a slab owned by the wheel (index + generation keys).
//! DESIGN.md asks for entries intrusive in the waiting future; a slab gives
//! the same O(1) insert/cancel and no allocation in steady state (slots are
//! reused) while keeping `unsafe` confined to task memory, as the project's
//! standards require.

const LEVELS: usize = 11;
const SLOT_BITS: u32 = 6;
const SLOTS: usize = 1 << SLOT_BITS;
/// Slot lists: two banks of `SLOTS` per level.
const LISTS: usize = LEVELS * 2 * SLOTS;
const NIL: u32 = u32::MAX;
/// `Entry::place` value for entries in the `expired` list.
const EXPIRED_PLACE: u16 = LISTS as u16;
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

/// A staging bank in use: which slot of the level above it holds entries
/// for, and how many.
#[derive(Clone, Copy, Debug)]
struct Staged {
    from_slot: usize,
    count: usize,
}

pub(crate) struct Wheel<W> {
    elapsed: u64,
    next_seq: u64,
    /// List heads by place: `(level * 2 + bank) * SLOTS + slot`, then the
    /// expired list.
    heads: Box<[u32; LISTS + 1]>,
    /// Non-empty lists, a bit per slot, by level and bank.
    occupied: [[u64; 2]; LEVELS],
    /// The live bank of each level; the other one stages.
    live: [usize; LEVELS],
    /// The staging bank of each level, when it holds entries.
    staged: [Option<Staged>; LEVELS],
    entries: Vec<Entry<W>>,
    free: u32,
    len: usize,
    /// Scratch space for expiry, kept to avoid allocating per call.
    scratch: Vec<(u64, u64, u32)>,
    /// Entries re-placed by `take_list` so far (the cost of cascades).
    #[cfg(test)]
    relinked: usize,
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
            heads: Box::new([NIL; LISTS + 1]),
            occupied: [[0; 2]; LEVELS],
            live: [0; LEVELS],
            staged: [None; LEVELS],
            entries: Vec::new(),
            free: NIL,
            len: 0,
            scratch: Vec::new(),
            #[cfg(test)]
            relinked: 0,
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
            if level > 0 {
                self.swap_banks(level - 1, slot, start, now);
            }
            self.take_list(list(level, self.live[level], slot), now, out);
        }
        self.elapsed = now;
    }

    /// Sorts up to `budget` entries of the next slots to cascade into the
    /// staging banks below them (see the module docs); returns whether
    /// entries are left to stage. Call it when the loop is about to wait
    /// anyway; it never changes what fires or when.
    pub(crate) fn stage(&mut self, mut budget: usize) -> bool {
        // Level 1 slots are 64 ns wide: nothing there is worth staging.
        for level in 2..LEVELS {
            let bank = self.live[level];
            let shift = SLOT_BITS * level as u32;
            let current = ((self.elapsed >> shift) & (SLOTS as u64 - 1)) as u32;
            let ahead = self.occupied[level][bank] & (u64::MAX << current);
            if ahead == 0 {
                continue;
            }
            let slot = ahead.trailing_zeros() as usize;
            let below = level - 1;
            if self.staged[below].is_some_and(|st| st.from_slot != slot) {
                // The staging bank below holds a later slot: this one, armed
                // since and earlier, cascades first and unstages it then.
                continue;
            }
            if budget == 0 {
                return true;
            }
            let staging = 1 - self.live[below];
            let from = list(level, bank, slot);
            let below_shift = SLOT_BITS * below as u32;
            let mut moved = 0;
            while budget > 0 && self.heads[from] != NIL {
                let i = self.heads[from];
                self.unlink(i);
                let deadline = self.entries[i as usize].deadline;
                let sub = ((deadline >> below_shift) & (SLOTS as u64 - 1)) as usize;
                self.push_front(i, list(below, staging, sub));
                moved += 1;
                budget -= 1;
            }
            if moved > 0 {
                let st = self.staged[below].get_or_insert(Staged {
                    from_slot: slot,
                    count: 0,
                });
                st.count += moved;
            }
            if self.heads[from] != NIL {
                return true;
            }
        }
        false
    }

    /// Before level `below + 1` cascades `slot` (which starts at `start`,
    /// now `elapsed`), advancing to `now`: its staged entries become the
    /// live bank of `below`, whose live bank is empty (nothing lower than
    /// the cascading level is left). Only the first sub-slot's entries go
    /// back to the cascading slot, to be placed lower with the rest of it.
    /// When `now` is already past that first sub-slot (a jump), everything
    /// staged goes back, so that the cascade fires what is due in one
    /// sorted batch. Entries staged for another slot go back up to it.
    fn swap_banks(&mut self, below: usize, slot: usize, start: u64, now: u64) {
        let Some(st) = self.staged[below].take() else {
            return;
        };
        let up = list(below + 1, self.live[below + 1], st.from_slot);
        let first_ends = start.saturating_add(1u64 << (SLOT_BITS * below as u32));
        let staging = 1 - self.live[below];
        let back = if st.from_slot == slot && now < first_ends {
            debug_assert_eq!(self.occupied[below][self.live[below]], 0);
            self.live[below] = staging;
            0..1
        } else {
            0..SLOTS
        };
        for sub in back {
            let from = list(below, staging, sub);
            while self.heads[from] != NIL {
                let i = self.heads[from];
                self.unlink_list(i);
                self.push_front(i, up);
            }
        }
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
        if place < LISTS {
            self.occupied[place / (2 * SLOTS)][(place / SLOTS) % 2] &= !(1u64 << (place % SLOTS));
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
                #[cfg(test)]
                {
                    self.relinked += 1;
                }
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
    /// A slot whose entries are all staged below still counts.
    fn next_slot(&self) -> Option<(usize, usize, u64)> {
        for level in 0..LEVELS {
            let mut occupied = self.occupied[level][self.live[level]];
            if level > 0 {
                if let Some(st) = self.staged[level - 1] {
                    occupied |= 1u64 << st.from_slot;
                }
            }
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
        list(level, self.live[level], slot)
    }

    fn link(&mut self, index: u32) {
        let place = self.place_for(self.entries[index as usize].deadline);
        self.push_front(index, place);
    }

    /// Links an unlinked entry at the front of the list at `place`.
    fn push_front(&mut self, index: u32, place: usize) {
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
        if place < LISTS {
            self.occupied[place / (2 * SLOTS)][(place / SLOTS) % 2] |= 1u64 << (place % SLOTS);
        }
    }

    /// Unlinks an entry, keeping the count of a staging bank it leaves.
    fn unlink(&mut self, index: u32) {
        let place = self.entries[index as usize].place as usize;
        self.unlink_list(index);
        if place < LISTS {
            let (level, bank) = (place / (2 * SLOTS), (place / SLOTS) % 2);
            if bank != self.live[level] {
                if let Some(st) = &mut self.staged[level] {
                    st.count -= 1;
                    if st.count == 0 {
                        self.staged[level] = None;
                    }
                }
            }
        }
    }

    /// Unlinks an entry from its list (no other bookkeeping).
    fn unlink_list(&mut self, index: u32) {
        let (prev, next, place) = {
            let e = &self.entries[index as usize];
            (e.prev, e.next, e.place as usize)
        };
        if prev != NIL {
            self.entries[prev as usize].next = next;
        } else {
            self.heads[place] = next;
            if next == NIL && place < LISTS {
                self.occupied[place / (2 * SLOTS)][(place / SLOTS) % 2] &=
                    !(1u64 << (place % SLOTS));
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

/// The place of slot `slot` of bank `bank` at `level`.
#[inline]
fn list(level: usize, bank: usize, slot: usize) -> usize {
    (level * 2 + bank) * SLOTS + slot
}

#[cfg(test)]
mod tests;
