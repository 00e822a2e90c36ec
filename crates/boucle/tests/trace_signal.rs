//! Asking a running program for its task tree (SIGUSR1 with
//! `Builder::dump_on_signal`), and debug mode's watchdog, each in a child
//! process (the test re-executes itself).

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use boucle::Runtime;

fn child_mode() -> Option<String> {
    std::env::var("BOUCLE_TRACE_CHILD").ok()
}

/// The child: tasks that wait on a timer and on a queue, then "ready".
fn dump_child() {
    let rt = Runtime::builder().dump_on_signal(true).build().unwrap();
    rt.block_on(async {
        let q = boucle::sync::Queue::<u8>::new(0);
        let q2 = q.clone();
        let _fetcher = boucle::task::Builder::new()
            .name("fetcher")
            .spawn(boucle::sleep(Duration::from_secs(600)));
        let _reader = boucle::task::Builder::new()
            .name("reader")
            .spawn(async move { q2.get().await });
        boucle::yield_now().await;
        println!("ready");
        boucle::sleep(Duration::from_secs(600)).await;
    });
}

fn watchdog_child() {
    let rt = Runtime::builder()
        .debug(true)
        .watchdog(true)
        .slow_poll_threshold(Duration::from_millis(50))
        .build()
        .unwrap();
    rt.block_on(async {
        boucle::task::Builder::new()
            .name("hog")
            .spawn(async { std::thread::sleep(Duration::from_millis(400)) })
            .await
            .unwrap();
    });
}

#[test]
fn child_entry() {
    match child_mode().as_deref() {
        Some("dump") => dump_child(),
        Some("watchdog") => watchdog_child(),
        _ => {} // not a child: nothing to do
    }
}

#[test]
fn sigusr1_makes_a_running_program_write_its_task_tree() {
    let path = std::env::temp_dir().join(format!("boucle-trace-dump-{}.txt", std::process::id()));
    let _ = std::fs::remove_file(&path);
    let mut child = Command::new(std::env::current_exe().unwrap())
        .args(["--exact", "child_entry", "--nocapture", "--test-threads=1"])
        .env("BOUCLE_TRACE_CHILD", "dump")
        .env("BOUCLE_DUMP", &path)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut out = BufReader::new(child.stdout.take().unwrap());
    let mut line = String::new();
    while !line.contains("ready") {
        line.clear();
        assert!(
            out.read_line(&mut line).unwrap() > 0,
            "the child ended early"
        );
    }
    let killed = Command::new("kill")
        .args(["-USR1", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(killed.success());
    let start = Instant::now();
    let text = loop {
        if let Ok(text) = std::fs::read_to_string(&path) {
            break text;
        }
        assert!(start.elapsed() < Duration::from_secs(10), "no dump written");
        std::thread::sleep(Duration::from_millis(10));
    };
    let _ = child.kill();
    let _ = child.wait();
    let _ = std::fs::remove_file(&path);
    let _ = std::fs::remove_file(boucle::trace::dump_path(child.id()));
    assert!(text.contains("fetcher (id"), "{text}");
    assert!(text.contains("waiting on sleep until"), "{text}");
    assert!(
        text.lines()
            .any(|l| l.contains("reader (id") && l.contains("waiting on Queue.get")),
        "{text}"
    );
    assert!(
        text.contains("boucle dump on SIGUSR1"),
        "the listener is a named task: {text}"
    );
}

#[test]
fn the_watchdog_speaks_while_a_poll_blocks_and_the_warning_after() {
    let out = Command::new(std::env::current_exe().unwrap())
        .args(["--exact", "child_entry", "--nocapture", "--test-threads=1"])
        .env("BOUCLE_TRACE_CHILD", "watchdog")
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    let stderr = String::from_utf8_lossy(&out.stderr);
    let dog = stderr
        .lines()
        .position(|l| l.starts_with("boucle watchdog: task id 1 has been in one poll"));
    let warning = stderr
        .lines()
        .position(|l| l.contains("task 'hog'") && l.contains("blocked the loop"));
    let (Some(dog), Some(warning)) = (dog, warning) else {
        panic!("{stderr}");
    };
    assert!(dog < warning, "the watchdog speaks first: {stderr}");
    assert_eq!(
        stderr
            .lines()
            .filter(|l| l.starts_with("boucle watchdog"))
            .count(),
        1,
        "one report per stuck poll: {stderr}"
    );
}
