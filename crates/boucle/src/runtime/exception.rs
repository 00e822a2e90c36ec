//! The loop's exception handler (asyncio's `set_exception_handler`): what
//! happens to a panic that nobody will ever observe.

use std::any::Any;
use std::fmt;
use std::panic::{self, AssertUnwindSafe};
use std::rc::Rc;

use crate::task::error::payload_str;
use crate::task::TaskInfo;

/// A handler set with [`Builder::exception_handler`](crate::Builder::exception_handler).
pub(crate) type Handler = Rc<dyn Fn(&ExceptionContext<'_>)>;

/// What the exception handler is told about a panic nobody observed
/// (asyncio passes a context dict with `message`, `exception` and `task`).
///
/// # Examples
///
/// ```
/// use std::cell::RefCell;
/// use std::rc::Rc;
///
/// let seen = Rc::new(RefCell::new(Vec::new()));
/// let log = seen.clone();
/// let rt = boucle::Runtime::builder()
///     .exception_handler(move |cx: &boucle::ExceptionContext<'_>| {
///         let task = cx.task().map(|t| t.label()).unwrap_or_default();
///         log.borrow_mut().push(format!("{task}: {}", cx.panic_message().unwrap_or("?")));
///     })
///     .build()
///     .unwrap();
/// rt.block_on(async {
///     drop(boucle::task::Builder::new().name("worker").spawn(async { panic!("disk full") }));
///     boucle::yield_now().await;
/// });
/// assert_eq!(*seen.borrow(), ["worker: disk full"]);
/// ```
pub struct ExceptionContext<'a> {
    task: Option<&'a TaskInfo>,
    payload: &'a (dyn Any + Send),
}

impl<'a> ExceptionContext<'a> {
    /// asyncio's `message`: what happened, in words.
    pub fn message(&self) -> &'static str {
        if self.task.is_some() {
            "a task panicked and nobody awaited it"
        } else {
            "a panic that nobody awaited"
        }
    }

    /// The task that panicked (name, id, spawn location), when known.
    pub fn task(&self) -> Option<&'a TaskInfo> {
        self.task
    }

    /// The panic payload (asyncio's `exception`), e.g. to downcast.
    pub fn payload(&self) -> &'a (dyn Any + Send) {
        self.payload
    }

    /// The panic message, when the payload is a string (as `panic!` makes).
    pub fn panic_message(&self) -> Option<&'a str> {
        payload_str(self.payload)
    }
}

/// The default handler's line: the task's name and spawn location, and the
/// panic message.
impl fmt::Display for ExceptionContext<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let msg = self.panic_message().unwrap_or("Box<dyn Any>");
        match self.task {
            Some(info) => write!(f, "{info} panicked and nobody awaited it: {msg}"),
            None => write!(f, "a panic that nobody awaited: {msg}"),
        }
    }
}

impl fmt::Debug for ExceptionContext<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ExceptionContext")
            .field("message", &self.message())
            .field("task", &self.task)
            .field("panic_message", &self.panic_message())
            .finish()
    }
}

/// The default handler (asyncio's `default_exception_handler`): one line
/// on stderr.
pub(crate) fn default_report(task: Option<&TaskInfo>, payload: &(dyn Any + Send)) {
    let cx = ExceptionContext { task, payload };
    eprintln!("boucle: {cx}");
}

/// Calls `handler`, or the default one. A handler that panics is reported
/// with the default handler, then the original panic too (asyncio logs
/// "Unhandled error in exception handler").
pub(crate) fn report(
    handler: Option<&Handler>,
    task: Option<&TaskInfo>,
    payload: &(dyn Any + Send),
) {
    let Some(handler) = handler else {
        return default_report(task, payload);
    };
    let cx = ExceptionContext { task, payload };
    if let Err(p) = panic::catch_unwind(AssertUnwindSafe(|| handler(&cx))) {
        let msg = payload_str(&*p).unwrap_or("Box<dyn Any>");
        eprintln!("boucle: the exception handler panicked: {msg}");
        default_report(task, payload);
    }
}
