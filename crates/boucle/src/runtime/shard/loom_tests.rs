//! Loom models of the sharded runtime's cross-thread paths: the stop flag,
//! the reply of a shard's main future, the hand-off's live-connection
//! counts racing a shard's shutdown, and the cross-shard channels
//! (`sync::oneshot`, `sync::mpsc`) between a sending shard and the shard
//! that awaits. (`spawn_on` is `Handle::spawn_with`: its models are in
//! `runtime/handle/loom_tests.rs`, and the remote queue's in `remote.rs`.)

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll, Wake, Waker};
use std::time::{Duration, Instant};

use loom::sync::atomic::{AtomicUsize, Ordering};

use super::control::{reply, Stop, StopFlag};
use super::fleet::Loads;
use crate::runtime::remote::{Job, Pushed, RemoteQueue};

/// A waker that counts its wakes in a loom atomic (so loom sees the
/// hand-over between the waking and the polling thread).
#[derive(Default)]
struct Count(AtomicUsize);

impl Wake for Count {
    fn wake(self: Arc<Self>) {
        self.0.fetch_add(1, Ordering::SeqCst);
    }
    fn wake_by_ref(self: &Arc<Self>) {
        self.0.fetch_add(1, Ordering::SeqCst);
    }
}

fn counting_waker() -> (Arc<Count>, Waker) {
    let count = Arc::new(Count::default());
    (count.clone(), Waker::from(count))
}

fn a_stop() -> Stop {
    Stop {
        grace: Duration::ZERO,
        deadline: Instant::now(),
    }
}

/// A stop raised on one thread while a shard polls for it: the shard sees
/// it at once, or its waker is woken (never a lost wake-up); two raisers:
/// exactly one wins.
#[test]
fn a_stop_is_seen_or_wakes_the_waiter() {
    loom::model(|| {
        let flag = Arc::new(StopFlag::new());
        let (f1, f2) = (flag.clone(), flag.clone());
        let r1 = loom::thread::spawn(move || f1.raise(a_stop()));
        let r2 = loom::thread::spawn(move || f2.raise(a_stop()));
        let (count, waker) = counting_waker();
        let polled = flag.poll_raised(&Context::from_waker(&waker)).is_ready();
        let won = usize::from(r1.join().unwrap()) + usize::from(r2.join().unwrap());
        assert_eq!(won, 1);
        assert!(polled || count.0.load(Ordering::SeqCst) == 1);
        assert!(flag.get().is_some());
    });
}

/// A shard's main future replies while the caller waits; or the reply is
/// dropped unsent (the shard stopped): the waiter never hangs and sees
/// exactly what happened.
#[test]
fn a_reply_is_received_or_reported_stopped() {
    loom::model(|| {
        let (tx, rx) = reply::<u32>(3);
        let sender = loom::thread::spawn(move || tx.send(Ok(7)));
        assert_eq!(rx.wait().unwrap(), 7);
        sender.join().unwrap();
    });
    loom::model(|| {
        let (tx, rx) = reply::<u32>(3);
        let dropper = loom::thread::spawn(move || drop(tx));
        let err = rx.wait().unwrap_err();
        assert!(err.is_stopped() && err.shard() == 3);
        dropper.join().unwrap();
    });
}

/// The hand-off counts a connection on its target before queueing it;
/// the target shard runs the job (and the connection ends) or closes its
/// queue (the job is dropped, or refused back to the acceptor). Either way
/// the count goes back to zero exactly once, and a dead shard is never
/// picked.
#[test]
fn handed_off_connections_are_uncounted_whatever_the_shard_does() {
    loom::model(|| {
        let loads = Arc::new(Loads::new(2));
        let queue = Arc::new(RemoteQueue::<u32>::new());
        let (l2, q2) = (loads.clone(), queue.clone());
        let acceptor = loom::thread::spawn(move || {
            let target = l2.pick().unwrap();
            let guard = l2.acquire(target);
            let job: Job = Box::new(move || drop(guard));
            match q2.push_job(job) {
                Pushed::Queued { .. } => {}
                Pushed::Closed(job) => drop(job),
            }
            target
        });
        // The target shard: runs what it took, then shuts down.
        if let Some(taken) = queue.take() {
            for job in taken.jobs {
                job();
            }
        }
        loads.set_dead(0);
        let (_, dropped) = queue.close();
        drop(dropped);
        let target = acceptor.join().unwrap();
        assert!(target < 2);
        assert_eq!(loads.conns(0) + loads.conns(1), 0);
        assert_eq!(loads.pick(), Some(1), "shard 0 is dead");
    });
}

fn poll_once<F: Future + Unpin>(f: &mut F, waker: &Waker) -> Poll<F::Output> {
    Pin::new(f).poll(&mut Context::from_waker(waker))
}

/// A oneshot sent from one shard while another awaits it: the receiver
/// gets the value now, or its waker is woken and the next poll gets it.
#[test]
fn a_oneshot_across_shards_is_never_lost() {
    loom::model(|| {
        let (tx, mut rx) = crate::sync::oneshot::channel::<u32>();
        let sender = loom::thread::spawn(move || tx.send(5).unwrap());
        let (count, waker) = counting_waker();
        let first = poll_once(&mut rx, &waker);
        sender.join().unwrap();
        match first {
            Poll::Ready(v) => assert_eq!(v, Ok(5)),
            Poll::Pending => {
                assert_eq!(count.0.load(Ordering::SeqCst), 1, "lost wake-up");
                assert_eq!(poll_once(&mut rx, &waker), Poll::Ready(Ok(5)));
            }
        }
    });
}

/// Two shards send into one mpsc receiver while it polls: every value
/// arrives exactly once, in order per sender, and a pending receiver is
/// always woken; when both senders are gone the receiver ends.
#[test]
fn mpsc_from_two_shards_delivers_everything_and_wakes() {
    loom::model(|| {
        let (tx, mut rx) = crate::sync::mpsc::unbounded::<u32>();
        let senders: Vec<_> = (0..2u32)
            .map(|i| {
                let tx = tx.clone();
                loom::thread::spawn(move || tx.try_send(i).unwrap())
            })
            .collect();
        drop(tx);
        let (count, waker) = counting_waker();
        let mut got = Vec::new();
        let mut pending_seen = 0;
        if let Poll::Ready(Some(v)) = rx.poll_recv(&mut Context::from_waker(&waker)) {
            got.push(v);
        } else {
            pending_seen += 1;
        }
        for s in senders {
            s.join().unwrap();
        }
        if pending_seen > 0 && got.is_empty() {
            assert!(count.0.load(Ordering::SeqCst) >= 1, "lost wake-up");
        }
        loop {
            match rx.poll_recv(&mut Context::from_waker(&waker)) {
                Poll::Ready(Some(v)) => got.push(v),
                Poll::Ready(None) => break,
                Poll::Pending => panic!("all senders are gone: no more waiting"),
            }
        }
        got.sort();
        assert_eq!(got, [0, 1]);
    });
}
