//! Graceful shutdown: stop accepting, let connections finish what is in
//! flight (HTTP/1.1 closes after the current response; HTTP/2 sends GOAWAY
//! and finishes open streams), and after the deadline cancel the rest.

use std::cell::{Cell, RefCell};
use std::collections::HashMap;
use std::future::poll_fn;
use std::rc::Rc;
use std::task::{Context, Poll, Waker};
use std::time::Duration;

use boucle::Task;

/// What the server and its connections share.
#[derive(Default)]
pub(crate) struct Shared {
    stopping: Cell<bool>,
    accept_waker: Cell<Option<Waker>>,
    conns: RefCell<HashMap<u64, Conn>>,
    next_id: Cell<u64>,
    done_wakers: RefCell<Vec<Waker>>,
}

#[derive(Default)]
struct Conn {
    task: Option<Task<()>>,
    waker: Option<Waker>,
}

/// A connection's membership; dropped when its task ends or is cancelled.
pub(crate) struct ConnGuard {
    shared: Rc<Shared>,
    id: u64,
}

impl Shared {
    pub(crate) fn is_stopping(&self) -> bool {
        self.stopping.get()
    }

    pub(crate) fn register_accept_waker(&self, waker: &Waker) {
        self.accept_waker.set(Some(waker.clone()));
    }

    pub(crate) fn add(self: &Rc<Self>) -> ConnGuard {
        let id = self.next_id.get();
        self.next_id.set(id + 1);
        self.conns.borrow_mut().insert(id, Conn::default());
        ConnGuard {
            shared: Rc::clone(self),
            id,
        }
    }

    /// Attaches the task of the connection added last.
    pub(crate) fn set_task(&self, task: Task<()>) {
        let id = self.next_id.get().wrapping_sub(1);
        if let Some(c) = self.conns.borrow_mut().get_mut(&id) {
            c.task = Some(task);
        }
    }

    pub(crate) async fn wait_all_done(&self) {
        poll_fn(|cx| {
            if self.conns.borrow().is_empty() {
                return Poll::Ready(());
            }
            self.done_wakers.borrow_mut().push(cx.waker().clone());
            Poll::Pending
        })
        .await;
    }

    fn stop(&self) {
        self.stopping.set(true);
        if let Some(w) = self.accept_waker.take() {
            w.wake();
        }
        let wakers: Vec<Waker> = self
            .conns
            .borrow_mut()
            .values_mut()
            .filter_map(|c| c.waker.take())
            .collect();
        for w in wakers {
            w.wake();
        }
    }
}

impl ConnGuard {
    /// Whether the server is stopping; if not, wakes `cx` when it does.
    pub(crate) fn poll_stopping(&self, cx: &mut Context<'_>) -> bool {
        if self.shared.stopping.get() {
            return true;
        }
        if let Some(c) = self.shared.conns.borrow_mut().get_mut(&self.id) {
            c.waker = Some(cx.waker().clone());
        }
        false
    }
}

impl Drop for ConnGuard {
    fn drop(&mut self) {
        // The entry holds this task's own handle: take it out before
        // dropping it, with no borrow held.
        let entry = self.shared.conns.borrow_mut().remove(&self.id);
        drop(entry);
        if self.shared.conns.borrow().is_empty() {
            let wakers = std::mem::take(&mut *self.shared.done_wakers.borrow_mut());
            for w in wakers {
                w.wake();
            }
        }
    }
}

/// What a shutdown did.
///
/// # Examples
/// See the [module docs](crate::server).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ShutdownReport {
    /// Connections that finished within the deadline.
    pub finished: usize,
    /// Connections still busy at the deadline, dropped.
    pub dropped: usize,
}

/// Stops a [`Server`](super::Server). Cheap to clone.
///
/// # Examples
/// See the [module docs](crate::server).
#[derive(Clone)]
pub struct ShutdownHandle {
    shared: Rc<Shared>,
}

impl ShutdownHandle {
    pub(crate) fn new(shared: Rc<Shared>) -> ShutdownHandle {
        ShutdownHandle { shared }
    }

    /// Connections open now.
    ///
    /// # Examples
    ///
    /// ```
    /// boucle::run(async {
    ///     let listener = boucle::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    ///     let server = boucle_http::serve(listener, boucle_http::server::hello("x"));
    ///     assert_eq!(server.shutdown_handle().connections(), 0);
    /// });
    /// ```
    pub fn connections(&self) -> usize {
        self.shared.conns.borrow().len()
    }

    /// Stops accepting, tells every connection to finish the requests in
    /// flight, waits for them at most `grace`, then drops those still
    /// open. Calling it again is harmless.
    ///
    /// # Examples
    /// See the [module docs](crate::server).
    ///
    /// # Cancel safety
    /// Dropped early, the server still stops accepting and its
    /// connections still finish gracefully, with no deadline.
    pub async fn shutdown(&self, grace: Duration) -> ShutdownReport {
        self.shared.stop();
        let before = self.connections();
        if boucle::timeout(grace, self.shared.wait_all_done())
            .await
            .is_ok()
        {
            return ShutdownReport {
                finished: before,
                dropped: 0,
            };
        }
        let tasks: Vec<Task<()>> = self
            .shared
            .conns
            .borrow_mut()
            .values_mut()
            .filter_map(|c| c.task.take())
            .collect();
        let dropped = tasks.len();
        for t in &tasks {
            t.cancel();
        }
        drop(tasks);
        self.shared.wait_all_done().await;
        ShutdownReport {
            finished: before.saturating_sub(dropped),
            dropped,
        }
    }
}
