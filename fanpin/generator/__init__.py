"""Deterministic synthetic data for fanpin: a roster, four department extracts, and the truth.

`generate()` builds everything in memory (vectorized, seconds per million rows);
`write_inbox()` writes it as departments deliver it; `write_truth()` writes the labels the
linker (truth/links.parquet) and the rules (truth/reasons.parquet) are measured against.
"""

from fanpin.generator.dataset import Dataset, generate
from fanpin.generator.files import write_inbox, write_truth
from fanpin.generator.params import (
    GeneratorParams,
    NoiseRates,
    PlantParams,
    PolicyParams,
    VolumeParams,
)

__all__ = [
    "Dataset",
    "GeneratorParams",
    "NoiseRates",
    "PlantParams",
    "PolicyParams",
    "VolumeParams",
    "generate",
    "write_inbox",
    "write_truth",
]
