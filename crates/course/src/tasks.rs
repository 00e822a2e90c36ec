//! Tâche 3 and Tâche 4: [`task_wait_random`] and [`task_wait_n`].
//!
//! Tâche 3, *Création de Tâches*, follows a coroutine through its life
//! cycle, "Coroutine ──> Création ──> Planifiée ──> En Cours ──> Terminée":
//!
//! ```python
//! def task_wait_random(max_delay: int) -> asyncio.Task:
//!     return asyncio.create_task(wait_random(max_delay))
//! ```
//!
//! The seed (002) says what this buys: a task is scheduled at once, runs in
//! the background, can be watched (`is_done`) and cancelled, and is awaited
//! later. Tâche 4, *Implémentation Avancée*, rebuilds `wait_n` on those
//! tasks: "task_wait_random() ──> Boucle d'Événements ──> Délais Triés".

use crate::wait::wait_random;
use crate::{check_max_delay, task_output};

/// Spawns [`wait_random(max_delay)`](wait_random) as a task and returns its
/// handle (the course's Tâche 3; `asyncio.create_task`).
///
/// The task starts at the loop's next iteration whether or not the handle
/// is awaited; awaiting the handle gives `Ok(delay)`. Dropping the handle
/// detaches the task, as in asyncio.
///
/// # Examples
///
/// ```
/// let rt = boucle::Runtime::builder().virtual_time(true).build().unwrap();
/// rt.block_on(async {
///     let task = boucle_course::task_wait_random(3.0);
///     assert!(!task.is_done()); // planifiée, pas encore terminée
///     let delay = task.await.unwrap();
///     assert!((0.0..=3.0).contains(&delay));
/// });
/// ```
///
/// # Panics
/// Before spawning, if `max_delay` is negative, NaN, infinite or larger
/// than `Duration::MAX`; outside a running loop.
#[track_caller]
pub fn task_wait_random(max_delay: f64) -> boucle::Task<f64> {
    check_max_delay("task_wait_random", max_delay);
    boucle::spawn(wait_random(max_delay))
}

/// Runs `n` [`task_wait_random`] tasks and returns their delays in the order
/// they completed (the course's Tâche 4): [`wait_n`](crate::wait_n) built
/// on tasks, collected with `boucle::as_completed_tasks`. Like `wait_n`, the
/// list comes out ascending without sorting, and the call takes exactly the
/// longest delay of loop time.
///
/// # Examples
///
/// ```
/// let rt = boucle::Runtime::builder().virtual_time(true).seed(4).build().unwrap();
/// let delays = rt.block_on(boucle_course::task_wait_n(10, 5.0));
/// assert_eq!(delays.len(), 10);
/// assert!(delays.windows(2).all(|w| w[0] <= w[1]));
/// ```
///
/// # Cancel safety
/// The tasks are created when the future is first polled. Dropping the
/// future afterwards detaches the tasks still running (as dropping any
/// `Task` does, and as cancelling the caller leaves its tasks running in
/// asyncio); they are cancelled when their loop shuts down.
///
/// # Panics
/// When first polled, before spawning any task, if `max_delay` is
/// negative, NaN, infinite or larger than `Duration::MAX`; outside a
/// running loop.
pub async fn task_wait_n(n: usize, max_delay: f64) -> Vec<f64> {
    check_max_delay("task_wait_n", max_delay);
    let tasks: Vec<boucle::Task<f64>> = (0..n).map(|_| task_wait_random(max_delay)).collect();
    let mut done = boucle::as_completed_tasks(tasks);
    let mut delays = Vec::with_capacity(n);
    while let Some(result) = done.next().await {
        delays.push(task_output("task_wait_n", result));
    }
    delays
}
