//! Per-shard and merged traces, metrics and task dumps.

use std::time::Duration;

use boucle::runtime::ShardedHandle;
use boucle::Runtime;

#[test]
fn merged_trace_has_a_process_per_shard_and_prefixed_rows() {
    let rt = Runtime::builder()
        .virtual_time(true)
        .trace(true)
        .threads(2)
        .build()
        .unwrap();
    rt.block_on(|shard| async move {
        let name = ["alpha", "beta"][shard.id()];
        boucle::task::Builder::new()
            .name(name)
            .spawn(boucle::sleep(Duration::from_secs(
                2 * (shard.id() as u64 + 1),
            )))
            .await
            .unwrap();
    });
    let trace = rt.trace().expect("tracing is on");
    assert_eq!(trace.shards().len(), 2);
    // Each shard's own trace holds its own tasks only.
    let alpha = trace.get(0).unwrap().tasks();
    assert!(alpha.iter().any(|t| t.name.as_deref() == Some("alpha")));
    assert!(!alpha.iter().any(|t| t.name.as_deref() == Some("beta")));
    let beta = trace.get(1).unwrap().tasks();
    let b = beta
        .iter()
        .find(|t| t.name.as_deref() == Some("beta"))
        .unwrap();
    assert_eq!(b.end.unwrap() - b.start, Duration::from_secs(4));
    // The main futures are named after their shard.
    assert!(alpha
        .iter()
        .any(|t| t.name.as_deref() == Some("shard-0 main")));
    // Merged: one axis (virtual: offsets 0), rows prefixed by shard.
    assert!(trace.shards().iter().all(|p| p.offset == Duration::ZERO));
    assert!(trace.taken_at() >= Duration::from_secs(4));
    let text = trace.timeline(40);
    let alpha_row = text.lines().find(|l| l.starts_with("s0 alpha ")).unwrap();
    let beta_row = text.lines().find(|l| l.starts_with("s1 beta ")).unwrap();
    assert!(alpha_row.ends_with("| 2.000s"), "{text}");
    assert!(beta_row.ends_with("| 4.000s"), "{text}");
    // alpha ends half-way along the axis beta spans.
    let end = |row: &str| row.find('>').unwrap();
    assert!(end(alpha_row) < end(beta_row), "{text}");
    let json = trace.to_chrome_json();
    for pid in [1, 2] {
        assert!(
            json.contains(&format!(
                "\"ph\":\"M\",\"pid\":{pid},\"name\":\"process_name\""
            )),
            "{json}"
        );
    }
    assert!(json.contains("\"pid\":2,\"tid\"") && json.contains("\"name\":\"beta\""));
    assert!(json.contains("\"name\":\"poll\""));
    assert!(
        json.starts_with("{\"traceEvents\":[") && json.ends_with("],\"displayTimeUnit\":\"ms\"}")
    );
    // After the shutdown, the report keeps each shard's final trace.
    let report = rt.shutdown_timeout(Duration::from_secs(1));
    let last = report.trace().unwrap();
    assert_eq!(last.shards().len(), 2);
    assert!(last
        .get(1)
        .unwrap()
        .tasks()
        .iter()
        .any(|t| t.name.as_deref() == Some("beta")));
}

#[test]
fn without_tracing_there_is_no_trace() {
    let rt = Runtime::builder().threads(2).build().unwrap();
    assert!(rt.trace().is_none());
}

#[test]
fn real_time_traces_line_up_by_each_shards_start() {
    let rt = Runtime::builder().trace(true).threads(2).build().unwrap();
    rt.block_on(|_| async { boucle::sleep(Duration::from_millis(5)).await });
    let trace = rt.trace().unwrap();
    let offsets: Vec<_> = trace.shards().iter().map(|p| p.offset).collect();
    // The earliest shard is at 0; the others started within a second.
    assert!(offsets.contains(&Duration::ZERO));
    assert!(offsets.iter().all(|o| *o < Duration::from_secs(1)));
}

#[test]
fn metrics_and_dumps_name_each_shard() {
    let rt = Runtime::builder().threads(2).build().unwrap();
    let shards = rt.handle();
    // Two named tasks parked on shard 1, one on shard 0, through spawn_on.
    let roots: Vec<_> = [(0, "zero"), (1, "one-a"), (1, "one-b")]
        .into_iter()
        .map(|(s, name)| {
            shards.spawn_on_with(s, move || async move {
                let t = boucle::task::Builder::new().name(name).spawn(async {
                    ShardedHandle::current().stopping().await;
                });
                let _ = t.await;
            })
        })
        .collect();
    // Wait until they run.
    let deadline = std::time::Instant::now() + Duration::from_secs(5);
    let dump = loop {
        let dump = rt.all_tasks();
        if dump.iter().filter(|t| t.name.is_some()).count() == 3 {
            break dump;
        }
        assert!(std::time::Instant::now() < deadline, "{dump:?}");
        std::thread::sleep(Duration::from_millis(2));
    };
    let named = |s: usize| {
        let mut v: Vec<_> = dump
            .iter()
            .filter(|t| t.shard == s)
            .filter_map(|t| t.name.clone())
            .collect();
        v.sort();
        v
    };
    assert_eq!(named(0), ["zero"]);
    assert_eq!(named(1), ["one-a", "one-b"]);
    assert!(dump.iter().any(|t| t.label() == "s1 one-a"));
    let m = rt.metrics();
    assert_eq!(m.iter().map(|m| m.shard.id()).collect::<Vec<_>>(), [0, 1]);
    assert_eq!(m.iter().map(|m| m.roots).collect::<Vec<_>>(), [1, 2]);
    // Each shard: its roots, their named children, and the metrics job.
    assert_eq!(m.iter().map(|m| m.tasks).collect::<Vec<_>>(), [3, 5]);
    // The async forms give the same from a shard.
    let from_shard = rt
        .handle()
        .spawn_on_with(0, || async {
            let h = ShardedHandle::current();
            (h.metrics().await.len(), h.all_tasks().await.len())
        })
        .wait()
        .unwrap();
    assert_eq!(from_shard.0, 2);
    assert!(from_shard.1 >= 3);
    let report = rt.shutdown_timeout(Duration::from_secs(2));
    assert!(report.all_drained());
    for r in roots {
        r.wait().unwrap();
    }
}

/// Each shard builds its own instrument on its thread; its hooks see that
/// shard's tasks only.
#[test]
fn each_shard_has_its_own_instrument_and_it_sees_only_that_shards_tasks() {
    use std::sync::{Arc, Mutex};

    use boucle::trace::{Instrument, Spawned};

    struct Names {
        shard: usize,
        seen: Arc<Mutex<Vec<(usize, String)>>>,
        thread: std::thread::ThreadId,
    }
    impl Instrument for Names {
        fn task_spawned(&self, s: &Spawned<'_>, _: Duration) {
            assert_eq!(
                std::thread::current().id(),
                self.thread,
                "hook off its shard"
            );
            if let Some(name) = s.name {
                self.seen
                    .lock()
                    .unwrap()
                    .push((self.shard, name.to_owned()));
            }
        }
    }
    let seen = Arc::new(Mutex::new(Vec::new()));
    let log = seen.clone();
    let rt = Runtime::builder()
        .virtual_time(true)
        .threads(2)
        .instrument(move |shard| Names {
            shard: shard.id(),
            seen: log.clone(),
            thread: std::thread::current().id(),
        })
        .build()
        .unwrap();
    rt.block_on(|shard| async move {
        let name = ["left", "right"][shard.id()];
        boucle::task::Builder::new()
            .name(name)
            .spawn(async {})
            .await
            .unwrap();
    });
    let mut seen = seen.lock().unwrap().clone();
    seen.sort();
    assert_eq!(
        seen,
        [
            (0, "left".to_owned()),
            (0, "shard-0 main".to_owned()),
            (1, "right".to_owned()),
            (1, "shard-1 main".to_owned()),
        ]
    );
}
