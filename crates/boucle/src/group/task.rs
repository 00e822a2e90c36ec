//! The handle of a `TaskGroup` child, and `join_next`.

use std::cell::RefCell;
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::rc::{Rc, Weak};
use std::task::{Context, Poll};

use super::{GroupState, TaskGroup};
use crate::task::{TaskError, TaskId};

/// The handle of a [`TaskGroup`] child, from [`TaskGroup::spawn`]: its id,
/// name and index, and a way to cancel it alone.
///
/// The group owns the child's output (it goes to `join` or `join_next`), so
/// this handle is not awaited; dropping it changes nothing.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// let rt = boucle::Runtime::builder().virtual_time(true).build().unwrap();
/// rt.block_on(async {
///     let group = boucle::TaskGroup::<&str, ()>::new();
///     let slow = group.spawn_named("slow", async {
///         boucle::sleep(Duration::from_secs(3600)).await;
///         Ok("slow")
///     });
///     group.spawn(async { Ok("quick") });
///     assert_eq!(slow.name().as_deref(), Some("slow"));
///     assert!(slow.cancel());
///     assert_eq!(group.join().await, Ok(vec!["quick"]));
///     assert!(slow.is_done());
/// });
/// ```
pub struct GroupTask<T, E> {
    group: Weak<RefCell<GroupState<T, E>>>,
    index: usize,
    id: TaskId,
    name: Option<Rc<str>>,
}

impl<T, E> GroupTask<T, E> {
    pub(super) fn new(
        group: Weak<RefCell<GroupState<T, E>>>,
        index: usize,
        id: TaskId,
        name: Option<Rc<str>>,
    ) -> GroupTask<T, E> {
        GroupTask {
            group,
            index,
            id,
            name,
        }
    }

    /// The child task's id.
    pub fn id(&self) -> TaskId {
        self.id
    }

    /// The name given with [`TaskGroup::spawn_named`], if any.
    pub fn name(&self) -> Option<Rc<str>> {
        self.name.clone()
    }

    /// The child's place in spawn order (its value's index in `join`'s
    /// `Vec` when no child was taken out or cancelled before it).
    pub fn index(&self) -> usize {
        self.index
    }

    /// Cancels this child alone (asyncio's `task.cancel()` on a group
    /// task): its future is dropped at its next turn. Unlike a failure, it
    /// does not cancel its siblings, and it is not an error: the child just
    /// has no value in `join`'s result. Returns false if it already
    /// finished (or the group is gone).
    pub fn cancel(&self) -> bool {
        match self.group.upgrade() {
            Some(state) => state.borrow_mut().cancel_child(self.index),
            None => false,
        }
    }

    /// True once the child has finished (or the group is gone).
    pub fn is_done(&self) -> bool {
        match self.group.upgrade() {
            Some(state) => state.borrow().children.is_done(self.index),
            None => true,
        }
    }
}

impl<T, E> fmt::Debug for GroupTask<T, E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("GroupTask")
            .field("id", &self.id)
            .field("name", &self.name)
            .field("index", &self.index)
            .finish()
    }
}

/// A child taken out of its group by [`TaskGroup::join_next`].
#[derive(Debug)]
#[non_exhaustive]
pub struct Finished<T, E> {
    /// Its place in spawn order.
    pub index: usize,
    /// Its task id.
    pub id: TaskId,
    /// What it returned, or `Err(TaskError)` if it was cancelled (by its
    /// handle, `abort_all`, or the group failing) or panicked.
    pub result: Result<Result<T, E>, TaskError>,
}

/// The future of [`TaskGroup::join_next`].
///
/// # Cancel safety
/// Cancel-safe: nothing is taken out of the group until it resolves.
#[must_use = "futures do nothing unless you .await them"]
pub struct JoinNext<'a, T, E> {
    pub(super) group: &'a TaskGroup<T, E>,
}

impl<T, E> Future for JoinNext<'_, T, E> {
    type Output = Option<Finished<T, E>>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        if crate::coop::poll_proceed(cx).is_pending() {
            return Poll::Pending;
        }
        let mut st = self.group.state.borrow_mut();
        if let Some((index, result)) = st.take_next() {
            let id = st.children.id(index);
            return Poll::Ready(Some(Finished { index, id, result }));
        }
        if st.children.running() == 0 {
            return Poll::Ready(None);
        }
        st.children.register(cx);
        Poll::Pending
    }
}

impl<T, E> fmt::Debug for JoinNext<'_, T, E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("JoinNext").finish_non_exhaustive()
    }
}
