//! How a shard's work fails: [`ShardError`] in the results, and
//! [`ShardException`] for the sharded runtime's exception handler.

use std::any::Any;
use std::fmt;

use super::Shard;
use crate::runtime::ExceptionContext;
use crate::task::error::payload_str;
use crate::task::TaskInfo;

/// Why a shard gave no output: its main future panicked (the shard was
/// stopped, the others went on), or the shard had stopped (or stopped
/// before the future finished).
///
/// # Examples
///
/// ```
/// let out = boucle::run_sharded(2, |shard| async move {
///     if shard.id() == 1 {
///         panic!("disk full");
///     }
///     "fine"
/// });
/// assert_eq!(*out[0].as_ref().unwrap(), "fine");
/// let err = out[1].as_ref().unwrap_err();
/// assert!(err.is_panic());
/// assert_eq!(err.shard(), 1);
/// assert_eq!(err.panic_message(), Some("disk full"));
/// assert_eq!(err.to_string(), "shard 1 panicked: disk full");
/// ```
pub struct ShardError {
    shard: usize,
    kind: Kind,
}

enum Kind {
    Panicked(Box<dyn Any + Send>),
    Stopped,
}

impl ShardError {
    pub(crate) fn panicked(shard: usize, payload: Box<dyn Any + Send>) -> ShardError {
        ShardError {
            shard,
            kind: Kind::Panicked(payload),
        }
    }

    pub(crate) fn stopped(shard: usize) -> ShardError {
        ShardError {
            shard,
            kind: Kind::Stopped,
        }
    }

    /// The shard this error comes from.
    pub fn shard(&self) -> usize {
        self.shard
    }

    /// True if the shard's future panicked.
    pub fn is_panic(&self) -> bool {
        matches!(self.kind, Kind::Panicked(_))
    }

    /// True if the shard had stopped, or stopped before the future
    /// finished (a shutdown, or an earlier panic on that shard).
    pub fn is_stopped(&self) -> bool {
        matches!(self.kind, Kind::Stopped)
    }

    /// The panic message, when the payload is a string (as `panic!` makes).
    pub fn panic_message(&self) -> Option<&str> {
        match &self.kind {
            Kind::Panicked(p) => payload_str(&**p),
            Kind::Stopped => None,
        }
    }

    /// The panic payload (to resume it with `std::panic::resume_unwind`),
    /// or the error back if it is no panic.
    ///
    /// # Errors
    /// `Err(self)` when the shard stopped rather than panicked.
    pub fn try_into_panic(self) -> Result<Box<dyn Any + Send>, ShardError> {
        match self.kind {
            Kind::Panicked(p) => Ok(p),
            Kind::Stopped => Err(self),
        }
    }
}

impl fmt::Display for ShardError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.kind {
            Kind::Panicked(p) => write!(
                f,
                "shard {} panicked: {}",
                self.shard,
                payload_str(&**p).unwrap_or("Box<dyn Any>")
            ),
            Kind::Stopped => write!(f, "shard {} stopped before the future finished", self.shard),
        }
    }
}

impl fmt::Debug for ShardError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ShardError")
            .field("shard", &self.shard)
            .field("panic", &self.is_panic())
            .field("message", &self.panic_message())
            .finish()
    }
}

impl std::error::Error for ShardError {}

/// What the sharded runtime's exception handler is told
/// ([`ShardedBuilder::exception_handler`](super::ShardedBuilder::exception_handler)):
/// a panic nobody observed on a shard (as a loop's [`ExceptionContext`]),
/// or a shard's main future that panicked (the shard is stopped).
///
/// # Examples
///
/// ```
/// use std::sync::{Arc, Mutex};
///
/// let seen = Arc::new(Mutex::new(Vec::new()));
/// let log = seen.clone();
/// let rt = boucle::Runtime::builder()
///     .threads(2)
///     .exception_handler(move |e: &boucle::runtime::ShardException<'_>| {
///         log.lock().unwrap().push(format!("{}: main={} {}", e.shard(), e.is_main(), e.panic_message().unwrap_or("?")));
///     })
///     .build()
///     .unwrap();
/// let out = rt.block_on(|shard| async move {
///     if shard.id() == 0 {
///         drop(boucle::spawn(async { panic!("detached") })); // nobody awaits it
///         boucle::yield_now().await;
///         boucle::yield_now().await;
///         "ok"
///     } else {
///         panic!("main")
///     }
/// });
/// assert!(out[0].is_ok() && out[1].as_ref().unwrap_err().is_panic());
/// let mut seen = seen.lock().unwrap().clone();
/// seen.sort();
/// assert_eq!(seen, ["shard 0: main=false detached", "shard 1: main=true main"]);
/// ```
pub struct ShardException<'a> {
    shard: Shard,
    source: Source<'a>,
}

enum Source<'a> {
    Unobserved(&'a ExceptionContext<'a>),
    Main {
        task: Option<&'a TaskInfo>,
        payload: &'a (dyn Any + Send),
    },
}

impl<'a> ShardException<'a> {
    pub(crate) fn unobserved(shard: Shard, cx: &'a ExceptionContext<'a>) -> ShardException<'a> {
        ShardException {
            shard,
            source: Source::Unobserved(cx),
        }
    }

    pub(crate) fn main(
        shard: Shard,
        task: Option<&'a TaskInfo>,
        payload: &'a (dyn Any + Send),
    ) -> ShardException<'a> {
        ShardException {
            shard,
            source: Source::Main { task, payload },
        }
    }

    /// The shard it happened on.
    pub fn shard(&self) -> Shard {
        self.shard
    }

    /// True for a shard's main future (the shard was stopped); false for
    /// a panic nobody observed (the shard goes on).
    pub fn is_main(&self) -> bool {
        matches!(self.source, Source::Main { .. })
    }

    /// What happened, in words.
    pub fn message(&self) -> &'static str {
        match &self.source {
            Source::Unobserved(cx) => cx.message(),
            Source::Main { .. } => "a shard's main future panicked: the shard is stopped",
        }
    }

    /// The task that panicked (name, id, spawn location), when known.
    pub fn task(&self) -> Option<&'a TaskInfo> {
        match &self.source {
            Source::Unobserved(cx) => cx.task(),
            Source::Main { task, .. } => *task,
        }
    }

    /// The panic payload.
    pub fn payload(&self) -> &'a (dyn Any + Send) {
        match &self.source {
            Source::Unobserved(cx) => cx.payload(),
            Source::Main { payload, .. } => *payload,
        }
    }

    /// The panic message, when the payload is a string.
    pub fn panic_message(&self) -> Option<&'a str> {
        payload_str(self.payload())
    }
}

/// The default handler's line (after `boucle: `).
impl fmt::Display for ShardException<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.source {
            Source::Unobserved(cx) => write!(f, "{}: {cx}", self.shard),
            Source::Main { task, payload } => {
                let msg = payload_str(*payload).unwrap_or("Box<dyn Any>");
                match task {
                    Some(info) => write!(
                        f,
                        "{}: its main future ({info}) panicked: {msg}",
                        self.shard
                    )?,
                    None => write!(f, "{}: its main future panicked: {msg}", self.shard)?,
                }
                write!(f, "; the shard is stopped, the others go on")
            }
        }
    }
}

impl fmt::Debug for ShardException<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ShardException")
            .field("shard", &self.shard.id())
            .field("main", &self.is_main())
            .field("message", &self.message())
            .field("task", &self.task())
            .field("panic_message", &self.panic_message())
            .finish()
    }
}

/// The sharded exception handler.
pub(crate) type ShardHandler = dyn Fn(&ShardException<'_>) + Send + Sync;

/// Calls `handler`, or prints the default line on stderr. A handler that
/// panics is reported, and the exception then goes to the default line.
pub(crate) fn report(handler: Option<&ShardHandler>, e: &ShardException<'_>) {
    if let Some(h) = handler {
        match std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| h(e))) {
            Ok(()) => return,
            Err(p) => eprintln!(
                "boucle: the sharded exception handler panicked: {}",
                payload_str(&*p).unwrap_or("Box<dyn Any>")
            ),
        }
    }
    eprintln!("boucle: {e}");
}
