//! Seed 001, an async generator with async for and an async comprehension. See `boucle_examples::generateur_asynchrone`.
//!
//! ```text
//! cargo run -p boucle-examples --example 001_generateur_asynchrone
//! ```

use boucle_examples::{generateur_asynchrone, Console};

fn main() -> std::io::Result<()> {
    boucle::run(generateur_asynchrone::main(Console::stdout()))
}
