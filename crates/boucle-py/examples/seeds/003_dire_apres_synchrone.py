# Seed 003, "Différence avec un code synchrone" (no event loop at all).
import time

def dire_apres(delai, message):
    time.sleep(delai)
    print(message)

print("Démarré")
dire_apres(1, "Bonjour")
dire_apres(2, "Monde")
print("Terminé")
