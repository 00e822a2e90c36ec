//! A shard's thread: pin, build the loop, report ready, run the work that
//! comes in until stopped or killed, drain, shut down; and the main futures
//! that `ShardedRuntime::block_on` queues on each shard.

use std::future::Future;
use std::io;
use std::panic::{self, AssertUnwindSafe, Location};
use std::pin::Pin;
use std::rc::Rc;
use std::sync::mpsc as std_mpsc;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Instant;

use super::builder::MakeInstrument;
use super::control::{reply, Reply, ReplySender, RootGuard, Roots};
use super::error::{self, ShardError, ShardException, ShardHandler};
use super::fleet::Entry;
use super::sharded::ShardStop;
use super::{pin, set_local, with_local, Fleet, Local, Shard};
use crate::runtime::builder::ShardSettings;
use crate::runtime::shared::Shared;
use crate::runtime::{context, Handle, Runtime, RUN_SHUTDOWN_TIMEOUT};
use crate::task::error::payload_str;
use crate::task::TaskInfo;

/// What a shard's thread sends once its loop is built.
pub(crate) struct Ready {
    pub(crate) shard: Shard,
    pub(crate) handle: Handle,
    pub(crate) shared: Arc<Shared>,
    pub(crate) origin: Instant,
}

pub(crate) struct ThreadArgs {
    pub(crate) id: usize,
    pub(crate) count: usize,
    pub(crate) settings: ShardSettings,
    pub(crate) seed: u64,
    pub(crate) cpu: Option<usize>,
    pub(crate) handler: Option<Arc<ShardHandler>>,
    pub(crate) instruments: Vec<Arc<MakeInstrument>>,
    pub(crate) ready: std_mpsc::Sender<(usize, io::Result<Ready>)>,
    pub(crate) fleet: std_mpsc::Receiver<Arc<Fleet>>,
    pub(crate) exit: std_mpsc::Sender<ShardStop>,
}

/// Queues shard `entry`'s main future; the reply gives its output.
pub(crate) fn start_main<M, F>(
    entry: &Entry,
    make: Arc<M>,
    location: &'static Location<'static>,
) -> Reply<F::Output>
where
    M: Fn(Shard) -> F + Send + Sync + 'static,
    F: Future + 'static,
    F::Output: Send + 'static,
{
    let shard = entry.shard;
    let (tx, rx) = reply(shard.id());
    let job = move || {
        let name: Rc<str> = Rc::from(format!("shard-{} main", shard.id()));
        drop(context::spawn(
            main_future(shard, make, tx),
            Some(name),
            location,
        ));
    };
    // Refused (the shard has stopped): the job drops unrun, and its
    // reply says Stopped.
    let _ = entry.shared.push_job(Box::new(job));
    rx
}

async fn main_future<M, F>(shard: Shard, make: Arc<M>, tx: ReplySender<F::Output>)
where
    M: Fn(Shard) -> F,
    F: Future,
{
    let Some((roots, fleet)) = with_local(|l| (l.roots.clone(), l.fleet.clone())) else {
        return; // not a shard's thread: the reply says Stopped
    };
    let root = RootGuard::new(&roots);
    let result = CatchUnwind {
        inner: Box::pin(async move { make(shard).await }),
    }
    .await;
    match result {
        Ok(v) => tx.send(Ok(v)),
        Err(payload) => {
            let task =
                context::with_current(|core| core.current_task().map(|t| TaskInfo::from_ref(&t)))
                    .flatten();
            let e = ShardException::main(shard, task.as_ref(), &*payload);
            error::report(fleet.handler.as_deref(), &e);
            roots.kill();
            // Refuse work before the reply goes out, so whoever sees this
            // shard's error also sees it refuse (`spawn_on` cancelled, a
            // new main stopped, no hand-offs): the loop itself closes its
            // queue only once `block_on` has returned, which races the
            // caller. What was queued is dropped unrun (its senders hear).
            fleet.loads.set_dead(shard.id());
            drop(fleet.entry(shard.id()).shared.close());
            tx.send(Err(ShardError::panicked(shard.id(), payload)));
        }
    }
    drop(root);
}

/// A future whose panics come out as `Err(payload)`.
struct CatchUnwind<F> {
    inner: Pin<Box<F>>,
}

impl<F: Future> Future for CatchUnwind<F> {
    type Output = Result<F::Output, Box<dyn std::any::Any + Send>>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let inner = self.inner.as_mut();
        match panic::catch_unwind(AssertUnwindSafe(move || inner.poll(cx))) {
            Ok(Poll::Ready(v)) => Poll::Ready(Ok(v)),
            Ok(Poll::Pending) => Poll::Pending,
            Err(payload) => Poll::Ready(Err(payload)),
        }
    }
}

/// A shard's thread: pin, build the loop, report ready, idle (running the
/// work that comes in) until stopped or killed, drain, shut down.
pub(crate) fn shard_thread(args: ThreadArgs) {
    let cpu = pin::try_pin(args.cpu);
    let shard = Shard::new(args.id, args.count, cpu);
    let handler = args.handler.clone();
    let on_unobserved = move |cx: &crate::ExceptionContext<'_>| {
        error::report(handler.as_deref(), &ShardException::unobserved(shard, cx));
    };
    let instruments = args.instruments.iter().map(|make| make(shard)).collect();
    let builder = args.settings.builder(args.seed, on_unobserved, instruments);
    let rt: Runtime = match builder.build() {
        Ok(rt) => rt,
        Err(e) => {
            let _ = args.ready.send((args.id, Err(e)));
            return;
        }
    };
    let ready = Ready {
        shard,
        handle: rt.handle(),
        shared: rt.core.shared.clone(),
        origin: rt.core.time().instant(0),
    };
    let origin = ready.origin;
    if args.ready.send((args.id, Ok(ready))).is_err() {
        return;
    }
    drop(args.ready);
    let Ok(fleet) = args.fleet.recv() else {
        return; // another shard failed to start
    };
    let roots = Rc::new(Roots::default());
    set_local(Some(Local {
        shard,
        fleet: fleet.clone(),
        roots: roots.clone(),
    }));
    let run = panic::catch_unwind(AssertUnwindSafe(|| rt.block_on(idle(&fleet, &roots))));
    fleet.loads.set_dead(shard.id());
    let (drained, panicked) = match run {
        Ok((killed, drained)) => (
            drained,
            killed.then(|| "its main future panicked".to_owned()),
        ),
        Err(p) => {
            let msg = payload_str(&*p).unwrap_or("Box<dyn Any>").to_owned();
            eprintln!("boucle: {shard}: its loop failed: {msg}; the shard is stopped");
            (false, Some(msg))
        }
    };
    let cancelled = rt.core.task_counts().0;
    let trace = rt.trace();
    let wait = match fleet.stop.get() {
        Some(stop) if panicked.is_none() => stop.deadline.saturating_duration_since(Instant::now()),
        _ => RUN_SHUTDOWN_TIMEOUT,
    };
    rt.shutdown_timeout(wait);
    drop(set_local(None));
    let _ = args.exit.send(ShardStop {
        shard: shard.id(),
        drained,
        cancelled,
        panicked,
        in_time: false,
        trace,
        origin: Some(origin),
    });
}

/// The shard's `block_on` future: waits for a stop (or a kill), then gives
/// the root futures the grace period. `(killed, drained)`.
async fn idle(fleet: &Fleet, roots: &Roots) -> (bool, bool) {
    if roots.stopped_or_killed().await {
        return (true, false);
    }
    let Some(stop) = fleet.stop.get() else {
        return (roots.is_killed(), false);
    };
    let drained = crate::time::timeout(stop.grace, roots.drained())
        .await
        .is_ok();
    (roots.is_killed(), drained && !roots.is_killed())
}
