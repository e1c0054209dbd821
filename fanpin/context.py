"""The facts of one run that every stage needs: where things are, and for which date."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path

from fanpin.settings import ConfigDirs


@dataclass(frozen=True)
class RunContext:
    inbox: Path
    output: Path
    run_date: date
    policy: str
    config: ConfigDirs = field(default_factory=ConfigDirs.from_env)
    run_id: str = field(default_factory=lambda: uuid.uuid4().hex[:12])
    started_at: str = field(default_factory=lambda: datetime.now(UTC).isoformat())

    @property
    def work(self) -> Path:
        """Stage outputs of this run date; restricted (they hold identities)."""
        return self.output / "work" / self.run_date.isoformat()

    def staged(self, department: str) -> Path:
        return self.work / "staged" / f"{department}.parquet"

    def quarantine(self, department: str) -> Path:
        return self.work / "quarantine" / f"{department}.parquet"

    def ingest_stats(self, department: str) -> Path:
        return self.work / "ingest" / f"{department}.json"

    def quality(self, department: str) -> Path:
        return self.work / "quality" / f"{department}.json"

    @property
    def linked(self) -> Path:
        """The link stage's output: the `links/` and `review/` folders (a file per department)."""
        return self.work / "linked"

    @property
    def links(self) -> Path:
        return self.linked / "links"

    @property
    def review(self) -> Path:
        return self.linked / "review"

    @property
    def warnings(self) -> Path:
        return self.work / "scored" / "warnings.parquet"

    @property
    def report_dir(self) -> Path:
        return self.work / "report"
