//! Helpers shared by the integration tests (each test file that uses them
//! declares `mod common;`).

#![allow(dead_code)]

use std::future::Future;
use std::time::Duration;

/// Runs `f` on a virtual-time loop seeded with `seed`; a deadlock becomes a
/// failure (the clock jumps to the guard's deadline) instead of a hang.
pub fn run_virtual<F: Future>(seed: u64, f: F) -> F::Output {
    let rt = boucle::Runtime::builder()
        .virtual_time(true)
        .seed(seed)
        .build()
        .unwrap();
    rt.block_on(async {
        boucle::timeout(Duration::from_secs(100_000), f)
            .await
            .expect("the test deadlocked")
    })
}

pub fn secs(s: u64) -> Duration {
    Duration::from_secs(s)
}

/// A virtual-time runtime seeded with `seed`.
pub fn virtual_rt(seed: u64) -> boucle::Runtime {
    boucle::Runtime::builder()
        .virtual_time(true)
        .seed(seed)
        .build()
        .unwrap()
}

/// Counts drops: proves a future's cleanup ran.
pub struct DropCount(pub std::rc::Rc<std::cell::Cell<u32>>);

impl Drop for DropCount {
    fn drop(&mut self) {
        self.0.set(self.0.get() + 1);
    }
}
