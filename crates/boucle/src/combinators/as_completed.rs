//! `as_completed`: results in the order the tasks finish.

use std::future::{Future, IntoFuture};
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Poll};

use std::collections::HashMap;

use crate::task::waker::Completions;
use crate::task::{Task, TaskError, TaskId};

/// Yields task results in completion order (asyncio's `as_completed`).
/// Made by [`as_completed`] and [`as_completed_tasks`].
///
/// Each finished task pushes its index to a queue as it completes, so the
/// order is exactly the order of completion, at O(1) per result: with the
/// loop's exact timers, sleeps come out sorted by deadline without sorting.
///
/// Use [`AsCompleted::next`] in a `while let` loop, or as a
/// `futures_core::Stream`.
///
/// # Cancel safety
/// `next()` is cancel-safe: a result is taken only when it is returned.
/// Dropping an `AsCompleted` made by [`as_completed`] cancels the tasks it
/// spawned that have not finished; one made by [`as_completed_tasks`] only
/// detaches them, as dropping a `Task` does.
#[must_use = "AsCompleted does nothing unless you call .next().await"]
pub struct AsCompleted<T> {
    tasks: Vec<Option<Task<T>>>,
    index: TaskIndex,
    queue: Rc<Completions>,
    remaining: usize,
    owned: bool,
}

/// Spawns each future as a task and yields their results in completion
/// order. A result is `Err(TaskError)` if that future panicked (as awaiting
/// the task would raise in asyncio).
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// let rt = boucle::Runtime::builder().virtual_time(true).build().unwrap();
/// let order = rt.block_on(async {
///     let delays = [3u64, 1, 2];
///     let mut done = boucle::as_completed(delays.map(|d| async move {
///         boucle::sleep(Duration::from_secs(d)).await;
///         d
///     }));
///     let mut order = Vec::new();
///     while let Some(r) = done.next().await {
///         order.push(r.unwrap());
///     }
///     order
/// });
/// assert_eq!(order, [1, 2, 3]);
/// ```
///
/// # Panics
/// Outside a running loop.
#[track_caller]
pub fn as_completed<I>(futures: I) -> AsCompleted<<I::Item as IntoFuture>::Output>
where
    I: IntoIterator,
    I::Item: IntoFuture,
    <I::Item as IntoFuture>::IntoFuture: 'static,
    <I::Item as IntoFuture>::Output: 'static,
{
    let tasks: Vec<_> = futures
        .into_iter()
        .map(|f| crate::spawn(f.into_future()))
        .collect();
    AsCompleted::new(tasks, true)
}

/// Yields the results of existing tasks in completion order.
pub fn as_completed_tasks<T, I>(tasks: I) -> AsCompleted<T>
where
    I: IntoIterator<Item = Task<T>>,
{
    AsCompleted::new(tasks.into_iter().collect(), false)
}

impl<T> AsCompleted<T> {
    fn new(tasks: Vec<Task<T>>, owned: bool) -> AsCompleted<T> {
        let queue = Rc::new(Completions::default());
        for task in &tasks {
            if !task.notify_on_complete(&queue) {
                queue.push(task.id());
            }
        }
        AsCompleted {
            index: TaskIndex::new(tasks.iter().map(Task::id)),
            remaining: tasks.len(),
            tasks: tasks.into_iter().map(Some).collect(),
            queue,
            owned,
        }
    }

    /// How many results are still to come.
    pub fn remaining(&self) -> usize {
        self.remaining
    }

    /// The next result to complete; `None` when all were returned.
    // asyncio's pattern is `.next().await`; `Stream::next` needs a helper
    // crate, so the inherent method keeps the course's loop dependency-free.
    #[allow(clippy::should_implement_trait)]
    pub fn next(&mut self) -> Next<'_, T> {
        Next { inner: self }
    }

    /// Polls for the next result (the `Stream` method).
    pub fn poll_next_result(&mut self, cx: &mut Context<'_>) -> Poll<Option<Result<T, TaskError>>> {
        if self.remaining == 0 {
            return Poll::Ready(None);
        }
        if crate::coop::poll_proceed(cx).is_pending() {
            return Poll::Pending;
        }
        while let Some(id) = self.queue.pop() {
            let Some(i) = self.index.get(id) else {
                continue;
            };
            let Some(mut task) = self.tasks[i].take() else {
                continue;
            };
            match task.try_take() {
                Some(result) => {
                    self.remaining -= 1;
                    return Poll::Ready(Some(result));
                }
                None => self.tasks[i] = Some(task),
            }
        }
        self.queue.register(cx);
        Poll::Pending
    }
}

impl<T> Drop for AsCompleted<T> {
    fn drop(&mut self) {
        if self.owned {
            for task in self.tasks.iter().flatten() {
                task.cancel();
            }
        }
    }
}

/// Finds a task's position from its id: arithmetic when the ids are
/// consecutive (tasks spawned in a row, as `as_completed` does), a map
/// otherwise.
pub(crate) enum TaskIndex {
    Range { first: u64, len: usize },
    Map(HashMap<TaskId, usize>),
}

impl TaskIndex {
    pub(crate) fn new(ids: impl Iterator<Item = TaskId> + Clone) -> TaskIndex {
        let mut it = ids.clone();
        let Some(first) = it.next() else {
            return TaskIndex::Range { first: 0, len: 0 };
        };
        let mut len = 1;
        let mut consecutive = true;
        for id in it {
            consecutive &= id.as_u64() == first.as_u64() + len as u64;
            len += 1;
        }
        if consecutive {
            TaskIndex::Range {
                first: first.as_u64(),
                len,
            }
        } else {
            TaskIndex::Map(ids.enumerate().map(|(i, id)| (id, i)).collect())
        }
    }

    pub(crate) fn get(&self, id: TaskId) -> Option<usize> {
        match self {
            TaskIndex::Range { first, len } => {
                let i = id.as_u64().checked_sub(*first)? as usize;
                (i < *len).then_some(i)
            }
            TaskIndex::Map(map) => map.get(&id).copied(),
        }
    }
}

/// The future of [`AsCompleted::next`].
#[must_use = "futures do nothing unless you .await them"]
pub struct Next<'a, T> {
    inner: &'a mut AsCompleted<T>,
}

impl<T> Future for Next<'_, T> {
    type Output = Option<Result<T, TaskError>>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        self.inner.poll_next_result(cx)
    }
}

impl<T> futures_core::Stream for AsCompleted<T> {
    type Item = Result<T, TaskError>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        self.get_mut().poll_next_result(cx)
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        (self.remaining, Some(self.remaining))
    }
}

// `AsCompleted` holds no self-references.
impl<T> Unpin for AsCompleted<T> {}
