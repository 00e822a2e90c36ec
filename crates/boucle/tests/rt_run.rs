//! `run`, `block_on`, nesting rules, shutdown, panics of the main future,
//! the unobserved-panic report, the blocking pool.

use std::cell::Cell;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::process::Command;
use std::rc::Rc;
use std::time::Duration;

use boucle::Runtime;

fn message(payload: Box<dyn std::any::Any + Send>) -> String {
    payload
        .downcast_ref::<String>()
        .cloned()
        .or_else(|| payload.downcast_ref::<&str>().map(|s| s.to_string()))
        .unwrap_or_default()
}

#[test]
fn run_returns_the_output() {
    assert_eq!(boucle::run(async { 6 * 7 }), 42);
}

#[test]
fn run_inside_a_running_loop_is_a_clear_error() {
    let msg = boucle::run(async {
        let err = catch_unwind(|| boucle::run(async {})).unwrap_err();
        message(err)
    });
    assert!(msg.contains("inside a running boucle loop"), "{msg}");
    let rt = Runtime::new().unwrap();
    let msg = rt.block_on(async {
        let inner = Runtime::new().unwrap();
        message(catch_unwind(AssertUnwindSafe(|| inner.block_on(async {}))).unwrap_err())
    });
    assert!(msg.contains("inside a running boucle loop"), "{msg}");
}

#[test]
fn spawn_outside_a_loop_is_a_clear_error() {
    let msg = message(catch_unwind(|| drop(boucle::spawn(async {}))).unwrap_err());
    assert!(
        msg.starts_with("no running boucle loop: call this inside boucle::run"),
        "{msg}"
    );
    let msg = message(catch_unwind(|| drop(boucle::spawn_blocking(|| ()))).unwrap_err());
    assert!(msg.starts_with("no running boucle loop"), "{msg}");
}

#[test]
fn run_cancels_leftover_tasks_at_the_end() {
    struct Flag(Rc<Cell<bool>>);
    impl Drop for Flag {
        fn drop(&mut self) {
            self.0.set(true);
        }
    }
    let dropped = Rc::new(Cell::new(false));
    let d = dropped.clone();
    boucle::run(async move {
        let flag = Flag(d);
        drop(boucle::spawn(async move {
            let _flag = flag;
            boucle::sleep(Duration::from_secs(3600)).await;
        }));
        boucle::yield_now().await;
    });
    assert!(dropped.get());
}

#[test]
fn a_panic_in_main_resumes_after_shutdown_and_the_thread_can_run_again() {
    let err = catch_unwind(|| {
        boucle::run(async {
            boucle::yield_now().await;
            panic!("main failed");
        })
    })
    .unwrap_err();
    assert_eq!(message(err), "main failed");
    // The thread-local loop slot was restored.
    assert_eq!(boucle::run(async { 1 }), 1);
}

#[test]
fn sequential_runtimes_on_one_thread() {
    for i in 0..5 {
        let rt = Runtime::builder().virtual_time(true).build().unwrap();
        let v = rt.block_on(async move {
            let t = boucle::spawn(async move { i * 2 });
            t.await.unwrap()
        });
        assert_eq!(v, i * 2);
    }
}

#[test]
fn spawn_blocking_returns_results_and_panics() {
    boucle::run(async {
        let ok = boucle::spawn_blocking(|| {
            std::thread::sleep(Duration::from_millis(5));
            std::thread::current().name().map(str::to_owned)
        });
        let bad = boucle::to_thread(|| -> u8 { panic!("job failed") });
        assert_eq!(ok.await.unwrap().as_deref(), Some("boucle-blocking"));
        let err = bad.await.unwrap_err();
        assert_eq!(err.panic_message(), Some("job failed"));
    });
}

#[test]
fn virtual_time_waits_for_blocking_jobs_instead_of_jumping() {
    let rt = Runtime::builder().virtual_time(true).build().unwrap();
    let (elapsed, v) = rt.block_on(async {
        let start = boucle::now();
        let job = boucle::spawn_blocking(|| {
            std::thread::sleep(Duration::from_millis(20));
            9
        });
        // A timer far away must not fire before the job is back.
        let timer = boucle::spawn(boucle::sleep(Duration::from_secs(60)));
        let v = job.await.unwrap();
        let elapsed = boucle::now() - start;
        timer.cancel();
        (elapsed, v)
    });
    assert_eq!(v, 9);
    assert!(elapsed < Duration::from_secs(60), "{elapsed:?}");
}

/// Child mode for the stderr tests below: run a scenario and exit.
fn child_scenario() -> bool {
    match std::env::var("BOUCLE_TEST_CHILD").as_deref() {
        Ok("detached_panic") => {
            boucle::run(async {
                drop(
                    boucle::task::Builder::new()
                        .name("lonely")
                        .spawn(async { panic!("nobody listens") }),
                );
                boucle::yield_now().await;
                boucle::yield_now().await;
            });
            true
        }
        Ok("slow_poll") => {
            let rt = Runtime::builder()
                .debug(true)
                .slow_poll_threshold(Duration::from_millis(5))
                .build()
                .unwrap();
            rt.block_on(async {
                boucle::task::Builder::new()
                    .name("hog")
                    .spawn(async { std::thread::sleep(Duration::from_millis(20)) })
                    .await
                    .unwrap();
            });
            true
        }
        Ok("self_await") => {
            boucle::run(async {
                let slot: std::rc::Rc<std::cell::RefCell<Option<boucle::Task<()>>>> =
                    Default::default();
                let s = slot.clone();
                let task = boucle::task::Builder::new()
                    .name("narcissus")
                    .spawn(async move {
                        boucle::yield_now().await;
                        let me = s.borrow_mut().take().expect("handle stored");
                        let _ = me.await;
                    });
                *slot.borrow_mut() = Some(task);
                for _ in 0..5 {
                    boucle::yield_now().await;
                }
                assert!(boucle::all_tasks().is_empty(), "the task ended");
            });
            eprintln!("loop went on");
            true
        }
        Ok("tls_teardown") => {
            // A runtime kept in a thread-local, with a task still alive,
            // dropped at thread exit after the loop's own slot is gone.
            struct Noisy;
            impl Drop for Noisy {
                fn drop(&mut self) {
                    eprintln!("task dropped at teardown");
                }
            }
            thread_local! {
                static KEPT: std::cell::RefCell<Option<Runtime>> = const { std::cell::RefCell::new(None) };
            }
            std::thread::spawn(|| {
                // Registered first, so destroyed after the loop's slot.
                KEPT.with(|_| ());
                let rt = Runtime::new().unwrap();
                rt.block_on(async {
                    let guard = Noisy;
                    drop(boucle::spawn(async move {
                        let _guard = guard;
                        std::future::pending::<()>().await
                    }));
                    boucle::yield_now().await;
                });
                KEPT.with(|k| *k.borrow_mut() = Some(rt));
            })
            .join()
            .unwrap();
            eprintln!("thread exited");
            true
        }
        _ => false,
    }
}

fn run_child(scenario: &str) -> String {
    let out = Command::new(std::env::current_exe().unwrap())
        .args(["--exact", "child_entry", "--nocapture", "--test-threads=1"])
        .env("BOUCLE_TEST_CHILD", scenario)
        .env("RUST_BACKTRACE", "0")
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    String::from_utf8_lossy(&out.stderr).into_owned()
}

#[test]
fn child_entry() {
    child_scenario();
}

#[test]
fn an_unobserved_panic_is_reported_once_with_name_and_location() {
    let stderr = run_child("detached_panic");
    let reports: Vec<&str> = stderr
        .lines()
        .filter(|l| l.starts_with("boucle: "))
        .collect();
    assert_eq!(reports.len(), 1, "{stderr}");
    let line = reports[0];
    assert!(line.contains("task 'lonely'"), "{line}");
    assert!(line.contains("rt_run.rs:"), "{line}");
    assert!(line.contains("nobody listens"), "{line}");
}

#[test]
fn debug_mode_names_a_task_that_blocks_the_loop() {
    let stderr = run_child("slow_poll");
    let warnings = stderr
        .lines()
        .filter(|l| l.contains("blocked the loop"))
        .collect::<Vec<_>>();
    assert_eq!(warnings.len(), 1, "exactly one warning: {stderr}");
    assert!(warnings[0].contains("task 'hog'"), "{stderr}");
    assert!(warnings[0].contains("rt_run.rs:"), "{stderr}");
}

#[test]
fn a_runtime_dropped_at_thread_exit_shuts_down_instead_of_aborting() {
    let stderr = run_child("tls_teardown");
    assert!(stderr.contains("task dropped at teardown"), "{stderr}");
    assert!(stderr.contains("thread exited"), "{stderr}");
}

#[test]
fn a_task_awaiting_its_own_handle_fails_instead_of_hanging() {
    let stderr = run_child("self_await");
    assert!(stderr.contains("task 'narcissus'"), "{stderr}");
    assert!(
        stderr.contains("cannot await its own Task handle"),
        "{stderr}"
    );
    assert!(stderr.contains("loop went on"), "{stderr}");
}
