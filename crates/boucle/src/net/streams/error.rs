//! The errors of [`StreamReader`](super::StreamReader): asyncio's
//! `IncompleteReadError` and `LimitOverrunError`, and the I/O error.

use std::error::Error;
use std::fmt;
use std::io;

/// The stream ended before the read was complete (asyncio's
/// `IncompleteReadError`). The bytes that did arrive are in `partial`.
///
/// # Examples
/// See [`ReadError`], and [`StreamReader::readexactly`](super::StreamReader::readexactly) / [`readuntil`](super::StreamReader::readuntil).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IncompleteReadError {
    /// The bytes read before the end of stream.
    pub partial: Vec<u8>,
    /// How many bytes were wanted (`None` for `readuntil`: "up to the
    /// separator").
    pub expected: Option<usize>,
}

impl fmt::Display for IncompleteReadError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.expected {
            Some(n) => write!(
                f,
                "{} bytes read on a total of {n} expected bytes",
                self.partial.len()
            ),
            None => write!(
                f,
                "{} bytes read on a total of undefined expected bytes",
                self.partial.len()
            ),
        }
    }
}

impl Error for IncompleteReadError {}

/// The separator was not found within the reader's limit (asyncio's
/// `LimitOverrunError`). Nothing was consumed by `readuntil`.
///
/// # Examples
/// See [`ReadError`], and [`StreamReader::readexactly`](super::StreamReader::readexactly) / [`readuntil`](super::StreamReader::readuntil).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LimitOverrunError {
    /// How many bytes would have to be consumed: up to the separator when
    /// it was found beyond the limit, else the bytes searched.
    pub consumed: usize,
    /// Whether the separator was found (beyond the limit).
    pub found: bool,
}

impl fmt::Display for LimitOverrunError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.found {
            f.write_str("separator is found, but chunk is longer than limit")
        } else {
            f.write_str("separator is not found, and chunk exceed the limit")
        }
    }
}

impl Error for LimitOverrunError {}

/// The error of a [`StreamReader`](super::StreamReader) read.
///
/// # Examples
///
/// ```
/// use std::io::ErrorKind;
/// use boucle::net::{IncompleteReadError, LimitOverrunError, ReadError};
///
/// let e = ReadError::from(IncompleteReadError { partial: b"ab".to_vec(), expected: Some(4) });
/// assert_eq!(e.partial(), Some(&b"ab"[..]));
/// assert_eq!(e.kind(), ErrorKind::UnexpectedEof);
/// assert_eq!(e.to_string(), "2 bytes read on a total of 4 expected bytes");
/// let e = ReadError::from(LimitOverrunError { consumed: 70000, found: false });
/// assert_eq!(e.kind(), ErrorKind::InvalidData);
/// let io: std::io::Error = e.into(); // `?` into io::Result works
/// assert_eq!(io.kind(), ErrorKind::InvalidData);
/// ```
#[derive(Debug)]
#[non_exhaustive]
pub enum ReadError {
    /// The socket failed (`ConnectionReset`...).
    Io(io::Error),
    /// End of stream before the read was complete.
    IncompleteRead(IncompleteReadError),
    /// The separator was not found within the limit.
    LimitOverrun(LimitOverrunError),
}

impl ReadError {
    /// The partial data of an [`IncompleteRead`](ReadError::IncompleteRead).
    ///
    /// # Examples
    /// See [`ReadError`], and [`StreamReader::readexactly`](super::StreamReader::readexactly) / [`readuntil`](super::StreamReader::readuntil).
    pub fn partial(&self) -> Option<&[u8]> {
        match self {
            ReadError::IncompleteRead(e) => Some(&e.partial),
            _ => None,
        }
    }

    /// The I/O error kind this error maps to (`UnexpectedEof` for an
    /// incomplete read, `InvalidData` for a limit overrun).
    ///
    /// # Examples
    /// See [`ReadError`], and [`StreamReader::readexactly`](super::StreamReader::readexactly) / [`readuntil`](super::StreamReader::readuntil).
    pub fn kind(&self) -> io::ErrorKind {
        match self {
            ReadError::Io(e) => e.kind(),
            ReadError::IncompleteRead(_) => io::ErrorKind::UnexpectedEof,
            ReadError::LimitOverrun(_) => io::ErrorKind::InvalidData,
        }
    }
}

impl fmt::Display for ReadError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ReadError::Io(e) => fmt::Display::fmt(e, f),
            ReadError::IncompleteRead(e) => fmt::Display::fmt(e, f),
            ReadError::LimitOverrun(e) => fmt::Display::fmt(e, f),
        }
    }
}

impl Error for ReadError {
    fn source(&self) -> Option<&(dyn Error + 'static)> {
        match self {
            ReadError::Io(e) => Some(e),
            ReadError::IncompleteRead(e) => Some(e),
            ReadError::LimitOverrun(e) => Some(e),
        }
    }
}

impl From<io::Error> for ReadError {
    fn from(e: io::Error) -> Self {
        ReadError::Io(e)
    }
}

impl From<IncompleteReadError> for ReadError {
    fn from(e: IncompleteReadError) -> Self {
        ReadError::IncompleteRead(e)
    }
}

impl From<LimitOverrunError> for ReadError {
    fn from(e: LimitOverrunError) -> Self {
        ReadError::LimitOverrun(e)
    }
}

impl From<ReadError> for io::Error {
    fn from(e: ReadError) -> Self {
        match e {
            ReadError::Io(e) => e,
            other => io::Error::new(other.kind(), other),
        }
    }
}
