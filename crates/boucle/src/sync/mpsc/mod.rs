//! A multi-producer channel into the loop: senders on any thread (threads
//! with [`Sender::send_blocking`], tasks with [`Sender::send`]), one
//! receiver awaited on the loop.
//!
//! [`channel`] is bounded (senders wait while it is full, first come first
//! served); [`unbounded`] never makes them wait. The [`Receiver`] yields
//! `None` once every sender is gone and the buffer is drained, and is also
//! a `futures_core::Stream`.
//!
//! With virtual time, the loop knows nothing of your threads: when no
//! task is ready it may jump its clock to the next timer while a thread is
//! still working (jobs of `to_thread` are waited for). Use real time, or
//! `to_thread`, when timers and threads must agree.
//!
//! # Examples
//!
//! ```
//! use boucle::sync::mpsc;
//!
//! let total = boucle::run(async {
//!     let (tx, mut rx) = mpsc::channel(4);
//!     for t in 0..3u64 {
//!         let tx = tx.clone();
//!         std::thread::spawn(move || {
//!             for i in 0..10 {
//!                 tx.send_blocking(t * 100 + i).unwrap();
//!             }
//!         });
//!     }
//!     drop(tx);
//!     let mut total = 0;
//!     while let Some(v) = rx.recv().await {
//!         total += v;
//!     }
//!     total
//! });
//! assert_eq!(total, 3 * 45 + 10 * (0 + 100 + 200));
//! ```

mod error;
mod receiver;
mod sender;

use std::collections::VecDeque;
use std::sync::Arc;

// loom's under `--cfg loom`: the cross-shard channel models (runtime/shard/loom_tests.rs).
use crate::loom_shim::{Mutex, MutexGuard};
use std::task::{Context, Poll, Waker};

pub use self::error::{SendError, TryRecvError, TrySendError};
pub use self::receiver::{Receiver, Recv};
pub use self::sender::{SendFuture, Sender};
use super::wait_list::WaitList;
use crate::runtime::context;

/// A bounded channel: at most `capacity` values wait in the buffer.
///
/// # Panics
/// If `capacity` is 0 (use [`unbounded`] for no bound).
#[track_caller]
pub fn channel<T>(capacity: usize) -> (Sender<T>, Receiver<T>) {
    assert!(
        capacity > 0,
        "boucle: mpsc::channel needs a capacity above 0"
    );
    make(capacity)
}

/// A channel whose senders never wait.
///
/// # Examples
///
/// ```
/// let (tx, mut rx) = boucle::sync::mpsc::unbounded();
/// for i in 0..1000 {
///     tx.try_send(i).unwrap();
/// }
/// assert_eq!(rx.len(), 1000);
/// assert_eq!(rx.try_recv(), Ok(0));
/// ```
pub fn unbounded<T>() -> (Sender<T>, Receiver<T>) {
    make(0)
}

fn make<T>(capacity: usize) -> (Sender<T>, Receiver<T>) {
    let chan = Arc::new(Chan {
        state: Mutex::new(State {
            items: VecDeque::new(),
            capacity,
            senders: 1,
            closed: false,
            rx_waker: None,
            senders_waiting: WaitList::new(),
        }),
    });
    (Sender::new(chan.clone()), Receiver::new(chan))
}

pub(crate) struct Chan<T> {
    pub(crate) state: Mutex<State<T>>,
}

pub(crate) struct State<T> {
    pub(crate) items: VecDeque<T>,
    /// 0: unbounded.
    pub(crate) capacity: usize,
    pub(crate) senders: usize,
    /// The receiver is dropped or closed.
    pub(crate) closed: bool,
    pub(crate) rx_waker: Option<Waker>,
    /// Notified entries hold a reserved place (as a queue's putters).
    pub(crate) senders_waiting: WaitList<(), Waker>,
}

impl<T> Chan<T> {
    pub(crate) fn lock(&self) -> MutexGuard<'_, State<T>> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }
}

impl<T> State<T> {
    pub(crate) fn has_room(&self) -> bool {
        self.capacity == 0 || self.items.len() + self.senders_waiting.notified() < self.capacity
    }

    /// Takes the next value, reserving the place it frees for the first
    /// waiting sender (whose waker comes back to be woken after unlocking).
    pub(crate) fn pop(&mut self) -> Option<(T, Option<Waker>)> {
        let item = self.items.pop_front()?;
        let next = if self.senders_waiting.waiting() > 0 && self.has_room() {
            self.senders_waiting.notify(()).ok()
        } else {
            None
        };
        Some((item, next))
    }

    pub(crate) fn push(&mut self, item: T) -> Option<Waker> {
        self.items.push_back(item);
        self.rx_waker.take()
    }
}

/// The cooperative budget, on a loop thread only (a sending thread has no
/// loop to yield to).
pub(crate) fn coop(cx: &mut Context<'_>) -> Poll<()> {
    if context::is_running() {
        crate::coop::poll_proceed(cx)
    } else {
        Poll::Ready(())
    }
}
