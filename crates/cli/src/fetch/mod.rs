//! `boucle fetch`: the seeds' concurrent web scraper as a tool, on
//! boucle-http.
//!
//! `-c` worker tasks take URLs from the list in order; each URL gets a
//! result line (in completion order) and, with `--out`, a file. Connect
//! errors, 429 and 5xx are retried with exponential backoff and jitter
//! (or the server's `Retry-After`). The totals go to stderr.

mod names;
mod report;
mod retry;

use std::cell::{Cell, RefCell};
use std::future::poll_fn;
use std::io::{IsTerminal, Read as _, Write as _};
use std::path::{Path, PathBuf};
use std::rc::Rc;
use std::task::Poll;
use std::time::{Duration, Instant, SystemTime};

use boucle_http::{Client, ClientTimeout, Error};
use clap::Args;
use indicatif::{ProgressBar, ProgressStyle};

use crate::args::Failure;
use crate::say;
use crate::trace_out::{self, TraceArgs, TraceFile};
use report::{Outcome, Totals};

/// Exit code after Ctrl-C (128 + SIGINT), as shells report it.
pub const INTERRUPTED: i32 = 130;

/// `boucle fetch`'s arguments.
#[derive(Args, Debug, Clone)]
pub struct FetchArgs {
    /// URLs to fetch (http:// or https://)
    #[arg(value_name = "URL")]
    urls: Vec<String>,
    /// Read more URLs from FILE, one per line (`-`: standard input; blank
    /// lines and lines starting with # are skipped)
    #[arg(short = 'i', long = "input", value_name = "FILE|-")]
    input: Option<String>,
    /// Fetch at most N URLs at once
    #[arg(short = 'c', long = "concurrency", value_name = "N", default_value_t = 32, allow_hyphen_values = true,
          value_parser = clap::value_parser!(u32).range(1..=100_000))]
    concurrency: u32,
    /// At most N connections to one host
    #[arg(long = "per-host", value_name = "N", default_value_t = 8, allow_hyphen_values = true,
          value_parser = clap::value_parser!(u32).range(1..=100_000))]
    per_host: u32,
    /// Time limit of one attempt, in seconds (connect, headers, body)
    #[arg(long = "timeout", value_name = "SECS", default_value = "30", value_parser = parse_secs, allow_hyphen_values = true)]
    timeout: f64,
    /// Time limit for opening a connection, in seconds
    #[arg(long = "connect-timeout", value_name = "SECS", default_value = "10", value_parser = parse_secs, allow_hyphen_values = true)]
    connect_timeout: f64,
    /// Retries after a connect error, a 429 or a 5xx (backoff with jitter,
    /// or the server's Retry-After up to 60 s)
    #[arg(long = "retries", value_name = "N", default_value_t = 2, allow_hyphen_values = true,
          value_parser = clap::value_parser!(u32).range(0..=100))]
    retries: u32,
    /// Follow at most N redirects
    #[arg(long = "max-redirects", value_name = "N", default_value_t = 10, allow_hyphen_values = true,
          value_parser = clap::value_parser!(u32).range(0..=1000))]
    max_redirects: u32,
    /// Refuse bodies larger than BYTES (suffixes K, M, G: KiB, MiB, GiB)
    #[arg(long = "max-body", value_name = "BYTES", default_value = "100M", value_parser = parse_bytes, allow_hyphen_values = true)]
    max_body: u64,
    /// Save each body in DIR under a safe, unique name (created if missing)
    #[arg(long = "out", value_name = "DIR")]
    out: Option<PathBuf>,
    /// One JSON object per URL instead of the ✓/✗ lines
    #[arg(long = "json")]
    json: bool,
    /// Also trust the CA certificates in this PEM file
    #[arg(long = "ca-file", value_name = "PEM")]
    ca_file: Option<PathBuf>,
    /// Accept any TLS certificate (no check of issuer or host name: unsafe)
    #[arg(long = "insecure")]
    insecure: bool,
    #[command(flatten)]
    trace: TraceArgs,
}

/// Seconds: a finite number > 0, at most 1e6.
fn parse_secs(s: &str) -> Result<f64, String> {
    let v: f64 = s
        .trim()
        .parse()
        .map_err(|_| "not a number of seconds (e.g. 30 or 0.5)".to_string())?;
    if !v.is_finite() || v <= 0.0 {
        return Err(format!("give a number of seconds above 0 (got {s})"));
    }
    if v > 1e6 {
        return Err("at most 1000000 seconds".into());
    }
    Ok(v)
}

/// Bytes: a whole number, optionally with K, M or G (powers of 1024).
fn parse_bytes(s: &str) -> Result<u64, String> {
    let t = s.trim();
    let (digits, mult) = match t.char_indices().last() {
        Some((i, 'k' | 'K')) => (&t[..i], 1u64 << 10),
        Some((i, 'm' | 'M')) => (&t[..i], 1 << 20),
        Some((i, 'g' | 'G')) => (&t[..i], 1 << 30),
        _ => (t, 1),
    };
    let n: u64 = digits
        .replace('_', "")
        .parse()
        .map_err(|_| "not a byte count (e.g. 1048576, 512K, 100M, 2G)".to_string())?;
    n.checked_mul(mult).ok_or_else(|| "too large".to_string())
}

/// Everything a worker needs.
struct Job {
    client: Client,
    urls: Vec<String>,
    next: Cell<usize>,
    retries: u32,
    out: Option<PathBuf>,
    json: bool,
    totals: RefCell<Totals>,
    done: Cell<u64>,
    bar: Option<ProgressBar>,
}

/// Runs `boucle fetch`.
pub fn run(args: FetchArgs) -> Result<(), Failure> {
    let urls = collect_urls(&args)?;
    if urls.is_empty() {
        return Err(Failure::usage(
            "no URLs given: pass URLs, or --input FILE (or - for standard input)",
        ));
    }
    if let Some(dir) = &args.out {
        prepare_out(dir)?;
    }
    let trace_file = TraceFile::open(&args.trace)?;
    let mut builder = Client::builder()
        .limit(args.concurrency as usize)
        .limit_per_host(args.per_host as usize)
        .timeout(
            ClientTimeout::none()
                .total(Duration::from_secs_f64(args.timeout))
                .connect(Duration::from_secs_f64(args.connect_timeout)),
        )
        .max_redirects(args.max_redirects as usize)
        .max_body_size(args.max_body)
        .danger_accept_invalid_certs(args.insecure);
    if let Some(path) = &args.ca_file {
        let pem = std::fs::read(path).map_err(|e| {
            Failure::usage(format!("cannot read --ca-file {}: {e}", path.display()))
        })?;
        builder = builder.add_root_certificate(&pem);
    }
    let client = builder
        .build()
        .map_err(|e| Failure::usage(format!("--ca-file: {e}")))?;
    let bar = std::io::stderr().is_terminal().then(|| {
        let bar = ProgressBar::new(urls.len() as u64);
        if let Ok(style) = ProgressStyle::with_template(
            "{bar:40.cyan/blue} {pos}/{len} URLs  {per_sec}  eta {eta}",
        ) {
            bar.set_style(style);
        }
        bar
    });
    let workers = (args.concurrency as usize).min(urls.len());
    let job = Rc::new(Job {
        client,
        urls,
        next: Cell::new(0),
        retries: args.retries,
        out: args.out.clone(),
        json: args.json,
        totals: RefCell::new(Totals::default()),
        done: Cell::new(0),
        bar,
    });
    let rt = trace_out::long_running(&trace_file)
        .build()
        .map_err(|e| Failure::runtime(format!("event loop: {e}")))?;
    let start = Instant::now();
    let interrupted = rt.block_on({
        let job = Rc::clone(&job);
        async move {
            let tasks: Vec<_> = (0..workers)
                .map(|_| boucle::spawn(worker(Rc::clone(&job))))
                .collect();
            let all = boucle::gather(tasks);
            // Without a SIGINT handler (it could not be installed), Ctrl-C
            // kills the process as usual: wait forever here.
            let ctrl_c = async {
                if boucle::signal::ctrl_c().await.is_err() {
                    std::future::pending::<()>().await;
                }
            };
            let mut all = std::pin::pin!(all);
            let mut ctrl_c = std::pin::pin!(ctrl_c);
            poll_fn(|cx| {
                if all.as_mut().poll(cx).is_ready() {
                    return Poll::Ready(false);
                }
                ctrl_c.as_mut().poll(cx).map(|()| true)
            })
            .await
        }
    });
    if let Some(bar) = &job.bar {
        bar.finish_and_clear();
    }
    let totals = *job.totals.borrow();
    let wall = start.elapsed();
    let all = job.urls.len();
    let cut = interrupted.then(|| (job.done.get(), all));
    eprintln!("{}", totals.line(wall, cut));
    let _ = std::io::stderr().flush();
    trace_out::finish(trace_file, "fetch", rt.trace())?;
    if interrupted {
        return Err(Failure {
            code: INTERRUPTED,
            message: "interrupted (Ctrl-C)".into(),
        });
    }
    if totals.failed > 0 {
        return Err(Failure::runtime(format!(
            "{} of {} URLs failed",
            crate::args::group(totals.failed),
            crate::args::group(all as u64)
        )));
    }
    Ok(())
}

use std::future::Future as _;

fn collect_urls(args: &FetchArgs) -> Result<Vec<String>, Failure> {
    let mut urls = args.urls.clone();
    if let Some(input) = &args.input {
        let text = if input == "-" {
            let mut s = String::new();
            std::io::stdin()
                .read_to_string(&mut s)
                .map_err(|e| Failure::usage(format!("cannot read --input -: {e}")))?;
            s
        } else {
            std::fs::read_to_string(input)
                .map_err(|e| Failure::usage(format!("cannot read --input {input}: {e}")))?
        };
        urls.extend(
            text.lines()
                .map(str::trim)
                .filter(|l| !l.is_empty() && !l.starts_with('#'))
                .map(str::to_string),
        );
    }
    Ok(urls)
}

fn prepare_out(dir: &Path) -> Result<(), Failure> {
    if dir.exists() && !dir.is_dir() {
        return Err(Failure::usage(format!(
            "--out {}: exists and is not a directory",
            dir.display()
        )));
    }
    std::fs::create_dir_all(dir)
        .map_err(|e| Failure::usage(format!("--out {}: cannot create it: {e}", dir.display())))
}

/// Takes URLs until none is left.
async fn worker(job: Rc<Job>) {
    loop {
        let index = job.next.get();
        if index >= job.urls.len() {
            return;
        }
        job.next.set(index + 1);
        let outcome = fetch_one(&job, index).await;
        job.totals.borrow_mut().add(&outcome);
        job.done.set(job.done.get() + 1);
        let line = if job.json {
            outcome.json()
        } else {
            outcome.line()
        };
        match &job.bar {
            Some(bar) => {
                bar.suspend(|| say!("{line}"));
                bar.inc(1);
            }
            None => say!("{line}"),
        }
    }
}

/// What one attempt gave.
enum Attempt {
    Done {
        status: u16,
        bytes: u64,
    },
    Retry {
        status: u16,
        bytes: u64,
        retry_after: Option<String>,
    },
}

async fn fetch_one(job: &Job, index: usize) -> Outcome {
    let url = &job.urls[index];
    let start = Instant::now();
    let mut attempts = 0;
    loop {
        attempts += 1;
        let can_retry = attempts <= job.retries;
        let result = attempt(job, index, can_retry).await;
        let wait = match &result {
            Ok(Attempt::Retry { retry_after, .. }) if can_retry => Some(retry::delay(
                attempts,
                retry_after.as_deref(),
                SystemTime::now(),
                boucle::random::uniform(0.0, 1.0),
            )),
            Err(e) if can_retry && e.is_connect() => Some(retry::delay(
                attempts,
                None,
                SystemTime::now(),
                boucle::random::uniform(0.0, 1.0),
            )),
            _ => None,
        };
        if let Some(wait) = wait {
            boucle::sleep(wait).await;
            continue;
        }
        let ms = start.elapsed().as_secs_f64() * 1e3;
        let (ok, status, bytes, error) = match result {
            Ok(Attempt::Done { status, bytes }) if (200..300).contains(&status) => {
                (true, Some(status), bytes, None)
            }
            Ok(Attempt::Done { status, bytes } | Attempt::Retry { status, bytes, .. }) => {
                (false, Some(status), bytes, Some(status_text(status)))
            }
            Err(e) => (false, None, 0, Some(e.to_string())),
        };
        return Outcome {
            url: url.clone(),
            ok,
            status,
            bytes,
            ms,
            attempts,
            error,
        };
    }
}

fn status_text(status: u16) -> String {
    let reason = http::StatusCode::from_u16(status)
        .ok()
        .and_then(|s| s.canonical_reason())
        .unwrap_or("");
    format!("HTTP {status} {reason}").trim_end().to_string()
}

async fn attempt(job: &Job, index: usize, can_retry: bool) -> Result<Attempt, Fail> {
    let url = &job.urls[index];
    let mut response = job
        .client
        .get(url.as_str())
        .send()
        .await
        .map_err(Fail::Http)?;
    let status = response.status().as_u16();
    let retry_after = response
        .headers()
        .get(http::header::RETRY_AFTER)
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    let success = (200..300).contains(&status);
    let mut file = match (&job.out, success) {
        (Some(dir), true) => {
            let name = names::file_name(index, job.urls.len(), url);
            Some(names::create_unique(dir, &name).map_err(|e| save_error(dir, &name, e))?)
        }
        _ => None,
    };
    let mut bytes = 0u64;
    loop {
        let chunk = match response.chunk().await {
            Ok(Some(c)) => c,
            Ok(None) => break,
            Err(e) => {
                if let Some((path, _)) = file.take() {
                    let _ = std::fs::remove_file(path);
                }
                return Err(Fail::Http(e));
            }
        };
        bytes += chunk.len() as u64;
        if let Some((path, f)) = &mut file {
            if let Err(e) = f.write_all(&chunk) {
                let _ = std::fs::remove_file(&*path);
                return Err(io_failure(path, e));
            }
        }
    }
    if retry::retryable_status(status) && can_retry {
        return Ok(Attempt::Retry {
            status,
            bytes,
            retry_after,
        });
    }
    Ok(Attempt::Done { status, bytes })
}

/// Why an attempt failed: the request, or saving its body.
enum Fail {
    Http(Error),
    Save(String),
}

impl Fail {
    fn is_connect(&self) -> bool {
        matches!(self, Fail::Http(e) if e.is_connect())
    }
}

impl std::fmt::Display for Fail {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Fail::Http(e) => e.fmt(f),
            Fail::Save(s) => f.write_str(s),
        }
    }
}

fn save_error(dir: &Path, name: &str, e: std::io::Error) -> Fail {
    io_failure(&dir.join(name), e)
}

fn io_failure(path: &Path, e: std::io::Error) -> Fail {
    Fail::Save(format!("cannot write {}: {e}", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn byte_counts_and_seconds() {
        assert_eq!(parse_bytes("100M"), Ok(100 << 20));
        assert_eq!(parse_bytes("512k"), Ok(512 << 10));
        assert_eq!(parse_bytes("1_000"), Ok(1000));
        assert!(parse_bytes("-1").is_err() && parse_bytes("lots").is_err());
        assert!(parse_bytes("99999999999G").is_err());
        assert_eq!(parse_secs("0.5"), Ok(0.5));
        for bad in ["0", "-1", "nan", "inf", "x", "1e7"] {
            assert!(parse_secs(bad).is_err(), "{bad}");
        }
        assert_eq!(status_text(503), "HTTP 503 Service Unavailable");
        assert_eq!(status_text(599), "HTTP 599");
    }
}
