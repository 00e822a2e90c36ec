//! The sending half of an mpsc channel, and its `send` future.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll, Wake, Waker};
use std::thread::{self, Thread};

use super::{coop, Chan, SendError, TrySendError};
use crate::runtime::context;
use crate::sync::wait_list::{Polled, WaitKey};

/// The sending half; clone it for each producer. `Send` (when `T` is), so
/// it may go to any thread.
pub struct Sender<T> {
    chan: Arc<Chan<T>>,
}

impl<T> Sender<T> {
    pub(super) fn new(chan: Arc<Chan<T>>) -> Self {
        Sender { chan }
    }

    /// Sends `value`, waiting (in a task) while a bounded channel is full.
    ///
    /// # Examples
    ///
    /// ```
    /// use boucle::sync::mpsc;
    /// boucle::run(async {
    ///     let (tx, mut rx) = mpsc::channel(1);
    ///     let producer = boucle::spawn(async move {
    ///         for i in 0..3 {
    ///             tx.send(i).await.unwrap(); // waits while the buffer is full
    ///         }
    ///     });
    ///     let mut got = Vec::new();
    ///     while let Some(v) = rx.recv().await {
    ///         got.push(v);
    ///     }
    ///     producer.await.unwrap();
    ///     assert_eq!(got, [0, 1, 2]);
    /// });
    /// ```
    ///
    /// # Cancel safety
    /// Cancel-safe: dropped before it completes, it has sent nothing, and
    /// a place reserved for it goes to the next waiting sender.
    ///
    /// # Errors
    /// [`SendError`] with the value if the receiver is gone or closed.
    pub fn send(&self, value: T) -> SendFuture<'_, T> {
        SendFuture {
            chan: &self.chan,
            item: Some(value),
            key: None,
        }
    }

    /// Sends `value` from a thread that is not running a loop, blocking the
    /// thread while a bounded channel is full.
    ///
    /// # Examples
    ///
    /// ```
    /// use boucle::sync::mpsc;
    /// let (tx, mut rx) = mpsc::channel(2);
    /// let worker = std::thread::spawn(move || {
    ///     for i in 0..5 {
    ///         tx.send_blocking(i).unwrap();
    ///     }
    /// });
    /// let sum = boucle::run(async move {
    ///     let mut sum = 0;
    ///     while let Some(v) = rx.recv().await {
    ///         sum += v;
    ///     }
    ///     sum
    /// });
    /// worker.join().unwrap();
    /// assert_eq!(sum, 10);
    /// ```
    ///
    /// # Panics
    /// On a thread running a boucle loop (it would block the loop): use
    /// `send(v).await` there.
    ///
    /// # Errors
    /// [`SendError`] with the value if the receiver is gone or closed.
    #[track_caller]
    pub fn send_blocking(&self, value: T) -> Result<(), SendError<T>> {
        assert!(
            !context::is_running(),
            "boucle: Sender::send_blocking would block the loop's thread; use `send(v).await`"
        );
        let waker = Waker::from(Arc::new(Unpark(thread::current())));
        let mut cx = Context::from_waker(&waker);
        let mut send = self.send(value);
        loop {
            if let Poll::Ready(r) = Pin::new(&mut send).poll(&mut cx) {
                return r;
            }
            thread::park();
        }
    }

    /// Sends `value` if there is room, without waiting.
    ///
    /// # Examples
    ///
    /// ```
    /// use boucle::sync::mpsc::{self, TrySendError};
    /// let (tx, _rx) = mpsc::channel(1);
    /// assert!(tx.try_send(1).is_ok());
    /// assert!(matches!(tx.try_send(2), Err(TrySendError::Full(2))));
    /// ```
    ///
    /// # Errors
    /// [`TrySendError::Full`] if a bounded channel is full,
    /// [`TrySendError::Closed`] if the receiver is gone; both give the
    /// value back.
    pub fn try_send(&self, value: T) -> Result<(), TrySendError<T>> {
        let rx = {
            let mut st = self.chan.lock();
            if st.closed {
                return Err(TrySendError::Closed(value));
            }
            if !st.has_room() {
                return Err(TrySendError::Full(value));
            }
            st.push(value)
        };
        if let Some(w) = rx {
            w.wake();
        }
        Ok(())
    }

    /// True if the receiver is gone or closed: sends would fail.
    ///
    /// # Examples
    ///
    /// ```
    /// let (tx, rx) = boucle::sync::mpsc::unbounded::<u8>();
    /// assert!(!tx.is_closed());
    /// drop(rx);
    /// assert!(tx.is_closed());
    /// ```
    pub fn is_closed(&self) -> bool {
        self.chan.lock().closed
    }
}

impl<T> Clone for Sender<T> {
    fn clone(&self) -> Self {
        self.chan.lock().senders += 1;
        Sender {
            chan: self.chan.clone(),
        }
    }
}

impl<T> Drop for Sender<T> {
    fn drop(&mut self) {
        let rx = {
            let mut st = self.chan.lock();
            st.senders -= 1;
            if st.senders > 0 {
                return;
            }
            st.rx_waker.take()
        };
        if let Some(w) = rx {
            w.wake();
        }
    }
}

impl<T> fmt::Debug for Sender<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("mpsc::Sender")
            .field("closed", &self.is_closed())
            .finish()
    }
}

struct Unpark(Thread);

impl Wake for Unpark {
    fn wake(self: Arc<Self>) {
        self.0.unpark();
    }
    fn wake_by_ref(self: &Arc<Self>) {
        self.0.unpark();
    }
}

/// The future of [`Sender::send`].
///
/// # Cancel safety
/// Cancel-safe: see [`Sender::send`].
#[must_use = "futures do nothing unless you .await them"]
pub struct SendFuture<'a, T> {
    chan: &'a Chan<T>,
    item: Option<T>,
    key: Option<WaitKey>,
}

// The value is moved, never pinned.
impl<T> Unpin for SendFuture<'_, T> {}

impl<T> Future for SendFuture<'_, T> {
    type Output = Result<(), SendError<T>>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.get_mut();
        let mut st = match this.key {
            None => {
                if coop(cx).is_pending() {
                    return Poll::Pending;
                }
                let mut st = this.chan.lock();
                if !st.closed && !st.has_room() {
                    this.key = Some(st.senders_waiting.push(cx));
                    crate::trace::hooks::waits(crate::trace::Awaiting::Sync("mpsc.send"));
                    return Poll::Pending;
                }
                st
            }
            Some(key) => {
                let mut st = this.chan.lock();
                match st.senders_waiting.poll(key, cx) {
                    Polled::Waiting(stale) => {
                        drop(st);
                        drop(stale);
                        return Poll::Pending;
                    }
                    Polled::Notified(()) => this.key = None,
                }
                st
            }
        };
        let item = this
            .item
            .take()
            .expect("boucle: SendFuture polled after completion");
        if st.closed {
            return Poll::Ready(Err(SendError(item)));
        }
        let rx = st.push(item);
        drop(st);
        if let Some(w) = rx {
            w.wake();
        }
        Poll::Ready(Ok(()))
    }
}

impl<T> Drop for SendFuture<'_, T> {
    fn drop(&mut self) {
        let Some(key) = self.key.take() else {
            return;
        };
        let (next, waker) = {
            let mut st = self.chan.lock();
            let removed = st.senders_waiting.remove(key);
            let next = match removed.notified {
                // Its reserved place goes to the next sender.
                Some(()) if st.has_room() => st.senders_waiting.notify(()).ok(),
                _ => None,
            };
            (next, removed.waker)
        };
        drop(waker);
        if let Some(w) = next {
            w.wake();
        }
    }
}

impl<T> fmt::Debug for SendFuture<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SendFuture")
            .field("queued", &self.key.is_some())
            .finish()
    }
}
