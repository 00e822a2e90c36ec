//! Seed 004, "Exemple avancé": a web scraper that downloads several pages
//! at once (aiohttp in the seed, boucle-http here).
//!
//! ```python
//! async def telecharger_page(session, url):
//!     """Télécharge une page web."""
//!     try:
//!         async with session.get(url) as response:
//!             contenu = await response.text()
//!             return {
//!                 'url': url,
//!                 'taille': len(contenu),
//!                 'statut': 'succès'
//!             }
//!     except Exception as e:
//!         return {
//!             'url': url,
//!             'erreur': str(e),
//!             'statut': 'erreur'
//!         }
//!
//! async def scraper_web(urls):
//!     """Scrape plusieurs URLs en parallèle."""
//!     async with aiohttp.ClientSession() as session:
//!         tasks = [telecharger_page(session, url) for url in urls]
//!         resultats = await asyncio.gather(*tasks)
//!         return resultats
//!
//! async def main():
//!     urls = [
//!         "https://example.com",
//!         "https://python.org",
//!         "https://github.com"
//!     ] * 3  # 9 URLs au total
//!
//!     print("Téléchargement des pages...\n")
//!     debut = time.time()
//!
//!     resultats = await scraper_web(urls)
//!
//!     temps = time.time() - debut
//!
//!     print(f"=== Résultats ===")
//!     for res in resultats:
//!         if res['statut'] == 'succès':
//!             print(f"✓ {res['url']}: {res['taille']} bytes")
//!         else:
//!             print(f"✗ {res['url']}: {res['erreur']}")
//!
//!     print(f"\nTemps total: {temps:.2f}s")
//! ```
//!
//! As in the seed, an error is caught per URL and becomes that URL's
//! result (`str(e)`: the error's message); `len(contenu)` counts the
//! characters of the decoded text, as Python's `len` of a `str` does. An
//! HTTP error status is not an exception in aiohttp (no
//! `raise_for_status`), so a 404 page is a success with its size, here
//! too. The URLs come from the caller: the seed's three sites times
//! three by default ([`seed_urls`]), local ones in the tests.

use std::io;
use std::time::Instant;

use boucle_http::Client;

use crate::Console;

/// One URL's result: the seed's dict, `statut` as the variant.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Resultat {
    /// `{'url': url, 'taille': len(contenu), 'statut': 'succès'}`
    Succes {
        /// The URL.
        url: String,
        /// Characters of the page's text.
        taille: usize,
    },
    /// `{'url': url, 'erreur': str(e), 'statut': 'erreur'}`
    Erreur {
        /// The URL.
        url: String,
        /// The error's message.
        erreur: String,
    },
}

/// The seed's nine URLs (its three sites, three times).
pub fn seed_urls() -> Vec<String> {
    let urls = [
        "https://example.com",
        "https://python.org",
        "https://github.com",
    ];
    urls.iter().cycle().take(9).map(|u| u.to_string()).collect()
}

/// `async def telecharger_page(session, url)`: downloads one page.
pub async fn telecharger_page(session: Client, url: String) -> Resultat {
    let essai = async {
        let response = session.get(&url).send().await?;
        response.text().await
    };
    match essai.await {
        Ok(contenu) => Resultat::Succes {
            taille: contenu.chars().count(),
            url,
        },
        Err(e) => Resultat::Erreur {
            erreur: e.to_string(),
            url,
        },
    }
}

/// `async def scraper_web(urls)`: every page at once, results in the
/// order of `urls`.
pub async fn scraper_web(urls: Vec<String>) -> Vec<Resultat> {
    let session = Client::new();
    let tasks = urls
        .into_iter()
        .map(|url| telecharger_page(session.clone(), url));
    boucle::gather(tasks).await
}

/// `async def main()`: downloads `urls`, prints each result and the total
/// time (`time.time()` is `horloge`). Returns the results.
///
/// # Errors
/// If printing fails.
pub async fn main(
    console: Console,
    urls: Vec<String>,
    horloge: fn() -> Instant,
) -> io::Result<Vec<Resultat>> {
    console.println("Téléchargement des pages...\n")?;
    let debut = horloge();

    let resultats = scraper_web(urls).await;

    let temps = horloge() - debut;

    console.println("=== Résultats ===")?;
    for res in &resultats {
        match res {
            Resultat::Succes { url, taille } => {
                console.println(format_args!("✓ {url}: {taille} bytes"))?
            }
            Resultat::Erreur { url, erreur } => {
                console.println(format_args!("✗ {url}: {erreur}"))?
            }
        }
    }

    console.println(format_args!("\nTemps total: {:.2}s", temps.as_secs_f64()))?;
    Ok(resultats)
}
