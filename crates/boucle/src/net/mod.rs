//! Sockets and asyncio streams on the loop's reactor.
//!
//! * Sockets: [`TcpListener`], [`TcpStream`] (with owned halves),
//!   [`UdpSocket`], [`UnixListener`], [`UnixStream`], [`UnixDatagram`].
//!   Byte streams implement `futures_io::AsyncRead` / `AsyncWrite`.
//! * asyncio's streams: [`open_connection`], [`start_server`],
//!   [`open_unix_connection`], [`start_unix_server`], [`StreamReader`]
//!   (`read`, `readline`, `readexactly`, `readuntil`, `at_eof`; also
//!   `AsyncBufRead`) and [`StreamWriter`] (`write`, `drain` with high/low
//!   water marks, `close`, `wait_closed`, `write_eof`).
//! * Name resolution: [`lookup_host`] and the [`ToSocketAddrs`] arguments;
//!   host names are resolved on the blocking pool.
//! * With the cargo feature `tokio-io`, tokio's `AsyncRead` / `AsyncWrite`
//!   too (module `tokio_io`).
//!
//! Every operation tries the system call first when the socket may be
//! ready and waits on the reactor only after `WouldBlock`; reads and
//! writes allocate nothing (the streams API allocates the `Vec`s it
//! returns, as asyncio returns `bytes`).
//!
//! ```
//! use boucle::net::{TcpListener, TcpStream};
//!
//! boucle::run(async {
//!     let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
//!     let addr = listener.local_addr().unwrap();
//!     boucle::spawn(async move {
//!         let (mut s, _) = listener.accept().await.unwrap();
//!         let mut buf = [0u8; 64];
//!         loop {
//!             let n = s.read(&mut buf).await.unwrap();
//!             if n == 0 { break }
//!             s.write_all(&buf[..n]).await.unwrap();
//!         }
//!     });
//!     let mut c = TcpStream::connect(addr).await.unwrap();
//!     c.write_all(b"echo").await.unwrap();
//!     let mut buf = [0u8; 4];
//!     c.read_exact(&mut buf).await.unwrap();
//!     assert_eq!(&buf, b"echo");
//! });
//! ```

mod addr;
pub(crate) mod ops;
mod streams;
mod tcp;
#[cfg(feature = "tokio-io")]
pub mod tokio_io;
mod udp;
pub mod unix;
mod wake_set;

pub use addr::{lookup_host, ToSocketAddrs};
pub use ops::READ_AHEAD;
pub use streams::{
    open_connection, open_unix_connection, start_server, start_unix_server, streams_from_tcp,
    streams_from_unix, Drain, HandlerOutput, IncompleteReadError, LimitOverrunError, ReadError,
    ServeForever, Server, ServerSocket, ServerWaitClosed, StreamAddr, StreamReader, StreamWriter,
    WaitClosed, DEFAULT_HIGH_WATER, DEFAULT_LIMIT, DEFAULT_LOW_WATER,
};
pub use tcp::{bind_reuseport_std, HandoffListener};
pub use tcp::{
    OwnedReadHalf, OwnedWriteHalf, ReuniteError, TcpListener, TcpStream, DEFAULT_BACKLOG,
};
pub use udp::UdpSocket;
pub use unix::{UnixDatagram, UnixListener, UnixStream};
