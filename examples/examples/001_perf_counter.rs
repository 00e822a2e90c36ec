//! Seed 001, "Mesurer le temps avec précision": `time.perf_counter()`
//! around a one-second sleep. See `boucle_examples::perf_counter`.
//!
//! ```text
//! cargo run -p boucle-examples --example 001_perf_counter
//! ```

use boucle_examples::{perf_counter, Console};

fn main() -> std::io::Result<()> {
    // asyncio.run(main()), timed with perf_counter (std::time::Instant::now)
    boucle::run(perf_counter::main(
        Console::stdout(),
        std::time::Instant::now,
    ))?;
    Ok(())
}
