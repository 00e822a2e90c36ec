//! `File`: an open file whose reads and writes run on the blocking pool in
//! large batches.
//!
//! State: at most one blocking job in flight (`op`), plus a read-ahead
//! buffer (`rbuf[rpos..]`, bytes the kernel has given and the user has not
//! read) or a write-back buffer (`wbuf`, bytes the user has written and the
//! kernel has not seen), never both. The kernel's file position is ahead of
//! the user's by the unread read-ahead; a write or seek after a read puts it
//! back first (`seek_back`, folded into the next write job).

use std::fmt;
use std::future::poll_fn;
use std::future::Future;
use std::io::{self, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::sync::Arc;
use std::task::{ready, Context, Poll};

use super::{asyncify, pool_error, with_path, Metadata, OpenOptions, Permissions};
use crate::runtime::blocking::{self, BlockingTask};
use crate::runtime::context;

/// Bytes one read or write job moves (a read of a bigger buffer moves up to
/// [`MAX_CHUNK`]).
pub(crate) const CHUNK: usize = 256 * 1024;
/// The largest read job.
const MAX_CHUNK: usize = 1024 * 1024;

type ReadDone = (Vec<u8>, io::Result<usize>);
type WriteDone = (Vec<u8>, io::Result<()>);

enum Op {
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
    std: Arc<std::fs::File>,
    path: Arc<Path>,
    op: Option<Op>,
    rbuf: Vec<u8>,
    rpos: usize,
    wbuf: Vec<u8>,
    /// Bytes the kernel position is ahead of the user's, to seek back
    /// before the next write (only while `wbuf` is not empty).
    seek_back: u64,
    /// A recycled buffer.
    spare: Vec<u8>,
    /// The error of a background write, for the next operation.
    error: Option<io::Error>,
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

    /// Puts the kernel position back to the user's (drops the read-ahead).
    async fn drop_read_ahead(&mut self) -> io::Result<()> {
        if self.op.is_some() || !self.rbuf.is_empty() {
            // A relative seek by 0 takes the unread bytes into account.
            self.seek(SeekFrom::Current(0)).await?;
        }
        Ok(())
    }

    /// Forgets the read-ahead, keeping its memory as the spare buffer.
    fn clear_read_ahead(&mut self) {
        self.rbuf.clear();
        self.rpos = 0;
        if self.rbuf.capacity() > 0 && self.spare.capacity() == 0 {
            self.spare = std::mem::take(&mut self.rbuf);
        }
    }

    /// Keeps `buf` (emptied) for reuse if there is no spare yet.
    fn recycle(&mut self, mut buf: Vec<u8>) {
        if self.spare.capacity() == 0 {
            buf.clear();
            self.spare = buf;
        }
    }

    /// Waits for the job in flight, if any, and applies its result.
    fn poll_idle(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let Some(op) = &mut self.op else {
            return Poll::Ready(Ok(()));
        };
        let result = match op {
            Op::Read(task) => {
                let done = ready!(Pin::new(task).poll(cx));
                self.op = None;
                match done {
                    Ok((mut buf, Ok(n))) => {
                        buf.truncate(n);
                        self.clear_read_ahead();
                        self.rbuf = buf;
                        Ok(())
                    }
                    Ok((buf, Err(e))) => {
                        self.recycle(buf);
                        Err(with_path("read", &self.path, e))
                    }
                    Err(e) => Err(pool_error("read", &self.path, e)),
                }
            }
            Op::Write(task) => {
                let done = ready!(Pin::new(task).poll(cx));
                self.op = None;
                match done {
                    Ok((buf, r)) => {
                        self.recycle(buf);
                        r.map_err(|e| with_path("write", &self.path, e))
                    }
                    Err(e) => Err(pool_error("write", &self.path, e)),
                }
            }
            Op::Seek(task) => {
                let done = ready!(Pin::new(task).poll(cx));
                self.op = None;
                match done {
                    Ok(r) => r.map(drop),
                    Err(e) => Err(pool_error("seek", &self.path, e)),
                }
            }
        };
        Poll::Ready(result)
    }

    fn take_error(&mut self) -> io::Result<()> {
        match self.error.take() {
            Some(e) => Err(e),
            None => Ok(()),
        }
    }

    /// Hands `wbuf` to a write job (no job may be in flight).
    fn start_write(&mut self) {
        debug_assert!(self.op.is_none());
        let buf = std::mem::replace(&mut self.wbuf, std::mem::take(&mut self.spare));
        let back = std::mem::take(&mut self.seek_back) as i64;
        let std = self.std.clone();
        let core = context::current();
        let task = blocking::submit(&core, move || write_job(&std, buf, back), true);
        self.op = Some(Op::Write(task));
    }

    pub(crate) fn poll_read_inner(
        &mut self,
        cx: &mut Context<'_>,
        out: &mut [u8],
    ) -> Poll<io::Result<usize>> {
        loop {
            self.take_error()?;
            if self.rpos < self.rbuf.len() {
                let n = out.len().min(self.rbuf.len() - self.rpos);
                out[..n].copy_from_slice(&self.rbuf[self.rpos..self.rpos + n]);
                self.rpos += n;
                return Poll::Ready(Ok(n));
            }
            if out.is_empty() {
                return Poll::Ready(Ok(0));
            }
            match &self.op {
                Some(Op::Read(_)) => {
                    ready!(self.poll_idle(cx))?;
                    if self.rbuf.is_empty() {
                        return Poll::Ready(Ok(0)); // end of file
                    }
                }
                Some(_) => ready!(self.poll_idle(cx))?,
                None if !self.wbuf.is_empty() => self.start_write(),
                None => {
                    let len = out.len().clamp(CHUNK, MAX_CHUNK);
                    let mut buf = std::mem::take(&mut self.spare);
                    if buf.capacity() == 0 {
                        buf = std::mem::take(&mut self.rbuf);
                    }
                    self.clear_read_ahead();
                    buf.resize(len, 0);
                    let std = self.std.clone();
                    let core = context::current();
                    let task = blocking::submit(
                        &core,
                        move || {
                            let r = (&*std).read(&mut buf);
                            (buf, r)
                        },
                        false,
                    );
                    self.op = Some(Op::Read(task));
                }
            }
        }
    }

    pub(crate) fn poll_write_inner(
        &mut self,
        cx: &mut Context<'_>,
        data: &[u8],
    ) -> Poll<io::Result<usize>> {
        loop {
            self.take_error()?;
            if data.is_empty() {
                return Poll::Ready(Ok(0));
            }
            if matches!(self.op, Some(Op::Read(_) | Op::Seek(_))) {
                ready!(self.poll_idle(cx))?;
                continue;
            }
            let unread = self.rbuf.len() - self.rpos;
            if !self.rbuf.is_empty() {
                // The kernel is ahead by the unread bytes: the write job
                // seeks back first.
                debug_assert!(self.wbuf.is_empty());
                self.seek_back += unread as u64;
                self.clear_read_ahead();
            }
            if self.wbuf.len() < CHUNK {
                let n = data.len().min(CHUNK - self.wbuf.len());
                self.wbuf.extend_from_slice(&data[..n]);
                if self.wbuf.len() == CHUNK && self.op.is_none() {
                    self.start_write();
                }
                return Poll::Ready(Ok(n));
            }
            // Full: wait for the write in flight, then hand this one over.
            match self.op {
                Some(_) => {
                    if let Err(e) = ready!(self.poll_idle(cx)) {
                        return Poll::Ready(Err(e));
                    }
                }
                None => self.start_write(),
            }
        }
    }

    pub(crate) fn poll_flush_inner(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        loop {
            self.take_error()?;
            match self.op {
                Some(Op::Write(_)) | Some(Op::Seek(_)) => ready!(self.poll_idle(cx))?,
                // A read-ahead in flight does not hold written bytes.
                Some(Op::Read(_)) if self.wbuf.is_empty() => return Poll::Ready(Ok(())),
                Some(Op::Read(_)) => ready!(self.poll_idle(cx))?,
                None if !self.wbuf.is_empty() => self.start_write(),
                None => return Poll::Ready(Ok(())),
            }
        }
    }

    pub(crate) fn poll_seek_inner(
        &mut self,
        cx: &mut Context<'_>,
        pos: SeekFrom,
        started: &mut bool,
    ) -> Poll<io::Result<u64>> {
        loop {
            if *started {
                let Some(Op::Seek(task)) = &mut self.op else {
                    // Another operation finished our seek: ask again.
                    *started = false;
                    continue;
                };
                let done = ready!(Pin::new(task).poll(cx));
                self.op = None;
                *started = false;
                return Poll::Ready(match done {
                    Ok(r) => r,
                    Err(e) => Err(pool_error("seek", &self.path, e)),
                });
            }
            self.take_error()?;
            if self.op.is_some() {
                ready!(self.poll_idle(cx))?;
                continue;
            }
            if !self.wbuf.is_empty() {
                self.start_write();
                continue;
            }
            let unread = (self.rbuf.len() - self.rpos) as i64;
            self.clear_read_ahead();
            let pos = match pos {
                SeekFrom::Current(off) => SeekFrom::Current(off - unread),
                other => other,
            };
            let std = self.std.clone();
            let path = self.path.clone();
            let core = context::current();
            let task = blocking::submit(
                &core,
                move || (&*std).seek(pos).map_err(|e| with_path("seek", &path, e)),
                false,
            );
            self.op = Some(Op::Seek(task));
            *started = true;
        }
    }
}

/// A write job: seek back over unread read-ahead, then write it all.
fn write_job(std: &std::fs::File, mut buf: Vec<u8>, back: i64) -> WriteDone {
    let mut f = std;
    let r = (|| {
        if back != 0 {
            f.seek(SeekFrom::Current(-back))?;
        }
        f.write_all(&buf)
    })();
    buf.clear();
    (buf, r)
}

impl Drop for File {
    fn drop(&mut self) {
        let pending = match self.op.take() {
            Some(Op::Write(task)) => Some(task),
            _ => None,
        };
        let error = self.error.take();
        if pending.is_none() && self.wbuf.is_empty() && error.is_none() {
            return;
        }
        let buf = std::mem::take(&mut self.wbuf);
        let back = self.seek_back as i64;
        let std = self.std.clone();
        let path = self.path.clone();
        let job = move || {
            let report = |e: io::Error| {
                eprintln!(
                    "boucle::fs: a write to {} failed after its File was dropped: {e}",
                    path.display()
                );
            };
            if let Some(e) = error {
                report(e);
            }
            if let Some(task) = pending {
                match task.wait_sync() {
                    Ok((_, Err(e))) => report(e),
                    Err(_) => report(io::Error::other("the write job did not run")),
                    Ok((_, Ok(()))) => {}
                }
            }
            if !buf.is_empty() {
                if let (_, Err(e)) = write_job(&std, buf, back) {
                    report(e);
                }
            }
        };
        // On the pool (marked to run even at shutdown), else right here.
        match context::with_current(std::rc::Rc::clone) {
            Some(core) => drop(blocking::submit(&core, job, true)),
            None => job(),
        }
    }
}

impl fmt::Debug for File {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("File")
            .field("path", &self.path)
            .field("buffered_read", &(self.rbuf.len() - self.rpos))
            .field("buffered_write", &self.wbuf.len())
            .finish()
    }
}

impl futures_io::AsyncRead for File {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut [u8],
    ) -> Poll<io::Result<usize>> {
        self.get_mut().poll_read_inner(cx, buf)
    }
}

impl futures_io::AsyncWrite for File {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        self.get_mut().poll_write_inner(cx, buf)
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.get_mut().poll_flush_inner(cx)
    }

    fn poll_close(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.get_mut().poll_flush_inner(cx)
    }
}

impl futures_io::AsyncSeek for File {
    /// Seeks to `pos`. A seek in flight is finished by the next call with
    /// the same `pos` (as `futures_io::AsyncSeek` asks: repeat until ready).
    fn poll_seek(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        pos: SeekFrom,
    ) -> Poll<io::Result<u64>> {
        let this = self.get_mut();
        let mut started = matches!(this.op, Some(Op::Seek(_)));
        this.poll_seek_inner(cx, pos, &mut started)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn jobs() -> u64 {
        context::current().blocking.jobs_submitted()
    }

    /// 200,000 one-byte writes, then 200,000 one-byte reads: a handful of
    /// blocking jobs, not one per call.
    #[test]
    fn small_reads_and_writes_are_batched() {
        let path = std::env::temp_dir().join(format!("boucle-batch-{}", std::process::id()));
        crate::run(async {
            let mut f = OpenOptions::new()
                .read(true)
                .write(true)
                .create(true)
                .truncate(true)
                .open(&path)
                .await
                .unwrap();
            let before = jobs();
            for i in 0..200_000u32 {
                f.write_all(&[i as u8]).await.unwrap();
            }
            f.flush().await.unwrap();
            let writes = jobs() - before;
            assert!(writes <= 2, "200,000 bytes in {writes} write jobs");
            f.rewind().await.unwrap();
            let before = jobs();
            let mut byte = [0u8];
            for i in 0..200_000u32 {
                f.read_exact(&mut byte).await.unwrap();
                assert_eq!(byte[0], i as u8);
            }
            let reads = jobs() - before;
            assert!(reads <= 2, "200,000 reads in {reads} read jobs");
            assert_eq!(f.read(&mut byte).await.unwrap(), 0, "end of file");
        });
        std::fs::remove_file(&path).unwrap();
    }
}
