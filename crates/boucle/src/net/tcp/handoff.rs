//! `HandoffListener`: one shard accepts, and hands each connection to the
//! shard with the fewest live connections.
//!
//! `SO_REUSEPORT` ([`TcpListener::bind_reuseport`]) spreads connections by
//! a hash, so long-lived busy connections can pile up on one shard. Here the
//! acceptor counts, per shard, the connections it handed over that are
//! still open, and gives the next one to the least loaded (ties round
//! robin). An accepted socket is a plain fd (`std::net::TcpStream` is
//! `Send`): it crosses to the target shard as a job on that shard's remote
//! queue and is registered with *its* reactor there, so its I/O never
//! touches the acceptor again.

use std::fmt;
use std::future::{poll_fn, Future};
use std::io;
use std::net::SocketAddr;
use std::os::fd::OwnedFd;
use std::sync::Arc;
use std::task::Poll;
use std::time::Duration;

use super::{bind_std, TcpListener, TcpStream, DEFAULT_BACKLOG};
use crate::io::{Direction, PollEvented};
use crate::net::addr::{each_addr, resolve, ToSocketAddrs};
use crate::runtime::shard::{with_local, ConnGuard};
use crate::runtime::ShardedHandle;

/// A listener on one shard that hands every connection it accepts to the
/// shard of its [`ShardedRuntime`](crate::ShardedRuntime) with the fewest
/// live connections, where the handler runs (the acceptor's own shard
/// included).
///
/// # Examples
///
/// ```
/// use boucle::net::{HandoffListener, TcpStream};
///
/// let rt = boucle::Runtime::builder().threads(2).build().unwrap();
/// let out = rt.block_on(|shard| async move {
///     if shard.id() != 0 {
///         return Vec::new(); // shard 1 only serves what it is handed
///     }
///     let listener = HandoffListener::bind("127.0.0.1:0").await.unwrap();
///     let addr = listener.local_addr().unwrap();
///     // Each connection is told which shard serves it.
///     let server = boucle::spawn(async move {
///         listener
///             .serve(|mut stream: TcpStream, _peer| async move {
///                 let id = boucle::runtime::shard_id().unwrap() as u8;
///                 let _ = stream.write_all(&[id]).await;
///                 let _ = stream.read(&mut [0u8; 1]).await; // open until the client closes
///             })
///             .await
///     });
///     let mut served_by = Vec::new();
///     let mut open = Vec::new();
///     for _ in 0..4 {
///         let mut c = TcpStream::connect(addr).await.unwrap();
///         let mut b = [0u8];
///         c.read_exact(&mut b).await.unwrap();
///         served_by.push(b[0]);
///         open.push(c); // keep it open: it counts on its shard
///     }
///     server.cancel();
///     served_by
/// });
/// let mut served_by = out.into_iter().next().unwrap().unwrap();
/// served_by.sort();
/// assert_eq!(served_by, [0, 0, 1, 1]); // two live connections each
/// ```
pub struct HandoffListener {
    io: PollEvented<mio::net::TcpListener>,
    shards: ShardedHandle,
}

impl HandoffListener {
    /// Binds to `addr` (as [`TcpListener::bind`]) on the shard this runs
    /// on, for the shards of its sharded runtime.
    ///
    /// # Errors
    /// As [`TcpListener::bind`].
    ///
    /// # Panics
    /// Outside a shard of a [`ShardedRuntime`](crate::ShardedRuntime).
    #[track_caller]
    pub fn bind(addr: impl ToSocketAddrs) -> impl Future<Output = io::Result<HandoffListener>> {
        let shards = ShardedHandle::current();
        let addrs = resolve(&addr);
        async move {
            let addrs = addrs.await?;
            let std = each_addr(addrs, |a| async move { bind_std(a, DEFAULT_BACKLOG) }).await?;
            HandoffListener::from_std(std, shards)
        }
    }

    /// Wraps a listening std socket (made non-blocking), handing to the
    /// shards of `shards`. Call it on the shard that is to accept.
    ///
    /// # Errors
    /// If the socket cannot be made non-blocking or registered.
    ///
    /// # Panics
    /// Outside a running loop.
    #[track_caller]
    pub fn from_std(
        listener: std::net::TcpListener,
        shards: ShardedHandle,
    ) -> io::Result<HandoffListener> {
        listener.set_nonblocking(true)?;
        Ok(HandoffListener {
            io: PollEvented::with_interest(
                mio::net::TcpListener::from_std(listener),
                mio::Interest::READABLE,
            )?,
            shards,
        })
    }

    /// Turns a boucle listener of this shard into a hand-off listener.
    ///
    /// # Errors
    /// If the listener cannot be moved (deregistered, registered again).
    ///
    /// # Panics
    /// Outside a shard.
    #[track_caller]
    pub fn from_listener(listener: TcpListener) -> io::Result<HandoffListener> {
        let shards = ShardedHandle::current();
        HandoffListener::from_std(listener.into_std()?, shards)
    }

    /// The address it listens on.
    ///
    /// # Errors
    /// As `getsockname`.
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.io.get_ref().local_addr()
    }

    /// Live connections handed to each shard (by every hand-off listener of
    /// the runtime), in shard order.
    pub fn loads(&self) -> Vec<usize> {
        self.shards.loads()
    }

    /// Accepts until the sharded runtime is asked to stop (then returns
    /// `Ok`), handing each connection to the least-loaded running shard,
    /// where `handler(stream, peer)` builds its future. A connection counts
    /// on its shard until that future ends. Errors that concern one
    /// connection (reset before accept) are skipped; running out of file
    /// descriptors pauses accepting for 50 ms.
    ///
    /// # Examples
    /// See [`HandoffListener`].
    ///
    /// # Cancel safety
    /// Cancel-safe: connections already handed over are served; the
    /// accept in progress accepted nothing.
    ///
    /// # Errors
    /// None today (`io::Result` leaves room for fatal listener errors).
    pub async fn serve<F, Fut>(&self, handler: F) -> io::Result<()>
    where
        F: Fn(TcpStream, SocketAddr) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = ()> + 'static,
    {
        let handler = Arc::new(handler);
        loop {
            let accepted = poll_fn(|cx| {
                if self.shards.poll_stopping(cx).is_ready() {
                    return Poll::Ready(None);
                }
                self.io
                    .poll_io(cx, Direction::Read, |l| l.accept())
                    .map(Some)
            })
            .await;
            match accepted {
                None => return Ok(()),
                Some(Ok((stream, peer))) => {
                    let stream = std::net::TcpStream::from(OwnedFd::from(stream));
                    if !self.hand(stream, peer, &handler) {
                        return Ok(()); // every shard has stopped
                    }
                }
                Some(Err(e)) if is_per_connection(&e) => {}
                Some(Err(_)) => crate::sleep(Duration::from_millis(50)).await,
            }
        }
    }

    /// Hands one accepted connection over; false when no shard runs.
    fn hand<F, Fut>(&self, stream: std::net::TcpStream, peer: SocketAddr, handler: &Arc<F>) -> bool
    where
        F: Fn(TcpStream, SocketAddr) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = ()> + 'static,
    {
        let loads = &self.shards.fleet.loads;
        let Some(target) = loads.pick() else {
            return false;
        };
        let guard = loads.acquire(target);
        let here = with_local(|l| l.shard.id()) == Some(target);
        if here {
            serve_here(stream, peer, handler.clone(), guard);
            return true;
        }
        let handler = handler.clone();
        let job = move || serve_here(stream, peer, handler, guard);
        // Refused (the shard stopped since `pick`): the job drops, which
        // closes the socket and uncounts it. Not retried: the peer sees a
        // reset, as with a server that is going away.
        self.shards.handle(target).call_soon_threadsafe(job);
        true
    }
}

/// On the target shard: register the socket, spawn its handler.
fn serve_here<F, Fut>(
    stream: std::net::TcpStream,
    peer: SocketAddr,
    handler: Arc<F>,
    guard: ConnGuard,
) where
    F: Fn(TcpStream, SocketAddr) -> Fut + 'static,
    Fut: Future<Output = ()> + 'static,
{
    let Ok(stream) = TcpStream::from_std(stream) else {
        return; // could not register: drop the connection (and its count)
    };
    let root = with_local(|l| crate::runtime::shard::RootGuard::new(&l.roots));
    let future = handler(stream, peer);
    drop(crate::spawn(async move {
        let _counted = (guard, root);
        future.await;
    }));
}

fn is_per_connection(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::ConnectionAborted
            | io::ErrorKind::ConnectionReset
            | io::ErrorKind::Interrupted
            | io::ErrorKind::WouldBlock
    )
}

impl fmt::Debug for HandoffListener {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HandoffListener")
            .field("local", &self.local_addr().ok())
            .field("loads", &self.loads())
            .finish()
    }
}
