# Seed 002, "asyncio.run()".
import asyncio

async def main():
    print("Début du programme")
    await asyncio.sleep(1)
    print("Fin du programme")

# Point d'entrée principal pour les programmes asyncio
asyncio.run(main())
