//! Seed 002, "asyncio.gather()": two results, in argument order. See
//! `boucle_examples::gather_resultats`.
//!
//! ```text
//! cargo run -p boucle-examples --example 002_gather_resultats
//! ```

use boucle_examples::{gather_resultats, Console};

fn main() -> std::io::Result<()> {
    boucle::run(gather_resultats::main(Console::stdout()))?;
    Ok(())
}
