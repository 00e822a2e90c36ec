//! tokio-console support (feature `console`): an instrument that turns the
//! loop's hooks into the `tracing` spans and events tokio's own task
//! instrumentation emits under `--cfg tokio_unstable`, so that
//! `console-subscriber` (and through it `tokio-console`) sees boucle's
//! tasks as it sees tokio's. Installed by
//! [`Builder::console`](crate::Builder::console), which documents the
//! set-up.
//!
//! What console-subscriber recognises, and what this module emits:
//!
//! | console-subscriber looks for               | boucle emits it at                        |
//! |--------------------------------------------|-------------------------------------------|
//! | a span named `runtime.spawn`               | `task_spawned`: one span per task, target `tokio::task`, no parent, fields `kind`, `task.name`, `task.id`, `loc.file`, `loc.line`, `loc.col` |
//! | that span entered / exited (poll stats)    | `poll_start` / `poll_end`                 |
//! | that span closed (task dropped)            | `task_exited` (the span is dropped)       |
//! | events of target `tokio::task::waker`, fields `op` and `task.id` (the *span's* id) | `task_scheduled` (a wake), `poll_end` (a waker held) and `task_exited` (released) |
//!
//! A wake is a `waker.wake_by_ref` when the task wakes itself during its
//! own poll (a yield) and a `waker.wake` otherwise. boucle's `Waker` has no
//! hooks (a clone is an atomic increment, on any thread), so the
//! `waker.clone` / `waker.drop` events are a model, not a count of `Waker`
//! values: a poll that returns without having woken its task emits one
//! `waker.clone` (the task now waits for a wake), and the wake that ends the
//! wait, by value, releases it (console counts a wake by value as a drop),
//! as does the task's end. console's "wakers" column is therefore 1 for a
//! waiting task and 0 otherwise, and its "lost waker" warning does not fire
//! for waiting boucle tasks (it could not catch a really lost waker either).
//! A wake of a task that is already runnable is coalesced by the loop and
//! not reported, so "wakes" counts the times a task was made runnable.

use std::cell::RefCell;
use std::collections::HashMap;
use std::time::Duration;

use tracing::span::EnteredSpan;
use tracing::Span;

use super::instrument::{Exited, Instrument, Spawned, WokenBy};
use crate::task::TaskId;

/// The `kind` field of every task span: boucle's tasks are tokio's
/// `spawn_local` tasks (`!Send`, on the thread of their loop).
const KIND: &str = "local";

/// The instrument behind `Builder::console(true)`.
#[derive(Default)]
pub(crate) struct Console {
    tasks: RefCell<HashMap<TaskId, Live>>,
}

/// A live task's span, and the waker model above.
struct Live {
    span: SpanState,
    /// The span's id as the waker events carry it.
    id: u64,
    /// The task waits for a wake: a `waker.clone` was emitted and not yet
    /// released.
    holds_waker: bool,
    /// The task was woken during its current poll.
    woke_itself: bool,
}

/// A span is entered only for the length of a poll; `EnteredSpan` holds
/// the entry across the two hooks.
enum SpanState {
    Idle(Span),
    Polling(EnteredSpan),
    /// Only while a hook moves the span between the two states.
    Moving,
}

/// One event of target `tokio::task::waker`, for the task whose span id is
/// `id`.
fn waker_op(op: &'static str, id: u64) {
    tracing::trace!(target: "tokio::task::waker", op = op, task.id = id);
}

impl Instrument for Console {
    fn task_spawned(&self, s: &Spawned<'_>, _at: Duration) {
        let span = tracing::trace_span!(
            target: "tokio::task",
            parent: None,
            "runtime.spawn",
            kind = %KIND,
            task.name = %s.name.unwrap_or_default(),
            task.id = s.task.as_u64(),
            loc.file = s.location.file(),
            loc.line = s.location.line(),
            loc.col = s.location.column(),
        );
        // No subscriber wants it: keep nothing, so later hooks are a
        // failed lookup.
        let Some(id) = span.id() else { return };
        self.tasks.borrow_mut().insert(
            s.task,
            Live {
                span: SpanState::Idle(span),
                id: id.into_u64(),
                holds_waker: false,
                woke_itself: false,
            },
        );
    }

    fn task_scheduled(&self, task: TaskId, by: WokenBy, _at: Duration) {
        // tokio's spawn schedules without a waker: no event.
        if by == WokenBy::Spawn {
            return;
        }
        let op = {
            let mut tasks = self.tasks.borrow_mut();
            let Some(live) = tasks.get_mut(&task) else {
                return;
            };
            let op = if matches!(live.span, SpanState::Polling(_)) {
                live.woke_itself = true;
                "waker.wake_by_ref"
            } else if live.holds_waker {
                live.holds_waker = false;
                "waker.wake"
            } else {
                "waker.wake_by_ref"
            };
            (op, live.id)
        };
        // Emitted with the map released: a subscriber may do anything.
        waker_op(op.0, op.1);
    }

    fn poll_start(&self, task: TaskId, _at: Duration) {
        let mut tasks = self.tasks.borrow_mut();
        let Some(live) = tasks.get_mut(&task) else {
            return;
        };
        live.woke_itself = false;
        live.span = match std::mem::replace(&mut live.span, SpanState::Moving) {
            SpanState::Idle(span) => SpanState::Polling(span.entered()),
            other => other,
        };
    }

    fn poll_end(&self, task: TaskId, _at: Duration, _busy: Duration) {
        let clone = {
            let mut tasks = self.tasks.borrow_mut();
            let Some(live) = tasks.get_mut(&task) else {
                return;
            };
            live.span = match std::mem::replace(&mut live.span, SpanState::Moving) {
                SpanState::Polling(entered) => SpanState::Idle(entered.exit()),
                other => other,
            };
            let clone = !live.woke_itself && !live.holds_waker;
            live.holds_waker |= clone;
            clone.then_some(live.id)
        };
        if let Some(id) = clone {
            waker_op("waker.clone", id);
        }
    }

    fn task_exited(&self, task: TaskId, _exited: Exited, _at: Duration) {
        // Take it out first: dropping the span closes it, and the
        // subscriber must not find it in the map again.
        let live = self.tasks.borrow_mut().remove(&task);
        if let Some(live) = live {
            if live.holds_waker {
                waker_op("waker.drop", live.id);
            }
        }
    }
}
