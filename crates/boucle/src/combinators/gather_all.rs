//! `gather(iter)` and `try_gather(iter)`: spawn futures as tasks, collect
//! their outputs in submission order.
//!
//! Also home of `Children`, the set of spawned tasks that `gather`,
//! `try_gather` and `TaskGroup` watch through one `Completions` queue.

use std::any::Any;
use std::fmt;
use std::future::{Future, IntoFuture};
use std::panic;
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Poll};

use crate::task::waker::Completions;
use crate::task::{Task, TaskError, TaskId};

/// Tasks spawned by a combinator. Each one pushes its index to one
/// `Completions` queue as it finishes, so the owner learns of every
/// completion in O(1), in completion order, without extra tasks.
///
/// Dropping a `Children` cancels the tasks that have not finished.
pub(crate) struct Children<T> {
    tasks: Vec<Option<Task<T>>>,
    /// The tasks' ids, increasing (tasks are pushed right after spawning,
    /// and ids count up in spawn order): a notice's id finds its index.
    ids: Vec<TaskId>,
    queue: Rc<Completions>,
    running: usize,
}

impl<T> Children<T> {
    pub(crate) fn with_capacity(n: usize) -> Children<T> {
        Children {
            tasks: Vec::with_capacity(n),
            ids: Vec::with_capacity(n),
            queue: Rc::new(Completions::default()),
            running: 0,
        }
    }

    /// Watches `task`, which must have been spawned after every task
    /// pushed before; returns its index (the count of tasks pushed before).
    pub(crate) fn push(&mut self, task: Task<T>) -> usize {
        let index = self.tasks.len();
        let id = task.id();
        debug_assert!(self.ids.last().is_none_or(|last| *last < id));
        if !task.notify_on_complete(&self.queue) {
            self.queue.push(id);
        }
        self.ids.push(id);
        self.tasks.push(Some(task));
        self.running += 1;
        index
    }

    /// The id of task `index`.
    pub(crate) fn id(&self, index: usize) -> TaskId {
        self.ids[index]
    }

    /// How many tasks were pushed.
    pub(crate) fn len(&self) -> usize {
        self.tasks.len()
    }

    /// How many tasks have not been collected by `try_next` yet.
    pub(crate) fn running(&self) -> usize {
        self.running
    }

    /// The next finished task's index and output, in completion order;
    /// `None` if no task finished since the last call.
    pub(crate) fn try_next(&mut self) -> Option<(usize, Result<T, TaskError>)> {
        while let Some(id) = self.queue.pop() {
            let Some(i) = self.index_of(id) else {
                continue;
            };
            let Some(task) = self.tasks[i].as_mut() else {
                continue;
            };
            if let Some(result) = task.try_take() {
                self.tasks[i] = None;
                self.running -= 1;
                return Some((i, result));
            }
        }
        None
    }

    /// The index of the task `id`: O(1) when the ids are consecutive (tasks
    /// spawned in a row), else a binary search.
    fn index_of(&self, id: TaskId) -> Option<usize> {
        let first = self.ids.first()?.as_u64();
        let guess = id.as_u64().checked_sub(first)? as usize;
        if self.ids.get(guess) == Some(&id) {
            return Some(guess);
        }
        self.ids.binary_search(&id).ok()
    }

    /// Wakes `cx`'s task at the next completion.
    pub(crate) fn register(&self, cx: &Context<'_>) {
        self.queue.register(cx);
    }

    /// Asks task `index` to stop. False if it has finished (or was
    /// collected).
    pub(crate) fn cancel(&self, index: usize) -> bool {
        self.tasks
            .get(index)
            .and_then(Option::as_ref)
            .is_some_and(|t| t.cancel())
    }

    /// Whether task `index` has finished (true once collected).
    pub(crate) fn is_done(&self, index: usize) -> bool {
        self.tasks
            .get(index)
            .and_then(Option::as_ref)
            .is_none_or(|t| t.is_done())
    }

    /// Asks every unfinished task to stop (see `Task::cancel`).
    pub(crate) fn cancel_all(&self) {
        for task in self.tasks.iter().flatten() {
            task.cancel();
        }
    }
}

impl<T> Drop for Children<T> {
    fn drop(&mut self) {
        self.cancel_all();
    }
}

/// How a set of children failed, kept until every child has finished.
#[derive(Default)]
pub(crate) struct Failure {
    /// The first panic payload, resumed once the others have finished.
    pub(crate) panic: Option<Box<dyn Any + Send + 'static>>,
    /// A child was cancelled from outside (only the loop's shutdown can).
    pub(crate) cancelled: bool,
}

impl Failure {
    /// Records a child's `TaskError`. Cancellations are expected (ignored)
    /// once `aborting`; returns true if this error should abort the set.
    pub(crate) fn record(&mut self, err: TaskError, aborting: bool) -> bool {
        match err.into_panic() {
            Ok(payload) => {
                self.panic.get_or_insert(payload);
                true
            }
            Err(_cancelled) if !aborting => {
                self.cancelled = true;
                true
            }
            Err(_) => false,
        }
    }

    /// Resumes the first panic, or panics naming a child that was
    /// cancelled from outside. Does nothing if neither happened.
    pub(crate) fn resume(&mut self, what: &str) {
        if let Some(payload) = self.panic.take() {
            panic::resume_unwind(payload);
        }
        if self.cancelled {
            panic!("boucle: a task spawned by {what} was cancelled from outside (is the loop shutting down?)");
        }
    }
}

fn spawn_all<I>(futures: I) -> Children<<I::Item as IntoFuture>::Output>
where
    I: IntoIterator,
    I::Item: IntoFuture,
    <I::Item as IntoFuture>::IntoFuture: 'static,
    <I::Item as IntoFuture>::Output: 'static,
{
    let iter = futures.into_iter();
    let mut children = Children::with_capacity(iter.size_hint().0);
    for f in iter {
        children.push(crate::spawn(f.into_future()));
    }
    children
}

/// The future of [`gather`]: resolves to the outputs in submission order.
///
/// # Examples
///
/// ```
/// boucle::run(async {
///     let pending: boucle::Gather<u32> = boucle::gather((1..=3).map(|i| async move { i * i }));
///     assert_eq!(pending.remaining(), 3);
///     assert_eq!(pending.await, [1, 4, 9]);
/// });
/// ```
///
/// # Cancel safety
/// Dropping an unfinished `Gather` cancels the tasks it spawned that have
/// not finished (their futures are dropped at their next turn, so their
/// `Drop` cleanup runs); outputs already produced are dropped.
#[must_use = "gather() has spawned the tasks; .await the Gather for their outputs (dropping it cancels them)"]
pub struct Gather<T> {
    children: Children<T>,
    results: Vec<Option<T>>,
    failure: Failure,
    aborting: bool,
    finished: bool,
}

/// Spawns each future as a task (as asyncio's `gather` wraps coroutines in
/// tasks) and resolves to their outputs in **submission order**, whatever
/// order they finish in.
///
/// The tasks start at once, before the `Gather` is awaited: they run
/// concurrently with the caller and with each other.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// let rt = boucle::Runtime::builder().virtual_time(true).build().unwrap();
/// let (out, took) = rt.block_on(async {
///     let start = boucle::now();
///     let out = boucle::gather([3u64, 1, 2].map(|d| async move {
///         boucle::sleep(Duration::from_secs(d)).await;
///         d * 10
///     }))
///     .await;
///     (out, boucle::now() - start)
/// });
/// assert_eq!(out, [30, 10, 20]);
/// assert_eq!(took, Duration::from_secs(3));
/// ```
///
/// # Cancel safety
/// Dropping the [`Gather`] before it resolves cancels the unfinished tasks.
///
/// # Panics
/// Outside a running loop. When awaited: if a task panics, the others are
/// cancelled and, once they have finished, the first panic is resumed in
/// the awaiting task (with its original payload). If a task was cancelled
/// from outside (only the loop's shutdown can), the awaiting task panics
/// with a message saying so.
#[track_caller]
pub fn gather<I>(futures: I) -> Gather<<I::Item as IntoFuture>::Output>
where
    I: IntoIterator,
    I::Item: IntoFuture,
    <I::Item as IntoFuture>::IntoFuture: 'static,
    <I::Item as IntoFuture>::Output: 'static,
{
    let children = spawn_all(futures);
    let results = std::iter::repeat_with(|| None)
        .take(children.len())
        .collect();
    Gather {
        children,
        results,
        failure: Failure::default(),
        aborting: false,
        finished: false,
    }
}

impl<T> Gather<T> {
    /// How many tasks have not finished (or not been seen finishing) yet.
    pub fn remaining(&self) -> usize {
        self.children.running()
    }
}

impl<T> Future for Gather<T> {
    type Output = Vec<T>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Vec<T>> {
        let this = &mut *self;
        assert!(!this.finished, "boucle: Gather polled after completion");
        if crate::coop::poll_proceed(cx).is_pending() {
            return Poll::Pending;
        }
        while let Some((i, result)) = this.children.try_next() {
            match result {
                Ok(v) => this.results[i] = Some(v),
                Err(e) => {
                    if this.failure.record(e, this.aborting) && !this.aborting {
                        this.aborting = true;
                        this.children.cancel_all();
                    }
                }
            }
        }
        if this.children.running() > 0 {
            this.children.register(cx);
            return Poll::Pending;
        }
        this.finished = true;
        this.failure.resume("gather()");
        let out = this
            .results
            .drain(..)
            .map(|r| r.expect("every task gave an output"))
            .collect();
        Poll::Ready(out)
    }
}

// `Gather` pins nothing: the tasks own the futures; outputs are only stored.
impl<T> Unpin for Gather<T> {}

impl<T> fmt::Debug for Gather<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Gather")
            .field("tasks", &self.children.len())
            .field("remaining", &self.children.running())
            .finish()
    }
}

/// The future of [`try_gather`]: resolves to `Ok` with the values in
/// submission order, or to the first error.
///
/// # Examples
///
/// ```
/// boucle::run(async {
///     let parse: boucle::TryGather<i32, std::num::ParseIntError> =
///         boucle::try_gather(["1", "x", "3"].map(|s| async move { s.parse::<i32>() }));
///     assert!(parse.await.is_err());
/// });
/// ```
///
/// # Cancel safety
/// Dropping an unfinished `TryGather` cancels the tasks it spawned that have
/// not finished.
#[must_use = "try_gather() has spawned the tasks; .await the TryGather for their outputs (dropping it cancels them)"]
pub struct TryGather<T, E> {
    children: Children<Result<T, E>>,
    results: Vec<Option<T>>,
    error: Option<E>,
    failure: Failure,
    aborting: bool,
    finished: bool,
}

/// Spawns each `Result` future as a task and resolves to `Ok(values)` in
/// submission order, or, as soon as one returns `Err`, cancels all the
/// others and resolves to that error: the **first** error in completion
/// order.
///
/// The `TryGather` resolves once the cancelled tasks have finished (at the
/// next loop iteration): their `Drop` cleanup has run by then. Errors of
/// tasks that finished in the same iteration as the first are dropped.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// let rt = boucle::Runtime::builder().virtual_time(true).build().unwrap();
/// rt.block_on(async {
///     let job = |d: u64, fail: bool| async move {
///         boucle::sleep(Duration::from_secs(d)).await;
///         if fail { Err(format!("job {d} failed")) } else { Ok(d) }
///     };
///     let ok = boucle::try_gather([job(2, false), job(1, false)]).await;
///     assert_eq!(ok, Ok(vec![2, 1]));
///
///     let start = boucle::now();
///     let err = boucle::try_gather([job(3, true), job(1, true), job(60, false)]).await;
///     assert_eq!(err, Err("job 1 failed".to_string()));
///     assert_eq!(boucle::now() - start, Duration::from_secs(1)); // the 60 s job was cancelled
/// });
/// ```
///
/// # Cancel safety
/// Dropping the [`TryGather`] before it resolves cancels the unfinished
/// tasks.
///
/// # Panics
/// Outside a running loop. When awaited, as [`gather`]: a task's panic
/// cancels the others and is resumed once they have finished (a panic wins
/// over an error); a task cancelled from outside makes the awaiting task
/// panic.
#[track_caller]
pub fn try_gather<I, T, E>(futures: I) -> TryGather<T, E>
where
    I: IntoIterator,
    I::Item: IntoFuture<Output = Result<T, E>>,
    <I::Item as IntoFuture>::IntoFuture: 'static,
    T: 'static,
    E: 'static,
{
    let children = spawn_all(futures);
    let results = std::iter::repeat_with(|| None)
        .take(children.len())
        .collect();
    TryGather {
        children,
        results,
        error: None,
        failure: Failure::default(),
        aborting: false,
        finished: false,
    }
}

impl<T, E> TryGather<T, E> {
    /// How many tasks have not finished (or not been seen finishing) yet.
    pub fn remaining(&self) -> usize {
        self.children.running()
    }
}

impl<T, E> Future for TryGather<T, E> {
    type Output = Result<Vec<T>, E>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = &mut *self;
        assert!(!this.finished, "boucle: TryGather polled after completion");
        if crate::coop::poll_proceed(cx).is_pending() {
            return Poll::Pending;
        }
        while let Some((i, result)) = this.children.try_next() {
            let abort = match result {
                Ok(Ok(v)) => {
                    this.results[i] = Some(v);
                    false
                }
                Ok(Err(e)) => {
                    if this.error.is_none() && !this.aborting {
                        this.error = Some(e);
                    }
                    true
                }
                Err(e) => this.failure.record(e, this.aborting),
            };
            if abort && !this.aborting {
                this.aborting = true;
                this.children.cancel_all();
            }
        }
        if this.children.running() > 0 {
            this.children.register(cx);
            return Poll::Pending;
        }
        this.finished = true;
        this.failure.resume("try_gather()");
        if let Some(e) = this.error.take() {
            return Poll::Ready(Err(e));
        }
        let out = this
            .results
            .drain(..)
            .map(|r| r.expect("every task gave a value"))
            .collect();
        Poll::Ready(Ok(out))
    }
}

// `TryGather` pins nothing: the tasks own the futures, and `E` is only
// stored.
impl<T, E> Unpin for TryGather<T, E> {}

impl<T, E> fmt::Debug for TryGather<T, E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TryGather")
            .field("tasks", &self.children.len())
            .field("remaining", &self.children.running())
            .field("failed", &self.aborting)
            .finish()
    }
}
