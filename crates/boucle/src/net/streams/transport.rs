//! The transport under a [`StreamWriter`](super::StreamWriter): its write
//! queue, its state (open, end of stream pending or sent, closing, closed),
//! the error that ended it, and the flusher task.
//!
//! `write` tries the socket at once when nothing is queued (as asyncio's
//! transport does) and queues the rest. A flusher task, spawned only when
//! bytes are queued, writes the queue out as the socket allows, then does
//! what waited for the queue (`write_eof`, `close`). Past the high-water
//! mark the writer is *paused* until the queue falls to the low-water mark;
//! every change a waiter may care about (resumed, flushed, failed, closed)
//! wakes the wait list, whose futures re-check their own condition.

use std::cell::{Cell, RefCell};
use std::io;
use std::net::Shutdown;
use std::rc::Rc;
use std::task::{ready, Context, Poll};

use super::conn::Conn;
use super::writer::{DEFAULT_HIGH_WATER, DEFAULT_LOW_WATER};
use crate::net::wake_set::WakeSet;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum State {
    Open,
    /// `write_eof` once the queue is flushed.
    EofPending,
    EofSent,
    /// `close` once the queue is flushed.
    Closing,
    Closed,
}

/// An I/O error kept to report to every later caller.
#[derive(Debug, Clone, Copy)]
pub(super) struct StoredError {
    kind: io::ErrorKind,
    os: Option<i32>,
    after_close: bool,
}

impl StoredError {
    fn from_io(e: &io::Error) -> StoredError {
        StoredError {
            kind: e.kind(),
            os: e.raw_os_error(),
            after_close: false,
        }
    }

    pub(super) fn to_io(self) -> io::Error {
        if self.after_close {
            return io::Error::new(
                io::ErrorKind::BrokenPipe,
                "write after close() or write_eof() on a StreamWriter",
            );
        }
        match self.os {
            Some(code) => io::Error::from_raw_os_error(code),
            None => io::Error::from(self.kind),
        }
    }
}

/// The write queue: `data[head..]` is pending.
#[derive(Default)]
pub(super) struct WriteQueue {
    data: Vec<u8>,
    head: usize,
}

impl WriteQueue {
    pub(super) fn len(&self) -> usize {
        self.data.len() - self.head
    }

    fn pending(&self) -> &[u8] {
        &self.data[self.head..]
    }

    pub(super) fn push(&mut self, bytes: &[u8]) {
        if self.head > 0 && self.head >= self.data.len() / 2 {
            self.data.drain(..self.head);
            self.head = 0;
        }
        self.data.extend_from_slice(bytes);
    }

    fn consume(&mut self, n: usize) {
        self.head += n;
        if self.head == self.data.len() {
            self.data.clear();
            self.head = 0;
        }
    }

    fn clear(&mut self) {
        self.data.clear();
        self.head = 0;
    }
}

pub(super) struct Transport {
    pub(super) conn: Rc<Conn>,
    pub(super) queue: RefCell<WriteQueue>,
    pub(super) high: Cell<usize>,
    pub(super) low: Cell<usize>,
    pub(super) paused: Cell<bool>,
    pub(super) flushing: Cell<bool>,
    pub(super) state: Cell<State>,
    pub(super) error: Cell<Option<StoredError>>,
    pub(super) waiters: WakeSet,
}

impl Transport {
    pub(super) fn new(conn: Rc<Conn>) -> Transport {
        Transport {
            conn,
            queue: RefCell::new(WriteQueue::default()),
            high: Cell::new(DEFAULT_HIGH_WATER),
            low: Cell::new(DEFAULT_LOW_WATER),
            paused: Cell::new(false),
            flushing: Cell::new(false),
            state: Cell::new(State::Open),
            error: Cell::new(None),
            waiters: WakeSet::default(),
        }
    }
}

impl Transport {
    pub(super) fn accepts_writes(&self) -> bool {
        if self.error.get().is_some() {
            return false;
        }
        if self.state.get() != State::Open {
            self.error.set(Some(StoredError {
                kind: io::ErrorKind::BrokenPipe,
                os: None,
                after_close: true,
            }));
            return false;
        }
        true
    }

    pub(super) fn write(self: &Rc<Self>, mut data: &[u8], direct: bool) {
        if data.is_empty() || !self.accepts_writes() {
            return;
        }
        if direct && !self.flushing.get() && self.queue.borrow().len() == 0 {
            loop {
                match self.conn.try_write(data) {
                    Ok(n) => {
                        data = &data[n..];
                        if data.is_empty() {
                            return;
                        }
                    }
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                    Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                    Err(e) => {
                        self.fail(&e);
                        return;
                    }
                }
            }
        }
        self.queue.borrow_mut().push(data);
        self.after_queue();
    }

    /// Bytes were queued: update the pause state, start the flusher.
    pub(super) fn after_queue(self: &Rc<Self>) {
        self.update_pause();
        if self.queue.borrow().len() > 0 {
            self.ensure_flusher();
        }
    }

    pub(super) fn update_pause(&self) {
        let len = self.queue.borrow().len();
        if len > self.high.get() {
            self.paused.set(true);
        } else if self.paused.get() && len <= self.low.get() {
            self.paused.set(false);
            self.waiters.wake_all();
        }
    }

    pub(super) fn ensure_flusher(self: &Rc<Self>) {
        if self.flushing.get() || !crate::runtime::context::is_running() {
            return;
        }
        self.flushing.set(true);
        let shared = self.clone();
        let flusher = crate::task::Builder::new()
            .name("boucle stream writer flush")
            .spawn(async move {
                std::future::poll_fn(|cx| shared.poll_flush_queue(cx)).await;
                shared.flushing.set(false);
                shared.after_flush();
            });
        drop(flusher);
    }

    /// Writes the queue out. Ready when it is empty or the connection
    /// failed.
    fn poll_flush_queue(&self, cx: &mut Context<'_>) -> Poll<()> {
        loop {
            let result = {
                let q = self.queue.borrow();
                if q.len() == 0 || self.error.get().is_some() {
                    return Poll::Ready(());
                }
                ready!(self.conn.poll_write(cx, q.pending()))
            };
            match result {
                Ok(0) => {
                    self.fail(&io::ErrorKind::WriteZero.into());
                    return Poll::Ready(());
                }
                Ok(n) => {
                    self.queue.borrow_mut().consume(n);
                    self.update_pause();
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => {
                    self.fail(&e);
                    return Poll::Ready(());
                }
            }
        }
    }

    /// The queue is empty (or the connection failed): do what waited for
    /// it, and tell the waiters.
    fn after_flush(&self) {
        match self.state.get() {
            State::EofPending => {
                self.state.set(State::EofSent);
                if let Err(e) = self.conn.shutdown(Shutdown::Write) {
                    self.fail(&e);
                }
            }
            State::Closing => self.finish_close(),
            _ => {}
        }
        self.waiters.wake_all();
    }

    pub(super) fn finish_close(&self) {
        let _ = self.conn.shutdown(Shutdown::Both);
        self.state.set(State::Closed);
        self.waiters.wake_all();
    }

    pub(super) fn write_eof(&self) -> io::Result<()> {
        if self.state.get() != State::Open {
            return Ok(());
        }
        if self.queue.borrow().len() == 0 && !self.flushing.get() {
            self.state.set(State::EofSent);
            self.conn.shutdown(Shutdown::Write)
        } else {
            self.state.set(State::EofPending);
            Ok(())
        }
    }

    /// The connection failed: keep the error, drop the queue, wake all.
    fn fail(&self, e: &io::Error) {
        if self.error.get().is_none() {
            self.error.set(Some(StoredError::from_io(e)));
        }
        self.queue.borrow_mut().clear();
        self.paused.set(false);
        if self.state.get() == State::Closing {
            self.state.set(State::Closed);
        }
        self.waiters.wake_all();
    }

    pub(super) fn error(&self) -> Option<io::Error> {
        self.error.get().map(StoredError::to_io)
    }
}
