//! The futures of a queue: `get`, `put`, `join`, and the queue as a stream.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use super::order::Order;
use super::state::QueueCore;
use super::BaseQueue;
use crate::sync::error::QueueShutDown;
use crate::sync::wait_list::WaitKey;

/// The future of [`BaseQueue::get`].
///
/// # Cancel safety
/// Cancel-safe: an item handed to it before it was dropped goes to the
/// next getter or back to the head of the queue.
#[must_use = "futures do nothing unless you .await them"]
pub struct Get<'a, T, O: Order<T>> {
    core: &'a QueueCore<T, O>,
    key: Option<WaitKey>,
}

impl<'a, T, O: Order<T>> Get<'a, T, O> {
    pub(super) fn new(core: &'a QueueCore<T, O>) -> Self {
        Get { core, key: None }
    }
}

impl<T, O: Order<T>> Future for Get<'_, T, O> {
    type Output = Result<T, QueueShutDown>;

    #[inline]
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.get_mut();
        this.core.poll_get(&mut this.key, cx)
    }
}

impl<T, O: Order<T>> Drop for Get<'_, T, O> {
    fn drop(&mut self) {
        // No `take`: nothing reads the key after the drop.
        if let Some(key) = self.key {
            self.core.cancel_get(key);
        }
    }
}

// Holds no `T` and nothing pinned.
impl<T, O: Order<T>> Unpin for Get<'_, T, O> {}

impl<T, O: Order<T>> fmt::Debug for Get<'_, T, O> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Get")
            .field("queued", &self.key.is_some())
            .finish()
    }
}

/// The future of [`BaseQueue::put`].
///
/// # Cancel safety
/// Cancel-safe: dropped before it completes, it has inserted nothing.
#[must_use = "futures do nothing unless you .await them"]
pub struct Put<'a, T, O: Order<T>> {
    core: &'a QueueCore<T, O>,
    item: Option<T>,
    key: Option<WaitKey>,
}

impl<'a, T, O: Order<T>> Put<'a, T, O> {
    pub(super) fn new(core: &'a QueueCore<T, O>, item: T) -> Self {
        Put {
            core,
            item: Some(item),
            key: None,
        }
    }
}

impl<T, O: Order<T>> Future for Put<'_, T, O> {
    type Output = Result<(), QueueShutDown<T>>;

    #[inline]
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.get_mut();
        this.core.poll_put(&mut this.item, &mut this.key, cx)
    }
}

impl<T, O: Order<T>> Drop for Put<'_, T, O> {
    fn drop(&mut self) {
        // No `take`: nothing reads the key after the drop.
        if let Some(key) = self.key {
            self.core.cancel_put(key);
        }
    }
}

// The item is moved, never pinned.
impl<T, O: Order<T>> Unpin for Put<'_, T, O> {}

impl<T, O: Order<T>> fmt::Debug for Put<'_, T, O> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Put")
            .field("queued", &self.key.is_some())
            .field("done", &self.item.is_none())
            .finish()
    }
}

/// The future of [`BaseQueue::join`].
///
/// # Cancel safety
/// Cancel-safe.
#[must_use = "futures do nothing unless you .await them"]
pub struct Join<'a, T, O: Order<T>> {
    core: &'a QueueCore<T, O>,
    key: Option<WaitKey>,
}

impl<'a, T, O: Order<T>> Join<'a, T, O> {
    pub(super) fn new(core: &'a QueueCore<T, O>) -> Self {
        Join { core, key: None }
    }
}

impl<T, O: Order<T>> Future for Join<'_, T, O> {
    type Output = ();

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let this = self.get_mut();
        this.core.poll_join(&mut this.key, cx)
    }
}

impl<T, O: Order<T>> Drop for Join<'_, T, O> {
    fn drop(&mut self) {
        if let Some(key) = self.key.take() {
            self.core.cancel_join(key);
        }
    }
}

impl<T, O: Order<T>> Unpin for Join<'_, T, O> {}

impl<T, O: Order<T>> fmt::Debug for Join<'_, T, O> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Join")
            .field("queued", &self.key.is_some())
            .finish()
    }
}

/// A queue as a `futures_core::Stream` of its items, made by
/// [`BaseQueue::stream`]. It ends (`None`) once the queue is shut down and
/// drained, and stays ended.
///
/// # Cancel safety
/// `poll_next` is cancel-safe as [`BaseQueue::get`]: dropping the stream
/// while it waits gives back any item handed to it.
#[must_use = "streams do nothing unless polled"]
pub struct QueueStream<T, O: Order<T>> {
    queue: BaseQueue<T, O>,
    key: Option<WaitKey>,
    done: bool,
}

impl<T, O: Order<T>> QueueStream<T, O> {
    pub(super) fn new(queue: BaseQueue<T, O>) -> Self {
        QueueStream {
            queue,
            key: None,
            done: false,
        }
    }

    /// The queue this stream reads.
    ///
    /// # Examples
    ///
    /// ```
    /// let q = boucle::sync::Queue::<u8>::new(4);
    /// assert_eq!(q.stream().queue().maxsize(), 4);
    /// ```
    pub fn queue(&self) -> &BaseQueue<T, O> {
        &self.queue
    }
}

impl<T, O: Order<T>> futures_core::Stream for QueueStream<T, O> {
    type Item = T;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<T>> {
        let this = self.get_mut();
        if this.done {
            return Poll::Ready(None);
        }
        match this.queue.core.poll_get(&mut this.key, cx) {
            Poll::Ready(Ok(item)) => Poll::Ready(Some(item)),
            Poll::Ready(Err(QueueShutDown(()))) => {
                this.done = true;
                Poll::Ready(None)
            }
            Poll::Pending => Poll::Pending,
        }
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        if self.done {
            (0, Some(0))
        } else {
            (self.queue.qsize(), None)
        }
    }
}

impl<T, O: Order<T>> futures_core::FusedStream for QueueStream<T, O> {
    fn is_terminated(&self) -> bool {
        self.done
    }
}

impl<T, O: Order<T>> Drop for QueueStream<T, O> {
    fn drop(&mut self) {
        if let Some(key) = self.key.take() {
            self.queue.core.cancel_get(key);
        }
    }
}

impl<T, O: Order<T>> Unpin for QueueStream<T, O> {}

impl<T, O: Order<T>> fmt::Debug for QueueStream<T, O> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("QueueStream")
            .field("queue", &self.queue)
            .field("done", &self.done)
            .finish()
    }
}
