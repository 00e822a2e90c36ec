//! Argument validation: every value is checked here, before any runtime is
//! built, so the course functions (which panic on a bad delay) never see a
//! bad one. A rejected argument is one line on stderr and exit code 2.

use std::fmt;
use std::fs::File;
use std::path::{Path, PathBuf};

/// Exit code for a usage error (as clap and the BSD `sysexits` convention).
pub const USAGE: i32 = 2;
/// Exit code for a failure while running (an I/O error, say).
pub const FAILURE: i32 = 1;

/// The most tasks `wait-n`, `task-wait-n` and `measure-time` accept.
///
/// Each task is one allocation of a few hundred bytes plus its share of
/// the result vector (and about as much again when traced): 10 million
/// tasks need a few GiB. Below the cap, `check_memory` also refuses an N
/// whose estimate exceeds the memory the system reports as available.
pub const MAX_TASKS: usize = 10_000_000;

/// Bytes per task, with a margin: the peak RSS of
/// `wait-n 1000000 10 --virtual` is about 260 MB, 260 bytes per task.
pub const BYTES_PER_TASK: u64 = 512;
/// Extra bytes per task when tracing (the events, the per-task summary,
/// the rendered timeline): measured about 830 with `--timeline`.
pub const BYTES_PER_TRACED_TASK: u64 = 1024;

/// The largest delay accepted, in seconds (about 31.7 years): far beyond
/// any real wait, and small enough that loop time never overflows.
pub const MAX_DELAY_SECS: f64 = 1e9;

/// A reason to stop, with the exit code it maps to.
#[derive(Debug)]
pub struct Failure {
    pub code: i32,
    pub message: String,
}

impl Failure {
    /// A bad argument: exit code 2.
    pub fn usage(message: impl Into<String>) -> Failure {
        Failure {
            code: USAGE,
            message: message.into(),
        }
    }

    /// A failure while running: exit code 1.
    pub fn runtime(message: impl Into<String>) -> Failure {
        Failure {
            code: FAILURE,
            message: message.into(),
        }
    }
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

/// Parses a delay in seconds: a finite number, at least 0, at most
/// [`MAX_DELAY_SECS`].
pub fn parse_delay(s: &str) -> Result<f64, String> {
    let t = s.trim();
    let value: f64 = t
        .parse()
        .map_err(|_| "not a number (a delay in seconds, e.g. 10 or 0.5)".to_string())?;
    if value.is_nan() {
        return Err("NaN is not a delay (give a number of seconds >= 0)".into());
    }
    if value.is_infinite() {
        return Err("an infinite delay never ends (give a finite number of seconds)".into());
    }
    if value < 0.0 {
        return Err(format!("a delay cannot be negative (got {value})"));
    }
    if value > MAX_DELAY_SECS {
        return Err(format!(
            "delay too large: at most {MAX_DELAY_SECS:e} s (about 31 years)"
        ));
    }
    // `-0` parses as negative zero: print it as 0.
    Ok(value.abs())
}

/// Parses a task count: a whole number from 0 to [`MAX_TASKS`].
pub fn parse_count(s: &str) -> Result<usize, String> {
    let t = s.trim();
    let digits = t.strip_prefix('+').unwrap_or(t);
    if let Some(rest) = digits.strip_prefix('-') {
        if !rest.is_empty() && rest.bytes().all(|b| b.is_ascii_digit()) {
            return Err("a number of tasks cannot be negative".into());
        }
    }
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return Err("not a whole number (a number of tasks, e.g. 5)".into());
    }
    let too_many = || {
        format!(
            "too many tasks: at most {} (about {} of memory)",
            group(MAX_TASKS as u64),
            human_bytes(MAX_TASKS as u64 * BYTES_PER_TASK)
        )
    };
    let n: u64 = digits.parse().map_err(|_| too_many())?;
    if n > MAX_TASKS as u64 {
        return Err(too_many());
    }
    Ok(n as usize)
}

/// Parses a seed: an unsigned 64-bit integer.
pub fn parse_seed(s: &str) -> Result<u64, String> {
    s.trim()
        .parse()
        .map_err(|_| format!("a seed is a whole number from 0 to {}", u64::MAX))
}

/// Parses a TCP port: a whole number from 0 to 65535 (0: any free port).
pub fn parse_port(s: &str) -> Result<u16, String> {
    let t = s.trim();
    match t.parse::<i128>() {
        Ok(v) if (0..=65535).contains(&v) => Ok(v as u16),
        Ok(v) => Err(format!("a port is a number from 0 to 65535 (got {v})")),
        Err(_) => Err("a port is a number from 0 to 65535".into()),
    }
}

/// Parses a count that must be at least 1 (`--max-connections`).
pub fn parse_positive(s: &str) -> Result<u64, String> {
    let t = s.trim();
    match t.parse::<i128>() {
        Ok(v) if v >= 1 && v <= i128::from(u64::MAX) => Ok(v as u64),
        Ok(v) if v < 1 => Err(format!("must be at least 1 (got {v})")),
        _ => Err(format!("a whole number from 1 to {}", u64::MAX)),
    }
}

/// Where the seed of a run came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SeedSource {
    Flag,
    Env,
    Random,
}

/// The seed to use: `--seed`, else `BOUCLE_SEED`, else a random one.
///
/// # Errors
/// A usage error if `BOUCLE_SEED` is set but is not a u64 (the runtime
/// would refuse it too: a silently ignored seed is worse than an error).
pub fn resolve_seed(flag: Option<u64>) -> Result<(u64, SeedSource), Failure> {
    if let Some(seed) = flag {
        return Ok((seed, SeedSource::Flag));
    }
    match std::env::var("BOUCLE_SEED") {
        Ok(raw) => match parse_seed(&raw) {
            Ok(seed) => Ok((seed, SeedSource::Env)),
            Err(why) => Err(Failure::usage(format!(
                "invalid BOUCLE_SEED {raw:?}: {why}"
            ))),
        },
        Err(std::env::VarError::NotUnicode(raw)) => Err(Failure::usage(format!(
            "invalid BOUCLE_SEED {raw:?}: not valid UTF-8"
        ))),
        Err(std::env::VarError::NotPresent) => Ok((fastrand::u64(..), SeedSource::Random)),
    }
}

/// Refuses `n` tasks when their estimated memory exceeds what the system
/// reports as available (`MemAvailable` in `/proc/meminfo`; no check
/// where that is unreadable).
pub fn check_memory(n: usize, traced: bool) -> Result<(), Failure> {
    let per_task = BYTES_PER_TASK + if traced { BYTES_PER_TRACED_TASK } else { 0 };
    let need = n as u64 * per_task;
    match available_memory() {
        Some(avail) if need > avail => Err(Failure::usage(format!(
            "N = {} needs about {} of memory, only {} is available; use a smaller N{}",
            group(n as u64),
            human_bytes(need),
            human_bytes(avail),
            if traced {
                " or drop --timeline/--chrome-trace"
            } else {
                ""
            }
        ))),
        _ => Ok(()),
    }
}

fn available_memory() -> Option<u64> {
    let info = std::fs::read_to_string("/proc/meminfo").ok()?;
    let line = info.lines().find(|l| l.starts_with("MemAvailable:"))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib * 1024)
}

/// A file written in full or not at all: the bytes go to a temporary file
/// beside the target, which replaces the target only on [`commit`].
/// Dropped without a commit (a later check failed, the run was cut short),
/// it removes the temporary file and leaves an existing target untouched.
///
/// [`commit`]: PendingFile::commit
#[derive(Debug)]
pub struct PendingFile {
    target: PathBuf,
    tmp: PathBuf,
    file: Option<File>,
}

impl PendingFile {
    /// Creates the temporary file now, so that a path that cannot be
    /// written is a usage error before the run, not after it.
    pub fn create(target: &Path, what: &str) -> Result<PendingFile, Failure> {
        let cannot = |e: &dyn fmt::Display| {
            Failure::usage(format!(
                "cannot write the {what} to {}: {e}",
                target.display()
            ))
        };
        if target.is_dir() {
            return Err(cannot(&"it is a directory"));
        }
        let name = target
            .file_name()
            .ok_or_else(|| cannot(&"not a file name"))?
            .to_string_lossy()
            .into_owned();
        let dir = match target.parent() {
            Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
            _ => PathBuf::from("."),
        };
        let tmp = dir.join(format!(".{name}.boucle-{}.tmp", std::process::id()));
        let file = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&tmp)
            .map_err(|e| cannot(&e))?;
        Ok(PendingFile {
            target: target.to_path_buf(),
            tmp,
            file: Some(file),
        })
    }

    /// The path the file will have once committed.
    pub fn target(&self) -> &Path {
        &self.target
    }

    /// Writes `bytes`, then moves the file into place.
    pub fn commit(mut self, bytes: &[u8]) -> std::io::Result<()> {
        use std::io::Write as _;
        let mut file = self.file.take().expect("committed once");
        file.write_all(bytes)?;
        file.sync_all()?;
        drop(file);
        std::fs::rename(&self.tmp, &self.target)
    }
}

impl Drop for PendingFile {
    fn drop(&mut self) {
        // Not committed, or the commit failed before the rename: the target
        // keeps what it had.
        if self.tmp.exists() {
            let _ = std::fs::remove_file(&self.tmp);
        }
    }
}

/// One line from a clap error: its first paragraph, lines joined, without
/// the `error:` prefix, the usage and the `--help` hint.
pub fn one_line(err: &clap::Error) -> String {
    let text = err.render().to_string();
    let mut parts = Vec::new();
    for line in text.lines() {
        let line = line.trim();
        if line.is_empty() {
            if parts.is_empty() {
                continue;
            }
            break;
        }
        if line.starts_with("Usage:") || line.starts_with("For more information") {
            break;
        }
        parts.push(
            line.strip_prefix("error:")
                .unwrap_or(line)
                .trim()
                .to_string(),
        );
    }
    let mut message = parts.join(" ");
    if message.is_empty() {
        message = err.kind().to_string();
    }
    message
}

/// 12345678 -> "12,345,678".
pub fn group(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// A byte count in MiB or GiB, one decimal.
pub fn human_bytes(bytes: u64) -> String {
    const MIB: f64 = 1024.0 * 1024.0;
    let b = bytes as f64;
    if b >= 1024.0 * MIB {
        format!("{:.1} GiB", b / (1024.0 * MIB))
    } else {
        format!("{:.1} MiB", b / MIB)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delays() {
        assert_eq!(parse_delay("10"), Ok(10.0));
        assert_eq!(parse_delay("0.5"), Ok(0.5));
        assert_eq!(parse_delay("-0"), Ok(0.0));
        for bad in [
            "-1", "nan", "NaN", "inf", "-inf", "infinity", "abc", "", "1e10",
        ] {
            assert!(parse_delay(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn counts() {
        assert_eq!(parse_count("0"), Ok(0));
        assert_eq!(parse_count("5"), Ok(5));
        assert_eq!(parse_count("10000000"), Ok(MAX_TASKS));
        assert!(parse_count("10000001").unwrap_err().contains("too many"));
        assert!(parse_count("99999999999999999999999")
            .unwrap_err()
            .contains("too many"));
        assert!(parse_count("-3").unwrap_err().contains("negative"));
        assert!(parse_count("abc")
            .unwrap_err()
            .contains("not a whole number"));
        assert!(parse_count("2.5")
            .unwrap_err()
            .contains("not a whole number"));
    }

    #[test]
    fn seeds_and_groups() {
        assert_eq!(parse_seed("42"), Ok(42));
        assert!(parse_seed("-1").is_err());
        assert!(parse_seed("18446744073709551616").is_err());
        assert_eq!(group(0), "0");
        assert_eq!(group(1234567), "1,234,567");
        assert_eq!(human_bytes(5 * 1024 * 1024 * 1024), "5.0 GiB");
    }
}
