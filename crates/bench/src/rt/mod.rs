//! The runtimes under comparison, one file each, each written the way its own users write it.
//!
//! Every workload function builds its runtime, reads the RSS just before the workload, and
//! times the workload from inside the root future (runtime start-up and shutdown excluded)
//! with the same clock, `std::time::Instant`.

use std::time::Duration;

#[cfg(feature = "boucle")]
mod boucle_rt;
mod monoio_rt;
mod tokio_rt;

/// What one workload run gives back to the worker.
#[derive(Debug, Default)]
pub struct Outcome {
    /// Wall time of the workload alone.
    pub wall: Duration,
    /// RSS in KiB after the runtime was built, just before the workload began.
    pub rss_before_kb: u64,
    /// `wait_n` only: each task's delay, in completion order.
    pub completed: Vec<Duration>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Runtime {
    Boucle,
    Tokio,
    Monoio,
}

impl Runtime {
    /// Every runtime, in the order the harness interleaves them.
    pub const ALL: [Runtime; 3] = [Runtime::Boucle, Runtime::Tokio, Runtime::Monoio];

    pub fn name(self) -> &'static str {
        match self {
            Runtime::Boucle => "boucle",
            Runtime::Tokio => "tokio",
            Runtime::Monoio => "monoio",
        }
    }

    pub fn parse(s: &str) -> Option<Runtime> {
        Runtime::ALL.into_iter().find(|r| r.name() == s)
    }

    /// Whether this binary was built with it (boucle sits behind the `boucle` feature).
    pub fn is_built(self) -> bool {
        match self {
            Runtime::Boucle => cfg!(feature = "boucle"),
            Runtime::Tokio | Runtime::Monoio => true,
        }
    }
}

/// Spawns `n` tasks returning their index, then awaits each handle in order.
pub fn spawn_join(rt: Runtime, n: usize) -> Outcome {
    match rt {
        #[cfg(feature = "boucle")]
        Runtime::Boucle => boucle_rt::spawn_join(n),
        Runtime::Tokio => tokio_rt::spawn_join(n),
        Runtime::Monoio => monoio_rt::spawn_join(n),
        #[allow(unreachable_patterns)]
        _ => not_built(rt),
    }
}

/// Spawns `tasks` tasks that each yield `yields` times, then awaits them all.
pub fn yield_many(rt: Runtime, tasks: usize, yields: usize) -> Outcome {
    match rt {
        #[cfg(feature = "boucle")]
        Runtime::Boucle => boucle_rt::yield_many(tasks, yields),
        Runtime::Tokio => tokio_rt::yield_many(tasks, yields),
        Runtime::Monoio => monoio_rt::yield_many(tasks, yields),
        #[allow(unreachable_patterns)]
        _ => not_built(rt),
    }
}

/// One task per delay; each sleeps its delay, then records it.
pub fn wait_n(rt: Runtime, delays: &[Duration]) -> Outcome {
    match rt {
        #[cfg(feature = "boucle")]
        Runtime::Boucle => boucle_rt::wait_n(delays),
        Runtime::Tokio => tokio_rt::wait_n(delays),
        Runtime::Monoio => monoio_rt::wait_n(delays),
        #[allow(unreachable_patterns)]
        _ => not_built(rt),
    }
}

fn not_built(rt: Runtime) -> ! {
    panic!(
        "this boucle-bench was built without the `{}` feature",
        rt.name()
    )
}
