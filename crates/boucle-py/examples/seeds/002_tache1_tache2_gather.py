# Seed 002, "Event Loop" (the seed's "Sortie probable" is checked by the tests).
import asyncio

async def tache1():
    print("Tâche 1 commence")
    await asyncio.sleep(2)
    print("Tâche 1 terminée")

async def tache2():
    print("Tâche 2 commence")
    await asyncio.sleep(1)
    print("Tâche 2 terminée")

async def main():
    # Exécute les deux tâches concurremment
    await asyncio.gather(tache1(), tache2())

# Lance l'event loop
asyncio.run(main())
