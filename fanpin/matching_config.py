"""Load the matcher's thresholds and weights from ``config/matching.yaml``."""

from __future__ import annotations

from pathlib import Path

import yaml

from transforms.linker import MatchingConfig

DEFAULT_PATH = Path(__file__).resolve().parent.parent / "config" / "matching.yaml"


def load_matching_config(path: Path | None = None) -> MatchingConfig:
    """Parse the YAML file (default: the repository's config/matching.yaml)."""
    with (path or DEFAULT_PATH).open(encoding="utf-8") as handle:
        data = yaml.safe_load(handle) or {}
    return MatchingConfig.from_mapping(data)
