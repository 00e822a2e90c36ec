//! `Server` (asyncio's): the listening sockets of a running server, its
//! accept-loop tasks and its count of running connection handlers;
//! `close`, `wait_closed`, `serve_forever`. The accept loops themselves are
//! in `accept.rs`.

use std::cell::{Cell, RefCell};
use std::fmt;
use std::future::Future;
use std::io;
use std::path::PathBuf;
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Poll};

use super::conn::{Conn, StreamAddr};
use crate::net::wake_set::WakeSet;
use crate::net::{TcpListener, UnixListener};
use crate::task::Task;

/// A listening socket of a [`Server`].
///
/// # Examples
/// See [`Server::sockets`].
#[derive(Clone)]
pub struct ServerSocket(pub(super) Listener);

#[derive(Clone)]
pub(super) enum Listener {
    Tcp(Rc<TcpListener>),
    Unix(Rc<UnixListener>),
}

impl ServerSocket {
    /// The address it listens on.
    ///
    /// # Examples
    /// See [`Server::sockets`].
    ///
    /// # Errors
    /// As `getsockname`.
    pub fn local_addr(&self) -> io::Result<StreamAddr> {
        match &self.0 {
            Listener::Tcp(l) => l.local_addr().map(StreamAddr::Inet),
            Listener::Unix(l) => l.local_addr().map(StreamAddr::Unix),
        }
    }

    /// The TCP listener, for a TCP server.
    ///
    /// # Examples
    /// See [`Server::sockets`].
    pub fn as_tcp(&self) -> Option<&TcpListener> {
        match &self.0 {
            Listener::Tcp(l) => Some(l),
            Listener::Unix(_) => None,
        }
    }

    /// The Unix listener, for a Unix server.
    ///
    /// # Examples
    /// See [`Server::sockets`].
    pub fn as_unix(&self) -> Option<&UnixListener> {
        match &self.0 {
            Listener::Tcp(_) => None,
            Listener::Unix(l) => Some(l),
        }
    }

    pub(super) fn poll_accept(&self, cx: &mut Context<'_>) -> Poll<io::Result<Conn>> {
        match &self.0 {
            Listener::Tcp(l) => l.poll_accept(cx).map_ok(|(s, _)| {
                // asyncio sets TCP_NODELAY on every TCP transport.
                let _ = s.set_nodelay(true);
                Conn::Tcp(s)
            }),
            Listener::Unix(l) => l.poll_accept(cx).map_ok(|(s, _)| Conn::Unix(s)),
        }
    }
}

impl fmt::Debug for ServerSocket {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.0 {
            Listener::Tcp(l) => fmt::Debug::fmt(l, f),
            Listener::Unix(l) => fmt::Debug::fmt(l, f),
        }
    }
}

pub(super) struct Inner {
    pub(super) sockets: RefCell<Vec<ServerSocket>>,
    pub(super) accept_tasks: RefCell<Vec<Task<()>>>,
    /// Connection handlers still running.
    pub(super) active: Cell<usize>,
    pub(super) closed: Cell<bool>,
    pub(super) logged: Cell<bool>,
    pub(super) waiters: WakeSet,
    pub(super) unix_path: Option<PathBuf>,
}

impl Inner {
    pub(super) fn close(&self) {
        if self.closed.replace(true) {
            return;
        }
        // Dropping the listeners closes their sockets now.
        let sockets = std::mem::take(&mut *self.sockets.borrow_mut());
        drop(sockets);
        let tasks = std::mem::take(&mut *self.accept_tasks.borrow_mut());
        for t in &tasks {
            t.cancel();
        }
        drop(tasks);
        if let Some(path) = &self.unix_path {
            let _ = std::fs::remove_file(path);
        }
        self.waiters.wake_all();
    }

    /// Accepts on socket `index`; `None` once the server is closed.
    pub(super) fn poll_accept(
        &self,
        index: usize,
        cx: &mut Context<'_>,
    ) -> Poll<Option<io::Result<Conn>>> {
        let socket = match self.sockets.borrow().get(index) {
            Some(s) if !self.closed.get() => s.clone(),
            _ => return Poll::Ready(None),
        };
        socket.poll_accept(cx).map(Some)
    }
}

/// A running server (asyncio's `Server`): it accepts connections and runs
/// the handler for each one in its own task, from the moment it is made.
///
/// Dropping the `Server` closes it (the listening sockets; connections
/// being handled go on).
///
/// # Examples
/// See [`start_server`](crate::net::start_server).
#[must_use = "dropping the Server closes it; await serve_forever() to keep serving"]
pub struct Server {
    pub(super) inner: Rc<Inner>,
}

impl Server {
    /// Serves until the server is closed (by [`close`](Server::close) from
    /// another task). Dropping this future before then closes the server,
    /// as cancelling asyncio's `serve_forever` does.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::rc::Rc;
    /// use boucle::net::{start_server, StreamReader, StreamWriter};
    ///
    /// boucle::run(async {
    ///     let server = Rc::new(
    ///         start_server(|_r: StreamReader, _w: StreamWriter| async {}, "127.0.0.1", 0)
    ///             .await
    ///             .unwrap(),
    ///     );
    ///     let s = server.clone();
    ///     boucle::spawn(async move { s.close() }); // e.g. on a signal
    ///     server.serve_forever().await.unwrap();
    ///     assert!(!server.is_serving());
    /// });
    /// ```
    ///
    /// # Cancel safety
    /// Dropping it closes the server.
    ///
    /// # Errors
    /// None today: `Ok(())` when the server is closed.
    pub fn serve_forever(&self) -> ServeForever<'_> {
        ServeForever {
            inner: &self.inner,
            key: None,
            done: false,
        }
    }

    /// Stops listening: the listening sockets are closed now (a Unix
    /// server's socket file is removed). Connections being handled go on.
    ///
    /// # Examples
    /// See [`start_server`](crate::net::start_server).
    pub fn close(&self) {
        self.inner.close();
    }

    /// Waits until the server is closed and every connection handler has
    /// returned (asyncio 3.12's `wait_closed`).
    ///
    /// # Examples
    /// See [`start_server`](crate::net::start_server).
    ///
    /// # Cancel safety
    /// Cancel-safe.
    pub fn wait_closed(&self) -> ServerWaitClosed<'_> {
        ServerWaitClosed {
            inner: &self.inner,
            key: None,
        }
    }

    /// Whether the server accepts connections (asyncio's `is_serving`).
    ///
    /// # Examples
    /// See [`sockets`](Server::sockets).
    pub fn is_serving(&self) -> bool {
        !self.inner.closed.get()
    }

    /// The listening sockets (empty once closed), as asyncio's `sockets`.
    ///
    /// # Examples
    ///
    /// ```
    /// use boucle::net::{open_connection, start_server, StreamReader, StreamWriter};
    ///
    /// boucle::run(async {
    ///     let server = start_server(
    ///         |mut r: StreamReader, _w: StreamWriter| async move { let _ = r.read(1).await; },
    ///         "127.0.0.1",
    ///         0,
    ///     )
    ///     .await
    ///     .unwrap();
    ///     assert!(server.is_serving());
    ///     let socket = &server.sockets()[0];
    ///     let addr = socket.as_tcp().unwrap().local_addr().unwrap();
    ///     assert!(socket.as_unix().is_none());
    ///     assert_eq!(socket.local_addr().unwrap(), addr);
    ///     let (_r, w) = open_connection("127.0.0.1", addr.port()).await.unwrap();
    ///     while server.active_connections() == 0 {
    ///         boucle::yield_now().await;
    ///     }
    ///     w.close();
    ///     server.close();
    ///     assert!(!server.is_serving() && server.sockets().is_empty());
    ///     server.wait_closed().await;
    ///     assert_eq!(server.active_connections(), 0);
    /// });
    /// ```
    pub fn sockets(&self) -> Vec<ServerSocket> {
        self.inner.sockets.borrow().clone()
    }

    /// The addresses the server listens on (empty once closed).
    ///
    /// # Examples
    /// See [`start_server`](crate::net::start_server).
    pub fn local_addrs(&self) -> Vec<StreamAddr> {
        self.inner
            .sockets
            .borrow()
            .iter()
            .filter_map(|s| s.local_addr().ok())
            .collect()
    }

    /// How many connection handlers are running.
    ///
    /// # Examples
    /// See [`sockets`](Server::sockets).
    pub fn active_connections(&self) -> usize {
        self.inner.active.get()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.inner.close();
    }
}

impl fmt::Debug for Server {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Server")
            .field("sockets", &*self.inner.sockets.borrow())
            .field("active", &self.inner.active.get())
            .field("closed", &self.inner.closed.get())
            .finish()
    }
}

/// The future of [`Server::serve_forever`].
///
/// # Examples
/// See [`Server::serve_forever`].
///
/// # Cancel safety
/// Dropping it before the server is closed closes the server.
#[must_use = "futures do nothing unless you .await them"]
pub struct ServeForever<'a> {
    inner: &'a Rc<Inner>,
    key: Option<usize>,
    done: bool,
}

impl Future for ServeForever<'_> {
    type Output = io::Result<()>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        if this.inner.closed.get() {
            this.done = true;
            this.inner.waiters.remove(&mut this.key);
            return Poll::Ready(Ok(()));
        }
        this.inner.waiters.register(&mut this.key, cx);
        Poll::Pending
    }
}

impl Drop for ServeForever<'_> {
    fn drop(&mut self) {
        self.inner.waiters.remove(&mut self.key);
        if !self.done {
            self.inner.close();
        }
    }
}

impl fmt::Debug for ServeForever<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ServeForever").finish_non_exhaustive()
    }
}

/// The future of [`Server::wait_closed`].
///
/// # Examples
/// See [`start_server`](super::start_server).
///
/// # Cancel safety
/// Cancel-safe.
#[must_use = "futures do nothing unless you .await them"]
pub struct ServerWaitClosed<'a> {
    inner: &'a Rc<Inner>,
    key: Option<usize>,
}

impl Future for ServerWaitClosed<'_> {
    type Output = ();

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let this = self.get_mut();
        if this.inner.closed.get() && this.inner.active.get() == 0 {
            this.inner.waiters.remove(&mut this.key);
            return Poll::Ready(());
        }
        this.inner.waiters.register(&mut this.key, cx);
        Poll::Pending
    }
}

impl Drop for ServerWaitClosed<'_> {
    fn drop(&mut self) {
        self.inner.waiters.remove(&mut self.key);
    }
}

impl fmt::Debug for ServerWaitClosed<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ServerWaitClosed").finish_non_exhaustive()
    }
}
