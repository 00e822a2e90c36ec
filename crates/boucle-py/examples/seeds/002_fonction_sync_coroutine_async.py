# Seed 002, "Qu'est-ce qu'une Coroutine ?".
import asyncio  # added: the seed's fragment has no imports
import time  # added


# Approche synchrone (bloquante)
def fonction_sync():
    time.sleep(2)  # Bloque tout le programme pendant 2 secondes
    print("Fin de la fonction synchrone")

# Coroutine asynchrone
async def coroutine_async():
    await asyncio.sleep(2)  # Permet à d'autres tâches de s'exécuter
    print("Fin de la coroutine asynchrone")


if __name__ == "__main__":  # added: entry point
    fonction_sync()
    asyncio.run(coroutine_async())
