//! boucle for Python: the native half of `boucle.Loop`, an asyncio event
//! loop whose ready queue, handles, timers (boucle's wheel: exact deadline
//! order, loop time cached per iteration, virtual time) and iterations are
//! Rust. The Python package (`python/boucle/`) completes the
//! `asyncio.AbstractEventLoop` API around it.

#![deny(unsafe_code)]

#[allow(unsafe_code)]
mod capi;
mod core;
#[allow(unsafe_code)]
mod fastcall;
mod handle;
mod iteration;
mod poller;
mod pump;
mod random;
mod readiness;
mod tracing;

use pyo3::prelude::*;

/// The extension module `boucle._boucle`.
#[pymodule]
fn _boucle(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<core::LoopCore>()?;
    fastcall::register(m.py())?;
    m.add_class::<handle::Handle>()?;
    m.add_class::<handle::TimerHandle>()?;
    m.add_class::<tracing::Trace>()?;
    m.add_class::<pump::ReadPump>()?;
    random::register(m)?;
    Ok(())
}
