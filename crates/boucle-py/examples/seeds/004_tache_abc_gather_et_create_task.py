# Seed 004, "Exemple basique".
import asyncio

async def tache(nom, duree):
    print(f"[{nom}] Début")
    await asyncio.sleep(duree)
    print(f"[{nom}] Fin")
    return f"Résultat {nom}"

async def main():
    # Méthode 1 : gather()
    resultats1 = await asyncio.gather(
        tache("A", 1),
        tache("B", 2),
        tache("C", 1)
    )
    print(f"Résultats gather: {resultats1}\n")
    
    # Méthode 2 : create_task()
    task1 = asyncio.create_task(tache("X", 1))
    task2 = asyncio.create_task(tache("Y", 2))
    
    resultat1 = await task1
    resultat2 = await task2
    print(f"Résultats tasks: {resultat1}, {resultat2}")

if __name__ == "__main__":
    asyncio.run(main())
