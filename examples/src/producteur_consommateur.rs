//! Seed 001, "Intégration de Files d'attente (Queues)": producers add items
//! to an `asyncio.Queue`, consumers take them out asynchronously.
//!
//! ```python
//! async def producteur(nom, file):
//!     for i in range(3):
//!         await asyncio.sleep(1)
//!         await file.put(f"{nom}-{i}")
//!         print(f"{nom} a produit {nom}-{i}")
//!
//! async def consommateur(nom, file):
//!     while True:
//!         item = await file.get()
//!         await asyncio.sleep(2)
//!         print(f"{nom} a consommé {item}")
//!         file.task_done()
//!
//! async def main():
//!     file = asyncio.Queue(maxsize=2)
//!     consommateurs = [asyncio.create_task(consommateur(n, file)) for n in ("C1", "C2")]
//!     await asyncio.gather(producteur("P1", file), producteur("P2", file))
//!     await file.join()          # every item consumed
//!     for c in consommateurs:
//!         c.cancel()
//!     print("Tout est consommé")
//! ```
//!
//! The bounded queue makes the producers wait when the consumers lag: the
//! six items take 7 s to consume, not 6 s to produce.

use std::io;
use std::time::Duration;

use boucle::sync::Queue;

use crate::Console;

/// Puts three items, one per second.
///
/// # Errors
/// If printing fails.
pub async fn producteur(
    console: Console,
    nom: &'static str,
    file: Queue<String>,
) -> io::Result<()> {
    for i in 0..3 {
        boucle::sleep(Duration::from_secs(1)).await;
        let item = format!("{nom}-{i}");
        if file.put(item.clone()).await.is_err() {
            return Ok(()); // shut down: nothing more to produce
        }
        console.println(format!("{nom} a produit {item}"))?;
    }
    Ok(())
}

/// Takes items forever, two seconds each, marking each one done.
///
/// # Errors
/// If printing fails.
pub async fn consommateur(
    console: Console,
    nom: &'static str,
    file: Queue<String>,
) -> io::Result<()> {
    while let Ok(item) = file.get().await {
        boucle::sleep(Duration::from_secs(2)).await;
        console.println(format!("{nom} a consommé {item}"))?;
        // Exactly one task_done per get: cannot be called too often here.
        let _ = file.task_done();
    }
    Ok(())
}

/// `async def main()`: two producers, two consumers, a queue of 2.
///
/// # Errors
/// If printing fails.
pub async fn main(console: Console) -> io::Result<()> {
    let file = Queue::new(2);
    let consommateurs = [
        boucle::create_task(consommateur(console.clone(), "C1", file.clone())),
        boucle::create_task(consommateur(console.clone(), "C2", file.clone())),
    ];
    let (p1, p2) = boucle::gather!(
        producteur(console.clone(), "P1", file.clone()),
        producteur(console.clone(), "P2", file.clone()),
    );
    p1?;
    p2?;
    file.join().await;
    for c in &consommateurs {
        c.cancel();
    }
    console.println("Tout est consommé")
}
