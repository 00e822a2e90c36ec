//! Seed 004, "Exemple basique": `gather()` of A, B, C, then `create_task()`
//! of X and Y. See `boucle_examples::tache_abc_gather_et_create_task`.
//!
//! ```text
//! cargo run -p boucle-examples --example 004_tache_abc_gather_et_create_task
//! ```

use boucle_examples::{tache_abc_gather_et_create_task, Console};

fn main() -> std::io::Result<()> {
    // if __name__ == "__main__": asyncio.run(main())
    boucle::run(tache_abc_gather_et_create_task::main(Console::stdout()))?;
    Ok(())
}
