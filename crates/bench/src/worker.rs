//! The worker side of a run: one workload on one Rust runtime in this (fresh) process,
//! checked, then one result line. `python/worker.py` is the same for asyncio and uvloop.

use std::time::Duration;

use crate::rt::{self, Job, Outcome, Runtime, Unavailable};
use crate::stats::{self, Record, Spread, UNAVAILABLE_TAG};
use crate::workload::{self, Size, Workload, DELAY_SEED};

/// `worker RUNTIME WORKLOAD SIZE`: prints the result line, or the unavailable line.
pub fn main(args: &[String]) -> Result<(), String> {
    let [rt, workload, size] = args else {
        return Err("usage: boucle-bench worker RUNTIME WORKLOAD SIZE".to_owned());
    };
    let rt = Runtime::parse(rt).ok_or_else(|| format!("unknown runtime `{rt}`"))?;
    let workload =
        Workload::parse(workload).ok_or_else(|| format!("unknown workload `{workload}`"))?;
    let size: Size = size.parse()?;
    match work(rt, workload, size) {
        Ok(record) => println!("{record}"),
        Err(why) => println!("{UNAVAILABLE_TAG} {why}"),
    }
    Ok(())
}

/// Runs `workload` once on `runtime`, checks its results, and returns the result line.
pub fn work(runtime: Runtime, workload: Workload, size: Size) -> Result<Record, Unavailable> {
    let mut record = Record::new();
    record
        .push("runtime", runtime.name())
        .push("workload", workload.name())
        .push("size", size)
        .push("background_timers", rt::background_timers());
    let span = Duration::from_millis(size.span_ms);
    match workload {
        Workload::SpawnJoin => {
            let out = rt::run(runtime, Job::SpawnJoin { tasks: size.n })?;
            common(&mut record, &out);
            record
                .push("ns_per_task", per_op(&out, size.n))
                .push("bytes_per_task", bytes_per_task(&out, size.n));
        }
        Workload::YieldMany => {
            let yields = size.m.max(1);
            let job = Job::YieldMany {
                tasks: size.n,
                yields,
            };
            let out = rt::run(runtime, job)?;
            common(&mut record, &out);
            record.push("ns_per_yield", per_op(&out, size.n * yields));
        }
        Workload::WaitN => {
            // Drawn before the runtime starts, so the list is in the "before" RSS.
            let delays = stats::uniform_delays(DELAY_SEED, size.n, span);
            let longest = delays.iter().max().copied().unwrap_or_default();
            let out = rt::run(runtime, Job::WaitN { delays: &delays })?;
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
                .push("bytes_per_task", bytes_per_task(&out, size.n));
        }
        Workload::TimeoutChurn => {
            let out = rt::run(runtime, Job::TimeoutChurn { iters: size.n })?;
            common(&mut record, &out);
            record.push("ns_per_iter", per_op(&out, size.n));
        }
        Workload::TimerLateness => {
            let head = workload::head_start(span);
            let delays: Vec<Duration> = stats::uniform_delays(DELAY_SEED, size.n, span)
                .into_iter()
                .map(|d| head + d)
                .collect();
            let out = rt::run(runtime, Job::TimerLateness { delays: &delays })?;
            assert_eq!(out.samples_ns.len(), size.n, "one lateness per timer");
            let s = Spread::of(&out.samples_ns);
            common(&mut record, &out);
            record
                .push("p50_us", format!("{:.1}", s.p50_us))
                .push("p99_us", format!("{:.1}", s.p99_us))
                .push("max_us", format!("{:.1}", s.max_us))
                .push("early", s.negative);
        }
        Workload::PingPong => {
            let out = rt::run(runtime, Job::PingPong { trips: size.n })?;
            common(&mut record, &out);
            record.push("ns_per_round_trip", per_op(&out, size.n));
        }
        Workload::TcpEcho => {
            let trips = size.m.max(1);
            let job = Job::TcpEcho {
                conns: size.n,
                trips,
            };
            let out = rt::run(runtime, job)?;
            assert_eq!(out.samples_ns.len(), size.n * trips, "one latency per trip");
            let s = Spread::of(&out.samples_ns);
            let per_s = (size.n * trips) as f64 / out.wall.as_secs_f64();
            common(&mut record, &out);
            record
                .push("round_trips_per_s", format!("{per_s:.0}"))
                .push("p99_us", format!("{:.1}", s.p99_us));
        }
        Workload::FanIn => {
            let items = size.m.max(1);
            let job = Job::FanIn {
                producers: size.n,
                items,
            };
            let out = rt::run(runtime, job)?;
            common(&mut record, &out);
            record.push("ns_per_item", per_op(&out, size.n * items));
        }
        Workload::LockContention => {
            let iters = size.m.max(1);
            let job = Job::LockContention {
                tasks: size.n,
                iters,
            };
            let out = rt::run(runtime, job)?;
            common(&mut record, &out);
            record.push("ns_per_op", per_op(&out, size.n * iters));
        }
        Workload::AcceptStorm => {
            let out = rt::run(runtime, Job::AcceptStorm { conns: size.n })?;
            let per_s = size.n as f64 / out.wall.as_secs_f64();
            common(&mut record, &out);
            record.push("conns_per_s", format!("{per_s:.0}"));
        }
    }
    Ok(record)
}

fn per_op(out: &Outcome, ops: usize) -> String {
    format!("{:.3}", out.wall.as_nanos() as f64 / ops.max(1) as f64)
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
