//! Shutdown: `Runtime::shutdown_timeout`, `run`'s bounded wait for blocking
//! jobs, and `boucle::shutdown::Shutdown` driven by real signals sent to
//! this process.

use std::cell::Cell;
use std::future::pending;
use std::rc::Rc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{mpsc, Arc, Mutex};
use std::time::{Duration, Instant};

use boucle::shutdown::{Outcome, Shutdown};
use boucle::signal::SignalKind;
use boucle::Runtime;

/// The signal tests send SIGINT / SIGTERM to this whole process, and every
/// loop listening would see them: one at a time.
static SIGNALS: Mutex<()> = Mutex::new(());

fn kill_self(sig: &str) {
    let me = std::process::id().to_string();
    assert!(std::process::Command::new("kill")
        .args([sig, &me])
        .status()
        .unwrap()
        .success());
}

struct Flag(Rc<Cell<bool>>);
impl Drop for Flag {
    fn drop(&mut self) {
        self.0.set(true);
    }
}

#[test]
fn shutdown_timeout_cancels_tasks_and_bounds_the_wait_for_blocking_jobs() {
    let rt = Runtime::new().unwrap();
    let (release, wait) = mpsc::channel::<()>();
    let dropped = Rc::new(Cell::new(false));
    let d = Flag(dropped.clone());
    rt.block_on(async move {
        drop(boucle::spawn(async move {
            let _d = d;
            pending::<()>().await
        }));
        // A job stuck until the test releases it.
        let (started_tx, started) = boucle::sync::oneshot::channel::<()>();
        drop(boucle::spawn_blocking(move || {
            let _ = started_tx.send(());
            wait.recv()
        }));
        started.await.unwrap();
    });
    let start = Instant::now();
    rt.shutdown_timeout(Duration::from_millis(50));
    let took = start.elapsed();
    assert!(dropped.get(), "the pending task was cancelled and dropped");
    assert!(took >= Duration::from_millis(40), "it did wait: {took:?}");
    assert!(
        took < Duration::from_secs(2),
        "but not for the stuck job: {took:?}"
    );
    release.send(()).unwrap();
}

#[test]
fn run_waits_for_a_running_blocking_job_to_finish() {
    let finished = Arc::new(AtomicBool::new(false));
    let f = finished.clone();
    boucle::run(async move {
        let (started_tx, started) = boucle::sync::oneshot::channel::<()>();
        drop(boucle::spawn_blocking(move || {
            let _ = started_tx.send(());
            std::thread::sleep(Duration::from_millis(100));
            f.store(true, Ordering::SeqCst);
        }));
        started.await.unwrap();
    });
    assert!(
        finished.load(Ordering::SeqCst),
        "run returned before the job it had started finished"
    );
    assert!(boucle::runtime::RUN_SHUTDOWN_TIMEOUT <= Duration::from_secs(10));
}

#[test]
fn shutdown_run_returns_the_output_when_serving_ends_first() {
    let _one = SIGNALS.lock().unwrap_or_else(|e| e.into_inner());
    let rt = Runtime::builder().virtual_time(true).build().unwrap();
    let out = rt.block_on(async {
        Shutdown::new()
            .unwrap()
            .run(
                async {
                    boucle::sleep(Duration::from_secs(3)).await;
                    42
                },
                |_| async { unreachable!("no signal, no drain") },
            )
            .await
    });
    assert_eq!(out, Outcome::Finished(42));
}

#[test]
fn sigterm_stops_serving_and_the_drain_finishes_in_the_grace_period() {
    let _one = SIGNALS.lock().unwrap_or_else(|e| e.into_inner());
    let rt = Runtime::builder().virtual_time(true).build().unwrap();
    let (outcome, served_dropped, drained_at) = rt.block_on(async {
        let served_dropped = Rc::new(Cell::new(false));
        let flag = Flag(served_dropped.clone());
        let seen = Rc::new(Cell::new(None));
        let s = seen.clone();
        let shutdown = Shutdown::new()
            .unwrap()
            .grace(Duration::from_secs(10))
            .on_signal(move |sig| s.set(Some(sig)));
        kill_self("-TERM");
        let start = boucle::now();
        let serve = async move {
            let _flag = flag;
            pending::<()>().await
        };
        let outcome = shutdown
            .run(serve, |_| boucle::sleep(Duration::from_secs(4)))
            .await;
        assert_eq!(seen.get(), Some(SignalKind::terminate()));
        (outcome, served_dropped.get(), boucle::now() - start)
    });
    assert_eq!(
        outcome,
        Outcome::Drained {
            signal: SignalKind::terminate()
        }
    );
    assert!(
        served_dropped,
        "the serving future was dropped: no more accepts"
    );
    assert_eq!(
        drained_at,
        Duration::from_secs(4),
        "the drain ran to its end"
    );
}

#[test]
fn a_drain_past_the_grace_period_is_cancelled() {
    let _one = SIGNALS.lock().unwrap_or_else(|e| e.into_inner());
    let rt = Runtime::builder().virtual_time(true).build().unwrap();
    let (outcome, took, drain_dropped) = rt.block_on(async {
        let shutdown = Shutdown::new().unwrap().grace(Duration::from_millis(1500));
        kill_self("-INT");
        let start = boucle::now();
        let drain_dropped = Rc::new(Cell::new(false));
        let flag = Flag(drain_dropped.clone());
        let outcome = shutdown
            .run(pending::<()>(), move |_| async move {
                let _flag = flag;
                pending::<()>().await
            })
            .await;
        (outcome, boucle::now() - start, drain_dropped.get())
    });
    assert_eq!(
        outcome,
        Outcome::TimedOut {
            signal: SignalKind::interrupt()
        }
    );
    assert_eq!(took, Duration::from_millis(1500));
    assert!(drain_dropped);
}

#[test]
fn a_second_signal_forces_the_end() {
    let _one = SIGNALS.lock().unwrap_or_else(|e| e.into_inner());
    let outcome = boucle::run(async {
        let shutdown = Shutdown::new()
            .unwrap()
            .exit_on_second_signal(false)
            .grace(Duration::from_secs(600))
            // The second Ctrl-C comes while the drain runs.
            .on_signal(|_| kill_self("-INT"));
        kill_self("-INT");
        shutdown.run(pending::<()>(), |_| pending::<()>()).await
    });
    assert_eq!(
        outcome,
        Outcome::Forced {
            signal: SignalKind::interrupt(),
            second: SignalKind::interrupt()
        }
    );
}
