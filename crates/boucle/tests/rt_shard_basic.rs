//! Sharded runtimes: outputs in shard order, shard identity, spawn_on from
//! shards and from other threads, builder errors, seeds.

use std::rc::Rc;
use std::time::Duration;

use boucle::runtime::{shard_id, spawn_on, spawn_on_with, Shard, ShardedHandle};
use boucle::Runtime;

fn unwrap_all<T>(v: Vec<Result<T, boucle::runtime::ShardError>>) -> Vec<T> {
    v.into_iter().map(|r| r.unwrap()).collect()
}

#[test]
fn run_sharded_gives_outputs_in_shard_order_from_each_shard_thread() {
    let out = unwrap_all(boucle::run_sharded(3, |shard: Shard| async move {
        // Built on its shard: may hold Rc's across awaits.
        let local = Rc::new(shard.id());
        boucle::sleep(Duration::from_millis(3 - shard.id() as u64)).await;
        (
            *local,
            shard.count(),
            shard_id(),
            std::thread::current().name().map(str::to_owned),
        )
    }));
    for (i, (id, count, current, thread)) in out.into_iter().enumerate() {
        assert_eq!((id, count, current), (i, 3, Some(i)));
        assert_eq!(
            thread.as_deref(),
            Some(format!("boucle-shard-{i}").as_str())
        );
    }
    assert_eq!(shard_id(), None);
    assert_eq!(Shard::current(), None);
}

#[test]
fn shards_are_pinned_to_distinct_allowed_cores_or_say_none() {
    let rt = Runtime::builder().threads(2).build().unwrap();
    let cores = std::thread::available_parallelism().unwrap().get();
    let shards = rt.shards();
    let on = unwrap_all(
        rt.block_on(|shard| async move { (shard.cpu(), rustix::thread::sched_getcpu()) }),
    );
    for (s, (cpu, running_on)) in shards.iter().zip(on) {
        assert_eq!(s.cpu(), cpu);
        if let Some(c) = cpu {
            assert_eq!(running_on, c, "{s} runs on its pinned core");
        }
    }
    if cores >= 2 && shards.iter().all(|s| s.cpu().is_some()) {
        assert_ne!(shards[0].cpu(), shards[1].cpu());
    }
    let unpinned = Runtime::builder().threads(2).pin(false).build().unwrap();
    assert!(unpinned.shards().iter().all(|s| s.cpu().is_none()));
}

#[test]
fn spawn_on_runs_on_the_chosen_shard_from_shards_and_threads() {
    let rt = Runtime::builder().threads(2).build().unwrap();
    // From a thread that is no shard.
    let h = rt.handle();
    let from_thread = std::thread::spawn(move || {
        (0..2)
            .map(|i| h.spawn_on(i, async { shard_id() }).wait().unwrap())
            .collect::<Vec<_>>()
    })
    .join()
    .unwrap();
    assert_eq!(from_thread, [Some(0), Some(1)]);
    // From each shard to the other, awaiting the RemoteTask there.
    let out = unwrap_all(rt.block_on(|shard| async move {
        let other = 1 - shard.id();
        let theirs = spawn_on(other, async { shard_id().unwrap() * 100 })
            .await
            .unwrap();
        let built_there = spawn_on_with(other, move || {
            let rc = Rc::new(shard_id().unwrap()); // !Send, made on the other shard
            async move {
                boucle::yield_now().await;
                *rc
            }
        })
        .await
        .unwrap();
        (theirs, built_there)
    }));
    assert_eq!(out, [(100, 1), (0, 0)]);
    // Many at once, interleaved between shards: each result comes back.
    let tasks: Vec<_> = (0..200u64)
        .map(|i| rt.spawn_on((i % 2) as usize, async move { i * 2 }))
        .collect();
    let sum: u64 = tasks.into_iter().map(|t| t.wait().unwrap()).sum();
    assert_eq!(sum, (0..200u64).map(|i| i * 2).sum());
}

#[test]
fn a_shards_handle_works_from_other_shards() {
    let rt = Runtime::builder().threads(2).build().unwrap();
    let out = unwrap_all(rt.block_on(|shard| async move {
        let shards = ShardedHandle::current();
        assert_eq!(shards.len(), 2);
        let (tx, rx) = boucle::sync::oneshot::channel();
        // call_soon_threadsafe on the other shard's loop handle.
        let other = 1 - shard.id();
        assert!(shards.handle(other).call_soon_threadsafe(move || {
            let _ = tx.send(shard_id());
        }));
        rx.await.unwrap()
    }));
    assert_eq!(out, [Some(1), Some(0)]);
}

#[test]
#[should_panic(expected = "no shard 5: this runtime has 2")]
fn spawn_on_a_shard_that_does_not_exist_panics_with_the_count() {
    let rt = Runtime::builder().threads(2).build().unwrap();
    drop(rt.spawn_on(5, async {}));
}

#[test]
#[should_panic(expected = "not on a shard")]
fn spawn_on_outside_a_shard_panics_with_a_clear_message() {
    drop(spawn_on(0, async {}));
}

#[test]
fn builder_errors_are_clear() {
    let e = Runtime::builder().threads(0).build().unwrap_err();
    assert_eq!(e.kind(), std::io::ErrorKind::InvalidInput);
    assert!(e.to_string().contains("at least one thread"), "{e}");
    let e = Runtime::builder()
        .exception_handler(|_| {})
        .threads(2)
        .build()
        .unwrap_err();
    assert!(
        e.to_string().contains("ShardedBuilder::exception_handler"),
        "{e}"
    );
    struct Quiet;
    impl boucle::trace::Instrument for Quiet {}
    let e = Runtime::builder()
        .instrument(Quiet)
        .threads(2)
        .build()
        .unwrap_err();
    assert_eq!(e.kind(), std::io::ErrorKind::InvalidInput);
    assert!(e.to_string().contains("ShardedBuilder::instrument"), "{e}");
    let e = Runtime::builder()
        .max_blocking_threads(0)
        .threads(1)
        .build()
        .unwrap_err();
    assert!(e.to_string().contains("max_blocking_threads"), "{e}");
    let default = Runtime::builder().sharded().build().unwrap();
    assert_eq!(
        default.len(),
        std::thread::available_parallelism().unwrap().get()
    );
}

#[test]
fn a_seeded_run_is_reproducible_per_shard_and_shards_differ() {
    let draw = |seed| {
        let rt = Runtime::builder().seed(seed).threads(2).build().unwrap();
        assert_eq!(rt.seed(), seed);
        unwrap_all(rt.block_on(|_| async {
            (0..4)
                .map(|_| boucle::random::uniform(0.0, 1.0))
                .collect::<Vec<f64>>()
        }))
    };
    let (a, b) = (draw(11), draw(11));
    assert_eq!(a, b);
    assert_ne!(a[0], a[1]);
    // Shard 1 of seed 11 draws what a plain loop seeded 12 draws.
    let plain = Runtime::builder()
        .seed(12)
        .build()
        .unwrap()
        .block_on(async {
            (0..4)
                .map(|_| boucle::random::uniform(0.0, 1.0))
                .collect::<Vec<f64>>()
        });
    assert_eq!(a[1], plain);
}

#[test]
fn virtual_time_runs_each_shard_on_its_own_clock() {
    let rt = Runtime::builder()
        .virtual_time(true)
        .threads(2)
        .build()
        .unwrap();
    let started = std::time::Instant::now();
    let took = unwrap_all(rt.block_on(|shard| async move {
        let t0 = boucle::now();
        boucle::sleep(Duration::from_secs(3600 * (shard.id() as u64 + 1))).await;
        boucle::now() - t0
    }));
    assert_eq!(took, [Duration::from_secs(3600), Duration::from_secs(7200)]);
    assert!(started.elapsed() < Duration::from_secs(5));
}

#[test]
fn block_on_can_be_called_again_and_tasks_left_behind_keep_running() {
    let rt = Runtime::builder().threads(2).build().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    let tx = std::sync::Mutex::new(tx);
    let first = rt.block_on(move |shard| {
        let tx = tx.lock().unwrap().clone();
        async move {
            // Left behind: it finishes after the main returned.
            drop(boucle::spawn(async move {
                boucle::sleep(Duration::from_millis(5)).await;
                let _ = tx.send(shard.id());
            }));
        }
    });
    assert!(first.iter().all(Result::is_ok));
    let mut got = vec![
        rx.recv_timeout(Duration::from_secs(5)).unwrap(),
        rx.recv_timeout(Duration::from_secs(5)).unwrap(),
    ];
    got.sort();
    assert_eq!(got, [0, 1]);
    let second = unwrap_all(rt.block_on(|shard| async move { shard.id() + 10 }));
    assert_eq!(second, [10, 11]);
}
