//! The HTTP benchmarks, `boucle-bench http [fetch] [hello] [--runs N] [--quick]`:
//!
//! * `http::fetch`: 20,000 GETs of a 1 KiB file from nginx, 256 at a time:
//!   `boucle fetch` against reqwest + tokio (current_thread and
//!   multi_thread) of the same shape, aiohttp, and `curl --parallel
//!   --parallel-max 256`. Each run is a fresh process, timed from spawn to
//!   exit by the parent (process start-up included, the same for all).
//! * `http::hello`: the hello server on boucle-http against hyper on tokio
//!   current_thread and multi_thread with 1 worker, under wrk (HTTP/1.1,
//!   256 connections) and h2load (HTTP/2 prior knowledge).
//!
//! Peers run in the same invocation, interleaved round by round (one
//! warm-up round, discarded); the tables give medians and ratios.
//! nginx and the load generators come from Debian
//! (`scripts/install-test-tools.sh`).

mod fetch;
mod hello;
pub mod servers;

use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// Options of `boucle-bench http`.
#[derive(Debug, Clone)]
pub struct Opts {
    pub fetch: bool,
    pub hello: bool,
    pub runs: usize,
    pub quick: bool,
}

const USAGE: &str = "usage: boucle-bench http [fetch] [hello] [--runs N] [--quick]";

/// `boucle-bench http ...`.
pub fn main(args: &[String]) -> Result<(), String> {
    let mut opts = Opts {
        fetch: false,
        hello: false,
        runs: 5,
        quick: false,
    };
    let mut it = args.iter();
    while let Some(a) = it.next() {
        match a.as_str() {
            "fetch" | "http::fetch" => opts.fetch = true,
            "hello" | "http::hello" => opts.hello = true,
            "--quick" => opts.quick = true,
            "--runs" => {
                let v = it.next().ok_or("--runs needs a value")?;
                opts.runs = v.parse().map_err(|_| format!("--runs: bad number `{v}`"))?;
                if opts.runs < 1 {
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
    if !opts.fetch && !opts.hello {
        opts.fetch = true;
        opts.hello = true;
    }
    if cfg!(debug_assertions) {
        eprintln!("warning: boucle-bench was built without --release; its numbers mean little");
    }
    eprintln!(
        "machine: {} cores",
        std::thread::available_parallelism().map_or(0, |n| n.get())
    );
    if opts.fetch {
        println!("{}", fetch::run(&opts)?);
    }
    if opts.hello {
        println!("{}", hello::run(&opts)?);
    }
    Ok(())
}

/// A tool from Debian, or an error naming the install script.
pub fn tool(name: &str) -> Result<PathBuf, String> {
    for dir in ["/usr/sbin", "/usr/bin", "/usr/local/bin", "/usr/local/sbin"] {
        let p = Path::new(dir).join(name);
        if p.is_file() {
            return Ok(p);
        }
    }
    Err(format!(
        "{name} is not installed: run scripts/install-test-tools.sh"
    ))
}

/// A free port on 127.0.0.1 (bound, then released for a child to bind).
pub fn free_port() -> Result<u16, String> {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .map_err(|e| format!("no free port: {e}"))
}

/// A child process killed on drop.
pub struct Guard(pub Child);

impl Drop for Guard {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Starts `cmd` and waits (10 s at most) until 127.0.0.1:`port` accepts.
pub fn start_server(cmd: &mut Command, port: u16) -> Result<Guard, String> {
    let child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .map_err(|e| format!("cannot start {:?}: {e}", cmd.get_program()))?;
    let mut guard = Guard(child);
    let start = Instant::now();
    while TcpStream::connect(("127.0.0.1", port)).is_err() {
        if let Ok(Some(status)) = guard.0.try_wait() {
            return Err(format!("{:?} exited early: {status}", cmd.get_program()));
        }
        if start.elapsed() > Duration::from_secs(10) {
            return Err(format!(
                "{:?} did not listen on port {port}",
                cmd.get_program()
            ));
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    Ok(guard)
}

/// A scratch directory for this run, removed on drop.
pub struct Scratch(pub PathBuf);

impl Scratch {
    pub fn new(name: &str) -> Result<Scratch, String> {
        let dir = std::env::temp_dir().join(format!("boucle-bench-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
        Ok(Scratch(dir))
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// The median of `xs` (the mean of the middle two for an even count).
pub fn median(xs: &[f64]) -> f64 {
    let mut v = xs.to_vec();
    v.sort_by(f64::total_cmp);
    match v.len() {
        0 => f64::NAN,
        n if n % 2 == 1 => v[n / 2],
        n => (v[n / 2 - 1] + v[n / 2]) / 2.0,
    }
}

/// A column-aligned text table.
pub fn table(title: &str, header: &[&str], rows: &[Vec<String>], note: &str) -> String {
    let mut widths: Vec<usize> = header.iter().map(|h| h.chars().count()).collect();
    for r in rows {
        for (i, c) in r.iter().enumerate() {
            widths[i] = widths[i].max(c.chars().count());
        }
    }
    let line = |cells: Vec<String>| {
        cells
            .iter()
            .enumerate()
            .map(|(i, c)| {
                let pad = widths[i] - c.chars().count();
                if i == 0 {
                    format!("{c}{}", " ".repeat(pad))
                } else {
                    format!("{}{c}", " ".repeat(pad))
                }
            })
            .collect::<Vec<_>>()
            .join("  ")
    };
    let mut out = format!("{title}\n");
    out.push_str(&line(header.iter().map(|s| s.to_string()).collect()));
    out.push('\n');
    for r in rows {
        out.push_str(&line(r.clone()));
        out.push('\n');
    }
    out.push_str(note);
    out.push('\n');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn medians_and_tables() {
        assert_eq!(median(&[3.0, 1.0, 2.0]), 2.0);
        assert_eq!(median(&[4.0, 1.0, 2.0, 3.0]), 2.5);
        let t = table("T", &["a", "bb"], &[vec!["x".into(), "1".into()]], "n");
        assert_eq!(t, "T\na  bb\nx   1\nn\n");
    }
}
