//! `loop.trace()`: the life of every asyncio Task of a traced loop, recorded
//! with boucle's recorder and drawn by its renderers (ASCII timeline,
//! Chrome trace JSON). A task is created in `create_task`; each of its
//! steps is a ready callback bound to it (`__self__` is the task), timed as
//! one poll; it ends when a step leaves it done.

use std::collections::HashMap;

use boucle::engine::{LoopClock, Recorder};
use boucle::task::TaskId;
use boucle::trace::{End, EventKind};
use pyo3::intern;
use pyo3::prelude::*;

use crate::core::LoopCore;
use pyo3::types::PyDict;

/// Loop time for trace events: a virtual clock's time, or the real clock
/// read now (so polls have lengths), on the loop's scale.
pub(crate) fn trace_now(clock: &LoopClock) -> u64 {
    if clock.is_virtual() {
        clock.now()
    } else {
        boucle::engine::monotonic_ns().saturating_sub(clock.monotonic_deadline(0))
    }
}

/// A task being polled.
pub(crate) struct Traced {
    id: TaskId,
    object: Py<PyAny>,
}

impl Traced {
    pub(crate) fn object<'py>(&self, py: Python<'py>) -> Bound<'py, PyAny> {
        self.object.bind(py).clone()
    }
}

struct Live {
    id: TaskId,
    object: Py<PyAny>,
    created: u64,
    parent: Option<TaskId>,
    /// Whether its `Created` event is recorded: that waits for the task's
    /// first step or a snapshot, since `asyncio.create_task(name=...)`
    /// names the task only after the loop made it.
    recorded: bool,
}

/// The recorder and the live traced tasks (keyed by object address; the
/// strong reference keeps the address theirs until they end).
#[derive(Default)]
pub(crate) struct TaskTrace {
    recorder: Recorder,
    live: HashMap<usize, Live>,
    next_id: u64,
    /// The task whose step is running, the parent of tasks it creates.
    current: Option<TaskId>,
}

impl TaskTrace {
    pub(crate) fn created(&mut self, now: u64, task: Py<PyAny>) {
        self.next_id += 1;
        let live = Live {
            id: boucle::engine::task_id(self.next_id),
            object: task,
            created: now,
            parent: self.current,
            recorded: false,
        };
        self.live.insert(live.object.as_ptr() as usize, live);
    }

    /// The traced task at `address`, and whether it still needs a name.
    pub(crate) fn lookup(&self, address: usize) -> Option<(Traced, bool)> {
        let live = self.live.get(&address)?;
        let object = Python::attach(|py| live.object.clone_ref(py));
        Some((
            Traced {
                id: live.id,
                object,
            },
            !live.recorded,
        ))
    }

    /// Records the `Created` event of the task at `address`.
    pub(crate) fn name(&mut self, address: usize, name: String) {
        let Some(live) = self.live.get_mut(&address) else {
            return;
        };
        if live.recorded {
            return;
        }
        live.recorded = true;
        self.recorder.record(
            live.created,
            live.id,
            EventKind::Created {
                name: Some(name.into()),
                parent: live.parent,
                location: std::panic::Location::caller(),
            },
        );
    }

    /// Tasks whose `Created` event waits for a name.
    pub(crate) fn unnamed(&self) -> Vec<Py<PyAny>> {
        Python::attach(|py| {
            self.live
                .values()
                .filter(|l| !l.recorded)
                .map(|l| l.object.clone_ref(py))
                .collect()
        })
    }

    pub(crate) fn poll_start(&mut self, now: u64, task: &Traced) {
        self.recorder.record(now, task.id, EventKind::PollStart);
        self.current = Some(task.id);
    }

    /// Returns the task's reference to drop (outside the loop's lock) when
    /// it ended.
    pub(crate) fn poll_end(
        &mut self,
        now: u64,
        task: &Traced,
        outcome: Option<End>,
    ) -> Option<Py<PyAny>> {
        self.recorder.record(now, task.id, EventKind::PollEnd);
        self.current = None;
        let kind = match outcome? {
            End::Done => EventKind::Done,
            End::Cancelled => EventKind::Cancelled,
            End::Panicked => EventKind::Panicked,
        };
        self.recorder.record(now, task.id, kind);
        let address = task.object.as_ptr() as usize;
        self.live.remove(&address).map(|l| l.object)
    }

    pub(crate) fn snapshot(&self, now: u64) -> boucle::trace::Trace {
        self.recorder.snapshot(now)
    }

    /// The live tasks' references (the loop is closing).
    pub(crate) fn release(&mut self) -> Vec<Py<PyAny>> {
        self.live.drain().map(|(_, l)| l.object).collect()
    }
}

/// The hooks the loop calls when tracing is on.
impl LoopCore {
    /// The traced task a callback steps, if any (a Task's step and wakeup
    /// callbacks are its bound methods), after recording its poll start.
    pub(crate) fn trace_poll_start(slf: &Bound<'_, Self>, callback: &Py<PyAny>) -> Option<Traced> {
        let py = slf.py();
        let owner = callback.bind(py).getattr(intern!(py, "__self__")).ok()?;
        let address = owner.as_ptr() as usize;
        let (task, unnamed) = slf.get().local().trace.as_ref()?.lookup(address)?;
        if unnamed {
            Self::trace_name(slf, &owner).ok()?;
        }
        let mut guard = slf.get().local();
        let l = &mut *guard;
        let now = trace_now(&l.clock);
        l.trace.as_mut()?.poll_start(now, &task);
        Some(task)
    }

    /// Records a traced task's creation, with its name as it is now.
    pub(crate) fn trace_name(slf: &Bound<'_, Self>, task: &Bound<'_, PyAny>) -> PyResult<()> {
        let name: String = task
            .call_method0(intern!(slf.py(), "get_name"))?
            .extract()?;
        if let Some(t) = slf.get().local().trace.as_mut() {
            t.name(task.as_ptr() as usize, name);
        }
        Ok(())
    }

    /// Records the poll's end, and the task's end if it is done.
    pub(crate) fn trace_poll_end(slf: &Bound<'_, Self>, task: Traced) -> PyResult<()> {
        let py = slf.py();
        let obj = task.object(py);
        let outcome = if obj.call_method0(intern!(py, "done"))?.is_truthy()? {
            if obj.call_method0(intern!(py, "cancelled"))?.is_truthy()? {
                Some(boucle::trace::End::Cancelled)
            } else if obj.call_method0(intern!(py, "exception"))?.is_none() {
                Some(boucle::trace::End::Done)
            } else {
                Some(boucle::trace::End::Panicked)
            }
        } else {
            None
        };
        let released = {
            let mut guard = slf.get().local();
            let l = &mut *guard;
            let now = trace_now(&l.clock);
            l.trace
                .as_mut()
                .and_then(|t| t.poll_end(now, &task, outcome))
        };
        drop(released);
        drop(task);
        Ok(())
    }
}

/// A recorded timeline (`loop.trace()`).
#[pyclass(frozen, module = "boucle._boucle")]
pub struct Trace {
    inner: boucle::trace::Trace,
}

impl Trace {
    pub(crate) fn new(inner: boucle::trace::Trace) -> Trace {
        Trace { inner }
    }
}

#[pymethods]
impl Trace {
    /// An ASCII timeline, one row per task (`-` alive, `>` done,
    /// `x` cancelled, `!` raised), `width` columns of time axis, running to
    /// at least `until` seconds.
    #[pyo3(signature = (width = 60, until = 0.0))]
    fn timeline(&self, width: usize, until: f64) -> String {
        let until = std::time::Duration::from_secs_f64(until.max(0.0));
        self.inner.timeline_until(width, until)
    }

    /// Chrome trace-event JSON (open it in Perfetto).
    fn to_chrome_json(&self) -> String {
        self.inner.to_chrome_json()
    }

    /// One dict per task: name, start, first_poll, end (seconds of loop
    /// time), outcome ("done", "cancelled", "raised" or None) and polls.
    fn tasks<'py>(&self, py: Python<'py>) -> PyResult<Vec<Bound<'py, PyDict>>> {
        let secs = |d: std::time::Duration| d.as_secs_f64();
        self.inner
            .tasks()
            .into_iter()
            .map(|span| {
                let d = PyDict::new(py);
                d.set_item("name", span.label())?;
                d.set_item("start", secs(span.start))?;
                d.set_item("first_poll", span.first_poll.map(secs))?;
                d.set_item("end", span.end.map(secs))?;
                d.set_item(
                    "outcome",
                    span.outcome.map(|o| match o {
                        End::Done => "done",
                        End::Cancelled => "cancelled",
                        End::Panicked => "raised",
                    }),
                )?;
                d.set_item("polls", span.polls)?;
                Ok(d)
            })
            .collect()
    }

    /// Loop time of the snapshot, in seconds.
    #[getter]
    fn taken_at(&self) -> f64 {
        self.inner.taken_at().as_secs_f64()
    }

    fn __str__(&self) -> String {
        self.inner.timeline(60)
    }
}
