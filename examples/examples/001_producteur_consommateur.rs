//! Seed 001, producers and consumers on a bounded Queue with join. See `boucle_examples::producteur_consommateur`.
//!
//! ```text
//! cargo run -p boucle-examples --example 001_producteur_consommateur
//! ```

use boucle_examples::{producteur_consommateur, Console};

fn main() -> std::io::Result<()> {
    boucle::run(producteur_consommateur::main(Console::stdout()))
}
