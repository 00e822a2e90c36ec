//! Seed 004, "Exemple avancé": the web scraper. See
//! `boucle_examples::scraper_web`.
//!
//! ```text
//! cargo run -p boucle-examples --example 004_scraper_web                  the seed's nine URLs
//! cargo run -p boucle-examples --example 004_scraper_web -- URL [URL...]  your own
//! ```

use boucle_examples::{scraper_web, Console};

fn main() -> std::io::Result<()> {
    let mut urls: Vec<String> = std::env::args().skip(1).collect();
    if urls.is_empty() {
        urls = scraper_web::seed_urls();
    }
    // if __name__ == "__main__": asyncio.run(main()), timed with time.time()
    boucle::run(scraper_web::main(
        Console::stdout(),
        urls,
        std::time::Instant::now,
    ))?;
    Ok(())
}
