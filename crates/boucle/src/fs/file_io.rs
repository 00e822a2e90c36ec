//! The machinery of [`File`]: its one blocking job in flight, the
//! read-ahead and write-back buffers, the `poll_*` functions behind every
//! method and trait, and the write-back on drop.
//!
//! State: at most one blocking job in flight (`op`), plus a read-ahead
//! buffer (`rbuf[rpos..]`, bytes the kernel has given and the user has not
//! read) or a write-back buffer (`wbuf`, bytes the user has written and the
//! kernel has not seen), never both. The kernel's file position is ahead of
//! the user's by the unread read-ahead; a write or seek after a read puts it
//! back first (`seek_back`, folded into the next write job).

use std::fmt;
use std::future::Future;
use std::io::{self, Read, Seek, SeekFrom, Write};
use std::pin::Pin;
use std::task::{ready, Context, Poll};

use super::file::{File, Op, WriteDone, CHUNK, MAX_CHUNK};
use super::{pool_error, with_path};
use crate::runtime::blocking;
use crate::runtime::context;

impl File {
    /// Puts the kernel position back to the user's (drops the read-ahead).
    pub(super) async fn drop_read_ahead(&mut self) -> io::Result<()> {
        if self.op.is_some() || !self.rbuf.is_empty() {
            // A relative seek by 0 takes the unread bytes into account.
            self.seek(SeekFrom::Current(0)).await?;
        }
        Ok(())
    }

    /// Forgets the read-ahead, keeping its memory as the spare buffer.
    pub(super) fn clear_read_ahead(&mut self) {
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
    pub(super) fn poll_idle(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
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
    use crate::fs::OpenOptions;

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
