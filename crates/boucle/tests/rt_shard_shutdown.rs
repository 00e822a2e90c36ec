//! Shutdown of every shard within a deadline: the stop reaches every
//! shard, root futures get the grace period (virtual time: instant), the
//! rest is cancelled, a shard blocked in a system call is reported.

use std::time::{Duration, Instant};

use boucle::runtime::ShardedHandle;
use boucle::Runtime;

#[test]
fn every_shard_drains_within_the_grace_on_virtual_time() {
    let rt = Runtime::builder()
        .virtual_time(true)
        .threads(3)
        .build()
        .unwrap();
    // Each shard: a server-like root that drains for (shard + 1) s once
    // asked to stop, and shard 2 also has one that never ends.
    let roots: Vec<_> = (0..3)
        .map(|i| {
            rt.spawn_on_with(i, move || async move {
                ShardedHandle::current().stopping().await;
                boucle::sleep(Duration::from_secs(i as u64 + 1)).await;
                i
            })
        })
        .collect();
    let _never = rt.spawn_on(2, std::future::pending::<()>());
    let started = Instant::now();
    let report = rt.shutdown_timeout(Duration::from_secs(10));
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "virtual grace took real time"
    );
    let got: Vec<_> = roots.into_iter().map(|t| t.wait().unwrap()).collect();
    assert_eq!(got, [0, 1, 2]);
    assert!(report.all_in_time());
    assert!(report.shards[0].drained && report.shards[1].drained);
    assert!(
        !report.shards[2].drained,
        "the pending root outlives the grace"
    );
    assert!(report.shards[2].cancelled >= 1);
}

#[test]
fn stopping_completes_on_every_shard_and_off_the_shards() {
    let rt = Runtime::builder().threads(2).build().unwrap();
    let shards = rt.handle();
    assert!(!shards.is_stopping());
    let watcher = {
        let shards = shards.clone();
        std::thread::spawn(move || {
            // Off the shards: any executor; here a shard of another runtime.
            boucle::run(async move { shards.stopping().await })
        })
    };
    let stopper = shards.clone();
    let t = std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(20));
        stopper.shutdown(Duration::from_secs(5));
    });
    let out = rt.block_on(|shard| async move {
        ShardedHandle::current().stopping().await;
        shard.id()
    });
    t.join().unwrap();
    watcher.join().unwrap();
    assert!(shards.is_stopping());
    assert_eq!(
        out.into_iter().map(Result::unwrap).collect::<Vec<_>>(),
        [0, 1]
    );
    // A second shutdown call does not move the first one's deadline.
    let report = rt.shutdown_timeout(Duration::from_secs(3600));
    assert!(report.all_in_time() && report.all_drained());
}

#[test]
fn a_shard_blocked_in_a_system_call_is_reported_and_left_running() {
    let rt = Runtime::builder().threads(2).build().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    // Blocks shard 1's thread for 800 ms (a real bug in a real program).
    let _blocker = rt.spawn_on(1, async move {
        tx.send(()).unwrap();
        std::thread::sleep(Duration::from_millis(800));
    });
    rx.recv().unwrap();
    let started = Instant::now();
    let report = rt.shutdown_timeout(Duration::from_millis(50));
    let took = started.elapsed();
    assert!(
        took < Duration::from_millis(700),
        "waited {took:?} for a stuck shard"
    );
    assert!(report.shards[0].in_time);
    assert!(!report.shards[1].in_time);
    assert!(!report.all_in_time());
}

#[test]
fn dropping_the_runtime_cancels_every_shards_tasks_at_once() {
    let rt = Runtime::builder().threads(2).build().unwrap();
    let long = rt.spawn_on(0, std::future::pending::<()>());
    let other = rt.spawn_on_with(1, || boucle::sleep(Duration::from_secs(3600)));
    let started = Instant::now();
    drop(rt);
    assert!(started.elapsed() < Duration::from_secs(2));
    assert!(long.wait().unwrap_err().is_cancelled());
    assert!(other.wait().unwrap_err().is_cancelled());
}

#[test]
fn run_sharded_cancels_what_the_mains_left_behind() {
    let started = Instant::now();
    let out = boucle::run_sharded(2, |_| async {
        drop(boucle::spawn(boucle::sleep(Duration::from_secs(3600))));
        drop(boucle::runtime::spawn_on(0, std::future::pending::<()>()));
        "done"
    });
    assert!(out.iter().all(|r| *r.as_ref().unwrap() == "done"));
    assert!(started.elapsed() < Duration::from_secs(2));
}
