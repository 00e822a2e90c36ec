# Seed 001, "Mesurer le temps avec précision".
import time
import asyncio

async def main():
    start = time.perf_counter()
    await asyncio.sleep(1) 
    end = time.perf_counter()
    
    total_time = end - start
    print(f"Temps total : {total_time:.2f}s")

asyncio.run(main())
