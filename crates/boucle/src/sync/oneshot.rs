//! A one-value channel that crosses threads: a thread (or a task of any
//! loop) sends one value, a task awaits it (asyncio's
//! `loop.call_soon_threadsafe(future.set_result, value)`).
//! With virtual time, see the note in [`mpsc`](super::mpsc) about threads.
//!
//! # Examples
//!
//! ```
//! use boucle::sync::oneshot;
//!
//! let answer = boucle::run(async {
//!     let (tx, rx) = oneshot::channel();
//!     std::thread::spawn(move || {
//!         let _ = tx.send(6 * 7);
//!     });
//!     rx.await
//! });
//! assert_eq!(answer, Ok(42));
//! ```

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

// loom's under `--cfg loom`: the cross-shard channel models (runtime/shard/loom_tests.rs).
use crate::loom_shim::{Mutex, MutexGuard};
use std::task::{Context, Poll, Waker};

/// A new channel: `Sender` and `Receiver` are `Send` when `T` is, so either
/// may move to another thread.
///
/// # Examples
///
/// ```
/// let (tx, rx) = boucle::sync::oneshot::channel();
/// tx.send(5).unwrap();
/// assert_eq!(boucle::run(rx), Ok(5));
/// ```
pub fn channel<T>() -> (Sender<T>, Receiver<T>) {
    let inner = Arc::new(Inner {
        state: Mutex::new(State {
            value: None,
            waker: None,
            sender_gone: false,
            receiver_gone: false,
        }),
    });
    (
        Sender {
            inner: inner.clone(),
        },
        Receiver { inner },
    )
}

struct Inner<T> {
    state: Mutex<State<T>>,
}

struct State<T> {
    value: Option<T>,
    waker: Option<Waker>,
    sender_gone: bool,
    receiver_gone: bool,
}

impl<T> Inner<T> {
    fn lock(&self) -> MutexGuard<'_, State<T>> {
        // No code that can panic runs under the lock; recover anyway.
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// The sending half: [`send`](Sender::send) one value, from any thread.
/// Dropping it unsent makes the receiver get [`RecvError`].
#[must_use = "dropping the Sender makes the Receiver get RecvError"]
pub struct Sender<T> {
    inner: Arc<Inner<T>>,
}

impl<T> Sender<T> {
    /// Sends `value` and wakes the receiver.
    ///
    /// # Examples
    ///
    /// ```
    /// let (tx, rx) = boucle::sync::oneshot::channel();
    /// drop(rx);
    /// assert_eq!(tx.send("lost"), Err("lost"));
    /// ```
    ///
    /// # Errors
    /// `Err(value)` if the receiver was dropped (or closed).
    pub fn send(self, value: T) -> Result<(), T> {
        let waker = {
            let mut st = self.inner.lock();
            if st.receiver_gone {
                return Err(value);
            }
            st.value = Some(value);
            st.sender_gone = true;
            st.waker.take()
        };
        if let Some(w) = waker {
            w.wake();
        }
        Ok(())
    }

    /// True if the receiver was dropped or closed: a send would fail.
    ///
    /// # Examples
    ///
    /// ```
    /// let (tx, mut rx) = boucle::sync::oneshot::channel::<u8>();
    /// assert!(!tx.is_closed());
    /// rx.close();
    /// assert!(tx.is_closed());
    /// ```
    pub fn is_closed(&self) -> bool {
        self.inner.lock().receiver_gone
    }
}

impl<T> Drop for Sender<T> {
    fn drop(&mut self) {
        let waker = {
            let mut st = self.inner.lock();
            if st.sender_gone {
                return; // sent
            }
            st.sender_gone = true;
            st.waker.take()
        };
        if let Some(w) = waker {
            w.wake();
        }
    }
}

impl<T> fmt::Debug for Sender<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("oneshot::Sender")
            .field("closed", &self.is_closed())
            .finish()
    }
}

/// The receiving half: a future of the value, or [`RecvError`] if the
/// sender was dropped without sending.
///
/// # Cancel safety
/// Dropping the receiver closes the channel; a value already sent is
/// dropped with it. Polling it again after a `Pending` (for instance under
/// `timeout`, then again) is fine: the value stays until it is returned.
#[must_use = "futures do nothing unless you .await them"]
pub struct Receiver<T> {
    inner: Arc<Inner<T>>,
}

impl<T> Receiver<T> {
    /// The value if it was sent, without waiting.
    ///
    /// # Examples
    ///
    /// ```
    /// use boucle::sync::oneshot::{self, TryRecvError};
    /// let (tx, mut rx) = oneshot::channel();
    /// assert_eq!(rx.try_recv(), Err(TryRecvError::Empty));
    /// tx.send("hi").unwrap();
    /// assert_eq!(rx.try_recv(), Ok("hi"));
    /// assert_eq!(rx.try_recv(), Err(TryRecvError::Closed));
    /// ```
    ///
    /// # Errors
    /// [`TryRecvError::Empty`] if nothing was sent yet,
    /// [`TryRecvError::Closed`] if the sender is gone and no value is left.
    pub fn try_recv(&mut self) -> Result<T, TryRecvError> {
        let mut st = self.inner.lock();
        match st.value.take() {
            Some(v) => Ok(v),
            None if st.sender_gone => Err(TryRecvError::Closed),
            None => Err(TryRecvError::Empty),
        }
    }

    /// Refuses the value from now on: a later `send` fails. A value sent
    /// before is still received.
    ///
    /// # Examples
    ///
    /// ```
    /// let (tx, mut rx) = boucle::sync::oneshot::channel();
    /// rx.close();
    /// assert_eq!(tx.send(1), Err(1));
    /// ```
    pub fn close(&mut self) {
        self.inner.lock().receiver_gone = true;
    }
}

impl<T> Future for Receiver<T> {
    type Output = Result<T, RecvError>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let mut st = self.inner.lock();
        if let Some(v) = st.value.take() {
            return Poll::Ready(Ok(v));
        }
        if st.sender_gone {
            return Poll::Ready(Err(RecvError));
        }
        match &st.waker {
            Some(w) if w.will_wake(cx.waker()) => {}
            _ => {
                let old = st.waker.replace(cx.waker().clone());
                drop(st);
                drop(old);
            }
        }
        Poll::Pending
    }
}

impl<T> Drop for Receiver<T> {
    fn drop(&mut self) {
        let (value, waker) = {
            let mut st = self.inner.lock();
            st.receiver_gone = true;
            (st.value.take(), st.waker.take())
        };
        drop(value);
        drop(waker);
    }
}

impl<T> fmt::Debug for Receiver<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("oneshot::Receiver")
    }
}

/// The sender was dropped without sending.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RecvError;

impl fmt::Display for RecvError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("oneshot sender dropped without sending")
    }
}

impl std::error::Error for RecvError {}

/// Why [`Receiver::try_recv`] gave no value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TryRecvError {
    /// Nothing sent yet.
    Empty,
    /// The sender is gone (or the value was already taken).
    Closed,
}

impl fmt::Display for TryRecvError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            TryRecvError::Empty => "no value sent yet",
            TryRecvError::Closed => "oneshot channel closed",
        })
    }
}

impl std::error::Error for TryRecvError {}
