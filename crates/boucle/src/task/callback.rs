//! `call_soon`, `call_later`, `call_at`: asyncio's callback scheduling,
//! each returning a cancellable [`CallHandle`].
//!
//! A callback runs as a small task, so it follows the loop's rules: a
//! `call_soon` runs at the next iteration in the order of the calls, a
//! `call_later` or `call_at` at its deadline in exact deadline order, and a
//! panic in a callback is reported by the loop without stopping it.

use std::fmt;
use std::time::{Duration, Instant};

use super::Task;
use crate::time::{sleep, sleep_until};

/// The handle of a callback scheduled with [`call_soon`], [`call_later`] or
/// [`call_at`] (asyncio's `Handle` and `TimerHandle`). Dropping it does not
/// cancel the callback.
///
/// # Examples
///
/// ```
/// use std::cell::Cell;
/// use std::rc::Rc;
/// use std::time::Duration;
///
/// let rt = boucle::Runtime::builder().virtual_time(true).build().unwrap();
/// rt.block_on(async {
///     let rang = Rc::new(Cell::new(0));
///     let r = rang.clone();
///     let handle = boucle::call_later(Duration::from_secs(5), move || r.set(r.get() + 1));
///     assert!(handle.when().is_some());
///     handle.cancel();
///     assert!(handle.cancelled());
///     boucle::sleep(Duration::from_secs(10)).await;
///     assert_eq!(rang.get(), 0);
/// });
/// ```
pub struct CallHandle {
    task: Task<()>,
    when: Option<Instant>,
}

/// asyncio's name for the handle of a timed callback.
pub type TimerHandle = CallHandle;

impl CallHandle {
    /// Cancels the callback if it has not run yet (asyncio's
    /// `Handle.cancel()`). Returns false if it already ran.
    pub fn cancel(&self) -> bool {
        self.task.cancel()
    }

    /// True once [`cancel`](CallHandle::cancel) stopped the callback before
    /// it ran.
    pub fn cancelled(&self) -> bool {
        let info = self.task.info();
        info.cancel_requested || self.task.is_cancelled()
    }

    /// True once the callback has run (or was cancelled).
    pub fn is_done(&self) -> bool {
        self.task.is_done()
    }

    /// The loop time the callback is due at (asyncio's `TimerHandle.when()`);
    /// `None` for [`call_soon`].
    pub fn when(&self) -> Option<Instant> {
        self.when
    }
}

impl fmt::Debug for CallHandle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CallHandle")
            .field("when", &self.when)
            .field("done", &self.is_done())
            .field("cancelled", &self.cancelled())
            .finish()
    }
}

/// Runs `callback` at the next loop iteration, after the callbacks and
/// tasks already scheduled (asyncio's `loop.call_soon`).
///
/// # Examples
///
/// ```
/// use std::cell::RefCell;
/// use std::rc::Rc;
///
/// boucle::run(async {
///     let log = Rc::new(RefCell::new(Vec::new()));
///     for i in 0..3 {
///         let log = log.clone();
///         boucle::call_soon(move || log.borrow_mut().push(i));
///     }
///     assert!(log.borrow().is_empty()); // not yet: at the next iteration
///     boucle::yield_now().await;
///     assert_eq!(*log.borrow(), [0, 1, 2]);
/// });
/// ```
///
/// # Panics
/// Outside a running loop.
#[track_caller]
pub fn call_soon(callback: impl FnOnce() + 'static) -> CallHandle {
    CallHandle {
        task: crate::spawn(async move { callback() }),
        when: None,
    }
}

/// Runs `callback` once `delay` of loop time has passed (asyncio's
/// `loop.call_later`); the delay counts from this call's loop time, as a
/// `sleep` begun here would.
///
/// # Examples
/// See [`CallHandle`].
///
/// # Panics
/// Outside a running loop.
#[track_caller]
pub fn call_later(delay: Duration, callback: impl FnOnce() + 'static) -> CallHandle {
    let timer = sleep(delay);
    let when = timer.deadline();
    CallHandle {
        task: crate::spawn(async move {
            timer.await;
            callback();
        }),
        when: Some(when),
    }
}

/// Runs `callback` at loop time `when` (asyncio's `loop.call_at`).
///
/// # Examples
///
/// ```
/// use std::cell::Cell;
/// use std::rc::Rc;
/// use std::time::Duration;
///
/// let rt = boucle::Runtime::builder().virtual_time(true).build().unwrap();
/// rt.block_on(async {
///     let at = Rc::new(Cell::new(None));
///     let start = boucle::now();
///     let a = at.clone();
///     let handle = boucle::call_at(start + Duration::from_secs(2), move || a.set(Some(boucle::now())));
///     assert_eq!(handle.when(), Some(start + Duration::from_secs(2)));
///     boucle::sleep(Duration::from_secs(3)).await;
///     assert_eq!(at.get(), Some(start + Duration::from_secs(2)));
/// });
/// ```
///
/// # Panics
/// Outside a running loop.
#[track_caller]
pub fn call_at(when: Instant, callback: impl FnOnce() + 'static) -> CallHandle {
    CallHandle {
        task: crate::spawn(async move {
            sleep_until(when).await;
            callback();
        }),
        when: Some(when),
    }
}
