//! `boucle`: the course project of the seeds, run on the boucle event loop
//! and drawn as timelines. Parsing and dispatch live here; validation in
//! `args`, the subcommands in `commands` and `demo`, formatting in
//! `output`.

#![deny(unsafe_code)]

mod args;
mod commands;
mod demo;
mod fetch;
mod files;
mod net;
mod output;
mod ps;
mod trace_out;
mod trace_view;

use boucle_course as course;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::error::ErrorKind;
use clap::{Args, Parser, Subcommand};

use crate::args::{parse_count, parse_delay, parse_port, parse_positive, parse_seed, Failure};
use crate::commands::{Flavour, Run};
use crate::trace_out::TraceArgs;

const EXAMPLES: &str = "\
Examples:
  boucle demo                              guided tour, virtual time (instant)
  boucle demo --real                       the same tour in real time (about a minute)
  boucle wait-n 5 10 --virtual --seed 42   five random waits, in completion order
  boucle task-wait-n 10 3 --timeline       the same with tasks, then a timeline
  boucle measure-time 1000 10 --virtual    average time per task
  boucle wait-n 8 2 --trace-out t.json     trace for Perfetto (ui.perfetto.dev)
  boucle trace t.json                      ... drawn in the terminal
  boucle wait-n 8 2 --trace-out t.svg      an SVG timeline, for a browser
  boucle echo-server --port 9000           a line echo server on boucle::net
  boucle echo-client hello --port 9000     talk to it
  boucle files ~/src --jobs 64             size, lines and SHA-256 of every file
  boucle fetch -c 64 -i urls.txt --json    fetch many URLs at once, one JSON line each
  boucle ps PID                            the task tree of a running boucle program

Every run prints its seed; --seed S (or BOUCLE_SEED=S) repeats it exactly with --virtual.
Bad arguments print one line, `boucle: error: ...`, and exit with code 2.";

/// The asyncio course project on the boucle event loop: run it, time it,
/// see its tasks.
#[derive(Parser, Debug)]
#[command(name = "boucle", version, after_help = EXAMPLES)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

/// Options every subcommand takes.
#[derive(Args, Debug, Clone)]
pub struct RunOpts {
    /// Seed of the loop's random generator [default: $BOUCLE_SEED, else random]
    #[arg(long, value_name = "S", value_parser = parse_seed, allow_hyphen_values = true)]
    pub seed: Option<u64>,
    /// After the run, print an ASCII timeline of the tasks (one row per task)
    #[arg(long)]
    pub timeline: bool,
    #[command(flatten)]
    pub trace: TraceArgs,
}

/// `--virtual` and the common options.
#[derive(Args, Debug, Clone)]
struct ClockOpts {
    /// Virtual time: the clock jumps to the next timer, so the run is instant
    #[arg(long = "virtual")]
    virtual_time: bool,
    #[command(flatten)]
    run: RunOpts,
}

/// `N MAX_DELAY` and the common options.
#[derive(Args, Debug, Clone)]
struct CountArgs {
    /// Number of concurrent waits (0 to 10,000,000)
    #[arg(value_parser = parse_count, allow_hyphen_values = true)]
    n: usize,
    /// Largest random delay, in seconds (finite, 0 to 1e9)
    #[arg(value_parser = parse_delay, allow_hyphen_values = true)]
    max_delay: f64,
    #[command(flatten)]
    clock: ClockOpts,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Guided tour of the course project, with timelines (virtual time: instant)
    #[command(after_help = "\
Runs the course in five parts: 1 s + 2 s in sequence (3 s) vs with create_task
(2 s), three random waits drawn as the notes draw them, wait_n, task_wait_n,
measure_time, and async comprehensions. Timelines are always drawn.

Examples:
  boucle demo                  instant: virtual time
  boucle demo --seed 42        the same tour every time
  boucle demo --real           real time (about a minute with the default --max-delay 3)
  boucle demo --chrome-trace demo.json")]
    Demo(demo::DemoArgs),

    /// Sleep a random delay in [0, MAX_DELAY] seconds and print it (wait_random)
    #[command(after_help = "\
Examples:
  boucle wait-random                 MAX_DELAY defaults to 10
  boucle wait-random 2 --virtual --seed 7")]
    WaitRandom {
        /// Largest random delay, in seconds (finite, 0 to 1e9) [default: 10]
        #[arg(value_parser = parse_delay, allow_hyphen_values = true)]
        max_delay: Option<f64>,
        #[command(flatten)]
        clock: ClockOpts,
    },

    /// N concurrent random waits; their delays in completion order (wait_n)
    #[command(after_help = "\
All the waits start together; each delay is appended as its wait ends, so the
list comes out ascending without a sort. Prints the loop time taken.

Examples:
  boucle wait-n 5 10 --virtual --seed 42
  boucle wait-n 0 10                          prints []
  boucle wait-n 1000000 10 --virtual          count, ends of the list, order
  boucle wait-n 5 3 --timeline --chrome-trace wait_n.json")]
    WaitN(CountArgs),

    /// Like wait-n, with each wait an explicit task (task_wait_n)
    #[command(after_help = "\
Examples:
  boucle task-wait-n 5 10 --virtual --seed 42
  boucle task-wait-n 10 2 --timeline")]
    TaskWaitN(CountArgs),

    /// Average time per task of wait_n(N, MAX_DELAY) (measure_time)
    #[command(after_help = "\
The total is about MAX_DELAY whatever N, so the average falls as N grows.
Real time uses measure_time; --virtual uses measure_time_with (exact loop time).
N must be at least 1.

Examples:
  boucle measure-time 5 10 --virtual --seed 1
  boucle measure-time 1000 1            real time: about 1 s in all")]
    MeasureTime(CountArgs),

    /// Ten values from async_generator, collected by async_comprehension
    #[command(after_help = "\
Examples:
  boucle comprehension --virtual --seed 3
  boucle comprehension --measure-runtime      about 20 s in real time")]
    Comprehension {
        /// Also run measure_runtime(): four comprehensions concurrently, ~10 s not 40
        #[arg(long)]
        measure_runtime: bool,
        #[command(flatten)]
        clock: ClockOpts,
    },

    /// A TCP line echo server on boucle::net (asyncio's streams API)
    #[command(after_help = "\
Examples:
  boucle echo-server                       127.0.0.1:8888 until Ctrl-C
  boucle echo-server --port 0              any free port (printed)
  boucle echo-server --max-connections 1   stop after one client
  boucle echo-server --grace 2             on SIGTERM/Ctrl-C, 2 s for open connections

SIGTERM or Ctrl-C stops accepting, lets open connections finish for --grace
seconds, then cancels them and exits 0; a second Ctrl-C exits at once (130).")]
    EchoServer {
        #[command(flatten)]
        at: Endpoint,
        /// Stop after this many connections have been served (at least 1)
        #[arg(long, value_name = "N", value_parser = parse_positive, allow_hyphen_values = true)]
        max_connections: Option<u64>,
        /// On SIGINT/SIGTERM, seconds open connections get to finish
        #[arg(long, value_name = "SECS", default_value = "5", value_parser = parse_delay)]
        grace: f64,
        #[command(flatten)]
        trace: TraceArgs,
    },

    /// Size, line count and SHA-256 of every file under PATH..., concurrently
    #[command(after_help = "\
Walks each PATH (directories recursively) and prints one line per file as it
completes: `SHA256  SIZE  LINES  PATH` (the hash first, as sha256sum prints
it), or with --json one object per line with exactly the fields path, bytes,
lines, sha256 and error (null when none). A file that cannot be read (vanished,
a broken link, a directory loop, an I/O error) is one error line (stderr, or a
JSON object with `error`) and the run goes on. Totals (files, errors, bytes,
time, MB/s) go to stderr; a progress bar too, when stderr is a terminal.

Symbolic links: PATH arguments are followed; inside a walk, links to files are
followed, links to directories only with --follow-links (loops are then
detected and reported). FIFOs, sockets and devices met inside a walk are
skipped and counted (never opened for a read that would wait); named as a
PATH they are an error. Paths that are not UTF-8 are printed with `\\xHH`
escapes (and `\\` as `\\\\`), never dropped.

Exit status: 0 every file processed, 1 some failed, 2 bad arguments,
130 interrupted by Ctrl-C (after printing the partial totals).

Examples:
  boucle files .                         every file under the current directory
  boucle files src Cargo.toml --jobs 8
  boucle files /data --json | jq -r 'select(.error) | .path'
  boucle files . | sort -k4 > SUMS       a stable order")]
    Files {
        /// Files or directories to walk
        #[arg(required = true, value_name = "PATH")]
        paths: Vec<PathBuf>,
        /// Files processed at once (1 to 4096)
        #[arg(long, short = 'j', default_value = "64", value_parser = files::parse_jobs)]
        jobs: usize,
        /// One JSON object per line: path, bytes, lines, sha256, error
        #[arg(long)]
        json: bool,
        /// Walk into symbolic links to directories (loops are detected)
        #[arg(long, short = 'L')]
        follow_links: bool,
        #[command(flatten)]
        trace: TraceArgs,
    },

    /// Send lines to an echo server and print the replies
    #[command(after_help = "\
Examples:
  boucle echo-client hello world           two lines, two replies
  boucle echo-client ping --repeat 1000    round-trip times")]
    EchoClient {
        /// The lines to send
        #[arg(required = true)]
        messages: Vec<String>,
        #[command(flatten)]
        at: Endpoint,
        /// Send the messages this many times (replies printed once)
        #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u32).range(1..))]
        repeat: u32,
        #[command(flatten)]
        trace: TraceArgs,
    },

    /// Fetch many URLs at once and report each (the seeds' web scraper)
    #[command(after_help = "\
Prints one line per URL as it completes, `✓ URL: SIZE bytes (STATUS, TIME ms)` or
`✗ URL: ERROR` (--json: one object with url, ok, status, bytes, ms, attempts,
error), then the totals on stderr. Exit code 0 when every URL succeeded (2xx),
1 when some failed, 2 for bad arguments, 130 after Ctrl-C.

Examples:
  boucle fetch https://example.com https://python.org
  boucle fetch -i urls.txt -c 64 --per-host 16 --out pages/
  cat urls.txt | boucle fetch -i - --json --retries 3")]
    Fetch(fetch::FetchArgs),

    /// Draw a saved trace (--trace-out FILE.json) as an ASCII timeline
    #[command(after_help = "\
One row per task: `#` where it ran (was polled), `-` where it waited, `>` where it
returned, `x` cancelled, `!` panicked; the axis fits the terminal ($COLUMNS, or
--width). A file with several runtimes (`boucle demo --trace-out t.json`) draws
one timeline each.

Examples:
  boucle wait-n 5 2 --virtual --trace-out t.json && boucle trace t.json
  boucle trace t.json --width 100")]
    Trace {
        /// A Chrome trace written by --trace-out FILE.json
        #[arg(value_name = "FILE.json")]
        file: PathBuf,
        /// Columns of the time axis [default: what the terminal leaves]
        #[arg(long, value_name = "N", value_parser = clap::value_parser!(u16).range(10..))]
        width: Option<u16>,
    },

    /// Show the task tree of a running boucle program (sends it SIGUSR1)
    #[command(after_help = "\
The program must listen for it: Builder::dump_on_signal(true) in code, or one of
the CLI's long-running commands (echo-server, echo-client, files, fetch). `ps`
first checks that the process catches SIGUSR1 (otherwise the signal would end
it), then prints the tree the program writes: each task with its id, state,
what it awaits, polls, busy time, age and where it was spawned.

Examples:
  boucle echo-server --port 9000 &  boucle ps $!")]
    Ps {
        /// The process id
        #[arg(value_parser = clap::value_parser!(u32).range(1..))]
        pid: u32,
    },
}

/// Where to listen or connect.
#[derive(Args, Debug, Clone)]
struct Endpoint {
    /// Host name or address
    #[arg(long, default_value = "127.0.0.1")]
    host: String,
    /// TCP port, 0 to 65535 (0: any free port, for echo-server)
    #[arg(long, default_value_t = 8888, value_parser = parse_port, allow_hyphen_values = true)]
    port: u16,
}

fn dispatch(command: Command) -> Result<(), Failure> {
    match command {
        Command::Demo(a) => demo::run(&a),
        Command::WaitRandom { max_delay, clock } => {
            let run = Run::new(&clock.run, clock.virtual_time)?;
            commands::wait_random(run, max_delay.unwrap_or(course::DEFAULT_MAX_DELAY))
        }
        Command::WaitN(a) => {
            let run = Run::new(&a.clock.run, a.clock.virtual_time)?;
            commands::wait_n(run, Flavour::Coroutines, a.n, a.max_delay)
        }
        Command::TaskWaitN(a) => {
            let run = Run::new(&a.clock.run, a.clock.virtual_time)?;
            commands::wait_n(run, Flavour::Tasks, a.n, a.max_delay)
        }
        Command::MeasureTime(a) => {
            let run = Run::new(&a.clock.run, a.clock.virtual_time)?;
            commands::measure_time(run, a.n, a.max_delay)
        }
        Command::Comprehension {
            measure_runtime,
            clock,
        } => {
            let run = Run::new(&clock.run, clock.virtual_time)?;
            commands::comprehension(run, measure_runtime)
        }
        Command::EchoServer {
            at,
            max_connections,
            grace,
            trace,
        } => net::echo_server(
            &at.host,
            at.port,
            max_connections,
            std::time::Duration::from_secs_f64(grace),
            &trace,
        ),
        Command::Files {
            paths,
            jobs,
            json,
            follow_links,
            trace,
        } => files::run(paths, jobs, json, follow_links, &trace),
        Command::EchoClient {
            messages,
            at,
            repeat,
            trace,
        } => net::echo_client(&at.host, at.port, &messages, repeat, &trace),
        Command::Fetch(a) => fetch::run(a),
        Command::Trace { file, width } => trace_view::run(&file, width.map(usize::from)),
        Command::Ps { pid } => ps::run(pid),
    }
}

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) if !e.use_stderr() => {
            // --help and --version: print as clap does, exit 0.
            let _ = e.print();
            return ExitCode::SUCCESS;
        }
        Err(e) => {
            let message = match e.kind() {
                ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand
                | ErrorKind::MissingSubcommand => {
                    "no subcommand given: try `boucle demo`, or `boucle --help` for the list"
                        .to_string()
                }
                _ => args::one_line(&e),
            };
            output::complain(format_args!("boucle: error: {message}"));
            return ExitCode::from(args::USAGE as u8);
        }
    };
    match dispatch(cli.command) {
        Ok(()) => ExitCode::SUCCESS,
        Err(failure) => {
            output::complain(format_args!("boucle: error: {failure}"));
            ExitCode::from(failure.code as u8)
        }
    }
}
