"""Department schemas (`schemas/<dept>.yaml`) as typed, frozen dataclasses.

The YAML files are configuration (docs/stages.md, "Department schemas"); this module is the only
place that knows their layout, so the readers and `transforms.conform` work on plain attributes
and a typo in a schema fails at load time with the file named, not deep inside a nightly run.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

COLUMN_TYPES = frozenset(
    {
        "text",
        "name",
        "id_number",
        "certificate",
        "county_code",
        "enum",
        "date",
        "amount",
        "int",
        "yesno",
        "grade",
    }
)


class SchemaError(ValueError):
    """A schema file is not what docs/stages.md describes (names the file and the problem)."""


@dataclass(frozen=True)
class ColumnSpec:
    """One canonical column: its type, whether it must be present and filled, its header aliases."""

    name: str
    type: str
    required: bool = False
    aliases: tuple[str, ...] = ()
    values: tuple[str, ...] = ()
    synonyms: Mapping[str, str] = field(default_factory=dict)
    min: int | None = None
    max: int | None = None

    @property
    def header_names(self) -> tuple[str, ...]:
        """The canonical name first, then the aliases: every header text that means this column."""
        return (self.name, *self.aliases)


@dataclass(frozen=True)
class DepartmentSchema:
    """A department's extract: which columns it has and which one identifies a record."""

    department: str
    label: str
    kind: str
    required_delivery: bool
    record_key: str | None
    columns: tuple[ColumnSpec, ...]

    def column(self, name: str) -> ColumnSpec:
        """The column spec called `name` (KeyError when the schema has no such column)."""
        for col in self.columns:
            if col.name == name:
                return col
        raise KeyError(name)

    @property
    def column_names(self) -> tuple[str, ...]:
        """Canonical column names, in schema order (the order of the staged frame)."""
        return tuple(col.name for col in self.columns)


def _column(raw: Mapping[str, Any], source: str) -> ColumnSpec:
    name = raw.get("name")
    ctype = raw.get("type")
    if not isinstance(name, str) or ctype not in COLUMN_TYPES:
        raise SchemaError(f"{source}: column {name!r} has unknown type {ctype!r}")
    values = tuple(str(v) for v in raw.get("values") or ())
    synonyms = {str(k): str(v) for k, v in (raw.get("synonyms") or {}).items()}
    if ctype == "enum" and not values:
        raise SchemaError(f"{source}: enum column {name!r} lists no values")
    bad = sorted(v for v in synonyms.values() if v not in values)
    if bad:
        raise SchemaError(f"{source}: column {name!r} synonyms map to unknown values {bad}")
    return ColumnSpec(
        name=name,
        type=str(ctype),
        required=bool(raw.get("required", False)),
        aliases=tuple(str(a) for a in raw.get("aliases") or ()),
        values=values,
        synonyms=synonyms,
        min=raw.get("min"),
        max=raw.get("max"),
    )


def parse_schema(raw: Mapping[str, Any], source: str = "<schema>") -> DepartmentSchema:
    """Build a DepartmentSchema from the parsed YAML mapping; `source` names it in errors."""
    try:
        columns = tuple(_column(c, source) for c in raw["columns"])
        schema = DepartmentSchema(
            department=str(raw["department"]),
            label=str(raw.get("label", raw["department"])),
            kind=str(raw.get("kind", "records")),
            required_delivery=bool(raw.get("required_delivery", False)),
            record_key=raw.get("record_key"),
            columns=columns,
        )
    except KeyError as exc:
        raise SchemaError(f"{source}: missing key {exc}") from exc
    if schema.record_key is not None and schema.record_key not in schema.column_names:
        raise SchemaError(f"{source}: record_key {schema.record_key!r} is not a column")
    return schema


def load_schema(path: Path) -> DepartmentSchema:
    """Load one `schemas/<dept>.yaml` file."""
    with path.open(encoding="utf-8") as fh:
        raw = yaml.safe_load(fh)
    if not isinstance(raw, Mapping):
        raise SchemaError(f"{path.name}: not a mapping")
    return parse_schema(raw, path.name)


def load_schemas(folder: Path) -> dict[str, DepartmentSchema]:
    """Load every `*.yaml` in `folder`, keyed by department name (sorted for a stable order)."""
    schemas: dict[str, DepartmentSchema] = {}
    for path in sorted(Path(folder).glob("*.yaml")):
        schema = load_schema(path)
        if schema.department in schemas:
            raise SchemaError(f"{path.name}: department {schema.department!r} defined twice")
        schemas[schema.department] = schema
    return schemas
