"""Linking accuracy from counts against the generator's truth, shared by the benchmarks.

Precision is over linked records, recall over the records about roster people that carry an
identity clue. No heavy imports: the pipeline bench's parent process uses it too.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any


def link_figures(counts: Sequence[int], digits: int = 6) -> dict[str, Any]:
    """Precision, recall, F1 and review share (rounded to `digits`) from the counts (records,
    linked, correct, relevant, found, review, linked without a clue), with the counts."""
    records, linked, correct, relevant, found, review, noclue = counts
    precision = correct / linked if linked else 1.0
    recall = found / relevant if relevant else 1.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {
        "records": records,
        "linked": linked,
        "wrong": linked - correct,
        "precision": round(precision, digits),
        "recall": round(recall, digits),
        "f1": round(f1, digits),
        "review_share": round(review / records, digits) if records else 0.0,
        "no_clue_linked": noclue,
    }
