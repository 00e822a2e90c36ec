//! Errors that name their path.

use std::error::Error;
use std::fmt;
use std::io;
use std::path::{Path, PathBuf};

use crate::task::TaskError;

/// The payload of every `boucle::fs` error: the operation, the path(s) and
/// the OS error, which stays reachable through [`Error::source`]. The
/// `io::Error` that carries it keeps the OS error's [`io::ErrorKind`].
#[derive(Debug)]
struct PathError {
    op: &'static str,
    path: PathBuf,
    to: Option<PathBuf>,
    source: io::Error,
}

impl fmt::Display for PathError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.op, self.path.display())?;
        if let Some(to) = &self.to {
            write!(f, " to {}", to.display())?;
        }
        write!(f, ": {}", self.source)
    }
}

impl Error for PathError {
    fn source(&self) -> Option<&(dyn Error + 'static)> {
        Some(&self.source)
    }
}

/// `e` with `op` and `path` in its message, same kind.
pub(crate) fn with_path(op: &'static str, path: &Path, e: io::Error) -> io::Error {
    io::Error::new(
        e.kind(),
        PathError {
            op,
            path: path.to_path_buf(),
            to: None,
            source: e,
        },
    )
}

/// `e` with `op`, `from` and `to` in its message (copy, rename, links).
pub(crate) fn with_paths(op: &'static str, from: &Path, to: &Path, e: io::Error) -> io::Error {
    io::Error::new(
        e.kind(),
        PathError {
            op,
            path: from.to_path_buf(),
            to: Some(to.to_path_buf()),
            source: e,
        },
    )
}

/// A blocking job that did not run (the loop shut down) or panicked.
pub(crate) fn pool_error(op: &'static str, path: &Path, e: TaskError) -> io::Error {
    let why = if e.is_cancelled() {
        io::Error::other("the runtime shut down before the blocking pool ran it")
    } else {
        io::Error::other("the blocking job panicked")
    };
    with_path(op, path, why)
}
