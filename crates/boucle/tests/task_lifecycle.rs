//! Task life cycle: cancellation timing x handle drop x panic (in poll and
//! in drop), as tokio's task_combinations test does for its runtime.

// Some tests return a `Task` from `block_on` on purpose: to keep it
// beyond the loop.
#![allow(clippy::async_yields_async)]

use std::cell::{Cell, RefCell};
use std::rc::Rc;
use std::time::Duration;

use boucle::{Runtime, TaskError};

fn rt() -> Runtime {
    Runtime::builder()
        .virtual_time(true)
        .seed(1)
        .build()
        .unwrap()
}

/// Both task memory sources: the loop's slab and the global allocator.
fn runtimes() -> [(bool, Runtime); 2] {
    [true, false].map(|slab| {
        let rt = Runtime::builder()
            .virtual_time(true)
            .task_slab(slab)
            .build()
            .unwrap();
        (slab, rt)
    })
}

/// Sets a flag when dropped: proves a future's cleanup ran.
struct DropFlag(Rc<Cell<u32>>);

impl Drop for DropFlag {
    fn drop(&mut self) {
        self.0.set(self.0.get() + 1);
    }
}

/// Panics when dropped.
struct PanicOnDrop;

impl Drop for PanicOnDrop {
    fn drop(&mut self) {
        if !std::thread::panicking() {
            panic!("boom in drop");
        }
    }
}

#[test]
fn cancel_before_first_poll_never_polls_and_runs_drop() {
    let drops = Rc::new(Cell::new(0));
    let polled = Rc::new(Cell::new(false));
    let (d, p) = (drops.clone(), polled.clone());
    let err = rt().block_on(async move {
        let task = boucle::spawn(async move {
            let _guard = DropFlag(d);
            p.set(true);
        });
        assert!(task.cancel());
        assert!(
            task.cancel(),
            "a second request is accepted too (still not done)"
        );
        task.await.unwrap_err()
    });
    assert!(err.is_cancelled());
    assert!(!polled.get());
    // The future was never polled, so the guard inside it never existed;
    // what matters is the future was dropped (its captured DropFlag moved
    // into the body never ran). Check the captured variable was dropped:
    assert_eq!(drops.get(), 0);
    assert_eq!(
        Rc::strong_count(&drops),
        1,
        "the future and its captures were dropped"
    );
}

#[test]
fn cancel_while_sleeping_drops_the_future_at_its_next_turn() {
    let drops = Rc::new(Cell::new(0));
    let d = drops.clone();
    let (err, elapsed) = rt().block_on(async move {
        let start = boucle::now();
        let task = boucle::spawn(async move {
            let _guard = DropFlag(d);
            boucle::sleep(Duration::from_secs(100)).await;
            unreachable!("cancelled while sleeping");
        });
        boucle::sleep(Duration::from_secs(1)).await;
        assert!(!task.is_done());
        assert!(task.cancel());
        let err = task.await.unwrap_err();
        (err, boucle::now() - start)
    });
    assert!(err.is_cancelled());
    assert_eq!(drops.get(), 1);
    assert_eq!(
        elapsed,
        Duration::from_secs(1),
        "the 100 s timer was disarmed"
    );
}

#[test]
fn cancel_after_completion_returns_false_and_keeps_the_output() {
    rt().block_on(async {
        let task = boucle::spawn(async { 42 });
        boucle::yield_now().await;
        assert!(task.is_done());
        assert!(!task.cancel());
        assert!(!task.is_cancelled());
        assert_eq!(task.await.unwrap(), 42);
    });
}

#[test]
fn a_task_can_cancel_itself_and_stops_at_its_next_turn() {
    let reached = Rc::new(Cell::new(false));
    let r = reached.clone();
    let err = rt().block_on(async move {
        let me: Rc<RefCell<Option<boucle::Task<()>>>> = Rc::new(RefCell::new(None));
        let me2 = me.clone();
        let task = boucle::spawn(async move {
            boucle::yield_now().await;
            me2.borrow().as_ref().unwrap().cancel();
            boucle::yield_now().await;
            r.set(true);
        });
        // Keep a second handle-like view: store the task, await through it.
        *me.borrow_mut() = Some(task);
        boucle::sleep(Duration::from_secs(1)).await;
        let task = me.borrow_mut().take().unwrap();
        task.await.unwrap_err()
    });
    assert!(err.is_cancelled());
    assert!(!reached.get());
}

#[test]
fn panic_in_poll_stays_in_the_task() {
    let (err, after) = rt().block_on(async {
        let task = boucle::spawn(async {
            boucle::yield_now().await;
            panic!("boom in poll");
        });
        let other = boucle::spawn(async { 7 });
        let err = task.await.unwrap_err();
        (err, other.await.unwrap())
    });
    assert!(err.is_panic());
    assert_eq!(err.panic_message(), Some("boom in poll"));
    assert_eq!(err.to_string(), "task panicked: boom in poll");
    assert_eq!(after, 7, "the loop kept running");
}

#[test]
fn panic_payload_can_be_resumed() {
    let err = rt().block_on(async {
        boucle::spawn(async { panic!("resume me") })
            .await
            .unwrap_err()
    });
    let payload = err.into_panic().unwrap();
    let caught = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        std::panic::resume_unwind(payload)
    }))
    .unwrap_err();
    assert_eq!(caught.downcast_ref::<&str>(), Some(&"resume me"));
}

#[test]
fn panic_in_drop_during_cancel_is_reported_as_a_panic() {
    let err = rt().block_on(async {
        let task = boucle::spawn(async {
            let _bomb = PanicOnDrop;
            boucle::sleep(Duration::from_secs(10)).await;
        });
        boucle::yield_now().await;
        task.cancel();
        task.await.unwrap_err()
    });
    assert!(err.is_panic());
    assert_eq!(err.panic_message(), Some("boom in drop"));
}

#[test]
fn panic_in_drop_after_completion_replaces_the_output() {
    let err = rt().block_on(async {
        let bomb = PanicOnDrop;
        let task = boucle::spawn(async move {
            let _keep = &bomb;
            1
        });
        task.await.unwrap_err()
    });
    assert!(err.is_panic());
}

#[test]
fn dropping_the_handle_detaches_the_task() {
    let done = Rc::new(Cell::new(false));
    let d = done.clone();
    rt().block_on(async move {
        drop(boucle::spawn(async move {
            boucle::sleep(Duration::from_secs(5)).await;
            d.set(true);
        }));
        boucle::sleep(Duration::from_secs(6)).await;
    });
    assert!(done.get());
}

#[test]
fn outputs_are_dropped_when_nobody_can_read_them() {
    let drops = Rc::new(Cell::new(0));
    let (d1, d2) = (drops.clone(), drops.clone());
    rt().block_on(async move {
        // Handle dropped before completion: output dropped at completion.
        drop(boucle::spawn(async move { DropFlag(d1) }));
        // Handle dropped after completion without reading.
        let t = boucle::spawn(async move { DropFlag(d2) });
        boucle::yield_now().await;
        boucle::yield_now().await;
        assert_eq!(drops.get(), 1);
        assert!(t.is_done());
        drop(t);
        assert_eq!(drops.get(), 2);
    });
}

/// Every combination of: when cancel happens (never / before first poll /
/// while pending / after completion) x handle dropped early or awaited x
/// the future panics (no / in poll / in drop). Checks the outcome and that
/// the future's captures are always dropped exactly once.
#[test]
fn lifecycle_combinations() {
    #[derive(Debug, Clone, Copy, PartialEq)]
    enum CancelAt {
        Never,
        BeforePoll,
        WhilePending,
        AfterDone,
    }
    #[derive(Debug, Clone, Copy, PartialEq)]
    enum Panic {
        No,
        InPoll,
        InDrop,
    }
    for (slab, rt) in runtimes() {
        for cancel in [
            CancelAt::Never,
            CancelAt::BeforePoll,
            CancelAt::WhilePending,
            CancelAt::AfterDone,
        ] {
            for detach in [false, true] {
                for panic in [Panic::No, Panic::InPoll, Panic::InDrop] {
                    let case = format!("{cancel:?} detach={detach} {panic:?} slab={slab}");
                    let drops = Rc::new(Cell::new(0));
                    let d = drops.clone();
                    let case2 = case.clone();
                    let result: Option<Result<u32, TaskError>> = rt.block_on(async move {
                        let case = case2;
                        // Made outside the future: dropped with it even when it
                        // never ran.
                        let flag = DropFlag(d);
                        let task = boucle::spawn(async move {
                            let _flag = flag;
                            // Lazily: an eager PanicOnDrop would blow up here.
                            #[allow(clippy::unnecessary_lazy_evaluations)]
                            let _bomb = (panic == Panic::InDrop).then(|| PanicOnDrop);
                            boucle::sleep(Duration::from_secs(1)).await;
                            if panic == Panic::InPoll {
                                panic!("in poll");
                            }
                            5u32
                        });
                        match cancel {
                            CancelAt::BeforePoll => {
                                task.cancel();
                            }
                            CancelAt::WhilePending => {
                                boucle::yield_now().await;
                                task.cancel();
                            }
                            CancelAt::AfterDone => {
                                boucle::sleep(Duration::from_secs(2)).await;
                                assert!(!task.cancel(), "{case}");
                            }
                            CancelAt::Never => {}
                        }
                        if detach {
                            drop(task);
                            boucle::sleep(Duration::from_secs(3)).await;
                            None
                        } else {
                            Some(task.await)
                        }
                    });
                    assert_eq!(drops.get(), 1, "{case}: dropped exactly once");
                    assert_eq!(Rc::strong_count(&drops), 1, "{case}: captures dropped");
                    let Some(result) = result else { continue };
                    match (cancel, panic) {
                        (CancelAt::BeforePoll, _) => {
                            assert!(result.unwrap_err().is_cancelled(), "{case}")
                        }
                        (CancelAt::WhilePending, Panic::InDrop) => {
                            assert!(result.unwrap_err().is_panic(), "{case}")
                        }
                        (CancelAt::WhilePending, _) => {
                            assert!(result.unwrap_err().is_cancelled(), "{case}")
                        }
                        (_, Panic::No) => assert_eq!(result.unwrap(), 5, "{case}"),
                        (_, Panic::InPoll | Panic::InDrop) => {
                            assert!(result.unwrap_err().is_panic(), "{case}")
                        }
                    }
                }
            }
        }
    }
}

#[test]
fn leftover_tasks_are_cancelled_when_the_runtime_drops() {
    let drops = Rc::new(Cell::new(0));
    let d = drops.clone();
    let rt = rt();
    let handle = rt.block_on(async move {
        let flag = DropFlag(d);
        boucle::spawn(async move {
            let _flag = flag;
            boucle::sleep(Duration::from_secs(1000)).await;
        })
    });
    assert_eq!(drops.get(), 0, "block_on leaves tasks alive");
    assert!(!handle.is_done());
    drop(rt);
    assert_eq!(drops.get(), 1, "runtime drop cancelled the task");
    assert!(handle.is_done() && handle.is_cancelled());
    drop(handle);
}

#[test]
fn block_on_keeps_tasks_alive_between_calls() {
    let rt = rt();
    let task = rt.block_on(async {
        boucle::spawn(async {
            boucle::sleep(Duration::from_secs(2)).await;
            "later"
        })
    });
    let out = rt.block_on(task).unwrap();
    assert_eq!(out, "later");
}

#[test]
fn ids_names_current_task_and_all_tasks() {
    rt().block_on(async {
        let a = boucle::task::Builder::new().name("alpha").spawn(async {
            let me = boucle::current_task().unwrap();
            (me.id, me.label(), me.state)
        });
        let b = boucle::spawn(boucle::sleep(Duration::from_secs(5)));
        assert_eq!(b.id().as_u64(), a.id().as_u64() + 1);
        assert_eq!(a.name().as_deref(), Some("alpha"));
        assert_eq!(b.name(), None);
        assert!(
            boucle::current_task().is_none(),
            "block_on's future is not a task"
        );
        let all = boucle::all_tasks();
        assert_eq!(all.len(), 2);
        let alpha = all.iter().find(|t| t.id == a.id()).unwrap();
        assert_eq!(alpha.label(), "alpha");
        assert_eq!(alpha.state, boucle::task::TaskState::Scheduled);
        assert!(alpha.location.file().ends_with("task_lifecycle.rs"));
        assert_eq!(
            format!("{}", all.iter().find(|t| t.id == b.id()).unwrap())
                .split(' ')
                .nth(1)
                .unwrap(),
            format!("'Task-{}'", b.id())
        );
        let (id, label, state) = a.await.unwrap();
        assert_eq!(label, "alpha");
        assert_eq!(state, boucle::task::TaskState::Running);
        assert_eq!(id.as_u64(), 1);
        boucle::yield_now().await;
        assert_eq!(
            boucle::all_tasks().len(),
            1,
            "finished tasks leave all_tasks"
        );
        b.cancel();
    });
}

#[test]
fn many_tasks_complete_and_free() {
    let n = 10_000u64;
    let sum = rt().block_on(async move {
        let tasks: Vec<_> = (0..n).map(|i| boucle::spawn(async move { i })).collect();
        let mut sum = 0;
        for t in tasks {
            sum += t.await.unwrap();
        }
        sum
    });
    assert_eq!(sum, n * (n - 1) / 2);
}

// ------------------------------------- result(), exception(), take_result()

#[test]
fn result_reads_a_finished_output_without_awaiting() {
    rt().block_on(async {
        let mut task = boucle::spawn(async { String::from("value") });
        let err = task.result().unwrap_err();
        assert!(err.is_not_done());
        assert!(task.exception().unwrap_err().is_not_done());
        assert!(!task.done());
        boucle::yield_now().await;
        assert!(task.done());
        assert_eq!(task.result().unwrap().as_deref().unwrap(), "value");
        assert_eq!(
            task.result().unwrap().as_deref().unwrap(),
            "value",
            "read twice"
        );
        assert!(task.exception().unwrap().is_none());
        assert_eq!(task.take_result().unwrap().unwrap(), "value");
        let err = task.result().unwrap_err();
        assert!(!err.is_not_done(), "taken, not running");
        assert_eq!(err.to_string(), "the task's output was already taken");
    });
}

#[test]
fn exception_gives_the_cancellation_or_the_panic() {
    rt().block_on(async {
        let cancelled = boucle::spawn(std::future::pending::<()>());
        let panicked = boucle::spawn(async { panic!("kaboom") });
        cancelled.cancel();
        boucle::yield_now().await;
        assert!(cancelled.exception().unwrap().unwrap().is_cancelled());
        let err = panicked.exception().unwrap().unwrap();
        assert_eq!(err.panic_message(), Some("kaboom"));
        assert!(panicked.result().unwrap().is_err());
    });
}

#[test]
fn into_panic_gives_a_cancellation_back_instead_of_panicking() {
    let err = rt().block_on(async {
        let t = boucle::spawn(std::future::pending::<()>());
        t.cancel();
        t.await.unwrap_err()
    });
    let back = err.into_panic().unwrap_err();
    assert!(back.is_cancelled());
}

/// A panic looked at through `exception()` is observed: dropping the handle
/// reports nothing. One that nobody looked at is reported once.
#[test]
fn a_retrieved_panic_is_not_reported_again() {
    let out = std::process::Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "retrieved_panic_child",
            "--nocapture",
            "--test-threads=1",
        ])
        .env("BOUCLE_TEST_CHILD", "retrieved_panic")
        .env("RUST_BACKTRACE", "0")
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    let stderr = String::from_utf8_lossy(&out.stderr);
    let reports: Vec<&str> = stderr
        .lines()
        .filter(|l| l.starts_with("boucle: "))
        .collect();
    assert_eq!(reports.len(), 1, "{stderr}");
    assert!(reports[0].contains("never looked at"), "{stderr}");
}

/// The child process of the test above (a no-op in the parent).
#[test]
fn retrieved_panic_child() {
    if std::env::var("BOUCLE_TEST_CHILD").as_deref() != Ok("retrieved_panic") {
        return;
    }
    boucle::run(async {
        let seen = boucle::spawn(async { panic!("looked at") });
        let unseen = boucle::spawn(async { panic!("never looked at") });
        boucle::yield_now().await;
        assert!(seen.exception().unwrap().is_some());
        drop(seen);
        drop(unseen);
    });
}
