//! `shield`: protect a future from the cancellation of its awaiter.

use std::fmt;
use std::future::{Future, IntoFuture};
use std::panic;
use std::pin::Pin;
use std::task::{Context, Poll};

use crate::task::Task;

pin_project_lite::pin_project! {
    /// The future of [`shield`]: resolves to the shielded future's output.
    ///
    /// # Examples
    ///
    /// ```
    /// boucle::run(async {
    ///     let commit = boucle::shield(async { "committed" });
    ///     // The task behind it, to check on or await without resuming panics:
    ///     let task: boucle::Task<&str> = commit.into_task();
    ///     assert_eq!(task.await.unwrap(), "committed");
    /// });
    /// ```
    ///
    /// # Cancel safety
    /// Cancel-safe in asyncio's sense: dropping a `Shield` (because the task
    /// awaiting it was cancelled, a [`timeout`](crate::timeout) fired, or a
    /// `select` chose another branch) does **not** stop the shielded future.
    /// It keeps running as a detached task until it completes; its output is
    /// then dropped, and a panic in it is reported by the loop's exception
    /// handler.
    #[must_use = "shield() has spawned the future; .await the Shield for its output (dropping it lets the future finish unobserved)"]
    pub struct Shield<T> {
        #[pin]
        task: Task<T>,
    }
}

/// Runs `future` as its own task and returns a future for its output that
/// can be dropped without stopping it (asyncio's `shield`).
///
/// Use it for work that must finish even if the caller gives up waiting:
/// a write that must not be torn, a cleanup, a commit.
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
///     let saved = Rc::new(Cell::new(false));
///     let s = saved.clone();
///     let save = boucle::shield(async move {
///         boucle::sleep(Duration::from_secs(5)).await;
///         s.set(true);
///     });
///     // The caller gives up after 1 s ...
///     assert!(boucle::timeout(Duration::from_secs(1), save).await.is_err());
///     assert!(!saved.get());
///     // ... but the shielded work still completes.
///     boucle::sleep(Duration::from_secs(10)).await;
///     assert!(saved.get());
/// });
/// ```
///
/// # Cancel safety
/// See [`Shield`]: dropping it leaves the future running.
///
/// # Panics
/// Outside a running loop. When awaited: if the shielded future panicked,
/// its panic is resumed in the awaiting task (original payload); if its task
/// was cancelled (only the loop's shutdown can), the awaiting task panics
/// with a message saying so.
#[track_caller]
pub fn shield<F>(future: F) -> Shield<F::Output>
where
    F: IntoFuture,
    F::IntoFuture: 'static,
    F::Output: 'static,
{
    Shield {
        task: crate::spawn(future.into_future()),
    }
}

impl<T> Shield<T> {
    /// True once the shielded future has finished.
    pub fn is_done(&self) -> bool {
        self.task.is_done()
    }

    /// The task running the shielded future; awaiting it gives
    /// `Result<T, TaskError>` instead of resuming panics.
    pub fn into_task(self) -> Task<T> {
        self.task
    }
}

impl<T> Future for Shield<T> {
    type Output = T;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<T> {
        match self.project().task.poll(cx) {
            Poll::Pending => Poll::Pending,
            Poll::Ready(Ok(v)) => Poll::Ready(v),
            Poll::Ready(Err(e)) => match e.into_panic() {
                Ok(payload) => panic::resume_unwind(payload),
                Err(_) => panic!(
                    "boucle: the task of a shield() was cancelled from outside (is the loop shutting down?)"
                ),
            },
        }
    }
}

impl<T> fmt::Debug for Shield<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Shield").field("task", &self.task).finish()
    }
}
