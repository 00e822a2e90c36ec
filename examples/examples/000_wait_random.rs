//! Seed 000, Tâche 0: `wait_random`, a coroutine that sleeps a random delay
//! (up to 10 s) and returns it. See `boucle_examples::wait_random`.
//!
//! ```text
//! cargo run -p boucle-examples --example 000_wait_random
//! ```

use boucle_examples::{wait_random, Console};

fn main() -> std::io::Result<()> {
    // print(asyncio.run(wait_random()))
    boucle::run(wait_random::main(Console::stdout()))?;
    Ok(())
}
