# Seed 003, "Exécution concurrente avec create_task()".
import asyncio  # added: the seed's fragment continues the first example


async def dire_apres(delai, message):  # added: from the seed's first example
    await asyncio.sleep(delai)
    print(message)


async def main():
    task1 = asyncio.create_task(dire_apres(1, "Bonjour"))
    task2 = asyncio.create_task(dire_apres(2, "Monde"))

    print("Démarré")

    await task1
    await task2

    print("Terminé")

asyncio.run(main())
