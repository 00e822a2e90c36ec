//! # boucle
//!
//! An asyncio-style async runtime for Rust: one event loop on one thread,
//! with asyncio's names and semantics (`run`, `create_task`, `gather`,
//! `as_completed`, `sleep`, `wait_for`, `TaskGroup`), timers that fire in
//! exact deadline order, optional virtual time and seeded randomness for
//! deterministic runs, and a tracer that draws every task's life.
//!
//! ```
//! use std::time::Duration;
//!
//! async fn tache(nom: &'static str, duree: u64) -> String {
//!     boucle::sleep(Duration::from_secs(duree)).await;
//!     format!("Résultat {nom}")
//! }
//!
//! let rt = boucle::Runtime::builder().virtual_time(true).build().unwrap();
//! let (out, took) = rt.block_on(async {
//!     let start = boucle::now();
//!     let out = boucle::gather!(tache("A", 1), tache("B", 2), tache("C", 1));
//!     (out, boucle::now() - start)
//! });
//! assert_eq!(out.1, "Résultat B");
//! assert_eq!(took, Duration::from_secs(2)); // concurrent: 2 s, not 4 s
//! ```
//!
//! Futures need not be `Send`: tasks of one loop share `Rc`s and `Cell`s.

#![deny(unsafe_code)]
#![warn(missing_docs)]

mod combinators;
mod coop;
pub mod fs;
pub mod io;
mod loom_shim;
pub mod net;
pub mod process;
pub mod random;
pub mod runtime;
pub mod signal;
pub mod stream;
pub mod sync;
pub mod task;
pub mod time;
pub mod trace;

pub use combinators::*;
pub use runtime::{
    run, spawn_blocking, to_thread, BlockingTask, Builder, ExceptionContext, Runtime,
};
pub use signal::shutdown;
pub use task::{
    all_tasks, call_at, call_later, call_soon, create_task, current_task, spawn, CallHandle, Task,
    TaskError, TaskId,
};
pub use time::{
    now, sleep, sleep_until, timeout, timeout_at, wait_for, yield_now, Elapsed, Sleep, Timeout,
};

pub use boucle_macros::{main, test};

/// The README's Rust examples, compiled and run as doctests.
#[cfg(doctest)]
#[doc = include_str!("../../../README.md")]
pub struct ReadmeDoctests;

#[doc(hidden)]
pub mod __private {
    pub use std::future::Future;
}
