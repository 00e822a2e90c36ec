# Seed 000, "Tâche 0: Syntaxe Async de Base".
import asyncio  # added: the seed's fragment has no imports
import random  # added


async def wait_random(max_delay: int = 10) -> float:
    delay = random.uniform(0, max_delay)
    await asyncio.sleep(delay)
    return delay


if __name__ == "__main__":  # added: entry point
    print(asyncio.run(wait_random()))
