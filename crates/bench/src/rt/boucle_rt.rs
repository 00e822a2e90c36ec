//! boucle as its users write it: `boucle::spawn` of plain (`!Send`-friendly) futures inside
//! `Runtime::block_on`, shared state in `Rc<RefCell<..>>`, handles awaited as `Result`s.

use std::cell::{Cell, RefCell};
use std::rc::Rc;
use std::time::{Duration, Instant};

use super::{
    arm_background, boucle_io, lateness_ns, Job, Outcome, Unavailable, BACKGROUND_DELAY,
    CHURN_TIMEOUT,
};
use crate::worker::rss_kb;

/// Which instrument the run installs (`boucle-rec`, `boucle-count`).
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Instrumented {
    No,
    Recorder,
    Counting,
}

/// Counts every hook call: the cost of the hooks with a trivial instrument.
#[derive(Default)]
struct Counting(Cell<u64>);

impl Counting {
    fn bump(&self) {
        self.0.set(self.0.get() + 1);
    }
}

impl boucle::trace::Instrument for Counting {
    fn task_spawned(&self, _: &boucle::trace::Spawned<'_>, _: Duration) {
        self.bump();
    }
    fn task_scheduled(&self, _: boucle::TaskId, _: boucle::trace::WokenBy, _: Duration) {
        self.bump();
    }
    fn poll_start(&self, _: boucle::TaskId, _: Duration) {
        self.bump();
    }
    fn poll_end(&self, _: boucle::TaskId, _: Duration, _: Duration) {
        self.bump();
    }
    fn task_exited(&self, _: boucle::TaskId, _: boucle::trace::Exited, _: Duration) {
        self.bump();
    }
    fn task_waits(&self, _: Option<boucle::TaskId>, _: boucle::trace::Awaiting, _: Duration) {
        self.bump();
    }
    fn timer_fired(&self, _: Option<boucle::TaskId>, _: Duration) {
        self.bump();
    }
    fn io_ready(&self, _: Option<boucle::TaskId>, _: Duration) {
        self.bump();
    }
    fn iteration_start(&self, _: usize, _: Duration) {
        self.bump();
    }
}

pub fn run(job: Job<'_>, instrumented: Instrumented) -> Result<Outcome, Unavailable> {
    if let Some(why) = boucle_io::unavailable(&job) {
        return Err(why.to_owned());
    }
    let builder = boucle::Runtime::builder();
    let builder = match instrumented {
        Instrumented::No => builder,
        // The default ring (10^6 events): bounded memory, the oldest
        // events dropped, as a user would run it.
        Instrumented::Recorder => builder.trace(true),
        Instrumented::Counting => builder.instrument(Counting::default()),
    };
    let rt = builder.build().expect("build boucle runtime");
    let rss_before_kb = rss_kb();
    let mut out = rt.block_on(async move {
        let _background = arm_background(|| boucle::sleep(BACKGROUND_DELAY)).await;
        match job {
            Job::SpawnJoin { tasks } => spawn_join(tasks).await,
            Job::YieldMany { tasks, yields } => yield_many(tasks, yields).await,
            Job::WaitN { delays } => wait_n(delays).await,
            Job::TimeoutChurn { iters } => timeout_churn(iters).await,
            Job::TimerLateness { delays } => timer_lateness(delays).await,
            Job::PingPong { trips } => boucle_io::ping_pong(trips).await,
            Job::TcpEcho { conns, trips } => boucle_io::tcp_echo(conns, trips).await,
            Job::FanIn { producers, items } => boucle_io::fan_in(producers, items).await,
            Job::LockContention { tasks, iters } => lock_contention(tasks, iters).await,
            Job::AcceptStorm { conns } => boucle_io::accept_storm(conns).await,
        }
    });
    drop(rt);
    out.rss_before_kb = rss_before_kb;
    Ok(out)
}

async fn spawn_join(n: usize) -> Outcome {
    let start = Instant::now();
    let handles: Vec<_> = (0..n).map(|i| boucle::spawn(async move { i })).collect();
    for (i, handle) in handles.into_iter().enumerate() {
        match handle.await {
            Ok(got) => assert_eq!(got, i, "boucle: task {i} returned {got}"),
            Err(_) => panic!("boucle: task {i} failed"),
        }
    }
    Outcome::timed(start.elapsed())
}

async fn yield_many(tasks: usize, yields: usize) -> Outcome {
    let start = Instant::now();
    let handles: Vec<_> = (0..tasks)
        .map(|_| {
            boucle::spawn(async move {
                for _ in 0..yields {
                    boucle::yield_now().await;
                }
            })
        })
        .collect();
    for (i, handle) in handles.into_iter().enumerate() {
        if handle.await.is_err() {
            panic!("boucle: task {i} failed");
        }
    }
    Outcome::timed(start.elapsed())
}

async fn wait_n(delays: &[Duration]) -> Outcome {
    let completed = Rc::new(RefCell::new(Vec::with_capacity(delays.len())));
    let start = Instant::now();
    let handles: Vec<_> = delays
        .iter()
        .map(|&delay| {
            let completed = Rc::clone(&completed);
            boucle::spawn(async move {
                boucle::sleep(delay).await;
                completed.borrow_mut().push(delay);
            })
        })
        .collect();
    for (i, handle) in handles.into_iter().enumerate() {
        if handle.await.is_err() {
            panic!("boucle: task {i} failed");
        }
    }
    let wall = start.elapsed();
    let completed = completed.take();
    Outcome {
        wall,
        completed,
        ..Outcome::default()
    }
}

async fn timeout_churn(iters: usize) -> Outcome {
    let start = Instant::now();
    let churn = boucle::spawn(async move {
        for _ in 0..iters {
            boucle::timeout(CHURN_TIMEOUT, boucle::yield_now())
                .await
                .expect("boucle: a 1 s timeout fired around a yield");
        }
    });
    if churn.await.is_err() {
        panic!("boucle: the timeout_churn task failed");
    }
    Outcome::timed(start.elapsed())
}

async fn timer_lateness(delays: &[Duration]) -> Outcome {
    // A real Instant: boucle's loop clock is the monotonic clock, cached per iteration.
    let start = Instant::now();
    let handles: Vec<_> = delays
        .iter()
        .map(|&delay| {
            let deadline = start + delay;
            boucle::spawn(async move {
                boucle::sleep_until(deadline).await;
                lateness_ns(deadline, Instant::now())
            })
        })
        .collect();
    let mut samples_ns = Vec::with_capacity(handles.len());
    for (i, handle) in handles.into_iter().enumerate() {
        match handle.await {
            Ok(late) => samples_ns.push(late),
            Err(_) => panic!("boucle: task {i} failed"),
        }
    }
    Outcome {
        wall: start.elapsed(),
        samples_ns,
        ..Outcome::default()
    }
}

async fn lock_contention(tasks: usize, iters: usize) -> Outcome {
    let lock = boucle::sync::Lock::new();
    let counter = Rc::new(Cell::new(0u64));
    let start = Instant::now();
    let handles: Vec<_> = (0..tasks)
        .map(|_| {
            let (lock, counter) = (lock.clone(), Rc::clone(&counter));
            boucle::spawn(async move {
                for _ in 0..iters {
                    let guard = lock.acquire().await;
                    let seen = counter.get();
                    boucle::yield_now().await;
                    counter.set(seen + 1);
                    drop(guard);
                }
            })
        })
        .collect();
    for (i, handle) in handles.into_iter().enumerate() {
        if handle.await.is_err() {
            panic!("boucle: task {i} failed");
        }
    }
    let wall = start.elapsed();
    assert_eq!(
        counter.get(),
        (tasks * iters) as u64,
        "boucle: lost updates"
    );
    Outcome::timed(wall)
}
