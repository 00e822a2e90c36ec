//! Queues for the tasks of one loop (asyncio's `Queue`, `LifoQueue`,
//! `PriorityQueue`): one type, [`BaseQueue`], whose [`Order`] parameter
//! picks the order; [`Queue`], [`LifoQueue`] and [`PriorityQueue`] are its
//! three names.
//!
//! # Cancel safety
//!
//! No item is ever lost or duplicated by dropping a future:
//!
//! * a [`Get`] dropped after an item was handed to it gives the item back
//!   (to the next waiting getter, or to the head of the queue);
//! * a [`Put`] dropped before it completed inserted nothing (the place it
//!   had been promised goes to the next waiting putter).
//!
//! # Fairness
//!
//! Getters are served in arrival order, and so are putters. In a FIFO
//! [`Queue`], a `put` that finds getters waiting hands its item to the
//! first of them directly, so the item is never in the queue for another
//! task to take first. In a [`LifoQueue`] or [`PriorityQueue`] the item a
//! waiting getter receives is the one the order picks when the getter runs
//! (as in asyncio: after `put(5); put(1)` a waiting priority getter gets 1),
//! so the item is queued and the first getter is promised one: promised
//! items count in `qsize()` but `get_nowait` cannot take them. A `get`
//! that frees a place while putters wait reserves it for the first of them
//! (reserved places count as taken: `full()` and `put_nowait` see them).

mod futures;
mod order;
mod state;

use std::fmt;
use std::rc::Rc;

pub use self::futures::{Get, Join, Put, QueueStream};
pub use self::order::{Fifo, Lifo, Order, Priority};
use self::state::QueueCore;
use super::error::{GetNowaitError, PutNowaitError, TaskDoneError};

/// A first-in, first-out queue (asyncio's `Queue`). See [`BaseQueue`] for
/// its methods.
///
/// # Examples
///
/// ```
/// use boucle::sync::Queue;
///
/// boucle::run(async {
///     let q = Queue::new(2);
///     let consumer = {
///         let q = q.clone();
///         boucle::spawn(async move {
///             let mut got = Vec::new();
///             while let Ok(item) = q.get().await {
///                 got.push(item);
///                 q.task_done().unwrap();
///             }
///             got
///         })
///     };
///     for i in 0..5 {
///         q.put(i).await.unwrap(); // waits while 2 items are queued
///     }
///     q.join().await; // every item processed
///     q.shutdown(false);
///     assert_eq!(consumer.await.unwrap(), [0, 1, 2, 3, 4]);
/// });
/// ```
pub type Queue<T> = BaseQueue<T, Fifo>;

/// A last-in, first-out queue (asyncio's `LifoQueue`). See [`BaseQueue`].
///
/// # Examples
///
/// ```
/// let q = boucle::sync::LifoQueue::new(0);
/// for i in 1..=3 {
///     q.put_nowait(i).unwrap();
/// }
/// assert_eq!(q.get_nowait(), Ok(3));
/// assert_eq!(q.get_nowait(), Ok(2));
/// ```
pub type LifoQueue<T> = BaseQueue<T, Lifo>;

/// A queue that serves its smallest item first (asyncio's `PriorityQueue`,
/// built like Python's on a binary heap). Put `(priority, data)` tuples to
/// order by priority. See [`BaseQueue`].
///
/// # Examples
///
/// ```
/// let q = boucle::sync::PriorityQueue::new(0);
/// q.put_nowait((2, "b")).unwrap();
/// q.put_nowait((1, "a")).unwrap();
/// q.put_nowait((3, "c")).unwrap();
/// assert_eq!(q.get_nowait(), Ok((1, "a")));
/// assert_eq!(q.get_nowait(), Ok((2, "b")));
/// ```
pub type PriorityQueue<T> = BaseQueue<T, Priority>;

/// A queue of `T` for the tasks of one loop, served in order `O`; use it
/// through its names [`Queue`], [`LifoQueue`] and [`PriorityQueue`].
///
/// `maxsize` bounds it (`0`: unbounded); [`put`](BaseQueue::put) waits
/// while it is full and [`get`](BaseQueue::get) while it is empty, both
/// first come first served. Every put counts as an unfinished task until
/// [`task_done`](BaseQueue::task_done); [`join`](BaseQueue::join) waits
/// for none to remain. [`shutdown`](BaseQueue::shutdown) closes it (Python
/// 3.13). Cloning gives another handle to the same queue (an `Rc` clone).
/// A queue is also a stream of its items: [`stream`](BaseQueue::stream).
pub struct BaseQueue<T, O: Order<T>> {
    core: Rc<QueueCore<T, O>>,
}

/// A snapshot of a queue (trio's `statistics()`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct QueueStatistics {
    /// Items in the queue.
    pub qsize: usize,
    /// The bound (`0`: unbounded).
    pub maxsize: usize,
    /// Puts not yet matched by `task_done`.
    pub unfinished_tasks: usize,
    /// Tasks waiting in `get`.
    pub getters: usize,
    /// Tasks waiting in `put`.
    pub putters: usize,
    /// Tasks waiting in `join`.
    pub joiners: usize,
    /// Whether `shutdown` was called.
    pub shut_down: bool,
}

/// `qsize 0 of 8, 0 unfinished, waiting: 1 get, 0 put, 0 join`, with
/// `unbounded` for a maxsize of 0 and `, shut down` (as the task tree shows
/// it).
impl fmt::Display for QueueStatistics {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "qsize {}", self.qsize)?;
        if self.maxsize == 0 {
            f.write_str(" (unbounded)")?;
        } else {
            write!(f, " of {}", self.maxsize)?;
        }
        write!(
            f,
            ", {} unfinished, waiting: {} get, {} put, {} join",
            self.unfinished_tasks, self.getters, self.putters, self.joiners
        )?;
        if self.shut_down {
            f.write_str(", shut down")?;
        }
        Ok(())
    }
}

impl<T> BaseQueue<T, Fifo> {
    /// A FIFO queue holding at most `maxsize` items (`0`: no bound).
    ///
    /// # Examples
    ///
    /// ```
    /// let q = boucle::sync::Queue::<String>::new(10);
    /// assert_eq!(q.maxsize(), 10);
    /// ```
    pub fn new(maxsize: usize) -> Self {
        BaseQueue::with_order(maxsize)
    }
}

impl<T> BaseQueue<T, Lifo> {
    /// A LIFO queue holding at most `maxsize` items (`0`: no bound).
    ///
    /// # Examples
    ///
    /// ```
    /// let q = boucle::sync::LifoQueue::<u8>::new(0);
    /// assert!(q.empty());
    /// ```
    pub fn new(maxsize: usize) -> Self {
        BaseQueue::with_order(maxsize)
    }
}

impl<T: Ord> BaseQueue<T, Priority> {
    /// A priority queue holding at most `maxsize` items (`0`: no bound).
    ///
    /// # Examples
    ///
    /// ```
    /// let q = boucle::sync::PriorityQueue::new(0);
    /// q.put_nowait(3).unwrap();
    /// q.put_nowait(1).unwrap();
    /// assert_eq!(q.get_nowait(), Ok(1));
    /// ```
    pub fn new(maxsize: usize) -> Self {
        BaseQueue::with_order(maxsize)
    }
}

impl<T, O: Order<T>> BaseQueue<T, O> {
    fn with_order(maxsize: usize) -> Self {
        BaseQueue {
            core: Rc::new(QueueCore::new(maxsize)),
        }
    }

    /// Puts `item`, waiting while the queue is full. A getter already
    /// waiting receives the item directly.
    ///
    /// # Examples
    ///
    /// ```
    /// boucle::run(async {
    ///     let q = boucle::sync::Queue::new(1);
    ///     q.put("a").await.unwrap();
    ///     assert!(q.full());
    /// });
    /// ```
    ///
    /// # Cancel safety
    /// Cancel-safe: a `put` dropped before it returns has inserted nothing
    /// (the item is dropped with it), and gives its turn to the next putter.
    ///
    /// # Errors
    /// [`QueueShutDown`](crate::sync::QueueShutDown) holding the item if the
    /// queue is shut down (when called, or while waiting).
    pub fn put(&self, item: T) -> Put<'_, T, O> {
        Put::new(&self.core, item)
    }

    /// Puts `item` if there is room, without waiting.
    ///
    /// # Examples
    ///
    /// ```
    /// let q = boucle::sync::Queue::new(1);
    /// assert!(q.put_nowait(1).is_ok());
    /// let err = q.put_nowait(2).unwrap_err();
    /// assert!(err.is_full());
    /// assert_eq!(err.into_inner(), 2); // the item comes back
    /// ```
    ///
    /// # Errors
    /// [`PutNowaitError::Full`] if the queue is full (asyncio's
    /// `QueueFull`), [`PutNowaitError::ShutDown`] if it is shut down; both
    /// give the item back.
    pub fn put_nowait(&self, item: T) -> Result<(), PutNowaitError<T>> {
        self.core.put_nowait(item)
    }

    /// Takes the next item, waiting while the queue is empty. After
    /// `shutdown(false)` it still drains the remaining items.
    ///
    /// # Examples
    ///
    /// ```
    /// boucle::run(async {
    ///     let q = boucle::sync::Queue::new(0);
    ///     q.put_nowait(7).unwrap();
    ///     assert_eq!(q.get().await, Ok(7));
    /// });
    /// ```
    ///
    /// # Cancel safety
    /// Cancel-safe: if an item was handed to the `get` before it was
    /// dropped, the item goes to the next getter or back to the head of the
    /// queue; no item is lost or received twice.
    ///
    /// # Errors
    /// [`QueueShutDown`](crate::sync::QueueShutDown) once the queue is shut
    /// down and empty.
    pub fn get(&self) -> Get<'_, T, O> {
        Get::new(&self.core)
    }

    /// Takes the next item if there is one, without waiting.
    ///
    /// # Examples
    ///
    /// ```
    /// use boucle::sync::{GetNowaitError, Queue, QueueEmpty};
    /// let q = Queue::<u8>::new(0);
    /// assert_eq!(q.get_nowait(), Err(GetNowaitError::Empty(QueueEmpty)));
    /// ```
    ///
    /// # Errors
    /// [`GetNowaitError::Empty`] if the queue is empty (asyncio's
    /// `QueueEmpty`), [`GetNowaitError::ShutDown`] if it is also shut down.
    pub fn get_nowait(&self) -> Result<T, GetNowaitError> {
        self.core.get_nowait()
    }

    /// Items in the queue now (in a FIFO `Queue`, items handed to waiting
    /// getters are no longer in it; in the other orders, items promised to
    /// woken getters still are, until those getters run).
    ///
    /// # Examples
    ///
    /// ```
    /// let q = boucle::sync::Queue::new(0);
    /// q.put_nowait(1).unwrap();
    /// q.put_nowait(2).unwrap();
    /// assert_eq!(q.qsize(), 2);
    /// ```
    pub fn qsize(&self) -> usize {
        self.core.qsize()
    }

    /// True if the queue holds no item.
    ///
    /// # Examples
    ///
    /// ```
    /// let q = boucle::sync::Queue::new(0);
    /// assert!(q.empty());
    /// q.put_nowait(1).unwrap();
    /// assert!(!q.empty());
    /// ```
    pub fn empty(&self) -> bool {
        self.qsize() == 0
    }

    /// True if `put_nowait` would fail for lack of room (never for an
    /// unbounded queue). Places reserved for woken putters count as taken.
    ///
    /// # Examples
    ///
    /// ```
    /// let q = boucle::sync::Queue::new(1);
    /// assert!(!q.full());
    /// q.put_nowait(1).unwrap();
    /// assert!(q.full());
    /// ```
    pub fn full(&self) -> bool {
        self.core.full()
    }

    /// The bound given to `new` (`0`: unbounded).
    ///
    /// # Examples
    ///
    /// ```
    /// assert_eq!(boucle::sync::Queue::<u8>::new(0).maxsize(), 0);
    /// ```
    pub fn maxsize(&self) -> usize {
        self.core.maxsize()
    }

    /// Marks one item taken from the queue as processed. When every put
    /// has been matched, `join` waiters are released.
    ///
    /// # Examples
    ///
    /// ```
    /// use boucle::sync::{Queue, TaskDoneError};
    /// let q = Queue::new(0);
    /// q.put_nowait(1).unwrap();
    /// q.get_nowait().unwrap();
    /// assert_eq!(q.task_done(), Ok(()));
    /// assert_eq!(q.task_done(), Err(TaskDoneError));
    /// ```
    ///
    /// # Errors
    /// [`TaskDoneError`] if called more times than items were put (asyncio
    /// raises `ValueError`); the count does not change then.
    pub fn task_done(&self) -> Result<(), TaskDoneError> {
        self.core.task_done()
    }

    /// Waits until every item put has been marked done by `task_done`
    /// (at once if none is unfinished).
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// let rt = boucle::Runtime::builder().virtual_time(true).build().unwrap();
    /// rt.block_on(async {
    ///     let q = boucle::sync::Queue::new(0);
    ///     q.put_nowait("job").unwrap();
    ///     let worker = {
    ///         let q = q.clone();
    ///         boucle::spawn(async move {
    ///             let _job = q.get().await.unwrap();
    ///             boucle::sleep(Duration::from_secs(2)).await;
    ///             q.task_done().unwrap();
    ///         })
    ///     };
    ///     let start = boucle::now();
    ///     q.join().await;
    ///     assert_eq!(boucle::now() - start, Duration::from_secs(2));
    ///     worker.await.unwrap();
    /// });
    /// ```
    ///
    /// # Cancel safety
    /// Cancel-safe: dropping it only leaves the queue of `join` waiters.
    pub fn join(&self) -> Join<'_, T, O> {
        Join::new(&self.core)
    }

    /// Shuts the queue down (Python 3.13's `Queue.shutdown`): later puts
    /// fail with `QueueShutDown`, and so do gets once the queue is empty;
    /// blocked putters and getters are woken with that error.
    ///
    /// With `immediate`, the items still queued are dropped (each counts as
    /// done for `join`, which is released if nothing is left unfinished),
    /// and so is an item handed to a getter whose future is then dropped.
    ///
    /// # Examples
    ///
    /// ```
    /// use boucle::sync::{Queue, QueueShutDown};
    /// boucle::run(async {
    ///     let q = Queue::new(0);
    ///     q.put_nowait(1).unwrap();
    ///     q.shutdown(false);
    ///     assert_eq!(q.get().await, Ok(1)); // drains
    ///     assert_eq!(q.get().await, Err(QueueShutDown(())));
    ///     assert_eq!(q.put(2).await, Err(QueueShutDown(2)));
    /// });
    /// ```
    pub fn shutdown(&self, immediate: bool) {
        self.core.shutdown(immediate);
    }

    /// Whether `shutdown` was called.
    ///
    /// # Examples
    ///
    /// ```
    /// let q = boucle::sync::Queue::<u8>::new(0);
    /// q.shutdown(false);
    /// assert!(q.is_shut_down());
    /// ```
    pub fn is_shut_down(&self) -> bool {
        self.core.is_shut_down()
    }

    /// Sizes, waiting tasks and unfinished tasks.
    ///
    /// # Examples
    ///
    /// ```
    /// let q = boucle::sync::Queue::new(3);
    /// q.put_nowait('x').unwrap();
    /// let s = q.statistics();
    /// assert_eq!((s.qsize, s.maxsize, s.unfinished_tasks), (1, 3, 1));
    /// assert_eq!((s.getters, s.putters, s.shut_down), (0, 0, false));
    /// ```
    pub fn statistics(&self) -> QueueStatistics {
        self.core.statistics()
    }

    /// The queue as a `futures_core::Stream` of its items (`async for item
    /// in queue`), which ends once the queue is shut down and drained.
    ///
    /// # Examples
    ///
    /// ```
    /// use boucle::stream::StreamExt;
    /// boucle::run(async {
    ///     let q = boucle::sync::Queue::new(0);
    ///     for i in 0..3 {
    ///         q.put_nowait(i).unwrap();
    ///     }
    ///     q.shutdown(false);
    ///     let items: Vec<i32> = q.stream().collect().await;
    ///     assert_eq!(items, [0, 1, 2]);
    /// });
    /// ```
    pub fn stream(&self) -> QueueStream<T, O> {
        QueueStream::new(self.clone())
    }
}

impl<T, O: Order<T>> Clone for BaseQueue<T, O> {
    fn clone(&self) -> Self {
        BaseQueue {
            core: self.core.clone(),
        }
    }
}

impl<T, O: Order<T>> fmt::Debug for BaseQueue<T, O> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Queue")
            .field("statistics", &self.statistics())
            .finish()
    }
}
