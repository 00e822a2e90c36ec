//! Seed 002, "asyncio.run()": the entry point of an asynchronous program.
//! See `boucle_examples::run`.
//!
//! ```text
//! cargo run -p boucle-examples --example 002_run
//! ```

use boucle_examples::{run, Console};

fn main() -> std::io::Result<()> {
    // Point d'entrée principal pour les programmes asyncio
    boucle::run(run::main(Console::stdout()))
}
