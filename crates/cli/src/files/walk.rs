//! The walk: every PATH argument, directories recursively, on
//! `boucle::fs` (`read_dir` streams its entries in batches from the
//! blocking pool). Regular files go to the workers' queue.
//!
//! Symbolic links: a PATH argument is followed whatever it is; inside a
//! walk, a link to a file is followed (its target is hashed, as
//! `sha256sum` would), a link to a directory only with `--follow-links`,
//! and a broken link is an error line. With `--follow-links`, a directory
//! that is one of its own ancestors (by device and inode) is a directory
//! loop: an error line, not walked again. FIFOs, sockets and devices met
//! inside a walk are skipped and counted (opening a FIFO would wait for a
//! writer); named as a PATH argument they are an error line.

use std::cell::RefCell;
use std::io;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::rc::Rc;

use boucle::stream::StreamExt;
use boucle::sync::Queue;

use super::hash::special_kind;
use super::Report;

/// A directory being walked, and the chain of directories above it.
struct Ancestor {
    id: (u64, u64),
    path: PathBuf,
    parent: Option<Rc<Ancestor>>,
}

impl Ancestor {
    fn find(self: &Rc<Self>, id: (u64, u64)) -> Option<&Path> {
        let mut at = Some(self);
        while let Some(a) = at {
            if a.id == id {
                return Some(&a.path);
            }
            at = a.parent.as_ref();
        }
        None
    }
}

fn dir_id(meta: &std::fs::Metadata) -> (u64, u64) {
    (meta.dev(), meta.ino())
}

/// The message for a path that `stat` (following links) refused.
async fn stat_error(path: &Path, e: &io::Error) -> String {
    let is_link = boucle::fs::symlink_metadata(path)
        .await
        .is_ok_and(|m| m.file_type().is_symlink());
    match e.kind() {
        io::ErrorKind::NotFound if is_link => "broken symbolic link".to_string(),
        _ if e.raw_os_error_in_chain() == Some(40) => "symbolic link loop".to_string(),
        _ => os_message(e),
    }
}

/// The OS error without boucle::fs's "op path: " prefix (the line names
/// the path already).
pub fn os_message(e: &io::Error) -> String {
    match e.get_ref().and_then(|inner| inner.source()) {
        Some(os) => os.to_string(),
        None => e.to_string(),
    }
}

trait RawOsInChain {
    fn raw_os_error_in_chain(&self) -> Option<i32>;
}

impl RawOsInChain for io::Error {
    fn raw_os_error_in_chain(&self) -> Option<i32> {
        self.raw_os_error().or_else(|| {
            self.get_ref()
                .and_then(|inner| inner.source())
                .and_then(|os| os.downcast_ref::<io::Error>())
                .and_then(io::Error::raw_os_error)
        })
    }
}

pub struct Walker {
    pub follow_links: bool,
    pub queue: Rc<Queue<PathBuf>>,
    pub report: Rc<RefCell<Report>>,
}

impl Walker {
    fn error(&self, path: &Path, msg: &str) {
        self.report.borrow_mut().error(path, msg);
    }

    async fn send(&self, path: PathBuf) {
        // The queue is shut down only after the walk.
        let _ = self.queue.put(path).await;
    }

    /// Walks every root, then shuts the queue down (the workers drain it).
    pub async fn run(self, roots: Vec<PathBuf>) {
        for root in roots {
            match boucle::fs::metadata(&root).await {
                Err(e) => {
                    let msg = stat_error(&root, &e).await;
                    self.error(&root, &msg);
                }
                Ok(m) if m.is_file() => self.send(root).await,
                Ok(m) if m.is_dir() => {
                    let top = Rc::new(Ancestor {
                        id: dir_id(&m),
                        path: root.clone(),
                        parent: None,
                    });
                    self.walk_tree(top).await;
                }
                Ok(m) => {
                    let msg = format!("skipped: {}", special_kind(m.file_type()));
                    self.error(&root, &msg);
                }
            }
        }
        self.queue.shutdown(false);
    }

    /// Depth first, one directory read at a time (the hashing is what runs
    /// concurrently).
    async fn walk_tree(&self, top: Rc<Ancestor>) {
        let mut stack = vec![top];
        while let Some(dir) = stack.pop() {
            let mut entries = match boucle::fs::read_dir(&dir.path).await {
                Ok(e) => e,
                Err(e) => {
                    self.error(&dir.path, &os_message(&e));
                    continue;
                }
            };
            while let Some(entry) = entries.next().await {
                let entry = match entry {
                    Ok(e) => e,
                    Err(e) => {
                        self.error(&dir.path, &os_message(&e));
                        continue;
                    }
                };
                let path = entry.path();
                let file_type = match entry.file_type() {
                    Ok(t) => t,
                    Err(e) => {
                        self.error(&path, &os_message(&e));
                        continue;
                    }
                };
                if file_type.is_file() {
                    self.send(path).await;
                } else if file_type.is_dir() {
                    if let Some(sub) = self.enter(&dir, path, None).await {
                        stack.push(sub);
                    }
                } else if file_type.is_symlink() {
                    match boucle::fs::metadata(&path).await {
                        Err(e) => {
                            let msg = stat_error(&path, &e).await;
                            self.error(&path, &msg);
                        }
                        Ok(m) if m.is_file() => self.send(path).await,
                        Ok(m) if m.is_dir() && self.follow_links => {
                            if let Some(sub) = self.enter(&dir, path, Some(m)).await {
                                stack.push(sub);
                            }
                        }
                        Ok(m) if m.is_dir() => self.report.borrow_mut().tally.skipped_links += 1,
                        Ok(_) => self.report.borrow_mut().tally.skipped_special += 1,
                    }
                } else {
                    self.report.borrow_mut().tally.skipped_special += 1;
                }
            }
        }
    }

    /// The directory `path` under `parent`, unless it is a loop. Without
    /// `--follow-links` no loop is possible, and no `stat` is made.
    async fn enter(
        &self,
        parent: &Rc<Ancestor>,
        path: PathBuf,
        meta: Option<std::fs::Metadata>,
    ) -> Option<Rc<Ancestor>> {
        let id = if self.follow_links {
            let meta = match meta {
                Some(m) => m,
                None => match boucle::fs::metadata(&path).await {
                    Ok(m) => m,
                    Err(e) => {
                        self.error(&path, &os_message(&e));
                        return None;
                    }
                },
            };
            let id = dir_id(&meta);
            if let Some(first) = parent.find(id) {
                let msg = format!(
                    "directory loop: the same directory as {}, already being walked",
                    super::report::escape_path(first)
                );
                self.error(&path, &msg);
                return None;
            }
            id
        } else {
            (0, 0)
        };
        Some(Rc::new(Ancestor {
            id,
            path,
            parent: Some(parent.clone()),
        }))
    }
}
