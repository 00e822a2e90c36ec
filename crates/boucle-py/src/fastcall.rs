//! `call_soon`, `call_soon_threadsafe`, `call_later`, `call_at` and
//! `create_task` as CPython `METH_FASTCALL | METH_KEYWORDS` methods of
//! `LoopCore`, parsed by hand.
//!
//! Why not `#[pymethods]`: the first four are what asyncio's C `Task` and
//! `Future` call at every step (`loop.call_soon(step, context=ctx)`), and
//! PyO3's generic argument handling (matching keyword names by their UTF-8
//! text, collecting `*args` into a tuple, its trampoline) cost about 250 of
//! the roughly 950 instructions boucle spent per `await asyncio.sleep(0)`
//! (callgrind, `crates/bench/PYTHON-LOOPS.md`); `create_task` was a Python
//! method, a frame and a `**kwargs` dict per task. Here a keyword is first
//! matched by identity with the interned name (what CPython's callers
//! pass), `*args` stays a slice of the caller's array, and the methods
//! themselves are the safe functions of `core.rs`. PyO3 has no way to
//! declare such a method, so this module builds the method descriptors
//! with the C API and sets them on the class when the module is imported:
//! like capi.rs, it holds `unsafe`, each block with its `// SAFETY:` line.

use std::ffi::{c_char, c_int, CStr};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::ptr;

use pyo3::exceptions::{PySystemError, PyTypeError};
use pyo3::ffi;
use pyo3::panic::PanicException;
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::{PyDict, PyString, PyTuple};
use pyo3::{intern, PyTypeInfo};

use crate::core::LoopCore;
use crate::handle::Args;

/// Objects of a vectorcall's argument array, borrowed for the call.
#[derive(Clone, Copy)]
struct Objects<'a, 'py> {
    py: Python<'py>,
    ptrs: &'a [*mut ffi::PyObject],
}

impl<'a, 'py> Objects<'a, 'py> {
    /// # Safety
    /// Every pointer of `ptrs` is a live object for `'a` (as a
    /// vectorcall's arguments are for the call).
    unsafe fn new(py: Python<'py>, ptrs: &'a [*mut ffi::PyObject]) -> Self {
        Objects { py, ptrs }
    }

    fn get(&self, i: usize) -> Option<Borrowed<'a, 'py, PyAny>> {
        // SAFETY: a live object for `'a` (`Objects::new`).
        let at = |p| unsafe { Borrowed::from_ptr(self.py, p) };
        self.ptrs.get(i).map(|&p| at(p))
    }

    fn len(&self) -> usize {
        self.ptrs.len()
    }

    fn iter(self) -> impl ExactSizeIterator<Item = Borrowed<'a, 'py, PyAny>> {
        (0..self.len()).map(move |i| self.get(i).expect("in range"))
    }

    /// The objects from `n` on (none if fewer).
    fn from(self, n: usize) -> Self {
        Objects {
            py: self.py,
            ptrs: self.ptrs.get(n..).unwrap_or(&[]),
        }
    }
}

/// One call's arguments, borrowed from the caller's array.
pub(crate) struct Call<'a, 'py> {
    /// The named leading parameters (`delay`, `callback`), in order.
    fixed: [Option<Borrowed<'a, 'py, PyAny>>; 2],
    /// What `*args` collects.
    rest: Objects<'a, 'py>,
    context: Option<Borrowed<'a, 'py, PyAny>>,
}

impl<'a, 'py> Call<'a, 'py> {
    /// Fixed parameter `i` (checked present by `parse`).
    pub(crate) fn fixed(&self, i: usize) -> Borrowed<'a, 'py, PyAny> {
        self.fixed[i].expect("parse checked every fixed parameter")
    }

    /// `*args`, without a tuple for up to two.
    pub(crate) fn args(&self) -> PyResult<Args> {
        Args::new(self.rest.py, self.rest.iter())
    }

    /// `context=` (`None` if absent).
    pub(crate) fn context(&self) -> Option<Py<PyAny>> {
        self.context.map(|c| c.to_owned().unbind())
    }
}

/// A call's arguments as CPython passes them: the positional ones, then
/// the keyword names and their values.
#[derive(Clone, Copy)]
pub(crate) struct Arguments<'a, 'py> {
    positional: Objects<'a, 'py>,
    kwnames: Option<Borrowed<'a, 'py, PyTuple>>,
    kwvalues: Objects<'a, 'py>,
}

/// Binds a call's arguments to `(names[0], ..., *args, context=None)`,
/// with CPython's error messages.
// Inlined into each method, as it was before `create_task` shared `enter`
// (callgrind: about 100 instructions more per ping_pong round trip outlined).
#[inline(always)]
fn parse<'a, 'py>(
    method: &str,
    names: &[&str],
    arguments: Arguments<'a, 'py>,
) -> PyResult<Call<'a, 'py>> {
    let Arguments {
        positional,
        kwnames,
        kwvalues,
    } = arguments;
    let py = positional.py;
    let n = names.len();
    let mut call = Call {
        fixed: [None, None],
        rest: positional.from(n),
        context: None,
    };
    for (i, slot) in call.fixed.iter_mut().enumerate().take(n) {
        *slot = positional.get(i);
    }
    if let Some(kwnames) = kwnames {
        let context = intern!(py, "context");
        for (name, value) in kwnames.iter_borrowed().zip(kwvalues.iter()) {
            if is_context(&name, context)? {
                call.context = Some(value);
                continue;
            }
            let name = name.cast::<PyString>()?;
            let name = name.to_cow()?;
            let Some(i) = names.iter().position(|&f| f == name) else {
                return Err(PyTypeError::new_err(format!(
                    "{method}() got an unexpected keyword argument '{name}'"
                )));
            };
            if call.fixed[i].is_some() {
                return Err(PyTypeError::new_err(format!(
                    "{method}() got multiple values for argument '{name}'"
                )));
            }
            call.fixed[i] = Some(value);
        }
    }
    if call.fixed[..n].iter().any(Option::is_none) {
        let missing: Vec<_> = names
            .iter()
            .zip(&call.fixed)
            .filter(|(_, v)| v.is_none())
            .map(|(name, _)| format!("'{name}'"))
            .collect();
        let s = if missing.len() == 1 { "" } else { "s" };
        return Err(PyTypeError::new_err(format!(
            "{method}() missing {} required positional argument{s}: {}",
            missing.len(),
            missing.join(" and ")
        )));
    }
    Ok(call)
}

/// Whether keyword `name` is `context`. Callers pass an interned `str`,
/// compared by identity: Python code passes the interned one `intern!`
/// gives, asyncio's C `Task` (3.11) a static one of its own, learned at
/// its first use.
fn is_context(name: &Bound<'_, PyAny>, context: &Bound<'_, PyString>) -> PyResult<bool> {
    static OTHER: PyOnceLock<Py<PyAny>> = PyOnceLock::new();
    let py = name.py();
    if name.is(context) || OTHER.get(py).is_some_and(|o| name.is(o)) {
        return Ok(true);
    }
    if !name.eq(context)? {
        return Ok(false);
    }
    OTHER.get_or_init(py, || name.clone().unbind());
    Ok(true)
}

type Body = for<'a, 'py> fn(&Bound<'py, LoopCore>, Arguments<'a, 'py>) -> PyResult<Py<PyAny>>;

/// The C-level method: runs `body` on the call's arguments, and turns its
/// error or panic into a Python exception.
///
/// # Safety
/// CPython's `METH_FASTCALL | METH_KEYWORDS` contract: `slf` is a
/// `LoopCore` (the descriptor checks it), `args` holds `nargs` positional
/// values then one per name of `kwnames` (a tuple of `str`, or NULL).
unsafe fn enter(
    body: Body,
    slf: *mut ffi::PyObject,
    args: *const *mut ffi::PyObject,
    nargs: ffi::Py_ssize_t,
    kwnames: *mut ffi::PyObject,
) -> *mut ffi::PyObject {
    Python::attach(|py| {
        let outcome = catch_unwind(AssertUnwindSafe(|| {
            // SAFETY: a method descriptor made for `LoopCore`'s type
            // (`register`) calls its function only with an instance of that
            // type or a subclass (`descr_check` in CPython's
            // descrobject.c), and `slf` is live for the call.
            let slf = unsafe { Borrowed::from_ptr(py, slf).cast_unchecked::<LoopCore>() };
            // SAFETY: `kwnames` is NULL or a live tuple (the contract).
            let kwnames = unsafe {
                Borrowed::from_ptr_or_opt(py, kwnames).map(|k| k.cast_unchecked::<PyTuple>())
            };
            let nkw = kwnames.as_ref().map_or(0, |k| k.len());
            let nargs = usize::try_from(nargs).unwrap_or(0);
            let all = if nargs + nkw == 0 {
                &[][..]
            } else {
                // SAFETY: `args` points to `nargs` positional values then
                // `nkw` keyword values, live for the call (the contract).
                unsafe { std::slice::from_raw_parts(args, nargs + nkw) }
            };
            let (positional, kwvalues) = all.split_at(nargs);
            // SAFETY: the call's arguments, live for it (the contract).
            let (positional, kwvalues) =
                unsafe { (Objects::new(py, positional), Objects::new(py, kwvalues)) };
            let arguments = Arguments {
                positional,
                kwnames,
                kwvalues,
            };
            body(&slf, arguments)
        }));
        let err = match outcome {
            Ok(Ok(value)) => return value.into_ptr(),
            Ok(Err(e)) => e,
            Err(panic) => {
                let text = panic
                    .downcast_ref::<&str>()
                    .map(|s| s.to_string())
                    .or_else(|| panic.downcast_ref::<String>().cloned())
                    .unwrap_or_else(|| "panic".into());
                PanicException::new_err(text)
            }
        };
        err.restore(py);
        ptr::null_mut()
    })
}

macro_rules! method {
    ($c_name:ident, $body:expr) => {
        unsafe extern "C" fn $c_name(
            slf: *mut ffi::PyObject,
            args: *const *mut ffi::PyObject,
            nargs: ffi::Py_ssize_t,
            kwnames: *mut ffi::PyObject,
        ) -> *mut ffi::PyObject {
            // SAFETY: CPython calls this with `enter`'s contract: it is
            // registered with `METH_FASTCALL | METH_KEYWORDS` on a
            // descriptor of `LoopCore` (`register`).
            unsafe { enter($body, slf, args, nargs, kwnames) }
        }
    };
}

/// A scheduling method: its arguments bound by `parse` to
/// `(params..., *args, context=None)`, then `body`.
macro_rules! scheduling {
    ($c_name:ident, $name:literal, [$($param:literal),*], $body:expr) => {
        method!($c_name, |slf, arguments| {
            let call = parse($name, &[$($param),*], arguments)?;
            let body: fn(&Bound<'_, LoopCore>, Call<'_, '_>) -> PyResult<Py<PyAny>> = $body;
            body(slf, call)
        });
    };
}

scheduling!(call_soon, "call_soon", ["callback"], |slf, call| {
    let handle = LoopCore::call_soon(slf, &call.fixed(0), call.args()?, call.context())?;
    Ok(handle.into_any())
});
scheduling!(
    call_soon_threadsafe,
    "call_soon_threadsafe",
    ["callback"],
    |slf, call| {
        let cb = call.fixed(0);
        let handle = LoopCore::call_soon_threadsafe(slf, &cb, call.args()?, call.context())?;
        Ok(handle.into_any())
    }
);
scheduling!(
    call_later,
    "call_later",
    ["delay", "callback"],
    |slf, call| {
        let delay = number(call.fixed(0), "delay must not be None")?;
        let cb = call.fixed(1);
        let handle = LoopCore::call_later(slf, delay, &cb, call.args()?, call.context())?;
        Ok(handle.into_any())
    }
);
scheduling!(call_at, "call_at", ["when", "callback"], |slf, call| {
    let when = number(call.fixed(0), "when cannot be None")?;
    let cb = call.fixed(1);
    let handle = LoopCore::call_at(slf, when, &cb, call.args()?, call.context())?;
    Ok(handle.into_any())
});

method!(create_task, |slf, arguments| {
    let (coro, kwargs, plain) = parse_create_task(slf.py(), arguments)?;
    LoopCore::create_task(slf, &coro, kwargs, plain)
});

/// Binds `create_task(coro, *, name=None, context=None, **kwargs)`: the
/// coroutine, the keyword arguments as a dict, and whether there were
/// only `name` and `context`.
fn parse_create_task<'a, 'py>(
    py: Python<'py>,
    arguments: Arguments<'a, 'py>,
) -> PyResult<(Bound<'py, PyAny>, Bound<'py, PyDict>, bool)> {
    let Arguments {
        positional,
        kwnames,
        kwvalues,
    } = arguments;
    if positional.len() > 1 {
        return Err(PyTypeError::new_err(format!(
            "create_task() takes 2 positional arguments but {} were given",
            positional.len() + 1
        )));
    }
    let mut coro = positional.get(0).map(|c| c.to_owned());
    let kwargs = PyDict::new(py);
    let mut plain = true;
    if let Some(kwnames) = kwnames {
        let context = intern!(py, "context");
        let name_key = intern!(py, "name");
        for (name, value) in kwnames.iter_borrowed().zip(kwvalues.iter()) {
            if is_context(&name, context)? {
                kwargs.set_item(context, value)?;
            } else if name.is(name_key) || name.eq(name_key)? {
                kwargs.set_item(name_key, value)?;
            } else if name.eq(intern!(py, "coro"))? {
                if coro.is_some() {
                    return Err(PyTypeError::new_err(
                        "create_task() got multiple values for argument 'coro'",
                    ));
                }
                coro = Some(value.to_owned());
            } else {
                kwargs.set_item(name, value)?;
                plain = false;
            }
        }
    }
    let coro = coro.ok_or_else(|| {
        PyTypeError::new_err("create_task() missing 1 required positional argument: 'coro'")
    })?;
    Ok((coro, kwargs, plain))
}

/// A `delay` or `when`: a number; `None` is a `TypeError` with asyncio's
/// message `none`.
fn number(arg: Borrowed<'_, '_, PyAny>, none: &str) -> PyResult<f64> {
    if arg.is_none() {
        return Err(PyTypeError::new_err(none.to_owned()));
    }
    arg.extract()
}

type CMethod = unsafe extern "C" fn(
    *mut ffi::PyObject,
    *const *mut ffi::PyObject,
    ffi::Py_ssize_t,
    *mut ffi::PyObject,
) -> *mut ffi::PyObject;

/// The methods: name, function and docstring (its first lines are
/// the signature `inspect.signature` reads).
const METHODS: [(&CStr, CMethod, &CStr); 5] = [
    (
        c"call_soon",
        call_soon,
        c"call_soon($self, callback, *args, context=None)\n--\n\n\
          Schedules `callback(*args)` for the next iteration.",
    ),
    (
        c"call_soon_threadsafe",
        call_soon_threadsafe,
        c"call_soon_threadsafe($self, callback, *args, context=None)\n--\n\n\
          Schedules `callback(*args)` from any thread, waking the loop.",
    ),
    (
        c"call_later",
        call_later,
        c"call_later($self, delay, callback, *args, context=None)\n--\n\n\
          Schedules `callback(*args)` `delay` seconds after this iteration's loop time.",
    ),
    (
        c"create_task",
        create_task,
        c"create_task($self, coro, *, name=None, context=None, **kwargs)\n--\n\n\
          Schedules the coroutine `coro` as an asyncio `Task` (made by the \
          task factory if one is set) and returns it.",
    ),
    (
        c"call_at",
        call_at,
        c"call_at($self, when, callback, *args, context=None)\n--\n\n\
          Schedules `callback(*args)` at loop time `when`.",
    ),
];

/// Sets the methods on `LoopCore` (at import).
pub(crate) fn register(py: Python<'_>) -> PyResult<()> {
    let class = LoopCore::type_object(py);
    for (name, meth, doc) in METHODS {
        // Descriptors keep a pointer to their definition: it lives as long
        // as the process (a few bytes per import of the module).
        let def: &'static mut ffi::PyMethodDef = Box::leak(Box::new(ffi::PyMethodDef {
            ml_name: name.as_ptr(),
            ml_meth: ffi::PyMethodDefPointer {
                PyCFunctionFastWithKeywords: meth,
            },
            ml_flags: (ffi::METH_FASTCALL | ffi::METH_KEYWORDS) as c_int,
            ml_doc: doc.as_ptr().cast::<c_char>(),
        }));
        // SAFETY: attached (`py`); `class` is a live type object and `def`
        // a complete definition that outlives the descriptor. It returns a
        // new reference or NULL with an exception set.
        let descr = unsafe {
            Bound::from_owned_ptr_or_opt(py, ffi::PyDescr_NewMethod(class.as_type_ptr(), def))
        }
        .ok_or_else(|| {
            PyErr::take(py).unwrap_or_else(|| PySystemError::new_err("PyDescr_NewMethod failed"))
        })?;
        class.setattr(name.to_str().expect("ASCII names"), descr)?;
    }
    Ok(())
}
