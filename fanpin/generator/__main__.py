"""python -m fanpin.generator --people N --seed S --run-date YYYY-MM-DD --out DIR --truth DIR."""

from __future__ import annotations

import argparse
import sys
import time
from datetime import date

from fanpin.generator.dataset import generate
from fanpin.generator.files import write_inbox, write_truth


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m fanpin.generator",
        description="Generate a synthetic inbox and its truth labels.",
    )
    p.add_argument("--people", type=int, required=True, help="roster size (persons)")
    p.add_argument("--seed", type=int, required=True)
    p.add_argument("--run-date", type=date.fromisoformat, required=True)
    p.add_argument("--out", required=True, help="inbox folder to write")
    p.add_argument("--truth", required=True, help="truth folder to write")
    p.add_argument("--formats", choices=["realistic", "fast"], default="realistic")
    return p


def main(argv: list[str] | None = None) -> int:
    """Generate, write, and print counts and timings (never names or identity numbers)."""
    args = _parser().parse_args(argv)
    start = time.perf_counter()
    ds = generate(args.people, args.seed, args.run_date)
    built = time.perf_counter()
    files = write_inbox(ds, args.out, formats=args.formats)
    write_truth(ds, args.truth)
    done = time.perf_counter()
    counts = ", ".join(
        f"{d}={ds.department(d).height}"
        for d in ("roster", "health", "medical", "housing", "disability")
    )
    print(
        f"generated {counts}; {ds.reasons.height} reasons in "
        f"{ds.reasons['household_id'].n_unique()} households"
    )
    print(f"generate {built - start:.1f}s, write {done - built:.1f}s, {len(files)} files")
    return 0


if __name__ == "__main__":
    sys.exit(main())
