//! The receiving half of an mpsc channel.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use super::{coop, Chan, TryRecvError};

/// The receiving half, awaited on the loop (it is `Send` too, when `T`
/// is). Dropping it closes the channel and drops the buffered values.
pub struct Receiver<T> {
    chan: Arc<Chan<T>>,
}

impl<T> Receiver<T> {
    pub(super) fn new(chan: Arc<Chan<T>>) -> Self {
        Receiver { chan }
    }

    /// The next value; `None` once every sender is gone and the buffer is
    /// empty (or after `close`, once drained).
    ///
    /// # Examples
    ///
    /// ```
    /// boucle::run(async {
    ///     let (tx, mut rx) = boucle::sync::mpsc::unbounded();
    ///     tx.try_send("one").unwrap();
    ///     drop(tx);
    ///     assert_eq!(rx.recv().await, Some("one"));
    ///     assert_eq!(rx.recv().await, None); // every sender is gone
    /// });
    /// ```
    ///
    /// # Cancel safety
    /// Cancel-safe: a value is taken only when it is returned.
    pub fn recv(&mut self) -> Recv<'_, T> {
        Recv { rx: self }
    }

    /// Polls for the next value (the `Stream` method).
    pub fn poll_recv(&mut self, cx: &mut Context<'_>) -> Poll<Option<T>> {
        if coop(cx).is_pending() {
            return Poll::Pending;
        }
        let mut st = self.chan.lock();
        if let Some((item, next)) = st.pop() {
            drop(st);
            if let Some(w) = next {
                w.wake();
            }
            return Poll::Ready(Some(item));
        }
        if st.senders == 0 || st.closed {
            return Poll::Ready(None);
        }
        match &st.rx_waker {
            Some(w) if w.will_wake(cx.waker()) => {}
            _ => {
                let old = st.rx_waker.replace(cx.waker().clone());
                drop(st);
                drop(old);
            }
        }
        Poll::Pending
    }

    /// The next value if one is buffered, without waiting.
    ///
    /// # Examples
    ///
    /// ```
    /// use boucle::sync::mpsc::{self, TryRecvError};
    /// let (tx, mut rx) = mpsc::unbounded();
    /// assert_eq!(rx.try_recv(), Err(TryRecvError::Empty));
    /// tx.try_send(1).unwrap();
    /// assert_eq!(rx.try_recv(), Ok(1));
    /// drop(tx);
    /// assert_eq!(rx.try_recv(), Err(TryRecvError::Disconnected));
    /// ```
    ///
    /// # Errors
    /// [`TryRecvError::Empty`] if none is buffered,
    /// [`TryRecvError::Disconnected`] if also every sender is gone.
    pub fn try_recv(&mut self) -> Result<T, TryRecvError> {
        let mut st = self.chan.lock();
        match st.pop() {
            Some((item, next)) => {
                drop(st);
                if let Some(w) = next {
                    w.wake();
                }
                Ok(item)
            }
            None if st.senders == 0 || st.closed => Err(TryRecvError::Disconnected),
            None => Err(TryRecvError::Empty),
        }
    }

    /// Stops accepting values: later sends fail and waiting senders are
    /// woken with [`SendError`](super::SendError). Values already sent can still be received.
    ///
    /// # Examples
    ///
    /// ```
    /// let (tx, mut rx) = boucle::sync::mpsc::unbounded();
    /// tx.try_send(1).unwrap();
    /// rx.close();
    /// assert!(tx.try_send(2).is_err());
    /// assert_eq!(rx.try_recv(), Ok(1));
    /// ```
    pub fn close(&mut self) {
        let mut wakers = Vec::new();
        {
            let mut st = self.chan.lock();
            st.closed = true;
            st.senders_waiting.notify_all(|| (), &mut wakers);
        }
        for w in wakers {
            w.wake();
        }
    }

    /// Values buffered now.
    ///
    /// # Examples
    ///
    /// ```
    /// let (tx, rx) = boucle::sync::mpsc::channel(4);
    /// tx.try_send('a').unwrap();
    /// assert_eq!((rx.len(), rx.is_empty()), (1, false));
    /// ```
    pub fn len(&self) -> usize {
        self.chan.lock().items.len()
    }

    /// True if no value is buffered.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

impl<T> Drop for Receiver<T> {
    fn drop(&mut self) {
        self.close();
        let items = std::mem::take(&mut self.chan.lock().items);
        drop(items);
    }
}

impl<T> futures_core::Stream for Receiver<T> {
    type Item = T;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<T>> {
        self.get_mut().poll_recv(cx)
    }
}

impl<T> fmt::Debug for Receiver<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("mpsc::Receiver")
            .field("len", &self.len())
            .finish()
    }
}

/// The future of [`Receiver::recv`].
///
/// # Cancel safety
/// Cancel-safe.
#[must_use = "futures do nothing unless you .await them"]
pub struct Recv<'a, T> {
    rx: &'a mut Receiver<T>,
}

impl<T> Future for Recv<'_, T> {
    type Output = Option<T>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<T>> {
        self.get_mut().rx.poll_recv(cx)
    }
}

impl<T> fmt::Debug for Recv<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Recv")
    }
}
