//! Debug mode's watchdog (glommio's stall detector): a thread that reports
//! a poll still running past the slow-poll threshold, while it runs. The
//! slow-poll warning speaks after the poll; this one speaks while the loop
//! is stuck. It names the task by id (names live on the loop thread); it
//! prints no stack: capturing the loop thread's stack needs a signal
//! handler, which boucle's no-`unsafe` rule keeps out.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

use super::instrument::Instrument;
use crate::task::TaskId;
use crate::time::clock::monotonic_ns;

#[derive(Default)]
struct State {
    /// `CLOCK_MONOTONIC` ns when the current poll began; 0: no poll.
    started: AtomicU64,
    task: AtomicU64,
    /// Counts polls, so each stuck poll is reported once.
    seq: AtomicU64,
    stop: Mutex<bool>,
    wake: Condvar,
}

/// The hook half, on the loop thread.
pub(crate) struct WatchHook(Arc<State>);

impl Instrument for WatchHook {
    fn poll_start(&self, task: TaskId, _at: Duration) {
        let s = &self.0;
        s.task.store(task.as_u64(), Ordering::Relaxed);
        s.seq.fetch_add(1, Ordering::Relaxed);
        s.started.store(monotonic_ns().max(1), Ordering::Release);
    }

    fn poll_end(&self, _task: TaskId, _at: Duration, _busy: Duration) {
        self.0.started.store(0, Ordering::Release);
    }
}

/// The thread half; stops when dropped.
pub(crate) struct Watchdog {
    state: Arc<State>,
    thread: Option<JoinHandle<()>>,
}

impl Watchdog {
    /// Starts the thread; `None` if it cannot start (said once on stderr).
    pub(crate) fn start(limit: Duration) -> Option<(Watchdog, WatchHook)> {
        let state = Arc::new(State::default());
        let s = state.clone();
        let spawned = std::thread::Builder::new()
            .name("boucle-watchdog".into())
            .spawn(move || watch(&s, limit));
        match spawned {
            Ok(thread) => Some((
                Watchdog {
                    state: state.clone(),
                    thread: Some(thread),
                },
                WatchHook(state),
            )),
            Err(e) => {
                eprintln!("boucle: the debug watchdog thread could not start: {e}");
                None
            }
        }
    }
}

fn watch(s: &State, limit: Duration) {
    let tick = (limit / 4).max(Duration::from_millis(5));
    let limit_ns = u64::try_from(limit.as_nanos()).unwrap_or(u64::MAX);
    let mut reported = u64::MAX;
    let mut stop = s.stop.lock().unwrap_or_else(|e| e.into_inner());
    loop {
        stop = s
            .wake
            .wait_timeout(stop, tick)
            .unwrap_or_else(|e| e.into_inner())
            .0;
        if *stop {
            return;
        }
        let started = s.started.load(Ordering::Acquire);
        let seq = s.seq.load(Ordering::Relaxed);
        if started == 0 || seq == reported {
            continue;
        }
        let running = monotonic_ns().saturating_sub(started);
        if running > limit_ns {
            reported = seq;
            eprintln!(
                "boucle watchdog: task id {} has been in one poll for {:.3} s and is still \
                 running (limit {:.3} s): the loop is blocked",
                s.task.load(Ordering::Relaxed),
                running as f64 / 1e9,
                limit.as_secs_f64()
            );
        }
    }
}

impl Drop for Watchdog {
    fn drop(&mut self) {
        *self.state.stop.lock().unwrap_or_else(|e| e.into_inner()) = true;
        self.state.wake.notify_all();
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}
