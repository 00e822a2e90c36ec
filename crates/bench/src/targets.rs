//! The performance targets, checked against the measured runs: each target names
//! its workload, the numbers it reads, and the bound; `evaluate` says met or missed, so
//! nobody edits a verdict by hand. Pure: unit-tested on made-up results.

use crate::report::{fmt_num, Table, WorkloadResults};
use crate::rt::Runtime;
use crate::stats;
use crate::workload::{Better, Workload, BYTES_PER_TASK, EARLY, INVERSIONS};

/// One condition on boucle's numbers, read from the largest size measured of `workload`.
#[derive(Clone, Copy, Debug)]
enum Check {
    /// Median over rounds of `key` at most `limit`.
    AtMost {
        workload: Workload,
        key: &'static str,
        limit: f64,
        unit: &'static str,
    },
    /// `key` is 0 in every round.
    Zero {
        workload: Workload,
        key: &'static str,
    },
    /// boucle at least `factor` times better than the best Rust peer (paired ratios).
    BeatsRustPeers { workload: Workload, factor: f64 },
    /// boucle at least `factor` times better than `peer` (paired ratios).
    Beats {
        workload: Workload,
        peer: Runtime,
        factor: f64,
    },
}

impl Check {
    fn workload(&self) -> Workload {
        match *self {
            Check::AtMost { workload, .. }
            | Check::Zero { workload, .. }
            | Check::BeatsRustPeers { workload, .. }
            | Check::Beats { workload, .. } => workload,
        }
    }
}

/// A target of the issue: every check must hold.
#[derive(Clone, Debug)]
pub struct Target {
    pub name: &'static str,
    checks: Vec<Check>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Status {
    Met,
    Missed,
    /// No number to judge (boucle unavailable, or the workload was not run).
    NotMeasured(String),
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Verdict {
    pub target: &'static str,
    pub measured: String,
    pub status: Status,
}

fn at_most(workload: Workload, key: &'static str, limit: f64, unit: &'static str) -> Check {
    Check::AtMost {
        workload,
        key,
        limit,
        unit,
    }
}

fn beats_uvloop(workload: Workload, factor: f64) -> Check {
    Check::Beats {
        workload,
        peer: Runtime::Uvloop,
        factor,
    }
}

/// boucle's time at most `1 / factor` of tokio's (current_thread), as paired ratios.
fn beats_tokio(workload: Workload, factor: f64) -> Check {
    Check::Beats {
        workload,
        peer: Runtime::Tokio,
        factor,
    }
}

/// The targets of issue 4, then those of the core issue.
pub fn all() -> Vec<Target> {
    use Workload::*;
    let t = |name, checks| Target { name, checks };
    vec![
        t(
            "spawn_join <= 60 ns/task",
            vec![at_most(SpawnJoin, "ns_per_task", 60.0, "ns")],
        ),
        t(
            "yield_many <= 25 ns/yield",
            vec![at_most(YieldMany, "ns_per_yield", 25.0, "ns")],
        ),
        t(
            "ping_pong <= 100 ns/round trip",
            vec![at_most(PingPong, "ns_per_round_trip", 100.0, "ns")],
        ),
        t(
            "timeout_churn <= 80 ns/iter",
            vec![at_most(TimeoutChurn, "ns_per_iter", 80.0, "ns")],
        ),
        t(
            "wait_n 10^6: overhead <= 250 ms, 0 inversions",
            vec![
                at_most(WaitN, "overhead_ms", 250.0, "ms"),
                Check::Zero {
                    workload: WaitN,
                    key: INVERSIONS.key,
                },
            ],
        ),
        t(
            "bytes/task at 10^6 tasks <= 100 (spawn_join, wait_n)",
            vec![
                at_most(SpawnJoin, BYTES_PER_TASK.key, 100.0, "B"),
                at_most(WaitN, BYTES_PER_TASK.key, 100.0, "B"),
            ],
        ),
        t(
            "timer_lateness p99 <= 100 us, 0 early",
            vec![
                at_most(TimerLateness, "p99_us", 100.0, "us"),
                Check::Zero {
                    workload: TimerLateness,
                    key: EARLY.key,
                },
            ],
        ),
        t(
            "tcp_echo round trips/s >= 1.1x the best Rust peer",
            vec![Check::BeatsRustPeers {
                workload: TcpEcho,
                factor: 1.1,
            }],
        ),
        t(
            "spawn_join >= 20x uvloop",
            vec![beats_uvloop(SpawnJoin, 20.0)],
        ),
        t(
            "yield_many >= 20x uvloop",
            vec![beats_uvloop(YieldMany, 20.0)],
        ),
        t(
            "ping_pong >= 20x uvloop",
            vec![beats_uvloop(PingPong, 20.0)],
        ),
        t(
            "timeout_churn >= 20x uvloop",
            vec![beats_uvloop(TimeoutChurn, 20.0)],
        ),
        t("tcp_echo >= 2x uvloop", vec![beats_uvloop(TcpEcho, 2.0)]),
        t(
            "fan_in <= 0.5x tokio mpsc (ns/item)",
            vec![beats_tokio(FanIn, 2.0)],
        ),
        t(
            "lock_contention <= 0.5x tokio Mutex (ns/op)",
            vec![beats_tokio(LockContention, 2.0)],
        ),
        // The core issue's ("The core, completed").
        t(
            "core: bytes/task at 10^6 tasks <= 96 (spawn_join)",
            vec![at_most(SpawnJoin, BYTES_PER_TASK.key, 96.0, "B")],
        ),
        t(
            "core: fan_in <= monoio (ns/item)",
            vec![Check::Beats {
                workload: FanIn,
                peer: Runtime::Monoio,
                factor: 1.0,
            }],
        ),
        t(
            "core: timer_lateness p99 <= 50 us, 0 early",
            vec![
                at_most(TimerLateness, "p99_us", 50.0, "us"),
                Check::Zero {
                    workload: TimerLateness,
                    key: EARLY.key,
                },
            ],
        ),
    ]
}

/// Judges the targets of [`all`] that read a workload present in `results`.
pub fn evaluate(results: &[WorkloadResults]) -> Vec<Verdict> {
    all()
        .iter()
        .filter(|t| {
            t.checks
                .iter()
                .any(|c| results.iter().any(|r| r.workload == c.workload()))
        })
        .map(|t| judge(t, results))
        .collect()
}

/// The results of the largest size of `workload` that was measured.
fn headline(results: &[WorkloadResults], workload: Workload) -> Option<&WorkloadResults> {
    results
        .iter()
        .filter(|r| r.workload == workload)
        .max_by_key(|r| r.size.n * r.size.m.max(1))
}

fn judge(target: &Target, results: &[WorkloadResults]) -> Verdict {
    let mut measured = Vec::new();
    let mut status = Status::Met;
    for check in &target.checks {
        match check_one(check, results) {
            Ok((text, ok)) => {
                measured.push(text);
                if !ok && status == Status::Met {
                    status = Status::Missed;
                }
            }
            Err(why) => {
                return Verdict {
                    target: target.name,
                    measured: "-".to_owned(),
                    status: Status::NotMeasured(why),
                }
            }
        }
    }
    Verdict {
        target: target.name,
        measured: measured.join(", "),
        status,
    }
}

/// The measured text and whether it meets the check; `Err` says why there is no number.
fn check_one(check: &Check, results: &[WorkloadResults]) -> Result<(String, bool), String> {
    let workload = check.workload();
    let res = headline(results, workload).ok_or_else(|| format!("{} not run", workload.name()))?;
    let at = format!("{} {}", workload.name(), res.size.short());
    let boucle = res.slot(Runtime::Boucle).ok_or("boucle not run")?;
    let missing = |rt: Runtime| match res.slot(rt).and_then(|s| res.unavailable(s)) {
        Some(why) => format!("{} {}: {why}", at, rt.name()),
        None => format!("{at}: no successful {} run", rt.name()),
    };
    match *check {
        Check::AtMost {
            key, limit, unit, ..
        } => {
            let s = res
                .summary(boucle, key)
                .ok_or_else(|| missing(Runtime::Boucle))?;
            Ok((
                format!("{} {unit} ({at})", fmt_num(s.median)),
                s.median <= limit,
            ))
        }
        Check::Zero { key, .. } => {
            let s = res
                .summary(boucle, key)
                .ok_or_else(|| missing(Runtime::Boucle))?;
            Ok((
                format!("{} {} (worst round)", fmt_num(s.max), key),
                s.max == 0.0,
            ))
        }
        Check::BeatsRustPeers { factor, .. } => {
            res.summary(boucle, workload.primary().key)
                .ok_or_else(|| missing(Runtime::Boucle))?;
            let worst = res
                .runtimes
                .iter()
                .filter(|r| !r.is_python() && **r != Runtime::Boucle)
                .filter_map(|&peer| Some((peer, advantage(res, peer)?)))
                .min_by(|a, b| a.1.total_cmp(&b.1))
                .ok_or_else(|| format!("{at}: no Rust peer measured"))?;
            Ok((
                format!("{:.2}x {} ({at})", worst.1, worst.0.name()),
                worst.1 >= factor,
            ))
        }
        Check::Beats { peer, factor, .. } => {
            res.summary(boucle, workload.primary().key)
                .ok_or_else(|| missing(Runtime::Boucle))?;
            let x = advantage(res, peer).ok_or_else(|| missing(peer))?;
            // "Level or better" needs the second decimal to be read.
            let digits = if factor <= 1.0 { 2 } else { 1 };
            Ok((format!("{x:.digits$}x ({at})"), x >= factor))
        }
    }
}

/// How many times better boucle is than `peer` on the primary metric (median of paired
/// ratios): peer/boucle for times, boucle/peer for rates.
fn advantage(res: &WorkloadResults, peer: Runtime) -> Option<f64> {
    let key = res.workload.primary().key;
    let (b, p) = (res.slot(Runtime::Boucle)?, res.slot(peer)?);
    let (num, den) = match res.workload.primary().better {
        Better::Lower => (res.values(p, key), res.values(b, key)),
        Better::Higher => (res.values(b, key), res.values(p, key)),
    };
    stats::median(&stats::paired_ratios(&num, &den))
}

impl Status {
    pub fn word(&self) -> String {
        match self {
            Status::Met => "met".to_owned(),
            Status::Missed => "missed".to_owned(),
            Status::NotMeasured(why) => format!("not measured ({why})"),
        }
    }
}

/// The verdicts as a table.
pub fn table(verdicts: &[Verdict], quick: bool) -> Table {
    let rows = verdicts
        .iter()
        .map(|v| vec![v.target.to_owned(), v.measured.clone(), v.status.word()])
        .collect();
    let mut notes = Vec::new();
    if quick {
        notes.push("quick sizes: indicative only; the targets are defined at full sizes".into());
    }
    Table {
        title: "Targets (boucle; computed by boucle-bench)".to_owned(),
        headers: vec!["target".into(), "measured (median)".into(), "status".into()],
        rows,
        notes,
        left: 3,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::harness::RunError;
    use crate::stats::Record;
    use crate::workload::Size;

    fn runs(key: &str, values: &[f64]) -> Vec<crate::harness::RunResult> {
        values
            .iter()
            .map(|v| {
                let mut r = Record::new();
                r.push(key, v)
                    .push("inversions", 0)
                    .push("bytes_per_task", 80);
                Ok(r)
            })
            .collect()
    }

    fn res(
        w: Workload,
        size: Size,
        cols: Vec<(Runtime, Vec<crate::harness::RunResult>)>,
    ) -> WorkloadResults {
        WorkloadResults {
            workload: w,
            size,
            runtimes: cols.iter().map(|c| c.0).collect(),
            runs: cols.into_iter().map(|c| c.1).collect(),
        }
    }

    fn verdict<'a>(v: &'a [Verdict], name: &str) -> &'a Verdict {
        v.iter().find(|v| v.target.starts_with(name)).unwrap()
    }

    #[test]
    fn bounds_and_ratios_are_judged() {
        let k = "ns_per_task";
        let results = vec![res(
            Workload::SpawnJoin,
            Size::n(1_000_000),
            vec![
                (Runtime::Boucle, runs(k, &[50.0, 55.0, 70.0])),
                (Runtime::Tokio, runs(k, &[300.0, 310.0, 290.0])),
                (Runtime::Uvloop, runs(k, &[900.0, 1000.0, 1500.0])),
            ],
        )];
        let v = evaluate(&results);
        let sj = verdict(&v, "spawn_join <= 60");
        assert_eq!(sj.status, Status::Met);
        assert_eq!(sj.measured, "55 ns (spawn_join 10^6)");
        // Paired: 900/50 = 18, 1000/55 = 18.2, 1500/70 = 21.4: median 18.2 < 20.
        let uv = verdict(&v, "spawn_join >= 20x uvloop");
        assert_eq!(uv.status, Status::Missed);
        assert_eq!(uv.measured, "18.2x (spawn_join 10^6)");
        let bytes = verdict(&v, "bytes/task");
        assert!(matches!(&bytes.status, Status::NotMeasured(w) if w.contains("wait_n not run")));
    }

    #[test]
    fn throughput_compares_against_the_best_rust_peer() {
        let k = "round_trips_per_s";
        let results = vec![res(
            Workload::TcpEcho,
            Size::nxm(100, 2000),
            vec![
                (Runtime::Boucle, runs(k, &[120.0, 130.0, 125.0])),
                (Runtime::Tokio, runs(k, &[100.0, 100.0, 100.0])),
                (Runtime::Smol, runs(k, &[115.0, 115.0, 115.0])),
                (Runtime::Asyncio, runs(k, &[10.0, 10.0, 10.0])),
            ],
        )];
        let v = evaluate(&results);
        let t = verdict(&v, "tcp_echo round trips/s");
        // smol is the best Rust peer: 125/115 = 1.09 < 1.1.
        assert_eq!(t.status, Status::Missed);
        assert!(t.measured.starts_with("1.09x smol"), "{}", t.measured);
        let uv = verdict(&v, "tcp_echo >= 2x uvloop");
        assert!(matches!(uv.status, Status::NotMeasured(_)));
    }

    #[test]
    fn zero_checks_read_the_worst_round_and_unavailable_is_reported() {
        let wait = runs("overhead_ms", &[100.0, 120.0, 110.0]);
        let results = vec![
            res(
                Workload::WaitN,
                Size::over(10_000, 1000),
                vec![(Runtime::Boucle, runs("overhead_ms", &[1.0]))],
            ),
            res(
                Workload::WaitN,
                Size::over(1_000_000, 1000),
                vec![(Runtime::Boucle, wait)],
            ),
            res(
                Workload::PingPong,
                Size::n(1_000_000),
                vec![(
                    Runtime::Boucle,
                    vec![Err(RunError::Unavailable("no Queue yet".into()))],
                )],
            ),
        ];
        let v = evaluate(&results);
        let w = verdict(&v, "wait_n");
        // The largest size is judged, not the 10^4 one.
        assert_eq!(w.status, Status::Met);
        assert!(
            w.measured.starts_with("110 ms (wait_n 10^6)"),
            "{}",
            w.measured
        );
        let pp = verdict(&v, "ping_pong <= 100");
        assert_eq!(
            pp.status,
            Status::NotMeasured("ping_pong 10^6 boucle: no Queue yet".into())
        );
        let t = table(&v, true);
        // Only the targets on wait_n and ping_pong (two of them read ping_pong).
        assert_eq!(t.rows.len(), 4);
        assert_eq!(t.notes.len(), 1);
    }

    #[test]
    fn sync_targets_compare_with_tokio_paired() {
        let k = "ns_per_item";
        let results = vec![res(
            Workload::FanIn,
            Size::nxm(100, 10_000),
            vec![
                (Runtime::Boucle, runs(k, &[10.0, 20.0, 12.0])),
                (Runtime::Tokio, runs(k, &[25.0, 30.0, 30.0])),
                (Runtime::Monoio, runs(k, &[11.0, 19.0, 11.0])),
            ],
        )];
        let v = evaluate(&results);
        assert_eq!(v.len(), 2, "fan_in against tokio and against monoio");
        // Paired: 2.5, 1.5, 2.5: median 2.5 >= 2.
        let f = verdict(&v, "fan_in <= 0.5x tokio");
        assert_eq!(f.status, Status::Met);
        assert_eq!(f.measured, "2.5x (fan_in 100x10^4)");
        // Paired: 1.1, 0.95, 0.92: median 0.95 < 1.
        let m = verdict(&v, "core: fan_in <= monoio");
        assert_eq!(m.status, Status::Missed);
        assert_eq!(m.measured, "0.95x (fan_in 100x10^4)");
        let results = vec![res(
            Workload::LockContention,
            Size::nxm(1_000, 1_000),
            vec![
                (Runtime::Boucle, runs("ns_per_op", &[60.0, 60.0, 60.0])),
                (Runtime::Tokio, runs("ns_per_op", &[100.0, 110.0, 90.0])),
            ],
        )];
        let l = verdict(&evaluate(&results), "lock_contention").clone();
        assert_eq!(l.status, Status::Missed);
    }

    #[test]
    fn a_nonzero_round_misses() {
        let mut rounds = runs("p99_us", &[50.0, 60.0, 55.0]);
        let mut late = Record::new();
        late.push("p99_us", 40).push("early", 2);
        rounds.push(Ok(late));
        let results = vec![res(
            Workload::TimerLateness,
            Size::over(100_000, 2000),
            vec![(Runtime::Boucle, rounds)],
        )];
        let v = evaluate(&results);
        let t = verdict(&v, "timer_lateness");
        assert_eq!(t.status, Status::Missed);
        assert_eq!(
            t.measured,
            "52.5 us (timer_lateness 10^5), 2 early (worst round)"
        );
    }
}
