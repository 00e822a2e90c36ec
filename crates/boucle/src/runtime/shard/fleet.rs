//! `Fleet`: what every shard (and the runtime) shares: each shard's
//! handle, the stop request, the live-connection counts that the handoff
//! acceptor balances on, and the exception handler.

use std::sync::Arc;
use std::time::Instant;

use super::control::StopFlag;
use super::error::ShardHandler;
use super::Shard;
use crate::loom_shim::{AtomicBool, AtomicUsize, Ordering};
use crate::runtime::shared::Shared;
use crate::runtime::Handle;

pub(crate) struct Fleet {
    pub(crate) entries: Vec<Entry>,
    pub(crate) loads: Arc<Loads>,
    pub(crate) stop: StopFlag,
    pub(crate) handler: Option<Arc<ShardHandler>>,
    /// Each shard's clock is virtual (their times do not line up).
    pub(crate) virtual_time: bool,
}

/// One shard, as the others see it.
pub(crate) struct Entry {
    pub(crate) shard: Shard,
    pub(crate) handle: Handle,
    pub(crate) shared: Arc<Shared>,
    /// The instant of loop time 0 on this shard (to line traces up).
    pub(crate) origin: Instant,
}

impl Fleet {
    pub(crate) fn len(&self) -> usize {
        self.entries.len()
    }

    /// # Panics
    /// If `shard` is out of range, naming the count.
    #[track_caller]
    pub(crate) fn entry(&self, shard: usize) -> &Entry {
        match self.entries.get(shard) {
            Some(e) => e,
            None => panic!(
                "boucle: no shard {shard}: this runtime has {} (0..{})",
                self.entries.len(),
                self.entries.len()
            ),
        }
    }
}

/// Live connections per shard, and which shards still run. Counts are
/// raised by the acceptor's thread and lowered by the shard that served the
/// connection (or by whoever drops a refused hand-off): atomics, read
/// `Relaxed` because a count is a hint for balancing, never a guarantee.
pub(crate) struct Loads {
    conns: Vec<AtomicUsize>,
    alive: Vec<AtomicBool>,
    next: AtomicUsize,
}

impl Loads {
    pub(crate) fn new(n: usize) -> Loads {
        Loads {
            conns: (0..n).map(|_| AtomicUsize::new(0)).collect(),
            alive: (0..n).map(|_| AtomicBool::new(true)).collect(),
            next: AtomicUsize::new(0),
        }
    }

    pub(crate) fn conns(&self, shard: usize) -> usize {
        self.conns[shard].load(Ordering::Relaxed)
    }

    pub(crate) fn is_alive(&self, shard: usize) -> bool {
        self.alive[shard].load(Ordering::Acquire)
    }

    /// The shard stops: hand it nothing more.
    pub(crate) fn set_dead(&self, shard: usize) {
        self.alive[shard].store(false, Ordering::Release);
    }

    /// The live shard with the fewest live connections; ties go round
    /// robin (the scan starts one further each time), so equal loads
    /// spread evenly. `None` when every shard has stopped.
    pub(crate) fn pick(&self) -> Option<usize> {
        let n = self.conns.len();
        let start = self.next.fetch_add(1, Ordering::Relaxed) % n;
        let mut best: Option<(usize, usize)> = None;
        for k in 0..n {
            let i = (start + k) % n;
            if !self.is_alive(i) {
                continue;
            }
            let c = self.conns(i);
            if best.is_none_or(|(_, b)| c < b) {
                best = Some((i, c));
            }
        }
        best.map(|(i, _)| i)
    }

    /// Counts one connection on `shard` until the guard drops.
    pub(crate) fn acquire(self: &Arc<Self>, shard: usize) -> ConnGuard {
        self.conns[shard].fetch_add(1, Ordering::Relaxed);
        ConnGuard {
            loads: self.clone(),
            shard,
        }
    }
}

/// One live connection counted on its shard; dropped on whatever thread
/// ends it (the shard, or the acceptor when the hand-off was refused).
pub(crate) struct ConnGuard {
    loads: Arc<Loads>,
    shard: usize,
}

impl Drop for ConnGuard {
    fn drop(&mut self) {
        self.loads.conns[self.shard].fetch_sub(1, Ordering::Relaxed);
    }
}
