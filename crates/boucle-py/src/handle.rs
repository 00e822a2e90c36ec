//! `Handle` and `TimerHandle`: a callback, its arguments and its
//! `contextvars.Context`, as asyncio's `events.Handle` and
//! `events.TimerHandle` (the same methods: `cancel`, `cancelled`,
//! `get_context`, `when`). The loop keeps them in its ready queue and its
//! timer wheel; running one is `context.run(callback, *args)`.
//!
//! A `call_soon` handle is not tracked by Python's garbage collector (every
//! collection would visit each queued one), so it must not keep a reference
//! cycle alive: it drops its callback, arguments and context once it has
//! run, when cancelled, or when the loop closes. The handles of
//! `add_reader` / `add_writer` run many times, keep their callback until
//! removed (cancelled) or the loop closes, and are tracked. A
//! `TimerHandle` in the wheel is untracked too, and drops its callback once
//! fired, cancelled or its loop closed.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;

use boucle::engine::TimerKey;
use pyo3::prelude::*;
use pyo3::types::{PyContext, PyTuple};
use pyo3::{intern, PyTraverseError, PyVisit};

use crate::core::{lock, LoopCore};

/// What a handle runs.
pub(crate) struct Callback {
    pub(crate) callback: Py<PyAny>,
    args: Args,
    pub(crate) context: Py<PyAny>,
}

/// A callback's arguments: most have none, one or two (a future's done
/// callback, `asyncio.sleep`'s timer), kept without a tuple, which the
/// garbage collector would visit for as long as the handle waits.
pub(crate) enum Args {
    Zero,
    One(Py<PyAny>),
    Two(Py<PyAny>, Py<PyAny>),
    Many(Py<PyTuple>),
}

impl Args {
    /// The arguments `args`, a tuple only for more than two.
    pub(crate) fn new<'a, 'py: 'a>(
        py: Python<'py>,
        mut args: impl ExactSizeIterator<Item = Borrowed<'a, 'py, PyAny>>,
    ) -> PyResult<Args> {
        fn own(a: Option<Borrowed<'_, '_, PyAny>>) -> Py<PyAny> {
            a.expect("as many as `len` said").to_owned().unbind()
        }
        Ok(match args.len() {
            0 => Args::Zero,
            1 => Args::One(own(args.next())),
            2 => {
                let first = own(args.next());
                Args::Two(first, own(args.next()))
            }
            _ => Args::Many(PyTuple::new(py, args)?.unbind()),
        })
    }

    /// The arguments of a tuple (kept, for more than two).
    pub(crate) fn from_tuple(tuple: &Bound<'_, PyTuple>) -> PyResult<Args> {
        if tuple.len() > 2 {
            return Ok(Args::Many(tuple.clone().unbind()));
        }
        Args::new(tuple.py(), tuple.iter_borrowed())
    }
}

impl Callback {
    /// A callback in `context`, or in a copy of the current context when
    /// `None` (as asyncio's `Handle` does).
    pub(crate) fn new(
        py: Python<'_>,
        callback: Py<PyAny>,
        args: Args,
        context: Option<Py<PyAny>>,
    ) -> PyResult<Callback> {
        let context = match context {
            Some(c) if !c.is_none(py) => c,
            _ => crate::capi::copy_current(py)?,
        };
        Ok(Callback {
            callback,
            args,
            context,
        })
    }

    /// `context.run(callback, *args)`; a context that is not exactly a
    /// `contextvars.Context` (asyncio takes any object with a `run`
    /// method) has its `run` called.
    pub(crate) fn run(&self, py: Python<'_>) -> PyResult<()> {
        let cb = self.callback.bind(py);
        let Ok(ctx) = self.context.bind(py).cast_exact::<PyContext>() else {
            let all: Vec<_> = std::iter::once(cb.clone())
                .chain(self.args(py)?.iter())
                .collect();
            let all = PyTuple::new(py, all)?;
            self.context
                .bind(py)
                .call_method1(intern!(py, "run"), all)?;
            return Ok(());
        };
        crate::capi::run_in(ctx, || match &self.args {
            Args::Zero => cb.call0(),
            Args::One(a) => cb.call1((a.bind(py),)),
            Args::Two(a, b) => cb.call1((a.bind(py), b.bind(py))),
            Args::Many(t) => cb.call1(t.bind(py)),
        })?;
        Ok(())
    }

    /// The arguments as a tuple (asyncio's `Handle._args`).
    fn args<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyTuple>> {
        Ok(match &self.args {
            Args::Zero => PyTuple::empty(py),
            Args::One(a) => PyTuple::new(py, [a.bind(py)])?,
            Args::Two(a, b) => PyTuple::new(py, [a.bind(py), b.bind(py)])?,
            Args::Many(t) => t.bind(py).clone(),
        })
    }

    fn clone_ref(&self, py: Python<'_>) -> Callback {
        Callback {
            callback: self.callback.clone_ref(py),
            args: match &self.args {
                Args::Zero => Args::Zero,
                Args::One(a) => Args::One(a.clone_ref(py)),
                Args::Two(a, b) => Args::Two(a.clone_ref(py), b.clone_ref(py)),
                Args::Many(t) => Args::Many(t.clone_ref(py)),
            },
            context: self.context.clone_ref(py),
        }
    }

    fn traverse(&self, visit: &PyVisit<'_>) -> Result<(), PyTraverseError> {
        visit.call(&self.callback)?;
        match &self.args {
            Args::Zero => {}
            Args::One(a) => visit.call(a)?,
            Args::Two(a, b) => {
                visit.call(a)?;
                visit.call(b)?
            }
            Args::Many(t) => visit.call(t)?,
        }
        visit.call(&self.context)
    }
}

fn repr(
    py: Python<'_>,
    class: &str,
    cb: Option<&Callback>,
    cancelled: bool,
    extra: &str,
) -> String {
    let state = if cancelled { " cancelled" } else { "" };
    let Some(cb) = cb else {
        return format!("<{class}{state}{extra}>");
    };
    let text = crate::readiness::repr(cb.callback.bind(py));
    format!("<{class}{state}{extra} {text}>")
}

/// A callback scheduled by `call_soon` or `add_reader` / `add_writer`
/// (asyncio's `events.Handle`).
#[pyclass(frozen, module = "boucle._boucle")]
pub struct Handle {
    /// `None` once run (a `call_soon` handle), cancelled or the loop closed.
    cb: Mutex<Option<Callback>>,
    cancelled: AtomicBool,
    /// Runs once (`call_soon`): drops the callback when it runs.
    once: bool,
}

impl Handle {
    /// A handle that may run many times (`add_reader` / `add_writer`),
    /// tracked by the garbage collector.
    pub(crate) fn new(cb: Callback) -> Handle {
        Handle {
            cb: Mutex::new(Some(cb)),
            cancelled: AtomicBool::new(false),
            once: false,
        }
    }

    /// A handle that runs once (`call_soon`), not tracked by the garbage
    /// collector.
    pub(crate) fn once(py: Python<'_>, cb: Callback) -> PyResult<Py<Handle>> {
        let handle = Handle {
            once: true,
            ..Handle::new(cb)
        };
        let handle = Bound::new(py, handle)?;
        crate::capi::untrack(handle.as_any());
        Ok(handle.unbind())
    }

    pub(crate) fn is_cancelled(&self) -> bool {
        self.cancelled.load(Ordering::Relaxed)
    }

    pub(crate) fn runs_once(&self) -> bool {
        self.once
    }

    /// Gives a spare handle (`LoopCore::keep_spares`) its next callback, as
    /// new; returns what it held (nothing: it ran, or was cancelled), for
    /// the caller to drop once unlocked.
    pub(crate) fn rearm(&self, cb: Callback) -> Option<Callback> {
        self.cancelled.store(false, Ordering::Relaxed);
        lock(&self.cb).replace(cb)
    }

    /// What to run now, if anything: the callback itself for a handle
    /// that runs once (the handle no longer holds it), else a copy.
    pub(crate) fn take_for_run(&self, py: Python<'_>) -> Option<Callback> {
        if self.is_cancelled() {
            return None;
        }
        let mut cb = lock(&self.cb);
        if self.once {
            cb.take()
        } else {
            cb.as_ref().map(|c| c.clone_ref(py))
        }
    }

    /// Gives a `call_soon` handle its callback back for a while, so that
    /// it reads as asyncio's (repr, `_callback`) where the loop shows it:
    /// the exception handler and the slow-callback warning. `clear` ends it.
    pub(crate) fn lend(&self, py: Python<'_>, cb: &Callback) {
        if self.once {
            let old = lock(&self.cb).replace(cb.clone_ref(py));
            drop(old);
        }
    }

    /// Ends `lend`.
    pub(crate) fn unlend(&self) {
        if self.once {
            self.clear();
        }
    }

    /// Drops the callback, its arguments and its context (the caller
    /// holds no lock of the loop: dropping them can run any `__del__`).
    pub(crate) fn clear(&self) {
        let cb = lock(&self.cb).take();
        drop(cb);
    }

    fn with_cb<T>(&self, f: impl FnOnce(Option<&Callback>) -> T) -> T {
        f(lock(&self.cb).as_ref())
    }
}

#[pymethods]
impl Handle {
    /// Cancels the callback; it will not run (and is dropped now).
    pub(crate) fn cancel(&self) {
        self.cancelled.store(true, Ordering::Relaxed);
        self.clear();
    }

    /// Whether `cancel` was called.
    fn cancelled(&self) -> bool {
        self.is_cancelled()
    }

    /// The `contextvars.Context` the callback runs in (`None` once the
    /// handle has dropped it: run, cancelled or its loop closed).
    fn get_context(&self, py: Python<'_>) -> Option<Py<PyAny>> {
        self.with_cb(|cb| cb.map(|c| c.context.clone_ref(py)))
    }

    /// Runs the callback now (exceptions propagate); the handle keeps it.
    fn _run(&self, py: Python<'_>) -> PyResult<()> {
        let cb = self.with_cb(|cb| cb.map(|c| c.clone_ref(py)));
        match cb {
            Some(cb) => cb.run(py),
            None => Ok(()),
        }
    }

    /// The callback (read-only; `None` once dropped).
    #[getter]
    fn _callback(&self, py: Python<'_>) -> Option<Py<PyAny>> {
        self.with_cb(|cb| cb.map(|c| c.callback.clone_ref(py)))
    }

    /// The arguments (read-only; `None` once dropped).
    #[getter]
    fn _args(&self, py: Python<'_>) -> PyResult<Option<Py<PyTuple>>> {
        let cb = self.with_cb(|cb| cb.map(|c| c.clone_ref(py)));
        cb.map(|c| c.args(py).map(Bound::unbind)).transpose()
    }

    fn __repr__(&self, py: Python<'_>) -> String {
        let cb = self.with_cb(|cb| cb.map(|c| c.clone_ref(py)));
        repr(py, "Handle", cb.as_ref(), self.is_cancelled(), "")
    }

    fn __traverse__(&self, visit: PyVisit<'_>) -> Result<(), PyTraverseError> {
        // Never held across anything that could start a collection; if it
        // were, visiting less only keeps objects alive.
        match self.cb.try_lock() {
            Ok(cb) => cb.as_ref().map_or(Ok(()), |c| c.traverse(&visit)),
            Err(_) => Ok(()),
        }
    }
}

/// What an armed `TimerHandle` holds: its callback, the loop whose wheel
/// it is in and its key there (to disarm on cancel).
struct Armed {
    cb: Callback,
    core: Py<LoopCore>,
    key: Option<TimerKey>,
}

/// A callback scheduled by `call_later` / `call_at` (asyncio's
/// `events.TimerHandle`). Cancelling it takes it out of the wheel at once.
/// Like a `call_soon` handle, one in the wheel is not tracked by the
/// garbage collector, and drops its callback and loop once fired,
/// cancelled, or when the loop closes; one that can never fire (an
/// infinite delay) stays tracked.
#[pyclass(frozen, module = "boucle._boucle")]
pub struct TimerHandle {
    /// `None` once fired, cancelled or the loop closed.
    armed: Mutex<Option<Armed>>,
    cancelled: AtomicBool,
    /// The deadline in loop ticks (its place in the firing order).
    pub(crate) deadline: u64,
    /// The earliest tick it may fire at: its delay after the call itself.
    pub(crate) not_before: u64,
    /// The deadline as `loop.time()` would read it.
    when: f64,
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
            armed: Mutex::new(Some(Armed {
                cb,
                core,
                key: None,
            })),
            cancelled: AtomicBool::new(false),
            deadline,
            not_before,
            when,
        }
    }

    pub(crate) fn is_cancelled(&self) -> bool {
        self.cancelled.load(Ordering::Relaxed)
    }

    /// Records where the wheel keeps it (once inserted).
    pub(crate) fn set_key(&self, key: TimerKey) {
        if let Some(a) = lock(&self.armed).as_mut() {
            a.key = Some(key);
        }
    }

    /// The callback to run now, if still armed; the handle drops it and
    /// its loop.
    pub(crate) fn take_for_run(&self) -> Option<Callback> {
        if self.is_cancelled() {
            return None;
        }
        let armed = lock(&self.armed).take();
        armed.map(|a| a.cb)
    }

    /// As `Handle::lend`: the callback back (with `core`) until `clear`.
    pub(crate) fn lend(&self, py: Python<'_>, cb: &Callback, core: &Bound<'_, LoopCore>) {
        let armed = Armed {
            cb: cb.clone_ref(py),
            core: core.clone().unbind(),
            key: None,
        };
        let old = lock(&self.armed).replace(armed);
        drop(old);
    }

    /// Drops the callback and the loop (no lock of the loop held).
    pub(crate) fn clear(&self) {
        let armed = lock(&self.armed).take();
        drop(armed);
    }

    fn cb_ref(&self, py: Python<'_>) -> Option<Callback> {
        lock(&self.armed).as_ref().map(|a| a.cb.clone_ref(py))
    }
}

#[pymethods]
impl TimerHandle {
    /// Cancels the callback and disarms its timer.
    fn cancel(&self) {
        if self.cancelled.swap(true, Ordering::Relaxed) {
            return;
        }
        let armed = lock(&self.armed).take();
        if let Some(Armed {
            core,
            key: Some(key),
            ..
        }) = &armed
        {
            // Dropped after the loop's lock is released.
            let removed = core.get().remove_timer(*key);
            drop(removed);
        }
        drop(armed);
    }

    /// Whether `cancel` was called.
    fn cancelled(&self) -> bool {
        self.is_cancelled()
    }

    /// The deadline, in `loop.time()` seconds.
    fn when(&self) -> f64 {
        self.when
    }

    /// The `contextvars.Context` the callback runs in (`None` once the
    /// handle has dropped it: fired, cancelled or its loop closed).
    fn get_context(&self, py: Python<'_>) -> Option<Py<PyAny>> {
        self.cb_ref(py).map(|c| c.context)
    }

    /// Runs the callback now (exceptions propagate); the handle keeps it.
    fn _run(&self, py: Python<'_>) -> PyResult<()> {
        match self.cb_ref(py) {
            Some(cb) => cb.run(py),
            None => Ok(()),
        }
    }

    /// The callback (read-only; `None` once dropped).
    #[getter]
    fn _callback(&self, py: Python<'_>) -> Option<Py<PyAny>> {
        self.cb_ref(py).map(|c| c.callback)
    }

    /// The arguments (read-only; `None` once dropped).
    #[getter]
    fn _args(&self, py: Python<'_>) -> PyResult<Option<Py<PyTuple>>> {
        let cb = self.cb_ref(py);
        cb.map(|c| c.args(py).map(Bound::unbind)).transpose()
    }

    /// The deadline in seconds (asyncio's `_when` attribute).
    #[getter]
    fn _when(&self) -> f64 {
        self.when
    }

    fn __repr__(&self, py: Python<'_>) -> String {
        let extra = format!(" when={}", self.when);
        let cb = self.cb_ref(py);
        repr(py, "TimerHandle", cb.as_ref(), self.is_cancelled(), &extra)
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
        // As `Handle::__traverse__` (only a handle that never fires is
        // tracked).
        match self.armed.try_lock() {
            Ok(armed) => match armed.as_ref() {
                Some(a) => {
                    a.cb.traverse(&visit)?;
                    visit.call(&a.core)
                }
                None => Ok(()),
            },
            Err(_) => Ok(()),
        }
    }
}
