//! Ctrl-C as a future.
//!
//! boucle has no signal API on this branch (another branch adds
//! `boucle::signal::ctrl_c`). Until it lands, a thread waits for SIGINT
//! with signal-hook and wakes the loop through a `Waker` (boucle's wakers
//! may be woken from any thread). When `boucle::signal` lands, `ctrl_c`
//! below becomes `boucle::signal::ctrl_c()`: that one call is the only
//! change.

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, Waker};

#[derive(Default)]
struct Flag {
    hit: AtomicBool,
    waker: Mutex<Option<Waker>>,
}

/// Resolves at the first SIGINT after the call; `Pending` forever when the
/// handler cannot be installed (then Ctrl-C kills the process as usual).
pub fn ctrl_c() -> impl Future<Output = ()> {
    let flag = Arc::new(Flag::default());
    let installed = signal_hook::iterator::Signals::new([signal_hook::consts::SIGINT]);
    if let Ok(mut signals) = installed {
        let f = Arc::clone(&flag);
        let spawned = std::thread::Builder::new()
            .name("boucle-fetch-sigint".into())
            .spawn(move || {
                if signals.forever().next().is_some() {
                    f.hit.store(true, Ordering::SeqCst);
                    if let Some(w) = f.waker.lock().ok().and_then(|mut w| w.take()) {
                        w.wake();
                    }
                }
            });
        drop(spawned);
    }
    CtrlC { flag }
}

struct CtrlC {
    flag: Arc<Flag>,
}

impl Future for CtrlC {
    type Output = ();

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        if self.flag.hit.load(Ordering::SeqCst) {
            return Poll::Ready(());
        }
        if let Ok(mut w) = self.flag.waker.lock() {
            *w = Some(cx.waker().clone());
        }
        if self.flag.hit.load(Ordering::SeqCst) {
            return Poll::Ready(());
        }
        Poll::Pending
    }
}
