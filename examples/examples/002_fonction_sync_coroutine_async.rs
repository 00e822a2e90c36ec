//! Seed 002, "Qu'est-ce qu'une Coroutine ?": a blocking function, then a
//! coroutine, each waiting 2 s. See `boucle_examples::fonction_sync_coroutine_async`.
//!
//! ```text
//! cargo run -p boucle-examples --example 002_fonction_sync_coroutine_async
//! ```

use boucle_examples::fonction_sync_coroutine_async::{coroutine_async, fonction_sync};
use boucle_examples::Console;

fn main() -> std::io::Result<()> {
    let console = Console::stdout();
    fonction_sync(&console, &std::thread::sleep)?; // time.sleep(2): blocks everything
    boucle::run(coroutine_async(console)) // asyncio.run(coroutine_async())
}
