//! The tokio::fs side of `fs::hash_tree`: the same program as `boucle files`
//! (walk, at most JOBS files at once, size + lines + SHA-256 each, one line
//! per file), written the way tokio's docs suggest, in two flavours:
//!
//! * `tokio-fs`: `tokio::fs::File` read in 64 KiB `read` calls (each one a
//!   blocking-pool hop), hashed in the task, on the multi-thread runtime;
//! * `tokio-blocking`: one `spawn_blocking` per file that opens, reads and
//!   hashes it (the structure `boucle files` uses), for a like-for-like
//!   runtime comparison.
//!
//! Run as `boucle-bench fs-tokio-worker FLAVOUR DIR JOBS`, a fresh process
//! per run like every peer.

use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use sha2::{Digest, Sha256};
use tokio::io::AsyncReadExt;
use tokio::sync::Semaphore;
use tokio::task::JoinSet;

/// One file's line: `SHA256  SIZE  LINES  PATH`.
fn line(hash: &[u8], bytes: u64, lines: u64, path: &Path) -> String {
    let hex: String = hash.iter().map(|b| format!("{b:02x}")).collect();
    format!("{hex}  {bytes}  {lines}  {}\n", path.display())
}

fn newlines(chunk: &[u8]) -> u64 {
    chunk.iter().filter(|&&b| b == b'\n').count() as u64
}

async fn hash_async(path: PathBuf) -> io::Result<String> {
    let mut f = tokio::fs::File::open(&path).await?;
    let mut buf = vec![0u8; 64 * 1024];
    let mut h = Sha256::new();
    let (mut bytes, mut lines) = (0u64, 0u64);
    loop {
        let n = f.read(&mut buf).await?;
        if n == 0 {
            break;
        }
        h.update(&buf[..n]);
        lines += newlines(&buf[..n]);
        bytes += n as u64;
    }
    Ok(line(&h.finalize(), bytes, lines, &path))
}

thread_local! {
    /// Each blocking thread reuses its buffer, as `boucle files` does.
    static BUF: std::cell::RefCell<Vec<u8>> = std::cell::RefCell::new(vec![0; 256 * 1024]);
}

fn hash_sync(path: &Path) -> io::Result<String> {
    BUF.with(|buf| hash_sync_into(path, &mut buf.borrow_mut()))
}

fn hash_sync_into(path: &Path, buf: &mut [u8]) -> io::Result<String> {
    let mut f = std::fs::File::open(path)?;
    let mut h = Sha256::new();
    let (mut bytes, mut lines) = (0u64, 0u64);
    loop {
        let n = f.read(buf)?;
        if n == 0 {
            break;
        }
        h.update(&buf[..n]);
        lines += newlines(&buf[..n]);
        bytes += n as u64;
    }
    Ok(line(&h.finalize(), bytes, lines, path))
}

/// Every regular file under `root`, walked with tokio::fs::read_dir.
async fn walk(root: PathBuf) -> io::Result<Vec<PathBuf>> {
    let mut files = Vec::new();
    let mut stack = vec![root];
    while let Some(dir) = stack.pop() {
        let mut rd = tokio::fs::read_dir(&dir).await?;
        while let Some(e) = rd.next_entry().await? {
            let t = e.file_type().await?;
            if t.is_dir() {
                stack.push(e.path());
            } else if t.is_file() {
                files.push(e.path());
            }
        }
    }
    Ok(files)
}

pub fn main(args: &[String]) -> Result<(), String> {
    let [flavour, dir, jobs] = args else {
        return Err("usage: fs-tokio-worker tokio-fs|tokio-blocking DIR JOBS".into());
    };
    let jobs: usize = jobs.parse().map_err(|_| format!("bad JOBS `{jobs}`"))?;
    let blocking = match flavour.as_str() {
        "tokio-fs" => false,
        "tokio-blocking" => true,
        other => return Err(format!("unknown flavour `{other}`")),
    };
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| e.to_string())?;
    rt.block_on(async move {
        let files = walk(PathBuf::from(dir)).await.map_err(|e| e.to_string())?;
        let permits = Arc::new(Semaphore::new(jobs));
        let mut set = JoinSet::new();
        let mut out = io::BufWriter::new(io::stdout().lock());
        for path in files {
            let permit = permits.clone().acquire_owned().await.expect("open");
            set.spawn(async move {
                let r = if blocking {
                    tokio::task::spawn_blocking(move || hash_sync(&path))
                        .await
                        .expect("no panic")
                } else {
                    hash_async(path).await
                };
                drop(permit);
                r
            });
            while let Some(done) = set.try_join_next() {
                let text = done.expect("no panic").map_err(|e| e.to_string())?;
                out.write_all(text.as_bytes()).map_err(|e| e.to_string())?;
            }
        }
        while let Some(done) = set.join_next().await {
            let text = done.expect("no panic").map_err(|e| e.to_string())?;
            out.write_all(text.as_bytes()).map_err(|e| e.to_string())?;
        }
        out.flush().map_err(|e| e.to_string())
    })
}
