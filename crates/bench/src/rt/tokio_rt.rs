//! tokio as its users write it: a `current_thread` runtime with `enable_all`, tasks spawned
//! with `tokio::spawn` (so they are `Send`), shared state behind `Arc<Mutex<..>>`.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use super::Outcome;
use crate::workload::rss_kb;

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("build tokio current_thread runtime")
}

pub fn spawn_join(n: usize) -> Outcome {
    let rt = runtime();
    let rss_before_kb = rss_kb();
    let wall = rt.block_on(async move {
        let start = Instant::now();
        let handles: Vec<_> = (0..n).map(|i| tokio::spawn(async move { i })).collect();
        for (i, handle) in handles.into_iter().enumerate() {
            let got = handle.await.expect("tokio task failed");
            assert_eq!(got, i, "tokio: task {i} returned {got}");
        }
        start.elapsed()
    });
    Outcome {
        wall,
        rss_before_kb,
        ..Outcome::default()
    }
}

pub fn yield_many(tasks: usize, yields: usize) -> Outcome {
    let rt = runtime();
    let rss_before_kb = rss_kb();
    let wall = rt.block_on(async move {
        let start = Instant::now();
        let handles: Vec<_> = (0..tasks)
            .map(|_| {
                tokio::spawn(async move {
                    for _ in 0..yields {
                        tokio::task::yield_now().await;
                    }
                })
            })
            .collect();
        for handle in handles {
            handle.await.expect("tokio task failed");
        }
        start.elapsed()
    });
    Outcome {
        wall,
        rss_before_kb,
        ..Outcome::default()
    }
}

pub fn wait_n(delays: &[Duration]) -> Outcome {
    let rt = runtime();
    let completed = Arc::new(Mutex::new(Vec::with_capacity(delays.len())));
    let rss_before_kb = rss_kb();
    let wall = rt.block_on(async {
        let start = Instant::now();
        let handles: Vec<_> = delays
            .iter()
            .map(|&delay| {
                let completed = Arc::clone(&completed);
                tokio::spawn(async move {
                    tokio::time::sleep(delay).await;
                    completed.lock().unwrap().push(delay);
                })
            })
            .collect();
        for handle in handles {
            handle.await.expect("tokio task failed");
        }
        start.elapsed()
    });
    drop(rt);
    let completed = Arc::try_unwrap(completed)
        .expect("every task is done")
        .into_inner()
        .unwrap();
    Outcome {
        wall,
        rss_before_kb,
        completed,
    }
}
