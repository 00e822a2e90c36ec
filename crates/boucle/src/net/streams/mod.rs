//! asyncio's streams API: [`open_connection`], [`start_server`] and their
//! Unix variants, [`StreamReader`] and [`StreamWriter`].
//!
//! A connection is one socket shared by its reader and its writer (an
//! `Rc`; the reader buffers what it reads, the writer queues what the
//! socket cannot take yet).

mod accept;
mod conn;
mod error;
mod reader;
mod server;
mod transport;
mod writer;

use std::io;
use std::path::Path;
use std::rc::Rc;

pub use accept::{start_server, start_unix_server, HandlerOutput};
pub use conn::StreamAddr;
pub use error::{IncompleteReadError, LimitOverrunError, ReadError};
pub use reader::{StreamReader, DEFAULT_LIMIT};
pub use server::{ServeForever, Server, ServerSocket, ServerWaitClosed};
pub use writer::{Drain, StreamWriter, WaitClosed, DEFAULT_HIGH_WATER, DEFAULT_LOW_WATER};

use super::{TcpStream, UnixStream};
use conn::Conn;

/// Opens a TCP connection to `host:port` (asyncio's `open_connection`):
/// `host` is resolved on the blocking pool and each address is tried in
/// turn. The connection gets `TCP_NODELAY`, as in asyncio.
///
/// # Examples
///
/// ```
/// use boucle::net::{open_connection, TcpListener};
///
/// boucle::run(async {
///     let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
///     let port = listener.local_addr().unwrap().port();
///     let (_reader, writer) = open_connection("localhost", port).await.unwrap();
///     assert_eq!(writer.peer_addr().unwrap().port(), Some(port));
/// });
/// ```
///
/// # Cancel safety
/// Cancel-safe: a dropped `open_connection` leaves no connection.
///
/// # Errors
/// As [`TcpStream::connect`].
///
/// # Panics
/// Outside a running loop.
pub async fn open_connection(host: &str, port: u16) -> io::Result<(StreamReader, StreamWriter)> {
    let stream = TcpStream::connect((host, port)).await?;
    stream.set_nodelay(true)?;
    Ok(streams_from_tcp(stream))
}

/// Opens a connection to the Unix socket at `path` (asyncio's
/// `open_unix_connection`).
///
/// # Examples
/// See [`start_unix_server`].
///
/// # Cancel safety
/// Cancel-safe.
///
/// # Errors
/// As [`UnixStream::connect`].
///
/// # Panics
/// Outside a running loop.
pub async fn open_unix_connection(
    path: impl AsRef<Path>,
) -> io::Result<(StreamReader, StreamWriter)> {
    let stream = UnixStream::connect(path).await?;
    Ok(streams_from_unix(stream))
}

/// A reader/writer pair over a connected [`TcpStream`] (asyncio's
/// `open_connection(sock=...)`).
///
/// # Examples
///
/// ```
/// use boucle::net::{streams_from_tcp, TcpListener, TcpStream};
///
/// boucle::run(async {
///     let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
///     let stream = TcpStream::connect(listener.local_addr().unwrap()).await.unwrap();
///     let (reader, writer) = streams_from_tcp(stream);
///     assert_eq!(reader.peer_addr().unwrap(), listener.local_addr().unwrap());
///     # drop(writer);
/// });
/// ```
pub fn streams_from_tcp(mut stream: TcpStream) -> (StreamReader, StreamWriter) {
    let ahead = stream.take_read_ahead();
    pair(Conn::Tcp(stream), ahead)
}

/// A reader/writer pair over a connected [`UnixStream`].
///
/// # Examples
///
/// ```
/// use boucle::net::{streams_from_unix, UnixStream};
///
/// boucle::run(async {
///     let (a, b) = UnixStream::pair().unwrap();
///     let (_ra, wa) = streams_from_unix(a);
///     let (mut rb, _wb) = streams_from_unix(b);
///     wa.write(b"x\n");
///     assert_eq!(rb.readline().await.unwrap(), b"x\n");
/// });
/// ```
pub fn streams_from_unix(mut stream: UnixStream) -> (StreamReader, StreamWriter) {
    let ahead = stream.take_read_ahead();
    pair(Conn::Unix(stream), ahead)
}

/// `buffered`: bytes the stream had read ahead, first for the reader.
fn pair(conn: Conn, buffered: Vec<u8>) -> (StreamReader, StreamWriter) {
    let conn = Rc::new(conn);
    let mut reader = StreamReader::new(conn.clone());
    reader.preload(buffered);
    (reader, StreamWriter::new(conn))
}
