//! `boucle::process`: real children (`cat`, `sh -c`, `sleep`), their pipes,
//! exits, kills and reaping, with the pidfd watcher and (in a re-executed
//! child of this binary) the SIGCHLD fallback.

use std::os::unix::process::ExitStatusExt;
use std::process::Stdio;
use std::time::{Duration, Instant};

use boucle::process::{create_subprocess_exec, create_subprocess_shell, Command};
use boucle::signal::SignalKind;
use futures_util::{AsyncReadExt, AsyncWriteExt};

/// Whether `pid` is gone: exited *and* reaped (a zombie still has its
/// /proc entry).
fn reaped(pid: u32) -> bool {
    !std::path::Path::new(&format!("/proc/{pid}")).exists()
}

/// Waits up to 5 s for `pid` to be reaped.
fn eventually_reaped(pid: u32) -> bool {
    let end = Instant::now() + Duration::from_secs(5);
    while Instant::now() < end {
        if reaped(pid) {
            return true;
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    false
}

fn threads() -> usize {
    std::fs::read_dir("/proc/self/task").unwrap().count()
}

#[test]
fn cat_echoes_a_megabyte_written_while_it_is_read() {
    boucle::run(async {
        let mut child = Command::new("cat")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .unwrap();
        assert!(child.id().is_some());
        let data: Vec<u8> = (0..1_000_000u32).map(|i| (i * 7) as u8).collect();
        let mut stdin = child.stdin.take().unwrap();
        let mut stdout = child.stdout.take().unwrap();
        let input = data.clone();
        // Both at once: the pipes hold 64 KiB, so one without the other deadlocks.
        let writer = boucle::spawn(async move {
            AsyncWriteExt::write_all(&mut stdin, &input).await.unwrap();
            AsyncWriteExt::close(&mut stdin).await.unwrap();
        });
        let mut echoed = Vec::new();
        AsyncReadExt::read_to_end(&mut stdout, &mut echoed)
            .await
            .unwrap();
        writer.await.unwrap();
        assert!(echoed == data, "cat gave back {} bytes", echoed.len());
        let status = child.wait().await.unwrap();
        assert!(status.success());
        assert_eq!(child.id(), None, "no pid once reaped");
        assert_eq!(child.try_wait().unwrap(), Some(status));
    });
}

#[test]
fn a_child_writing_10_mb_is_read_to_the_end() {
    boucle::run(async {
        let mut child = Command::shell("head -c 10485760 /dev/zero | tr '\\0' x")
            .stdout(Stdio::piped())
            .spawn()
            .unwrap();
        let mut stdout = child.stdout.take().unwrap();
        let mut total = 0usize;
        let mut buf = vec![0u8; 64 * 1024];
        loop {
            let n = stdout.read(&mut buf).await.unwrap();
            if n == 0 {
                break;
            }
            assert!(buf[..n].iter().all(|&b| b == b'x'));
            total += n;
        }
        assert_eq!(total, 10 * 1024 * 1024);
        assert!(child.wait().await.unwrap().success());
    });
}

#[test]
fn output_collects_status_stdout_and_stderr() {
    boucle::run(async {
        let out = Command::shell("printf out; printf err >&2; exit 7")
            .output()
            .await
            .unwrap();
        assert_eq!(out.status.code(), Some(7));
        assert_eq!(out.stdout, b"out");
        assert_eq!(out.stderr, b"err");
        // stdin is null for output(): cat ends at once.
        let out = Command::new("cat").output().await.unwrap();
        assert!(out.status.success() && out.stdout.is_empty());
        let mut c = create_subprocess_shell("exit 5").await.unwrap();
        assert_eq!(c.wait().await.unwrap().code(), Some(5));
        let mut c = create_subprocess_exec("sh", ["-c", "exit 6"])
            .await
            .unwrap();
        assert_eq!(c.wait().await.unwrap().code(), Some(6));
        let st = Command::new("sh")
            .args(["-c", "kill -9 $$"])
            .status()
            .await
            .unwrap();
        assert_eq!(st.signal(), Some(9));
    });
}

#[test]
fn a_missing_program_is_a_clear_not_found() {
    boucle::run(async {
        let e = Command::new("no-such-program-boucle").spawn().unwrap_err();
        assert_eq!(e.kind(), std::io::ErrorKind::NotFound);
        assert!(e.to_string().contains("no-such-program-boucle"), "{e}");
    });
}

#[test]
fn a_child_that_ignores_sigterm_is_killed() {
    boucle::run(async {
        let mut child = Command::shell("trap '' TERM; echo ready; exec sleep 60")
            .stdout(Stdio::piped())
            .spawn()
            .unwrap();
        let mut line = [0u8; 6];
        child
            .stdout
            .as_mut()
            .unwrap()
            .read_exact_bytes(&mut line)
            .await;
        assert_eq!(&line, b"ready\n");
        assert!(child.uses_pidfd(), "this kernel has pidfds");
        child.send_signal(SignalKind::terminate()).unwrap();
        let still = boucle::timeout(Duration::from_millis(200), child.wait()).await;
        assert!(still.is_err(), "SIGTERM is ignored: still running");
        assert_eq!(child.try_wait().unwrap(), None);
        let status = child.kill().await.unwrap();
        assert_eq!(status.signal(), Some(9));
        // Killing an exited child is a no-op.
        child.start_kill().unwrap();
    });
}

trait ReadExactBytes {
    async fn read_exact_bytes(&mut self, buf: &mut [u8]);
}

impl ReadExactBytes for boucle::process::ChildStdout {
    async fn read_exact_bytes(&mut self, buf: &mut [u8]) {
        AsyncReadExt::read_exact(self, buf).await.unwrap();
    }
}

#[test]
fn dropped_children_are_reaped_not_left_zombies() {
    let (running, killed) = boucle::run(async {
        // Runs on after the drop; reaped by the loop when it exits.
        let short = Command::new("sleep").arg("0.05").spawn().unwrap();
        let running = short.id().unwrap();
        drop(short);
        let long = Command::new("sleep")
            .arg("1000")
            .kill_on_drop(true)
            .spawn()
            .unwrap();
        let killed = long.id().unwrap();
        drop(long);
        // Let the background reapers run while the loop lives.
        boucle::sleep(Duration::from_millis(300)).await;
        (running, killed)
    });
    assert!(eventually_reaped(running), "pid {running} left a zombie");
    assert!(eventually_reaped(killed), "pid {killed} left a zombie");
}

#[test]
fn a_child_that_outlives_its_loop_is_reaped_by_a_later_spawn() {
    let pid = boucle::run(async {
        let c = Command::new("sleep").arg("0.1").spawn().unwrap();
        c.id().unwrap()
        // The loop ends with the child still running.
    });
    std::thread::sleep(Duration::from_millis(200));
    boucle::run(async {
        // Any spawn sweeps the orphan list.
        Command::new("true").status().await.unwrap();
    });
    assert!(eventually_reaped(pid), "pid {pid} left a zombie");
}

#[test]
fn many_children_are_watched_without_a_thread_each() {
    boucle::run(async {
        let before = threads();
        let mut children: Vec<_> = (0..64)
            .map(|_| Command::new("sleep").arg("0.2").spawn().unwrap())
            .collect();
        let during = threads();
        assert!(
            during < before + 8,
            "{before} threads before, {during} with 64 children waiting"
        );
        for c in &mut children {
            assert!(c.wait().await.unwrap().success());
        }
    });
}

/// The child side of `the_sigchld_fallback_works_without_pidfds`.
#[test]
#[ignore = "helper: started with BOUCLE_NO_PIDFD=1 by the_sigchld_fallback_works_without_pidfds"]
fn sigchld_fallback_helper() {
    if std::env::var_os("BOUCLE_NO_PIDFD").is_none() {
        return;
    }
    boucle::run(async {
        let mut children: Vec<_> = (0..20)
            .map(|i| Command::shell(format!("exit {i}")).spawn().unwrap())
            .collect();
        assert!(children.iter().all(|c| !c.uses_pidfd()));
        for (i, c) in children.iter_mut().enumerate() {
            assert_eq!(c.wait().await.unwrap().code(), Some(i as i32));
        }
        let out = Command::new("echo").arg("hi").output().await.unwrap();
        assert_eq!(out.stdout, b"hi\n");
        let mut c = Command::new("sleep").arg("1000").spawn().unwrap();
        assert_eq!(c.kill().await.unwrap().signal(), Some(9));
        let dropped = Command::new("sleep").arg("0.05").spawn().unwrap();
        let pid = dropped.id().unwrap();
        drop(dropped);
        boucle::sleep(Duration::from_millis(300)).await;
        assert!(reaped(pid), "the dropped child was reaped through SIGCHLD");
        println!("fallback ok");
    });
}

#[test]
fn the_sigchld_fallback_works_without_pidfds() {
    let out = std::process::Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "sigchld_fallback_helper",
            "--ignored",
            "--nocapture",
        ])
        .env("BOUCLE_NO_PIDFD", "1")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success() && stdout.contains("fallback ok"),
        "{}\n{stdout}\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
}
