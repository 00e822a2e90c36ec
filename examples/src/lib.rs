//! The code examples of the seeds (`shared/seeds/`), ported one to one to
//! boucle.
//!
//! Each example has a module here holding its logic, with the seed's
//! function names and French messages, and a thin binary under
//! `examples/examples/` named after the seed (`002_run.rs` for the
//! `asyncio.run()` example of seed 002) that runs it on a real-time loop
//! (`boucle::run`, the seed's `asyncio.run`) and prints to stdout:
//!
//! ```text
//! cargo run -p boucle-examples --example 003_dire_apres_create_task
//! ```
//!
//! The functions print through a [`Console`] instead of `print`, so that the
//! tests (`tests/seeds.rs`) can run every example on a virtual clock and
//! check each line and the loop time at which it was printed.
//!
//! ```
//! use std::time::Duration;
//! use boucle_examples::{dire_apres_create_task, Console};
//!
//! let (console, captured) = Console::capture();
//! let rt = boucle::Runtime::builder().virtual_time(true).build().unwrap();
//! let start = rt.block_on(async {
//!     let start = boucle::now();
//!     dire_apres_create_task::main(console).await.unwrap();
//!     start
//! });
//! assert_eq!(
//!     captured.stamped_since(start),
//!     [
//!         (Duration::ZERO, "Démarré".to_string()),
//!         (Duration::from_secs(1), "Bonjour".to_string()),
//!         (Duration::from_secs(2), "Monde".to_string()),
//!         (Duration::from_secs(2), "Terminé".to_string()), // 2 s, not 3
//!     ]
//! );
//! ```

#![deny(unsafe_code)]
#![warn(missing_docs)]

mod console;

pub mod chainage;
pub mod dire_apres_create_task;
pub mod dire_apres_sequentiel;
pub mod dire_apres_synchrone;
pub mod fonction_sync_coroutine_async;
pub mod gather_resultats;
pub mod generateur_asynchrone;
pub mod perf_counter;
pub mod producteur_consommateur;
pub mod run;
pub mod scraper_web;
pub mod sleep;
pub mod tache1_tache2_gather;
pub mod tache_abc_gather_et_create_task;
pub mod wait_random;

pub use console::{py_list, Captured, Console, Line};
