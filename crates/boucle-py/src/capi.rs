//! The calls into CPython's C API that the hot path needs and PyO3 has no
//! safe wrapper for: a copy of the current `contextvars.Context`
//! (`contextvars.copy_context()`), a call made in a context
//! (`context.run(callback, *args)`), both without the Python-level lookup
//! and call, taking an object out of the garbage collector's lists, and
//! reading a reference count.
//! With `fastcall.rs`, the crate's only modules with `unsafe`, each block
//! with its `// SAFETY:` line.

use pyo3::ffi;
use pyo3::prelude::*;
use pyo3::types::PyContext;

/// A copy of the current context, as `contextvars.copy_context()`.
pub(crate) fn copy_current(py: Python<'_>) -> PyResult<Py<PyAny>> {
    // SAFETY: `py` proves the thread is attached to the interpreter, which
    // is all `PyContext_CopyCurrent` needs; it returns a new reference, or
    // NULL with an exception set, which `from_owned_ptr_or_err` turns into
    // an owned `Bound` or that exception.
    let copy = unsafe { Bound::from_owned_ptr_or_err(py, ffi::PyContext_CopyCurrent())? };
    Ok(copy.unbind())
}

/// Stops the garbage collector from tracking `obj` (PyO3 makes every
/// `#[pyclass]` a GC type): it is no longer visited by each collection.
/// Its owner must then never let it keep a reference cycle alive (see
/// `handle.rs`).
pub(crate) fn untrack(obj: &Bound<'_, PyAny>) {
    let ptr = obj.as_ptr();
    // SAFETY: attached (`obj` is bound); `ptr` is a live object (`obj`
    // holds a reference). `PyObject_GC_UnTrack` needs a GC type's object,
    // checked first with `PyObject_IS_GC` (itself only reading the type's
    // flags); on one already untracked it does nothing, and the type's
    // deallocation untracks again just as harmlessly.
    unsafe {
        if ffi::PyObject_IS_GC(ptr) != 0 {
            ffi::PyObject_GC_UnTrack(ptr.cast());
        }
    }
}

/// `obj`'s reference count (PyO3 deprecates its own reader, as the count
/// means little on free-threaded builds, which this crate is not built
/// for: see Cargo.toml).
pub(crate) fn refcount(obj: &Bound<'_, PyAny>) -> isize {
    // SAFETY: attached (`obj` is bound) and `obj` is a live object; the
    // call only reads its header.
    unsafe { ffi::Py_REFCNT(obj.as_ptr()) }
}

/// Calls `f` in `context`, as `context.run` does: entered before, exited
/// after, whatever `f` returns.
pub(crate) fn run_in<T>(
    context: &Bound<'_, PyContext>,
    f: impl FnOnce() -> PyResult<T>,
) -> PyResult<T> {
    let py = context.py();
    let ctx = context.as_ptr();
    // SAFETY: the thread is attached (`py`); `ctx` points to a `Context`
    // (the type of `context`) that `context` keeps alive until after the
    // `PyContext_Exit` below. On failure (the context is already entered
    // somewhere) it returns -1 with an exception set and enters nothing.
    if unsafe { ffi::PyContext_Enter(ctx) } < 0 {
        return Err(PyErr::fetch(py));
    }
    // Exited on every path: normally below, where a failure is reported,
    // and by the guard if `f` unwinds (a Rust panic), so that the context
    // is never left entered on this thread.
    let guard = ExitOnUnwind(ctx);
    let called = f();
    std::mem::forget(guard);
    // SAFETY: attached; `ctx` is alive (as above) and is the context this
    // thread entered just above: `f` cannot leave another one entered,
    // since Python code enters and exits contexts only in balanced pairs
    // (`Context.run`). It returns -1 with an exception set otherwise.
    if unsafe { ffi::PyContext_Exit(ctx) } < 0 {
        return Err(PyErr::fetch(py));
    }
    called
}

/// Exits the context `run_in` entered if the call in it unwinds.
struct ExitOnUnwind(*mut ffi::PyObject);

impl Drop for ExitOnUnwind {
    fn drop(&mut self) {
        // SAFETY: only reached while unwinding out of `run_in`'s call,
        // where the thread is still attached, the context is alive (its
        // `Bound` outlives the guard) and is the one this thread entered.
        if unsafe { ffi::PyContext_Exit(self.0) } < 0 {
            // Nothing to report it to while unwinding: clear it.
            // SAFETY: attached, as above.
            let py = unsafe { Python::assume_attached() };
            drop(PyErr::take(py));
        }
    }
}
