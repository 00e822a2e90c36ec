//! `ReadPump`: the reading half of a stream transport (TCP, Unix), and its
//! write fast path, native.
//!
//! `boucle._transports.SocketTransport` is Python, written on the loop's
//! readiness API; its reader used to be a Python method that called
//! `sock.recv(256 KiB)` and handed the bytes to the protocol. Two costs
//! dominated an echo round trip there (`strace -c` of the bench server):
//! the 256 KiB `bytes` each `recv` allocates, above glibc's mmap threshold,
//! so an `mmap`, an `mremap` to shrink it and a `munmap` per read, with
//! their page faults; and the `epoll_ctl` that re-arms the fd after every
//! readiness (level-triggered emulation, see `readiness.rs`).
//!
//! The pump is that reader in Rust: it reads with `sock.recv_into` into one
//! buffer the loop keeps (`Loop._read_view`, a `memoryview` of a
//! `bytearray`), copies out exactly the bytes read, and calls the
//! protocol's `data_received` itself, with no Python frame of ours in
//! between. A read that comes back short of the buffer emptied the socket's
//! queue: the pump tells the loop, which then skips the re-arm. Everything
//! off the data path (end of stream, errors, a `BufferedProtocol`) goes back
//! to the transport's Python methods, so the semantics stay in one place:
//! `_conn_lost`, `_buffered`, `_protocol`, `_read_ready` (the buffered
//! path), `_read_eof` and `_fatal_error(exc, message)`.
//!
//! The pump also holds the transport's `write` (the transport makes the
//! bound method its instance attribute, so `transport.write(data)` runs no
//! Python frame of ours): `bytes` written while the transport's
//! `_write_fast` holds (nothing buffered, no `write_eof`, no `sendfile`, a
//! live connection) go straight to `sock.send`; a partial send goes on in
//! `_write_rest`, every other case in the Python `_write_py`. About 3 % of
//! an echo round trip (`tcp_echo_protocol`, 0.91x to 0.94x uvloop).

use std::os::fd::RawFd;

use pyo3::exceptions::{PyBlockingIOError, PyInterruptedError, PyKeyboardInterrupt, PySystemExit};
use pyo3::intern;
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyDict, PySlice, PyString};
use pyo3::{PyTraverseError, PyVisit};

use crate::core::LoopCore;

/// The reader callback of one stream transport (see the module docs).
#[pyclass(frozen, module = "boucle._boucle")]
pub struct ReadPump {
    core: Py<LoopCore>,
    transport: Py<PyAny>,
    /// The transport's instance `__dict__`, where its state attributes
    /// (`_conn_lost`, `_buffered`, `_protocol`, `_write_fast`) live: read
    /// there, a lookup costs one dict probe rather than a generic getattr
    /// (which first searches the class's MRO for a descriptor). `None` for
    /// an object without one: plain getattr then.
    attrs: Option<Py<PyDict>>,
    /// `sock.recv_into`.
    recv_into: Py<PyAny>,
    /// `sock.send`.
    send: Py<PyAny>,
    /// The loop's read buffer.
    view: Py<PyAny>,
    /// Its length: a read this long may have left data behind.
    capacity: usize,
    fd: RawFd,
}

#[pymethods]
impl ReadPump {
    /// A pump for `transport`, reading `sock` into `view` (a writable,
    /// non-empty `memoryview` the loop keeps for all its pumps).
    #[new]
    fn new(
        core: Py<LoopCore>,
        transport: Py<PyAny>,
        sock: &Bound<'_, PyAny>,
        view: &Bound<'_, PyAny>,
    ) -> PyResult<ReadPump> {
        let py = sock.py();
        let capacity = view.len()?;
        if capacity == 0 {
            return Err(pyo3::exceptions::PyValueError::new_err(
                "ReadPump needs a non-empty buffer",
            ));
        }
        let attrs = transport
            .bind(py)
            .getattr(intern!(py, "__dict__"))
            .ok()
            .and_then(|d| d.cast_into_exact::<PyDict>().ok())
            .map(Bound::unbind);
        Ok(ReadPump {
            core,
            attrs,
            transport,
            recv_into: sock.getattr(intern!(py, "recv_into"))?.unbind(),
            send: sock.getattr(intern!(py, "send"))?.unbind(),
            view: view.clone().unbind(),
            capacity,
            fd: sock.call_method0(intern!(py, "fileno"))?.extract()?,
        })
    }

    /// One readiness of the socket: one read, handed to the protocol.
    fn __call__(&self, py: Python<'_>) -> PyResult<()> {
        let transport = self.transport.bind(py);
        if self
            .attr(transport, intern!(py, "_conn_lost"))?
            .is_truthy()?
        {
            return Ok(());
        }
        if self
            .attr(transport, intern!(py, "_buffered"))?
            .is_truthy()?
        {
            // A BufferedProtocol reads into its own buffer: the Python path.
            transport.call_method0(intern!(py, "_read_ready"))?;
            return Ok(());
        }
        let view = self.view.bind(py);
        let n: usize = match self.recv_into.bind(py).call1((view,)) {
            Ok(n) => n.extract()?,
            Err(e) if would_block(py, &e) => return Ok(()),
            Err(e) => {
                return fatal(py, transport, e, "Fatal read error on socket transport");
            }
        };
        if n == 0 {
            transport.call_method0(intern!(py, "_read_eof"))?;
            return Ok(());
        }
        if n < self.capacity {
            self.core.get().io_drained(self.fd);
        }
        let slice = PySlice::new(py, 0, n as isize, 1);
        let data = view.get_item(slice)?.call_method0(intern!(py, "tobytes"))?;
        let protocol = self.attr(transport, intern!(py, "_protocol"))?;
        match protocol.call_method1(intern!(py, "data_received"), (data,)) {
            Ok(_) => Ok(()),
            Err(e) => fatal(
                py,
                transport,
                e,
                "Fatal error: protocol.data_received() call failed.",
            ),
        }
    }

    /// The transport's `write` (the transport makes this bound method its
    /// instance attribute `write`): `bytes` written while nothing is
    /// buffered go to `sock.send` from here, with no Python frame of ours;
    /// a partial send, a send error and every other case (another
    /// bytes-like type, an empty write, after `write_eof`, during
    /// `sendfile`, a lost connection) go to the transport's Python
    /// methods `_write_rest(data, sent)` and `_write_py(data)`.
    fn write(&self, py: Python<'_>, data: &Bound<'_, PyAny>) -> PyResult<()> {
        let transport = self.transport.bind(py);
        let Ok(bytes) = data.cast_exact::<PyBytes>() else {
            return transport
                .call_method1(intern!(py, "_write_py"), (data,))
                .map(drop);
        };
        let len = bytes.as_bytes().len();
        if len == 0
            || !self
                .attr(transport, intern!(py, "_write_fast"))?
                .is_truthy()?
        {
            return transport
                .call_method1(intern!(py, "_write_py"), (data,))
                .map(drop);
        }
        let sent: usize = match self.send.bind(py).call1((data,)) {
            Ok(n) => n.extract()?,
            Err(e) if would_block(py, &e) => 0,
            Err(e) => {
                return fatal(py, transport, e, "Fatal write error on socket transport");
            }
        };
        if sent == len {
            return Ok(());
        }
        transport
            .call_method1(intern!(py, "_write_rest"), (data, sent))
            .map(drop)
    }

    fn __traverse__(&self, visit: PyVisit<'_>) -> Result<(), PyTraverseError> {
        visit.call(&self.core)?;
        visit.call(&self.transport)?;
        if let Some(attrs) = &self.attrs {
            visit.call(attrs)?;
        }
        visit.call(&self.recv_into)?;
        visit.call(&self.send)?;
        visit.call(&self.view)
    }
}

impl ReadPump {
    /// The transport's attribute `name`: from its instance dict when it is
    /// there, else by getattr.
    fn attr<'py>(
        &self,
        transport: &Bound<'py, PyAny>,
        name: &Bound<'py, PyString>,
    ) -> PyResult<Bound<'py, PyAny>> {
        if let Some(attrs) = &self.attrs {
            if let Some(value) = attrs.bind(transport.py()).get_item(name)? {
                return Ok(value);
            }
        }
        transport.getattr(name)
    }
}

fn would_block(py: Python<'_>, e: &PyErr) -> bool {
    e.is_instance_of::<PyBlockingIOError>(py) || e.is_instance_of::<PyInterruptedError>(py)
}

/// An error ends the connection through the transport (`_fatal_error`),
/// as its Python reader does; `SystemExit` and `KeyboardInterrupt` leave
/// the loop instead.
fn fatal(py: Python<'_>, transport: &Bound<'_, PyAny>, e: PyErr, message: &str) -> PyResult<()> {
    if e.is_instance_of::<PySystemExit>(py) || e.is_instance_of::<PyKeyboardInterrupt>(py) {
        return Err(e);
    }
    transport.call_method1(intern!(py, "_fatal_error"), (e.into_value(py), message))?;
    Ok(())
}
