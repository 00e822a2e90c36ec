//! `boucle ps PID`: the task tree of a running boucle program. The program
//! must have `Builder::dump_on_signal(true)` (the CLI's long-running
//! commands do): `ps` checks that it catches SIGUSR1 (the default action
//! would kill it), sends the signal, and prints the dump the program writes
//! to `boucle::trace::dump_path(PID)`.

use std::path::PathBuf;
use std::time::{Duration, Instant, SystemTime};

use rustix::process::{kill_process, Pid, Signal};

use crate::args::Failure;
use crate::output;

/// How long the program gets to answer.
const ANSWER_WITHIN: Duration = Duration::from_secs(5);
/// SIGUSR1's bit in /proc/PID/status's signal masks.
const SIGUSR1_BIT: u64 = 1 << (10 - 1);

/// Runs `boucle ps PID`.
pub fn run(pid: u32) -> Result<(), Failure> {
    let raw = i32::try_from(pid)
        .ok()
        .and_then(Pid::from_raw)
        .ok_or_else(|| Failure::usage(format!("{pid} is not a process id")))?;
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))
        .map_err(|_| Failure::runtime(format!("no process {pid} (is it still running?)")))?;
    if !catches_sigusr1(&status) {
        return Err(Failure::runtime(format!(
            "process {pid} does not handle SIGUSR1, so it cannot be asked for its tasks (the \
             signal would end it): only a boucle program built with \
             Builder::dump_on_signal(true) answers, as the CLI's echo-server, echo-client, \
             files and fetch do"
        )));
    }
    let path = dump_path_of(pid);
    let before = modified(&path);
    kill_process(raw, Signal::USR1)
        .map_err(|e| Failure::runtime(format!("cannot signal process {pid}: {e}")))?;
    let start = Instant::now();
    while start.elapsed() < ANSWER_WITHIN {
        let now = modified(&path);
        if now.is_some() && now != before {
            let text = std::fs::read_to_string(&path).map_err(|e| {
                Failure::runtime(format!("cannot read the dump {}: {e}", path.display()))
            })?;
            output::emit_raw(&text);
            return Ok(());
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    Err(Failure::runtime(format!(
        "process {pid} caught SIGUSR1 but wrote no task tree to {} within {} s: it handles the \
         signal for something else, or its loop is blocked (a task that never yields)",
        path.display(),
        ANSWER_WITHIN.as_secs()
    )))
}

/// Whether the `SigCgt` mask of a /proc status text has SIGUSR1.
fn catches_sigusr1(status: &str) -> bool {
    status
        .lines()
        .find_map(|l| l.strip_prefix("SigCgt:"))
        .and_then(|mask| u64::from_str_radix(mask.trim(), 16).ok())
        .is_some_and(|mask| mask & SIGUSR1_BIT != 0)
}

/// `boucle::trace::dump_path` as the other process computes it: under its
/// own `$TMPDIR`.
fn dump_path_of(pid: u32) -> PathBuf {
    let file = boucle::trace::dump_path(pid)
        .file_name()
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(format!("boucle-dump-{pid}.txt")));
    let tmp = std::fs::read(format!("/proc/{pid}/environ"))
        .ok()
        .and_then(|env| {
            env.split(|&b| b == 0)
                .find_map(|kv| kv.strip_prefix(b"TMPDIR=").map(<[u8]>::to_vec))
        })
        .filter(|dir| !dir.is_empty())
        .map(|dir| {
            use std::os::unix::ffi::OsStringExt;
            PathBuf::from(std::ffi::OsString::from_vec(dir))
        })
        .unwrap_or_else(|| PathBuf::from("/tmp"));
    tmp.join(file)
}

fn modified(path: &std::path::Path) -> Option<SystemTime> {
    std::fs::metadata(path).and_then(|m| m.modified()).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sigusr1_is_read_from_the_caught_mask() {
        let status = "Name:\tx\nSigBlk:\t0000000000000200\nSigCgt:\t0000000000004a00\n";
        assert!(catches_sigusr1(status));
        let status = "SigIgn:\t0000000000000200\nSigCgt:\t0000000000004800\n";
        assert!(!catches_sigusr1(status));
        assert!(!catches_sigusr1("Name:\tx\n"));
    }

    #[test]
    fn this_process_does_not_catch_sigusr1() {
        let status = std::fs::read_to_string("/proc/self/status").unwrap();
        assert!(!catches_sigusr1(&status));
    }
}
