//! Seed 002, "asyncio.sleep()": waiting 2 s without blocking. See
//! `boucle_examples::sleep`.
//!
//! ```text
//! cargo run -p boucle-examples --example 002_sleep
//! ```

use boucle_examples::{sleep, Console};

fn main() -> std::io::Result<()> {
    boucle::run(sleep::exemple_sleep(Console::stdout()))
}
