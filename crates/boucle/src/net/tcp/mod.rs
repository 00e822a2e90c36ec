//! TCP: [`TcpListener`], [`TcpStream`] and its owned halves.

mod handoff;
mod listener;
mod reuseport;
mod split;
mod stream;

pub use handoff::HandoffListener;
pub(crate) use listener::bind_std;
pub use listener::{TcpListener, DEFAULT_BACKLOG};
pub use reuseport::bind_reuseport_std;
pub use split::{OwnedReadHalf, OwnedWriteHalf, ReuniteError};
pub(crate) use stream::in_progress;
pub use stream::TcpStream;
