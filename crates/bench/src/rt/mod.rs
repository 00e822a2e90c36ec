//! The runtimes under comparison, one file each, each written the way its own users write it.
//!
//! Every runtime runs a [`Job`] the same way: build the runtime, read the RSS just before the
//! workload, time the workload from inside the root future (runtime start-up and shutdown
//! excluded) with the same clock, `std::time::Instant`, and hand back the raw observations;
//! `worker.rs` turns them into metrics. The Python peers (asyncio, uvloop) are separate
//! processes running `python/worker.py`, which prints the same result line.

use std::future::Future;
use std::pin::Pin;
use std::task::Poll;
use std::time::Duration;

#[cfg(feature = "boucle")]
mod boucle_io;
#[cfg(feature = "boucle")]
mod boucle_rt;
mod monoio_rt;
mod smol_rt;
mod tokio_rt;

/// One run of one workload, with its size (and the delays drawn for the timer workloads).
#[derive(Clone, Copy, Debug)]
pub enum Job<'a> {
    /// Spawn `tasks` tasks returning their index, await each handle in order.
    SpawnJoin { tasks: usize },
    /// `tasks` tasks that each yield `yields` times.
    YieldMany { tasks: usize, yields: usize },
    /// One task per delay; each sleeps its delay, then records it.
    WaitN { delays: &'a [Duration] },
    /// One task awaiting `iters` sequential `timeout(1 s, yield_now())`.
    TimeoutChurn { iters: usize },
    /// One task per delay, each sleeping until `start + delay` (start: a real `Instant` taken
    /// when the workload starts), then returning how late it woke, by `Instant::now()`.
    TimerLateness { delays: &'a [Duration] },
    /// Two tasks bounce a token through two bounded(1) queues, `trips` round trips.
    PingPong { trips: usize },
    /// `conns` loopback connections, each `trips` sequential 64-byte round trips to an echo
    /// server on the same runtime.
    TcpEcho { conns: usize, trips: usize },
    /// `producers` tasks each put `items` numbers into one unbounded queue; one consumer
    /// task gets them all and checks their count and sum ([`fan_in_sum`]).
    FanIn { producers: usize, items: usize },
    /// `tasks` tasks each take one lock `iters` times; holding it, each reads a shared
    /// counter, yields, and writes it + 1, so the final count checks the exclusion.
    LockContention { tasks: usize, iters: usize },
    /// `conns` loopback connections, [`ACCEPT_CONCURRENCY`] client tasks sharing them out,
    /// each connecting and dropping the stream at once; one accept loop accepts and drops.
    AcceptStorm { conns: usize },
}

pub use crate::workload::ACCEPT_CONCURRENCY;

/// The sum of what `fan_in` sends: producer `p` sends `p * items + i` for `i < items`, so
/// the numbers are `0 .. producers * items`, each once.
pub fn fan_in_sum(producers: usize, items: usize) -> u64 {
    let n = (producers * items) as u64;
    n * n.saturating_sub(1) / 2
}

/// How many of `conns` connections client `c` of [`ACCEPT_CONCURRENCY`] opens.
pub fn accept_share(conns: usize, c: usize) -> usize {
    let clients = ACCEPT_CONCURRENCY.min(conns).max(1);
    conns / clients + usize::from(c < conns % clients)
}

/// The bytes each `tcp_echo` round trip sends and expects back.
pub const ECHO_BYTES: usize = 64;
/// `timeout_churn`'s timeout, which never fires.
pub const CHURN_TIMEOUT: Duration = Duration::from_secs(1);

/// The environment variable through which the harness asks workers for background timers.
pub const BACKGROUND_ENV: &str = "BOUCLE_BENCH_BACKGROUND_TIMERS";
/// How far off the background timers are: they never fire during a run.
pub const BACKGROUND_DELAY: Duration = Duration::from_secs(3600);

/// How many background timers this worker arms (`BOUCLE_BENCH_BACKGROUND_TIMERS`, default 0).
pub fn background_timers() -> usize {
    std::env::var(BACKGROUND_ENV)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(0)
}

/// The background load of STYLE rule 23: [`background_timers`] timers made by `make`,
/// each polled once from the root future (which arms it in the runtime's timer structure)
/// and kept armed, unfired, while the caller holds the returned vector.
pub async fn arm_background<F: Future>(mut make: impl FnMut() -> F) -> Vec<Pin<Box<F>>> {
    let mut timers: Vec<_> = (0..background_timers()).map(|_| Box::pin(make())).collect();
    std::future::poll_fn(|cx| {
        for t in &mut timers {
            let _ = t.as_mut().poll(cx);
        }
        Poll::Ready(())
    })
    .await;
    timers
}

/// What one workload run gives back to the worker.
#[derive(Debug, Default)]
pub struct Outcome {
    /// Wall time of the workload alone.
    pub wall: Duration,
    /// RSS in KiB after the runtime was built, just before the workload began.
    pub rss_before_kb: u64,
    /// `wait_n` only: each task's delay, in completion order.
    pub completed: Vec<Duration>,
    /// `timer_lateness`: each timer's lateness in ns (negative: it fired early);
    /// `tcp_echo`: each round trip's latency in ns.
    pub samples_ns: Vec<i64>,
}

impl Outcome {
    pub fn timed(wall: Duration) -> Outcome {
        Outcome {
            wall,
            ..Outcome::default()
        }
    }
}

/// Why a runtime cannot run a job here (the report shows it instead of numbers).
pub type Unavailable = String;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Runtime {
    Boucle,
    /// boucle with its recorder on (`Builder::trace(true)`): the cost of tracing.
    BoucleRecorder,
    /// boucle with a counting instrument: the cost of the hooks themselves.
    BoucleCounting,
    Tokio,
    TokioMt,
    Smol,
    Monoio,
    MonoioUring,
    Asyncio,
    Uvloop,
}

impl Runtime {
    /// Every runtime, in the order the harness interleaves them.
    pub const ALL: [Runtime; 8] = [
        Runtime::Boucle,
        Runtime::Tokio,
        Runtime::TokioMt,
        Runtime::Smol,
        Runtime::Monoio,
        Runtime::MonoioUring,
        Runtime::Asyncio,
        Runtime::Uvloop,
    ];

    /// Runtimes that run only when asked for by name (`--runtimes`).
    pub const EXTRA: [Runtime; 2] = [Runtime::BoucleRecorder, Runtime::BoucleCounting];

    pub fn name(self) -> &'static str {
        match self {
            Runtime::Boucle => "boucle",
            Runtime::BoucleRecorder => "boucle-rec",
            Runtime::BoucleCounting => "boucle-count",
            Runtime::Tokio => "tokio",
            Runtime::TokioMt => "tokio-mt",
            Runtime::Smol => "smol",
            Runtime::Monoio => "monoio",
            Runtime::MonoioUring => "monoio-uring",
            Runtime::Asyncio => "asyncio",
            Runtime::Uvloop => "uvloop",
        }
    }

    /// What exactly runs, for the report's legend.
    pub fn describe(self) -> &'static str {
        match self {
            Runtime::Boucle => "boucle Runtime::block_on, boucle::spawn",
            Runtime::BoucleRecorder => "boucle with Builder::trace(true): the recorder instrument",
            Runtime::BoucleCounting => "boucle with one instrument counting every hook call",
            Runtime::Tokio => "tokio current_thread runtime, enable_all",
            Runtime::TokioMt => "tokio multi_thread runtime, 2 worker threads, enable_all",
            Runtime::Smol => "smol::LocalExecutor run by smol::block_on, async-io timers",
            Runtime::Monoio => "monoio legacy driver (epoll via mio) with timer",
            Runtime::MonoioUring => {
                "monoio io_uring driver with timer (probed in each worker: reported \
                 unavailable where the kernel refuses io_uring)"
            }
            Runtime::Asyncio => "Python asyncio, default event loop, asyncio.run",
            Runtime::Uvloop => "Python asyncio on uvloop (libuv), uvloop.run",
        }
    }

    pub fn parse(s: &str) -> Option<Runtime> {
        Runtime::ALL
            .into_iter()
            .chain(Runtime::EXTRA)
            .find(|r| r.name() == s)
    }

    /// Whether this binary was built with it (boucle sits behind the `boucle` feature).
    pub fn is_built(self) -> bool {
        match self {
            Runtime::Boucle | Runtime::BoucleRecorder | Runtime::BoucleCounting => {
                cfg!(feature = "boucle")
            }
            _ => true,
        }
    }

    /// Runs in a Python worker rather than in this binary.
    pub fn is_python(self) -> bool {
        matches!(self, Runtime::Asyncio | Runtime::Uvloop)
    }

    /// A Rust runtime running everything on one thread (what callgrind measures well).
    pub fn is_single_threaded_rust(self) -> bool {
        matches!(
            self,
            Runtime::Boucle
                | Runtime::BoucleRecorder
                | Runtime::BoucleCounting
                | Runtime::Tokio
                | Runtime::Smol
                | Runtime::Monoio
        )
    }
}

/// Runs `job` on `rt` in this process. `Err` says why `rt` cannot run it here.
pub fn run(rt: Runtime, job: Job<'_>) -> Result<Outcome, Unavailable> {
    match rt {
        #[cfg(feature = "boucle")]
        Runtime::Boucle => boucle_rt::run(job, boucle_rt::Instrumented::No),
        #[cfg(feature = "boucle")]
        Runtime::BoucleRecorder => boucle_rt::run(job, boucle_rt::Instrumented::Recorder),
        #[cfg(feature = "boucle")]
        Runtime::BoucleCounting => boucle_rt::run(job, boucle_rt::Instrumented::Counting),
        #[cfg(not(feature = "boucle"))]
        Runtime::Boucle | Runtime::BoucleRecorder | Runtime::BoucleCounting => {
            Err("built without the `boucle` feature".to_owned())
        }
        Runtime::Tokio => tokio_rt::run(job, false),
        Runtime::TokioMt => tokio_rt::run(job, true),
        Runtime::Smol => smol_rt::run(job),
        Runtime::Monoio => monoio_rt::run(job, false),
        Runtime::MonoioUring => monoio_rt::run(job, true),
        Runtime::Asyncio | Runtime::Uvloop => {
            Err(format!("{} runs in python/worker.py", rt.name()))
        }
    }
}

/// The nanoseconds from `deadline` to `woke`, negative when it woke early.
pub fn lateness_ns(deadline: std::time::Instant, woke: std::time::Instant) -> i64 {
    match woke.checked_duration_since(deadline) {
        Some(late) => i64::try_from(late.as_nanos()).unwrap_or(i64::MAX),
        None => -i64::try_from((deadline - woke).as_nanos()).unwrap_or(i64::MAX),
    }
}

/// A duration as whole nanoseconds in an `i64` (saturating).
pub fn as_ns(d: Duration) -> i64 {
    i64::try_from(d.as_nanos()).unwrap_or(i64::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Instant;

    #[test]
    fn runtime_names_round_trip() {
        for rt in Runtime::ALL.into_iter().chain(Runtime::EXTRA) {
            assert_eq!(Runtime::parse(rt.name()), Some(rt));
        }
        assert_eq!(Runtime::parse("nope"), None);
    }

    #[test]
    fn fan_in_sum_and_accept_shares_add_up() {
        assert_eq!(fan_in_sum(2, 3), 15);
        assert_eq!(fan_in_sum(0, 3), 0);
        for conns in [1, 99, 100, 101, 1_000, 10_007] {
            let clients = ACCEPT_CONCURRENCY.min(conns);
            let total: usize = (0..clients).map(|c| accept_share(conns, c)).sum();
            assert_eq!(total, conns, "{conns}");
        }
    }

    #[test]
    fn lateness_is_signed() {
        let t = Instant::now();
        let later = t + Duration::from_micros(5);
        assert_eq!(lateness_ns(t, later), 5_000);
        assert_eq!(lateness_ns(later, t), -5_000);
        assert_eq!(lateness_ns(t, t), 0);
    }
}
