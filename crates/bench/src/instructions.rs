//! `--instructions`: instructions per operation under callgrind for the single-threaded
//! workloads (spawn_join, yield_many, timeout_churn, ping_pong) on the single-threaded Rust
//! runtimes. Instruction counts do not drift with the machine's load, so they compare
//! runtimes where wall times are noisy.
//!
//! Each (runtime, workload) runs twice, at size N and 2N, and the count per operation is
//! (I(2N) - I(N)) / (ops(2N) - ops(N)): process start, runtime construction and teardown
//! cancel out.

use std::process::Command;
use std::time::Duration;

use crate::harness::{self, Launcher, Plan};
use crate::report::{fmt_num, Table};
use crate::rt::Runtime;
use crate::stats::{Reply, UNAVAILABLE_TAG};
use crate::workload::{Size, Workload};

/// Instruction counts of one workload: per runtime, instructions per operation.
#[derive(Debug)]
pub struct Row {
    pub workload: Workload,
    pub size: Size,
    pub per_op: Vec<(Runtime, Result<f64, String>)>,
}

#[derive(Debug, Default)]
pub struct Counts {
    pub rows: Vec<Row>,
    pub notes: Vec<String>,
}

/// The smaller of the two sizes counted.
pub fn base_size(workload: Workload, quick: bool) -> Size {
    let n = if quick { 10_000 } else { 20_000 };
    match workload {
        // As many tasks per loop iteration as the timed quick run, so per-iteration costs
        // are shared alike.
        Workload::YieldMany => Size::nxm(n / 100, 100),
        _ => Size::n(n),
    }
}

pub fn run(launcher: &Launcher, plan: &Plan) -> Counts {
    let mut counts = Counts::default();
    if let Err(e) = ensure_valgrind() {
        counts
            .notes
            .push(format!("instruction counts unavailable: {e}"));
        return counts;
    }
    let runtimes: Vec<Runtime> = plan
        .runtimes
        .iter()
        .copied()
        .filter(|r| r.is_single_threaded_rust())
        .collect();
    let workloads = if plan.workloads.is_empty() {
        Workload::ALL.to_vec()
    } else {
        plan.workloads.clone()
    };
    for workload in workloads.into_iter().filter(|w| w.counts_instructions()) {
        let size = base_size(workload, plan.quick);
        let per_op = runtimes
            .iter()
            .map(|&rt| {
                let n = per_op(launcher, rt, workload, size);
                match &n {
                    Ok(x) => eprintln!(
                        "  callgrind {:<14} {:<7} {x:.0} instr/op",
                        workload.name(),
                        rt.name()
                    ),
                    Err(e) => eprintln!("  callgrind {:<14} {:<7} {e}", workload.name(), rt.name()),
                }
                (rt, n)
            })
            .collect();
        counts.rows.push(Row {
            workload,
            size,
            per_op,
        });
    }
    counts.notes.push(
        "instructions per operation = (I(2N) - I(N)) / N operations, counted by \
         `valgrind --tool=callgrind` over the whole worker process, so start-up cancels out"
            .to_owned(),
    );
    counts
}

fn per_op(launcher: &Launcher, rt: Runtime, workload: Workload, size: Size) -> Result<f64, String> {
    let small = count(launcher, rt, workload, size)?;
    let big = count(launcher, rt, workload, size.times(2))?;
    let ops = workload.ops(size.times(2)) - workload.ops(size);
    Ok((big as f64 - small as f64) / ops as f64)
}

/// The instructions callgrind counts for one worker process.
fn count(launcher: &Launcher, rt: Runtime, workload: Workload, size: Size) -> Result<u64, String> {
    let worker = launcher.exe_command();
    let mut cmd = Command::new("valgrind");
    cmd.args(["--tool=callgrind", "--callgrind-out-file=/dev/null"])
        .arg(worker.get_program())
        .args(["worker", rt.name(), workload.name(), &size.to_string()])
        .envs(worker.get_envs().filter_map(|(k, v)| Some((k, v?))));
    let (status, stdout, stderr) = harness::run_child(&mut cmd, Duration::from_secs(600))?;
    match status {
        Some(s) if s.success() => {}
        Some(s) => {
            return Err(format!(
                "{}: {}",
                harness::describe(s),
                harness::tail(&stderr)
            ))
        }
        None => return Err("killed after 600 s".to_owned()),
    }
    if stdout.contains(UNAVAILABLE_TAG) {
        if let Ok(Reply::Unavailable(why)) = Reply::find_in(&stdout) {
            return Err(format!("unavailable: {why}"));
        }
    }
    collected(&stderr).ok_or_else(|| "no `Collected :` line in callgrind's output".to_owned())
}

/// The number in callgrind's `==PID== Collected : N` line.
pub fn collected(stderr: &str) -> Option<u64> {
    stderr.lines().find_map(|l| {
        let rest = l.split_once("Collected :")?.1;
        rest.split_whitespace().next()?.parse().ok()
    })
}

/// Finds valgrind, installing it with apt-get when missing and running as root.
fn ensure_valgrind() -> Result<(), String> {
    let works = || {
        Command::new("valgrind")
            .arg("--version")
            .output()
            .is_ok_and(|o| o.status.success())
    };
    if works() {
        return Ok(());
    }
    let root = Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| o.stdout.starts_with(b"0"));
    if !root {
        return Err("valgrind is not installed (apt-get install -y valgrind)".to_owned());
    }
    eprintln!("installing valgrind (apt-get install -y valgrind)");
    let _ = Command::new("apt-get").args(["update", "-qq"]).output();
    let _ = Command::new("apt-get")
        .args(["install", "-y", "-qq", "valgrind"])
        .output();
    if works() {
        Ok(())
    } else {
        Err("valgrind is not installed and apt-get install -y valgrind failed".to_owned())
    }
}

impl Counts {
    pub fn table(&self) -> Table {
        let mut runtimes: Vec<Runtime> = Vec::new();
        for row in &self.rows {
            for (rt, _) in &row.per_op {
                if !runtimes.contains(rt) {
                    runtimes.push(*rt);
                }
            }
        }
        let mut headers = vec!["benchmark".to_owned(), "N".to_owned()];
        headers.extend(runtimes.iter().map(|r| format!("{} instr/op", r.name())));
        let peers: Vec<Runtime> = runtimes
            .iter()
            .copied()
            .filter(|&r| r != Runtime::Boucle)
            .collect();
        headers.extend(peers.iter().map(|r| format!("boucle/{}", r.name())));
        let mut rows = Vec::new();
        let mut notes = Vec::new();
        for row in &self.rows {
            let get = |rt: Runtime| {
                row.per_op
                    .iter()
                    .find(|(r, _)| *r == rt)
                    .and_then(|(_, n)| n.as_ref().ok().copied())
            };
            let mut cells = vec![row.workload.bench_name().to_owned(), row.size.to_string()];
            for &rt in &runtimes {
                cells.push(get(rt).map_or_else(|| "n/a".to_owned(), fmt_num));
            }
            for &peer in &peers {
                let ratio = match (get(Runtime::Boucle), get(peer)) {
                    (Some(b), Some(p)) if p > 0.0 => format!("{:.2}", b / p),
                    _ => "n/a".to_owned(),
                };
                cells.push(ratio);
            }
            rows.push(cells);
            for (rt, n) in &row.per_op {
                if let Err(e) = n {
                    notes.push(format!("{} {}: {e}", row.workload.name(), rt.name()));
                }
            }
        }
        notes.extend(self.notes.iter().cloned());
        Table {
            title: "Instructions per operation (callgrind; lower is better)".to_owned(),
            headers,
            rows,
            notes,
            left: 1,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn callgrind_total_is_parsed() {
        let stderr = "==12== Callgrind, a call-graph generating cache profiler\n\
                      ==12== Events    : Ir\n==12== Collected : 123456789\n==12== \n\
                      ==12== I   refs:      123,456,789\n";
        assert_eq!(collected(stderr), Some(123_456_789));
        assert_eq!(collected("nothing"), None);
    }

    #[test]
    fn table_has_ratios_against_each_peer() {
        let counts = Counts {
            rows: vec![Row {
                workload: Workload::SpawnJoin,
                size: Size::n(10_000),
                per_op: vec![
                    (Runtime::Boucle, Ok(200.0)),
                    (Runtime::Tokio, Ok(800.0)),
                    (Runtime::Smol, Err("boom".into())),
                ],
            }],
            notes: vec![],
        };
        let t = counts.table();
        assert_eq!(
            t.headers,
            [
                "benchmark",
                "N",
                "boucle instr/op",
                "tokio instr/op",
                "smol instr/op",
                "boucle/tokio",
                "boucle/smol"
            ]
        );
        assert_eq!(
            t.rows[0],
            [
                "task::spawn_join",
                "10000",
                "200",
                "800",
                "n/a",
                "0.25",
                "n/a"
            ]
        );
        assert_eq!(t.notes, ["spawn_join smol: boom"]);
    }

    #[test]
    fn sizes_double_cleanly() {
        let s = base_size(Workload::YieldMany, true);
        assert_eq!(s, Size::nxm(100, 100));
        assert_eq!(
            Workload::YieldMany.ops(s.times(2)) - Workload::YieldMany.ops(s),
            10_000
        );
    }
}
