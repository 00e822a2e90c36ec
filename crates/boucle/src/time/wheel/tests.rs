//! The wheel against a model: exact order, never early, stale keys, and
//! the staging of cascades.

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
    Stage(usize),
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        4 => prop_oneof![0u64..200, 0u64..100_000, 0u64..(1 << 40), Just(u64::MAX / 2)]
            .prop_map(Op::Insert),
        1 => any::<usize>().prop_map(Op::Remove),
        2 => prop_oneof![0u64..300, 0u64..200_000, 0u64..(1 << 41)].prop_map(Op::Advance),
        2 => prop_oneof![1usize..4, 1usize..1000].prop_map(Op::Stage),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(1024))]
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
                Op::Stage(budget) => {
                    wheel.stage(budget);
                }
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

/// 10^5 timers due in 1 to 3 s: the loop's way through them (stage while
/// waiting, then advance to the next wake) fires them all, in order, and no
/// single advance re-places more than a small share of them.
#[test]
fn staged_cascades_are_small_and_exact() {
    let mut w: Wheel<u64> = Wheel::new();
    let start = 7_123_456_789u64;
    w.advance(start, &mut Vec::new());
    let mut rng = 0x2545_f491_4f6c_dd1du64;
    let mut deadlines = Vec::new();
    for i in 0..100_000u64 {
        rng ^= rng << 13;
        rng ^= rng >> 7;
        rng ^= rng << 17;
        let d = start + 1_000_000_000 + rng % 2_000_000_000;
        w.insert(d, i);
        deadlines.push((d, i));
    }
    deadlines.sort();
    let mut fired = Vec::new();
    let mut worst = 0;
    let mut out = Vec::new();
    let mut now = start;
    while w.len() > 0 {
        // As the time driver does: stage while waiting (a third of the
        // wait, at least one step of 16 entries, at most 50 us: counted
        // here at 200 ns an entry), and wake at least every 250 us while
        // staging work is left.
        let next = w.next_wake().unwrap();
        let budget = (next.saturating_sub(now) / 3 / 200).clamp(16, 250) as usize;
        let more = w.stage(budget);
        let wake = if more { next.min(now + 250_000) } else { next };
        now = now.max(wake);
        let before = w.relinked;
        w.advance(now, &mut out);
        worst = worst.max(w.relinked - before);
        for id in out.drain(..) {
            fired.push((now, id));
        }
    }
    let order: Vec<u64> = fired.iter().map(|&(_, id)| id).collect();
    let expected: Vec<u64> = deadlines.iter().map(|&(_, id)| id).collect();
    assert!(order == expected, "fired out of deadline order");
    for (&(at, _), &(d, _)) in fired.iter().zip(&deadlines) {
        assert_eq!(at, d, "a timer fired at {at}, its deadline {d}");
    }
    // Without staging the largest cascade re-places 23,506 of them; with
    // it, the worst is the first sub-slot of the top slot (884 here).
    assert!(worst < 1_500, "one advance re-placed {worst} entries");
}

#[test]
fn without_staging_a_cascade_is_large() {
    // The measure of the test above, checked to be able to fail.
    let mut w: Wheel<u64> = Wheel::new();
    w.advance(7_123_456_789, &mut Vec::new());
    for i in 0..10_000u64 {
        w.insert(8_200_000_000 + i * 100_000, i);
    }
    let mut worst = 0;
    let mut out = Vec::new();
    while w.len() > 0 {
        let wake = w.next_wake().unwrap();
        let before = w.relinked;
        w.advance(wake, &mut out);
        worst = worst.max(w.relinked - before);
        out.clear();
    }
    assert!(worst >= 5_000, "{worst}");
}

#[test]
fn an_earlier_slot_unstages_a_later_one() {
    let mut w: Wheel<&str> = Wheel::new();
    // Two level-3 slots apart; stage the first, then arm one earlier.
    w.insert(3 << 18 | 5, "late");
    w.stage(10);
    w.insert(1 << 18 | 7, "early");
    let mut out = Vec::new();
    w.advance(1 << 18 | 7, &mut out);
    assert_eq!(out, ["early"]);
    w.advance((3 << 18 | 5) - 1, &mut out);
    assert_eq!(out, ["early"]);
    w.advance(3 << 18 | 5, &mut out);
    assert_eq!(out, ["early", "late"]);
    assert_eq!(w.len(), 0);
}
