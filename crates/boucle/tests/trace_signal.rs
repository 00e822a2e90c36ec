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

/// The child of the sharded dump: a named task waiting on each shard.
fn shard_dump_child() {
    let rt = Runtime::builder()
        .dump_on_signal(true)
        .threads(2)
        .build()
        .unwrap();
    rt.block_on(|shard| async move {
        let name = format!("sleeper-{}", shard.id());
        let sleeper = boucle::task::Builder::new()
            .name(name.as_str())
            .spawn(boucle::sleep(Duration::from_secs(600)));
        boucle::yield_now().await;
        if shard.id() == 0 {
            println!("ready");
        }
        drop(sleeper.await);
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
        Some("shard-dump") => shard_dump_child(),
        _ => {} // not a child: nothing to do
    }
}

/// Starts this test binary as the child `mode`, waits for its "ready",
/// sends it SIGUSR1 and returns the dump it writes to `$BOUCLE_DUMP`.
fn dump_of_child(mode: &str) -> String {
    let path = std::env::temp_dir().join(format!(
        "boucle-trace-dump-{}-{mode}.txt",
        std::process::id()
    ));
    let _ = std::fs::remove_file(&path);
    let mut child = Command::new(std::env::current_exe().unwrap())
        .args(["--exact", "child_entry", "--nocapture", "--test-threads=1"])
        .env("BOUCLE_TRACE_CHILD", mode)
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
    text
}

#[test]
fn sigusr1_makes_a_running_program_write_its_task_tree() {
    let text = dump_of_child("dump");
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
fn a_sharded_runtime_writes_every_shards_tree_on_one_sigusr1() {
    let text = dump_of_child("shard-dump");
    let shard0 = text.find("shard 0:").expect(&text);
    let shard1 = text.find("shard 1:").expect(&text);
    assert!(shard0 < shard1, "{text}");
    // Each shard's tree under its heading, with its own task in it.
    let (first, second) = text[shard0..].split_at(shard1 - shard0);
    assert!(first.contains("sleeper-0 (id"), "{text}");
    assert!(second.contains("sleeper-1 (id"), "{text}");
    assert!(
        first
            .lines()
            .any(|l| l.contains("sleeper-0") && l.contains("waiting on sleep until 600.")),
        "each shard keeps its tree: {text}"
    );
    // One listener, on shard 0.
    assert_eq!(text.matches("boucle dump on SIGUSR1").count(), 1, "{text}");
    assert!(first.contains("boucle dump on SIGUSR1"), "{text}");
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
