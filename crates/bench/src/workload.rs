//! What each workload is, how big, which metrics it reports, and the worker side of a run:
//! run one workload on one runtime in this (fresh) process and print one result line.

use std::fmt;
use std::str::FromStr;
use std::time::Duration;

use crate::rt::{self, Outcome, Runtime};
use crate::stats::{self, Record};

/// Seed of the PRNG that draws `wait_n`'s delays: the same list for every runtime.
pub const WAIT_N_SEED: u64 = 42;
/// `wait_n` delays are uniform in `[0, WAIT_N_MAX)`, in whole nanoseconds, so every runtime
/// sleeps exactly the `Duration` that is compared afterwards.
pub const WAIT_N_MAX: Duration = Duration::from_secs(1);

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Workload {
    SpawnJoin,
    YieldMany,
    WaitN,
}

/// One number a workload reports: its key in the result line and how to show it.
#[derive(Clone, Copy, Debug)]
pub struct Metric {
    pub key: &'static str,
    pub label: &'static str,
}

impl Workload {
    pub const ALL: [Workload; 3] = [Workload::SpawnJoin, Workload::YieldMany, Workload::WaitN];

    /// The name on the command line and in the result line.
    pub fn name(self) -> &'static str {
        match self {
            Workload::SpawnJoin => "spawn_join",
            Workload::YieldMany => "yield_many",
            Workload::WaitN => "wait_n",
        }
    }

    /// The benchmark's `area::case` name, used in the report.
    pub fn bench_name(self) -> &'static str {
        match self {
            Workload::SpawnJoin => "task::spawn_join",
            Workload::YieldMany => "task::yield_many",
            Workload::WaitN => "time::wait_n",
        }
    }

    pub fn parse(s: &str) -> Option<Workload> {
        Workload::ALL.into_iter().find(|w| w.name() == s)
    }

    pub fn default_size(self, quick: bool) -> Size {
        match (self, quick) {
            (Workload::SpawnJoin, false) => Size::tasks(1_000_000),
            (Workload::SpawnJoin, true) => Size::tasks(100_000),
            (Workload::YieldMany, false) => Size::yields(1_000, 1_000),
            (Workload::YieldMany, true) => Size::yields(100, 1_000),
            (Workload::WaitN, false) => Size::tasks(1_000_000),
            (Workload::WaitN, true) => Size::tasks(10_000),
        }
    }

    /// The metric that is summarised (median, min, max) and compared (boucle / peer).
    pub fn primary(self) -> Metric {
        match self {
            Workload::SpawnJoin => Metric {
                key: "ns_per_task",
                label: "ns/task",
            },
            Workload::YieldMany => Metric {
                key: "ns_per_yield",
                label: "ns/yield",
            },
            Workload::WaitN => Metric {
                key: "overhead_ms",
                label: "overhead ms",
            },
        }
    }

    /// Further metrics, shown as their median over the rounds.
    pub fn extras(self) -> &'static [Metric] {
        const BYTES: Metric = Metric {
            key: "bytes_per_task",
            label: "bytes/task",
        };
        match self {
            Workload::SpawnJoin => &[BYTES],
            Workload::YieldMany => &[],
            Workload::WaitN => &[
                Metric {
                    key: "inversions",
                    label: "inversions",
                },
                Metric {
                    key: "max_gap_ms",
                    label: "max gap ms",
                },
                BYTES,
            ],
        }
    }

    /// What the size counts, for the report's titles.
    pub fn describe(self, size: Size) -> String {
        match self {
            Workload::SpawnJoin => format!("{} tasks, each returns its index", group(size.tasks)),
            Workload::YieldMany => format!(
                "{} tasks x {} yields",
                group(size.tasks),
                group(size.yields)
            ),
            Workload::WaitN => format!(
                "{} tasks sleeping uniform [0, {WAIT_N_MAX:?}), seed {WAIT_N_SEED}",
                group(size.tasks)
            ),
        }
    }
}

/// How big one run is: `tasks` for every workload, `yields` per task for `yield_many`.
/// Written `N` or `TASKSxYIELDS` on the worker's command line.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Size {
    pub tasks: usize,
    pub yields: usize,
}

impl Size {
    pub fn tasks(tasks: usize) -> Size {
        Size { tasks, yields: 0 }
    }

    pub fn yields(tasks: usize, yields: usize) -> Size {
        Size { tasks, yields }
    }
}

impl fmt::Display for Size {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.yields == 0 {
            write!(f, "{}", self.tasks)
        } else {
            write!(f, "{}x{}", self.tasks, self.yields)
        }
    }
}

impl FromStr for Size {
    type Err = String;

    fn from_str(s: &str) -> Result<Size, String> {
        let num = |t: &str| {
            t.replace('_', "")
                .parse::<usize>()
                .ok()
                .filter(|&n| n > 0)
                .ok_or_else(|| format!("bad size `{s}`: expected N or TASKSxYIELDS, N > 0"))
        };
        match s.split_once('x') {
            Some((t, y)) => Ok(Size::yields(num(t)?, num(y)?)),
            None => Ok(Size::tasks(num(s)?)),
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

/// The worker: runs `workload` once on `runtime`, checks its results, prints one line.
pub fn work(runtime: Runtime, workload: Workload, size: Size) -> Record {
    let mut record = Record::new();
    record
        .push("runtime", runtime.name())
        .push("workload", workload.name())
        .push("size", size);
    match workload {
        Workload::SpawnJoin => {
            let out = rt::spawn_join(runtime, size.tasks);
            common(&mut record, &out);
            let ns = out.wall.as_nanos() as f64 / size.tasks as f64;
            record
                .push("ns_per_task", format!("{ns:.3}"))
                .push("bytes_per_task", bytes_per_task(&out, size.tasks));
        }
        Workload::YieldMany => {
            let yields = size.yields.max(1);
            let out = rt::yield_many(runtime, size.tasks, yields);
            common(&mut record, &out);
            let ns = out.wall.as_nanos() as f64 / (size.tasks * yields) as f64;
            record.push("ns_per_yield", format!("{ns:.3}"));
        }
        Workload::WaitN => {
            // Drawn before the runtime starts, so the list is in the "before" RSS.
            let delays = stats::uniform_delays(WAIT_N_SEED, size.tasks, WAIT_N_MAX);
            let longest = delays.iter().max().copied().unwrap_or_default();
            let out = rt::wait_n(runtime, &delays);
            check_same_delays(&delays, &out.completed);
            // Whole nanoseconds as f64 milliseconds: exact, so equal delays stay ties.
            let completed_ms: Vec<f64> = out.completed.iter().map(as_ms).collect();
            let inv = stats::adjacent_inversions(&completed_ms);
            let overhead_ms = as_ms(&out.wall) - as_ms(&longest);
            common(&mut record, &out);
            record
                .push("overhead_ms", format!("{overhead_ms:.3}"))
                .push("inversions", inv.count)
                .push("max_gap_ms", format!("{:.6}", inv.max_gap))
                .push("bytes_per_task", bytes_per_task(&out, size.tasks));
        }
    }
    record
}

fn common(record: &mut Record, out: &Outcome) {
    record
        .push("wall_ms", format!("{:.3}", out.wall.as_secs_f64() * 1e3))
        .push("rss_before_kb", out.rss_before_kb)
        .push("peak_rss_kb", peak_rss_kb());
}

/// (peak RSS - RSS just before the workload) / tasks. This counts what the runtime keeps
/// per task plus the harness's own per-task slots (one handle in a `Vec`, and for `wait_n`
/// one `Duration` result), which are the same few bytes for every runtime.
fn bytes_per_task(out: &Outcome, tasks: usize) -> String {
    let grown = peak_rss_kb().saturating_sub(out.rss_before_kb) * 1024;
    format!("{:.1}", grown as f64 / tasks as f64)
}

/// Every task must have reported exactly one delay, and the multiset must be the one drawn.
fn check_same_delays(drawn: &[Duration], completed: &[Duration]) {
    assert_eq!(
        completed.len(),
        drawn.len(),
        "wait_n: {} of {} tasks reported",
        completed.len(),
        drawn.len()
    );
    let mut a = drawn.to_vec();
    let mut b = completed.to_vec();
    a.sort_unstable();
    b.sort_unstable();
    assert!(
        a == b,
        "wait_n: the completed delays are not the ones drawn"
    );
}

fn as_ms(d: &Duration) -> f64 {
    d.as_nanos() as f64 / 1e6
}

/// This process's resident set size now (VmRSS), in KiB.
pub fn rss_kb() -> u64 {
    status_kb("VmRSS:")
}

/// This process's peak resident set size so far (VmHWM), in KiB.
pub fn peak_rss_kb() -> u64 {
    status_kb("VmHWM:")
}

fn status_kb(field: &str) -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix(field))
        .and_then(|rest| rest.split_whitespace().next()?.parse().ok())
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_parse_and_print() {
        assert_eq!("1000".parse(), Ok(Size::tasks(1000)));
        assert_eq!("1_000_000".parse(), Ok(Size::tasks(1_000_000)));
        assert_eq!("100x1000".parse(), Ok(Size::yields(100, 1000)));
        assert!("0".parse::<Size>().is_err());
        assert!("x5".parse::<Size>().is_err());
        assert!("ten".parse::<Size>().is_err());
        assert_eq!(Size::yields(100, 1000).to_string(), "100x1000");
        assert_eq!(Size::tasks(7).to_string(), "7");
    }

    #[test]
    fn workload_names_round_trip() {
        for w in Workload::ALL {
            assert_eq!(Workload::parse(w.name()), Some(w));
            assert_eq!(
                w.default_size(true).to_string().parse(),
                Ok(w.default_size(true))
            );
        }
        assert_eq!(Workload::parse("nope"), None);
    }

    #[test]
    fn numbers_are_grouped_by_thousands() {
        assert_eq!(group(0), "0");
        assert_eq!(group(999), "999");
        assert_eq!(group(1000), "1,000");
        assert_eq!(group(1_000_000), "1,000,000");
    }
}
