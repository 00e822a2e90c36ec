//! `File`: an open file whose reads and writes run on the blocking pool in
//! large batches. Its public methods live here; the state machine behind
//! them in `file_io.rs`.

use std::future::poll_fn;
use std::io::{self, Read, SeekFrom};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use super::{asyncify, pool_error, with_path, Metadata, OpenOptions, Permissions};
use crate::runtime::blocking::{self, BlockingTask};

/// Bytes one read or write job moves (a read of a bigger buffer moves up to
/// [`MAX_CHUNK`]).
pub(crate) const CHUNK: usize = 256 * 1024;
/// The largest read job.
pub(super) const MAX_CHUNK: usize = 1024 * 1024;

pub(super) type ReadDone = (Vec<u8>, io::Result<usize>);
pub(super) type WriteDone = (Vec<u8>, io::Result<()>);

pub(super) enum Op {
    Read(BlockingTask<ReadDone>),
    Write(BlockingTask<WriteDone>),
    Seek(BlockingTask<io::Result<u64>>),
}

/// An open file (tokio's `tokio::fs::File`, aiofiles' file object).
/// Implements `futures_io::AsyncRead`, `AsyncWrite` and `AsyncSeek`, and has
/// the usual methods inherent (`read`, `write_all`, `seek`, ...).
///
/// Reads and writes are batched: a read fetches up to 256 KiB in one
/// blocking job and serves the following small reads from that buffer; a
/// write copies into a 256 KiB buffer and returns at once, and the buffer
/// goes to the kernel in one job when it is full, on `flush`, or on drop.
///
/// # Write-back
///
/// * [`flush`](File::flush) (or `AsyncWriteExt::flush`, `close`) waits until
///   every byte written so far has reached the kernel (the page cache), and
///   returns its error, if any. [`sync_all`](File::sync_all) also waits
///   until the kernel has it on the disk.
/// * An error of a background write is kept and returned by the next
///   operation on the file (read, write, seek, flush, ...): it is never
///   dropped silently.
/// * Dropping a `File` with bytes not yet written starts their write in the
///   background (it still runs if the runtime shuts down next). Its error,
///   if any, can no longer be returned: it is printed on stderr, naming the
///   path. Call `flush` before the drop to handle it yourself.
///
/// # Examples
///
/// ```
/// use std::io::SeekFrom;
/// use boucle::fs::File;
///
/// boucle::run(async {
///     let path = std::env::temp_dir().join(format!("boucle-file-doc-{}", std::process::id()));
///     let mut f = File::create(&path).await.unwrap();
///     for i in 0..1000 {
///         f.write_all(format!("line {i}\n").as_bytes()).await.unwrap(); // no thread hop each
///     }
///     f.flush().await.unwrap();
///     drop(f);
///
///     let mut f = File::open(&path).await.unwrap();
///     f.seek(SeekFrom::Start(5)).await.unwrap();
///     let mut buf = [0u8; 1];
///     f.read(&mut buf).await.unwrap();
///     assert_eq!(&buf, b"0");
///     let mut rest = String::new();
///     f.read_to_string(&mut rest).await.unwrap();
///     assert!(rest.ends_with("line 999\n"));
///     boucle::fs::remove_file(&path).await.unwrap();
/// });
/// ```
pub struct File {
    pub(super) std: Arc<std::fs::File>,
    pub(super) path: Arc<Path>,
    pub(super) op: Option<Op>,
    pub(super) rbuf: Vec<u8>,
    pub(super) rpos: usize,
    pub(super) wbuf: Vec<u8>,
    /// Bytes the kernel position is ahead of the user's, to seek back
    /// before the next write (only while `wbuf` is not empty).
    pub(super) seek_back: u64,
    /// A recycled buffer.
    pub(super) spare: Vec<u8>,
    /// The error of a background write, for the next operation.
    pub(super) error: Option<io::Error>,
}

impl File {
    /// Opens a file for reading (`std::fs::File::open`).
    ///
    /// # Examples
    /// See [`File`].
    ///
    /// # Errors
    /// As `open(2)`, with the path in the message.
    ///
    /// # Panics
    /// Outside a running loop.
    pub async fn open(path: impl AsRef<Path>) -> io::Result<File> {
        OpenOptions::new().read(true).open(path).await
    }

    /// Opens a file for writing, creating it or truncating it
    /// (`std::fs::File::create`).
    ///
    /// # Examples
    /// See [`File`].
    ///
    /// # Errors
    /// As `open(2)`, with the path in the message.
    pub async fn create(path: impl AsRef<Path>) -> io::Result<File> {
        OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .open(path)
            .await
    }

    /// Opens a file for writing, failing if it exists
    /// (`std::fs::File::create_new`).
    ///
    /// # Examples
    ///
    /// ```
    /// boucle::run(async {
    ///     let p = std::env::temp_dir().join(format!("boucle-new-{}", std::process::id()));
    ///     drop(boucle::fs::File::create_new(&p).await.unwrap());
    ///     let err = boucle::fs::File::create_new(&p).await.unwrap_err();
    ///     assert_eq!(err.kind(), std::io::ErrorKind::AlreadyExists);
    ///     boucle::fs::remove_file(&p).await.unwrap();
    /// });
    /// ```
    ///
    /// # Errors
    /// `AlreadyExists` if it exists; as `open(2)`.
    pub async fn create_new(path: impl AsRef<Path>) -> io::Result<File> {
        OpenOptions::new()
            .read(true)
            .write(true)
            .create_new(true)
            .open(path)
            .await
    }

    /// A builder for other ways to open (`std::fs::File::options`).
    pub fn options() -> OpenOptions {
        OpenOptions::new()
    }

    /// Wraps an open std file; `path` names it in error messages.
    pub fn from_std(file: std::fs::File, path: impl Into<PathBuf>) -> File {
        File {
            std: Arc::new(file),
            path: Arc::from(path.into()),
            op: None,
            rbuf: Vec::new(),
            rpos: 0,
            wbuf: Vec::new(),
            seek_back: 0,
            spare: Vec::new(),
            error: None,
        }
    }

    /// The path the file was opened with.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Flushes, then gives back the std file, its position where this
    /// file's reads and writes left it.
    ///
    /// # Errors
    /// The error of a pending write.
    pub async fn into_std(mut self) -> io::Result<std::fs::File> {
        self.flush().await?;
        self.drop_read_ahead().await?;
        let std = self.std.clone();
        drop(self);
        // The only other owners were finished jobs.
        Ok(Arc::try_unwrap(std).unwrap_or_else(|arc| {
            arc.try_clone()
                .expect("boucle: cannot duplicate a file descriptor")
        }))
    }

    /// Reads into `buf`; returns how many bytes (0 at the end of the file).
    ///
    /// # Cancel safety
    /// Cancel-safe: no byte is lost (a read job in flight fills the
    /// read-ahead buffer for the next read).
    ///
    /// # Errors
    /// As `read(2)`, or a pending write's error.
    pub async fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        poll_fn(|cx| self.poll_read_inner(cx, buf)).await
    }

    /// Reads exactly `buf.len()` bytes.
    ///
    /// # Errors
    /// `UnexpectedEof` if the file ends first; as [`read`](File::read).
    pub async fn read_exact(&mut self, mut buf: &mut [u8]) -> io::Result<()> {
        while !buf.is_empty() {
            let n = self.read(buf).await?;
            if n == 0 {
                return Err(with_path(
                    "read",
                    &self.path,
                    io::Error::from(io::ErrorKind::UnexpectedEof),
                ));
            }
            buf = &mut buf[n..];
        }
        Ok(())
    }

    /// Reads to the end of the file, appending to `out`; the rest of a
    /// large file comes in one blocking job. Returns the bytes read.
    ///
    /// # Errors
    /// As `read(2)`.
    pub async fn read_to_end(&mut self, out: &mut Vec<u8>) -> io::Result<usize> {
        let start = out.len();
        poll_fn(|cx| self.poll_idle(cx)).await?;
        self.flush().await?;
        // What is already buffered, then the rest in one job.
        out.extend_from_slice(&self.rbuf[self.rpos..]);
        self.clear_read_ahead();
        let std = self.std.clone();
        let mut tail = std::mem::take(out);
        let path = self.path.clone();
        let (tail, r) = match blocking::spawn_blocking(move || {
            let r = (&*std).read_to_end(&mut tail);
            (tail, r)
        })
        .await
        {
            Ok(done) => done,
            Err(e) => return Err(pool_error("read", &path, e)),
        };
        *out = tail;
        r.map_err(|e| with_path("read", &self.path, e))?;
        Ok(out.len() - start)
    }

    /// Reads to the end of the file as UTF-8, appending to `out`.
    ///
    /// # Errors
    /// `InvalidData` if the bytes are not UTF-8 (`out` is then unchanged);
    /// as `read(2)`.
    pub async fn read_to_string(&mut self, out: &mut String) -> io::Result<usize> {
        let mut bytes = Vec::new();
        let n = self.read_to_end(&mut bytes).await?;
        let text = String::from_utf8(bytes).map_err(|e| {
            with_path(
                "read",
                &self.path,
                io::Error::new(io::ErrorKind::InvalidData, e.utf8_error()),
            )
        })?;
        out.push_str(&text);
        Ok(n)
    }

    /// Writes some of `buf` (into the write-back buffer); returns how many
    /// bytes were taken.
    ///
    /// # Errors
    /// A previous background write's error.
    pub async fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        poll_fn(|cx| self.poll_write_inner(cx, buf)).await
    }

    /// Writes all of `buf` (into the write-back buffer: see [`File`]).
    ///
    /// # Cancel safety
    /// Not cancel-safe: part of `buf` may have been taken.
    ///
    /// # Errors
    /// A previous background write's error.
    pub async fn write_all(&mut self, mut buf: &[u8]) -> io::Result<()> {
        while !buf.is_empty() {
            let n = self.write(buf).await?;
            buf = &buf[n..];
        }
        Ok(())
    }

    /// Waits until every byte written so far has reached the kernel.
    ///
    /// # Errors
    /// The first error of a write since the last flush.
    pub async fn flush(&mut self) -> io::Result<()> {
        poll_fn(|cx| self.poll_flush_inner(cx)).await
    }

    /// Moves the position (`std::io::Seek::seek`); returns the new one.
    ///
    /// # Errors
    /// As `lseek(2)`; a pending write's error.
    pub async fn seek(&mut self, pos: SeekFrom) -> io::Result<u64> {
        let mut started = false;
        poll_fn(|cx| self.poll_seek_inner(cx, pos, &mut started)).await
    }

    /// Back to the start (`seek(SeekFrom::Start(0))`).
    ///
    /// # Errors
    /// As [`seek`](File::seek).
    pub async fn rewind(&mut self) -> io::Result<()> {
        self.seek(SeekFrom::Start(0)).await.map(drop)
    }

    /// The position in the file.
    ///
    /// # Errors
    /// As [`seek`](File::seek).
    pub async fn stream_position(&mut self) -> io::Result<u64> {
        self.seek(SeekFrom::Current(0)).await
    }

    /// Flushes, then waits until the data and metadata are on the disk
    /// (`fsync(2)`).
    ///
    /// # Examples
    ///
    /// ```
    /// boucle::run(async {
    ///     let p = std::env::temp_dir().join(format!("boucle-sync-{}", std::process::id()));
    ///     let mut f = boucle::fs::File::create(&p).await.unwrap();
    ///     f.write_all(b"0123456789").await.unwrap();
    ///     f.sync_all().await.unwrap();
    ///     f.set_len(4).await.unwrap();
    ///     assert_eq!(f.metadata().await.unwrap().len(), 4);
    ///     boucle::fs::remove_file(&p).await.unwrap();
    /// });
    /// ```
    ///
    /// # Errors
    /// A pending write's error; as `fsync(2)`.
    pub async fn sync_all(&mut self) -> io::Result<()> {
        self.flush().await?;
        let std = self.std.clone();
        let path = self.path.clone();
        asyncify("sync", &self.path, move || {
            std.sync_all().map_err(|e| with_path("sync", &path, e))
        })
        .await
    }

    /// Like [`sync_all`](File::sync_all) without the metadata
    /// (`fdatasync(2)`).
    ///
    /// # Errors
    /// A pending write's error; as `fdatasync(2)`.
    pub async fn sync_data(&mut self) -> io::Result<()> {
        self.flush().await?;
        let std = self.std.clone();
        let path = self.path.clone();
        asyncify("sync", &self.path, move || {
            std.sync_data().map_err(|e| with_path("sync", &path, e))
        })
        .await
    }

    /// Truncates or extends the file to `size` bytes (`ftruncate(2)`);
    /// the position does not move.
    ///
    /// # Examples
    /// See [`sync_all`](File::sync_all).
    ///
    /// # Errors
    /// A pending write's error; as `ftruncate(2)`.
    pub async fn set_len(&mut self, size: u64) -> io::Result<()> {
        self.flush().await?;
        self.drop_read_ahead().await?;
        let std = self.std.clone();
        let path = self.path.clone();
        asyncify("truncate", &self.path, move || {
            std.set_len(size)
                .map_err(|e| with_path("truncate", &path, e))
        })
        .await
    }

    /// The file's metadata, after a flush (so the size counts every write).
    ///
    /// # Examples
    /// See [`sync_all`](File::sync_all).
    ///
    /// # Errors
    /// A pending write's error; as `fstat(2)`.
    pub async fn metadata(&mut self) -> io::Result<Metadata> {
        self.flush().await?;
        let std = self.std.clone();
        let path = self.path.clone();
        asyncify("stat", &self.path, move || {
            std.metadata().map_err(|e| with_path("stat", &path, e))
        })
        .await
    }

    /// Sets the file's permissions (`fchmod(2)`).
    ///
    /// # Errors
    /// As `fchmod(2)`.
    pub async fn set_permissions(&self, perm: Permissions) -> io::Result<()> {
        let std = self.std.clone();
        let path = self.path.clone();
        asyncify("chmod", &self.path, move || {
            std.set_permissions(perm)
                .map_err(|e| with_path("chmod", &path, e))
        })
        .await
    }
}
