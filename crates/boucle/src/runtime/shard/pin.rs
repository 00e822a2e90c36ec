//! Pinning a shard's thread to one core (`sched_setaffinity(2)`).
//!
//! Shard `i` goes to the `i`-th core this process may run on (its affinity
//! mask, which containers and `taskset` narrow), wrapping around when there
//! are more shards than cores. When the OS refuses (a seccomp filter, a
//! mask that changed under us), the shard runs unpinned and one line on
//! stderr says so, once per process.

use std::io;

// A once-per-process flag, not a modelled path: std's atomic even under loom.
use std::sync::atomic::{AtomicBool, Ordering};

/// The cores this process may run on, in order (empty if unknown).
pub(crate) fn allowed_cpus() -> Vec<usize> {
    match rustix::thread::sched_getaffinity(None) {
        Ok(set) => (0..rustix::thread::CpuSet::MAX_CPU)
            .filter(|&c| set.is_set(c))
            .collect(),
        Err(_) => Vec::new(),
    }
}

/// Pins the calling thread to `cpu`.
pub(crate) fn pin_current(cpu: usize) -> io::Result<()> {
    let mut set = rustix::thread::CpuSet::new();
    set.set(cpu);
    rustix::thread::sched_setaffinity(None, &set)?;
    Ok(())
}

/// Pins the calling thread to `cpu` if there is one; the core it runs on,
/// or `None` (unpinned, said once on stderr when the OS refused).
pub(crate) fn try_pin(cpu: Option<usize>) -> Option<usize> {
    let cpu = cpu?;
    match pin_current(cpu) {
        Ok(()) => Some(cpu),
        Err(e) => {
            warn_once(&e);
            None
        }
    }
}

fn warn_once(e: &io::Error) {
    static WARNED: AtomicBool = AtomicBool::new(false);
    if !WARNED.swap(true, Ordering::Relaxed) {
        eprintln!("boucle: cannot pin shard threads to cores ({e}); running them unpinned");
    }
}
