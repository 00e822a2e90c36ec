//! `OpenOptions`: how to open a file (std's builder, opened on the pool).

use std::io;
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;

use super::{asyncify, with_path, File};

/// Options for opening a file, as `std::fs::OpenOptions`; `open` runs on
/// the blocking pool.
///
/// # Examples
///
/// ```
/// use boucle::fs::OpenOptions;
///
/// boucle::run(async {
///     let p = std::env::temp_dir().join(format!("boucle-append-{}", std::process::id()));
///     for word in ["un ", "deux"] {
///         let mut f = OpenOptions::new().append(true).create(true).open(&p).await.unwrap();
///         f.write_all(word.as_bytes()).await.unwrap();
///         f.flush().await.unwrap();
///     }
///     assert_eq!(boucle::fs::read_to_string(&p).await.unwrap(), "un deux");
///     boucle::fs::remove_file(&p).await.unwrap();
/// });
/// ```
#[derive(Debug, Clone)]
#[must_use = "OpenOptions does nothing until .open(path) is awaited"]
pub struct OpenOptions {
    std: std::fs::OpenOptions,
}

impl Default for OpenOptions {
    fn default() -> Self {
        OpenOptions::new()
    }
}

impl OpenOptions {
    /// No access at all: set at least one of `read`, `write`, `append`.
    pub fn new() -> OpenOptions {
        OpenOptions {
            std: std::fs::OpenOptions::new(),
        }
    }

    /// Open for reading.
    pub fn read(mut self, on: bool) -> OpenOptions {
        self.std.read(on);
        self
    }

    /// Open for writing.
    pub fn write(mut self, on: bool) -> OpenOptions {
        self.std.write(on);
        self
    }

    /// Every write goes to the end of the file (`O_APPEND`).
    pub fn append(mut self, on: bool) -> OpenOptions {
        self.std.append(on);
        self
    }

    /// Truncate the file to 0 bytes on opening (needs `write`).
    pub fn truncate(mut self, on: bool) -> OpenOptions {
        self.std.truncate(on);
        self
    }

    /// Create the file if it does not exist (needs `write` or `append`).
    pub fn create(mut self, on: bool) -> OpenOptions {
        self.std.create(on);
        self
    }

    /// Create the file, failing if it exists (`O_EXCL`).
    pub fn create_new(mut self, on: bool) -> OpenOptions {
        self.std.create_new(on);
        self
    }

    /// The permission bits of a created file (default `0o666`, less the
    /// umask).
    pub fn mode(mut self, mode: u32) -> OpenOptions {
        self.std.mode(mode);
        self
    }

    /// Extra `open(2)` flags (`O_NOFOLLOW`, `O_DIRECT`, ...).
    pub fn custom_flags(mut self, flags: i32) -> OpenOptions {
        self.std.custom_flags(flags);
        self
    }

    /// Opens `path` with these options.
    ///
    /// # Errors
    /// As `open(2)`, with the path in the message.
    ///
    /// # Panics
    /// Outside a running loop.
    pub async fn open(&self, path: impl AsRef<Path>) -> io::Result<File> {
        let path = path.as_ref().to_path_buf();
        let std = self.std.clone();
        let p = path.clone();
        let file = asyncify("open", &path, move || {
            std.open(&p).map_err(|e| with_path("open", &p, e))
        })
        .await?;
        Ok(File::from_std(file, path))
    }
}
