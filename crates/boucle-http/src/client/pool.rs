//! The connection pool: keep-alive HTTP/1.1 connections and shared HTTP/2
//! connections, with aiohttp's two caps.
//!
//! * **Slots.** Every open connection (being opened, in use, idle, or a
//!   shared HTTP/2 one) holds one slot of its host and one of the pool.
//!   A host has at most `limit_per_host` slots, the pool `limit` (0: no
//!   cap). At the total cap, an idle connection of another host is closed
//!   to make room.
//! * **Waiters.** A checkout that finds no idle connection and no free
//!   slot waits in its host's FIFO queue. Whatever frees up goes straight
//!   to a waiter: an HTTP/1.1 connection that finished its response goes
//!   to the first waiter of its host; a freed slot to the oldest waiter
//!   that may use it (its host under its cap). Nothing is left lying free
//!   while someone waits, so a newcomer cannot overtake the queue.
//! * **Cancel safety.** A waiter dropped after it was handed a
//!   connection or a slot hands it on (the drop runs the same release).
//! * **Idle.** Idle connections are used last-in first-out (the warmest
//!   socket), dropped after `idle_timeout` or when hyper reports them
//!   closed (the server hung up), and at most `max_idle_per_host` are kept.
//!
//! Everything is loop-local (`Rc`, `RefCell`): a `Client` is `!Send`, so
//! the compiler keeps the pool on its loop's thread.

use std::cell::{Cell, RefCell};
use std::collections::{HashMap, VecDeque};
use std::future::Future;
use std::pin::Pin;
use std::rc::{Rc, Weak};
use std::task::{Context, Poll, Waker};
use std::time::{Duration, Instant};

use hyper::client::conn::{http1, http2};

use super::ReqBody;

/// Which origin a connection goes to.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub(crate) struct Key {
    pub(crate) https: bool,
    pub(crate) host: String,
    pub(crate) port: u16,
}

impl std::fmt::Display for Key {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.host.contains(':') {
            write!(f, "[{}]:{}", self.host, self.port)
        } else {
            write!(f, "{}:{}", self.host, self.port)
        }
    }
}

/// The sending half of a connection.
pub(crate) enum Sender {
    H1(http1::SendRequest<ReqBody>),
    H2(http2::SendRequest<ReqBody>),
}

/// The pool's limits.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Limits {
    pub(crate) limit: usize,
    pub(crate) per_host: usize,
    pub(crate) max_idle_per_host: usize,
    pub(crate) idle_timeout: Option<Duration>,
}

/// What a waiter was handed.
enum Grant {
    Conn(http1::SendRequest<ReqBody>),
    Slot,
    /// Look again (an HTTP/2 connection appeared, or its connect failed).
    Retry,
}

struct Waiter {
    seq: u64,
    grant: RefCell<Option<Grant>>,
    waker: Cell<Option<Waker>>,
}

struct Idle {
    tx: http1::SendRequest<ReqBody>,
    since: Instant,
}

#[derive(Default)]
struct Host {
    /// Slots held: connecting, in use, idle, and the HTTP/2 connection.
    open: usize,
    connecting: usize,
    idle: Vec<Idle>,
    h2: Option<http2::SendRequest<ReqBody>>,
    /// The host answered with HTTP/2 before: share one connection.
    speaks_h2: bool,
    waiters: VecDeque<Rc<Waiter>>,
}

struct State {
    limits: Limits,
    hosts: HashMap<Key, Host>,
    open: usize,
    seq: u64,
    last_purge: Option<Instant>,
}

/// The pool; cheap to clone.
#[derive(Clone)]
pub(crate) struct Pool {
    state: Rc<RefCell<State>>,
}

/// What a checkout gives.
pub(crate) enum Checkout {
    /// A connection to use now (`reused`: it served a request before).
    Ready(Pooled),
    /// A reserved slot: open a connection and [`SlotGuard::into_pooled`] it.
    Connect(SlotGuard),
}

/// A connection taken from the pool for one request. Dropped, it gives up
/// its slot (HTTP/1.1: the connection closes); [`Pooled::release`] puts it
/// back for reuse instead.
pub(crate) struct Pooled {
    pool: Weak<RefCell<State>>,
    key: Key,
    sender: Option<Sender>,
    /// Holds a slot (HTTP/1.1). An HTTP/2 clone does not: the connection's
    /// slot belongs to the pool's entry.
    slot: bool,
    pub(crate) reused: bool,
}

/// A reserved slot, given back on drop unless a connection filled it.
pub(crate) struct SlotGuard {
    pool: Weak<RefCell<State>>,
    key: Key,
    armed: bool,
}

/// Statistics, for tests and the curious.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct PoolStats {
    /// Connections open (connecting, in use, idle, HTTP/2).
    pub open: usize,
    /// Idle HTTP/1.1 connections.
    pub idle: usize,
    /// Checkouts waiting for a connection.
    pub waiting: usize,
}

impl Pool {
    pub(crate) fn new(limits: Limits) -> Pool {
        Pool {
            state: Rc::new(RefCell::new(State {
                limits,
                hosts: HashMap::new(),
                open: 0,
                seq: 0,
                last_purge: None,
            })),
        }
    }

    pub(crate) fn stats(&self) -> PoolStats {
        let st = self.state.borrow();
        PoolStats {
            open: st.open,
            idle: st.hosts.values().map(|h| h.idle.len()).sum(),
            waiting: st.hosts.values().map(|h| h.waiters.len()).sum(),
        }
    }

    /// A connection or a slot for `key`, waiting at the caps.
    pub(crate) async fn checkout(&self, key: &Key) -> Checkout {
        loop {
            let waiter = {
                let mut st = self.state.borrow_mut();
                let mut freed = Vec::new();
                let now = boucle::now();
                st.purge(now, &mut freed);
                let found = st.try_checkout(key, now, &mut freed);
                let out = match found {
                    Some(Found::Conn(sender, reused)) => {
                        Some(Checkout::Ready(self.pooled(key, sender, reused)))
                    }
                    Some(Found::Slot) => Some(Checkout::Connect(self.slot_guard(key))),
                    None => None,
                };
                st.grant_freed(freed);
                match out {
                    Some(out) => return out,
                    None => {
                        st.seq += 1;
                        let waiter = Rc::new(Waiter {
                            seq: st.seq,
                            grant: RefCell::new(None),
                            waker: Cell::new(None),
                        });
                        st.host(key).waiters.push_back(Rc::clone(&waiter));
                        waiter
                    }
                }
            };
            let wait = Wait {
                pool: Rc::downgrade(&self.state),
                key: key.clone(),
                waiter: Some(waiter),
            };
            match wait.await {
                Grant::Conn(tx) => {
                    return Checkout::Ready(self.pooled(key, Sender::H1(tx), true));
                }
                Grant::Slot => return Checkout::Connect(self.slot_guard(key)),
                Grant::Retry => continue,
            }
        }
    }

    fn pooled(&self, key: &Key, sender: Sender, reused: bool) -> Pooled {
        let slot = matches!(sender, Sender::H1(_));
        Pooled {
            pool: Rc::downgrade(&self.state),
            key: key.clone(),
            sender: Some(sender),
            slot,
            reused,
        }
    }

    fn slot_guard(&self, key: &Key) -> SlotGuard {
        SlotGuard {
            pool: Rc::downgrade(&self.state),
            key: key.clone(),
            armed: true,
        }
    }
}

enum Found {
    Conn(Sender, bool),
    Slot,
}

impl State {
    fn host(&mut self, key: &Key) -> &mut Host {
        self.hosts.entry(key.clone()).or_default()
    }

    fn can_open(&self, host: &Host) -> bool {
        let l = self.limits;
        (l.per_host == 0 || host.open < l.per_host) && (l.limit == 0 || self.open < l.limit)
    }

    fn reserve(&mut self, key: &Key) {
        self.open += 1;
        let host = self.host(key);
        host.open += 1;
        host.connecting += 1;
    }

    /// Frees one slot of `key` (the caller grants it on with `grant_freed`).
    fn release_slot(&mut self, key: &Key, freed: &mut Vec<Key>) {
        self.open = self.open.saturating_sub(1);
        let host = self.host(key);
        host.open = host.open.saturating_sub(1);
        freed.push(key.clone());
    }

    fn try_checkout(&mut self, key: &Key, now: Instant, freed: &mut Vec<Key>) -> Option<Found> {
        let idle_timeout = self.limits.idle_timeout;
        let host = self.hosts.entry(key.clone()).or_default();
        if let Some(h2) = &host.h2 {
            if !h2.is_closed() {
                return Some(Found::Conn(Sender::H2(h2.clone()), true));
            }
            host.h2 = None;
            self.release_slot(key, freed);
        }
        loop {
            let host = self.host(key);
            let Some(idle) = host.idle.pop() else { break };
            let expired =
                idle_timeout.is_some_and(|t| now.saturating_duration_since(idle.since) >= t);
            if expired || idle.tx.is_closed() {
                drop(idle);
                self.release_slot(key, freed);
                continue;
            }
            return Some(Found::Conn(Sender::H1(idle.tx), true));
        }
        let host = self.host(key);
        if host.speaks_h2 && host.connecting > 0 {
            // One HTTP/2 connection is being opened: share it.
            return None;
        }
        let host = &self.hosts[key];
        if !self.can_open(host) && self.limits.per_host_allows(host) {
            // At the total cap only: close an idle connection elsewhere.
            self.evict_idle_elsewhere(key);
        }
        if self.can_open(&self.hosts[key]) {
            self.reserve(key);
            return Some(Found::Slot);
        }
        None
    }

    fn evict_idle_elsewhere(&mut self, key: &Key) {
        let victim = self
            .hosts
            .iter()
            .filter(|(k, h)| *k != key && !h.idle.is_empty())
            .min_by_key(|(_, h)| h.idle.first().map(|i| i.since))
            .map(|(k, _)| k.clone());
        if let Some(victim) = victim {
            let host = self.host(&victim);
            drop(host.idle.remove(0));
            self.open = self.open.saturating_sub(1);
            let host = self.host(&victim);
            host.open = host.open.saturating_sub(1);
            // The slot goes to the caller, not to a waiter.
        }
    }

    /// Drops idle connections past their timeout, at most once a second.
    fn purge(&mut self, now: Instant, freed: &mut Vec<Key>) {
        let Some(timeout) = self.limits.idle_timeout else {
            return;
        };
        if self
            .last_purge
            .is_some_and(|t| now.saturating_duration_since(t) < Duration::from_secs(1))
        {
            return;
        }
        self.last_purge = Some(now);
        let mut dropped = Vec::new();
        for (key, host) in &mut self.hosts {
            let before = host.idle.len();
            host.idle
                .retain(|i| now.saturating_duration_since(i.since) < timeout && !i.tx.is_closed());
            for _ in host.idle.len()..before {
                dropped.push(key.clone());
            }
        }
        for key in dropped {
            self.release_slot(&key, freed);
        }
        self.hosts
            .retain(|_, h| h.open > 0 || !h.waiters.is_empty() || h.speaks_h2);
    }

    /// Hands each freed slot to the oldest waiter that may use it.
    fn grant_freed(&mut self, freed: Vec<Key>) {
        for key in freed {
            // The host's own waiters first, then the oldest anywhere.
            let own = self
                .hosts
                .get(&key)
                .is_some_and(|h| !h.waiters.is_empty() && self.can_open(h));
            let target = if own {
                Some(key)
            } else {
                self.hosts
                    .iter()
                    .filter(|(_, h)| !h.waiters.is_empty() && self.can_open(h))
                    .min_by_key(|(_, h)| h.waiters.front().map(|w| w.seq))
                    .map(|(k, _)| k.clone())
            };
            let Some(target) = target else { continue };
            let waiter = self.host(&target).waiters.pop_front();
            if let Some(w) = waiter {
                self.reserve(&target);
                w.give(Grant::Slot);
            }
        }
    }

    /// Puts an HTTP/1.1 connection back: to the first waiter, or idle.
    fn release_conn(&mut self, key: &Key, tx: http1::SendRequest<ReqBody>, freed: &mut Vec<Key>) {
        let max_idle = self.limits.max_idle_per_host;
        let host = self.host(key);
        if let Some(w) = host.waiters.pop_front() {
            w.give(Grant::Conn(tx));
            return;
        }
        if host.idle.len() >= max_idle {
            drop(tx);
            self.release_slot(key, freed);
            return;
        }
        host.idle.push(Idle {
            tx,
            since: boucle::now(),
        });
    }

    /// Wakes every waiter of `key` to look again.
    fn retry_all(&mut self, key: &Key) {
        let host = self.host(key);
        for w in host.waiters.drain(..) {
            w.give(Grant::Retry);
        }
    }
}

impl Limits {
    fn per_host_allows(&self, host: &Host) -> bool {
        self.per_host == 0 || host.open < self.per_host
    }
}

impl Waiter {
    fn give(&self, grant: Grant) {
        *self.grant.borrow_mut() = Some(grant);
        if let Some(w) = self.waker.take() {
            w.wake();
        }
    }
}

/// Waits for a grant; dropped, it leaves the queue and hands on what it
/// was given.
struct Wait {
    pool: Weak<RefCell<State>>,
    key: Key,
    waiter: Option<Rc<Waiter>>,
}

impl Future for Wait {
    type Output = Grant;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Grant> {
        let Some(waiter) = &self.waiter else {
            return Poll::Ready(Grant::Retry);
        };
        let granted = waiter.grant.borrow_mut().take();
        if let Some(grant) = granted {
            self.waiter = None;
            return Poll::Ready(grant);
        }
        if self.pool.strong_count() == 0 {
            self.waiter = None;
            return Poll::Ready(Grant::Retry);
        }
        waiter.waker.set(Some(cx.waker().clone()));
        Poll::Pending
    }
}

impl Drop for Wait {
    fn drop(&mut self) {
        let Some(waiter) = self.waiter.take() else {
            return;
        };
        let Some(state) = self.pool.upgrade() else {
            return;
        };
        let Ok(mut st) = state.try_borrow_mut() else {
            return;
        };
        let mut freed = Vec::new();
        let grant = waiter.grant.borrow_mut().take();
        match grant {
            None => {
                if let Some(host) = st.hosts.get_mut(&self.key) {
                    host.waiters.retain(|w| !Rc::ptr_eq(w, &waiter));
                }
            }
            Some(Grant::Conn(tx)) => st.release_conn(&self.key, tx, &mut freed),
            Some(Grant::Slot) => {
                let host = st.host(&self.key);
                host.connecting = host.connecting.saturating_sub(1);
                st.release_slot(&self.key, &mut freed);
            }
            Some(Grant::Retry) => {}
        }
        st.grant_freed(freed);
    }
}

impl SlotGuard {
    /// The connection opened in this slot, for its first request. An
    /// HTTP/2 connection is also kept in the pool, shared by later
    /// requests.
    pub(crate) fn into_pooled(mut self, sender: Sender) -> Pooled {
        self.armed = false;
        let pool = self.pool.clone();
        let key = self.key.clone();
        let mut slot = true;
        if let Some(state) = self.pool.upgrade() {
            let mut st = state.borrow_mut();
            let host = st.host(&key);
            host.connecting = host.connecting.saturating_sub(1);
            if let Sender::H2(tx) = &sender {
                host.speaks_h2 = true;
                if host.h2.as_ref().is_some_and(|h| !h.is_closed()) {
                    // Another connect won the race: this one serves its
                    // request, then closes with its slot.
                } else {
                    host.h2 = Some(tx.clone());
                    slot = false;
                }
                st.retry_all(&key);
            }
        }
        Pooled {
            pool,
            key,
            sender: Some(sender),
            slot,
            reused: false,
        }
    }
}

impl Drop for SlotGuard {
    fn drop(&mut self) {
        if !self.armed {
            return;
        }
        let Some(state) = self.pool.upgrade() else {
            return;
        };
        let Ok(mut st) = state.try_borrow_mut() else {
            return;
        };
        let mut freed = Vec::new();
        let host = st.host(&self.key);
        host.connecting = host.connecting.saturating_sub(1);
        st.release_slot(&self.key, &mut freed);
        if st.host(&self.key).speaks_h2 {
            // Waiters that hoped to share an HTTP/2 connection look again.
            st.retry_all(&self.key);
        }
        st.grant_freed(freed);
    }
}

impl Pooled {
    pub(crate) fn sender(&mut self) -> Option<&mut Sender> {
        self.sender.as_mut()
    }

    pub(crate) fn is_h2(&self) -> bool {
        matches!(self.sender, Some(Sender::H2(_)))
    }

    /// The response is complete: keep the connection for the next request.
    pub(crate) fn release(mut self) {
        let Some(sender) = self.sender.take() else {
            return;
        };
        let Some(state) = self.pool.upgrade() else {
            return;
        };
        let Ok(mut st) = state.try_borrow_mut() else {
            return;
        };
        let mut freed = Vec::new();
        match sender {
            Sender::H1(tx) if self.slot && !tx.is_closed() => {
                st.release_conn(&self.key, tx, &mut freed);
            }
            Sender::H1(_) | Sender::H2(_) => {
                if self.slot {
                    st.release_slot(&self.key, &mut freed);
                }
            }
        }
        self.slot = false;
        st.grant_freed(freed);
    }
}

impl Drop for Pooled {
    fn drop(&mut self) {
        if !self.slot {
            return;
        }
        self.sender = None;
        let Some(state) = self.pool.upgrade() else {
            return;
        };
        let Ok(mut st) = state.try_borrow_mut() else {
            return;
        };
        let mut freed = Vec::new();
        st.release_slot(&self.key, &mut freed);
        st.grant_freed(freed);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(host: &str) -> Key {
        Key {
            https: false,
            host: host.into(),
            port: 80,
        }
    }

    fn limits(limit: usize, per_host: usize) -> Limits {
        Limits {
            limit,
            per_host,
            max_idle_per_host: 10,
            idle_timeout: Some(Duration::from_secs(15)),
        }
    }

    #[test]
    fn slots_respect_both_caps_and_waiters_get_freed_slots_in_order() {
        boucle::run(async {
            let pool = Pool::new(limits(3, 2));
            let a = key("a");
            let b = key("b");
            let Checkout::Connect(a1) = pool.checkout(&a).await else {
                panic!()
            };
            let Checkout::Connect(a2) = pool.checkout(&a).await else {
                panic!()
            };
            // a is at its per-host cap: a third checkout of a waits.
            let p = pool.clone();
            let a3 = boucle::spawn({
                let a = a.clone();
                async move { matches!(p.checkout(&a).await, Checkout::Connect(_)) }
            });
            boucle::yield_now().await;
            assert_eq!(pool.stats().waiting, 1);
            let Checkout::Connect(b1) = pool.checkout(&b).await else {
                panic!()
            };
            assert_eq!(pool.stats().open, 3);
            // The total cap: b waits too.
            let p = pool.clone();
            let b2 = boucle::spawn({
                let b = b.clone();
                async move { matches!(p.checkout(&b).await, Checkout::Connect(_)) }
            });
            boucle::yield_now().await;
            assert_eq!(pool.stats().waiting, 2);
            // A slot of a frees: a's waiter (its host) gets it, not b's.
            drop(a1);
            boucle::yield_now().await;
            assert!(a3.is_done());
            assert!(a3.await.unwrap());
            // (a3's guard dropped inside its task: that slot went to b2.)
            assert!(b2.await.unwrap());
            drop((a2, b1));
            assert_eq!(pool.stats(), PoolStats::default());
        });
    }

    #[test]
    fn a_dropped_waiter_hands_its_slot_on() {
        boucle::run(async {
            let pool = Pool::new(limits(1, 0));
            let a = key("a");
            let Checkout::Connect(first) = pool.checkout(&a).await else {
                panic!()
            };
            let p = pool.clone();
            let k = a.clone();
            let cancelled = boucle::spawn(async move {
                let _ = p.checkout(&k).await;
            });
            let p = pool.clone();
            let k = a.clone();
            let second =
                boucle::spawn(async move { matches!(p.checkout(&k).await, Checkout::Connect(_)) });
            boucle::yield_now().await;
            assert_eq!(pool.stats().waiting, 2);
            drop(first);
            // The first waiter was granted the slot; cancel it before it runs.
            cancelled.cancel();
            assert!(second.await.unwrap());
            assert_eq!(pool.stats().open, 0);
        });
    }
}
