//! Seed 003, "Exécution concurrente avec `create_task()`": both
//! `dire_apres` become tasks: 2 s instead of 3. See
//! `boucle_examples::dire_apres_create_task`.
//!
//! ```text
//! cargo run -p boucle-examples --example 003_dire_apres_create_task
//! ```

use boucle_examples::{dire_apres_create_task, Console};

fn main() -> std::io::Result<()> {
    boucle::run(dire_apres_create_task::main(Console::stdout()))
}
