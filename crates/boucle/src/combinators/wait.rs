//! `wait`: split tasks into done and pending (asyncio's `wait`).

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Poll};
use std::time::Duration;

use super::as_completed::TaskIndex;
use crate::task::waker::Completions;
use crate::task::{Task, TaskState};
use crate::time::{sleep, Sleep};

/// When [`wait`] returns (asyncio's `FIRST_COMPLETED`, `FIRST_EXCEPTION`,
/// `ALL_COMPLETED`; those names are kept as associated constants).
///
/// # Examples
///
/// ```
/// use boucle::ReturnWhen;
/// assert_eq!(ReturnWhen::FIRST_EXCEPTION, ReturnWhen::FirstException);
/// boucle::run(async {
///     let ok = boucle::spawn(async { 1 });
///     let bad = boucle::spawn(async { panic!("oops") });
///     let (done, pending) = boucle::wait(vec![ok, bad], ReturnWhen::FirstException, None).await;
///     // Both finish in the same loop iteration.
///     assert_eq!((done.len(), pending.len()), (2, 0));
/// });
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ReturnWhen {
    /// As soon as any task finishes (or is already finished).
    FirstCompleted,
    /// As soon as any task finishes with an error (it panicked or was
    /// cancelled: awaiting it gives `Err(TaskError)`; with
    /// [`wait_results`], also an output that is `Err`), or when all have
    /// finished.
    FirstException,
    /// When every task has finished.
    AllCompleted,
}

/// The future of [`wait`]: resolves to `(done, pending)`.
///
/// # Examples
///
/// ```
/// use boucle::combinators::Wait;
/// use boucle::ReturnWhen;
/// boucle::run(async {
///     let waiting: Wait<u8> = boucle::wait(vec![boucle::spawn(async { 7 })], ReturnWhen::AllCompleted, None);
///     let (done, _) = waiting.await;
///     assert!(done[0].is_done());
/// });
/// ```
///
/// # Cancel safety
/// Not cancel-safe: the `Wait` owns the handles, so dropping it before it
/// resolves drops them, which detaches the tasks (they keep running, as
/// after dropping any [`Task`]). Nothing is cancelled.
#[must_use = "futures do nothing unless you .await them; wait() gives the task handles back only when awaited"]
pub struct Wait<T> {
    tasks: Vec<Task<T>>,
    index: TaskIndex,
    done: Vec<bool>,
    done_count: usize,
    failed: bool,
    queue: Rc<Completions>,
    return_when: ReturnWhen,
    deadline: Option<Sleep>,
    finished: bool,
    /// Whether a finished task's output is an error (`wait_results`: `Err`).
    is_error: fn(&Task<T>) -> bool,
}

/// Waits for `tasks` until `return_when` holds or `timeout` (loop time)
/// passes, and gives the handles back split into `(done, pending)`, each in
/// input order (asyncio's `wait`). Await the done tasks for their outputs;
/// they are ready.
///
/// On timeout the pending tasks are **not** cancelled (as asyncio); cancel
/// them with [`Task::cancel`] if needed. An empty `tasks` resolves at once
/// to two empty lists. Task outputs are never consumed.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use boucle::ReturnWhen;
///
/// let rt = boucle::Runtime::builder().virtual_time(true).build().unwrap();
/// rt.block_on(async {
///     let tasks: Vec<_> = [3u64, 1, 2]
///         .into_iter()
///         .map(|d| boucle::spawn(async move {
///             boucle::sleep(Duration::from_secs(d)).await;
///             d
///         }))
///         .collect();
///     let (done, pending) = boucle::wait(tasks, ReturnWhen::FirstCompleted, None).await;
///     assert_eq!(done.len(), 1);
///     assert_eq!(pending.len(), 2);
///     for task in done {
///         assert_eq!(task.await.unwrap(), 1);
///     }
///     let (done, pending) =
///         boucle::wait(pending, ReturnWhen::AllCompleted, Some(Duration::from_millis(1500))).await;
///     assert_eq!((done.len(), pending.len()), (1, 1)); // the 3 s task is still running
///     assert!(pending[0].cancel());
/// });
/// ```
///
/// # Cancel safety
/// See [`Wait`]: dropping it detaches the tasks.
///
/// # Panics
/// With a `timeout`, when polled outside a running loop.
pub fn wait<T>(tasks: Vec<Task<T>>, return_when: ReturnWhen, timeout: Option<Duration>) -> Wait<T> {
    wait_classified(tasks, return_when, timeout, |_| false)
}

/// [`wait`] for tasks whose output is a `Result`: with
/// [`ReturnWhen::FirstException`] it also returns as soon as a task returns
/// `Err`, which is what a Rust task raising an exception looks like (as
/// [`try_gather`](crate::try_gather) and [`TaskGroup`](crate::TaskGroup)
/// treat it). `wait` itself counts only panics and cancellations, since it
/// cannot tell an `Err` from any other value.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use boucle::ReturnWhen;
///
/// let rt = boucle::Runtime::builder().virtual_time(true).build().unwrap();
/// rt.block_on(async {
///     let slow = boucle::spawn(async {
///         boucle::sleep(Duration::from_secs(60)).await;
///         Ok::<u32, String>(1)
///     });
///     let failing = boucle::spawn(async {
///         boucle::sleep(Duration::from_secs(1)).await;
///         Err::<u32, String>("no route to host".into())
///     });
///     let (done, pending) =
///         boucle::wait_results(vec![slow, failing], ReturnWhen::FirstException, None).await;
///     assert_eq!((done.len(), pending.len()), (1, 1));
///     for task in done {
///         assert_eq!(task.await.unwrap(), Err("no route to host".to_string()));
///     }
/// });
/// ```
///
/// # Cancel safety
/// As [`wait`].
///
/// # Panics
/// As [`wait`].
pub fn wait_results<T, E>(
    tasks: Vec<Task<Result<T, E>>>,
    return_when: ReturnWhen,
    timeout: Option<Duration>,
) -> Wait<Result<T, E>> {
    wait_classified(tasks, return_when, timeout, |task| {
        matches!(task.peek(), Some(Ok(Err(_))))
    })
}

fn wait_classified<T>(
    tasks: Vec<Task<T>>,
    return_when: ReturnWhen,
    timeout: Option<Duration>,
    is_error: fn(&Task<T>) -> bool,
) -> Wait<T> {
    let queue = Rc::new(Completions::default());
    for task in &tasks {
        if !task.notify_on_complete(&queue) {
            queue.push(task.id());
        }
    }
    Wait {
        index: TaskIndex::new(tasks.iter().map(Task::id)),
        done: vec![false; tasks.len()],
        done_count: 0,
        failed: false,
        tasks,
        queue,
        return_when,
        deadline: timeout.map(sleep),
        finished: false,
        is_error,
    }
}

/// asyncio's `wait(..., return_when=...)` constants under their Python names.
impl ReturnWhen {
    /// Alias of [`ReturnWhen::FirstCompleted`].
    pub const FIRST_COMPLETED: ReturnWhen = ReturnWhen::FirstCompleted;
    /// Alias of [`ReturnWhen::FirstException`].
    pub const FIRST_EXCEPTION: ReturnWhen = ReturnWhen::FirstException;
    /// Alias of [`ReturnWhen::AllCompleted`].
    pub const ALL_COMPLETED: ReturnWhen = ReturnWhen::AllCompleted;
}

impl<T> Wait<T> {
    fn condition_met(&self) -> bool {
        let all = self.done_count == self.tasks.len();
        match self.return_when {
            ReturnWhen::FirstCompleted => self.done_count > 0 || all,
            ReturnWhen::FirstException => self.failed || all,
            ReturnWhen::AllCompleted => all,
        }
    }

    fn split(&mut self) -> (Vec<Task<T>>, Vec<Task<T>>) {
        self.finished = true;
        self.deadline = None;
        let mut done = Vec::with_capacity(self.done_count);
        let mut pending = Vec::with_capacity(self.tasks.len() - self.done_count);
        for (task, is_done) in self.tasks.drain(..).zip(&self.done) {
            if *is_done {
                done.push(task);
            } else {
                pending.push(task);
            }
        }
        (done, pending)
    }
}

impl<T> Future for Wait<T> {
    type Output = (Vec<Task<T>>, Vec<Task<T>>);

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = &mut *self;
        assert!(!this.finished, "boucle: Wait polled after completion");
        while let Some(id) = this.queue.pop() {
            let Some(i) = this.index.get(id) else {
                continue;
            };
            if this.done[i] || !this.tasks[i].is_done() {
                continue;
            }
            this.done[i] = true;
            this.done_count += 1;
            let state = this.tasks[i].info().state;
            if matches!(state, TaskState::Panicked | TaskState::Cancelled)
                || (this.is_error)(&this.tasks[i])
            {
                this.failed = true;
            }
        }
        if this.condition_met() {
            return Poll::Ready(this.split());
        }
        if let Some(deadline) = &mut this.deadline {
            if deadline.poll_deadline(cx).is_ready() {
                return Poll::Ready(this.split());
            }
        }
        this.queue.register(cx);
        Poll::Pending
    }
}

// `Wait` pins nothing: it holds task handles and an (unpinned) `Sleep`.
impl<T> Unpin for Wait<T> {}

impl<T> fmt::Debug for Wait<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Wait")
            .field("tasks", &self.tasks.len())
            .field("done", &self.done_count)
            .field("return_when", &self.return_when)
            .field("deadline", &self.deadline)
            .finish()
    }
}
