//! `TaskError`: why awaiting a `Task` gave no value.

use std::any::Any;
use std::fmt;
use std::sync::Mutex;

/// Why a task has no output: it was cancelled, or its future panicked.
///
/// asyncio raises `CancelledError` or the task's exception when a task is
/// awaited; boucle returns this error instead.
///
/// # Examples
///
/// ```
/// let err = boucle::run(async {
///     let task = boucle::spawn(async { panic!("boom") });
///     task.await.unwrap_err()
/// });
/// assert!(err.is_panic());
/// assert_eq!(err.panic_message(), Some("boom"));
/// ```
pub struct TaskError {
    repr: Repr,
}

enum Repr {
    Cancelled,
    // Boxed: a `TaskError` is one pointer, so `Result<T, TaskError>` (stored
    // in every task) stays small.
    Panic(Box<PanicRepr>),
}

struct PanicRepr {
    message: Option<String>,
    // A `Mutex` so that `TaskError` is `Sync` (error crates require it); the
    // payload itself is only `Send`.
    payload: Mutex<Box<dyn Any + Send + 'static>>,
}

impl TaskError {
    pub(crate) fn cancelled() -> TaskError {
        TaskError {
            repr: Repr::Cancelled,
        }
    }

    pub(crate) fn panic(payload: Box<dyn Any + Send + 'static>) -> TaskError {
        TaskError {
            repr: Repr::Panic(Box::new(PanicRepr {
                message: payload_str(&*payload).map(str::to_owned),
                payload: Mutex::new(payload),
            })),
        }
    }

    /// True if the task was cancelled (`Task::cancel`, a group or a timeout
    /// cancelled it, or the loop shut down before it finished).
    pub fn is_cancelled(&self) -> bool {
        matches!(self.repr, Repr::Cancelled)
    }

    /// True if the task's future panicked (in `poll`, or in its destructor).
    pub fn is_panic(&self) -> bool {
        matches!(self.repr, Repr::Panic(_))
    }

    /// The panic payload, to hand to `std::panic::resume_unwind`; the error
    /// itself back if the task was cancelled rather than panicked.
    ///
    /// # Examples
    ///
    /// ```
    /// boucle::run(async {
    ///     let err = boucle::spawn(async { std::panic::panic_any(42u32) }).await.unwrap_err();
    ///     assert_eq!(*err.into_panic().unwrap().downcast::<u32>().unwrap(), 42);
    ///
    ///     let t = boucle::spawn(std::future::pending::<()>());
    ///     t.cancel();
    ///     let err = t.await.unwrap_err();
    ///     assert!(err.into_panic().unwrap_err().is_cancelled());
    /// });
    /// ```
    ///
    /// # Errors
    /// The `TaskError` itself when it is a cancellation.
    pub fn into_panic(self) -> Result<Box<dyn Any + Send + 'static>, TaskError> {
        match self.repr {
            Repr::Panic(p) => Ok(p.payload.into_inner().unwrap_or_else(|e| e.into_inner())),
            Repr::Cancelled => Err(self),
        }
    }

    /// The panic message, when the payload is a string (as `panic!` makes).
    pub fn panic_message(&self) -> Option<&str> {
        match &self.repr {
            Repr::Panic(p) => p.message.as_deref(),
            Repr::Cancelled => None,
        }
    }
}

/// The message in a panic payload (`&'static str` or `String`).
pub(crate) fn payload_str(payload: &(dyn Any + Send)) -> Option<&str> {
    if let Some(s) = payload.downcast_ref::<&'static str>() {
        Some(s)
    } else {
        payload.downcast_ref::<String>().map(String::as_str)
    }
}

impl fmt::Display for TaskError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.repr {
            Repr::Cancelled => f.write_str("task was cancelled"),
            Repr::Panic(p) => match &p.message {
                Some(msg) => write!(f, "task panicked: {msg}"),
                None => f.write_str("task panicked"),
            },
        }
    }
}

impl fmt::Debug for TaskError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.repr {
            Repr::Cancelled => f.write_str("TaskError::Cancelled"),
            Repr::Panic(_) => write!(f, "TaskError::Panic({self})"),
        }
    }
}

impl std::error::Error for TaskError {}

/// A finished task's output was asked for when there is none to read
/// (asyncio's `InvalidStateError`): the task is still running, or its output
/// was already taken (by awaiting the handle or by `Task::take_result`).
///
/// # Examples
///
/// ```
/// boucle::run(async {
///     let task = boucle::spawn(async { 7 });
///     let err = task.result().unwrap_err();
///     assert!(err.is_not_done());
///     assert_eq!(err.to_string(), "the task is not done yet");
/// });
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct InvalidStateError {
    taken: bool,
}

impl InvalidStateError {
    pub(crate) fn not_done() -> InvalidStateError {
        InvalidStateError { taken: false }
    }

    pub(crate) fn taken() -> InvalidStateError {
        InvalidStateError { taken: true }
    }

    /// True if the task is still running; false if its output was taken.
    pub fn is_not_done(&self) -> bool {
        !self.taken
    }
}

impl fmt::Display for InvalidStateError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(if self.taken {
            "the task's output was already taken"
        } else {
            "the task is not done yet"
        })
    }
}

impl std::error::Error for InvalidStateError {}
