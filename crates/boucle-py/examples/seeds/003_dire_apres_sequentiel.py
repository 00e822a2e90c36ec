# Seed 003, "Exemple simple".
import asyncio

async def dire_apres(delai, message):
    await asyncio.sleep(delai)
    print(message)

async def main():
    print("Démarré")
    await dire_apres(1, "Bonjour")
    await dire_apres(2, "Monde")
    print("Terminé")

asyncio.run(main())
