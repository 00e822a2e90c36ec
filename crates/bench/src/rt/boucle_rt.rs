//! boucle as its users write it: `boucle::spawn` of plain (`!Send`-friendly) futures inside
//! `Runtime::block_on`, shared state in `Rc<RefCell<..>>`, handles awaited as `Result`s.

use std::cell::RefCell;
use std::rc::Rc;
use std::time::{Duration, Instant};

use super::Outcome;
use crate::workload::rss_kb;

fn runtime() -> boucle::Runtime {
    boucle::Runtime::builder()
        .build()
        .expect("build boucle runtime")
}

pub fn spawn_join(n: usize) -> Outcome {
    let rt = runtime();
    let rss_before_kb = rss_kb();
    let wall = rt.block_on(async move {
        let start = Instant::now();
        let handles: Vec<_> = (0..n).map(|i| boucle::spawn(async move { i })).collect();
        for (i, handle) in handles.into_iter().enumerate() {
            match handle.await {
                Ok(got) => assert_eq!(got, i, "boucle: task {i} returned {got}"),
                Err(_) => panic!("boucle: task {i} failed"),
            }
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
                boucle::spawn(async move {
                    for _ in 0..yields {
                        boucle::yield_now().await;
                    }
                })
            })
            .collect();
        for (i, handle) in handles.into_iter().enumerate() {
            if handle.await.is_err() {
                panic!("boucle: task {i} failed");
            }
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
    let completed = Rc::new(RefCell::new(Vec::with_capacity(delays.len())));
    let rss_before_kb = rss_kb();
    let wall = rt.block_on(async {
        let start = Instant::now();
        let handles: Vec<_> = delays
            .iter()
            .map(|&delay| {
                let completed = Rc::clone(&completed);
                boucle::spawn(async move {
                    boucle::sleep(delay).await;
                    completed.borrow_mut().push(delay);
                })
            })
            .collect();
        for (i, handle) in handles.into_iter().enumerate() {
            if handle.await.is_err() {
                panic!("boucle: task {i} failed");
            }
        }
        start.elapsed()
    });
    drop(rt);
    let completed = Rc::try_unwrap(completed)
        .expect("every task is done")
        .into_inner();
    Outcome {
        wall,
        rss_before_kb,
        completed,
    }
}
