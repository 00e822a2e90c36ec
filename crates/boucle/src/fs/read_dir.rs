//! `read_dir`: a directory's entries as a `Stream`, read in batches.

use std::collections::VecDeque;
use std::ffi::OsString;
use std::fmt;
use std::future::poll_fn;
use std::future::Future;
use std::io;
use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::sync::Arc;
use std::task::{ready, Context, Poll};

use futures_core::Stream;

use super::{asyncify, pool_error, with_path, FileType, Metadata};
use crate::runtime::blocking::{spawn_blocking, BlockingTask};

/// Entries one blocking job reads.
const BATCH: usize = 256;

/// Opens a directory and streams its entries (`std::fs::read_dir`,
/// `os.scandir`), in any order, without `.` and `..`. Entries come in
/// batches of 256 per blocking job, each with its file type already known.
///
/// # Examples
///
/// ```
/// use boucle::stream::StreamExt;
///
/// boucle::run(async {
///     let dir = std::env::temp_dir().join(format!("boucle-read-dir-{}", std::process::id()));
///     boucle::fs::create_dir_all(dir.join("sub")).await.unwrap();
///     boucle::fs::write(dir.join("a.txt"), "a").await.unwrap();
///     let mut names = Vec::new();
///     let mut entries = boucle::fs::read_dir(&dir).await.unwrap();
///     while let Some(entry) = entries.next().await {
///         let entry = entry.unwrap();
///         names.push((entry.file_name(), entry.file_type().unwrap().is_dir()));
///     }
///     names.sort();
///     assert_eq!(names, [("a.txt".into(), false), ("sub".into(), true)]);
///     boucle::fs::remove_dir_all(&dir).await.unwrap();
/// });
/// ```
///
/// # Errors
/// As `opendir(2)`, with the path in the message; each entry's error (as
/// `readdir(2)`) is an item of the stream.
///
/// # Panics
/// Outside a running loop.
pub async fn read_dir(path: impl AsRef<Path>) -> io::Result<ReadDir> {
    let path: Arc<Path> = Arc::from(path.as_ref());
    let p = path.clone();
    let std = asyncify("read directory", &path, move || {
        std::fs::read_dir(&p).map_err(|e| with_path("read directory", &p, e))
    })
    .await?;
    Ok(ReadDir {
        path,
        iter: Some(std),
        batch: VecDeque::new(),
        job: None,
    })
}

type Batch = (Option<std::fs::ReadDir>, VecDeque<io::Result<DirEntry>>);

/// The entries of a directory: a `futures_core::Stream` of
/// `io::Result<DirEntry>`, and [`next_entry`](ReadDir::next_entry).
#[must_use = "a ReadDir does nothing unless polled"]
pub struct ReadDir {
    path: Arc<Path>,
    /// The std iterator, while no job holds it; None at the end.
    iter: Option<std::fs::ReadDir>,
    batch: VecDeque<io::Result<DirEntry>>,
    job: Option<BlockingTask<Batch>>,
}

impl ReadDir {
    /// The next entry, `None` at the end (tokio's `next_entry`).
    ///
    /// # Cancel safety
    /// Cancel-safe.
    ///
    /// # Errors
    /// As `readdir(2)`, with the directory in the message.
    pub async fn next_entry(&mut self) -> io::Result<Option<DirEntry>> {
        poll_fn(|cx| self.poll_entry(cx)).await.transpose()
    }

    fn poll_entry(&mut self, cx: &mut Context<'_>) -> Poll<Option<io::Result<DirEntry>>> {
        loop {
            if let Some(item) = self.batch.pop_front() {
                return Poll::Ready(Some(item));
            }
            if let Some(job) = &mut self.job {
                let done = ready!(Pin::new(job).poll(cx));
                self.job = None;
                match done {
                    Ok((iter, batch)) => {
                        self.iter = iter;
                        self.batch = batch;
                    }
                    Err(e) => {
                        self.iter = None;
                        return Poll::Ready(Some(Err(pool_error("read directory", &self.path, e))));
                    }
                }
                continue;
            }
            let Some(mut iter) = self.iter.take() else {
                return Poll::Ready(None);
            };
            let path = self.path.clone();
            self.job = Some(spawn_blocking(move || {
                let mut batch = VecDeque::with_capacity(BATCH);
                for _ in 0..BATCH {
                    match iter.next() {
                        Some(Ok(std)) => {
                            let file_type = std.file_type();
                            batch.push_back(Ok(DirEntry { std, file_type }));
                        }
                        Some(Err(e)) => batch.push_back(Err(with_path("read directory", &path, e))),
                        None => return (None, batch),
                    }
                }
                (Some(iter), batch)
            }));
        }
    }
}

impl Stream for ReadDir {
    type Item = io::Result<DirEntry>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        self.get_mut().poll_entry(cx)
    }
}

impl fmt::Debug for ReadDir {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ReadDir").field("path", &self.path).finish()
    }
}

/// One entry of a directory (`std::fs::DirEntry`), its file type read with
/// it.
pub struct DirEntry {
    std: std::fs::DirEntry,
    file_type: io::Result<FileType>,
}

impl DirEntry {
    /// The directory's path joined with the entry's name.
    pub fn path(&self) -> PathBuf {
        self.std.path()
    }

    /// The entry's name, without the directory.
    pub fn file_name(&self) -> OsString {
        self.std.file_name()
    }

    /// The entry's type, not following a symbolic link. Known from the
    /// directory read on Linux's common file systems (`d_type`); read with
    /// `lstat(2)` on the pool otherwise: no system call on the loop thread.
    ///
    /// # Errors
    /// If the type could not be read (the entry vanished, say).
    pub fn file_type(&self) -> io::Result<FileType> {
        match &self.file_type {
            Ok(t) => Ok(*t),
            Err(e) => Err(with_path(
                "lstat",
                &self.std.path(),
                io::Error::new(e.kind(), e.to_string()),
            )),
        }
    }

    /// The entry's metadata, not following a symbolic link
    /// (`std::fs::DirEntry::metadata`).
    ///
    /// # Errors
    /// As `lstat(2)`, with the path in the message.
    pub async fn metadata(&self) -> io::Result<Metadata> {
        let path = self.std.path();
        super::symlink_metadata(&path).await
    }

    /// The entry's inode number (`d_ino`).
    pub fn ino(&self) -> u64 {
        std::os::unix::fs::DirEntryExt::ino(&self.std)
    }
}

impl fmt::Debug for DirEntry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("DirEntry").field(&self.std.path()).finish()
    }
}
