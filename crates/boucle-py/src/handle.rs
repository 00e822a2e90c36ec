//! `Handle` and `TimerHandle`: a callback, its arguments and its
//! `contextvars.Context`, as asyncio's `events.Handle` and
//! `events.TimerHandle` (the same methods: `cancel`, `cancelled`,
//! `get_context`, `when`). The loop keeps them in its ready queue and its
//! timer wheel; running one is `context.run(callback, *args)`.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::OnceLock;

use boucle::engine::TimerKey;
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::PyTuple;
use pyo3::{intern, PyTraverseError, PyVisit};

use crate::core::LoopCore;

/// What a handle runs.
pub(crate) struct Callback {
    pub(crate) callback: Py<PyAny>,
    pub(crate) args: Py<PyTuple>,
    pub(crate) context: Py<PyAny>,
}

static COPY_CONTEXT: PyOnceLock<Py<PyAny>> = PyOnceLock::new();

impl Callback {
    /// A callback in `context`, or in a copy of the current context when
    /// `None` (as asyncio's `Handle` does).
    pub(crate) fn new(
        py: Python<'_>,
        callback: Py<PyAny>,
        args: Py<PyTuple>,
        context: Option<Py<PyAny>>,
    ) -> PyResult<Callback> {
        let context = match context {
            Some(c) if !c.is_none(py) => c,
            _ => {
                let copy = COPY_CONTEXT.get_or_try_init(py, || -> PyResult<Py<PyAny>> {
                    Ok(py.import("contextvars")?.getattr("copy_context")?.unbind())
                })?;
                copy.call0(py)?
            }
        };
        Ok(Callback {
            callback,
            args,
            context,
        })
    }

    /// `context.run(callback, *args)`.
    pub(crate) fn run(&self, py: Python<'_>) -> PyResult<()> {
        let ctx = self.context.bind(py);
        let cb = self.callback.bind(py);
        let args = self.args.bind(py);
        let run = intern!(py, "run");
        match args.len() {
            0 => ctx.call_method1(run, (cb,))?,
            1 => ctx.call_method1(run, (cb, args.get_item(0)?))?,
            2 => ctx.call_method1(run, (cb, args.get_item(0)?, args.get_item(1)?))?,
            _ => {
                let all: Vec<Bound<'_, PyAny>> =
                    std::iter::once(cb.clone()).chain(args.iter()).collect();
                let all = PyTuple::new(py, all)?;
                ctx.call_method(run, all, None)?
            }
        };
        Ok(())
    }

    fn traverse(&self, visit: &PyVisit<'_>) -> Result<(), PyTraverseError> {
        visit.call(&self.callback)?;
        visit.call(&self.args)?;
        visit.call(&self.context)
    }

    fn repr(&self, py: Python<'_>, class: &str, cancelled: bool, extra: &str) -> String {
        let cb = self
            .callback
            .bind(py)
            .repr()
            .map(|r| r.to_string())
            .unwrap_or_else(|_| String::from("?"));
        let state = if cancelled { " cancelled" } else { "" };
        format!("<{class}{state}{extra} {cb}>")
    }
}

/// A callback scheduled by `call_soon` (asyncio's `events.Handle`).
#[pyclass(frozen, module = "boucle._boucle")]
pub struct Handle {
    pub(crate) cb: Callback,
    cancelled: AtomicBool,
}

impl Handle {
    pub(crate) fn new(cb: Callback) -> Handle {
        Handle {
            cb,
            cancelled: AtomicBool::new(false),
        }
    }

    pub(crate) fn is_cancelled(&self) -> bool {
        self.cancelled.load(Ordering::Relaxed)
    }
}

#[pymethods]
impl Handle {
    /// Cancels the callback; it will not run.
    pub(crate) fn cancel(&self) {
        self.cancelled.store(true, Ordering::Relaxed);
    }

    /// Whether `cancel` was called.
    fn cancelled(&self) -> bool {
        self.is_cancelled()
    }

    /// The `contextvars.Context` the callback runs in.
    fn get_context(&self, py: Python<'_>) -> Py<PyAny> {
        self.cb.context.clone_ref(py)
    }

    /// Runs the callback now (exceptions propagate).
    fn _run(&self, py: Python<'_>) -> PyResult<()> {
        self.cb.run(py)
    }

    /// The callback (read-only).
    #[getter]
    fn _callback(&self, py: Python<'_>) -> Py<PyAny> {
        self.cb.callback.clone_ref(py)
    }

    /// The arguments (read-only).
    #[getter]
    fn _args(&self, py: Python<'_>) -> Py<PyTuple> {
        self.cb.args.clone_ref(py)
    }

    fn __repr__(&self, py: Python<'_>) -> String {
        self.cb.repr(py, "Handle", self.is_cancelled(), "")
    }

    fn __traverse__(&self, visit: PyVisit<'_>) -> Result<(), PyTraverseError> {
        self.cb.traverse(&visit)
    }
}

/// A callback scheduled by `call_later` / `call_at` (asyncio's
/// `events.TimerHandle`). Cancelling it takes it out of the wheel at once.
#[pyclass(frozen, module = "boucle._boucle")]
pub struct TimerHandle {
    pub(crate) cb: Callback,
    cancelled: AtomicBool,
    /// The deadline in loop ticks (its place in the firing order).
    pub(crate) deadline: u64,
    /// The earliest tick it may fire at: its delay after the call itself.
    pub(crate) not_before: u64,
    /// The deadline as `loop.time()` would read it.
    when: f64,
    pub(crate) key: OnceLock<TimerKey>,
    /// The loop, to disarm on cancel (`None` once fired or never armed).
    pub(crate) core: Py<LoopCore>,
}

impl TimerHandle {
    pub(crate) fn new(
        cb: Callback,
        deadline: u64,
        not_before: u64,
        when: f64,
        core: Py<LoopCore>,
    ) -> TimerHandle {
        TimerHandle {
            cb,
            cancelled: AtomicBool::new(false),
            deadline,
            not_before,
            when,
            key: OnceLock::new(),
            core,
        }
    }

    pub(crate) fn is_cancelled(&self) -> bool {
        self.cancelled.load(Ordering::Relaxed)
    }
}

#[pymethods]
impl TimerHandle {
    /// Cancels the callback and disarms its timer.
    fn cancel(&self, py: Python<'_>) {
        if self.cancelled.swap(true, Ordering::Relaxed) {
            return;
        }
        if let Some(&key) = self.key.get() {
            // Dropped after the loop's lock is released.
            let removed = self.core.get().remove_timer(key);
            drop(removed);
        }
        let _ = py;
    }

    /// Whether `cancel` was called.
    fn cancelled(&self) -> bool {
        self.is_cancelled()
    }

    /// The deadline, in `loop.time()` seconds.
    fn when(&self) -> f64 {
        self.when
    }

    /// The `contextvars.Context` the callback runs in.
    fn get_context(&self, py: Python<'_>) -> Py<PyAny> {
        self.cb.context.clone_ref(py)
    }

    /// Runs the callback now (exceptions propagate).
    fn _run(&self, py: Python<'_>) -> PyResult<()> {
        self.cb.run(py)
    }

    /// The callback (read-only).
    #[getter]
    fn _callback(&self, py: Python<'_>) -> Py<PyAny> {
        self.cb.callback.clone_ref(py)
    }

    /// The arguments (read-only).
    #[getter]
    fn _args(&self, py: Python<'_>) -> Py<PyTuple> {
        self.cb.args.clone_ref(py)
    }

    /// The deadline in seconds (asyncio's `_when` attribute).
    #[getter]
    fn _when(&self) -> f64 {
        self.when
    }

    fn __repr__(&self, py: Python<'_>) -> String {
        let extra = format!(" when={}", self.when);
        self.cb.repr(py, "TimerHandle", self.is_cancelled(), &extra)
    }

    fn __hash__(&self) -> u64 {
        self.deadline
    }

    fn __lt__(&self, other: &Bound<'_, TimerHandle>) -> bool {
        self.when < other.get().when
    }

    fn __le__(&self, other: &Bound<'_, TimerHandle>) -> bool {
        self.when <= other.get().when
    }

    fn __gt__(&self, other: &Bound<'_, TimerHandle>) -> bool {
        self.when > other.get().when
    }

    fn __ge__(&self, other: &Bound<'_, TimerHandle>) -> bool {
        self.when >= other.get().when
    }

    fn __traverse__(&self, visit: PyVisit<'_>) -> Result<(), PyTraverseError> {
        self.cb.traverse(&visit)?;
        visit.call(&self.core)
    }
}
