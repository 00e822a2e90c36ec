//! Seed 002, "Event Loop : Le Cœur de l'Asynchrone": `tache1` and `tache2`
//! run concurrently with `gather`. See `boucle_examples::tache1_tache2_gather`.
//!
//! ```text
//! cargo run -p boucle-examples --example 002_tache1_tache2_gather
//! ```

use boucle_examples::{tache1_tache2_gather, Console};

fn main() -> std::io::Result<()> {
    // Lance l'event loop
    boucle::run(tache1_tache2_gather::main(Console::stdout()))
}
