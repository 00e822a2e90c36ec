//! `boucle demo`: a guided tour of the course project, with the schedule
//! drawn as the course notes draw it ("Tâche A ---->").
//!
//! Each part runs on its own traced runtime (so each timeline starts at 0),
//! seeded from the demo's seed: the same seed gives the same tour.

use std::future::Future;
use std::time::{Duration, Instant};

use boucle::trace::{TaskSpan, Trace};
use boucle::{Runtime, Task};
use clap::Args;

use crate::args::{parse_delay, Failure};
use crate::commands::{measure_time_seeded, Run};
use crate::course;
use crate::output::{self, secs, secs_f64, TIMELINE_WIDTH};
use crate::say;
use crate::RunOpts;

/// Options of `boucle demo`.
#[derive(Args, Debug, Clone)]
pub struct DemoArgs {
    /// Virtual time, the default for the demo: instant and deterministic
    #[arg(long = "virtual", conflicts_with = "real")]
    virtual_time: bool,
    /// Real time: the waits really wait (about a minute)
    #[arg(long)]
    real: bool,
    /// Largest random delay of the tour, in seconds (finite, >= 0)
    #[arg(long, value_name = "SECS", default_value = "3", value_parser = parse_delay,
          allow_hyphen_values = true)]
    max_delay: f64,
    #[command(flatten)]
    run: RunOpts,
}

/// Columns of the course-style diagrams.
const DIAGRAM_WIDTH: usize = 40;

struct Tour {
    run: Run,
    max: f64,
    traces: Vec<(String, Trace)>,
}

/// Runs the tour.
pub fn run(a: &DemoArgs) -> Result<(), Failure> {
    let mut run = Run::new(&a.run, !a.real)?;
    // The demo draws its own timelines; `finish` only writes the trace file.
    run.timeline = false;
    let mut tour = Tour {
        run,
        max: a.max_delay,
        traces: Vec::new(),
    };
    let started = Instant::now();
    tour.header();
    tour.part1_dire_apres()?;
    tour.part1_three_waits()?;
    tour.part2_wait_n()?;
    tour.part3_task_wait_n()?;
    tour.part4_measure_time();
    tour.part5_comprehension()?;
    tour.footer(started.elapsed());
    let Tour { run, traces, .. } = tour;
    run.finish(&traces)
}

/// Spawns `fut` as a task with a name (shown in the timelines).
fn named<F>(name: &str, fut: F) -> Task<F::Output>
where
    F: Future + 'static,
    F::Output: 'static,
{
    boucle::task::Builder::new().name(name).spawn(fut)
}

/// The course 003's `dire_apres`: sleeps, then prints its message with the
/// loop time since `t0`.
async fn dire_apres(delai: u64, message: &'static str, t0: Instant) {
    boucle::sleep(Duration::from_secs(delai)).await;
    say!("    [{}] {message}", secs(boucle::now() - t0));
}

impl Tour {
    /// A traced runtime for part `k`, seeded from the demo's seed.
    fn runtime(&self, k: u64) -> Result<Runtime, Failure> {
        self.run
            .builder()
            .seed(self.run.seed.wrapping_add(k))
            .trace(true)
            .build()
            .map_err(|e| Failure::runtime(format!("cannot start the event loop: {e}")))
    }

    fn keep(&mut self, rt: &Runtime, label: &str) -> Trace {
        let trace = rt.trace().unwrap_or_default();
        self.traces.push((label.to_string(), trace.clone()));
        trace
    }

    fn header(&self) {
        say!("boucle demo : visite guidée du projet du cours (guided tour of the course project)");
        if self.run.virtual_time {
            say!("Temps virtuel (virtual time): the clock jumps to the next timer, so the tour");
            say!("runs instantly, with the times it would take. --real runs it in real time.");
        } else {
            say!("Temps réel (real time): every wait really waits; about a minute with --max-delay 3.");
        }
        say!("{}", self.run.seed_line());
        say!("max_delay = {} s for the random waits below.", self.max);
    }

    fn section(title: &str) {
        say!();
        say!("{title}");
        say!("{}", "=".repeat(title.chars().count()));
    }

    /// Part 1a: course 003, 1 s + 2 s = 3 s in sequence, 2 s with tasks.
    fn part1_dire_apres(&mut self) -> Result<(), Failure> {
        Self::section("1. Séquentiel vs concurrent (sequential vs concurrent)");
        say!("Cours 003 : dire_apres(1, \"Bonjour\") et dire_apres(2, \"Monde\").");
        say!();
        say!("a) Séquentiel : await l'une, puis l'autre (one after the other)");
        let rt = self.runtime(1)?;
        let ((), seq) = Run::timed(&rt, async {
            let t0 = boucle::now();
            say!("    Démarré");
            let _ = named("dire_apres(1, Bonjour)", dire_apres(1, "Bonjour", t0)).await;
            let _ = named("dire_apres(2, Monde)", dire_apres(2, "Monde", t0)).await;
            say!("    Terminé");
        });
        let seq_trace = self.keep(&rt, "1a sequential: dire_apres");
        drop(rt);
        print_timeline(&seq_trace, seq);
        say!("Temps total (total time): {}", secs(seq));

        say!();
        say!("b) Concurrent : create_task pour les deux, puis await (both tasks first)");
        let rt = self.runtime(1)?;
        let ((), conc) = Run::timed(&rt, async {
            let t0 = boucle::now();
            let task1 = named("dire_apres(1, Bonjour)", dire_apres(1, "Bonjour", t0));
            let task2 = named("dire_apres(2, Monde)", dire_apres(2, "Monde", t0));
            say!("    Démarré");
            let _ = task1.await;
            let _ = task2.await;
            say!("    Terminé");
        });
        let conc_trace = self.keep(&rt, "1b concurrent: dire_apres");
        drop(rt);
        print_timeline(&conc_trace, seq);
        say!("Temps total (total time): {}", secs(conc));
        say!();
        say!(
            "=> {} séquentiel, {} concurrent : les attentes se chevauchent,",
            secs(seq),
            secs(conc)
        );
        say!("   le total est la plus longue, pas la somme (the waits overlap: the total");
        say!("   is the longest wait, not the sum).");
        Ok(())
    }

    /// Part 1b: three random waits, drawn as the course 000 draws them.
    fn part1_three_waits(&mut self) -> Result<(), Failure> {
        let max = self.max;
        let names = ["Tâche A", "Tâche B", "Tâche C"];
        say!();
        say!("c) Trois wait_random({max}) : l'une après l'autre, puis en tâches concurrentes");
        let rt = self.runtime(2)?;
        let (seq_delays, seq) = Run::timed(&rt, async move {
            let mut delays = Vec::new();
            for name in names {
                let task = named(name, course::wait_random(max));
                delays.push(task.await.unwrap_or(f64::NAN));
            }
            delays
        });
        let seq_spans = self.keep(&rt, "1c sequential: wait_random x3").tasks();
        drop(rt);
        let rt = self.runtime(2)?;
        let (conc_delays, conc) = Run::timed(&rt, async move {
            let tasks: Vec<_> = names
                .iter()
                .map(|name| named(name, course::wait_random(max)))
                .collect();
            let mut delays = Vec::new();
            for task in tasks {
                delays.push(task.await.unwrap_or(f64::NAN));
            }
            delays
        });
        let conc_spans = self.keep(&rt, "1c concurrent: wait_random x3").tasks();
        drop(rt);

        let scale = DIAGRAM_WIDTH as f64 / seq.as_secs_f64().max(1e-9);
        say!();
        say!("Exécution Séquentielle :");
        say!("{}", sequential_diagram(&seq_spans, scale));
        say!(
            "    {} = {}",
            seq_delays
                .iter()
                .map(|d| format!("{d:.3}"))
                .collect::<Vec<_>>()
                .join(" + "),
            secs(seq)
        );
        say!();
        say!("Exécution Asynchrone (create_task) :");
        for line in concurrent_diagram(&conc_spans, scale) {
            say!("{line}");
        }
        say!(
            "    max({}) = {}",
            conc_delays
                .iter()
                .map(|d| format!("{d:.3}"))
                .collect::<Vec<_>>()
                .join(", "),
            secs(conc)
        );

        let rt = self.runtime(2)?;
        let (delays, took) = Run::timed(&rt, course::wait_n(3, max));
        self.keep(&rt, "1c wait_n(3)");
        say!();
        say!(
            "wait_n(3, {max}) fait de même pour n tâches (the same for n tasks):\n  {} in {}",
            output::list(&delays, 3),
            secs(took)
        );
        Ok(())
    }

    /// Part 2: wait_n, results in completion order = ascending.
    fn part2_wait_n(&mut self) -> Result<(), Failure> {
        let max = self.max;
        Self::section(&format!(
            "2. wait_n(5, {max}) : ordre de fin = ordre croissant, sans sort()"
        ));
        let rt = self.runtime(3)?;
        let (delays, took) = Run::timed(&rt, course::wait_n(5, max));
        let trace = self.keep(&rt, "2 wait_n(5)");
        drop(rt);
        say!("wait_n(5, {max}) = {}", output::list(&delays, 3));
        say!("{}", output::list_summary(&delays));
        say!("Chaque tâche ajoute son délai quand elle finit : la plus courte finit la");
        say!("première, donc la liste sort triée (each result is appended as its task ends).");
        print_timeline(&trace, took);
        say!(
            "Temps de boucle (loop time): {} = le plus long délai (the longest delay)",
            secs(took)
        );
        Ok(())
    }

    /// Part 3: task_wait_n, the same with explicit tasks.
    fn part3_task_wait_n(&mut self) -> Result<(), Failure> {
        let max = self.max;
        Self::section(&format!(
            "3. task_wait_n(5, {max}) : la même chose avec des Task (task_wait_random)"
        ));
        let rt = self.runtime(3)?;
        let (delays, took) = Run::timed(&rt, course::task_wait_n(5, max));
        let trace = self.keep(&rt, "3 task_wait_n(5)");
        drop(rt);
        let rt = self.runtime(3)?;
        let (again, _) = Run::timed(&rt, course::wait_n(5, max));
        drop(rt);
        say!("task_wait_n(5, {max}) = {}", output::list(&delays, 3));
        say!("{}", output::list_summary(&delays));
        say!(
            "Même graine, même liste que wait_n (same seed, same list as wait_n): {}",
            if again == delays {
                "oui (yes)"
            } else {
                "non (no)"
            }
        );
        print_timeline(&trace, took);
        if let Some(span) = trace.tasks().into_iter().find(|s| s.end.is_some()) {
            say!("{}", lifecycle(&span));
        }
        Ok(())
    }

    /// Part 4: measure_time for growing n.
    fn part4_measure_time(&mut self) {
        let max = self.max;
        Self::section(&format!(
            "4. measure_time(n, {max}) : temps moyen par tâche (average time per task)"
        ));
        let how = if self.run.virtual_time {
            "measure_time_with, virtual loop time"
        } else {
            "measure_time, real time"
        };
        say!("({how})");
        say!("The total is about max_delay whatever n, so the average falls as n grows:");
        say!("{:>8}  {:>14}  {:>16}", "n", "total", "per task");
        for (k, n) in [1usize, 10, 100, 1000].into_iter().enumerate() {
            let avg = measure_time_seeded(
                self.run.virtual_time,
                self.run.seed.wrapping_add(4 + k as u64),
                n,
                max,
            );
            say!(
                "{n:>8}  {:>14}  {:>16}",
                secs_f64(avg * n as f64),
                secs_f64(avg)
            );
        }
    }

    /// Part 5: async comprehension, four at once in about 10 s.
    fn part5_comprehension(&mut self) -> Result<(), Failure> {
        Self::section("5. Compréhension asynchrone (async comprehension)");
        say!("async_comprehension() collects 10 values from async_generator, which sleeps");
        say!("1 s before each value: 10 s. Four of them, as four tasks:");
        let rt = self.runtime(8)?;
        let (values, took) = Run::timed(&rt, async {
            let tasks: Vec<_> = (1..=4)
                .map(|i| {
                    named(
                        &format!("async_comprehension #{i}"),
                        course::async_comprehension(),
                    )
                })
                .collect();
            let mut values = Vec::new();
            for task in tasks {
                values.push(task.await.unwrap_or_default());
            }
            values
        });
        let trace = self.keep(&rt, "5 async_comprehension x4");
        drop(rt);
        print_timeline(&trace, took);
        if let Some(first) = values.first() {
            say!("async_comprehension #1 = {}", output::list(first, 3));
        }
        say!("Temps total (total time): {}", secs(took));
        let rt = self.runtime(9)?;
        let runtime = rt.block_on(course::measure_runtime());
        self.keep(&rt, "5 measure_runtime");
        drop(rt);
        say!(
            "measure_runtime() (gather! of four) = {} : environ 10 s, pas 40 (not 4 x 10 s)",
            secs(runtime)
        );
        Ok(())
    }

    fn footer(&self, wall: Duration) {
        Self::section("Résumé (summary)");
        say!("- await one after the other: the times add up (3 s);");
        say!("- create_task / wait_n: the waits overlap, the total is the longest (2 s);");
        say!("- tasks finish in the order of their delays, so wait_n returns them sorted;");
        say!("- one thread, one event loop: concurrency, not parallelism.");
        say!();
        say!("À essayer (try next):");
        say!("  boucle wait-n 10 5 --virtual --timeline");
        say!("  boucle measure-time 1000 10 --virtual");
        say!("  boucle demo --real");
        say!("{}", self.run.seed_line());
        if self.run.virtual_time {
            say!("(virtual time: the tour above took no real waiting)");
        } else {
            say!("(real time: the tour took {:.1} s)", wall.as_secs_f64());
        }
    }
}

/// The boucle timeline of `trace`, on a time axis of at least `until`.
fn print_timeline(trace: &Trace, until: Duration) {
    for line in output::timeline_until(trace, TIMELINE_WIDTH, until).lines() {
        say!("  {line}");
    }
}

/// How many dashes stand for a span's lifetime.
fn dashes(span: &TaskSpan, scale: f64) -> usize {
    let life = span
        .end
        .unwrap_or(span.start)
        .saturating_sub(span.start)
        .as_secs_f64();
    ((life * scale).round() as usize).max(1)
}

/// `Tâche A -----> Tâche B -----> Tâche C -----> Fin`, as course 000.
fn sequential_diagram(spans: &[TaskSpan], scale: f64) -> String {
    let mut line = String::new();
    for span in spans {
        line.push_str(&format!(
            "{} {}> ",
            span.label(),
            "-".repeat(dashes(span, scale))
        ));
    }
    line.push_str("Fin");
    line
}

/// One row per task, then `Fin` under the end of the longest, as course
/// 000's "Exécution Asynchrone".
fn concurrent_diagram(spans: &[TaskSpan], scale: f64) -> Vec<String> {
    let mut lines = Vec::new();
    let mut widest = 0;
    for span in spans {
        let line = format!("{} {}>", span.label(), "-".repeat(dashes(span, scale)));
        widest = widest.max(line.chars().count());
        lines.push(line);
    }
    lines.push(format!("{:width$}Fin", "", width = widest + 1));
    lines
}

/// Course 000's life cycle of one task, with the loop times from the trace.
fn lifecycle(span: &TaskSpan) -> String {
    let t = |d: Option<Duration>| d.map(secs).unwrap_or_else(|| "-".into());
    format!(
        "Cycle de vie de {} (life cycle, {} polls) :\n  \
         Création {} ──> Planifiée ──> En Cours {} ──> Terminée {}",
        span.label(),
        span.polls,
        secs(span.start),
        t(span.first_poll),
        t(span.end),
    )
}
