"""The facts about the machine and the libraries that a benchmark number depends on."""

from __future__ import annotations

import os
import platform
from datetime import datetime
from importlib import metadata
from pathlib import Path
from typing import Any

import psutil


def cpu_model() -> str:
    """The CPU model name from /proc/cpuinfo (the platform module only knows the arch)."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def _version(package: str) -> str:
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return "absent"


def machine_info() -> dict[str, Any]:
    """CPU, cores, memory, load and versions at the time of a measurement."""
    return {
        "cpu": cpu_model(),
        "cores": os.cpu_count(),
        "memory_gb": round(psutil.virtual_memory().total / 2**30, 1),
        "available_gb": round(psutil.virtual_memory().available / 2**30, 1),
        "load_average": [round(x, 2) for x in os.getloadavg()],
        "python": platform.python_version(),
        "duckdb": _version("duckdb"),
        "polars": _version("polars"),
        "pyarrow": _version("pyarrow"),
        "great_expectations": _version("great-expectations"),
        "date": datetime.now().astimezone().isoformat(timespec="seconds"),
    }
