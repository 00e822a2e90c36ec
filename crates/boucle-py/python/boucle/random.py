"""boucle's seedable generator (wyrand): fast and reproducible, **not for
cryptography** (use :mod:`secrets`). One generator per thread;
``boucle.run(seed=...)`` and ``Loop(seed=...)`` seed it."""

from ._boucle import choice, randint, random, seed, shuffle, uniform

__all__ = ["choice", "randint", "random", "seed", "shuffle", "uniform"]
