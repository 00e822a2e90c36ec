//! Seed 001, "Async Iterators et `async for`" with an async generator and
//! an async comprehension: values produced asynchronously, consumed as they
//! come.
//!
//! ```python
//! async def compte_a_rebours(n):
//!     while n > 0:
//!         await asyncio.sleep(1)
//!         yield n
//!         n -= 1
//!
//! async def main():
//!     async for n in compte_a_rebours(3):
//!         print(f"reçu {n}")
//!     carres = [n * n async for n in compte_a_rebours(3)]
//!     print(f"carrés : {carres}")
//! ```
//!
//! Rust has no `yield` in async functions yet: `boucle::stream::generator`
//! gives the body a handle whose `yield_` hands a value to the consumer.

use std::io;
use std::time::Duration;

use boucle::stream::{generator, Stream, StreamExt};

use crate::Console;

/// `async def compte_a_rebours(n)`: n, n - 1, ... 1, one per second.
pub fn compte_a_rebours(n: u32) -> impl Stream<Item = u32> {
    generator(move |co| async move {
        let mut n = n;
        while n > 0 {
            boucle::sleep(Duration::from_secs(1)).await;
            co.yield_(n).await;
            n -= 1;
        }
    })
}

/// `async def main()`: an `async for`, then an async comprehension.
///
/// # Errors
/// If printing fails.
pub async fn main(console: Console) -> io::Result<()> {
    let mut compte = std::pin::pin!(compte_a_rebours(3));
    while let Some(n) = compte.next().await {
        console.println(format!("reçu {n}"))?;
    }
    let carres: Vec<u32> = compte_a_rebours(3).map(|n| n * n).collect().await;
    console.println(format!("carrés : {carres:?}"))
}
