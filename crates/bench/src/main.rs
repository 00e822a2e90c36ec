//! `boucle-bench`: boucle and its peers (tokio current_thread and multi_thread, smol, monoio
//! on epoll and io_uring, Python asyncio and uvloop) side by side, one fresh process per
//! measured run.
//!
//! ```text
//! boucle-bench [all|WORKLOAD...] [--quick] [--instructions] [--write-benchmarks] ...
//! boucle-bench worker RUNTIME WORKLOAD SIZE
//! ```
//!
//! The first form is the harness (see `harness.rs`); the second is what it re-executes for
//! each run: one workload on one runtime, then one `key=value` result line on stdout.

#![forbid(unsafe_code)]

mod doc;
mod fs_hash_tree;
mod fs_tokio;
mod harness;
mod http;
mod instructions;
mod python;
mod report;
mod rt;
mod shards;
mod stats;
mod targets;
mod worker;
mod workload;

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use harness::Plan;
use rt::Runtime;
use workload::Workload;

const USAGE: &str = "\
usage: boucle-bench [all|WORKLOAD...] [--quick] [--runs N] [--runtimes LIST] [--timeout SECS]
                    [--instructions] [--no-instructions] [--write-benchmarks] [--markdown PATH]
                    [--background-timers N]
       boucle-bench worker RUNTIME WORKLOAD SIZE
       boucle-bench fs_hash_tree [--runs N] [--files N] [--jobs N]
       boucle-bench http [fetch] [hello] [--runs N] [--quick]   (see src/http/mod.rs)
       boucle-bench shards [echo] [hello] [hello_load] [--runs N] [--quick]  (see src/shards/mod.rs)

  all               every workload and size, then the instruction counts; a full (not
                    --quick) `all` also writes BENCHMARKS.md and the README's headline table

workloads (full sizes; --quick runs smaller ones, the whole `all --quick` in about 2 min):
  spawn_join      task::   spawn 10^6 tasks returning their index, await each (ns/task)
  yield_many      task::   1,000 tasks x 1,000 yield_now() (ns/yield)
  wait_n          time::   N = 10^4, 10^5, 10^6 tasks sleeping uniform [0, 1 s): overhead
                           beyond the longest delay, inversions, bytes/task
  timeout_churn   time::   10^6 sequential timeout(1 s, yield_now()) (ns/iter)
  timer_lateness  time::   10^5 tasks sleeping until start + 1 s + uniform [0, 2 s):
                           lateness p50/p99/max (us) by Instant::now(), early fires
  ping_pong       sync::   10^6 round trips through two bounded(1) queues (ns/round trip)
  fan_in          sync::   100 producers x 10,000 items into one unbounded queue, one
                           consumer (ns/item)
  lock_contention sync::   1,000 tasks x 1,000 lock/unlock, yielding while holding (ns/op)
  tcp_echo        net::    100 loopback connections x 2,000 round trips of 64 B (round
                           trips/s, p99 latency us)
  accept_storm    net::    10^4 loopback connections opened and closed, 100 at a time
                           (connections/s)
runtimes: boucle, tokio (current_thread), tokio-mt (multi_thread, 2 workers), smol
          (LocalExecutor), monoio (legacy epoll), monoio-uring (io_uring, if the kernel
          allows), asyncio and uvloop (python/worker.py in the venv .venv-bench)

  --quick             small sizes
  --runs N            counted rounds after one warm-up round (default 5, at least 5)
  --runtimes LIST     comma-separated subset, in interleaving order (default: all)
  --timeout SECS      kill a run after SECS seconds and count it as failed (default 600)
  --instructions      count instructions per operation with callgrind (spawn_join,
                      yield_many, timeout_churn, ping_pong); alone, only that
  --no-instructions   skip them in `all`
  --write-benchmarks  write BENCHMARKS.md and the README's headline table
  --markdown PATH     also write the BENCHMARKS.md text to PATH
  --background-timers N  background load (STYLE rule 23): every worker first arms N timers
                      1 h away and keeps them armed, unfired, through its workload

SIZE for the worker: N, NxM (tasks x yields, connections x round trips) or N/Tms (timers).";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if let Some(code) = http_entry(&args) {
        return code;
    }
    // fs::hash_tree compares whole programs (boucle files, sha256sum, xargs,
    // tokio::fs), not runtimes in the worker: its own harness.
    let own = |res: Result<(), String>, who: &str| match res {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("boucle-bench {who}: {e}");
            ExitCode::FAILURE
        }
    };
    match args.first().map(String::as_str) {
        Some("fs_hash_tree" | "fs::hash_tree") => {
            return own(fs_hash_tree::main(&args[1..]), "fs_hash_tree")
        }
        Some("fs-tokio-worker") => return own(fs_tokio::main(&args[1..]), "fs-tokio-worker"),
        _ => {}
    }
    if args.first().map(String::as_str) == Some("worker") {
        return match worker::main(&args[1..]) {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("boucle-bench worker: {e}");
                ExitCode::from(2)
            }
        };
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

/// `http ...` (the HTTP benchmarks) and `http-worker ...` (their child processes).
fn http_entry(args: &[String]) -> Option<ExitCode> {
    let run = match args.first().map(String::as_str) {
        Some("http") => http::main,
        Some("http-worker") => http::servers::main,
        Some("shards") => shards::main,
        Some("shard-worker") => shards::worker,
        _ => return None,
    };
    Some(match run(&args[1..]) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("boucle-bench {}: {e}", args[0]);
            ExitCode::FAILURE
        }
    })
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
        instructions: false,
        write_benchmarks: false,
        command: format!("cargo run --release -p boucle-bench -- {}", args.join(" "))
            .trim_end()
            .to_owned(),
        background_timers: 0,
    };
    let (mut all, mut no_instructions) = (false, false);
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
            "--instructions" => plan.instructions = true,
            "--no-instructions" => no_instructions = true,
            "--write-benchmarks" => plan.write_benchmarks = true,
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
            "--background-timers" => {
                let v = value("--background-timers")?;
                plan.background_timers = v
                    .replace('_', "")
                    .parse()
                    .map_err(|_| format!("--background-timers: bad number `{v}`"))?;
            }
            "all" => {
                all = true;
                plan.workloads.extend(Workload::ALL);
            }
            flag if flag.starts_with('-') => return Err(format!("unknown option `{flag}`")),
            name => plan
                .workloads
                .push(Workload::parse(name).ok_or_else(|| format!("unknown workload `{name}`"))?),
        }
    }
    if all {
        plan.instructions = !no_instructions;
        plan.write_benchmarks |= !plan.quick;
    } else if no_instructions {
        plan.instructions = false;
    }
    if plan.workloads.is_empty() && !plan.instructions {
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
        assert!(!plan.quick && !plan.instructions && !plan.write_benchmarks);
        assert_eq!(plan.command, "cargo run --release -p boucle-bench --");
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
        let plan = parse_plan(&args("--background-timers 1_000_000"))
            .unwrap()
            .unwrap();
        assert_eq!(plan.background_timers, 1_000_000);
        assert!(parse_plan(&args("--background-timers many")).is_err());
    }

    #[test]
    fn all_counts_instructions_and_writes_only_at_full_size() {
        let plan = parse_plan(&args("all")).unwrap().unwrap();
        assert_eq!(plan.workloads, Workload::ALL);
        assert!(plan.instructions && plan.write_benchmarks);
        assert_eq!(plan.command, "cargo run --release -p boucle-bench -- all");
        let plan = parse_plan(&args("all --quick --no-instructions"))
            .unwrap()
            .unwrap();
        assert!(!plan.instructions && !plan.write_benchmarks);
        let plan = parse_plan(&args("--quick all --write-benchmarks"))
            .unwrap()
            .unwrap();
        assert!(plan.write_benchmarks);
        let plan = parse_plan(&args("--instructions")).unwrap().unwrap();
        assert!(plan.instructions && plan.workloads.is_empty());
        let plan = parse_plan(&args("ping_pong sync::ping_pong"))
            .unwrap()
            .unwrap();
        assert_eq!(plan.workloads, [Workload::PingPong]);
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
