"""Scoring alone against the generator's planted truth, linking taken out of the picture.

`python -m bench.scoring_truth --people 100000`: every record is linked to its true
owner, the profile's rules run, and each reason code's precision and recall against
`Dataset.reasons` are printed (issue 4's acceptance is 0.99 for both, every code).
"""

from __future__ import annotations

import argparse
import time
from datetime import date
from typing import Any

from fanpin.generator.dataset import generate
from fanpin.generator.evaluation import per_code_agreement, warnings_under_perfect_links
from fanpin.policy import load_profile
from fanpin.settings import ConfigDirs

RUN_DATE = date(2026, 11, 30)


def run(people: int = 100_000, seed: int = 20261129) -> dict[str, Any]:
    """Generate, score under perfect links, compare with the truth."""
    ds = generate(people, seed, RUN_DATE)
    profile = load_profile("sample", ConfigDirs.from_env().policies)
    started = time.perf_counter()
    got = warnings_under_perfect_links(ds, profile, RUN_DATE)
    seconds = time.perf_counter() - started
    table = per_code_agreement(got, ds.reasons)
    return {
        "people": people,
        "score_seconds": round(seconds, 2),
        "codes": {
            r["code"]: {k: r[k] for k in ("tp", "fp", "fn", "precision", "recall")}
            for r in table.to_dicts()
        },
        "min_precision": float(table["precision"].min()),  # type: ignore[arg-type]
        "min_recall": float(table["recall"].min()),  # type: ignore[arg-type]
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--people", type=int, default=100_000)
    result = run(parser.parse_args().people)
    print(f"scoring under perfect links, {result['people']:,} people, {result['score_seconds']} s")
    print(f"{'code':<22}{'tp':>8}{'fp':>6}{'fn':>6}{'precision':>11}{'recall':>9}")
    for code, r in result["codes"].items():
        print(
            f"{code:<22}{r['tp']:>8}{r['fp']:>6}{r['fn']:>6}"
            f"{r['precision']:>11.4f}{r['recall']:>9.4f}"
        )


if __name__ == "__main__":
    main()
