//! `runtime::Handle` from other threads: spawn `Send` futures, queue
//! callbacks, wait or await the results, cancel, shutdown.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::thread;
use std::time::Duration;

use boucle::runtime::{run_coroutine_threadsafe, Handle};
use boucle::Runtime;

/// Runs the loop until `done` says so (polling it every millisecond).
fn run_until(rt: &Runtime, done: impl Fn() -> bool) {
    rt.block_on(async {
        while !done() {
            boucle::sleep(Duration::from_millis(1)).await;
        }
    });
}

#[test]
fn a_thread_spawns_on_the_loop_and_waits_for_the_result() {
    let rt = Runtime::new().unwrap();
    let handle = rt.handle();
    let worker = thread::spawn(move || {
        let on_loop = handle.spawn_with(|| async {
            boucle::sleep(Duration::from_millis(2)).await;
            boucle::current_task().is_some() // it runs as a task of the loop
        });
        on_loop.wait()
    });
    run_until(&rt, || worker.is_finished());
    assert!(
        worker.join().unwrap().unwrap(),
        "not run as a task of the loop"
    );
}

#[test]
fn call_soon_threadsafe_runs_on_the_loop_thread() {
    let rt = Runtime::new().unwrap();
    let loop_thread = thread::current().id();
    let ran_on = Arc::new(std::sync::Mutex::new(None));
    let r = ran_on.clone();
    let handle = rt.handle();
    let sender = thread::spawn(move || {
        assert!(handle.call_soon_threadsafe(move || {
            *r.lock().unwrap() = Some(thread::current().id());
        }));
    });
    sender.join().unwrap();
    run_until(&rt, || ran_on.lock().unwrap().is_some());
    assert_eq!(*ran_on.lock().unwrap(), Some(loop_thread));
}

#[test]
fn a_remote_task_is_awaited_from_another_loop() {
    let rt = Runtime::new().unwrap();
    let handle = rt.handle();
    let other = thread::spawn(move || {
        // A second loop on another thread awaits a task of the first.
        boucle::run(async move { run_coroutine_threadsafe(async { 6 * 7 }, &handle).await })
    });
    run_until(&rt, || other.is_finished());
    assert_eq!(other.join().unwrap().unwrap(), 42);
}

struct Dropped(Arc<AtomicUsize>);
impl Drop for Dropped {
    fn drop(&mut self) {
        self.0.fetch_add(1, Ordering::SeqCst);
    }
}

#[test]
fn cancel_from_another_thread_drops_the_future() {
    let rt = Runtime::new().unwrap();
    let drops = Arc::new(AtomicUsize::new(0));
    let task = rt.handle().spawn({
        let guard = Dropped(drops.clone());
        async move {
            let _guard = guard;
            std::future::pending::<()>().await
        }
    });
    rt.block_on(async { boucle::sleep(Duration::from_millis(2)).await });
    assert!(!task.is_done());
    let canceller = thread::spawn(move || {
        task.cancel();
        task.wait()
    });
    run_until(&rt, || canceller.is_finished());
    assert!(canceller.join().unwrap().unwrap_err().is_cancelled());
    assert_eq!(drops.load(Ordering::SeqCst), 1);
}

#[test]
fn a_panic_in_a_remote_task_is_its_result_and_the_loop_goes_on() {
    let rt = Runtime::new().unwrap();
    let task = rt.handle().spawn(async { panic!("remote boom") });
    let v = rt.block_on(async {
        boucle::sleep(Duration::from_millis(2)).await;
        7
    });
    assert_eq!(v, 7);
    let err = task
        .wait_timeout(Duration::from_secs(5))
        .unwrap()
        .unwrap_err();
    assert_eq!(err.panic_message(), Some("remote boom"));
}

#[test]
fn a_loop_that_shuts_down_first_cancels_what_was_sent() {
    let rt = Runtime::new().unwrap();
    let handle = rt.handle();
    let never_ran = handle.spawn(async { 1 });
    drop(rt);
    assert!(never_ran.wait().unwrap_err().is_cancelled());
    // Sending to a gone loop is refused, not lost silently.
    assert!(!handle.call_soon_threadsafe(|| unreachable!("the loop is gone")));
    assert!(handle.spawn(async { 2 }).wait().unwrap_err().is_cancelled());
}

#[test]
fn a_panicking_callback_is_reported_and_the_loop_goes_on() {
    let seen = Arc::new(AtomicUsize::new(0));
    let s = seen.clone();
    let rt = Runtime::builder()
        .exception_handler(move |cx: &boucle::ExceptionContext<'_>| {
            assert_eq!(cx.panic_message(), Some("callback bug"));
            s.fetch_add(1, Ordering::SeqCst);
        })
        .build()
        .unwrap();
    rt.handle().call_soon_threadsafe(|| panic!("callback bug"));
    run_until(&rt, || seen.load(Ordering::SeqCst) == 1);
}

#[test]
fn a_virtual_loop_idle_forever_is_woken_by_a_remote_job() {
    let rt = Runtime::builder().virtual_time(true).build().unwrap();
    let handle = rt.handle();
    let (tx, rx) = boucle::sync::oneshot::channel();
    let sender = thread::spawn(move || {
        thread::sleep(Duration::from_millis(20));
        handle.call_soon_threadsafe(move || {
            let _ = tx.send(boucle::now());
        });
    });
    // Nothing else to do: the loop parks until the job comes.
    let got = rt.block_on(rx);
    sender.join().unwrap();
    assert!(got.is_ok());
}

#[test]
fn a_timer_armed_by_a_remote_job_fires_on_time() {
    // The job runs right after the loop's park, where the timer layer has
    // already looked at the wheel: the timer it arms must still count.
    let rt = Runtime::builder().virtual_time(true).build().unwrap();
    let handle = rt.handle();
    let (tx, rx) = boucle::sync::oneshot::channel();
    let sender = thread::spawn(move || {
        handle.call_soon_threadsafe(move || {
            let armed = boucle::now();
            boucle::call_later(Duration::from_secs(1), move || {
                let _ = tx.send((armed, boucle::now()));
            });
        });
    });
    let (armed, fired) = rt.block_on(rx).unwrap();
    sender.join().unwrap();
    assert_eq!(fired - armed, Duration::from_secs(1));
}

#[test]
fn handle_current_inside_and_outside_a_loop() {
    assert!(Handle::try_current().is_none());
    boucle::run(async {
        let h = Handle::current();
        let t = h.spawn(async { "sent to myself" });
        assert_eq!(t.await.unwrap(), "sent to myself");
    });
}

#[test]
#[should_panic(expected = "no running boucle loop")]
fn handle_current_outside_a_loop_panics_with_a_clear_message() {
    let _ = Handle::current();
}
