//! The parent side: for each workload, run every runtime once per round in a fresh child
//! process (`boucle-bench worker RUNTIME WORKLOAD SIZE`), interleaved A B C A B C ..., throw
//! away the first (warm-up) round, and keep the parsed result lines for the report.

use std::io::{self, Read};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::thread;
use std::time::{Duration, Instant};

use crate::report::{self, WorkloadResults};
use crate::rt::Runtime;
use crate::stats::Record;
use crate::workload::{Size, Workload};

/// Everything the command line decided.
#[derive(Debug)]
pub struct Plan {
    pub workloads: Vec<Workload>,
    pub runtimes: Vec<Runtime>,
    pub quick: bool,
    /// Counted rounds; one more warm-up round runs first and is discarded.
    pub runs: usize,
    pub markdown: Option<PathBuf>,
    /// A run that takes longer is killed and counted as failed.
    pub timeout: Duration,
}

/// One child's result, or why there is none.
pub type RunResult = Result<Record, String>;

pub fn run(plan: &Plan) -> io::Result<()> {
    let exe = std::env::current_exe()?;
    if cfg!(debug_assertions) {
        eprintln!("warning: boucle-bench was built without --release; its numbers mean little");
    }
    let header = report::header(plan);
    eprintln!("{header}");
    let mut all = Vec::new();
    for &workload in &plan.workloads {
        let size = workload.default_size(plan.quick);
        let results = run_workload(&exe, plan, workload, size);
        let table = report::table(&results);
        // Print each table as soon as it is ready: a full run takes minutes.
        println!("{}", table.to_text());
        all.push(table);
    }
    if let Some(path) = &plan.markdown {
        std::fs::write(path, report::markdown(&header, &all))?;
        eprintln!("markdown written to {}", path.display());
    }
    Ok(())
}

fn run_workload(exe: &Path, plan: &Plan, workload: Workload, size: Size) -> WorkloadResults {
    let mut runs: Vec<Vec<RunResult>> = vec![Vec::new(); plan.runtimes.len()];
    for round in 0..=plan.runs {
        for (slot, &rt) in plan.runtimes.iter().enumerate() {
            let result = run_worker(exe, rt, workload, size, plan.timeout);
            progress(workload, rt, round, plan.runs, &result);
            if round > 0 {
                runs[slot].push(result);
            }
        }
    }
    WorkloadResults {
        workload,
        size,
        runtimes: plan.runtimes.clone(),
        runs,
    }
}

fn progress(workload: Workload, rt: Runtime, round: usize, rounds: usize, result: &RunResult) {
    let which = if round == 0 {
        "warm-up".to_owned()
    } else {
        format!("round {round}/{rounds}")
    };
    let metric = workload.primary();
    match result {
        Ok(rec) => eprintln!(
            "  {:<11} {which:<11} {:<7} {} {}",
            workload.name(),
            rt.name(),
            rec.get(metric.key).unwrap_or("?"),
            metric.label
        ),
        Err(e) => eprintln!(
            "  {:<11} {which:<11} {:<7} FAILED: {e}",
            workload.name(),
            rt.name()
        ),
    }
}

/// Runs one worker process and parses its result line.
pub fn run_worker(
    exe: &Path,
    rt: Runtime,
    workload: Workload,
    size: Size,
    timeout: Duration,
) -> RunResult {
    let mut child = Command::new(exe)
        .args(["worker", rt.name(), workload.name(), &size.to_string()])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("cannot start {}: {e}", exe.display()))?;
    // Drain both pipes on threads so a chatty child never blocks on a full pipe.
    let stdout = drain(child.stdout.take());
    let stderr = drain(child.stderr.take());
    let status = wait_with_timeout(&mut child, timeout);
    let stdout = stdout.join().unwrap_or_default();
    let stderr = stderr.join().unwrap_or_default();
    match status {
        Ok(Some(status)) if status.success() => {
            Record::find_in(&stdout).map_err(|e| format!("{e}; stderr: {}", tail(&stderr)))
        }
        Ok(Some(status)) => Err(format!("{}: {}", describe(status), tail(&stderr))),
        Ok(None) => Err(format!("killed after {} s", timeout.as_secs())),
        Err(e) => Err(format!("waiting for the worker: {e}")),
    }
}

fn drain(pipe: Option<impl Read + Send + 'static>) -> thread::JoinHandle<String> {
    thread::spawn(move || {
        let mut text = String::new();
        if let Some(mut pipe) = pipe {
            // A read error only truncates what we show; the exit status still tells.
            let _ = pipe.read_to_string(&mut text);
        }
        text
    })
}

/// The child's exit status, or `None` when it ran past `timeout` and was killed.
fn wait_with_timeout(child: &mut Child, timeout: Duration) -> io::Result<Option<ExitStatus>> {
    let deadline = Instant::now() + timeout;
    loop {
        if let Some(status) = child.try_wait()? {
            return Ok(Some(status));
        }
        if Instant::now() >= deadline {
            child.kill()?;
            child.wait()?;
            return Ok(None);
        }
        // The child measures itself; this poll only bounds how late the parent notices.
        thread::sleep(Duration::from_millis(10));
    }
}

fn describe(status: ExitStatus) -> String {
    use std::os::unix::process::ExitStatusExt;
    match (status.code(), status.signal()) {
        (Some(code), _) => format!("exit code {code}"),
        (None, Some(sig)) => format!("killed by signal {sig}"),
        _ => status.to_string(),
    }
}

/// The most telling line of a child's stderr: the panic message if there is one.
fn tail(stderr: &str) -> String {
    let lines: Vec<&str> = stderr.lines().filter(|l| !l.trim().is_empty()).collect();
    let panic_at = lines.iter().position(|l| l.contains("panicked at"));
    let picked = match panic_at {
        // The message follows the "panicked at file:line:col:" line.
        Some(i) => [lines.get(i), lines.get(i + 1)]
            .into_iter()
            .flatten()
            .copied()
            .collect::<Vec<_>>()
            .join(" "),
        None => lines.last().copied().unwrap_or("(no stderr)").to_owned(),
    };
    picked.chars().take(300).collect()
}

#[cfg(test)]
mod tests {
    use super::tail;

    #[test]
    fn tail_picks_the_panic_message() {
        let stderr = "\nthread 'main' panicked at src/rt/boucle_rt.rs:25:17:\n\
                      boucle: task 3 failed\nnote: run with `RUST_BACKTRACE=1`\n";
        assert_eq!(
            tail(stderr),
            "thread 'main' panicked at src/rt/boucle_rt.rs:25:17: boucle: task 3 failed"
        );
        assert_eq!(tail("first\nlast\n\n"), "last");
        assert_eq!(tail(""), "(no stderr)");
    }
}
