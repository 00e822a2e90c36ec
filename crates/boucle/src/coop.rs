//! Cooperative budget: a task that keeps finding its futures ready (a full
//! queue, finished handles) still yields to the loop now and then, so one
//! task cannot starve timers and I/O. Each turn of a task gets `BUDGET`
//! ready operations; leaf futures of boucle spend one each and return
//! `Pending` (after waking the task) when it is spent.

use std::cell::Cell;
use std::task::{Context, Poll};

const BUDGET: u32 = 128;

thread_local! {
    static LEFT: Cell<u32> = const { Cell::new(BUDGET) };
}

/// Gives the next task turn a full budget.
pub(crate) fn reset() {
    LEFT.with(|l| l.set(BUDGET));
}

/// Spends one unit; `Pending` (with a self-wake) when none is left.
#[inline]
pub(crate) fn poll_proceed(cx: &mut Context<'_>) -> Poll<()> {
    let left = LEFT.with(|l| {
        let v = l.get();
        if v > 0 {
            l.set(v - 1);
        }
        v
    });
    if left == 0 {
        cx.waker().wake_by_ref();
        Poll::Pending
    } else {
        Poll::Ready(())
    }
}
