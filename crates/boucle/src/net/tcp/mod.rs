//! TCP: [`TcpListener`], [`TcpStream`] and its owned halves.

mod listener;
mod split;
mod stream;

pub(crate) use listener::bind_std;
pub use listener::{TcpListener, DEFAULT_BACKLOG};
pub use split::{OwnedReadHalf, OwnedWriteHalf, ReuniteError};
pub(crate) use stream::in_progress;
pub use stream::TcpStream;
