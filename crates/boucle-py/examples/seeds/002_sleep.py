# Seed 002, "asyncio.sleep()".
import asyncio

async def exemple_sleep():
    print("Début de l'attente")
    await asyncio.sleep(2)  # Attend 2 secondes sans bloquer
    print("Fin de l'attente")

# Différence avec time.sleep()
# asyncio.sleep() libère la main à l'event loop
# time.sleep() bloque complètement l'exécution


if __name__ == "__main__":  # added: entry point
    asyncio.run(exemple_sleep())
