//! asyncio's combinators over tasks: `gather(iter)`, `try_gather`, `wait`,
//! `shield`. Virtual time: every duration below is exact loop time.

mod common;
use common::{secs, DropCount};

use std::cell::{Cell, RefCell};
use std::rc::Rc;
use std::time::Duration;

use boucle::{ReturnWhen, Runtime};

fn rt() -> Runtime {
    common::virtual_rt(1)
}

// ---------------------------------------------------------------- gather

#[test]
fn gather_gives_submission_order_whatever_the_completion_order() {
    let finished = Rc::new(RefCell::new(Vec::new()));
    let f = finished.clone();
    let (out, took) = rt().block_on(async move {
        let start = boucle::now();
        let jobs = [1u64, 2, 1].into_iter().enumerate().map(|(i, d)| {
            let f = f.clone();
            async move {
                boucle::sleep(secs(d)).await;
                f.borrow_mut().push(i);
                format!("job {i}: {d} s")
            }
        });
        let out = boucle::gather(jobs).await;
        (out, boucle::now() - start)
    });
    assert_eq!(out, ["job 0: 1 s", "job 1: 2 s", "job 2: 1 s"]);
    assert_eq!(*finished.borrow(), [0, 2, 1], "completion order differs");
    assert_eq!(took, secs(2), "concurrent: the longest, not the sum");
}

#[test]
fn gather_of_nothing_resolves_at_once() {
    let (out, took) = rt().block_on(async {
        let start = boucle::now();
        let out: Vec<u8> = boucle::gather(Vec::<std::future::Ready<u8>>::new()).await;
        (out, boucle::now() - start)
    });
    assert!(out.is_empty());
    assert_eq!(took, Duration::ZERO);
}

#[test]
fn gather_tasks_start_before_the_gather_is_awaited() {
    let took = rt().block_on(async {
        let start = boucle::now();
        let g = boucle::gather((0..3).map(|_| boucle::sleep(secs(2))));
        boucle::sleep(secs(2)).await;
        assert_eq!(g.remaining(), 3, "not yet seen finishing");
        let out = g.await;
        assert_eq!(out.len(), 3);
        boucle::now() - start
    });
    assert_eq!(took, secs(2));
}

#[test]
fn gather_panic_cancels_siblings_and_resumes_the_original_payload() {
    let dropped = Rc::new(Cell::new(0));
    let reached_end = Rc::new(Cell::new(0));
    let (d, r) = (dropped.clone(), reached_end.clone());
    let (err, took) = rt().block_on(async move {
        let start = boucle::now();
        let outer = boucle::spawn(async move {
            let children = (0..3u64).map(move |i| {
                let (d, r) = (d.clone(), r.clone());
                async move {
                    let _guard = DropCount(d);
                    boucle::sleep(secs(1 + i * 10)).await;
                    if i == 0 {
                        std::panic::panic_any(4242u32);
                    }
                    r.set(r.get() + 1);
                    i
                }
            });
            boucle::gather(children).await
        });
        let err = outer.await.unwrap_err();
        (err, boucle::now() - start)
    });
    assert!(err.is_panic());
    assert_eq!(*err.into_panic().unwrap().downcast::<u32>().unwrap(), 4242);
    assert_eq!(
        dropped.get(),
        3,
        "the panicking child and both cancelled siblings"
    );
    assert_eq!(reached_end.get(), 0, "siblings were cancelled mid-sleep");
    assert_eq!(took, secs(1), "no waiting for the 11 s and 21 s siblings");
}

#[test]
fn dropping_an_unfinished_gather_cancels_its_tasks() {
    let dropped = Rc::new(Cell::new(0));
    let reached_end = Rc::new(Cell::new(0));
    let (d, r) = (dropped.clone(), reached_end.clone());
    rt().block_on(async move {
        let g = boucle::gather((0..3).map(move |_| {
            let (d, r) = (d.clone(), r.clone());
            async move {
                let _guard = DropCount(d);
                boucle::sleep(secs(5)).await;
                r.set(r.get() + 1);
            }
        }));
        boucle::sleep(secs(1)).await; // the tasks are running
        drop(g);
        boucle::sleep(secs(10)).await;
    });
    assert_eq!(dropped.get(), 3);
    assert_eq!(reached_end.get(), 0);
}

// ------------------------------------------------------------ try_gather

#[test]
fn try_gather_gives_values_in_submission_order() {
    let out = rt().block_on(async {
        let jobs = [3u64, 1, 2].map(|d| async move {
            boucle::sleep(secs(d)).await;
            Ok::<_, String>(d * 100)
        });
        boucle::try_gather(jobs).await
    });
    assert_eq!(out, Ok(vec![300, 100, 200]));
}

#[test]
fn try_gather_first_error_by_completion_time_cancels_the_rest() {
    let dropped = Rc::new(Cell::new(0));
    let reached_end = Rc::new(RefCell::new(Vec::new()));
    let (d, r) = (dropped.clone(), reached_end.clone());
    let (out, took) = rt().block_on(async move {
        let start = boucle::now();
        // (delay, fails): the 3 s one fails too, but later than the 1 s one.
        let spec = [(3u64, true), (1, true), (10, false), (20, false)];
        let jobs = spec.map(|(delay, fails)| {
            let (d, r) = (d.clone(), r.clone());
            async move {
                let _guard = DropCount(d);
                boucle::sleep(secs(delay)).await;
                r.borrow_mut().push(delay);
                if fails {
                    Err(format!("failed after {delay} s"))
                } else {
                    Ok(delay)
                }
            }
        });
        let out = boucle::try_gather(jobs).await;
        (out, boucle::now() - start)
    });
    assert_eq!(out, Err("failed after 1 s".to_string()));
    assert_eq!(took, secs(1));
    assert_eq!(
        dropped.get(),
        4,
        "cleanup of the three cancelled ones ran before the return"
    );
    assert_eq!(
        *reached_end.borrow(),
        [1],
        "only the failing job got past its sleep"
    );
}

#[test]
fn try_gather_same_instant_errors_keep_the_first_to_complete() {
    let out = rt().block_on(async {
        let jobs = ["a", "b"].map(|name| async move {
            boucle::sleep(secs(1)).await;
            Err::<(), _>(name)
        });
        boucle::try_gather(jobs).await
    });
    // Equal deadlines fire in creation order: "a" completes first.
    assert_eq!(out, Err("a"));
}

// ------------------------------------------------------------------ wait

/// Spawns one task per delay (seconds) that sleeps and returns its delay.
fn sleepers(delays: &[u64]) -> Vec<boucle::Task<u64>> {
    delays
        .iter()
        .map(|&d| {
            boucle::spawn(async move {
                boucle::sleep(secs(d)).await;
                d
            })
        })
        .collect()
}

/// Sleeps `delay` seconds, then panics with `message`.
async fn panic_after(delay: u64, message: &'static str) -> u64 {
    boucle::sleep(secs(delay)).await;
    panic!("{message}")
}

#[test]
fn wait_first_completed_returns_at_the_first_completion() {
    rt().block_on(async {
        let start = boucle::now();
        let (done, pending) =
            boucle::wait(sleepers(&[3, 1, 2]), ReturnWhen::FirstCompleted, None).await;
        assert_eq!(boucle::now() - start, secs(1));
        assert_eq!(done.len(), 1);
        assert_eq!(pending.len(), 2);
        assert!(pending.iter().all(|t| !t.is_done()));
        for t in done {
            assert!(t.is_done());
            assert_eq!(t.await.unwrap(), 1);
        }
        // The pending ones still run, in input order.
        let mut rest = Vec::new();
        for t in pending {
            rest.push(t.await.unwrap());
        }
        assert_eq!(rest, [3, 2]);
    });
}

#[test]
fn wait_first_completed_with_a_finished_task_does_not_wait() {
    rt().block_on(async {
        let mut tasks = sleepers(&[5]);
        let quick = boucle::spawn(async { 0u64 });
        boucle::yield_now().await; // `quick` runs
        assert!(quick.is_done());
        tasks.push(quick);
        let start = boucle::now();
        let (done, pending) = boucle::wait(tasks, ReturnWhen::FirstCompleted, None).await;
        assert_eq!(boucle::now(), start);
        assert_eq!((done.len(), pending.len()), (1, 1));
        assert_eq!(done.into_iter().next().unwrap().await.unwrap(), 0);
    });
}

#[test]
fn wait_all_completed_waits_for_every_task() {
    rt().block_on(async {
        let start = boucle::now();
        let (done, pending) =
            boucle::wait(sleepers(&[3, 1, 2]), ReturnWhen::AllCompleted, None).await;
        assert_eq!(boucle::now() - start, secs(3));
        assert!(pending.is_empty());
        let mut values = Vec::new();
        for t in done {
            values.push(t.await.unwrap());
        }
        assert_eq!(values, [3, 1, 2], "done keeps the input order");
    });
}

#[test]
fn wait_first_exception_returns_when_a_task_panics() {
    rt().block_on(async {
        let start = boucle::now();
        let mut tasks = sleepers(&[1, 5]);
        tasks.insert(1, boucle::spawn(panic_after(2, "task 2 fails")));
        let (done, pending) = boucle::wait(tasks, ReturnWhen::FirstException, None).await;
        assert_eq!(boucle::now() - start, secs(2));
        assert_eq!(done.len(), 2);
        assert_eq!(pending.len(), 1);
        let mut done = done.into_iter();
        assert_eq!(done.next().unwrap().await.unwrap(), 1);
        let err = done.next().unwrap().await.unwrap_err();
        assert_eq!(err.panic_message(), Some("task 2 fails"));
        assert_eq!(pending.into_iter().next().unwrap().await.unwrap(), 5);
    });
}

#[test]
fn wait_first_exception_counts_a_cancelled_task() {
    rt().block_on(async {
        let tasks = sleepers(&[4, 9]);
        tasks[1].cancel();
        let start = boucle::now();
        let (done, pending) = boucle::wait(tasks, ReturnWhen::FirstException, None).await;
        assert_eq!(
            boucle::now(),
            start,
            "the cancellation finishes at the next turn"
        );
        assert_eq!((done.len(), pending.len()), (1, 1));
        assert!(done[0].is_cancelled());
        assert!(pending[0].cancel());
    });
}

#[test]
fn wait_first_exception_without_failures_waits_for_all() {
    rt().block_on(async {
        let start = boucle::now();
        let (done, pending) =
            boucle::wait(sleepers(&[1, 4, 2]), ReturnWhen::FirstException, None).await;
        assert_eq!(boucle::now() - start, secs(4));
        assert_eq!((done.len(), pending.len()), (3, 0));
    });
}

fn fallible(
    delays_and_results: &[(u64, Result<u64, &'static str>)],
) -> Vec<boucle::Task<Result<u64, &'static str>>> {
    delays_and_results
        .iter()
        .map(|&(d, r)| {
            boucle::spawn(async move {
                boucle::sleep(secs(d)).await;
                r
            })
        })
        .collect()
}

#[test]
fn wait_results_first_exception_returns_at_the_first_err() {
    rt().block_on(async {
        let start = boucle::now();
        let tasks = fallible(&[(1, Ok(1)), (3, Err("refused")), (9, Ok(9))]);
        let (done, pending) = boucle::wait_results(tasks, ReturnWhen::FirstException, None).await;
        assert_eq!(boucle::now() - start, secs(3));
        assert_eq!((done.len(), pending.len()), (2, 1));
        // The outputs were not consumed by the look.
        let mut outs = Vec::new();
        for t in done {
            outs.push(t.await.unwrap());
        }
        assert_eq!(outs, [Ok(1), Err("refused")]);
        assert!(pending[0].cancel());
    });
}

#[test]
fn wait_results_without_errors_waits_for_all_and_plain_wait_ignores_err() {
    rt().block_on(async {
        let start = boucle::now();
        let tasks = fallible(&[(1, Ok(1)), (2, Ok(2))]);
        let (done, _) = boucle::wait_results(tasks, ReturnWhen::FirstException, None).await;
        assert_eq!((boucle::now() - start, done.len()), (secs(2), 2));
        // Plain `wait` cannot tell an `Err` output from a value.
        let start = boucle::now();
        let tasks = fallible(&[(1, Err("x")), (2, Ok(2))]);
        let (done, _) = boucle::wait(tasks, ReturnWhen::FirstException, None).await;
        assert_eq!((boucle::now() - start, done.len()), (secs(2), 2));
    });
}

#[test]
fn wait_results_counts_an_already_failed_task_at_once() {
    rt().block_on(async {
        let tasks = fallible(&[(0, Err("early")), (5, Ok(5))]);
        boucle::sleep(secs(1)).await;
        let start = boucle::now();
        let (done, pending) = boucle::wait_results(tasks, ReturnWhen::FirstException, None).await;
        assert_eq!(boucle::now(), start);
        assert_eq!((done.len(), pending.len()), (1, 1));
    });
}

#[test]
fn wait_timeout_splits_exactly_and_cancels_nothing() {
    rt().block_on(async {
        let start = boucle::now();
        let tasks = sleepers(&[1, 3, 2]);
        let timeout = Some(Duration::from_millis(2500));
        let (done, pending) = boucle::wait(tasks, ReturnWhen::AllCompleted, timeout).await;
        assert_eq!(boucle::now() - start, Duration::from_millis(2500));
        assert_eq!(done.len(), 2);
        assert_eq!(pending.len(), 1);
        let mut values = Vec::new();
        for t in done {
            values.push(t.await.unwrap());
        }
        assert_eq!(values, [1, 2]);
        // Not cancelled: it completes at 3 s.
        let last = pending.into_iter().next().unwrap();
        assert!(!last.is_cancelled());
        assert_eq!(last.await.unwrap(), 3);
        assert_eq!(boucle::now() - start, secs(3));
    });
}

#[test]
fn wait_timeout_with_nothing_done_returns_all_pending() {
    rt().block_on(async {
        let start = boucle::now();
        let (done, pending) =
            boucle::wait(sleepers(&[5, 6]), ReturnWhen::FirstCompleted, Some(secs(1))).await;
        assert_eq!(boucle::now() - start, secs(1));
        assert!(done.is_empty());
        assert_eq!(pending.len(), 2);
    });
}

#[test]
fn wait_on_no_tasks_returns_at_once() {
    rt().block_on(async {
        let start = boucle::now();
        for when in [
            ReturnWhen::FirstCompleted,
            ReturnWhen::FirstException,
            ReturnWhen::AllCompleted,
        ] {
            let (done, pending) =
                boucle::wait(Vec::<boucle::Task<()>>::new(), when, Some(secs(9))).await;
            assert!(done.is_empty() && pending.is_empty());
        }
        assert_eq!(boucle::now(), start);
    });
}

// ---------------------------------------------------------------- shield

#[test]
fn shield_survives_the_cancellation_of_its_awaiter() {
    let saved = Rc::new(Cell::new(None));
    let (s, check) = (saved.clone(), saved.clone());
    rt().block_on(async move {
        let start = boucle::now();
        let outer = boucle::spawn(async move {
            boucle::shield(async move {
                boucle::sleep(secs(5)).await;
                s.set(Some(boucle::now() - start));
            })
            .await;
            "outer finished"
        });
        boucle::sleep(secs(1)).await;
        assert!(outer.cancel());
        assert!(outer.await.unwrap_err().is_cancelled());
        assert_eq!(check.get(), None, "not yet");
        boucle::sleep(secs(10)).await;
    });
    assert_eq!(
        saved.get(),
        Some(secs(5)),
        "the shielded work ran to completion"
    );
}

#[test]
fn shield_survives_a_timeout() {
    let done = Rc::new(Cell::new(0));
    let d = done.clone();
    rt().block_on(async move {
        let work = boucle::shield(async move {
            boucle::sleep(secs(3)).await;
            d.set(d.get() + 1);
            7
        });
        assert!(boucle::timeout(secs(1), work).await.is_err());
        boucle::sleep(secs(5)).await;
    });
    assert_eq!(done.get(), 1);
}

#[test]
fn shield_gives_the_output_or_resumes_the_panic() {
    rt().block_on(async {
        let v = boucle::shield(async {
            boucle::sleep(secs(1)).await;
            "value"
        })
        .await;
        assert_eq!(v, "value");
        let outer = boucle::spawn(async {
            boucle::shield(async { panic!("inner boom") }).await;
        });
        assert_eq!(outer.await.unwrap_err().panic_message(), Some("inner boom"));
    });
}
