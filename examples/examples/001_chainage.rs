//! Seed 001, coroutine chaining: fetch_user then fetch_posts. See `boucle_examples::chainage`.
//!
//! ```text
//! cargo run -p boucle-examples --example 001_chainage
//! ```

use boucle_examples::{chainage, Console};

fn main() -> std::io::Result<()> {
    boucle::run(chainage::main(Console::stdout()))
}
