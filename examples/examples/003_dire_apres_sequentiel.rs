//! Seed 003, "Exemple simple": `dire_apres(1, ...)` then `dire_apres(2, ...)`,
//! one after the other: 3 s. See `boucle_examples::dire_apres_sequentiel`.
//!
//! ```text
//! cargo run -p boucle-examples --example 003_dire_apres_sequentiel
//! ```

use boucle_examples::{dire_apres_sequentiel, Console};

fn main() -> std::io::Result<()> {
    boucle::run(dire_apres_sequentiel::main(Console::stdout()))
}
