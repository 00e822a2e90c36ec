//! The course functions as subcommands: `wait-random`, `wait-n`,
//! `task-wait-n`, `measure-time`, `comprehension`.

use std::future::Future;
use std::time::{Duration, Instant};

use boucle::trace::Trace;
use boucle::Runtime;

use crate::args::{self, Failure, SeedSource};
use crate::course;
use crate::output::{self, clock_name, secs, secs_f64};
use crate::say;
use crate::trace_out::TraceFile;
use crate::RunOpts;

/// A run's settings, validated: clock, seed, what to draw afterwards.
pub struct Run {
    pub virtual_time: bool,
    pub seed: u64,
    pub seed_source: SeedSource,
    pub timeline: bool,
    trace_file: Option<TraceFile>,
}

impl Run {
    /// Resolves the seed and opens the trace file (usage errors, exit 2).
    pub fn new(opts: &RunOpts, virtual_time: bool) -> Result<Run, Failure> {
        let (seed, seed_source) = args::resolve_seed(opts.seed)?;
        let trace_file = TraceFile::open(&opts.trace)?;
        Ok(Run {
            virtual_time,
            seed,
            seed_source,
            timeline: opts.timeline,
            trace_file,
        })
    }

    /// Whether the runtime must record a trace.
    pub fn traced(&self) -> bool {
        self.timeline || self.trace_file.is_some()
    }

    /// `Runtime::builder()` with this run's clock, seed and tracing.
    pub fn builder(&self) -> boucle::Builder {
        Runtime::builder()
            .virtual_time(self.virtual_time)
            .seed(self.seed)
            .trace(self.traced())
    }

    /// A runtime built from [`Run::builder`].
    pub fn runtime(&self) -> Result<Runtime, Failure> {
        self.builder()
            .build()
            .map_err(|e| Failure::runtime(format!("cannot start the event loop: {e}")))
    }

    /// Runs `fut` on `rt`, returning its output and the loop time it took.
    pub fn timed<F: Future>(rt: &Runtime, fut: F) -> (F::Output, Duration) {
        rt.block_on(async {
            let start = boucle::now();
            let out = fut.await;
            (out, boucle::now() - start)
        })
    }

    /// The seed line, so the run can be repeated.
    pub fn seed_line(&self) -> String {
        let seed = self.seed;
        match self.seed_source {
            SeedSource::Flag => format!("seed: {seed} (from --seed)"),
            SeedSource::Env => {
                format!("seed: {seed} (from BOUCLE_SEED; --seed {seed} repeats this run)")
            }
            SeedSource::Random => format!("seed: {seed} (random; --seed {seed} repeats this run)"),
        }
    }

    /// After the run: the timeline and the trace file, if asked for.
    pub fn finish(self, traces: &[(String, Trace)]) -> Result<(), Failure> {
        if self.timeline {
            for (label, trace) in traces {
                say!();
                say!("timeline of {label} ({}):", clock_name(self.virtual_time));
                for line in output::timeline(trace, output::TIMELINE_WIDTH).lines() {
                    say!("{line}");
                }
            }
        }
        if let Some(file) = self.trace_file {
            say!("{}", file.write(traces)?);
        }
        Ok(())
    }
}

/// The trace of `rt`, labelled, if it recorded one.
pub fn trace_of(rt: &Runtime, label: &str) -> Vec<(String, Trace)> {
    rt.trace()
        .map(|t| (label.to_string(), t))
        .into_iter()
        .collect()
}

/// `wait-random [MAX_DELAY]`.
pub fn wait_random(run: Run, max_delay: f64) -> Result<(), Failure> {
    let rt = run.runtime()?;
    let (delay, took) = Run::timed(&rt, course::wait_random(max_delay));
    let d = output::decimals_for(1, max_delay);
    say!("wait_random({max_delay}) = {delay:.d$}");
    say!(
        "loop time: {} ({})",
        secs(took),
        clock_name(run.virtual_time)
    );
    say!("{}", run.seed_line());
    let traces = trace_of(&rt, &format!("wait_random({max_delay})"));
    run.finish(&traces)
}

/// Which of the two `wait_n` flavours to run.
#[derive(Debug, Clone, Copy)]
pub enum Flavour {
    /// `wait_n`: coroutines spawned by `wait_n` itself.
    Coroutines,
    /// `task_wait_n`: built on `task_wait_random` (explicit tasks).
    Tasks,
}

/// `wait-n N MAX_DELAY` and `task-wait-n N MAX_DELAY`.
pub fn wait_n(run: Run, flavour: Flavour, n: usize, max_delay: f64) -> Result<(), Failure> {
    args::check_memory(n, run.traced())?;
    let rt = run.runtime()?;
    let (name, (delays, took)) = match flavour {
        Flavour::Coroutines => ("wait_n", Run::timed(&rt, course::wait_n(n, max_delay))),
        Flavour::Tasks => (
            "task_wait_n",
            Run::timed(&rt, course::task_wait_n(n, max_delay)),
        ),
    };
    let d = output::decimals_for(n, max_delay);
    say!("{name}({n}, {max_delay}) = {}", output::list(&delays, d));
    say!("{}", output::list_summary(&delays));
    say!(
        "loop time: {} ({})",
        secs(took),
        clock_name(run.virtual_time)
    );
    say!("{}", run.seed_line());
    let traces = trace_of(&rt, &format!("{name}({n}, {max_delay})"));
    drop(rt);
    run.finish(&traces)
}

/// `measure_time(n, max_delay)` seeded as `run` says: `measure_time_with`
/// (loop time) in virtual time, `measure_time` (real time) otherwise.
pub fn measure_time_seeded(virtual_time: bool, seed: u64, n: usize, max_delay: f64) -> f64 {
    if virtual_time {
        let builder = Runtime::builder().virtual_time(true).seed(seed);
        course::measure_time_with(builder, n, max_delay)
    } else {
        // `measure_time` builds its own loop, seeded from BOUCLE_SEED: set
        // it so that the printed seed is the one used. The process has a
        // single thread here (no loop runs, so no blocking pool).
        std::env::set_var("BOUCLE_SEED", seed.to_string());
        course::measure_time(n, max_delay)
    }
}

/// `measure-time N MAX_DELAY`.
pub fn measure_time(run: Run, n: usize, max_delay: f64) -> Result<(), Failure> {
    if n == 0 {
        return Err(Failure::usage(
            "measure-time needs N >= 1: the average time of zero tasks is undefined",
        ));
    }
    args::check_memory(n, run.traced())?;
    let (per_task, traces) = if run.traced() {
        // `measure_time` runs its own loop, whose trace we cannot see: time
        // `wait_n` the same way on a traced loop of ours.
        let rt = run.runtime()?;
        let start = Instant::now();
        let (_, took) = Run::timed(&rt, course::wait_n(n, max_delay));
        let total = if run.virtual_time {
            took
        } else {
            start.elapsed()
        };
        let traces = trace_of(&rt, &format!("wait_n({n}, {max_delay})"));
        (total.as_secs_f64() / n as f64, traces)
    } else {
        let avg = measure_time_seeded(run.virtual_time, run.seed, n, max_delay);
        (avg, Vec::new())
    };
    let total = per_task * n as f64;
    say!(
        "measure_time({n}, {max_delay}) = {} per task",
        secs_f64(per_task)
    );
    say!(
        "total: {} for {} concurrent tasks ({}; in sequence: the sum of the delays)",
        secs_f64(total),
        args::group(n as u64),
        if run.virtual_time {
            "virtual loop time"
        } else {
            "real time"
        }
    );
    say!("{}", run.seed_line());
    run.finish(&traces)
}

/// `comprehension`: `async_comprehension()`, and `measure_runtime()` on
/// request.
pub fn comprehension(run: Run, measure_runtime: bool) -> Result<(), Failure> {
    let rt = run.runtime()?;
    let (values, took) = Run::timed(&rt, course::async_comprehension());
    say!(
        "async_comprehension() = {}",
        output::list(&values, output::decimals_for(values.len(), 10.0))
    );
    say!(
        "{} values from async_generator, one per 1 s sleep: loop time {} ({})",
        values.len(),
        secs(took),
        clock_name(run.virtual_time)
    );
    if measure_runtime {
        let runtime = rt.block_on(course::measure_runtime());
        say!(
            "measure_runtime() = {}: four comprehensions run concurrently take about 10 s, not 40",
            secs(runtime)
        );
    }
    say!("{}", run.seed_line());
    let traces = trace_of(&rt, "async_comprehension");
    run.finish(&traces)
}
