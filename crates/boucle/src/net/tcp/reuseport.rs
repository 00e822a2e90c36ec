//! `TcpListener::bind_reuseport`: one port, one listening socket per shard
//! (`SO_REUSEPORT`: the kernel spreads incoming connections over the
//! sockets of the group by a hash of their addresses), and
//! `TcpListener::set_incoming_cpu`: a socket of the group that takes the
//! connections arriving on its shard's core first (`SO_INCOMING_CPU`).

use std::io;
use std::net::SocketAddr;

use rustix::net::{AddressFamily, SocketFlags, SocketType};

use super::{TcpListener, DEFAULT_BACKLOG};
use crate::net::addr::{each_addr, resolve, ToSocketAddrs};

impl TcpListener {
    /// Binds to `addr` with `SO_REUSEPORT` (and `SO_REUSEADDR`) and
    /// listens, so that several listeners (one per shard of a
    /// [`ShardedRuntime`](crate::ShardedRuntime)) share one port: the kernel
    /// hands each new connection to one of them, by a hash of its
    /// addresses. That spreads *connections* evenly, not load: a few busy
    /// connections may land on one shard. For balancing on live
    /// connections, see [`HandoffListener`](crate::net::HandoffListener).
    ///
    /// Every socket of the group must be bound with `bind_reuseport` by the
    /// same user. With port 0, bind once, read the port with
    /// [`local_addr`](TcpListener::local_addr), and bind the others to it.
    ///
    /// # Examples
    ///
    /// ```
    /// use boucle::net::{TcpListener, TcpStream};
    ///
    /// boucle::run(async {
    ///     let first = TcpListener::bind_reuseport("127.0.0.1:0").await.unwrap();
    ///     let addr = first.local_addr().unwrap();
    ///     let second = TcpListener::bind_reuseport(addr).await.unwrap(); // same port
    ///     assert_eq!(second.local_addr().unwrap(), addr);
    ///     let _client = TcpStream::connect(addr).await.unwrap();
    ///     // The kernel gave the connection to one of the two.
    ///     let accepted = std::future::poll_fn(|cx| match first.poll_accept(cx) {
    ///         std::task::Poll::Pending => second.poll_accept(cx),
    ///         ready => ready,
    ///     })
    ///     .await;
    ///     assert!(accepted.is_ok());
    /// });
    /// ```
    ///
    /// # Cancel safety
    /// Cancel-safe: nothing is bound until the future completes.
    ///
    /// # Errors
    /// `AddrInUse` when the port is held by a socket without
    /// `SO_REUSEPORT` (or another user's), a resolver error...
    ///
    /// # Panics
    /// Outside a running loop.
    pub async fn bind_reuseport(addr: impl ToSocketAddrs) -> io::Result<TcpListener> {
        let addrs = resolve(&addr).await?;
        each_addr(addrs, |a| async move {
            TcpListener::from_std(bind_reuseport_std(a, DEFAULT_BACKLOG)?)
        })
        .await
    }

    /// Marks this listener as the one for connections whose packets the
    /// kernel handles on core `cpu` (`SO_INCOMING_CPU`). In a
    /// [`bind_reuseport`](TcpListener::bind_reuseport) group, Linux 6.2
    /// and later hands a new connection to a listener marked with the core
    /// that received its SYN, and to the address hash when none is; older
    /// kernels keep the hash alone. Set on each shard's listener with the
    /// shard's own core ([`Shard::cpu`](crate::runtime::Shard::cpu)), a
    /// connection is accepted on the core its packets already arrive on:
    /// no cache line and no wake-up cross to the other core. Over
    /// loopback, that is the core of the thread that connected, so a
    /// shard's own clients stay on their shard; from a network card, it is
    /// the core its receive queue interrupts (RSS).
    ///
    /// It steers by where packets arrive, not by load: when they all
    /// arrive on one core (one client thread, a single-queue card), every
    /// connection goes to that core's listener. Leave it off then.
    ///
    /// # Examples
    ///
    /// ```
    /// use boucle::net::TcpListener;
    ///
    /// let rt = boucle::Runtime::builder().threads(2).build().unwrap();
    /// let cpus = rt.block_on(|shard| async move {
    ///     let listener = TcpListener::bind_reuseport("127.0.0.1:0").await.unwrap();
    ///     if let Some(cpu) = shard.cpu() {
    ///         listener.set_incoming_cpu(cpu).unwrap();
    ///     }
    ///     (shard.cpu(), listener.incoming_cpu().unwrap())
    /// });
    /// for out in cpus {
    ///     let (pinned, marked) = out.unwrap();
    ///     if pinned.is_some() {
    ///         assert_eq!(pinned, marked);
    ///     }
    /// }
    /// ```
    ///
    /// # Errors
    /// As `setsockopt`: `InvalidInput` for a core number beyond `i32`.
    pub fn set_incoming_cpu(&self, cpu: usize) -> io::Result<()> {
        // The kernel takes an int; a negative one would mean "unset".
        let cpu = i32::try_from(cpu).map_err(|_| {
            io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("core {cpu} is out of range"),
            )
        })?;
        rustix::net::sockopt::set_socket_incoming_cpu(self, cpu.unsigned_abs())?;
        Ok(())
    }

    /// The core set by [`set_incoming_cpu`](TcpListener::set_incoming_cpu),
    /// `None` when unset.
    ///
    /// # Errors
    /// As `getsockopt`.
    pub fn incoming_cpu(&self) -> io::Result<Option<usize>> {
        // The kernel reports -1 (read as u32: u32::MAX) for "unset".
        let cpu = rustix::net::sockopt::socket_incoming_cpu(self)?;
        Ok(i32::try_from(cpu)
            .ok()
            .and_then(|c| usize::try_from(c).ok()))
    }
}

/// A bound, listening, non-blocking, close-on-exec std listener with
/// `SO_REUSEADDR` and `SO_REUSEPORT`.
///
/// # Examples
///
/// ```
/// let a = boucle::net::bind_reuseport_std("127.0.0.1:0".parse().unwrap(), 128).unwrap();
/// let b = boucle::net::bind_reuseport_std(a.local_addr().unwrap(), 128).unwrap();
/// assert_eq!(a.local_addr().unwrap(), b.local_addr().unwrap());
/// ```
///
/// # Errors
/// As `socket`, `setsockopt`, `bind` and `listen`.
pub fn bind_reuseport_std(addr: SocketAddr, backlog: u32) -> io::Result<std::net::TcpListener> {
    let family = match addr {
        SocketAddr::V4(_) => AddressFamily::INET,
        SocketAddr::V6(_) => AddressFamily::INET6,
    };
    let fd = rustix::net::socket_with(
        family,
        SocketType::STREAM,
        SocketFlags::NONBLOCK | SocketFlags::CLOEXEC,
        None,
    )?;
    rustix::net::sockopt::set_socket_reuseaddr(&fd, true)?;
    rustix::net::sockopt::set_socket_reuseport(&fd, true)?;
    rustix::net::bind(&fd, &addr)?;
    rustix::net::listen(&fd, i32::try_from(backlog).unwrap_or(i32::MAX))?;
    Ok(std::net::TcpListener::from(fd))
}
