//! `start_server` / `start_unix_server`: bind, then one accept-loop task
//! per listening socket that spawns one handler task per connection.
//!
//! Robustness: an accept error never ends the loop. `EMFILE`/`ENFILE` (no
//! file descriptor left) and other resource errors are logged once per
//! server, then the loop backs off (10 ms, doubling to 100 ms, reset by the
//! next success) while the pending connection waits in the backlog; errors
//! that concern one connection (`ECONNABORTED`...) are skipped. A failing
//! connection ends its own handler only.

use std::cell::{Cell, RefCell};
use std::fmt;
use std::future::{poll_fn, Future};
use std::io;
use std::path::{Path, PathBuf};
use std::rc::Rc;
use std::time::Duration;

use super::server::{Inner, Listener, Server, ServerSocket};
use super::{StreamReader, StreamWriter};
use crate::net::addr::resolve;
use crate::net::wake_set::WakeSet;
use crate::net::{TcpListener, UnixListener};

const MIN_BACKOFF: Duration = Duration::from_millis(10);
const MAX_BACKOFF: Duration = Duration::from_millis(100);

/// What a connection handler may return: `()`, or a `Result` whose error
/// is reported on stderr (asyncio logs an exception escaping
/// `client_connected_cb` the same way).
///
/// # Examples
/// See [`start_server`] (a handler returning `io::Result<()>`) and [`start_unix_server`].
pub trait HandlerOutput {
    /// Reports the outcome of the handler of the connection from `peer`.
    fn report(self, peer: &str);
}

impl HandlerOutput for () {
    fn report(self, _peer: &str) {}
}

impl<T, E: fmt::Display> HandlerOutput for Result<T, E> {
    fn report(self, peer: &str) {
        if let Err(e) = self {
            eprintln!("boucle: connection handler for {peer} failed: {e}");
        }
    }
}

/// Counts a running handler; the count drops even if the task is cancelled.
struct Active(Rc<Inner>);

impl Drop for Active {
    fn drop(&mut self) {
        let n = self.0.active.get() - 1;
        self.0.active.set(n);
        if n == 0 && self.0.closed.get() {
            self.0.waiters.wake_all();
        }
    }
}

/// Whether an accept error concerns only the connection being accepted.
fn per_connection(e: &io::Error) -> bool {
    use rustix::io::Errno;
    let code = e.raw_os_error();
    matches!(
        e.kind(),
        io::ErrorKind::ConnectionAborted
            | io::ErrorKind::Interrupted
            | io::ErrorKind::ConnectionReset
    ) || [
        Errno::PROTO,
        Errno::PERM,
        Errno::NOPROTOOPT,
        Errno::HOSTDOWN,
        Errno::NONET,
        Errno::HOSTUNREACH,
        Errno::OPNOTSUPP,
        Errno::NETUNREACH,
    ]
    .iter()
    .any(|errno| code == Some(errno.raw_os_error()))
}

async fn accept_loop<H, Fut>(inner: Rc<Inner>, index: usize, handler: Rc<H>)
where
    H: Fn(StreamReader, StreamWriter) -> Fut + 'static,
    Fut: Future + 'static,
    Fut::Output: HandlerOutput,
{
    let mut backoff = MIN_BACKOFF;
    loop {
        let accepted = poll_fn(|cx| inner.poll_accept(index, cx)).await;
        match accepted {
            None => return,
            Some(Ok(conn)) => {
                backoff = MIN_BACKOFF;
                let conn = Rc::new(conn);
                let peer = conn.peer_addr().map(|a| a.to_string());
                let fut = handler(StreamReader::new(conn.clone()), StreamWriter::new(conn));
                inner.active.set(inner.active.get() + 1);
                let active = Active(inner.clone());
                // Named so that `all_tasks()` (and dumps) tell the server's
                // tasks from the user's own.
                let handler_task = crate::task::Builder::new()
                    .name("boucle server connection")
                    .spawn(async move {
                        let _active = active;
                        let out = fut.await;
                        out.report(peer.as_deref().unwrap_or("a closed peer"));
                    });
                drop(handler_task);
            }
            Some(Err(e)) if per_connection(&e) => {}
            Some(Err(e)) => {
                if !inner.logged.replace(true) {
                    let addr = inner
                        .sockets
                        .borrow()
                        .get(index)
                        .and_then(|s| s.local_addr().ok())
                        .map(|a| a.to_string())
                        .unwrap_or_default();
                    eprintln!(
                        "boucle: server on {addr}: accept failed: {e}; backing off \
                         {}-{} ms and retrying (logged once)",
                        MIN_BACKOFF.as_millis(),
                        MAX_BACKOFF.as_millis()
                    );
                }
                crate::time::sleep(backoff).await;
                backoff = (backoff * 2).min(MAX_BACKOFF);
            }
        }
    }
}

fn start<H, Fut>(sockets: Vec<ServerSocket>, handler: H, unix_path: Option<PathBuf>) -> Server
where
    H: Fn(StreamReader, StreamWriter) -> Fut + 'static,
    Fut: Future + 'static,
    Fut::Output: HandlerOutput,
{
    let n = sockets.len();
    let inner = Rc::new(Inner {
        sockets: RefCell::new(sockets),
        accept_tasks: RefCell::new(Vec::with_capacity(n)),
        active: Cell::new(0),
        closed: Cell::new(false),
        logged: Cell::new(false),
        waiters: WakeSet::default(),
        unix_path,
    });
    let handler = Rc::new(handler);
    for index in 0..n {
        let task = crate::task::Builder::new()
            .name("boucle server accept loop")
            .spawn(accept_loop(inner.clone(), index, handler.clone()));
        inner.accept_tasks.borrow_mut().push(task);
    }
    Server { inner }
}

/// Starts a TCP server on `host:port` (asyncio's `start_server`): for each
/// connection, `handler(reader, writer)` runs in a new task. The server
/// accepts from the moment this returns.
///
/// `host` is resolved on the blocking pool and the server listens on every
/// address it resolves to ("localhost": 127.0.0.1 and ::1, each with its
/// own port when `port` is 0); `""` means every IPv4 interface. Port 0
/// picks a free port: read it from [`Server::local_addrs`]. Accepted
/// connections get `TCP_NODELAY`, as in asyncio.
///
/// The handler returns `()` or a `Result`; an `Err` is reported on stderr.
///
/// # Examples
///
/// ```
/// use boucle::net::{open_connection, start_server, StreamReader, StreamWriter};
///
/// async fn echo(mut reader: StreamReader, writer: StreamWriter) -> std::io::Result<()> {
///     loop {
///         let data = reader.read(1024).await?;
///         if data.is_empty() {
///             return Ok(()); // end of stream
///         }
///         writer.write(&data);
///         writer.drain().await?;
///     }
/// }
///
/// boucle::run(async {
///     let server = start_server(echo, "127.0.0.1", 0).await.unwrap();
///     let port = server.local_addrs()[0].port().unwrap();
///     let (mut reader, writer) = open_connection("127.0.0.1", port).await.unwrap();
///     writer.write(b"hello");
///     assert_eq!(reader.readexactly(5).await.unwrap(), b"hello");
///     writer.close();
///     server.close();
///     server.wait_closed().await; // the handler saw end of stream and returned
///     assert_eq!(server.active_connections(), 0);
/// });
/// ```
///
/// # Cancel safety
/// Cancel-safe: nothing listens until the future completes.
///
/// # Errors
/// A resolver error; a bind error (`AddrInUse`...) for any address.
///
/// # Panics
/// Outside a running loop.
pub async fn start_server<H, Fut>(handler: H, host: &str, port: u16) -> io::Result<Server>
where
    H: Fn(StreamReader, StreamWriter) -> Fut + 'static,
    Fut: Future + 'static,
    Fut::Output: HandlerOutput,
{
    let host = if host.is_empty() { "0.0.0.0" } else { host };
    let mut addrs = resolve(&(host, port)).await?;
    let mut seen = Vec::with_capacity(addrs.len());
    addrs.retain(|a| {
        let fresh = !seen.contains(a);
        seen.push(*a);
        fresh
    });
    if addrs.is_empty() {
        return Err(crate::net::addr::no_addresses());
    }
    let mut sockets = Vec::with_capacity(addrs.len());
    for addr in addrs {
        let std_listener = crate::net::tcp::bind_std(addr, crate::net::DEFAULT_BACKLOG)?;
        let listener = TcpListener::from_std(std_listener)?;
        sockets.push(ServerSocket(Listener::Tcp(Rc::new(listener))));
    }
    Ok(start(sockets, handler, None))
}

/// Starts a Unix socket server at `path` (asyncio's `start_unix_server`).
/// A stale socket file at `path` is removed first; the file is removed
/// again when the server closes (asyncio 3.13's `cleanup_socket`).
///
/// # Examples
///
/// ```
/// use boucle::net::{open_unix_connection, start_unix_server, StreamReader, StreamWriter};
///
/// let path = std::env::temp_dir().join(format!("boucle-doc-srv-{}.sock", std::process::id()));
/// boucle::run(async {
///     let server = start_unix_server(
///         |mut r: StreamReader, w: StreamWriter| async move {
///             let line = r.readline().await?;
///             w.write(&line);
///             w.drain().await
///         },
///         &path,
///     )
///     .unwrap();
///     let (mut r, w) = open_unix_connection(&path).await.unwrap();
///     w.write(b"over unix\n");
///     assert_eq!(r.readline().await.unwrap(), b"over unix\n");
///     server.close();
/// });
/// assert!(!path.exists());
/// ```
///
/// # Errors
/// As `bind(2)`; `AddrInUse` if `path` exists and is not a socket.
///
/// # Panics
/// Outside a running loop.
pub fn start_unix_server<H, Fut>(handler: H, path: impl AsRef<Path>) -> io::Result<Server>
where
    H: Fn(StreamReader, StreamWriter) -> Fut + 'static,
    Fut: Future + 'static,
    Fut::Output: HandlerOutput,
{
    use std::os::unix::fs::FileTypeExt;
    let path = path.as_ref();
    if let Ok(meta) = std::fs::symlink_metadata(path) {
        if meta.file_type().is_socket() {
            let _ = std::fs::remove_file(path);
        }
    }
    let listener = UnixListener::bind(path)?;
    let sockets = vec![ServerSocket(Listener::Unix(Rc::new(listener)))];
    Ok(start(sockets, handler, Some(path.to_path_buf())))
}
