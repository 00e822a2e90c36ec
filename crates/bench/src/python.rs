//! The Python peers: a virtualenv with uvloop at `.venv-bench` (repo root, git-ignored;
//! `BOUCLE_BENCH_VENV` overrides the path),
//! created with `python3 -m venv` + `pip install uvloop` on first use and reused after. When
//! pip fails, asyncio still runs (on the venv's or the system's python3) and uvloop is
//! reported unavailable with the reason.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// Where the Python peers run.
#[derive(Clone, Debug)]
pub struct Python {
    /// The interpreter that runs `worker.py`.
    pub interpreter: PathBuf,
    pub script: PathBuf,
    /// `Python 3.11.7`, say.
    pub version: String,
    /// uvloop's version, or why it is unavailable.
    pub uvloop: Result<String, String>,
}

/// The repository root (where `.venv-bench`, `README.md` and `BENCHMARKS.md` live).
pub fn repo_root() -> PathBuf {
    let manifest = Path::new(env!("CARGO_MANIFEST_DIR"));
    let root = manifest.join("../..");
    root.canonicalize().unwrap_or(root)
}

/// `.venv-bench` at the repo root, or `$BOUCLE_BENCH_VENV` when set.
pub fn venv_dir() -> PathBuf {
    std::env::var_os("BOUCLE_BENCH_VENV")
        .map(PathBuf::from)
        .unwrap_or_else(|| repo_root().join(".venv-bench"))
}

pub fn script() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("python/worker.py")
}

/// Finds or makes the interpreter; `Err` when there is no usable python3 at all.
pub fn setup() -> Result<Python, String> {
    let script = script();
    if !script.is_file() {
        return Err(format!("{} is missing", script.display()));
    }
    let venv = venv_dir();
    let venv_python = venv.join("bin/python");
    let mut pip_error = None;
    if !venv_python.is_file() {
        eprintln!("python: creating {} (python3 -m venv)", venv.display());
        if let Err(e) = run_quiet(Command::new("python3").arg("-m").arg("venv").arg(&venv)) {
            pip_error = Some(format!("python3 -m venv failed: {e}"));
        }
    }
    let interpreter = if venv_python.is_file() {
        venv_python
    } else {
        PathBuf::from("python3")
    };
    let probe = |python: &Path| probe(python, &script);
    let (mut version, mut uvloop) = probe(&interpreter)?;
    if uvloop.is_err() && pip_error.is_none() && interpreter.starts_with(&venv) {
        eprintln!("python: pip install uvloop into {}", venv.display());
        let pip = run_quiet(
            Command::new(&interpreter)
                .args(["-m", "pip", "install", "--disable-pip-version-check", "-q"])
                .arg("uvloop"),
        );
        match pip {
            Ok(()) => (version, uvloop) = probe(&interpreter)?,
            Err(e) => pip_error = Some(format!("pip install uvloop failed: {e}")),
        }
    }
    if let Some(e) = pip_error {
        uvloop = Err(format!("{e}; the Python peers run on plain asyncio only"));
    }
    Ok(Python {
        interpreter,
        script,
        version,
        uvloop,
    })
}

/// Asks `worker.py --versions` for Python's and uvloop's versions.
fn probe(python: &Path, script: &Path) -> Result<(String, Result<String, String>), String> {
    let out = Command::new(python)
        .arg(script)
        .arg("--versions")
        .stdin(Stdio::null())
        .output()
        .map_err(|e| format!("cannot run {}: {e}", python.display()))?;
    if !out.status.success() {
        return Err(format!(
            "{} {} --versions failed: {}",
            python.display(),
            script.display(),
            last_line(&String::from_utf8_lossy(&out.stderr))
        ));
    }
    let text = String::from_utf8_lossy(&out.stdout);
    let field = |key: &str| {
        text.split_whitespace()
            .find_map(|w| w.strip_prefix(key)?.strip_prefix('='))
            .map(str::to_owned)
    };
    let version = format!("Python {}", field("python").unwrap_or_else(|| "?".into()));
    let uvloop = match field("uvloop") {
        Some(v) if v != "none" => Ok(v),
        _ => Err("uvloop is not installed".to_owned()),
    };
    Ok((version, uvloop))
}

/// Runs a set-up command with its output captured; `Err` has its last line.
fn run_quiet(cmd: &mut Command) -> Result<(), String> {
    let out = cmd
        .stdin(Stdio::null())
        .output()
        .map_err(|e| e.to_string())?;
    if out.status.success() {
        Ok(())
    } else {
        let mut text = String::from_utf8_lossy(&out.stderr).into_owned();
        text += &String::from_utf8_lossy(&out.stdout);
        Err(last_line(&text))
    }
}

fn last_line(text: &str) -> String {
    text.lines()
        .rev()
        .find(|l| !l.trim().is_empty())
        .unwrap_or("(no output)")
        .trim()
        .chars()
        .take(200)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::stats::{percentile_sorted, uniform_delays};
    use crate::workload::{Size, DELAY_SEED};
    use std::time::Duration;

    /// worker.py must draw the same delays and read percentiles and sizes as the Rust side.
    /// Skipped (with a message) where there is no python3.
    #[test]
    fn python_worker_agrees_with_the_rust_side() {
        let Ok(out) = Command::new("python3")
            .arg(script())
            .arg("--check")
            .output()
        else {
            eprintln!("no python3: skipped");
            return;
        };
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let delays: Vec<u128> = uniform_delays(DELAY_SEED, 5, Duration::from_secs(2))
            .iter()
            .map(Duration::as_nanos)
            .collect();
        let v: Vec<u32> = (1..=1000).collect();
        let ps: Vec<u32> = [0, 5000, 9900, 10_000]
            .iter()
            .map(|&p| percentile_sorted(&v, p).unwrap())
            .collect();
        let sizes: Vec<(usize, usize, u64)> = ["1000000", "100x2000", "10000/200ms"]
            .iter()
            .map(|s| {
                let s: Size = s.parse().unwrap();
                (s.n, s.m, s.span_ms)
            })
            .collect();
        let expected =
            format!("delays={delays:?} percentiles={ps:?} sizes={sizes:?}").replace(' ', "");
        assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), expected);
    }
}
