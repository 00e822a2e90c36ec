//! Seed 003, "Différence avec un code synchrone": the same program with
//! `time.sleep`, no loop: 3 s during which nothing else can run. See
//! `boucle_examples::dire_apres_synchrone`.
//!
//! ```text
//! cargo run -p boucle-examples --example 003_dire_apres_synchrone
//! ```

use boucle_examples::{dire_apres_synchrone, Console};

fn main() -> std::io::Result<()> {
    dire_apres_synchrone::main(&Console::stdout(), &std::thread::sleep)
}
