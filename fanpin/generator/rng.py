"""One independent, reproducible random stream per generator stage.

A stage's stream depends only on the seed and the stage name, so adding a stage (or drawing
more numbers in one) never shifts the numbers another stage sees.
"""

from __future__ import annotations

import zlib

import numpy as np


def stream(seed: int, stage: str) -> np.random.Generator:
    """The random generator of `stage` for `seed`."""
    return np.random.default_rng([seed, zlib.crc32(stage.encode("utf-8"))])
