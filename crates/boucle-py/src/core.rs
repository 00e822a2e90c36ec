//! `LoopCore`: the native half of `boucle.Loop`. It owns the ready queue,
//! boucle's timer wheel and clock, the poller and the queue of callbacks
//! sent from other threads, and runs iterations; the Python half
//! (`python/boucle/_loop.py`) adds the rest of `asyncio.AbstractEventLoop`.
//!
//! One iteration, as asyncio's `_run_once`:
//! 1. park: not at all when a callback is ready (or the loop is stopping);
//!    else until the next timer (real clock, GIL released) or, on a virtual
//!    clock, jump the clock to the next timer; with no timer, until a wake;
//! 2. move callbacks sent by `call_soon_threadsafe` to the ready queue;
//! 3. sample the loop time (once per iteration: every callback of the
//!    iteration sees the same `time()`, and `call_later` counts from it;
//!    with no timer armed, at its first use in the iteration rather than
//!    here) and move due timers, in exact deadline order, to the ready queue
//!    (a timer also waits until its delay has passed since the call
//!    itself, holding back those after it: never early, order kept);
//! 4. run the callbacks that were ready at that point, in order; those they
//!    schedule run in the next iteration.
//!
//! They are in `iteration.rs`.
//!
//! Locks: `local` is held only for Rust work, never across a call into
//! Python, an allocation of a Python object (which can run the garbage
//! collector and so any `__del__`) or a park; Python objects taken out of
//! it are dropped after it is released.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use boucle::engine::{LoopClock, TimeBase, TimerKey, TimerWheel, NEVER};
use pyo3::exceptions::{PyRuntimeError, PyValueError};
use pyo3::intern;
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::{PyDict, PyTuple};

use crate::handle::{Args, Callback, Handle, TimerHandle};
use crate::poller::Poller;
use crate::readiness::{Direction, IoTable};
use crate::tracing::{trace_now, TaskTrace, Trace};

/// A ready callback.
pub(crate) enum Item {
    Soon(Py<Handle>),
    Timer(Py<TimerHandle>),
}

pub(crate) struct Local {
    pub(crate) ready: VecDeque<Item>,
    pub(crate) wheel: TimerWheel<Py<TimerHandle>>,
    pub(crate) clock: LoopClock,
    pub(crate) fired: Vec<Py<TimerHandle>>,
    /// Due timers (in firing order) waiting for their `not_before`: a
    /// timer never fires earlier than its delay after the `call_later`
    /// call itself, and never before a timer due earlier.
    pub(crate) held: VecDeque<Py<TimerHandle>>,
    pub(crate) trace: Option<TaskTrace>,
    /// The fds watched by `add_reader` / `add_writer` (`readiness.rs`).
    pub(crate) io: IoTable,
    /// `call_soon` handles that have run and that nothing else holds,
    /// for `call_soon` to use again (at most `SPARE_HANDLES`).
    pub(crate) spare: Vec<Py<Handle>>,
}

/// How many run handles `Local::spare` keeps.
pub(crate) const SPARE_HANDLES: usize = 1024;

/// The native core of `boucle.Loop` (subclassed in Python).
#[pyclass(subclass, frozen, module = "boucle._boucle")]
pub struct LoopCore {
    local: Mutex<Local>,
    pub(crate) poller: Mutex<Poller>,
    pub(crate) remote: Mutex<Vec<Item>>,
    /// Set by `call_soon_threadsafe` when `remote` has items.
    pub(crate) notified: AtomicBool,
    waker: Arc<mio::Waker>,
    pub(crate) stopping: AtomicBool,
    closed: AtomicBool,
    pub(crate) debug: AtomicBool,
    /// Whether a task factory is set (`set_task_factory`): `create_task`
    /// then takes the Python path.
    has_task_factory: AtomicBool,
    is_virtual: bool,
    /// Work in other threads whose result will come back through
    /// `call_soon_threadsafe` (executor jobs): a virtual clock waits for it
    /// rather than jumping past it.
    pub(crate) held: AtomicUsize,
    /// Fds registered with the poller besides its waker and timer
    /// (`add_reader`, `add_writer`): with none, an iteration that need not wait makes
    /// no system call.
    pub(crate) io_sources: AtomicUsize,
    /// Fixed when the loop is made.
    pub(crate) is_traced: bool,
    /// `CLOCK_MONOTONIC` nanoseconds at tick 0 (0 on a virtual clock).
    origin_mono: u64,
}

pub(crate) fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // A panic while locked leaves plain data behind: keep going.
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// Seconds to ticks, rounded up (a deadline is never early); negative is 0.
fn secs_to_ticks(secs: f64) -> PyResult<u64> {
    if secs.is_nan() {
        return Err(PyValueError::new_err("delay must be a number, not NaN"));
    }
    if secs <= 0.0 {
        return Ok(0);
    }
    // `as` saturates: inf and huge delays become NEVER.
    Ok((secs * 1e9).ceil() as u64)
}

fn closed_error() -> PyErr {
    PyRuntimeError::new_err("Event loop is closed")
}

impl LoopCore {
    pub(crate) fn local(&self) -> MutexGuard<'_, Local> {
        lock(&self.local)
    }

    /// Loop time in seconds for a tick count.
    fn ticks_to_time(&self, ticks: u64) -> f64 {
        self.origin_mono.saturating_add(ticks) as f64 / 1e9
    }

    /// Ticks for a `loop.time()` value, rounded up.
    fn time_to_ticks(&self, when: f64) -> PyResult<u64> {
        if when.is_nan() {
            return Err(PyValueError::new_err("when must be a number, not NaN"));
        }
        let ns = (when * 1e9).ceil();
        let origin = self.origin_mono as f64;
        Ok(if ns <= origin {
            0
        } else {
            (ns - origin) as u64
        })
    }

    /// The real clock now, in ticks (the cached loop time on a virtual one).
    fn fresh_ticks(&self, cached: u64) -> u64 {
        if self.is_virtual {
            cached
        } else {
            boucle::engine::monotonic_ns()
                .saturating_sub(self.origin_mono)
                .max(cached)
        }
    }

    pub(crate) fn remove_timer(&self, key: TimerKey) -> Option<Py<TimerHandle>> {
        self.local().wheel.remove(key)
    }

    pub(crate) fn check_open(&self) -> PyResult<()> {
        if self.closed.load(Ordering::Relaxed) {
            Err(closed_error())
        } else {
            Ok(())
        }
    }

    pub(crate) fn set_io_sources(&self, n: usize) {
        self.io_sources.store(n, Ordering::Relaxed);
    }

    fn debug_check(
        slf: &Bound<'_, Self>,
        callback: &Bound<'_, PyAny>,
        method: &str,
    ) -> PyResult<()> {
        if slf.get().debug.load(Ordering::Relaxed) {
            slf.call_method1(intern!(slf.py(), "_check_callback"), (callback, method))?;
        }
        Ok(())
    }

    /// `call_soon`: schedules `callback(*args)` for the next iteration
    /// (called by `fastcall.rs`, which parses the arguments). A handle
    /// that ran before and that nothing else holds is used again
    /// (`Local::spare`) rather than a new one allocated.
    pub(crate) fn call_soon(
        slf: &Bound<'_, Self>,
        callback: &Bound<'_, PyAny>,
        args: Args,
        context: Option<Py<PyAny>>,
    ) -> PyResult<Py<Handle>> {
        let py = slf.py();
        let core = slf.get();
        let cb = Self::scheduled(slf, "call_soon", callback, args, context)?;
        let mut l = core.local();
        let (handle, old) = match l.spare.pop() {
            Some(handle) => {
                let old = handle.get().rearm(cb);
                (handle, old)
            }
            None => {
                // Allocating can run the garbage collector: not locked.
                drop(l);
                let handle = Handle::once(py, cb)?;
                l = core.local();
                (handle, None)
            }
        };
        if core.notified.load(Ordering::Relaxed) {
            core.take_remote(&mut l);
        }
        l.ready.push_back(Item::Soon(handle.clone_ref(py)));
        drop(l);
        drop(old);
        Ok(handle)
    }

    /// `create_task(coro, *, name=None, context=None, **kwargs)` (called
    /// by `fastcall.rs`, which parses the arguments): asyncio's `Task`
    /// made here when there is no task factory, no tracing and no other
    /// keyword argument; otherwise by the Python method `_create_task`
    /// (`_loop.py`), which has every case.
    pub(crate) fn create_task(
        slf: &Bound<'_, Self>,
        coro: &Bound<'_, PyAny>,
        kwargs: Bound<'_, PyDict>,
        plain: bool,
    ) -> PyResult<Py<PyAny>> {
        static TASK: PyOnceLock<Py<PyAny>> = PyOnceLock::new();
        let py = slf.py();
        let core = slf.get();
        core.check_open()?;
        // (Debug mode needs no Python path: with no frame of ours in
        // between, the task's `_source_traceback` already ends at the
        // caller, where `_create_task` removes its own frame.)
        let plain = plain && !core.is_traced && !core.has_task_factory.load(Ordering::Relaxed);
        if !plain {
            let task = slf.call_method(intern!(py, "_create_task"), (coro,), Some(&kwargs))?;
            return Ok(task.unbind());
        }
        // The class `_loop.py` makes tasks of (asyncio's C `Task`).
        let task_class = TASK.get_or_try_init(py, || {
            py.import("boucle._loop")?
                .getattr("_Task")
                .map(Bound::unbind)
        })?;
        kwargs.set_item(intern!(py, "loop"), slf)?;
        Ok(task_class.bind(py).call((coro,), Some(&kwargs))?.unbind())
    }

    /// Whether `handle`, a `call_soon` handle just run or skipped, can be
    /// used again: nothing else holds it (asyncio's `Task` and `Future`
    /// drop the handle `call_soon` gives them), so no one can tell.
    pub(crate) fn reusable(py: Python<'_>, handle: &Py<Handle>) -> bool {
        handle.get().runs_once() && crate::capi::refcount(handle.bind(py)) == 1
    }

    /// Keeps the handles of `freed` (each `reusable`) for `call_soon`,
    /// up to `SPARE_HANDLES`, under one lock for a whole batch.
    pub(crate) fn keep_spares(&self, freed: &mut Vec<Py<Handle>>) {
        if freed.is_empty() {
            return;
        }
        {
            let mut l = self.local();
            let room = SPARE_HANDLES.saturating_sub(l.spare.len());
            if freed.len() <= room {
                l.spare.append(freed);
                return;
            }
            let rest = freed.len() - room;
            l.spare.extend(freed.drain(rest..));
        }
        // The rest is dropped here, unlocked.
        freed.clear();
    }

    /// `call_soon_threadsafe`: schedules `callback(*args)` from any
    /// thread, waking the loop.
    pub(crate) fn call_soon_threadsafe(
        slf: &Bound<'_, Self>,
        callback: &Bound<'_, PyAny>,
        args: Args,
        context: Option<Py<PyAny>>,
    ) -> PyResult<Py<Handle>> {
        let py = slf.py();
        let core = slf.get();
        let cb = Self::scheduled(slf, "call_soon_threadsafe", callback, args, context)?;
        let handle = Handle::once(py, cb)?;
        lock(&core.remote).push(Item::Soon(handle.clone_ref(py)));
        if !core.notified.swap(true, Ordering::Release) {
            core.waker.wake()?;
        }
        Ok(handle)
    }

    /// `call_later`: schedules `callback(*args)` `delay` seconds after
    /// this iteration's loop time.
    pub(crate) fn call_later(
        slf: &Bound<'_, Self>,
        delay: f64,
        callback: &Bound<'_, PyAny>,
        args: Args,
        context: Option<Py<PyAny>>,
    ) -> PyResult<Py<TimerHandle>> {
        let core = slf.get();
        let cb = Self::scheduled(slf, "call_later", callback, args, context)?;
        let ticks = secs_to_ticks(delay)?;
        // The order comes from this iteration's time base; the call's own
        // time only holds the timer back (see `Local::held`).
        let now = core.local().clock.now();
        let deadline = now.saturating_add(ticks);
        let not_before = core.fresh_ticks(now).saturating_add(ticks);
        Self::timer(slf, deadline, not_before, cb)
    }

    /// `call_at`: schedules `callback(*args)` at loop time `when`.
    pub(crate) fn call_at(
        slf: &Bound<'_, Self>,
        when: f64,
        callback: &Bound<'_, PyAny>,
        args: Args,
        context: Option<Py<PyAny>>,
    ) -> PyResult<Py<TimerHandle>> {
        let cb = Self::scheduled(slf, "call_at", callback, args, context)?;
        let deadline = slf.get().time_to_ticks(when)?;
        Self::timer(slf, deadline, deadline, cb)
    }

    /// What every scheduling method does first: checks that the loop is
    /// open, runs debug mode's check of `callback` (named by `method`),
    /// and makes the callback.
    #[inline(always)]
    fn scheduled(
        slf: &Bound<'_, Self>,
        method: &str,
        callback: &Bound<'_, PyAny>,
        args: Args,
        context: Option<Py<PyAny>>,
    ) -> PyResult<Callback> {
        slf.get().check_open()?;
        Self::debug_check(slf, callback, method)?;
        Callback::new(slf.py(), callback.clone().unbind(), args, context)
    }

    fn timer(
        slf: &Bound<'_, Self>,
        deadline: u64,
        not_before: u64,
        cb: Callback,
    ) -> PyResult<Py<TimerHandle>> {
        let py = slf.py();
        let core = slf.get();
        let when = core.ticks_to_time(deadline);
        let handle = Bound::new(
            py,
            TimerHandle::new(cb, deadline, not_before, when, slf.clone().unbind()),
        )?;
        if deadline < NEVER {
            // Armed: untracked, as it drops its callback when it fires (see
            // `handle.rs`); one that never fires stays tracked.
            crate::capi::untrack(handle.as_any());
            let payload = handle.clone().unbind();
            let key = core.local().wheel.insert(deadline, payload);
            handle.get().set_key(key);
        }
        Ok(handle.unbind())
    }
}

#[pymethods]
impl LoopCore {
    #[new]
    #[pyo3(signature = (*_args, virtual_time = false, trace = false, time_base = "iteration", **_kwargs))]
    fn new(
        _args: &Bound<'_, PyTuple>,
        virtual_time: bool,
        trace: bool,
        time_base: &str,
        _kwargs: Option<&Bound<'_, PyDict>>,
    ) -> PyResult<Self> {
        let base = match time_base {
            "iteration" => TimeBase::Iteration,
            "call" => TimeBase::Call,
            other => {
                return Err(PyValueError::new_err(format!(
                    "time_base must be 'iteration' or 'call', not {other:?}"
                )))
            }
        };
        let (poller, waker) = Poller::new()?;
        let io = IoTable::new(poller.registry()?);
        let clock = LoopClock::new(virtual_time, base);
        let origin_mono = if virtual_time {
            0
        } else {
            clock.monotonic_deadline(0)
        };
        Ok(LoopCore {
            local: Mutex::new(Local {
                ready: VecDeque::new(),
                wheel: TimerWheel::new(),
                clock,
                held: VecDeque::new(),
                fired: Vec::new(),
                trace: trace.then(TaskTrace::default),
                io,
                spare: Vec::new(),
            }),
            poller: Mutex::new(poller),
            remote: Mutex::new(Vec::new()),
            notified: AtomicBool::new(false),
            waker,
            stopping: AtomicBool::new(false),
            closed: AtomicBool::new(false),
            debug: AtomicBool::new(false),
            has_task_factory: AtomicBool::new(false),
            is_virtual: virtual_time,
            held: AtomicUsize::new(0),
            io_sources: AtomicUsize::new(0),
            is_traced: trace,
            origin_mono,
        })
    }

    /// This iteration's loop time, in seconds (`time.monotonic()`'s scale
    /// on a real clock; from 0 on a virtual one).
    fn time(&self) -> f64 {
        let now = self.local().clock.now();
        self.ticks_to_time(now)
    }

    /// Stops `run_forever` after the current iteration.
    fn stop(&self) {
        self.stopping.store(true, Ordering::Relaxed);
    }

    /// Whether the loop was closed.
    pub(crate) fn is_closed(&self) -> bool {
        self.closed.load(Ordering::Relaxed)
    }

    /// Whether the clock is virtual.
    #[getter]
    fn virtual_time(&self) -> bool {
        self.is_virtual
    }

    /// `add_reader` (`write=False`) or `add_writer`: calls
    /// `callback(*args)` when `fd` is ready; returns the `Handle`.
    #[pyo3(signature = (fd, write, callback, args))]
    fn _add_io(
        slf: &Bound<'_, Self>,
        fd: &Bound<'_, PyAny>,
        write: bool,
        callback: &Bound<'_, PyAny>,
        args: &Bound<'_, PyTuple>,
    ) -> PyResult<Py<Handle>> {
        let dir = if write {
            Direction::Write
        } else {
            Direction::Read
        };
        Self::add_io(slf, fd, dir, callback, args)
    }

    /// `remove_reader` / `remove_writer`: whether a callback was removed.
    fn _remove_io(slf: &Bound<'_, Self>, fd: &Bound<'_, PyAny>, write: bool) -> PyResult<bool> {
        let dir = if write {
            Direction::Write
        } else {
            Direction::Read
        };
        Self::remove_io(slf, fd, dir)
    }

    /// Runs one iteration.
    fn _run_once(slf: &Bound<'_, Self>) -> PyResult<()> {
        Self::run_once_inner(slf, &mut VecDeque::new(), &mut Vec::new())
    }

    /// Runs iterations until `stop()`.
    fn _run_until_stopped(slf: &Bound<'_, Self>) -> PyResult<()> {
        let core = slf.get();
        let mut batch = VecDeque::new();
        let mut freed = Vec::new();
        let result = loop {
            if let Err(e) = Self::run_once_inner(slf, &mut batch, &mut freed) {
                break Err(e);
            }
            if core.stopping.load(Ordering::Relaxed) {
                break Ok(());
            }
        };
        core.stopping.store(false, Ordering::Relaxed);
        result
    }

    /// Whether a task factory is set, as the Rust side sees it (the
    /// `_task_factory` property sets it).
    fn _set_task_factory_flag(&self, set: bool) {
        self.has_task_factory.store(set, Ordering::Relaxed);
    }

    /// Debug mode as the Rust side sees it (`set_debug` sets it).
    fn _set_debug_flag(&self, enabled: bool) {
        self.debug.store(enabled, Ordering::Relaxed);
    }

    /// Whether debug mode is on (asyncio's `get_debug`; native, since
    /// every `Future` and `Task` asks it when made).
    fn get_debug(&self) -> bool {
        self.debug.load(Ordering::Relaxed)
    }

    /// Marks the loop closed and drops every pending callback and timer.
    fn _close_core(&self, py: Python<'_>) {
        self.closed.store(true, Ordering::Relaxed);
        let mut watched = Vec::new();
        let (ready, timers, held) = {
            let mut l = self.local();
            l.io.clear(&mut watched);
            self.set_io_sources(0);
            (
                std::mem::take(&mut l.ready),
                l.wheel.drain(),
                std::mem::take(&mut l.held),
            )
        };
        let sent = std::mem::take(&mut *lock(&self.remote));
        // The garbage collector does not see into a `Handle`: each drops
        // what it holds here (after the lock), cycles through it included.
        for item in ready.iter().chain(&sent) {
            match item {
                Item::Soon(h) => h.get().clear(),
                Item::Timer(h) => h.get().clear(),
            }
        }
        for h in timers.iter().chain(&held) {
            h.get().clear();
        }
        for obj in &watched {
            if let Ok(h) = obj.bind(py).cast::<Handle>() {
                h.get().clear();
            }
        }
        drop((ready, timers, held, sent, watched));
        let trace = self.local().trace.as_mut().map(TaskTrace::release);
        drop(trace);
    }

    /// Moves a virtual clock forward by `seconds` (timers then due fire in
    /// the next iteration).
    fn _advance(&self, seconds: f64) -> PyResult<()> {
        if !self.is_virtual {
            return Err(PyRuntimeError::new_err(
                "advance() needs a virtual clock: new_event_loop(virtual_time=True)",
            ));
        }
        let ticks = secs_to_ticks(seconds)?;
        let l = self.local();
        let now = l.clock.now();
        l.clock.advance_to(now.saturating_add(ticks));
        Ok(())
    }

    /// Number of ready callbacks and of armed timers.
    fn _stats(&self) -> (usize, usize) {
        let l = self.local();
        (l.ready.len(), l.wheel.len() + l.held.len())
    }

    /// Records the creation of an asyncio task (trace on).
    fn _trace_task(slf: &Bound<'_, Self>, task: &Bound<'_, PyAny>) {
        let mut guard = slf.get().local();
        let l = &mut *guard;
        let now = trace_now(&l.clock);
        if let Some(t) = l.trace.as_mut() {
            t.created(now, task.clone().unbind());
        }
    }

    /// Whether tracing is on.
    #[getter]
    fn _tracing(&self) -> bool {
        self.is_traced
    }

    /// Counts work in other threads (`+1` when it starts, `-1` when its
    /// result is back): a virtual clock does not jump while any is out.
    fn _hold(&self, delta: isize) {
        if delta >= 0 {
            self.held.fetch_add(delta as usize, Ordering::AcqRel);
        } else {
            let _ = self
                .held
                .fetch_update(Ordering::AcqRel, Ordering::Acquire, |n| {
                    Some(n.saturating_sub(delta.unsigned_abs()))
                });
        }
    }

    /// The timeline recorded so far (`None` without `trace=True`).
    fn _trace_snapshot(slf: &Bound<'_, Self>) -> PyResult<Option<Trace>> {
        let unnamed = match slf.get().local().trace.as_ref() {
            Some(t) => t.unnamed(),
            None => return Ok(None),
        };
        for task in unnamed {
            Self::trace_name(slf, task.bind(slf.py()))?;
        }
        let l = slf.get().local();
        let now = trace_now(&l.clock);
        Ok(l.trace.as_ref().map(|t| Trace::new(t.snapshot(now))))
    }
}
