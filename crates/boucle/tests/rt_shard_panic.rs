//! A shard killed by its main future's panic: the panic is reported (the
//! sharded exception handler) and comes back as that shard's error; the
//! other shards go on, and work sent to the dead shard is refused.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use boucle::runtime::{spawn_on, ShardException};
use boucle::Runtime;

fn recorder() -> (
    Arc<Mutex<Vec<String>>>,
    impl Fn(&ShardException<'_>) + Send + Sync,
) {
    let seen = Arc::new(Mutex::new(Vec::new()));
    let log = seen.clone();
    (seen, move |e: &ShardException<'_>| {
        log.lock().unwrap().push(format!(
            "{} main={} task={} {}",
            e.shard().id(),
            e.is_main(),
            e.task().map(|t| t.label()).unwrap_or_default(),
            e.panic_message().unwrap_or("?")
        ));
    })
}

#[test]
fn a_panicking_shard_is_reported_and_the_others_finish() {
    let (seen, handler) = recorder();
    let rt = Runtime::builder()
        .virtual_time(true)
        .threads(3)
        .exception_handler(handler)
        .build()
        .unwrap();
    let out = rt.block_on(|shard| async move {
        if shard.id() == 1 {
            boucle::sleep(Duration::from_secs(1)).await;
            panic!("shard one gives up");
        }
        // The others outlive it and keep working.
        boucle::sleep(Duration::from_secs(5)).await;
        shard.id() * 2
    });
    assert_eq!(*out[0].as_ref().unwrap(), 0);
    assert_eq!(*out[2].as_ref().unwrap(), 4);
    let err = out[1].as_ref().unwrap_err();
    assert!(err.is_panic() && !err.is_stopped());
    assert_eq!(err.shard(), 1);
    assert_eq!(err.panic_message(), Some("shard one gives up"));
    assert_eq!(
        *seen.lock().unwrap(),
        ["1 main=true task=shard-1 main shard one gives up"]
    );
    // Work sent to the dead shard is refused; the living ones still serve.
    let refused = rt.spawn_on(1, async { 1 }).wait();
    assert!(refused.unwrap_err().is_cancelled());
    assert_eq!(rt.spawn_on(2, async { 7 }).wait().unwrap(), 7);
    let again = rt.block_on(|shard| async move { shard.id() });
    assert!(again[1].as_ref().unwrap_err().is_stopped());
    assert_eq!(*again[2].as_ref().unwrap(), 2);
    let report = rt.shutdown_timeout(Duration::from_secs(1));
    assert!(report.all_in_time());
    assert!(report.shards[1].panicked.is_some());
    assert!(report.shards[0].panicked.is_none());
}

#[test]
fn the_dead_shards_tasks_are_cancelled_with_it() {
    let rt = Runtime::builder().threads(2).build().unwrap();
    let (tx, rx) = std::sync::mpsc::channel::<&'static str>();
    let tx = Mutex::new(tx);
    let out = rt.block_on(move |shard| {
        let tx = tx.lock().unwrap().clone();
        async move {
            if shard.id() == 0 {
                // A task of the doomed shard, with a destructor that tells.
                struct Tell(std::sync::mpsc::Sender<&'static str>);
                impl Drop for Tell {
                    fn drop(&mut self) {
                        let _ = self.0.send("dropped");
                    }
                }
                let tell = Tell(tx);
                drop(boucle::spawn(async move {
                    let _tell = tell;
                    std::future::pending::<()>().await;
                }));
                boucle::yield_now().await;
                panic!("boom");
            }
            // Shard 1 goes on.
            "alive"
        }
    });
    assert!(out[0].as_ref().unwrap_err().is_panic());
    assert_eq!(*out[1].as_ref().unwrap(), "alive");
    assert_eq!(rx.recv_timeout(Duration::from_secs(5)), Ok("dropped"));
}

#[test]
fn unobserved_panics_on_a_shard_are_reported_and_do_not_stop_it() {
    let (seen, handler) = recorder();
    let rt = Runtime::builder()
        .threads(2)
        .exception_handler(handler)
        .build()
        .unwrap();
    let out = rt.block_on(|shard| async move {
        if shard.id() == 0 {
            let t = boucle::task::Builder::new()
                .name("loose")
                .spawn(async { panic!("nobody awaits me") });
            drop(t);
            boucle::sleep(Duration::from_millis(2)).await;
        }
        // A spawn_on task that panics: its awaiter sees the panic, the
        // target shard goes on.
        let r = spawn_on(1, async { panic!("in spawn_on") }).await;
        assert!(r.unwrap_err().is_panic());
        shard.id()
    });
    assert_eq!(
        out.into_iter().map(Result::unwrap).collect::<Vec<_>>(),
        [0, 1]
    );
    assert_eq!(
        *seen.lock().unwrap(),
        ["0 main=false task=loose nobody awaits me"]
    );
}

#[test]
fn without_a_handler_the_panic_goes_to_stderr_naming_the_shard() {
    // Run in a child process to read its stderr.
    if std::env::var("BOUCLE_SHARD_PANIC_CHILD").is_ok() {
        let out = boucle::run_sharded(2, |shard| async move {
            if shard.id() == 1 {
                panic!("to stderr");
            }
            0
        });
        assert!(out[1].is_err() && out[0].is_ok());
        return;
    }
    let exe = std::env::current_exe().unwrap();
    let child = std::process::Command::new(exe)
        .args([
            "--exact",
            "without_a_handler_the_panic_goes_to_stderr_naming_the_shard",
            "--nocapture",
        ])
        .env("BOUCLE_SHARD_PANIC_CHILD", "1")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&child.stderr);
    assert!(child.status.success(), "{stderr}");
    assert!(
        stderr.contains("boucle: shard 1: its main future (task 'shard-1 main'")
            && stderr.contains("panicked: to stderr; the shard is stopped, the others go on"),
        "{stderr}"
    );
}
