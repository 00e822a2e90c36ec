//! monoio as its users write it, on its legacy epoll driver (mio) with the timer enabled:
//! thread-local tasks via `monoio::spawn`, shared state in `Rc<RefCell<..>>`.
//!
//! monoio has no `yield_now`; its users write the usual one-shot self-wake future below.

use std::cell::RefCell;
use std::rc::Rc;
use std::task::Poll;
use std::time::{Duration, Instant};

use super::Outcome;
use crate::workload::rss_kb;

type Rt = monoio::Runtime<monoio::time::TimeDriver<monoio::LegacyDriver>>;

fn runtime() -> Rt {
    monoio::RuntimeBuilder::<monoio::LegacyDriver>::new()
        .enable_timer()
        .build()
        .expect("build monoio legacy runtime")
}

/// Returns `Pending` once after waking itself, so the task goes to the back of the queue.
async fn yield_now() {
    let mut yielded = false;
    std::future::poll_fn(|cx| {
        if yielded {
            Poll::Ready(())
        } else {
            yielded = true;
            cx.waker().wake_by_ref();
            Poll::Pending
        }
    })
    .await;
}

pub fn spawn_join(n: usize) -> Outcome {
    let mut rt = runtime();
    let rss_before_kb = rss_kb();
    let wall = rt.block_on(async move {
        let start = Instant::now();
        let handles: Vec<_> = (0..n).map(|i| monoio::spawn(async move { i })).collect();
        for (i, handle) in handles.into_iter().enumerate() {
            let got = handle.await;
            assert_eq!(got, i, "monoio: task {i} returned {got}");
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
    let mut rt = runtime();
    let rss_before_kb = rss_kb();
    let wall = rt.block_on(async move {
        let start = Instant::now();
        let handles: Vec<_> = (0..tasks)
            .map(|_| {
                monoio::spawn(async move {
                    for _ in 0..yields {
                        yield_now().await;
                    }
                })
            })
            .collect();
        for handle in handles {
            handle.await;
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
    let mut rt = runtime();
    let completed = Rc::new(RefCell::new(Vec::with_capacity(delays.len())));
    let rss_before_kb = rss_kb();
    let wall = rt.block_on(async {
        let start = Instant::now();
        let handles: Vec<_> = delays
            .iter()
            .map(|&delay| {
                let completed = Rc::clone(&completed);
                monoio::spawn(async move {
                    monoio::time::sleep(delay).await;
                    completed.borrow_mut().push(delay);
                })
            })
            .collect();
        for handle in handles {
            handle.await;
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
