//! What each workload is, how big, and which metrics it reports. The benchmarks are named
//! `area::case` (task, time, sync, net); `worker.rs` runs them.

use std::fmt;
use std::str::FromStr;
use std::time::Duration;

/// Seed of the PRNG that draws the timer workloads' delays: the same list for every runtime.
pub const DELAY_SEED: u64 = 42;

/// `accept_storm`: how many client connections are in flight at once.
pub const ACCEPT_CONCURRENCY: usize = 100;

/// `timer_lateness`'s head start before the first deadline: half the span (1 s at full
/// size), so that every runtime, Python included, has started all its tasks and armed their
/// timers before any is due, and the lateness measured is the timer's, not the spawn loop's.
pub fn head_start(span: Duration) -> Duration {
    span / 2
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Workload {
    SpawnJoin,
    YieldMany,
    WaitN,
    TimeoutChurn,
    TimerLateness,
    PingPong,
    FanIn,
    LockContention,
    TcpEcho,
    AcceptStorm,
}

/// Which way a metric improves.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Better {
    Lower,
    Higher,
}

/// One number a workload reports: its key in the result line and how to show it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Metric {
    pub key: &'static str,
    pub label: &'static str,
    pub better: Better,
}

const fn lower(key: &'static str, label: &'static str) -> Metric {
    Metric {
        key,
        label,
        better: Better::Lower,
    }
}

pub const BYTES_PER_TASK: Metric = lower("bytes_per_task", "bytes/task");
pub const INVERSIONS: Metric = lower("inversions", "inversions");
pub const EARLY: Metric = lower("early", "early");

impl Workload {
    pub const ALL: [Workload; 10] = [
        Workload::SpawnJoin,
        Workload::YieldMany,
        Workload::WaitN,
        Workload::TimeoutChurn,
        Workload::TimerLateness,
        Workload::PingPong,
        Workload::FanIn,
        Workload::LockContention,
        Workload::TcpEcho,
        Workload::AcceptStorm,
    ];

    /// The name on the command line and in the result line.
    pub fn name(self) -> &'static str {
        match self {
            Workload::SpawnJoin => "spawn_join",
            Workload::YieldMany => "yield_many",
            Workload::WaitN => "wait_n",
            Workload::TimeoutChurn => "timeout_churn",
            Workload::TimerLateness => "timer_lateness",
            Workload::PingPong => "ping_pong",
            Workload::FanIn => "fan_in",
            Workload::LockContention => "lock_contention",
            Workload::TcpEcho => "tcp_echo",
            Workload::AcceptStorm => "accept_storm",
        }
    }

    /// The benchmark's `area::case` name, used in the report.
    pub fn bench_name(self) -> &'static str {
        match self {
            Workload::SpawnJoin => "task::spawn_join",
            Workload::YieldMany => "task::yield_many",
            Workload::WaitN => "time::wait_n",
            Workload::TimeoutChurn => "time::timeout_churn",
            Workload::TimerLateness => "time::timer_lateness",
            Workload::PingPong => "sync::ping_pong",
            Workload::FanIn => "sync::fan_in",
            Workload::LockContention => "sync::lock_contention",
            Workload::TcpEcho => "net::tcp_echo",
            Workload::AcceptStorm => "net::accept_storm",
        }
    }

    pub fn parse(s: &str) -> Option<Workload> {
        Workload::ALL
            .into_iter()
            .find(|w| w.name() == s || w.bench_name() == s)
    }

    /// The sizes one harness run measures, the headline (largest) last.
    pub fn sizes(self, quick: bool) -> Vec<Size> {
        match (self, quick) {
            (Workload::SpawnJoin, false) => vec![Size::n(1_000_000)],
            (Workload::SpawnJoin, true) => vec![Size::n(100_000)],
            (Workload::YieldMany, false) => vec![Size::nxm(1_000, 1_000)],
            (Workload::YieldMany, true) => vec![Size::nxm(100, 1_000)],
            (Workload::WaitN, false) => [10_000, 100_000, 1_000_000]
                .map(|n| Size::over(n, 1_000))
                .to_vec(),
            (Workload::WaitN, true) => vec![Size::over(10_000, 100)],
            (Workload::TimeoutChurn, false) => vec![Size::n(1_000_000)],
            (Workload::TimeoutChurn, true) => vec![Size::n(50_000)],
            (Workload::TimerLateness, false) => vec![Size::over(100_000, 2_000)],
            (Workload::TimerLateness, true) => vec![Size::over(10_000, 200)],
            (Workload::PingPong, false) => vec![Size::n(1_000_000)],
            (Workload::PingPong, true) => vec![Size::n(50_000)],
            (Workload::TcpEcho, false) => vec![Size::nxm(100, 2_000)],
            (Workload::TcpEcho, true) => vec![Size::nxm(20, 500)],
            (Workload::FanIn, false) => vec![Size::nxm(100, 10_000)],
            (Workload::FanIn, true) => vec![Size::nxm(100, 1_000)],
            (Workload::LockContention, false) => vec![Size::nxm(1_000, 1_000)],
            (Workload::LockContention, true) => vec![Size::nxm(1_000, 100)],
            (Workload::AcceptStorm, false) => vec![Size::n(10_000)],
            (Workload::AcceptStorm, true) => vec![Size::n(1_000)],
        }
    }

    /// The metric that is summarised (median, min, max) and compared (boucle / peer).
    pub fn primary(self) -> Metric {
        match self {
            Workload::SpawnJoin => lower("ns_per_task", "ns/task"),
            Workload::YieldMany => lower("ns_per_yield", "ns/yield"),
            Workload::WaitN => lower("overhead_ms", "overhead ms"),
            Workload::TimeoutChurn => lower("ns_per_iter", "ns/iter"),
            Workload::TimerLateness => lower("p99_us", "p99 late us"),
            Workload::PingPong => lower("ns_per_round_trip", "ns/round trip"),
            Workload::TcpEcho => Metric {
                key: "round_trips_per_s",
                label: "round trips/s",
                better: Better::Higher,
            },
            Workload::FanIn => lower("ns_per_item", "ns/item"),
            Workload::LockContention => lower("ns_per_op", "ns/op"),
            Workload::AcceptStorm => Metric {
                key: "conns_per_s",
                label: "connections/s",
                better: Better::Higher,
            },
        }
    }

    /// Further metrics, shown as their median over the rounds.
    pub fn extras(self) -> &'static [Metric] {
        match self {
            Workload::SpawnJoin => &[BYTES_PER_TASK],
            Workload::YieldMany
            | Workload::TimeoutChurn
            | Workload::PingPong
            | Workload::FanIn
            | Workload::LockContention
            | Workload::AcceptStorm => &[],
            Workload::WaitN => {
                const GAP: Metric = lower("max_gap_ms", "largest inversion ms");
                &[INVERSIONS, GAP, BYTES_PER_TASK]
            }
            Workload::TimerLateness => {
                const P50: Metric = lower("p50_us", "p50 late us");
                const MAX: Metric = lower("max_us", "max late us");
                &[P50, MAX, EARLY]
            }
            Workload::TcpEcho => {
                const P99: Metric = lower("p99_us", "p99 latency us");
                &[P99]
            }
        }
    }

    /// What the size counts, for the report's titles.
    pub fn describe(self, size: Size) -> String {
        let span = Duration::from_millis(size.span_ms);
        match self {
            Workload::SpawnJoin => format!("{} tasks, each returns its index", group(size.n)),
            Workload::YieldMany => {
                format!("{} tasks x {} yields", group(size.n), group(size.m))
            }
            Workload::WaitN => format!(
                "{} tasks sleeping uniform [0, {span:?}), seed {DELAY_SEED}",
                group(size.n)
            ),
            Workload::TimeoutChurn => format!(
                "{} sequential timeout(1 s, yield_now()) in one task",
                group(size.n)
            ),
            Workload::TimerLateness => format!(
                "{} tasks sleeping until start + {:?} + uniform [0, {span:?}), seed {DELAY_SEED}",
                group(size.n),
                head_start(span)
            ),
            Workload::PingPong => format!(
                "{} round trips of a token through two bounded(1) queues",
                group(size.n)
            ),
            Workload::TcpEcho => format!(
                "{} loopback connections x {} sequential 64 B round trips, one process",
                group(size.n),
                group(size.m)
            ),
            Workload::FanIn => format!(
                "{} producer tasks x {} items into one unbounded queue, one consumer",
                group(size.n),
                group(size.m)
            ),
            Workload::LockContention => format!(
                "{} tasks x {} lock/unlock of one lock, yielding while holding it",
                group(size.n),
                group(size.m)
            ),
            Workload::AcceptStorm => format!(
                "{} loopback connections opened and closed, up to {ACCEPT_CONCURRENCY} at a \
                 time, one accept loop, one process",
                group(size.n)
            ),
        }
    }

    /// How to read its table, printed under it.
    pub fn note(self) -> Option<&'static str> {
        Some(match self {
            Workload::SpawnJoin => {
                "bytes/task = (peak RSS - RSS just before the workload) / tasks; it includes \
                 the harness's Vec of handles, the same for every runtime"
            }
            Workload::YieldMany | Workload::TimeoutChurn => return None,
            Workload::WaitN => {
                "overhead = wall time - the longest delay; inversions = adjacent completions \
                 out of delay order (largest inversion: their largest gap)"
            }
            Workload::TimerLateness => {
                "lateness = Instant::now() (Python: time.monotonic_ns()) right after the wake - \
                 the deadline (sleep_until where the runtime has it; asyncio: sleep of the \
                 time left); the head start before the first deadline lets every runtime start \
                 all its tasks first; early = woke before the deadline"
            }
            Workload::PingPong => {
                "queues: boucle sync::Queue::new(1), tokio mpsc::channel(1), smol \
                 async-channel bounded(1), monoio local_sync bounded channel(1), \
                 asyncio.Queue(maxsize=1)"
            }
            Workload::TcpEcho => {
                "round trips/s over all connections together; latency = one write of 64 B and \
                 the read of its echo, seen by the client; TCP_NODELAY on both ends (Python: \
                 asyncio streams)"
            }
            Workload::FanIn => {
                "ns/item = wall / items; queues: boucle sync::Queue::new(0), tokio \
                 mpsc::unbounded_channel, smol async-channel unbounded, monoio local_sync \
                 unbounded channel, asyncio.Queue(); the consumer checks the count and the sum"
            }
            Workload::LockContention => {
                "ns/op = wall / lock-unlock pairs; each holder reads a shared counter, yields, \
                 writes it + 1 (checked at the end); locks: boucle sync::Lock, tokio \
                 sync::Mutex, smol async-lock Mutex, asyncio.Lock; monoio has no async mutex"
            }
            Workload::AcceptStorm => {
                "connections/s = connections / wall; each client task connects and drops the \
                 stream at once, the accept loop accepts and drops; listen backlog 1024 where \
                 the API sets it (boucle, tokio, asyncio/uvloop start_server(backlog=1024); \
                 smol and monoio use their defaults); a dropped SYN costs a 1 s retransmit"
            }
        })
    }

    /// Whether `--instructions` counts it (single-threaded, no timers that wait or sockets).
    pub fn counts_instructions(self) -> bool {
        matches!(
            self,
            Workload::SpawnJoin | Workload::YieldMany | Workload::TimeoutChurn | Workload::PingPong
        )
    }

    /// The operations a run of `size` performs (tasks, yields, iterations, round trips).
    pub fn ops(self, size: Size) -> usize {
        match self {
            Workload::YieldMany
            | Workload::TcpEcho
            | Workload::FanIn
            | Workload::LockContention => size.n * size.m.max(1),
            _ => size.n,
        }
    }
}

/// How big one run is. Written `N`, `NxM` (yield_many: tasks x yields; tcp_echo:
/// connections x round trips; fan_in: producers x items; lock_contention: tasks x locks) or `N/Tms` (timers: tasks over a span of T ms).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Size {
    pub n: usize,
    pub m: usize,
    pub span_ms: u64,
}

impl Size {
    pub const fn n(n: usize) -> Size {
        Size {
            n,
            m: 0,
            span_ms: 0,
        }
    }

    pub const fn nxm(n: usize, m: usize) -> Size {
        Size { n, m, span_ms: 0 }
    }

    pub const fn over(n: usize, span_ms: u64) -> Size {
        Size { n, m: 0, span_ms }
    }

    /// The same shape with `n` multiplied (for the instruction counts' two sizes).
    pub fn times(self, k: usize) -> Size {
        Size {
            n: self.n * k,
            ..self
        }
    }
}

impl fmt::Display for Size {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.n)?;
        if self.m > 0 {
            write!(f, "x{}", self.m)?;
        }
        if self.span_ms > 0 {
            write!(f, "/{}ms", self.span_ms)?;
        }
        Ok(())
    }
}

impl FromStr for Size {
    type Err = String;

    fn from_str(s: &str) -> Result<Size, String> {
        let bad = || format!("bad size `{s}`: expected N, NxM or N/Tms, all > 0");
        let num = |t: &str| {
            t.replace('_', "")
                .parse::<usize>()
                .ok()
                .filter(|&n| n > 0)
                .ok_or_else(bad)
        };
        let (counts, span_ms) = match s.split_once('/') {
            Some((c, t)) => {
                let ms = t.strip_suffix("ms").ok_or_else(bad)?;
                (c, num(ms)? as u64)
            }
            None => (s, 0),
        };
        let (n, m) = match counts.split_once('x') {
            Some((n, m)) => (num(n)?, num(m)?),
            None => (num(counts)?, 0),
        };
        Ok(Size { n, m, span_ms })
    }
}

impl Size {
    /// Short form for tables: `10^6`, `1,000x1,000`, `100x2,000`.
    pub fn short(self) -> String {
        let n = power_of_ten(self.n);
        if self.m > 0 {
            format!("{n}x{}", power_of_ten(self.m))
        } else {
            n
        }
    }
}

/// `1000000` as `1,000,000`.
pub fn group(n: usize) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// `1000000` as `10^6`, `10000` as `10^4`; other numbers grouped.
pub fn power_of_ten(n: usize) -> String {
    let digits = n.to_string();
    if n >= 10_000 && digits.starts_with('1') && digits[1..].bytes().all(|b| b == b'0') {
        format!("10^{}", digits.len() - 1)
    } else {
        group(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_parse_and_print() {
        assert_eq!("1000".parse(), Ok(Size::n(1000)));
        assert_eq!("1_000_000".parse(), Ok(Size::n(1_000_000)));
        assert_eq!("100x1000".parse(), Ok(Size::nxm(100, 1000)));
        assert_eq!("10000/200ms".parse(), Ok(Size::over(10_000, 200)));
        for bad in ["0", "x5", "ten", "10/200", "10/0ms", "5x0"] {
            assert!(bad.parse::<Size>().is_err(), "{bad}");
        }
        assert_eq!(Size::nxm(100, 1000).to_string(), "100x1000");
        assert_eq!(Size::n(7).to_string(), "7");
        assert_eq!(Size::over(10, 2000).to_string(), "10/2000ms");
        assert_eq!(Size::nxm(10, 5).times(2), Size::nxm(20, 5));
        assert_eq!(Size::nxm(1000, 1000).short(), "1,000x1,000");
        assert_eq!(Size::over(1_000_000, 1000).short(), "10^6");
    }

    #[test]
    fn workload_names_and_sizes_round_trip() {
        for w in Workload::ALL {
            assert_eq!(Workload::parse(w.name()), Some(w));
            assert_eq!(Workload::parse(w.bench_name()), Some(w));
            for quick in [true, false] {
                for size in w.sizes(quick) {
                    assert_eq!(size.to_string().parse(), Ok(size));
                }
            }
        }
        assert_eq!(Workload::parse("nope"), None);
        assert_eq!(Workload::WaitN.sizes(false).len(), 3);
        assert_eq!(Workload::WaitN.sizes(false)[2].n, 1_000_000);
    }

    #[test]
    fn numbers_are_grouped_by_thousands() {
        assert_eq!(group(0), "0");
        assert_eq!(group(999), "999");
        assert_eq!(group(1000), "1,000");
        assert_eq!(group(1_000_000), "1,000,000");
        assert_eq!(power_of_ten(1_000_000), "10^6");
        assert_eq!(power_of_ten(10_000), "10^4");
        assert_eq!(power_of_ten(20_000), "20,000");
        assert_eq!(power_of_ten(100), "100");
    }
}
