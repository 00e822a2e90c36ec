//! Files and directories, on the blocking pool (tokio's `tokio::fs`,
//! Python's aiofiles).
//!
//! Regular files have no readiness on Linux: epoll refuses them, and a read
//! of a cold page blocks whatever `O_NONBLOCK` says. So every call here runs
//! on the loop's blocking pool (see [`spawn_blocking`](crate::spawn_blocking))
//! and the task awaits its result; the loop goes on meanwhile. Each call is
//! one job, and a [`File`] batches its reads and writes into large jobs
//! (256 KiB), so small reads and writes do not cost a thread hop each.
//!
//! Every error is an [`io::Error`] of the OS error's [`io::ErrorKind`],
//! whose message names the operation and the path:
//! `open /etc/nope: No such file or directory (os error 2)`. The OS error
//! itself is the error's [`source`](std::error::Error::source).
//!
//! | std / asyncio / aiofiles                  | boucle::fs                    |
//! |-------------------------------------------|-------------------------------|
//! | `std::fs::read`, `Path.read_bytes`        | [`read`]                      |
//! | `std::fs::read_to_string`, `read_text`    | [`read_to_string`]            |
//! | `std::fs::write`, `write_bytes`           | [`write()`]                   |
//! | `aiofiles.open(p)`, `std::fs::File::open` | [`File::open`], [`OpenOptions`] |
//! | `os.scandir`, `std::fs::read_dir`         | [`read_dir`] (a `Stream`)     |
//! | iterating a file's lines                  | [`BufReader::lines`] (a `Stream`) |
//!
//! # Examples
//!
//! ```
//! boucle::run(async {
//!     let dir = std::env::temp_dir().join(format!("boucle-fs-doc-{}", std::process::id()));
//!     boucle::fs::create_dir_all(&dir).await.unwrap();
//!     let path = dir.join("hello.txt");
//!     boucle::fs::write(&path, "Bonjour\nMonde\n").await.unwrap();
//!     assert_eq!(boucle::fs::read_to_string(&path).await.unwrap(), "Bonjour\nMonde\n");
//!     let err = boucle::fs::read(dir.join("missing")).await.unwrap_err();
//!     assert_eq!(err.kind(), std::io::ErrorKind::NotFound);
//!     assert!(err.to_string().contains("missing"), "{err}");
//!     boucle::fs::remove_dir_all(&dir).await.unwrap();
//! });
//! ```

mod buf_reader;
mod error;
mod file;
mod file_io;
mod open_options;
mod read_dir;

use std::io;
use std::path::{Path, PathBuf};

pub use buf_reader::{BufReader, Lines};
pub use file::File;
pub use open_options::OpenOptions;
pub use read_dir::{read_dir, DirEntry, ReadDir};
pub use std::fs::{FileType, Metadata, Permissions};

pub(crate) use error::{pool_error, with_path, with_paths};

/// Runs `f` on the blocking pool; `op` and `path` name a job that did not
/// run.
pub(crate) async fn asyncify<T, F>(op: &'static str, path: &Path, f: F) -> io::Result<T>
where
    F: FnOnce() -> io::Result<T> + Send + 'static,
    T: Send + 'static,
{
    match crate::spawn_blocking(f).await {
        Ok(result) => result,
        Err(e) => Err(pool_error(op, path, e)),
    }
}

/// One path, one std call, the path in the error.
async fn path_op<T, F>(op: &'static str, path: &Path, f: F) -> io::Result<T>
where
    F: FnOnce(&Path) -> io::Result<T> + Send + 'static,
    T: Send + 'static,
{
    let owned = path.to_path_buf();
    asyncify(op, path, move || {
        f(&owned).map_err(|e| with_path(op, &owned, e))
    })
    .await
}

/// Two paths, one std call, both paths in the error.
async fn paths_op<T, F>(op: &'static str, from: &Path, to: &Path, f: F) -> io::Result<T>
where
    F: FnOnce(&Path, &Path) -> io::Result<T> + Send + 'static,
    T: Send + 'static,
{
    let (a, b) = (from.to_path_buf(), to.to_path_buf());
    asyncify(op, from, move || {
        f(&a, &b).map_err(|e| with_paths(op, &a, &b, e))
    })
    .await
}

/// Reads a whole file (`std::fs::read`), in one blocking job.
///
/// # Examples
/// See the [module](self).
///
/// # Errors
/// As `std::fs::read`, with the path in the message.
///
/// # Panics
/// Outside a running loop.
pub async fn read(path: impl AsRef<Path>) -> io::Result<Vec<u8>> {
    path_op("read", path.as_ref(), |p| std::fs::read(p)).await
}

/// Reads a whole file as UTF-8 (`std::fs::read_to_string`).
///
/// # Examples
/// See the [module](self).
///
/// # Errors
/// As `std::fs::read_to_string` (`InvalidData` if it is not UTF-8), with
/// the path in the message.
pub async fn read_to_string(path: impl AsRef<Path>) -> io::Result<String> {
    path_op("read", path.as_ref(), |p| std::fs::read_to_string(p)).await
}

/// Writes `contents` as the whole file, creating or truncating it
/// (`std::fs::write`).
///
/// # Examples
/// See the [module](self).
///
/// # Errors
/// As `std::fs::write`, with the path in the message.
pub async fn write(path: impl AsRef<Path>, contents: impl AsRef<[u8]>) -> io::Result<()> {
    let data = contents.as_ref().to_vec();
    path_op("write", path.as_ref(), move |p| std::fs::write(p, data)).await
}

/// Copies a file's contents and permissions; returns the bytes copied
/// (`std::fs::copy`).
///
/// # Examples
///
/// ```
/// boucle::run(async {
///     let a = std::env::temp_dir().join(format!("boucle-copy-a-{}", std::process::id()));
///     let b = a.with_extension("b");
///     boucle::fs::write(&a, b"abc").await.unwrap();
///     assert_eq!(boucle::fs::copy(&a, &b).await.unwrap(), 3);
///     assert_eq!(boucle::fs::read(&b).await.unwrap(), b"abc");
///     boucle::fs::rename(&b, &a).await.unwrap();
///     boucle::fs::remove_file(&a).await.unwrap();
///     assert!(!boucle::fs::try_exists(&a).await.unwrap());
/// });
/// ```
///
/// # Errors
/// As `std::fs::copy`, with both paths in the message.
pub async fn copy(from: impl AsRef<Path>, to: impl AsRef<Path>) -> io::Result<u64> {
    paths_op("copy", from.as_ref(), to.as_ref(), |a, b| {
        std::fs::copy(a, b)
    })
    .await
}

/// Renames a file or directory, replacing `to` if it exists
/// (`std::fs::rename`).
///
/// # Examples
/// See [`copy`].
///
/// # Errors
/// As `std::fs::rename`, with both paths in the message.
pub async fn rename(from: impl AsRef<Path>, to: impl AsRef<Path>) -> io::Result<()> {
    paths_op("rename", from.as_ref(), to.as_ref(), |a, b| {
        std::fs::rename(a, b)
    })
    .await
}

/// Removes a file (`std::fs::remove_file`).
///
/// # Examples
/// See [`copy`].
///
/// # Errors
/// As `std::fs::remove_file`, with the path in the message.
pub async fn remove_file(path: impl AsRef<Path>) -> io::Result<()> {
    path_op("remove", path.as_ref(), |p| std::fs::remove_file(p)).await
}

/// Removes an empty directory (`std::fs::remove_dir`).
///
/// # Examples
/// See [`create_dir`].
///
/// # Errors
/// As `std::fs::remove_dir`, with the path in the message.
pub async fn remove_dir(path: impl AsRef<Path>) -> io::Result<()> {
    path_op("remove directory", path.as_ref(), |p| {
        std::fs::remove_dir(p)
    })
    .await
}

/// Removes a directory and everything in it (`std::fs::remove_dir_all`),
/// in one blocking job.
///
/// # Examples
/// See the [module](self).
///
/// # Errors
/// As `std::fs::remove_dir_all`, with the path in the message.
pub async fn remove_dir_all(path: impl AsRef<Path>) -> io::Result<()> {
    path_op("remove directory", path.as_ref(), |p| {
        std::fs::remove_dir_all(p)
    })
    .await
}

/// Creates a directory (`std::fs::create_dir`).
///
/// # Examples
///
/// ```
/// boucle::run(async {
///     let d = std::env::temp_dir().join(format!("boucle-mkdir-{}", std::process::id()));
///     boucle::fs::create_dir(&d).await.unwrap();
///     let err = boucle::fs::create_dir(&d).await.unwrap_err();
///     assert_eq!(err.kind(), std::io::ErrorKind::AlreadyExists);
///     assert!(boucle::fs::metadata(&d).await.unwrap().is_dir());
///     boucle::fs::remove_dir(&d).await.unwrap();
/// });
/// ```
///
/// # Errors
/// As `std::fs::create_dir`, with the path in the message.
pub async fn create_dir(path: impl AsRef<Path>) -> io::Result<()> {
    path_op("create directory", path.as_ref(), |p| {
        std::fs::create_dir(p)
    })
    .await
}

/// Creates a directory and its missing parents (`std::fs::create_dir_all`).
///
/// # Examples
/// See the [module](self).
///
/// # Errors
/// As `std::fs::create_dir_all`, with the path in the message.
pub async fn create_dir_all(path: impl AsRef<Path>) -> io::Result<()> {
    path_op("create directory", path.as_ref(), |p| {
        std::fs::create_dir_all(p)
    })
    .await
}

/// Metadata of the file `path` names, following symbolic links
/// (`std::fs::metadata`).
///
/// # Examples
/// See [`create_dir`].
///
/// # Errors
/// As `std::fs::metadata`, with the path in the message.
pub async fn metadata(path: impl AsRef<Path>) -> io::Result<Metadata> {
    path_op("stat", path.as_ref(), |p| std::fs::metadata(p)).await
}

/// Metadata of `path` itself, not following a symbolic link
/// (`std::fs::symlink_metadata`).
///
/// # Examples
///
/// ```
/// boucle::run(async {
///     let link = std::env::temp_dir().join(format!("boucle-link-{}", std::process::id()));
///     boucle::fs::symlink("/nowhere/at/all", &link).await.unwrap();
///     assert!(boucle::fs::symlink_metadata(&link).await.unwrap().file_type().is_symlink());
///     assert!(boucle::fs::metadata(&link).await.is_err()); // broken: nothing to follow
///     assert_eq!(boucle::fs::read_link(&link).await.unwrap(), std::path::Path::new("/nowhere/at/all"));
///     boucle::fs::remove_file(&link).await.unwrap();
/// });
/// ```
///
/// # Errors
/// As `std::fs::symlink_metadata`, with the path in the message.
pub async fn symlink_metadata(path: impl AsRef<Path>) -> io::Result<Metadata> {
    path_op("lstat", path.as_ref(), |p| std::fs::symlink_metadata(p)).await
}

/// The absolute path with every symbolic link resolved
/// (`std::fs::canonicalize`).
///
/// # Examples
///
/// ```
/// boucle::run(async {
///     let p = boucle::fs::canonicalize("/tmp/../tmp/.").await.unwrap();
///     assert_eq!(p, std::fs::canonicalize("/tmp").unwrap());
/// });
/// ```
///
/// # Errors
/// As `std::fs::canonicalize`, with the path in the message.
pub async fn canonicalize(path: impl AsRef<Path>) -> io::Result<PathBuf> {
    path_op("canonicalize", path.as_ref(), |p| std::fs::canonicalize(p)).await
}

/// The target of a symbolic link (`std::fs::read_link`).
///
/// # Examples
/// See [`symlink_metadata`].
///
/// # Errors
/// As `std::fs::read_link`, with the path in the message.
pub async fn read_link(path: impl AsRef<Path>) -> io::Result<PathBuf> {
    path_op("read link", path.as_ref(), |p| std::fs::read_link(p)).await
}

/// Creates a symbolic link at `link` pointing to `original`
/// (`std::os::unix::fs::symlink`).
///
/// # Examples
/// See [`symlink_metadata`].
///
/// # Errors
/// As `symlink(2)`, with both paths in the message.
pub async fn symlink(original: impl AsRef<Path>, link: impl AsRef<Path>) -> io::Result<()> {
    paths_op("symlink", link.as_ref(), original.as_ref(), |l, o| {
        std::os::unix::fs::symlink(o, l)
    })
    .await
}

/// Creates a hard link `link` to `original` (`std::fs::hard_link`).
///
/// # Examples
///
/// ```
/// boucle::run(async {
///     let a = std::env::temp_dir().join(format!("boucle-hard-{}", std::process::id()));
///     let b = a.with_extension("2");
///     boucle::fs::write(&a, "x").await.unwrap();
///     boucle::fs::hard_link(&a, &b).await.unwrap();
///     assert_eq!(boucle::fs::read(&b).await.unwrap(), b"x");
///     boucle::fs::remove_file(&a).await.unwrap();
///     boucle::fs::remove_file(&b).await.unwrap();
/// });
/// ```
///
/// # Errors
/// As `std::fs::hard_link`, with both paths in the message.
pub async fn hard_link(original: impl AsRef<Path>, link: impl AsRef<Path>) -> io::Result<()> {
    paths_op("link", original.as_ref(), link.as_ref(), |o, l| {
        std::fs::hard_link(o, l)
    })
    .await
}

/// Sets a file's permissions (`std::fs::set_permissions`).
///
/// # Examples
///
/// ```
/// use std::os::unix::fs::PermissionsExt;
///
/// boucle::run(async {
///     let p = std::env::temp_dir().join(format!("boucle-perm-{}", std::process::id()));
///     boucle::fs::write(&p, "").await.unwrap();
///     boucle::fs::set_permissions(&p, boucle::fs::Permissions::from_mode(0o600)).await.unwrap();
///     let mode = boucle::fs::metadata(&p).await.unwrap().permissions().mode();
///     assert_eq!(mode & 0o777, 0o600);
///     boucle::fs::remove_file(&p).await.unwrap();
/// });
/// ```
///
/// # Errors
/// As `std::fs::set_permissions`, with the path in the message.
pub async fn set_permissions(path: impl AsRef<Path>, perm: Permissions) -> io::Result<()> {
    path_op("chmod", path.as_ref(), move |p| {
        std::fs::set_permissions(p, perm)
    })
    .await
}

/// Whether `path` exists, following links: `Ok(false)` when it does not,
/// an error when that cannot be told (`std::fs::exists`).
///
/// # Examples
/// See [`copy`].
///
/// # Errors
/// Permission denied on a parent directory, and the like.
pub async fn try_exists(path: impl AsRef<Path>) -> io::Result<bool> {
    path_op("stat", path.as_ref(), |p| p.try_exists()).await
}
