//! One iteration (see `core.rs`). Steps 1-3: park or not, then collect
//! the batch of ready callbacks under one lock. With fds watched
//! (`readiness.rs`), the poller is always looked at, their handles are
//! queued after the callbacks sent from other threads and before the due
//! timers, and a virtual clock jumps only when no fd was ready. Step 4:
//! run the batch, reporting a callback's exception to the loop's exception
//! handler (all but `KeyboardInterrupt` and `SystemExit`, which stop the
//! loop with the rest of the batch put back).

use std::collections::VecDeque;
use std::sync::atomic::Ordering;
use std::time::Instant;

use pyo3::exceptions::{PyKeyboardInterrupt, PySystemExit};
use pyo3::intern;
use pyo3::prelude::*;
use pyo3::types::PyDict;

use crate::core::{lock, Item, Local, LoopCore};
use crate::handle::{Callback, Handle};
use crate::poller::{Park, Poller, Woke};

impl Item {
    /// The handle, holding `cb` again (the one it ran) until `unlend`.
    fn lend<'py>(&self, core: &Bound<'py, LoopCore>, cb: &Callback) -> Bound<'py, PyAny> {
        let py = core.py();
        match self {
            Item::Soon(h) => {
                h.get().lend(py, cb);
                h.bind(py).clone().into_any()
            }
            Item::Timer(h) => {
                h.get().lend(py, cb, core);
                h.bind(py).clone().into_any()
            }
        }
    }

    /// Ends `lend`: the handle drops its callback again.
    fn unlend(&self) {
        match self {
            Item::Soon(h) => h.get().unlend(),
            Item::Timer(h) => h.get().clear(),
        }
    }
}

impl LoopCore {
    /// One iteration; `batch` is the (empty) storage for its callbacks,
    /// `freed` for the handles it ran that can be used again (given to
    /// `keep_spares` at the end, one lock for the batch).
    pub(crate) fn run_once_inner(
        slf: &Bound<'_, Self>,
        batch: &mut VecDeque<Item>,
        freed: &mut Vec<Py<Handle>>,
    ) -> PyResult<()> {
        let result = Self::run_batch(slf, batch, freed);
        slf.get().keep_spares(freed);
        result
    }

    fn run_batch(
        slf: &Bound<'_, Self>,
        batch: &mut VecDeque<Item>,
        freed: &mut Vec<Py<Handle>>,
    ) -> PyResult<()> {
        let py = slf.py();
        let core = slf.get();
        core.prepare(py, batch)?;
        let slow = if core.debug.load(Ordering::Relaxed) {
            let limit = slf.getattr(intern!(py, "slow_callback_duration"));
            match limit.and_then(|l| l.extract::<f64>()) {
                Ok(limit) => Some(limit),
                Err(e) => {
                    core.requeue(batch);
                    return Err(e);
                }
            }
        } else {
            None
        };
        while let Some(item) = batch.pop_front() {
            // The handle gives its callback away here (but one of
            // `add_reader` / `add_writer`, which gives a copy).
            let cb = match &item {
                Item::Soon(h) => h.get().take_for_run(py),
                Item::Timer(h) => h.get().take_for_run(),
            };
            let ran = match cb {
                Some(cb) => Self::run_item(slf, &item, &cb, core.is_traced, slow),
                None => Ok(()),
            };
            if let Err(e) = ran {
                drop(item);
                core.requeue(batch);
                return Err(e);
            }
            if let Item::Soon(handle) = item {
                if Self::reusable(py, &handle) {
                    freed.push(handle);
                }
            }
        }
        Ok(())
    }

    /// Runs the callback `cb` of `item`; Err only for what must stop the
    /// loop.
    fn run_item(
        slf: &Bound<'_, Self>,
        item: &Item,
        cb: &Callback,
        traced: bool,
        slow: Option<f64>,
    ) -> PyResult<()> {
        let py = slf.py();
        let task = if traced {
            Self::trace_poll_start(slf, &cb.callback)
        } else {
            None
        };
        let started = slow.map(|_| Instant::now());
        let result = cb.run(py);
        if let Some(task) = task {
            Self::trace_poll_end(slf, task)?;
        }
        if let (Some(limit), Some(started)) = (slow, started) {
            let took = started.elapsed().as_secs_f64();
            if took >= limit {
                let shown = item.lend(slf, cb);
                let logged = slf.call_method1(intern!(py, "_log_slow_callback"), (shown, took));
                item.unlend();
                logged?;
            }
        }
        match result {
            Ok(()) => Ok(()),
            Err(e)
                if e.is_instance_of::<PyKeyboardInterrupt>(py)
                    || e.is_instance_of::<PySystemExit>(py) =>
            {
                Err(e)
            }
            Err(e) => {
                let context = PyDict::new(py);
                let text = crate::readiness::repr(cb.callback.bind(py));
                context.set_item("message", format!("Exception in callback {text}"))?;
                context.set_item("exception", e.value(py))?;
                context.set_item("handle", item.lend(slf, cb))?;
                let handled = slf.call_method1(intern!(py, "call_exception_handler"), (context,));
                item.unlend();
                handled.map(drop)
            }
        }
    }

    /// Steps 1-3: parks as the module doc says, then moves what is ready
    /// into `batch` (empty on entry). When nothing needs a park or a look
    /// at I/O, one lock does it all.
    pub(crate) fn prepare(&self, py: Python<'_>, batch: &mut VecDeque<Item>) -> PyResult<()> {
        let (park, jump) = {
            let mut guard = self.local();
            let l = &mut *guard;
            let watching = self.io_sources.load(Ordering::Relaxed) > 0;
            if watching {
                l.io.rearm();
            }
            let (park, jump) = self.decide(l, watching);
            if park == Park::Poll && !watching {
                // Nothing to look at but the waker, whose flag `collect` reads.
                self.collect(py, l, batch, None);
                return Ok(());
            }
            (park, jump)
        };
        let mut guard = lock(&self.poller);
        let poller: &mut Poller = &mut guard;
        let woke = match park {
            Park::Poll => poller.park(park),
            _ => py.detach(|| poller.park(park)),
        };
        let mut local = self.local();
        self.collect(py, &mut local, batch, Some(&*poller));
        if jump && batch.is_empty() {
            // No fd was ready: the virtual clock goes to the next timer.
            Self::virtual_jump(&mut local);
            std::mem::swap(&mut local.ready, batch);
        }
        drop(local);
        drop(guard);
        match woke {
            Ok(Woke::Normally) => Ok(()),
            // Python's signal handlers (KeyboardInterrupt, asyncio.Runner's
            // SIGINT handler) run here; the batch is run first or requeued.
            Ok(Woke::Interrupted) => py.check_signals().inspect_err(|_| self.requeue(batch)),
            Err(e) => {
                self.requeue(batch);
                Err(e.into())
            }
        }
    }

    /// How to park; timers found by a virtual jump go to the ready queue.
    /// With fds `watching`, a virtual clock first looks at them (`Poll`)
    /// and jumps only if none was ready (the `bool`: jump then).
    fn decide(&self, l: &mut Local, watching: bool) -> (Park, bool) {
        if !l.ready.is_empty()
            || self.stopping.load(Ordering::Relaxed)
            || self.notified.load(Ordering::Acquire)
        {
            (Park::Poll, false)
        } else if l.clock.is_virtual()
            && !l.wheel.is_empty()
            && self.held.load(Ordering::Acquire) == 0
        {
            if watching {
                return (Park::Poll, true);
            }
            // Nothing can happen before the next timer: go there.
            Self::virtual_jump(l);
            (Park::Poll, false)
        } else {
            // A cancelled timer holds nothing back.
            let held = l.held.front().map(|h| {
                let h = h.get();
                if h.is_cancelled() {
                    0
                } else {
                    h.not_before
                }
            });
            let next = match (l.wheel.next_wake(), held) {
                (Some(a), Some(b)) => Some(a.min(b)),
                (a, b) => a.or(b),
            };
            let park = match next {
                Some(t) if !l.clock.is_virtual() => {
                    // Sort the wheel's next cascades while waiting anyway,
                    // as boucle's own loop does.
                    let t = l.wheel.stage_before_park(l.clock.now(), t);
                    Park::Until(l.clock.monotonic_deadline(t))
                }
                _ => Park::Forever,
            };
            (park, false)
        }
    }

    /// Moves a virtual clock to the next timer that fires; queues it.
    fn virtual_jump(l: &mut Local) {
        while let Some(t) = l.wheel.next_wake() {
            l.clock.advance_to(t);
            l.wheel.advance(l.clock.now(), &mut l.fired);
            if !l.fired.is_empty() {
                break;
            }
        }
        l.ready.extend(l.fired.drain(..).map(Item::Timer));
    }

    /// Moves what other threads sent (`call_soon_threadsafe`) to the ready
    /// queue. `call_soon` does it first too, so that a callback sent from
    /// another thread before a `call_soon` (the send happened before it, as
    /// asyncio's test_call_soon_threadsafe arranges with a lock) runs
    /// before it, as in asyncio's single ready queue.
    pub(crate) fn take_remote(&self, l: &mut Local) {
        // A load first: most iterations find nothing sent, and a swap
        // would be a locked instruction each time.
        if self.notified.load(Ordering::Relaxed) && self.notified.swap(false, Ordering::Acquire) {
            let sent = std::mem::take(&mut *lock(&self.remote));
            l.ready.extend(sent);
        }
    }

    /// Steps 2-3: the batch to run this iteration, swapped into `batch`;
    /// `poller`: the events of the park just done, if any.
    fn collect(
        &self,
        py: Python<'_>,
        l: &mut Local,
        batch: &mut VecDeque<Item>,
        poller: Option<&Poller>,
    ) {
        self.take_remote(l);
        if let Some(poller) = poller {
            l.io.dispatch(py, poller.events(), &mut l.ready);
        }
        l.clock.tick();
        if !l.wheel.is_empty() || !l.held.is_empty() {
            Self::fire_due(l);
        }
        // With no timer armed, nothing reads the clock here: the first
        // `time()` or `call_later` of the iteration samples it.
        debug_assert!(batch.is_empty());
        std::mem::swap(&mut l.ready, batch);
    }

    /// Moves the timers due at this iteration's loop time (sampled here)
    /// to the ready queue, in firing order, holding back those whose
    /// delay since the call itself has not passed (`Local::held`).
    fn fire_due(l: &mut Local) {
        let now = l.clock.now();
        l.wheel.advance(now, &mut l.fired);
        if l.fired.is_empty() {
            // Most iterations fire no timer.
        } else if l.held.is_empty() {
            // Usually every fired timer's call was long enough ago.
            let first_held = l.fired.iter().position(|h| h.get().not_before > now);
            let rest = first_held.map(|i| l.fired.split_off(i));
            l.ready.extend(l.fired.drain(..).map(Item::Timer));
            l.held.extend(rest.into_iter().flatten());
        } else {
            l.held.extend(l.fired.drain(..));
        }
        while l
            .held
            .front()
            .is_some_and(|h| h.get().not_before <= now || h.get().is_cancelled())
        {
            let h = l.held.pop_front().expect("front exists");
            l.ready.push_back(Item::Timer(h));
        }
    }

    /// Puts back what a batch did not run (an exception stopped it).
    pub(crate) fn requeue(&self, rest: &mut VecDeque<Item>) {
        let mut l = self.local();
        while let Some(item) = rest.pop_back() {
            l.ready.push_front(item);
        }
    }
}
