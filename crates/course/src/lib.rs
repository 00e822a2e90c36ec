//! # The course project of the seeds, on boucle
//!
//! The French course notes (`shared/seeds/000`) build up asyncio step by
//! step with five small tasks ("Tâches du Projet"), then a follow-up on
//! asynchronous generators and comprehensions. This crate is that project
//! written against boucle, one function per exercise, with the same names
//! and the same behaviour as the Python originals.
//!
//! | seed task | function | what it shows |
//! | --- | --- | --- |
//! | Tâche 0 : *Syntaxe Async de Base* | [`wait_random`] | a coroutine that sleeps a random delay without blocking the loop |
//! | Tâche 1 : *Coroutines Multiples* | [`wait_n`] | n coroutines run concurrently; results collected in completion order |
//! | Tâche 2 : *Mesure du Temps* | [`measure_time`], [`measure_time_with`] | `perf_counter` around `asyncio.run`, time divided by n |
//! | Tâche 3 : *Création de Tâches* | [`task_wait_random`] | `asyncio.create_task`: a coroutine wrapped in a scheduled task |
//! | Tâche 4 : *Implémentation Avancée* | [`task_wait_n`] | Tâche 1 rebuilt on tasks |
//! | async comprehension | [`async_generator`], [`async_comprehension`], [`measure_runtime`] | `async for`, `[x async for x in gen()]`, four comprehensions in parallel |
//!
//! ## The intent of each task
//!
//! * **Tâche 0** — "Créer une coroutine pour délais aléatoires": a
//!   coroutine is a function that can pause. `wait_random` pauses for a
//!   random time and hands the loop over to others meanwhile.
//! * **Tâche 1** — "Création n Tâches ──> Planification ──> Collecte
//!   Résultats", with the result list in ascending order *without sorting*:
//!   the loop itself sorts the delays, because the shortest sleep finishes
//!   first. The seed (001, "Trier des résultats concurrents sans `sort()`")
//!   gives the pattern: `for task in asyncio.as_completed(tasks)`.
//! * **Tâche 2** — "Temps Début ──> Exécution ──> Temps Fin ──> Calcul
//!   Moyenne": n concurrent waits of at most `max_delay` take about
//!   `max_delay` in all, not `n × max_delay / 2`, so the time per wait
//!   shrinks as n grows.
//! * **Tâche 3** — "Coroutine ──> Création ──> Planifiée ──> En Cours ──>
//!   Terminée": a task is scheduled at once and runs in the background
//!   until awaited.
//! * **Tâche 4** — the same collection as Tâche 1, built on the tasks of
//!   Tâche 3.
//! * **Async comprehension** — an asynchronous generator yields ten random
//!   numbers a second apart; a comprehension collects them; four
//!   comprehensions gathered together take ten seconds, not forty.
//!
//! ## Why boucle's list comes out sorted at any n
//!
//! Every [`wait_random`] of one `wait_n` starts in the same loop iteration,
//! so all their sleeps share one time base (boucle caches loop time per
//! iteration, as libuv does), and boucle's timers fire in exact deadline
//! order. Completion order is then exactly ascending delay order. With
//! asyncio, which reads the clock once per call, a large n returns
//! thousands of delays out of order.
//!
//! The delay `wait_random` returns is the one it slept: the uniform draw
//! rounded to the loop clock's resolution of one nanosecond (a change of
//! at most half a nanosecond). Two draws in the same nanosecond therefore
//! return equal values, and the list stays ascending even when their
//! timers tie.
//!
//! ## Virtual time
//!
//! Every example below runs on a virtual clock
//! (`Builder::virtual_time(true)`): sleeps complete at once while loop time
//! ([`boucle::now`]) advances exactly as it would for real. With a seed,
//! the same program gives the same delays every time.
//!
//! ```
//! use std::time::Duration;
//!
//! let rt = boucle::Runtime::builder().virtual_time(true).seed(42).build().unwrap();
//! let (delays, took) = rt.block_on(async {
//!     let start = boucle::now();
//!     let delays = boucle_course::wait_n(5, boucle_course::DEFAULT_MAX_DELAY).await;
//!     (delays, boucle::now() - start)
//! });
//! assert_eq!(delays.len(), 5);
//! assert!(delays.windows(2).all(|w| w[0] <= w[1])); // ascending, never sorted
//! assert_eq!(took, Duration::from_secs_f64(delays[4])); // the longest wait, exactly
//! ```
//!
//! ## Panics
//!
//! Every function of the project panics, before doing anything, when
//! `max_delay` is negative, NaN, infinite, or too large for a `Duration`
//! (Python would fail inside `asyncio.sleep` instead).

#![deny(unsafe_code)]
#![warn(missing_docs)]

pub mod comprehension;
pub mod measure;
pub mod tasks;
pub mod wait;

pub use comprehension::{async_comprehension, async_generator, measure_runtime, AsyncGenerator};
pub use measure::{measure_time, measure_time_with};
pub use tasks::{task_wait_n, task_wait_random};
pub use wait::{wait_n, wait_random};

/// The default `max_delay` of the course (`async def wait_random(max_delay:
/// int = 10)`), in seconds.
pub const DEFAULT_MAX_DELAY: f64 = 10.0;

/// Panics with a clear message unless `max_delay` is a usable delay bound.
#[track_caller]
fn check_max_delay(function: &str, max_delay: f64) {
    let ok = max_delay >= 0.0
        && max_delay.is_finite()
        && std::time::Duration::try_from_secs_f64(max_delay).is_ok();
    assert!(
        ok,
        "{function}: max_delay must be a finite, non-negative number of seconds \
         (at most Duration::MAX), got {max_delay}"
    );
}

/// The output of a task spawned by the project: its value, or the task's
/// panic resumed (a cancelled task is reported by name).
fn task_output<T>(function: &str, result: Result<T, boucle::TaskError>) -> T {
    match result {
        Ok(value) => value,
        Err(e) => match e.into_panic() {
            Ok(payload) => std::panic::resume_unwind(payload),
            Err(_) => panic!("{function}: a wait_random task was cancelled from outside"),
        },
    }
}
