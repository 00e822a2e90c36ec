//! `TaskGroup` (asyncio's TaskGroup) and `ErrorGroup` (ExceptionGroup), in
//! virtual time.

mod common;
use common::{secs, DropCount};

use std::cell::{Cell, RefCell};
use std::fmt;
use std::rc::Rc;
use std::time::Instant;

use boucle::{ErrorGroup, Runtime, TaskGroup};

fn rt() -> Runtime {
    common::virtual_rt(1)
}

#[derive(Debug, Clone, PartialEq)]
struct JobError(&'static str);

impl fmt::Display for JobError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "job {} failed", self.0)
    }
}

impl std::error::Error for JobError {}

/// A child that sleeps `delay` then fails with `name`.
async fn fail_after(delay: u64, name: &'static str) -> Result<u64, JobError> {
    boucle::sleep(secs(delay)).await;
    Err(JobError(name))
}

/// A child that sleeps `delay` then panics with `message`.
async fn panic_after(delay: u64, message: &'static str) -> Result<u64, JobError> {
    boucle::sleep(secs(delay)).await;
    panic!("{message}")
}

/// A child that sleeps `delay` then succeeds, counting its drop and whether
/// it got past its sleep.
fn sleeper(
    delay: u64,
    dropped: &Rc<Cell<u32>>,
    finished: &Rc<Cell<u32>>,
) -> impl std::future::Future<Output = Result<u64, JobError>> + 'static {
    let (d, f) = (dropped.clone(), finished.clone());
    async move {
        let _guard = DropCount(d);
        boucle::sleep(secs(delay)).await;
        f.set(f.get() + 1);
        Ok(delay)
    }
}

#[test]
fn join_gives_values_in_spawn_order() {
    let (out, took) = rt().block_on(async {
        let start = boucle::now();
        let group = TaskGroup::<u64, JobError>::new();
        for d in [3u64, 1, 2] {
            let child = group.spawn(async move {
                boucle::sleep(secs(d)).await;
                Ok(d * 10)
            });
            assert_eq!(child.index() + 1, group.len());
        }
        (group.join().await, boucle::now() - start)
    });
    assert_eq!(out, Ok(vec![30, 10, 20]));
    assert_eq!(took, secs(3));
}

#[test]
fn empty_group_joins_at_once() {
    let out = rt().block_on(async {
        let group = TaskGroup::<(), ()>::default();
        assert!(group.is_empty());
        group.join().await
    });
    assert_eq!(out, Ok(vec![]));
}

#[test]
fn a_failing_child_cancels_the_running_siblings() {
    let dropped = Rc::new(Cell::new(0));
    let finished = Rc::new(Cell::new(0));
    let (errors, took) = rt().block_on({
        let (dropped, finished) = (dropped.clone(), finished.clone());
        async move {
            let start = boucle::now();
            let group = TaskGroup::new();
            group.spawn(sleeper(10, &dropped, &finished));
            group.spawn(fail_after(1, "a"));
            group.spawn(sleeper(20, &dropped, &finished));
            let errors = group.join().await.unwrap_err();
            (errors, boucle::now() - start)
        }
    });
    assert_eq!(errors.errors(), [JobError("a")]);
    assert_eq!(dropped.get(), 2, "both siblings' cleanup ran");
    assert_eq!(finished.get(), 0, "neither got past its sleep");
    assert_eq!(took, secs(1));
}

#[test]
fn every_error_that_occurred_is_kept() {
    let dropped = Rc::new(Cell::new(0));
    let finished = Rc::new(Cell::new(0));
    let errors = rt().block_on({
        let (dropped, finished) = (dropped.clone(), finished.clone());
        async move {
            let group = TaskGroup::new();
            group.spawn(sleeper(10, &dropped, &finished));
            group.spawn(fail_after(1, "b"));
            group.spawn(fail_after(1, "a"));
            group.spawn(fail_after(2, "too late")); // cancelled at 1 s
            group.join().await.unwrap_err()
        }
    });
    // Two children failed at the same instant: both errors, in completion
    // (= timer creation) order.
    assert_eq!(errors.len(), 2);
    assert_eq!(errors.errors(), [JobError("b"), JobError("a")]);
    assert_eq!((dropped.get(), finished.get()), (1, 0));
}

#[test]
fn siblings_are_cancelled_before_join_is_awaited() {
    let dropped_at = Rc::new(Cell::new(None::<Instant>));
    let out = rt().block_on({
        let dropped_at = dropped_at.clone();
        async move {
            struct RecordDrop(Rc<Cell<Option<Instant>>>);
            impl Drop for RecordDrop {
                fn drop(&mut self) {
                    self.0.set(Some(boucle::now()));
                }
            }
            let start = boucle::now();
            let group = TaskGroup::new();
            group.spawn(async move {
                let _guard = RecordDrop(dropped_at);
                boucle::sleep(secs(100)).await;
                Ok(())
            });
            group.spawn(async {
                boucle::sleep(secs(1)).await;
                Err("fail")
            });
            boucle::sleep(secs(5)).await; // busy elsewhere; join not polled yet
            (group.join().await, start)
        }
    });
    let (result, start) = out;
    assert_eq!(result.unwrap_err().errors(), ["fail"]);
    assert_eq!(dropped_at.get().map(|t| t - start), Some(secs(1)));
}

#[test]
fn dropping_the_group_cancels_its_children() {
    let dropped = Rc::new(Cell::new(0));
    let finished = Rc::new(Cell::new(0));
    rt().block_on({
        let (dropped, finished) = (dropped.clone(), finished.clone());
        async move {
            let group = TaskGroup::new();
            group.spawn(sleeper(2, &dropped, &finished));
            group.spawn(sleeper(3, &dropped, &finished));
            boucle::sleep(secs(1)).await;
            drop(group);
            boucle::sleep(secs(10)).await;
        }
    });
    assert_eq!((dropped.get(), finished.get()), (2, 0));
}

#[test]
fn dropping_the_join_future_cancels_the_children() {
    let dropped = Rc::new(Cell::new(0));
    let finished = Rc::new(Cell::new(0));
    rt().block_on({
        let (dropped, finished) = (dropped.clone(), finished.clone());
        async move {
            let group = TaskGroup::new();
            group.spawn(sleeper(1, &dropped, &finished));
            group.spawn(sleeper(5, &dropped, &finished));
            assert!(boucle::timeout(secs(2), group.join()).await.is_err());
            boucle::sleep(secs(10)).await;
        }
    });
    assert_eq!(dropped.get(), 2);
    assert_eq!(
        finished.get(),
        1,
        "the 1 s child finished before the timeout"
    );
}

#[test]
fn a_child_panic_cancels_the_siblings_and_resumes_in_join() {
    let dropped = Rc::new(Cell::new(0));
    let finished = Rc::new(Cell::new(0));
    let err = rt().block_on({
        let (dropped, finished) = (dropped.clone(), finished.clone());
        async move {
            let outer = boucle::spawn(async move {
                let group = TaskGroup::new();
                group.spawn(sleeper(10, &dropped, &finished));
                group.spawn(panic_after(1, "child boom"));
                group.spawn(fail_after(1, "a")); // an error too: the panic wins
                let _ = group.join().await;
                unreachable!("join resumes the panic");
            });
            outer.await.unwrap_err()
        }
    });
    assert!(err.is_panic());
    assert_eq!(err.panic_message(), Some("child boom"));
    assert_eq!((dropped.get(), finished.get()), (1, 0));
}

#[test]
fn spawner_adds_children_in_spawn_order_until_the_group_is_gone() {
    let late = Rc::new(RefCell::new(None));
    let out = rt().block_on({
        let late = late.clone();
        async move {
            let group = TaskGroup::<&'static str, ()>::new();
            let spawner = group.spawner();
            let inner = spawner.clone();
            group.spawn(async move {
                boucle::sleep(secs(1)).await;
                assert_eq!(
                    inner.spawn(async { Ok("grandchild") }).map(|c| c.index()),
                    Some(2)
                );
                Ok("first")
            });
            group.spawn(async { Ok("second") });
            let out = group.join().await;
            *late.borrow_mut() = Some(spawner.spawn(async { Ok("too late") }).is_some());
            out
        }
    });
    assert_eq!(out, Ok(vec!["first", "second", "grandchild"]));
    assert_eq!(*late.borrow(), Some(false), "the group is gone");
}

#[test]
fn spawning_into_a_failing_group_cancels_the_child_unpolled() {
    let polled = Rc::new(Cell::new(false));
    let errors = rt().block_on({
        let polled = polled.clone();
        async move {
            let group = TaskGroup::<(), &str>::new();
            group.spawn(async { Err("first") });
            boucle::sleep(secs(1)).await; // the failure has been handled
            group.spawn(async move {
                polled.set(true);
                Err("never")
            });
            boucle::yield_now().await; // the child would run now if it were not cancelled
            group.join().await.unwrap_err()
        }
    });
    assert_eq!(errors.errors(), ["first"]);
    assert!(!polled.get());
}

#[test]
fn error_group_display_iteration_split_and_source() {
    let errors: ErrorGroup<JobError> = rt().block_on(async {
        let group = TaskGroup::new();
        group.spawn(fail_after(1, "x"));
        group.spawn(fail_after(1, "y"));
        group.spawn(fail_after(1, "z"));
        group.join().await.unwrap_err()
    });
    assert_eq!(
        errors.to_string(),
        "3 errors in task group:\n  - job x failed\n  - job y failed\n  - job z failed"
    );
    assert_eq!(
        format!("{errors:?}"),
        r#"ErrorGroup([JobError("x"), JobError("y"), JobError("z")])"#
    );
    let names: Vec<&str> = errors.iter().map(|e| e.0).collect();
    assert_eq!(names, ["x", "y", "z"]);
    assert_eq!((&errors).into_iter().count(), 3);
    let source = std::error::Error::source(&errors).unwrap();
    assert_eq!(source.to_string(), "job x failed");

    let (matched, rest) = errors.clone().split(|e| e.0 != "y");
    let matched = matched.unwrap();
    assert_eq!(matched.errors(), [JobError("x"), JobError("z")]);
    assert_eq!(
        rest.as_ref().unwrap().to_string(),
        "1 error in task group:\n  - job y failed"
    );
    assert_eq!(rest.unwrap().into_errors(), [JobError("y")]);
    let (none, all) = errors.split(|_| false);
    assert!(none.is_none());
    assert_eq!(all.unwrap().into_iter().count(), 3);
}

// ------------------------------------------------------ handles, join_next

#[test]
fn cancelling_one_child_through_its_handle_spares_the_others() {
    let dropped = Rc::new(Cell::new(0));
    let finished = Rc::new(Cell::new(0));
    let (out, took) = rt().block_on({
        let (dropped, finished) = (dropped.clone(), finished.clone());
        async move {
            let start = boucle::now();
            let group = TaskGroup::<u64, JobError>::new();
            group.spawn(sleeper(1, &dropped, &finished));
            let slow = group.spawn_named("slow", sleeper(100, &dropped, &finished));
            group.spawn(sleeper(2, &dropped, &finished));
            assert_eq!(slow.name().as_deref(), Some("slow"));
            assert_eq!(slow.index(), 1);
            boucle::sleep(secs(1)).await;
            assert!(slow.cancel());
            assert!(!slow.cancel(), "asked once already");
            let out = group.join().await;
            assert!(slow.is_done());
            assert!(!slow.cancel(), "finished: nothing to cancel");
            (out, boucle::now() - start)
        }
    });
    assert_eq!(out, Ok(vec![1, 2]), "the cancelled child has no value");
    assert_eq!(took, secs(2), "its siblings ran to the end");
    assert_eq!((finished.get(), dropped.get()), (2, 3));
}

#[test]
fn abort_all_cancels_the_running_children_without_an_error() {
    let dropped = Rc::new(Cell::new(0));
    let finished = Rc::new(Cell::new(0));
    let out = rt().block_on({
        let (dropped, finished) = (dropped.clone(), finished.clone());
        async move {
            let group = TaskGroup::<u64, JobError>::new();
            group.spawn(sleeper(1, &dropped, &finished));
            group.spawn(sleeper(5, &dropped, &finished));
            group.spawn(sleeper(6, &dropped, &finished));
            boucle::sleep(secs(2)).await;
            group.abort_all();
            // A child spawned afterwards runs normally.
            group.spawn(sleeper(1, &dropped, &finished));
            group.join().await
        }
    });
    assert_eq!(out, Ok(vec![1, 1]));
    assert_eq!((finished.get(), dropped.get()), (2, 4));
}

#[test]
fn join_next_yields_children_in_completion_order_with_their_index() {
    let out = rt().block_on(async {
        let group = TaskGroup::<u64, JobError>::new();
        for d in [3u64, 1, 2] {
            group.spawn(async move {
                boucle::sleep(secs(d)).await;
                Ok(d)
            });
        }
        let mut seen = Vec::new();
        while let Some(done) = group.join_next().await {
            seen.push((done.index, done.result.unwrap().unwrap()));
        }
        assert!(group.join_next().await.is_none());
        (seen, group.join().await)
    });
    assert_eq!(out.0, [(1, 1), (2, 2), (0, 3)]);
    assert_eq!(out.1, Ok(vec![]), "everything was taken out");
}

#[test]
fn join_next_hands_out_an_error_and_the_group_still_cancels_the_rest() {
    let out = rt().block_on(async {
        let group = TaskGroup::<u64, JobError>::new();
        group.spawn(fail_after(1, "refused"));
        group.spawn(async {
            boucle::sleep(secs(50)).await;
            Ok(50)
        });
        let first = group.join_next().await.unwrap();
        let second = group.join_next().await.unwrap();
        (
            first.result,
            second.result.map(|r| r.ok()),
            group.join().await,
        )
    });
    assert_eq!(out.0.unwrap(), Err(JobError("refused")));
    assert!(out.1.unwrap_err().is_cancelled());
    assert_eq!(out.2, Ok(vec![]), "the error was collected by join_next");
}

#[test]
fn join_after_some_join_next_gives_the_rest_in_spawn_order() {
    let out = rt().block_on(async {
        let group = TaskGroup::<u64, JobError>::new();
        for d in [4u64, 1, 3, 2] {
            group.spawn(async move {
                boucle::sleep(secs(d)).await;
                Ok(d)
            });
        }
        let quick = group.join_next().await.unwrap();
        assert_eq!((quick.index, quick.result.unwrap().unwrap()), (1, 1));
        group.join().await
    });
    assert_eq!(out, Ok(vec![4, 3, 2]));
}
