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

pub mod combinators;
mod coop;
#[doc(hidden)]
pub mod engine;
pub mod fs;
pub mod group;
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

#[doc(hidden)]
pub use combinators::MaybeDone;
pub use combinators::{
    as_completed, as_completed_tasks, gather, shield, try_gather, wait, wait_results, AsCompleted,
    Gather, ReturnWhen, Shield, TryGather,
};
pub use group::{ErrorGroup, TaskGroup};
/// The runtime's builder under a name that cannot be taken for
/// [`task::Builder`]; `boucle::Builder` is the same type.
pub use runtime::Builder as RuntimeBuilder;
pub use runtime::{
    run, spawn_blocking, to_thread, BlockingTask, Builder, ExceptionContext, Runtime,
};
pub use runtime::{run_sharded, ShardedRuntime};
pub use signal::shutdown;
pub use task::{
    all_tasks, call_at, call_later, call_soon, create_task, current_task, spawn, CallHandle, Task,
    TaskError, TaskId,
};
pub use time::{
    now, sleep, sleep_until, timeout, timeout_at, wait_for, yield_now, Elapsed, Sleep, Timeout,
};

pub use boucle_macros::{main, test};

/// Moved to [`group::Join`].
#[deprecated(since = "0.2.0", note = "use boucle::group::Join")]
pub type Join<T, E> = group::Join<T, E>;
/// Moved to [`group::Spawner`].
#[deprecated(since = "0.2.0", note = "use boucle::group::Spawner")]
pub type Spawner<T, E> = group::Spawner<T, E>;
/// Moved to [`combinators::Next`].
#[deprecated(since = "0.2.0", note = "use boucle::combinators::Next")]
pub type Next<'a, T> = combinators::Next<'a, T>;
/// Moved to [`combinators::Wait`].
#[deprecated(since = "0.2.0", note = "use boucle::combinators::Wait")]
pub type Wait<T> = combinators::Wait<T>;

/// The README's Rust examples, compiled and run as doctests.
#[cfg(doctest)]
#[doc = include_str!("../../../README.md")]
pub struct ReadmeDoctests;

#[doc(hidden)]
pub mod __private {
    pub use std::future::Future;
}
