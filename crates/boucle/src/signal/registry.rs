//! Per-loop signal entries: one self-pipe per (loop, signal), written by a
//! process-wide handler and read through the loop's reactor.
//!
//! The handler is signal-hook's self-pipe action (async-signal-safe: one
//! non-blocking `send` of one byte). Every loop that listens to a signal
//! registers its own pipe, so each loop gets every signal; within a loop,
//! the listeners of one signal share the entry. A generation counter
//! coalesces signals: a listener is told "at least one signal since you
//! last looked", as tokio's `Signal` does.

use std::cell::{Cell, RefCell};
use std::io::{self, Read};
use std::rc::{Rc, Weak};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, Wake, Waker};

use mio::Interest;

use super::SignalKind;
use crate::io::{Direction, PollEvented};
use crate::runtime::context;

/// One signal, one loop.
pub(crate) struct Entry {
    io: PollEvented<mio::net::UnixStream>,
    sig_id: signal_hook::SigId,
    /// Bumped each time the pipe was drained with bytes in it.
    generation: Cell<u64>,
    /// Wakes every listener: the reactor holds it as the pipe's reader.
    wake_all: Waker,
    listeners: Arc<WakeAll>,
}

/// A waker that wakes every listener of one entry.
#[derive(Default)]
struct WakeAll(Mutex<Vec<Waker>>);

impl Wake for WakeAll {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        let wakers = std::mem::take(&mut *self.0.lock().unwrap_or_else(|e| e.into_inner()));
        for w in wakers {
            w.wake();
        }
    }
}

thread_local! {
    /// Entries of the loops of this thread: (loop, signal number, entry).
    static ENTRIES: RefCell<Vec<(usize, i32, Weak<Entry>)>> = const { RefCell::new(Vec::new()) };
}

impl Entry {
    /// The running loop's entry for `kind`, created (and the handler
    /// installed) on first use.
    pub(crate) fn get(kind: SignalKind) -> io::Result<Rc<Entry>> {
        let core = context::current();
        let key = Rc::as_ptr(&core) as usize;
        let signum = kind.as_raw();
        let found = ENTRIES.with(|e| {
            let mut entries = e.borrow_mut();
            entries.retain(|(_, _, w)| w.strong_count() > 0);
            entries
                .iter()
                .find(|(k, s, _)| *k == key && *s == signum)
                .and_then(|(_, _, w)| w.upgrade())
        });
        if let Some(entry) = found {
            return Ok(entry);
        }
        let (read, write) = std::os::unix::net::UnixStream::pair()?;
        read.set_nonblocking(true)?;
        let io =
            PollEvented::with_interest(mio::net::UnixStream::from_std(read), Interest::READABLE)?;
        // Takes the write end; closes it on `unregister`.
        let sig_id = signal_hook::low_level::pipe::register(signum, write)?;
        let listeners = Arc::new(WakeAll::default());
        let entry = Rc::new(Entry {
            io,
            sig_id,
            generation: Cell::new(0),
            wake_all: Waker::from(listeners.clone()),
            listeners,
        });
        ENTRIES.with(|e| e.borrow_mut().push((key, signum, Rc::downgrade(&entry))));
        Ok(entry)
    }

    pub(crate) fn generation(&self) -> u64 {
        self.generation.get()
    }

    /// Ready with the generation once it is past `seen`.
    pub(crate) fn poll_past(&self, cx: &mut Context<'_>, seen: u64) -> Poll<u64> {
        if self.generation.get() > seen {
            return Poll::Ready(self.generation.get());
        }
        {
            let mut list = self.listeners.0.lock().unwrap_or_else(|e| e.into_inner());
            if !list.iter().any(|w| w.will_wake(cx.waker())) {
                list.push(cx.waker().clone());
            }
        }
        let mut all = Context::from_waker(&self.wake_all);
        let drained = self.io.poll_io(&mut all, Direction::Read, |s| {
            let mut buf = [0u8; 64];
            let mut total = 0;
            loop {
                match (&*s).read(&mut buf) {
                    Ok(0) => return Ok(total),
                    Ok(n) => total += n,
                    Err(e) if e.kind() == io::ErrorKind::WouldBlock && total > 0 => {
                        return Ok(total)
                    }
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                    Err(e) => return Err(e),
                }
            }
        });
        match drained {
            Poll::Ready(Ok(n)) if n > 0 => {
                self.generation.set(self.generation.get() + 1);
                // The other listeners of this loop see it too.
                self.wake_all.wake_by_ref();
                Poll::Ready(self.generation.get())
            }
            // EOF or an error: the pipe cannot break while the entry
            // lives; report nothing rather than spin.
            Poll::Ready(_) | Poll::Pending => Poll::Pending,
        }
    }
}

impl Drop for Entry {
    fn drop(&mut self) {
        // Removes this loop's action; the process-wide handler stays (the
        // default disposition is not restored: see the module docs).
        signal_hook::low_level::unregister(self.sig_id);
    }
}
