# Seed 004, "Exemple avancé" (section 3): the aiohttp scraper, unchanged but
# for the URL list, which comes from the command line (the tests pass local
# servers only: tests/test_scraper.py):
#
#     python run_seed.py --loop boucle 004_scraper_web_aiohttp.py URL [URL ...]
import asyncio
import aiohttp
import sys
import time

async def telecharger_page(session, url):
    """Télécharge une page web."""
    try:
        async with session.get(url) as response:
            contenu = await response.text()
            return {
                'url': url,
                'taille': len(contenu),
                'statut': 'succès'
            }
    except Exception as e:
        return {
            'url': url,
            'erreur': str(e),
            'statut': 'erreur'
        }

async def scraper_web(urls):
    """Scrape plusieurs URLs en parallèle."""
    async with aiohttp.ClientSession() as session:
        tasks = [telecharger_page(session, url) for url in urls]
        resultats = await asyncio.gather(*tasks)
        return resultats

async def main():
    urls = sys.argv[1:]  # the seed: ["https://example.com", ...] * 3
    
    print("Téléchargement des pages...\n")
    debut = time.time()
    
    resultats = await scraper_web(urls)
    
    temps = time.time() - debut
    
    print(f"=== Résultats ===")
    for res in resultats:
        if res['statut'] == 'succès':
            print(f"✓ {res['url']}: {res['taille']} bytes")
        else:
            print(f"✗ {res['url']}: {res['erreur']}")
    
    print(f"\nTemps total: {temps:.2f}s")

if __name__ == "__main__":
    asyncio.run(main())
