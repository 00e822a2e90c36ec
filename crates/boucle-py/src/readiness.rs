//! The readiness API: `add_reader`, `add_writer`, `remove_reader`,
//! `remove_writer`, as asyncio's selector loop has them, on the poller the
//! loop already parks in (`poller.rs`).
//!
//! Each watched file descriptor has one entry: the object it was given as
//! (so that `remove_reader(sock)` still finds a socket closed since), and a
//! reader and a writer `Handle`. Adding replaces (and cancels) the previous
//! handle for that direction; removing cancels it and says whether there
//! was one. A ready fd puts its handles in the ready queue, where they run
//! like any `call_soon` callback, in the context copied when they were added.
//!
//! Facts about epoll that shape this file:
//! - asyncio's selectors are level-triggered: a reader runs again in the
//!   next iteration if it left data unread. mio registers edge-triggered.
//!   `EPOLL_CTL_MOD` re-checks an fd's state and queues an event if it is
//!   still ready, so the fds whose handles ran are re-armed before the next
//!   park (after their callbacks ran): level-triggered behaviour for one
//!   `epoll_ctl` per fired fd.
//!   A reader that read its fd dry (a `ReadPump` whose `recv` came back
//!   short of its buffer: a stream socket's queue was emptied) says so, and
//!   its fd is not re-armed: the next byte to arrive is an edge epoll
//!   reports by itself. An echo round trip then costs no `epoll_ctl`. Not
//!   when the event said the peer had closed (or the socket failed): the
//!   end of stream stays to be read after the data, and no new edge would
//!   announce it.
//! - An fd closed while registered leaves the epoll set by itself; its
//!   number may then be reused. A `MOD` that fails with `ENOENT` is retried
//!   as an `ADD`; a `DEL` that fails is ignored (as Python's selectors do).
//! - Regular files cannot be registered (`EPERM`): that error reaches the
//!   caller as `PermissionError`, as in asyncio.

use std::collections::HashMap;
use std::io;
use std::os::fd::RawFd;

use mio::event::Event;
use mio::unix::SourceFd;
use mio::{Interest, Registry, Token};
use pyo3::exceptions::{PyAttributeError, PyOSError, PyTypeError, PyValueError};
use pyo3::intern;
use pyo3::prelude::*;
use pyo3::types::{PyInt, PyTuple};

use crate::core::{Item, LoopCore};
use crate::handle::{Args, Callback, Handle};

/// Which callback of an fd.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Direction {
    Read,
    Write,
}

struct Watch {
    /// What the caller passed (an int or an object with `fileno()`).
    fileobj: Py<PyAny>,
    reader: Option<Py<Handle>>,
    writer: Option<Py<Handle>>,
    /// Its reader read it dry since the last dispatch (see `drained`).
    read_drained: bool,
}

impl Watch {
    fn interest(&self) -> Option<Interest> {
        match (self.reader.is_some(), self.writer.is_some()) {
            (true, true) => Some(Interest::READABLE | Interest::WRITABLE),
            (true, false) => Some(Interest::READABLE),
            (false, true) => Some(Interest::WRITABLE),
            (false, false) => None,
        }
    }

    fn slot(&mut self, dir: Direction) -> &mut Option<Py<Handle>> {
        match dir {
            Direction::Read => &mut self.reader,
            Direction::Write => &mut self.writer,
        }
    }
}

/// Values keyed by fd: in a vector indexed by the fd number for the usual
/// small, dense fds (every readiness event looks one up, and a `HashMap`'s
/// hashing showed in the echo benchmark's profile), in a map above
/// `DENSE_FDS` (a process may have huge fd numbers).
struct FdMap<T> {
    slots: Vec<Option<T>>,
    sparse: HashMap<RawFd, T>,
    len: usize,
}

const DENSE_FDS: usize = 1 << 14;

impl<T> FdMap<T> {
    fn new() -> FdMap<T> {
        FdMap {
            slots: Vec::new(),
            sparse: HashMap::new(),
            len: 0,
        }
    }

    fn len(&self) -> usize {
        self.len
    }

    fn dense(fd: RawFd) -> Option<usize> {
        usize::try_from(fd).ok().filter(|&i| i < DENSE_FDS)
    }

    fn get_mut(&mut self, fd: &RawFd) -> Option<&mut T> {
        match Self::dense(*fd) {
            Some(i) => self.slots.get_mut(i)?.as_mut(),
            None => self.sparse.get_mut(fd),
        }
    }

    /// Sets `fd`'s value.
    fn insert(&mut self, fd: RawFd, value: T) {
        let old = match Self::dense(fd) {
            Some(i) => {
                if i >= self.slots.len() {
                    self.slots.resize_with(i + 1, || None);
                }
                self.slots[i].replace(value)
            }
            None => self.sparse.insert(fd, value),
        };
        if old.is_none() {
            self.len += 1;
        }
    }

    fn remove(&mut self, fd: &RawFd) -> Option<T> {
        let old = match Self::dense(*fd) {
            Some(i) => self.slots.get_mut(i)?.take(),
            None => self.sparse.remove(fd),
        };
        if old.is_some() {
            self.len -= 1;
        }
        old
    }

    fn iter(&self) -> impl Iterator<Item = (RawFd, &T)> {
        self.slots
            .iter()
            .enumerate()
            .filter_map(|(i, v)| Some((RawFd::try_from(i).ok()?, v.as_ref()?)))
            .chain(self.sparse.iter().map(|(&fd, v)| (fd, v)))
    }

    fn drain(&mut self) -> impl Iterator<Item = (RawFd, T)> + '_ {
        self.len = 0;
        self.slots
            .drain(..)
            .enumerate()
            .filter_map(|(i, v)| Some((RawFd::try_from(i).ok()?, v?)))
            .chain(self.sparse.drain())
    }
}

/// Python objects taken out of the table, to drop once the loop's lock is
/// released (dropping one can run any `__del__`).
pub(crate) type Released = Vec<Py<PyAny>>;

/// The watched fds of one loop.
pub(crate) struct IoTable {
    /// A handle on the poller's epoll set (`Registry::try_clone`).
    registry: Registry,
    watches: FdMap<Watch>,
    /// Fds whose handles were queued by the last dispatch, and whether they
    /// must be re-armed even if their reader reads them dry (their writer
    /// ran, or the peer had closed or failed: that state stays readable
    /// after the data is read, and epoll reports it only once): re-armed
    /// before the next park.
    fired: Vec<(RawFd, bool)>,
}

fn token(fd: RawFd) -> Token {
    // fds are non-negative and far below the poller's own tokens.
    Token(fd as usize)
}

impl IoTable {
    pub(crate) fn new(registry: Registry) -> IoTable {
        IoTable {
            registry,
            watches: FdMap::new(),
            fired: Vec::new(),
        }
    }

    /// Number of watched fds.
    pub(crate) fn len(&self) -> usize {
        self.watches.len()
    }

    /// Sets the `dir` handle of `fd`; returns the handle it replaces.
    fn add(
        &mut self,
        fd: RawFd,
        fileobj: Py<PyAny>,
        dir: Direction,
        handle: Py<Handle>,
        released: &mut Released,
    ) -> io::Result<Option<Py<Handle>>> {
        match self.watches.get_mut(&fd) {
            None => {
                let mut watch = Watch {
                    fileobj,
                    reader: None,
                    writer: None,
                    read_drained: false,
                };
                *watch.slot(dir) = Some(handle);
                let interest = watch.interest().expect("one handle is set");
                if let Err(e) = self
                    .registry
                    .register(&mut SourceFd(&fd), token(fd), interest)
                {
                    released.push(watch.fileobj);
                    if let Some(h) = watch.reader.or(watch.writer) {
                        released.push(h.into_any());
                    }
                    return Err(e);
                }
                self.watches.insert(fd, watch);
                Ok(None)
            }
            Some(watch) => {
                let old_fileobj = std::mem::replace(&mut watch.fileobj, fileobj);
                released.push(old_fileobj);
                let old = watch.slot(dir).replace(handle);
                let interest = watch.interest().expect("one handle is set");
                let result = match self
                    .registry
                    .reregister(&mut SourceFd(&fd), token(fd), interest)
                {
                    // Closed and its number reused: a new registration.
                    Err(e) if e.raw_os_error() == Some(rustix::io::Errno::NOENT.raw_os_error()) => {
                        self.registry
                            .register(&mut SourceFd(&fd), token(fd), interest)
                    }
                    other => other,
                };
                if let Err(e) = result {
                    // Undo: the fd keeps what it had.
                    let new = std::mem::replace(watch.slot(dir), old);
                    released.extend(new.map(Py::into_any));
                    return Err(e);
                }
                Ok(old)
            }
        }
    }

    /// Takes the `dir` handle of `fd` out; `None` if it had none.
    fn remove(&mut self, fd: RawFd, dir: Direction, released: &mut Released) -> Option<Py<Handle>> {
        let watch = self.watches.get_mut(&fd)?;
        let old = watch.slot(dir).take();
        match watch.interest() {
            None => {
                // Fails if the fd was closed meanwhile: nothing to undo.
                let _ = self.registry.deregister(&mut SourceFd(&fd));
                let watch = self.watches.remove(&fd).expect("present");
                released.push(watch.fileobj);
            }
            Some(interest) => {
                let _ = self
                    .registry
                    .reregister(&mut SourceFd(&fd), token(fd), interest);
            }
        }
        old
    }

    /// The fd registered as `fileobj` itself (a socket closed since it was
    /// added has no `fileno()` any more).
    fn find_object(&self, py: Python<'_>, fileobj: &Bound<'_, PyAny>) -> Option<RawFd> {
        self.watches
            .iter()
            .find(|(_, w)| w.fileobj.bind(py).is(fileobj))
            .map(|(fd, _)| fd)
    }

    /// Queues the handles of the fds that `events` found ready, as Python's
    /// `EpollSelector` reads them: an error or hang-up wakes both sides.
    pub(crate) fn dispatch<'a>(
        &mut self,
        py: Python<'_>,
        events: impl Iterator<Item = &'a Event>,
        ready: &mut std::collections::VecDeque<Item>,
    ) {
        for event in events {
            let Ok(fd) = RawFd::try_from(event.token().0) else {
                continue; // the poller's waker or timer
            };
            let Some(watch) = self.watches.get_mut(&fd) else {
                continue; // removed since
            };
            let closed = event.is_read_closed() || event.is_error();
            let read = event.is_readable() || closed;
            let write = event.is_writable() || event.is_write_closed() || event.is_error();
            let mut queue = |wanted: bool, handle: &Option<Py<Handle>>| match handle {
                Some(h) if wanted && !h.get().is_cancelled() => {
                    ready.push_back(Item::Soon(h.clone_ref(py)));
                    true
                }
                _ => false,
            };
            let read_queued = queue(read, &watch.reader);
            let write_queued = queue(write, &watch.writer);
            if read_queued || write_queued {
                watch.read_drained = false;
                self.fired.push((fd, write_queued || closed));
            }
        }
    }

    /// `fd`'s reader has just read it dry: no re-arm is needed for it (a
    /// stream socket reports the next data as a new edge).
    pub(crate) fn drained(&mut self, fd: RawFd) {
        if let Some(watch) = self.watches.get_mut(&fd) {
            watch.read_drained = true;
        }
    }

    /// Re-arms the fds whose handles ran, so that one still ready is
    /// reported again (level-triggered, as asyncio's selectors); a reader
    /// that read its fd dry needs none, unless the fd must be re-armed
    /// anyway (see `fired`).
    pub(crate) fn rearm(&mut self) {
        for (fd, must) in self.fired.drain(..) {
            let Some(watch) = self.watches.get_mut(&fd) else {
                continue;
            };
            if std::mem::take(&mut watch.read_drained) && !must {
                continue;
            }
            if let Some(interest) = watch.interest() {
                // An fd closed by its callback is gone from the set: fine.
                let _ = self
                    .registry
                    .reregister(&mut SourceFd(&fd), token(fd), interest);
            }
        }
    }

    /// Forgets every fd (the loop is closing).
    pub(crate) fn clear(&mut self, released: &mut Released) {
        for (fd, watch) in self.watches.drain() {
            let _ = self.registry.deregister(&mut SourceFd(&fd));
            released.push(watch.fileobj);
            released.extend(watch.reader.map(Py::into_any));
            released.extend(watch.writer.map(Py::into_any));
        }
        self.fired.clear();
    }
}

/// The fd of `fileobj` as Python's `selectors` computes it: an int, or
/// `int(fileobj.fileno())`; `ValueError` for anything else or a negative fd.
fn fileobj_to_fd(fileobj: &Bound<'_, PyAny>) -> PyResult<RawFd> {
    let py = fileobj.py();
    let invalid = || PyValueError::new_err(format!("Invalid file object: {}", repr(fileobj)));
    let number = if fileobj.is_instance_of::<PyInt>() {
        fileobj.clone()
    } else {
        match fileobj
            .call_method0(intern!(py, "fileno"))
            .and_then(|n| py.get_type::<PyInt>().call1((n,)))
        {
            Ok(n) => n,
            Err(e)
                if e.is_instance_of::<PyAttributeError>(py)
                    || e.is_instance_of::<PyTypeError>(py)
                    || e.is_instance_of::<PyValueError>(py) =>
            {
                return Err(invalid())
            }
            Err(e) => return Err(e),
        }
    };
    let fd: i64 = number.extract().map_err(|_| invalid())?;
    match RawFd::try_from(fd) {
        Ok(fd) if fd >= 0 => Ok(fd),
        _ => Err(PyValueError::new_err(format!(
            "Invalid file descriptor: {fd}"
        ))),
    }
}

/// `OSError(errno, strerror)`, as Python raises it (so `EPERM` is a
/// `PermissionError` and `.errno` is set).
fn os_error(e: io::Error) -> PyErr {
    match e.raw_os_error() {
        Some(n) => {
            // io::Error's text is strerror's, then " (os error N)".
            let text = e.to_string();
            let text = text.split(" (os error").next().unwrap_or(&text).to_owned();
            PyOSError::new_err((n, text))
        }
        None => e.into(),
    }
}

/// `repr(obj)`, or `?` when its `__repr__` raises.
pub(crate) fn repr(obj: &Bound<'_, PyAny>) -> String {
    obj.repr()
        .map(|r| r.to_string())
        .unwrap_or_else(|_| String::from("?"))
}

impl LoopCore {
    /// `add_reader` / `add_writer`: watches `fileobj` and returns the new
    /// handle (the one it replaces is cancelled).
    pub(crate) fn add_io(
        slf: &Bound<'_, Self>,
        fileobj: &Bound<'_, PyAny>,
        dir: Direction,
        callback: &Bound<'_, PyAny>,
        args: &Bound<'_, PyTuple>,
    ) -> PyResult<Py<Handle>> {
        let py = slf.py();
        let core = slf.get();
        core.check_open()?;
        let fd = fileobj_to_fd(fileobj)?;
        let cb = Callback::new(py, callback.clone().unbind(), Args::from_tuple(args)?, None)?;
        let handle = Py::new(py, Handle::new(cb))?;
        let mut released = Released::new();
        let result = {
            let mut l = core.local();
            let result = l.io.add(
                fd,
                fileobj.clone().unbind(),
                dir,
                handle.clone_ref(py),
                &mut released,
            );
            core.set_io_sources(l.io.len());
            result
        };
        drop(released);
        if let Some(old) = result.map_err(os_error)? {
            old.get().cancel();
        }
        Ok(handle)
    }

    /// `fd`'s reader has read it dry: it needs no re-arm (`IoTable::drained`).
    pub(crate) fn io_drained(&self, fd: RawFd) {
        self.local().io.drained(fd);
    }

    /// `remove_reader` / `remove_writer`: whether there was a callback.
    pub(crate) fn remove_io(
        slf: &Bound<'_, Self>,
        fileobj: &Bound<'_, PyAny>,
        dir: Direction,
    ) -> PyResult<bool> {
        let py = slf.py();
        let core = slf.get();
        if core.is_closed() {
            return Ok(false);
        }
        let fd = match fileobj_to_fd(fileobj) {
            Ok(fd) => fd,
            Err(e) => match core.local().io.find_object(py, fileobj) {
                Some(fd) => fd,
                None => return Err(e),
            },
        };
        let mut released = Released::new();
        let old = {
            let mut l = core.local();
            let old = l.io.remove(fd, dir, &mut released);
            core.set_io_sources(l.io.len());
            old
        };
        drop(released);
        Ok(match old {
            Some(h) => {
                h.get().cancel();
                true
            }
            None => false,
        })
    }
}
