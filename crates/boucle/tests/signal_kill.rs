//! `boucle::signal`: real signals sent with `kill` to this process and to a
//! child test process (this test binary, re-executed).
//!
//! Each test listens to its own signal: the tests of this file share one
//! process, and a signal nobody handles would end it.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::sync::{Arc, Barrier};
use std::time::Duration;

use boucle::signal::{signal, SignalKind};
use boucle::stream::StreamExt;

fn kill(sig: &str, pid: u32) {
    let status = Command::new("kill")
        .args([sig, &pid.to_string()])
        .status()
        .expect("the kill command runs");
    assert!(status.success(), "kill {sig} {pid} failed");
}

#[test]
fn several_loops_in_one_process_each_get_the_signal() {
    let ready = Arc::new(Barrier::new(3));
    let loops: Vec<_> = (0..2)
        .map(|_| {
            let ready = ready.clone();
            std::thread::spawn(move || {
                boucle::run(async move {
                    let mut s = signal(SignalKind::user_defined2()).unwrap();
                    ready.wait();
                    boucle::timeout(Duration::from_secs(30), s.recv())
                        .await
                        .expect("SIGUSR2 arrives")
                })
            })
        })
        .collect();
    ready.wait();
    kill("-USR2", std::process::id());
    for l in loops {
        assert_eq!(l.join().unwrap(), Some(()));
    }
}

#[test]
fn listeners_of_one_loop_all_see_a_delivery_and_deliveries_merge() {
    boucle::run(async {
        let mut a = signal(SignalKind::hangup()).unwrap();
        let mut b = signal(SignalKind::hangup()).unwrap();
        assert_eq!(a.kind(), SignalKind::hangup());
        assert_eq!(SignalKind::hangup().to_string(), "SIGHUP");
        // Two deliveries before anyone looks: at least one event each.
        kill("-HUP", std::process::id());
        kill("-HUP", std::process::id());
        let both = async {
            let x = boucle::spawn(async move { a.next().await });
            let y = b.recv().await;
            (x.await.unwrap(), y)
        };
        let got = boucle::timeout(Duration::from_secs(30), both)
            .await
            .unwrap();
        assert_eq!(got, (Some(()), Some(())));
    });
}

#[test]
fn signals_that_cannot_be_handled_are_refused() {
    boucle::run(async {
        for raw in [9, 19, 11, 0, 1000] {
            let e = signal(SignalKind::from_raw(raw)).unwrap_err();
            assert_eq!(e.kind(), std::io::ErrorKind::InvalidInput, "{raw}: {e}");
        }
    });
}

/// The child side of `a_child_process_gets_sigterm_then_ctrl_c`: run only
/// when that test starts this binary with BOUCLE_SIGNAL_CHILD=1.
#[test]
#[ignore = "helper: started as a child process by a_child_process_gets_sigterm_then_ctrl_c"]
fn signal_child_helper() {
    if std::env::var_os("BOUCLE_SIGNAL_CHILD").is_none() {
        return;
    }
    boucle::run(async {
        let mut term = signal(SignalKind::terminate()).unwrap();
        let ctrl_c = boucle::spawn(boucle::signal::ctrl_c());
        boucle::yield_now().await; // ctrl_c installs its handler at first poll
        println!("ready");
        term.recv().await;
        println!("got SIGTERM");
        ctrl_c.await.unwrap().unwrap();
        println!("got SIGINT");
    });
}

#[test]
fn a_child_process_gets_sigterm_then_ctrl_c() {
    let mut child = Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "signal_child_helper",
            "--ignored",
            "--nocapture",
            "--test-threads=1",
        ])
        .env("BOUCLE_SIGNAL_CHILD", "1")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let pid = child.id();
    // A watchdog: a child that never answers fails the test, not hangs it.
    let watchdog = std::thread::spawn(move || {
        std::thread::sleep(Duration::from_secs(30));
        let _ = Command::new("kill")
            .args(["-KILL", &pid.to_string()])
            .status();
    });
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    // The harness prints `test signal_child_helper ... ` before the
    // child's first line, on the same line.
    let mut expect = |want: &str| loop {
        let line = lines.next().expect("the child printed").unwrap();
        if line.ends_with(want) {
            return;
        }
        assert!(
            line.starts_with("running") || line.is_empty(),
            "unexpected line {line:?} while waiting for {want:?}"
        );
    };
    expect("ready");
    kill("-TERM", pid);
    expect("got SIGTERM");
    kill("-INT", pid);
    expect("got SIGINT");
    let status = child.wait().unwrap();
    assert!(status.success(), "{status}");
    drop(watchdog); // detached: it only kills a pid that has exited
}
