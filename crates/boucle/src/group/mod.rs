//! Structured concurrency: [`TaskGroup`] (asyncio's `TaskGroup`), the
//! handles of its children ([`GroupTask`]), [`join_next`](TaskGroup::join_next)
//! and [`ErrorGroup`] (asyncio's `ExceptionGroup`). `TaskGroup` and
//! `ErrorGroup` are also at the crate root.
//!
//! The group's state is shared (`Rc<RefCell<..>>`) by the group, its
//! `Join` future, and, weakly, by `Spawner`s and the children's wrappers.
//! Borrows are short and never held across user code, so a child may use a
//! `Spawner` while the group is being joined.
//!
//! A child that fails (returns `Err` or panics) spawns one small task that
//! cancels the other children. Deferring the cancellation to that task, as
//! asyncio defers its done-callbacks with `call_soon`, lets children that
//! were already due in the same loop iteration finish first, so their
//! errors are reported too; it also happens whether or not `join` is being
//! awaited yet.

use std::cell::RefCell;
use std::fmt;
use std::future::Future;
use std::panic::{self, AssertUnwindSafe};
use std::pin::Pin;
use std::rc::{Rc, Weak};
use std::task::{Context, Poll};

mod error;
mod task;

pub use error::ErrorGroup;
pub use task::{Finished, GroupTask, JoinNext};

use crate::combinators::gather_all::{Children, Failure};
use crate::task::TaskError;

/// Runs child tasks that return `Result<T, E>` as one unit (asyncio's
/// `TaskGroup`): [`join`](TaskGroup::join) waits for all of them and gives
/// their values in spawn order, or every error that occurred.
///
/// - When a child returns `Err` (or panics), every other child still
///   running is cancelled: its future is dropped at its next turn, so its
///   `Drop` cleanup runs. Children due in the same loop iteration as the
///   failure still finish, and their errors are kept too.
/// - `join` waits until every child has finished, then returns
///   `Err(ErrorGroup)` holding every error, in completion order, or resumes
///   the first panic.
/// - [`spawn`](TaskGroup::spawn) returns a [`GroupTask`] handle, which can
///   cancel its child: a child cancelled that way (or by
///   [`abort_all`](TaskGroup::abort_all)) is not an error and has no value
///   in `join`'s `Vec`. [`join_next`](TaskGroup::join_next) takes children
///   out as they finish, as tokio's `JoinSet` does; `join` then gives what
///   is left.
/// - Dropping the group, or its [`Join`] future, cancels the children still
///   running.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use boucle::TaskGroup;
///
/// let rt = boucle::Runtime::builder().virtual_time(true).build().unwrap();
/// rt.block_on(async {
///     let group = TaskGroup::new();
///     for d in [2u64, 1, 3] {
///         group.spawn(async move {
///             boucle::sleep(Duration::from_secs(d)).await;
///             Ok::<_, String>(d)
///         });
///     }
///     assert_eq!(group.join().await, Ok(vec![2, 1, 3]));
///
///     let group = TaskGroup::new();
///     group.spawn(async { Err::<u64, _>("no route to host") });
///     group.spawn(async {
///         boucle::sleep(Duration::from_secs(3600)).await; // cancelled
///         Ok(1)
///     });
///     let errors = group.join().await.unwrap_err();
///     assert_eq!(errors.errors(), ["no route to host"]);
/// });
/// ```
///
/// # Cancel safety
/// Dropping a `TaskGroup` (unjoined) or its `Join` cancels the children
/// still running; values already produced are dropped.
#[must_use = "a TaskGroup cancels its children when dropped; call .join().await to wait for them"]
pub struct TaskGroup<T, E> {
    pub(super) state: Rc<RefCell<GroupState<T, E>>>,
}

pub(super) struct GroupState<T, E> {
    pub(super) children: Children<Result<T, E>>,
    /// One per child, in spawn order.
    pub(super) slots: Vec<Slot<T>>,
    errors: Vec<E>,
    failure: Failure,
    /// The children have been told to stop.
    aborting: bool,
    /// A task to cancel the children has been spawned.
    abort_spawned: bool,
    /// `join` has returned: no more children.
    closed: bool,
}

/// A finished child's output, as the group's children set gives it.
pub(super) type ChildOutput<T, E> = Result<Result<T, E>, TaskError>;

/// What became of one child.
pub(super) enum Slot<T> {
    Running,
    /// Cancelled through its [`GroupTask`] or by `abort_all`: not an error,
    /// and no value.
    CancelledByUser,
    Value(T),
    /// Collected by `join_next`, or cancelled as the user asked.
    Taken,
}

impl<T, E> GroupState<T, E> {
    fn abort(&mut self) {
        if !self.aborting {
            self.aborting = true;
            self.children.cancel_all();
        }
    }

    /// Cancels child `index` at the user's request. False if it finished.
    pub(super) fn cancel_child(&mut self, index: usize) -> bool {
        let Some(Slot::Running) = self.slots.get(index) else {
            return false;
        };
        if !self.children.cancel(index) {
            return false;
        }
        self.slots[index] = Slot::CancelledByUser;
        true
    }

    /// Records what `join` will report for a child that finished.
    fn settle(&mut self, index: usize, result: ChildOutput<T, E>) {
        let slot = std::mem::replace(&mut self.slots[index], Slot::Taken);
        let abort = match result {
            Ok(Ok(v)) => {
                self.slots[index] = Slot::Value(v);
                false
            }
            Ok(Err(e)) => {
                self.errors.push(e);
                true
            }
            Err(e) if e.is_cancelled() && matches!(slot, Slot::CancelledByUser) => false,
            Err(e) => self.failure.record(e, self.aborting),
        };
        if abort {
            self.abort();
        }
    }

    /// The next finished child for `join_next`: taken out of the group.
    pub(super) fn take_next(&mut self) -> Option<(usize, ChildOutput<T, E>)> {
        let (index, result) = self.children.try_next()?;
        self.slots[index] = Slot::Taken;
        Some((index, result))
    }
}

impl<T: 'static, E: 'static> TaskGroup<T, E> {
    /// An empty group.
    pub fn new() -> TaskGroup<T, E> {
        TaskGroup {
            state: Rc::new(RefCell::new(GroupState {
                children: Children::with_capacity(0),
                slots: Vec::new(),
                errors: Vec::new(),
                failure: Failure::default(),
                aborting: false,
                abort_spawned: false,
                closed: false,
            })),
        }
    }

    /// Spawns `future` as a child task (asyncio's `tg.create_task`). It
    /// starts at once. Returns a [`GroupTask`] handle: its id, name and
    /// index (the place of its value in `join`'s `Vec`), and `cancel`.
    ///
    /// If the group is already failing (a child returned `Err` or
    /// panicked), the child is cancelled at once: its future is dropped
    /// without being polled.
    ///
    /// # Examples
    ///
    /// ```
    /// boucle::run(async {
    ///     let group = boucle::TaskGroup::<u32, ()>::new();
    ///     let first = group.spawn(async { Ok(1) });
    ///     let second = group.spawn(std::future::pending());
    ///     assert_eq!(first.index(), 0);
    ///     assert!(second.cancel()); // not an error: it is left out
    ///     assert_eq!(group.join().await, Ok(vec![1]));
    /// });
    /// ```
    ///
    /// # Panics
    /// Outside a running loop.
    #[track_caller]
    pub fn spawn<F>(&self, future: F) -> GroupTask<T, E>
    where
        F: Future<Output = Result<T, E>> + 'static,
    {
        spawn_child(&self.state, future, None)
    }

    /// Spawns `future` as a named child (asyncio's `create_task(name=)`).
    ///
    /// # Examples
    ///
    /// ```
    /// boucle::run(async {
    ///     let group = boucle::TaskGroup::<u32, ()>::new();
    ///     let child = group.spawn_named("fetch page 1", async { Ok(1) });
    ///     assert_eq!(child.name().as_deref(), Some("fetch page 1"));
    ///     assert_eq!(group.join().await, Ok(vec![1]));
    /// });
    /// ```
    ///
    /// # Panics
    /// Outside a running loop.
    #[track_caller]
    pub fn spawn_named<F>(&self, name: &str, future: F) -> GroupTask<T, E>
    where
        F: Future<Output = Result<T, E>> + 'static,
    {
        spawn_child(&self.state, future, Some(name))
    }

    /// Waits for the next child to finish, in completion order, and takes
    /// it out of the group (tokio's `JoinSet::join_next`): its value or
    /// error is then not part of [`join`](TaskGroup::join)'s result.
    /// `None` once every child has been collected.
    ///
    /// A child's `Err` still makes the group cancel the others, as in
    /// [`join`](TaskGroup::join); they then come out as cancelled.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// let rt = boucle::Runtime::builder().virtual_time(true).build().unwrap();
    /// rt.block_on(async {
    ///     let group = boucle::TaskGroup::<u64, ()>::new();
    ///     for d in [3u64, 1, 2] {
    ///         group.spawn(async move {
    ///             boucle::sleep(Duration::from_secs(d)).await;
    ///             Ok(d)
    ///         });
    ///     }
    ///     let mut order = Vec::new();
    ///     while let Some(done) = group.join_next().await {
    ///         order.push(done.result.unwrap().unwrap());
    ///     }
    ///     assert_eq!(order, [1, 2, 3]);
    ///     assert_eq!(group.join().await, Ok(vec![])); // all collected
    /// });
    /// ```
    ///
    /// # Cancel safety
    /// Cancel-safe: a child is taken out only when `join_next` returns it.
    pub fn join_next(&self) -> JoinNext<'_, T, E> {
        JoinNext { group: self }
    }

    /// Cancels every child still running, as through each one's
    /// [`GroupTask::cancel`]: not an error, and no value (tokio's
    /// `JoinSet::abort_all`). Children spawned afterwards run normally.
    ///
    /// # Examples
    ///
    /// ```
    /// boucle::run(async {
    ///     let group = boucle::TaskGroup::<u32, ()>::new();
    ///     group.spawn(async { Ok(1) });
    ///     boucle::yield_now().await; // the first child finishes
    ///     group.spawn(std::future::pending());
    ///     group.abort_all();
    ///     assert_eq!(group.join().await, Ok(vec![1]));
    /// });
    /// ```
    pub fn abort_all(&self) {
        let mut st = self.state.borrow_mut();
        for index in 0..st.slots.len() {
            st.cancel_child(index);
        }
    }

    /// A cloneable handle that spawns into this group, for children (or
    /// anyone) to add siblings while the group is being joined.
    ///
    /// # Examples
    ///
    /// ```
    /// boucle::run(async {
    ///     let group = boucle::TaskGroup::<u32, ()>::new();
    ///     let spawner = group.spawner();
    ///     group.spawn(async move {
    ///         spawner.spawn(async { Ok(2) });
    ///         Ok(1)
    ///     });
    ///     assert_eq!(group.join().await, Ok(vec![1, 2]));
    /// });
    /// ```
    pub fn spawner(&self) -> Spawner<T, E> {
        Spawner {
            state: Rc::downgrade(&self.state),
        }
    }

    /// How many children were spawned so far.
    pub fn len(&self) -> usize {
        self.state.borrow().children.len()
    }

    /// True if no child was spawned yet.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Waits for every child; `Ok` with their values in spawn order, or
    /// `Err` with every error that occurred (see [`TaskGroup`]).
    ///
    /// # Cancel safety
    /// Dropping the [`Join`] before it resolves cancels the children still
    /// running.
    ///
    /// # Panics
    /// When awaited: if a child panicked, the first panic is resumed (with
    /// its original payload) once every child has finished. If a child was
    /// cancelled from outside (only the loop's shutdown can), with a
    /// message saying so.
    pub fn join(self) -> Join<T, E> {
        Join {
            state: self.state,
            finished: false,
        }
    }
}

impl<T: 'static, E: 'static> Default for TaskGroup<T, E> {
    fn default() -> TaskGroup<T, E> {
        TaskGroup::new()
    }
}

impl<T, E> fmt::Debug for TaskGroup<T, E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        debug_state(f, "TaskGroup", &self.state)
    }
}

fn debug_state<T, E>(
    f: &mut fmt::Formatter<'_>,
    name: &str,
    state: &RefCell<GroupState<T, E>>,
) -> fmt::Result {
    let mut d = f.debug_struct(name);
    if let Ok(st) = state.try_borrow() {
        d.field("children", &st.children.len())
            .field("running", &st.children.running())
            .field("errors", &st.errors.len())
            .field("aborting", &st.aborting);
    }
    d.finish_non_exhaustive()
}

#[track_caller]
fn spawn_child<T, E, F>(
    state: &Rc<RefCell<GroupState<T, E>>>,
    future: F,
    name: Option<&str>,
) -> GroupTask<T, E>
where
    T: 'static,
    E: 'static,
    F: Future<Output = Result<T, E>> + 'static,
{
    let child = Member {
        future,
        group: Rc::downgrade(state),
    };
    let mut st = state.borrow_mut();
    assert!(
        !st.closed,
        "boucle: spawn into a TaskGroup that has finished"
    );
    let mut builder = crate::task::Builder::new();
    if let Some(name) = name {
        builder = builder.name(name);
    }
    let task = builder.spawn(child);
    if st.aborting {
        task.cancel();
    }
    let (id, name) = (task.id(), task.name());
    st.slots.push(Slot::Running);
    let index = st.children.push(task);
    GroupTask::new(Rc::downgrade(state), index, id, name)
}

/// Spawns children into a [`TaskGroup`] from anywhere (a child, another
/// task). Made by [`TaskGroup::spawner`]; cheap to clone. It does not keep
/// the group alive.
///
/// # Examples
///
/// ```
/// boucle::run(async {
///     let group = boucle::TaskGroup::<u32, ()>::new();
///     let spawner = group.spawner();
///     // A crawler: each child may add more children.
///     group.spawn(async move {
///         for page in 1..=3 {
///             spawner.spawn(async move { Ok(page) });
///         }
///         Ok(0)
///     });
///     assert_eq!(group.join().await, Ok(vec![0, 1, 2, 3]));
/// });
/// ```
pub struct Spawner<T, E> {
    state: Weak<RefCell<GroupState<T, E>>>,
}

impl<T: 'static, E: 'static> Spawner<T, E> {
    /// Spawns `future` as a child of the group, as [`TaskGroup::spawn`].
    /// Returns its handle, or `None` if the group is gone (dropped, or
    /// `join` has returned): then `future` is dropped unpolled.
    ///
    /// # Panics
    /// Outside a running loop.
    #[track_caller]
    pub fn spawn<F>(&self, future: F) -> Option<GroupTask<T, E>>
    where
        F: Future<Output = Result<T, E>> + 'static,
    {
        let state = self.state.upgrade()?;
        if state.borrow().closed {
            return None;
        }
        Some(spawn_child(&state, future, None))
    }
}

impl<T, E> Clone for Spawner<T, E> {
    fn clone(&self) -> Spawner<T, E> {
        Spawner {
            state: self.state.clone(),
        }
    }
}

impl<T, E> fmt::Debug for Spawner<T, E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Spawner")
            .field("group_alive", &(self.state.strong_count() > 0))
            .finish()
    }
}

pin_project_lite::pin_project! {
    /// A child's future: tells the group when it fails.
    struct Member<F, T, E> {
        #[pin]
        future: F,
        group: Weak<RefCell<GroupState<T, E>>>,
    }
}

impl<F, T, E> Future for Member<F, T, E>
where
    F: Future<Output = Result<T, E>>,
    T: 'static,
    E: 'static,
{
    type Output = Result<T, E>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<T, E>> {
        let this = self.project();
        match panic::catch_unwind(AssertUnwindSafe(|| this.future.poll(cx))) {
            Ok(Poll::Ready(Err(e))) => {
                spawn_abort(this.group);
                Poll::Ready(Err(e))
            }
            Ok(other) => other,
            Err(payload) => {
                spawn_abort(this.group);
                panic::resume_unwind(payload)
            }
        }
    }
}

/// Spawns (once per group) the task that cancels the children. It runs at
/// the next loop iteration, after the children already due in this one.
fn spawn_abort<T: 'static, E: 'static>(group: &Weak<RefCell<GroupState<T, E>>>) {
    let Some(state) = group.upgrade() else {
        return;
    };
    let Ok(mut st) = state.try_borrow_mut() else {
        return; // `join` is looking at the group: it will cancel.
    };
    if st.aborting || st.abort_spawned {
        return;
    }
    st.abort_spawned = true;
    drop(st);
    let group = group.clone();
    let aborter = crate::task::Builder::new()
        .name("TaskGroup-abort")
        .spawn(async move {
            if let Some(state) = group.upgrade() {
                state.borrow_mut().abort();
            }
        });
    drop(aborter); // detached
}

/// The future of [`TaskGroup::join`].
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// let rt = boucle::Runtime::builder().virtual_time(true).build().unwrap();
/// rt.block_on(async {
///     let group = boucle::TaskGroup::<(), ()>::new();
///     group.spawn(async {
///         boucle::sleep(Duration::from_secs(60)).await;
///         Ok(())
///     });
///     let join: boucle::group::Join<(), ()> = group.join();
///     // Giving up on the join cancels the child.
///     assert!(boucle::timeout(Duration::from_secs(1), join).await.is_err());
/// });
/// ```
///
/// # Cancel safety
/// Dropping it before it resolves cancels the children still running.
#[must_use = "futures do nothing unless you .await them; dropping a Join cancels the group's children"]
pub struct Join<T, E> {
    state: Rc<RefCell<GroupState<T, E>>>,
    finished: bool,
}

impl<T, E> Future for Join<T, E> {
    type Output = Result<Vec<T>, ErrorGroup<E>>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        assert!(!self.finished, "boucle: Join polled after completion");
        if crate::coop::poll_proceed(cx).is_pending() {
            return Poll::Pending;
        }
        let (slots, errors, mut failure) = {
            let mut st = self.state.borrow_mut();
            let st = &mut *st;
            while let Some((i, result)) = st.children.try_next() {
                st.settle(i, result);
            }
            if st.children.running() > 0 {
                st.children.register(cx);
                return Poll::Pending;
            }
            st.closed = true;
            (
                std::mem::take(&mut st.slots),
                std::mem::take(&mut st.errors),
                std::mem::take(&mut st.failure),
            )
        };
        self.finished = true;
        failure.resume("a TaskGroup");
        if !errors.is_empty() {
            return Poll::Ready(Err(ErrorGroup::new(errors)));
        }
        // Without `join_next` or user cancellations, every child is here.
        let values = slots
            .into_iter()
            .filter_map(|slot| match slot {
                Slot::Value(v) => Some(v),
                _ => None,
            })
            .collect();
        Poll::Ready(Ok(values))
    }
}

impl<T, E> fmt::Debug for Join<T, E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        debug_state(f, "Join", &self.state)
    }
}
