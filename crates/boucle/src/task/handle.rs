//! `Task<T>`: the handle of a spawned task.

use std::fmt;
use std::future::Future;
use std::marker::PhantomData;
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Poll};

use super::error::InvalidStateError;
use super::raw::TaskRef;
use super::waker::{Completions, WakeHandle};
use super::{TaskError, TaskId, TaskInfo};
use crate::runtime::context;

/// A handle to a spawned task (asyncio's `Task`). Await it for the task's
/// output: `Ok(value)`, or `Err(TaskError)` if the task was cancelled or
/// panicked.
///
/// Dropping the handle **detaches** the task: it keeps running, and a panic
/// in it is then reported on stderr by the loop. Use [`Task::cancel`] to stop
/// it. The handle is `!Send`: tasks belong to one loop thread.
///
/// ```compile_fail
/// fn assert_send<T: Send>(_: T) {}
/// boucle::run(async {
///     assert_send(boucle::spawn(async {}));
/// });
/// ```
///
/// # Cancel safety
/// Dropping a `Task` future while awaiting it does not cancel the task.
///
/// # Panics
/// Awaited from inside the task it is the handle of (asyncio raises
/// `RuntimeError` there): the wait could never end.
#[must_use = "dropping a Task detaches it; await it, or call .cancel() to stop it"]
pub struct Task<T> {
    raw: TaskRef,
    // `fn() -> T`: the handle does not own a `T` (the task memory does), so
    // it is `Unpin` whatever `T` is.
    _output: PhantomData<fn() -> T>,
}

impl<T> Task<T> {
    /// Wraps the handle reference of a task whose output type is `T`.
    pub(crate) fn from_raw(raw: TaskRef) -> Task<T> {
        Task {
            raw,
            _output: PhantomData,
        }
    }

    /// Asks the task to stop: at its next turn its future is dropped (its
    /// `Drop` cleanup runs) and awaiting the handle gives
    /// `Err(TaskError)` with `is_cancelled()`. Returns `false` if the task
    /// has already finished (as asyncio's `Task.cancel()`).
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// boucle::run(async {
    ///     let t = boucle::spawn(boucle::sleep(Duration::from_secs(3600)));
    ///     assert!(t.cancel());
    ///     assert!(t.await.unwrap_err().is_cancelled());
    /// });
    /// ```
    pub fn cancel(&self) -> bool {
        self.raw.request_cancel()
    }

    /// True once the task has finished (value, cancellation or panic).
    pub fn is_done(&self) -> bool {
        self.raw.header().state.is_complete()
    }

    /// True if the task finished by cancellation.
    pub fn is_cancelled(&self) -> bool {
        self.raw.header().state.is_cancelled()
    }

    /// The task's id.
    pub fn id(&self) -> TaskId {
        self.raw.id()
    }

    /// The name given with `task::Builder::name`, if any.
    pub fn name(&self) -> Option<Rc<str>> {
        self.raw.name()
    }

    /// asyncio's `task.done()`: the same as [`is_done`](Task::is_done).
    pub fn done(&self) -> bool {
        self.is_done()
    }

    /// The finished task's output, by reference, without awaiting
    /// (asyncio's `task.result()`): `Ok(value)`, or the `TaskError` of a
    /// cancellation or a panic. It can be read again; awaiting the handle
    /// (or [`take_result`](Task::take_result)) takes it.
    ///
    /// # Examples
    ///
    /// ```
    /// boucle::run(async {
    ///     let task = boucle::spawn(async { String::from("ready") });
    ///     assert!(task.result().is_err()); // not done yet
    ///     boucle::yield_now().await;
    ///     assert_eq!(task.result().unwrap().as_deref().unwrap(), "ready");
    ///     assert_eq!(task.await.unwrap(), "ready"); // still there to await
    /// });
    /// ```
    ///
    /// # Errors
    /// [`InvalidStateError`] if the task is still running or its output was
    /// already taken.
    pub fn result(&self) -> Result<&Result<T, TaskError>, InvalidStateError> {
        if !self.is_done() {
            return Err(InvalidStateError::not_done());
        }
        let output = self.peek().ok_or_else(InvalidStateError::taken)?;
        self.raw.header().state.mark_retrieved();
        Ok(output)
    }

    /// The error the task finished with, if any (asyncio's
    /// `task.exception()`): `Ok(None)` for a value, `Ok(Some(err))` for a
    /// cancellation or a panic. A panic looked at here (or through
    /// [`result`](Task::result)) counts as observed: dropping the handle
    /// then reports nothing, as asyncio logs only exceptions never
    /// retrieved.
    ///
    /// # Examples
    ///
    /// ```
    /// boucle::run(async {
    ///     let task = boucle::spawn(async { panic!("boom") });
    ///     boucle::yield_now().await;
    ///     let err = task.exception().unwrap().unwrap();
    ///     assert_eq!(err.panic_message(), Some("boom"));
    ///     drop(task); // the panic was looked at: nothing more to report
    /// });
    /// ```
    ///
    /// # Errors
    /// As [`result`](Task::result).
    pub fn exception(&self) -> Result<Option<&TaskError>, InvalidStateError> {
        self.result().map(|r| r.as_ref().err())
    }

    /// Takes the finished task's output without awaiting. Awaiting the
    /// handle afterwards panics, as awaiting it twice does.
    ///
    /// # Examples
    ///
    /// ```
    /// boucle::run(async {
    ///     let mut task = boucle::spawn(async { vec![1, 2, 3] });
    ///     boucle::yield_now().await;
    ///     assert_eq!(task.take_result().unwrap().unwrap(), [1, 2, 3]);
    ///     assert!(!task.take_result().unwrap_err().is_not_done()); // taken
    /// });
    /// ```
    ///
    /// # Errors
    /// As [`result`](Task::result).
    pub fn take_result(&mut self) -> Result<Result<T, TaskError>, InvalidStateError> {
        if !self.is_done() {
            return Err(InvalidStateError::not_done());
        }
        if self.peek().is_none() {
            return Err(InvalidStateError::taken());
        }
        self.try_take().ok_or_else(InvalidStateError::taken)
    }

    /// The output if the task is complete, without waiting and without
    /// spending the cooperative budget. `None` if it is still running.
    ///
    /// # Panics
    /// If the output was already taken.
    #[allow(unsafe_code)]
    pub(crate) fn try_take(&mut self) -> Option<Result<T, TaskError>> {
        if !self.is_done() {
            return None;
        }
        let mut out: Poll<Result<T, TaskError>> = Poll::Pending;
        let waker = std::task::Waker::noop();
        let cx = Context::from_waker(waker);
        // SAFETY: as in `poll`: `out` has the task's output type.
        unsafe { self.raw.poll_output(&mut out as *mut _ as *mut (), &cx) };
        match out {
            Poll::Ready(r) => Some(r),
            Poll::Pending => None,
        }
    }

    /// The output of a finished task, by reference, without taking it.
    /// `None` while it runs (or once the output has been taken).
    #[allow(unsafe_code)]
    pub(crate) fn peek(&self) -> Option<&Result<T, TaskError>> {
        // SAFETY: `T` is the task's output type (see `poll`), and taking the
        // output needs `&mut self`, which this borrow excludes.
        unsafe { self.raw.peek_output::<T>() }
    }

    /// Asks for a completion notice (this task's id) on `queue` instead of
    /// a wake-up. False if the task is already complete.
    pub(crate) fn notify_on_complete(&self, queue: &Rc<Completions>) -> bool {
        self.raw
            .notify_on_complete(WakeHandle::notify(queue.clone()))
    }

    /// A snapshot of the task (id, name, state, spawn location).
    pub fn info(&self) -> TaskInfo {
        TaskInfo::from_ref(&self.raw)
    }
}

impl<T> Future for Task<T> {
    type Output = Result<T, TaskError>;

    #[allow(unsafe_code)]
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        if crate::coop::poll_proceed(cx).is_pending() {
            return Poll::Pending;
        }
        let mut out: Poll<Result<T, TaskError>> = Poll::Pending;
        // SAFETY: `out` is a valid `Poll<Result<T, TaskError>>`, and `T` is
        // the task's output type: `Task<T>` is only built by `Core::spawn`
        // for a future whose output is `T`.
        unsafe { self.raw.poll_output(&mut out as *mut _ as *mut (), cx) };
        if out.is_pending() {
            if self.raw.is_woken_by(cx.waker()) {
                // asyncio raises "Task cannot await on itself"; waiting would
                // never end.
                panic!("boucle: a task cannot await its own Task handle (it would wait forever)");
            }
            crate::trace::hooks::waits(crate::trace::Awaiting::Task(self.raw.id()));
        }
        out
    }
}

impl<T> Drop for Task<T> {
    fn drop(&mut self) {
        if let Some(payload) = self.raw.drop_join_interest() {
            let info = TaskInfo::from_ref(&self.raw);
            if context::with_current(|core| core.report_panic(Some(&self.raw), &*payload)).is_none()
            {
                crate::runtime::exception::default_report(Some(&info), &*payload);
            }
        }
    }
}

impl<T> fmt::Debug for Task<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let info = self.info();
        f.debug_struct("Task")
            .field("id", &info.id)
            .field("name", &info.name)
            .field("state", &info.state)
            .finish()
    }
}
