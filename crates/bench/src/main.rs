//! `boucle-bench`: boucle and its peers (tokio, monoio) side by side, one fresh process per
//! measured run.
//!
//! ```text
//! boucle-bench [all|WORKLOAD...] [--quick] [--runs N] [--runtimes LIST] [--markdown PATH]
//! boucle-bench worker RUNTIME WORKLOAD SIZE
//! ```
//!
//! The first form is the harness (see `harness.rs`); the second is what it re-executes for
//! each run: one workload on one runtime, then one `key=value` result line on stdout.

#![forbid(unsafe_code)]

mod harness;
mod report;
mod rt;
mod stats;
mod workload;

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use harness::Plan;
use rt::Runtime;
use workload::{Size, Workload};

const USAGE: &str = "\
usage: boucle-bench [all|WORKLOAD...] [--quick] [--runs N] [--runtimes LIST] [--markdown PATH]
                    [--timeout SECS]
       boucle-bench worker RUNTIME WORKLOAD SIZE

workloads:  spawn_join  spawn N tasks returning their index, await each in order (ns/task)
            yield_many  T tasks x Y yield_now() each (ns/yield)
            wait_n      N tasks sleeping seeded random delays in [0, 1 s) (overhead ms)
runtimes:   boucle, tokio (current_thread), monoio (legacy epoll driver)

  --quick          small sizes (100,000 / 100x1,000 / 10,000) instead of full ones
  --runs N         counted rounds after one warm-up round (default 5, at least 5)
  --runtimes LIST  comma-separated subset, in interleaving order (default: all built)
  --markdown PATH  also write the tables as markdown to PATH
  --timeout SECS   kill a run after SECS seconds and count it as failed (default 600)

SIZE for the worker: N, or TASKSxYIELDS for yield_many.";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.first().map(String::as_str) == Some("worker") {
        return worker(&args[1..]);
    }
    match parse_plan(&args) {
        Ok(Some(plan)) => match harness::run(&plan) {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("boucle-bench: {e}");
                ExitCode::FAILURE
            }
        },
        Ok(None) => {
            println!("{USAGE}");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("boucle-bench: {e}\n\n{USAGE}");
            ExitCode::from(2)
        }
    }
}

/// `worker RUNTIME WORKLOAD SIZE`: one run in this process, one result line on stdout.
/// Failures (bad arguments, a wrong result) panic, which the parent reports.
fn worker(args: &[String]) -> ExitCode {
    let [rt, workload, size] = args else {
        eprintln!("usage: boucle-bench worker RUNTIME WORKLOAD SIZE");
        return ExitCode::from(2);
    };
    let parsed = (|| {
        let rt = Runtime::parse(rt).ok_or_else(|| format!("unknown runtime `{rt}`"))?;
        if !rt.is_built() {
            return Err(format!("built without the `{}` feature", rt.name()));
        }
        let workload =
            Workload::parse(workload).ok_or_else(|| format!("unknown workload `{workload}`"))?;
        let size: Size = size.parse()?;
        Ok::<_, String>((rt, workload, size))
    })();
    match parsed {
        Ok((rt, workload, size)) => {
            println!("{}", workload::work(rt, workload, size));
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("boucle-bench worker: {e}");
            ExitCode::from(2)
        }
    }
}

/// The harness's arguments; `Ok(None)` for `--help`.
fn parse_plan(args: &[String]) -> Result<Option<Plan>, String> {
    let mut plan = Plan {
        workloads: Vec::new(),
        runtimes: Runtime::ALL.into_iter().filter(|r| r.is_built()).collect(),
        quick: false,
        runs: 5,
        markdown: None,
        timeout: Duration::from_secs(600),
    };
    let mut it = args.iter();
    while let Some(arg) = it.next() {
        let mut value = |flag: &str| {
            it.next()
                .cloned()
                .ok_or_else(|| format!("{flag} needs a value"))
        };
        match arg.as_str() {
            "-h" | "--help" | "help" => return Ok(None),
            "--quick" => plan.quick = true,
            "--runs" => {
                let v = value("--runs")?;
                plan.runs = v.parse().map_err(|_| format!("--runs: bad number `{v}`"))?;
                if plan.runs < 5 {
                    return Err(format!("--runs {}: count at least 5 rounds", plan.runs));
                }
            }
            "--markdown" => plan.markdown = Some(PathBuf::from(value("--markdown")?)),
            "--timeout" => {
                let v = value("--timeout")?;
                let secs: u64 = v
                    .parse()
                    .map_err(|_| format!("--timeout: bad number `{v}`"))?;
                plan.timeout = Duration::from_secs(secs.max(1));
            }
            "--runtimes" => plan.runtimes = parse_runtimes(&value("--runtimes")?)?,
            "all" => plan.workloads.extend(Workload::ALL),
            flag if flag.starts_with('-') => return Err(format!("unknown option `{flag}`")),
            name => plan
                .workloads
                .push(Workload::parse(name).ok_or_else(|| format!("unknown workload `{name}`"))?),
        }
    }
    if plan.workloads.is_empty() {
        plan.workloads.extend(Workload::ALL);
    }
    let mut seen = Vec::new();
    plan.workloads.retain(|w| {
        let first = !seen.contains(w);
        seen.push(*w);
        first
    });
    Ok(Some(plan))
}

fn parse_runtimes(list: &str) -> Result<Vec<Runtime>, String> {
    let mut runtimes = Vec::new();
    for name in list.split(',').map(str::trim).filter(|s| !s.is_empty()) {
        let rt = Runtime::parse(name).ok_or_else(|| format!("unknown runtime `{name}`"))?;
        if !rt.is_built() {
            return Err(format!(
                "runtime `{name}` needs the `{name}` feature (built without it)"
            ));
        }
        if !runtimes.contains(&rt) {
            runtimes.push(rt);
        }
    }
    if runtimes.is_empty() {
        return Err("--runtimes: name at least one runtime".to_owned());
    }
    Ok(runtimes)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(s: &str) -> Vec<String> {
        s.split_whitespace().map(str::to_owned).collect()
    }

    #[test]
    fn plan_defaults_to_every_workload() {
        let plan = parse_plan(&[]).unwrap().unwrap();
        assert_eq!(plan.workloads, Workload::ALL);
        assert_eq!(plan.runs, 5);
        assert!(!plan.quick);
    }

    #[test]
    fn plan_reads_flags_and_dedups_workloads() {
        let plan = parse_plan(&args(
            "wait_n --quick spawn_join wait_n --runs 7 --runtimes tokio,monoio --markdown x.md",
        ))
        .unwrap()
        .unwrap();
        assert_eq!(plan.workloads, [Workload::WaitN, Workload::SpawnJoin]);
        assert_eq!(plan.runtimes, [Runtime::Tokio, Runtime::Monoio]);
        assert_eq!(plan.runs, 7);
        assert!(plan.quick);
        assert_eq!(plan.markdown, Some(PathBuf::from("x.md")));
    }

    #[test]
    fn plan_rejects_bad_input() {
        assert!(parse_plan(&args("--runs 3")).is_err());
        assert!(parse_plan(&args("--runs")).is_err());
        assert!(parse_plan(&args("nope")).is_err());
        assert!(parse_plan(&args("--frobnicate")).is_err());
        assert!(parse_plan(&args("--runtimes ,")).is_err());
        assert!(parse_plan(&args("--help")).unwrap().is_none());
    }
}
