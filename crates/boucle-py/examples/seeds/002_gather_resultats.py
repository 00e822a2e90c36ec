# Seed 002, "asyncio.gather()".
import asyncio

async def tache1():
    await asyncio.sleep(1)
    return "Résultat 1"

async def tache2():
    await asyncio.sleep(2)
    return "Résultat 2"

async def main():
    # Exécute plusieurs coroutines en parallèle
    resultats = await asyncio.gather(tache1(), tache2())
    print(resultats)  # ['Résultat 1', 'Résultat 2']


if __name__ == "__main__":  # added: entry point
    asyncio.run(main())
