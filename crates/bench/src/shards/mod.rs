//! `boucle-bench shards [echo] [hello] [--runs N] [--quick]`: boucle's
//! sharded runtime with 1 and 2 shards against tokio multi_thread (1 and 2
//! workers) and monoio thread-per-core (1 and 2 threads), one fresh process
//! per run, interleaved round by round (one warm-up round, discarded);
//! medians and ratios.
//!
//! * `shards::tcp_echo`: clients and server in one process (`echo.rs`).
//! * `shards::hello`: the HTTP hello server under `wrk -t 1 -c 256`
//!   (`hello.rs`); wrk runs on the same machine and takes a core's share.
//! * `shards::hello_load`: the same servers with keep-alive clients inside
//!   the process, as tcp_echo's (`hello_load.rs`).
//!
//! The child processes are `boucle-bench shard-worker echo|hello_load
//! CONFIG CONNS TRIPS` (prints `per_s=X`) and `boucle-bench shard-worker
//! hello CONFIG PORT` (serves until killed).

mod echo;
mod hello;
mod hello_load;
mod monoio_shards;

use std::process::Command;
use std::time::Duration;

use crate::http::{free_port, median, start_server, table, tool};

const ECHO_CONFIGS: [(&str, &str); 11] = [
    ("boucle, 1 shard", "boucle-1"),
    ("boucle, 2 shards (SO_REUSEPORT)", "boucle-2"),
    (
        "boucle, 2 shards (SO_REUSEPORT, unpinned)",
        "boucle-2-unpinned",
    ),
    (
        "boucle, 2 shards (SO_REUSEPORT + SO_INCOMING_CPU)",
        "boucle-2-cpu",
    ),
    ("boucle, 2 shards (hand-off)", "boucle-2-handoff"),
    ("boucle, 2 shards (each its own port)", "boucle-2-local"),
    ("tokio multi_thread, 1 worker", "tokio-mt1"),
    ("tokio multi_thread, 2 workers", "tokio-mt2"),
    ("monoio, 1 thread", "monoio-1"),
    ("monoio, 2 threads (reuse_port)", "monoio-2"),
    (
        "monoio, 2 threads (reuse_port + SO_INCOMING_CPU)",
        "monoio-2-cpu",
    ),
];

const HELLO_CONFIGS: [(&str, &str); 8] = [
    ("boucle-http, 1 shard", "boucle-1"),
    ("boucle-http, 2 shards (SO_REUSEPORT)", "boucle-2"),
    (
        "boucle-http, 2 shards (SO_REUSEPORT, unpinned)",
        "boucle-2-unpinned",
    ),
    ("boucle-http, 2 shards (hand-off)", "boucle-2-handoff"),
    ("hyper on tokio multi_thread, 1 worker", "tokio-mt1"),
    ("hyper on tokio multi_thread, 2 workers", "tokio-mt2"),
    ("hyper on monoio, 1 thread", "monoio-1"),
    ("hyper on monoio, 2 threads (reuse_port)", "monoio-2"),
];

const HELLO_LOAD_CONFIGS: [(&str, &str); 8] = [
    ("boucle-http, 1 shard", "boucle-1"),
    ("boucle-http, 2 shards (SO_REUSEPORT)", "boucle-2"),
    (
        "boucle-http, 2 shards (SO_REUSEPORT + SO_INCOMING_CPU)",
        "boucle-2-cpu",
    ),
    ("hyper on tokio multi_thread, 1 worker", "tokio-mt1"),
    ("hyper on tokio multi_thread, 2 workers", "tokio-mt2"),
    ("hyper on monoio, 1 thread", "monoio-1"),
    ("hyper on monoio, 2 threads (reuse_port)", "monoio-2"),
    (
        "hyper on monoio, 2 threads (reuse_port + SO_INCOMING_CPU)",
        "monoio-2-cpu",
    ),
];

const USAGE: &str = "usage: boucle-bench shards [echo] [hello] [hello_load] [--runs N] [--quick]";

/// `boucle-bench shards ...`.
pub fn main(args: &[String]) -> Result<(), String> {
    let (mut do_echo, mut do_hello, mut do_load) = (false, false, false);
    let (mut runs, mut quick) = (5usize, false);
    let mut it = args.iter();
    while let Some(a) = it.next() {
        match a.as_str() {
            "echo" | "tcp_echo" | "shards::tcp_echo" => do_echo = true,
            "hello" | "shards::hello" => do_hello = true,
            "hello_load" | "shards::hello_load" => do_load = true,
            "--quick" => quick = true,
            "--runs" => {
                let v = it.next().ok_or("--runs needs a value")?;
                runs = v.parse().map_err(|_| format!("--runs: bad number `{v}`"))?;
                if runs < 1 {
                    return Err("--runs: at least 1".into());
                }
            }
            "-h" | "--help" => {
                println!("{USAGE}");
                return Ok(());
            }
            other => return Err(format!("unknown argument `{other}`\n{USAGE}")),
        }
    }
    if !do_echo && !do_hello && !do_load {
        (do_echo, do_hello, do_load) = (true, true, true);
    }
    if cfg!(debug_assertions) {
        eprintln!("warning: boucle-bench was built without --release; its numbers mean little");
    }
    eprintln!(
        "machine: {} cores",
        std::thread::available_parallelism().map_or(0, |n| n.get())
    );
    if do_echo {
        println!("{}", run_echo(runs, quick)?);
    }
    if do_hello {
        println!("{}", run_hello(runs, quick)?);
    }
    if do_load {
        println!("{}", run_hello_load(runs, quick)?);
    }
    Ok(())
}

/// `shard-worker ...`: one run in this (child) process.
pub fn worker(args: &[String]) -> Result<(), String> {
    match args {
        [kind, config, conns, trips] if kind == "echo" || kind == "hello_load" => {
            let conns = conns.parse().map_err(|_| format!("bad CONNS `{conns}`"))?;
            let trips = trips.parse().map_err(|_| format!("bad TRIPS `{trips}`"))?;
            let per_s = if kind == "echo" {
                echo::run(config, conns, trips)?
            } else {
                hello_load::run(config, conns, trips)?
            };
            println!("per_s={per_s:.0}");
            Ok(())
        }
        [kind, config, port] if kind == "hello" => {
            let port = port.parse().map_err(|_| format!("bad PORT `{port}`"))?;
            hello::serve(config, port)
        }
        _ => Err(
            "usage: boucle-bench shard-worker echo|hello_load CONFIG CONNS TRIPS | hello CONFIG PORT"
                .into(),
        ),
    }
}

fn which(round: usize) -> String {
    if round == 0 {
        "warm-up".into()
    } else {
        format!("round {round}")
    }
}

/// The rows: name, median, min..max, and the two ratios the issue asks for.
fn rows(configs: &[(&str, &str)], results: &[Vec<f64>], unit: &str) -> Vec<Vec<String>> {
    let med: Vec<f64> = results.iter().map(|v| median(v)).collect();
    let at = |key: &str| configs.iter().position(|c| c.1 == key).map(|i| med[i]);
    let base = at("boucle-1").unwrap_or(f64::NAN);
    let tokio2 = at("tokio-mt2").unwrap_or(f64::NAN);
    configs
        .iter()
        .enumerate()
        .map(|(i, (name, _))| {
            let lo = results[i].iter().copied().fold(f64::INFINITY, f64::min);
            let hi = results[i].iter().copied().fold(0.0, f64::max);
            vec![
                name.to_string(),
                format!("{:.0} {unit}", med[i]),
                format!("{lo:.0}..{hi:.0}"),
                format!("{:.2}", med[i] / base),
                format!("{:.2}", med[i] / tokio2),
            ]
        })
        .collect()
}

fn run_echo(runs: usize, quick: bool) -> Result<String, String> {
    let (conns, trips) = if quick { (50, 1_000) } else { (100, 4_000) };
    let results = run_in_process("echo", &ECHO_CONFIGS, conns, trips, runs)?;
    Ok(table(
        &format!(
            "shards::tcp_echo  {conns} loopback connections x {trips} sequential {} B round trips, clients and server in one process; median of {runs} rounds",
            echo::BYTES
        ),
        &["runtime", "median", "min..max", "/ boucle 1 shard", "/ tokio mt 2"],
        &rows(&ECHO_CONFIGS, &results, "rt/s"),
        "The clients run inside the runtime under test (split over its threads), so the load generator \
is part of the measured work and takes no extra core; on this 2-core machine the kernel's loopback TCP \
work also runs on the same two cores. tokio's workers are not pinned (as its users run it); boucle's \
shards and monoio's threads are pinned one per core.",
    ))
}

fn run_hello_load(runs: usize, quick: bool) -> Result<String, String> {
    let (conns, requests) = if quick { (32, 500) } else { (64, 2_000) };
    let results = run_in_process("hello_load", &HELLO_LOAD_CONFIGS, conns, requests, runs)?;
    Ok(table(
        &format!(
            "shards::hello_load  \"Hello, World!\" over HTTP/1.1, {conns} keep-alive connections x {requests} sequential GET /, clients and server in one process; median of {runs} rounds"
        ),
        &["server", "median", "min..max", "/ boucle 1 shard", "/ tokio mt 2"],
        &rows(&HELLO_LOAD_CONFIGS, &results, "req/s"),
        "As tcp_echo: the clients (one small keep-alive HTTP/1.1 client, the same code on every runtime) \
run inside the runtime under test, split over its threads, so the load generator is part of the \
measured work instead of a wrk process that takes a core's share of its own.",
    ))
}

/// Runs `shard-worker KIND CONFIG CONNS TRIPS` for every config, one fresh
/// process each, interleaved round by round (round 0 is a warm-up); the
/// per-second rates of the counted rounds, per config.
fn run_in_process(
    kind: &str,
    configs: &[(&str, &str)],
    conns: usize,
    trips: usize,
    runs: usize,
) -> Result<Vec<Vec<f64>>, String> {
    let exe = std::env::current_exe().map_err(|e| e.to_string())?;
    let mut results: Vec<Vec<f64>> = vec![Vec::new(); configs.len()];
    for round in 0..=runs {
        for (i, (name, config)) in configs.iter().enumerate() {
            let out = Command::new(&exe)
                .args([
                    "shard-worker",
                    kind,
                    config,
                    &conns.to_string(),
                    &trips.to_string(),
                ])
                .output()
                .map_err(|e| format!("{name}: {e}"))?;
            let text = String::from_utf8_lossy(&out.stdout);
            let per_s: f64 = text
                .lines()
                .find_map(|l| l.strip_prefix("per_s="))
                .and_then(|v| v.trim().parse().ok())
                .ok_or_else(|| {
                    format!(
                        "{name}: no result ({}): {}",
                        out.status,
                        String::from_utf8_lossy(&out.stderr)
                    )
                })?;
            eprintln!(
                "  shards::{kind} {name:<50} {:<9} {per_s:10.0} /s",
                which(round)
            );
            if round > 0 {
                results[i].push(per_s);
            }
        }
    }
    Ok(results)
}

fn run_hello(runs: usize, quick: bool) -> Result<String, String> {
    let wrk = tool("wrk")?;
    let secs = if quick { 2 } else { 5 };
    let exe = std::env::current_exe().map_err(|e| e.to_string())?;
    let mut results: Vec<Vec<f64>> = vec![Vec::new(); HELLO_CONFIGS.len()];
    for round in 0..=runs {
        for (i, (name, config)) in HELLO_CONFIGS.iter().enumerate() {
            let port = free_port()?;
            let _server = start_server(
                Command::new(&exe).args(["shard-worker", "hello", config, &port.to_string()]),
                port,
            )?;
            let out = Command::new(&wrk)
                .args([
                    "-t",
                    "1",
                    "-c",
                    "256",
                    "-d",
                    &format!("{secs}s"),
                    &format!("http://127.0.0.1:{port}/"),
                ])
                .output()
                .map_err(|e| format!("wrk: {e}"))?;
            let text = String::from_utf8_lossy(&out.stdout);
            let errors = text.contains("Non-2xx")
                || text.contains("Socket errors")
                    && !text.contains("Socket errors: connect 0, read 0, write 0, timeout 0");
            let rps: f64 = text
                .lines()
                .find_map(|l| l.trim().strip_prefix("Requests/sec:"))
                .and_then(|v| v.trim().parse().ok())
                .filter(|_| !errors)
                .ok_or_else(|| format!("{name}: wrk failed or saw errors:\n{text}"))?;
            eprintln!(
                "  shards::hello {name:<40} {:<9} {rps:10.0} req/s",
                which(round)
            );
            if round > 0 {
                results[i].push(rps);
            }
            std::thread::sleep(Duration::from_millis(200));
        }
    }
    Ok(table(
        &format!(
            "shards::hello  \"Hello, World!\" over HTTP/1.1, wrk -t 1 -c 256 -d {secs}s on the same machine; median of {runs} rounds"
        ),
        &["server", "median", "min..max", "/ boucle 1 shard", "/ tokio mt 2"],
        &rows(&HELLO_CONFIGS, &results, "req/s"),
        "wrk's one thread competes with the server for the 2 cores: a 1-thread server gets about one core, \
a 2-thread server shares both with wrk, so 1 -> 2 threads cannot approach 2x here (wrk alone needs most \
of a core at these rates). Servers with 2 threads are measured against that ceiling, not against 2x.",
    ))
}
