//! The errors of queues, semaphores and barriers (asyncio's `QueueFull`,
//! `QueueEmpty`, `QueueShutDown`, `ValueError`s and `BrokenBarrierError`).
//!
//! All of them are plain values with `Display` and `std::error::Error`;
//! those that carry an item give it back ([`QueueFull::into_inner`]) and
//! print as `QueueFull(..)` whatever the item's type.

use std::fmt;

/// `put_nowait` on a full queue (asyncio's `QueueFull`). Holds the item
/// that was not put.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct QueueFull<T>(pub T);

/// `get_nowait` on an empty queue (asyncio's `QueueEmpty`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct QueueEmpty;

/// The queue was shut down (asyncio's `QueueShutDown`, Python 3.13).
///
/// For a put, it holds the item that was not put (`QueueShutDown<T>`); for
/// a get, it holds nothing (`QueueShutDown`, that is `QueueShutDown<()>`).
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct QueueShutDown<T = ()>(pub T);

/// Why `put_nowait` failed. Gives the item back either way.
#[derive(Clone, PartialEq, Eq)]
pub enum PutNowaitError<T> {
    /// The queue is full.
    Full(QueueFull<T>),
    /// The queue was shut down.
    ShutDown(QueueShutDown<T>),
}

/// Why `get_nowait` failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GetNowaitError {
    /// The queue is empty (and not shut down).
    Empty(QueueEmpty),
    /// The queue was shut down and has no item left.
    ShutDown(QueueShutDown),
}

/// `task_done` was called more times than items were put (asyncio raises
/// `ValueError`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TaskDoneError;

/// `BoundedSemaphore::release` would raise the count above its initial
/// value (asyncio raises `ValueError`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BoundedSemaphoreError;

/// The barrier was aborted or reset while (or before) waiting (asyncio's
/// `BrokenBarrierError`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BrokenBarrierError;

impl<T> QueueFull<T> {
    /// The item that was not put.
    pub fn into_inner(self) -> T {
        self.0
    }
}

impl<T> QueueShutDown<T> {
    /// The item that was not put (`()` for a get).
    pub fn into_inner(self) -> T {
        self.0
    }
}

impl<T> PutNowaitError<T> {
    /// The item that was not put.
    pub fn into_inner(self) -> T {
        match self {
            PutNowaitError::Full(e) => e.0,
            PutNowaitError::ShutDown(e) => e.0,
        }
    }

    /// True if the queue was full.
    pub fn is_full(&self) -> bool {
        matches!(self, PutNowaitError::Full(_))
    }

    /// True if the queue was shut down.
    pub fn is_shut_down(&self) -> bool {
        matches!(self, PutNowaitError::ShutDown(_))
    }
}

impl GetNowaitError {
    /// True if the queue was empty (and is not shut down).
    pub fn is_empty(&self) -> bool {
        matches!(self, GetNowaitError::Empty(_))
    }

    /// True if the queue was shut down and drained.
    pub fn is_shut_down(&self) -> bool {
        matches!(self, GetNowaitError::ShutDown(_))
    }
}

impl<T> From<QueueFull<T>> for PutNowaitError<T> {
    fn from(e: QueueFull<T>) -> Self {
        PutNowaitError::Full(e)
    }
}

impl<T> From<QueueShutDown<T>> for PutNowaitError<T> {
    fn from(e: QueueShutDown<T>) -> Self {
        PutNowaitError::ShutDown(e)
    }
}

impl From<QueueEmpty> for GetNowaitError {
    fn from(e: QueueEmpty) -> Self {
        GetNowaitError::Empty(e)
    }
}

impl From<QueueShutDown> for GetNowaitError {
    fn from(e: QueueShutDown) -> Self {
        GetNowaitError::ShutDown(e)
    }
}

// Debug without `T: Debug`, so `.unwrap()` works for any item type.
impl<T> fmt::Debug for QueueFull<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("QueueFull(..)")
    }
}

impl<T> fmt::Debug for QueueShutDown<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("QueueShutDown(..)")
    }
}

impl<T> fmt::Debug for PutNowaitError<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PutNowaitError::Full(e) => f.debug_tuple("Full").field(e).finish(),
            PutNowaitError::ShutDown(e) => f.debug_tuple("ShutDown").field(e).finish(),
        }
    }
}

macro_rules! display {
    ($($ty:ty => $msg:literal),* $(,)?) => {$(
        impl fmt::Display for $ty {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str($msg)
            }
        }
        impl std::error::Error for $ty {}
    )*};
}

display! {
    QueueEmpty => "queue is empty",
    TaskDoneError => "task_done() called too many times",
    BoundedSemaphoreError => "BoundedSemaphore released too many times",
    BrokenBarrierError => "barrier is broken (aborted or reset)",
}

impl<T> fmt::Display for QueueFull<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("queue is full")
    }
}

impl<T> fmt::Display for QueueShutDown<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("queue is shut down")
    }
}

impl<T> fmt::Display for PutNowaitError<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PutNowaitError::Full(e) => e.fmt(f),
            PutNowaitError::ShutDown(e) => e.fmt(f),
        }
    }
}

impl fmt::Display for GetNowaitError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            GetNowaitError::Empty(e) => e.fmt(f),
            GetNowaitError::ShutDown(e) => e.fmt(f),
        }
    }
}

impl<T> std::error::Error for QueueFull<T> {}
impl<T> std::error::Error for QueueShutDown<T> {}
impl<T> std::error::Error for PutNowaitError<T> {}
impl std::error::Error for GetNowaitError {}
