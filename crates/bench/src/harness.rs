//! The parent side: for each workload and size, run every runtime once per round in a fresh
//! child process (`boucle-bench worker RUNTIME WORKLOAD SIZE`, or `python/worker.py` for the
//! Python peers), interleaved A B C A B C ..., throw away the first (warm-up) round, and keep
//! the parsed result lines for the report.

use std::fmt;
use std::io::{self, Read};
use std::path::PathBuf;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::thread;
use std::time::{Duration, Instant};

use crate::python::{self, Python};
use crate::report::{self, WorkloadResults};
use crate::rt::{Runtime, BACKGROUND_ENV};
use crate::stats::{Record, Reply};
use crate::workload::{Size, Workload};
use crate::{doc, instructions, targets};

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
    /// Also count instructions with callgrind (`--instructions`, and `all`).
    pub instructions: bool,
    /// Write BENCHMARKS.md and the README's headline table.
    pub write_benchmarks: bool,
    /// The command as typed, for BENCHMARKS.md.
    pub command: String,
    /// Timers armed (1 h away) through every run: the background load of STYLE rule 23.
    pub background_timers: usize,
}

/// Why a run has no numbers.
#[derive(Clone, Debug, PartialEq)]
pub enum RunError {
    /// It crashed, gave a wrong result, printed no result line, or ran out of time.
    Failed(String),
    /// The runtime cannot run this workload here (not built yet, no io_uring, no uvloop).
    Unavailable(String),
}

impl fmt::Display for RunError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RunError::Failed(e) => write!(f, "failed: {e}"),
            RunError::Unavailable(e) => write!(f, "unavailable: {e}"),
        }
    }
}

/// One child's result, or why there is none.
pub type RunResult = Result<Record, RunError>;

/// How to start a worker for each runtime.
pub struct Launcher {
    exe: PathBuf,
    background_timers: usize,
    /// `None` when no Python peer is planned; `Err` when Python cannot run at all.
    python: Option<Result<Python, String>>,
}

impl Launcher {
    pub fn new(plan: &Plan) -> io::Result<Launcher> {
        let python = plan
            .runtimes
            .iter()
            .any(|r| r.is_python())
            .then(python::setup);
        match &python {
            Some(Ok(py)) => match &py.uvloop {
                Ok(v) => eprintln!(
                    "python: {} ({}), uvloop {v}",
                    py.interpreter.display(),
                    py.version
                ),
                Err(e) => println!(
                    "python: {} ({}); uvloop UNAVAILABLE: {e}",
                    py.interpreter.display(),
                    py.version
                ),
            },
            Some(Err(e)) => eprintln!("python: unavailable: {e}"),
            None => {}
        }
        Ok(Launcher {
            exe: std::env::current_exe()?,
            background_timers: plan.background_timers,
            python,
        })
    }

    /// A command for this binary, with the background load in its environment.
    pub fn exe_command(&self) -> Command {
        let mut cmd = Command::new(&self.exe);
        cmd.env(BACKGROUND_ENV, self.background_timers.to_string());
        cmd
    }

    pub fn python(&self) -> Option<&Python> {
        self.python.as_ref()?.as_ref().ok()
    }

    /// The command that runs `workload` at `size` on `rt`, or why none can.
    pub fn command(&self, rt: Runtime, workload: Workload, size: Size) -> Result<Command, String> {
        let args = [
            rt.name().to_owned(),
            workload.name().to_owned(),
            size.to_string(),
        ];
        if !rt.is_python() {
            let mut cmd = self.exe_command();
            cmd.arg("worker").args(args);
            return Ok(cmd);
        }
        let py = match &self.python {
            Some(Ok(py)) => py,
            Some(Err(e)) => return Err(format!("no Python: {e}")),
            None => return Err("Python was not set up".to_owned()),
        };
        if rt == Runtime::Uvloop {
            if let Err(e) = &py.uvloop {
                return Err(e.clone());
            }
        }
        let mut cmd = Command::new(&py.interpreter);
        cmd.env(BACKGROUND_ENV, self.background_timers.to_string())
            .arg(&py.script)
            .args(args);
        Ok(cmd)
    }
}

pub fn run(plan: &Plan) -> io::Result<()> {
    if cfg!(debug_assertions) {
        eprintln!("warning: boucle-bench was built without --release; its numbers mean little");
    }
    let started = Instant::now();
    let launcher = Launcher::new(plan)?;
    let header = report::header(plan);
    eprintln!("{header}");
    let mut all = Vec::new();
    for &workload in &plan.workloads {
        for size in workload.sizes(plan.quick) {
            let results = run_workload(&launcher, plan, workload, size);
            // Print each table as soon as it is ready: a full run takes minutes.
            println!("{}", report::table(&results).to_text());
            all.push(results);
        }
    }
    let counts = plan
        .instructions
        .then(|| instructions::run(&launcher, plan));
    if let Some(counts) = &counts {
        println!("{}", counts.table().to_text());
    }
    let verdicts = targets::evaluate(&all);
    if !all.is_empty() {
        println!("{}", targets::table(&verdicts, plan.quick).to_text());
        println!("{}", doc::headline_table(&all).to_text());
    }
    let elapsed = started.elapsed();
    eprintln!("done in {:.0} s", elapsed.as_secs_f64());
    let info = doc::RunInfo::collect(plan, &launcher, elapsed);
    if let Some(path) = &plan.markdown {
        std::fs::write(
            path,
            doc::benchmarks_md(&info, &all, &verdicts, counts.as_ref()),
        )?;
        eprintln!("markdown written to {}", path.display());
    }
    if plan.write_benchmarks {
        let path = python::repo_root().join("BENCHMARKS.md");
        std::fs::write(
            &path,
            doc::benchmarks_md(&info, &all, &verdicts, counts.as_ref()),
        )?;
        eprintln!("wrote {}", path.display());
        doc::update_readme(&python::repo_root().join("README.md"), &all, &verdicts)?;
    }
    Ok(())
}

fn run_workload(
    launcher: &Launcher,
    plan: &Plan,
    workload: Workload,
    size: Size,
) -> WorkloadResults {
    let mut runs: Vec<Vec<RunResult>> = vec![Vec::new(); plan.runtimes.len()];
    // A runtime found unavailable is not started again for this workload.
    let mut unavailable: Vec<Option<RunError>> = vec![None; plan.runtimes.len()];
    for round in 0..=plan.runs {
        for (slot, &rt) in plan.runtimes.iter().enumerate() {
            let result = match &unavailable[slot] {
                Some(e) => Err(e.clone()),
                None => {
                    let result = run_worker(launcher, rt, workload, size, plan.timeout);
                    progress(workload, size, rt, round, plan.runs, &result);
                    result
                }
            };
            if let Err(e @ RunError::Unavailable(_)) = &result {
                unavailable[slot] = Some(e.clone());
            }
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

fn progress(w: Workload, size: Size, rt: Runtime, round: usize, rounds: usize, result: &RunResult) {
    let which = if round == 0 {
        "warm-up".to_owned()
    } else {
        format!("round {round}/{rounds}")
    };
    let metric = w.primary();
    let name = format!("{} {size}", w.name());
    match result {
        Ok(rec) => eprintln!(
            "  {name:<24} {which:<11} {:<12} {} {}",
            rt.name(),
            rec.get(metric.key).unwrap_or("?"),
            metric.label
        ),
        Err(e) => eprintln!("  {name:<24} {which:<11} {:<12} {e}", rt.name()),
    }
}

/// Runs one worker process and parses its result line.
pub fn run_worker(
    launcher: &Launcher,
    rt: Runtime,
    workload: Workload,
    size: Size,
    timeout: Duration,
) -> RunResult {
    let mut cmd = launcher
        .command(rt, workload, size)
        .map_err(RunError::Unavailable)?;
    let (status, stdout, stderr) = run_child(&mut cmd, timeout).map_err(RunError::Failed)?;
    let fail = RunError::Failed;
    match status {
        Some(status) if status.success() => match Reply::find_in(&stdout) {
            Ok(Reply::Result(rec)) => Ok(rec),
            Ok(Reply::Unavailable(why)) => Err(RunError::Unavailable(why)),
            Err(e) => Err(fail(format!("{e}; stderr: {}", tail(&stderr)))),
        },
        Some(status) => Err(fail(format!("{}: {}", describe(status), tail(&stderr)))),
        None => Err(fail(format!("killed after {} s", timeout.as_secs()))),
    }
}

/// Runs `cmd` with piped output; the status is `None` when it was killed at `timeout`.
pub fn run_child(
    cmd: &mut Command,
    timeout: Duration,
) -> Result<(Option<ExitStatus>, String, String), String> {
    let mut child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("cannot start {:?}: {e}", cmd.get_program()))?;
    // Drain both pipes on threads so a chatty child never blocks on a full pipe.
    let stdout = drain(child.stdout.take());
    let stderr = drain(child.stderr.take());
    let status = wait_with_timeout(&mut child, timeout);
    let stdout = stdout.join().unwrap_or_default();
    let stderr = stderr.join().unwrap_or_default();
    let status = status.map_err(|e| format!("waiting for the worker: {e}"))?;
    Ok((status, stdout, stderr))
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

pub fn describe(status: ExitStatus) -> String {
    use std::os::unix::process::ExitStatusExt;
    match (status.code(), status.signal()) {
        (Some(code), _) => format!("exit code {code}"),
        (None, Some(sig)) => format!("killed by signal {sig}"),
        _ => status.to_string(),
    }
}

/// The most telling line of a child's stderr: the panic message if there is one.
pub fn tail(stderr: &str) -> String {
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
