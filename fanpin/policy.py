"""Policy profiles: load and validate `policies/<name>.yaml` into frozen dataclasses.

Every figure the rules use (dibao standards, multiples, periods, weights, labels, actions,
clauses) lives in a profile, because the two source notices already disagree and every county's
standard changes every year (docs/policy.md). A profile is refused at load time, with a message
naming the offending key, when it is malformed, incomplete, carries an unexpected key, or has a
value without provenance (`source:`, or `placeholder: true` with a `note:`) — a silently wrong
threshold would raise or suppress warnings for thousands of households.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from types import MappingProxyType
from typing import Any

import yaml

#: The reason codes of docs/policy.md, in the fixed order used for `reason_codes` and `reasons`.
CODE_ORDER: tuple[str, ...] = (
    "DECEASED_MEMBER",
    "MEDICAL_BURDEN",
    "SEVERE_ILLNESS",
    "SEVERE_DISABILITY",
    "UNSAFE_HOUSING",
    "SUBSIDY_GAP",
    "SINGLE_PERSON_DIBAO",
    "GRADUAL_EXIT",
    "TEKUN_MINOR",
    "INCOME_MARGIN",
)
KINDS = ("assist", "verify")
LEVELS = ("yellow", "orange", "red")  # ascending severity
AREA_TYPES = ("城市", "农村")

_NAME_RE = re.compile(r"^[a-z0-9][a-z0-9-]*$")
_COUNTY_RE = re.compile(r"^[0-9]{6}$")
_PROVENANCE_KEYS = {"source", "placeholder", "note"}

# parameter name -> expected python type ("int", "number", "bool", "ints")
_PARAMETERS: dict[str, str] = {
    "margin_multiple": "number",
    "gradual_exit_months": "int",
    "gradual_exit_ceiling": "number",
    "nursing_grade34_mental": "bool",
    "medical_burden_line": "number",
    "household_medical_share": "number",
    "window_months": "int",
    "severe_illness_inpatient_count": "int",
    "tekun_minor_ages": "ints",
    "tekun_support_until_age": "int",
    "tekun_funeral_months": "int",
}


class PolicyError(ValueError):
    """A policy profile that cannot be used; the message names the profile and the key."""


@dataclass(frozen=True)
class Clause:
    """A clause of a source notice: its reference (e.g. `000 (二)`) and a short quotation."""

    ref: str
    text: str


@dataclass(frozen=True)
class CodeSpec:
    """How one reason code is labelled, weighted and acted on in this profile."""

    code: str
    label: str
    kind: str
    weight: int
    actions: tuple[str, ...]
    clauses: tuple[Clause, ...]
    min_level: str | None
    source: str


@dataclass(frozen=True)
class DibaoStandard:
    """A monthly dibao standard per person, in force from `effective_from`."""

    county_code: str
    area_type: str
    amount: float
    effective_from: date
    provenance: str


@dataclass(frozen=True)
class Parameters:
    """The numeric and boolean rule parameters (docs/policy.md table)."""

    margin_multiple: float
    gradual_exit_months: int
    gradual_exit_ceiling: float
    nursing_grade34_mental: bool
    medical_burden_line: float
    household_medical_share: float
    window_months: int
    severe_illness_inpatient_count: int
    tekun_minor_ages: tuple[int, ...]
    tekun_support_until_age: int
    tekun_funeral_months: int


@dataclass(frozen=True)
class Profile:
    """A validated policy profile for one region and period."""

    name: str
    region: str
    period_from: date
    period_to: date | None
    counties: Mapping[str, str]
    standards: tuple[DibaoStandard, ...]
    params: Parameters
    red_at: int
    orange_at: int
    codes: Mapping[str, CodeSpec]
    provenance: Mapping[str, str]

    def standards_on(self, run_date: date) -> dict[tuple[str, str], float]:
        """The standard in force on `run_date` per (county_code, area_type): latest start wins."""
        best: dict[tuple[str, str], DibaoStandard] = {}
        for std in self.standards:
            key = (std.county_code, std.area_type)
            if std.effective_from <= run_date and (
                key not in best or std.effective_from > best[key].effective_from
            ):
                best[key] = std
        return {key: std.amount for key, std in best.items()}


def load_profile(name_or_path: str | Path, policies_dir: str | Path) -> Profile:
    """Load a profile by plain name (`qijiang-2021` → policies_dir/qijiang-2021.yaml) or by path.

    A string is always a name and must be plain ([a-z0-9-]), so that `--policy ../../etc/x` or
    `--policy /tmp/x.yaml` never reaches the file system; only a `pathlib.Path` (a caller's
    deliberate choice, e.g. a test) is read as a path.
    """
    path = _resolve(name_or_path, Path(policies_dir))
    label = path.stem
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise PolicyError(f"policy profile {label!r}: no such profile file") from None
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise PolicyError(f"policy profile {label!r}: not valid YAML ({exc})") from None
    profile = parse_profile(data, label)
    if isinstance(name_or_path, str) and profile.name != name_or_path:
        raise PolicyError(
            f"policy profile {label!r}: key 'name' is {profile.name!r}, not the file name"
        )
    return profile


def _resolve(name_or_path: str | Path, policies_dir: Path) -> Path:
    if isinstance(name_or_path, Path):
        return name_or_path
    if not _NAME_RE.match(name_or_path):
        raise PolicyError("policy profile name must be a plain name of a-z, 0-9 and '-'")
    return policies_dir / f"{name_or_path}.yaml"


def parse_profile(data: Any, label: str = "<profile>") -> Profile:
    """Validate the parsed YAML of a profile; `label` names it in error messages."""
    ctx = _Ctx(label)
    root = ctx.mapping(
        data,
        "",
        required={
            "name",
            "region",
            "period",
            "counties",
            "dibao_standards",
            "parameters",
            "levels",
            "codes",
        },
        optional={"notices"},
    )
    name = ctx.text(root["name"], "name")
    if not _NAME_RE.match(name):
        ctx.fail("name", "must be a plain name of a-z, 0-9 and '-'")
    period_from, period_to = _period(ctx, root["period"])
    counties = _counties(ctx, root["counties"])
    standards = _standards(ctx, root["dibao_standards"], counties)
    params = _parameters(ctx, root["parameters"])
    red_at, orange_at = _levels(ctx, root["levels"])
    codes = _codes(ctx, root["codes"], params)
    return Profile(
        name=name,
        region=ctx.text(root["region"], "region"),
        period_from=period_from,
        period_to=period_to,
        counties=MappingProxyType(counties),
        standards=standards,
        params=params,
        red_at=red_at,
        orange_at=orange_at,
        codes=MappingProxyType(codes),
        provenance=MappingProxyType(dict(ctx.provenance)),
    )


class _Ctx:
    """Carries the profile label and collects provenance while walking the YAML."""

    def __init__(self, label: str) -> None:
        self.label = label
        self.provenance: dict[str, str] = {}

    def fail(self, key: str, problem: str) -> None:
        raise PolicyError(f"policy profile {self.label!r}: key {key!r} {problem}")

    def mapping(
        self,
        node: Any,
        key: str,
        required: set[str],
        optional: frozenset[str] | set[str] = frozenset(),
    ) -> dict[str, Any]:
        where = key or "<top level>"
        if not isinstance(node, dict):
            self.fail(where, "must be a mapping")
        for k in sorted(map(str, node)):
            if k not in required and k not in optional:
                self.fail(_join(key, k), "is unexpected")
        for k in sorted(required):
            if k not in node:
                self.fail(_join(key, k), "is missing")
        return {str(k): v for k, v in node.items()}

    def text(self, node: Any, key: str) -> str:
        if not isinstance(node, str) or not node.strip():
            self.fail(key, "must be a non-empty text")
        return str(node).strip()

    def record_provenance(self, node: dict[str, Any], key: str) -> None:
        """Every value says where it comes from, or that it is a placeholder (and why)."""
        if "source" in node:
            if node.get("placeholder") not in (None, False):
                self.fail(_join(key, "placeholder"), "cannot be set together with 'source'")
            self.provenance[key] = self.text(node["source"], _join(key, "source"))
            return
        if node.get("placeholder") is not True:
            self.fail(_join(key, "source"), "is missing (or set 'placeholder: true' with a 'note')")
        if "note" not in node:
            self.fail(_join(key, "note"), "is missing (a placeholder must say what replaces it)")
        note = self.text(node["note"], _join(key, "note"))
        self.provenance[key] = f"placeholder: {note}"

    def sourced(self, node: Any, key: str, kind: str) -> Any:
        """`{value, source}` or `{value, placeholder: true, note}` → the checked value."""
        m = self.mapping(node, key, required={"value"}, optional=_PROVENANCE_KEYS)
        self.record_provenance(m, key)
        return self.typed(m["value"], _join(key, "value"), kind)

    def typed(self, value: Any, key: str, kind: str) -> Any:
        ok = {
            "int": isinstance(value, int) and not isinstance(value, bool) and value >= 0,
            "number": isinstance(value, int | float) and not isinstance(value, bool) and value >= 0,
            "bool": isinstance(value, bool),
            "ints": isinstance(value, list)
            and bool(value)
            and all(isinstance(v, int) and not isinstance(v, bool) and v >= 0 for v in value),
            "level": value in LEVELS,
        }[kind]
        if not ok:
            expected = {
                "int": "a non-negative integer",
                "number": "a non-negative number",
                "bool": "true or false",
                "ints": "a non-empty list of integers",
                "level": f"one of {', '.join(LEVELS)}",
            }[kind]
            self.fail(key, f"must be {expected}")
        return tuple(value) if kind == "ints" else value


def _join(prefix: str, key: str) -> str:
    return f"{prefix}.{key}" if prefix else key


def _as_date(ctx: _Ctx, value: Any, key: str) -> date:
    if isinstance(value, date):
        return value
    if isinstance(value, str):
        try:
            return date.fromisoformat(value)
        except ValueError:
            pass
    ctx.fail(key, "must be a date YYYY-MM-DD")
    raise AssertionError  # unreachable: fail raises


def _period(ctx: _Ctx, node: Any) -> tuple[date, date | None]:
    m = ctx.mapping(node, "period", required={"from"}, optional={"to"} | _PROVENANCE_KEYS)
    ctx.record_provenance(m, "period")
    start = _as_date(ctx, m["from"], "period.from")
    end = _as_date(ctx, m["to"], "period.to") if m.get("to") is not None else None
    if end is not None and end < start:
        ctx.fail("period.to", "is before period.from")
    return start, end


def _counties(ctx: _Ctx, node: Any) -> dict[str, str]:
    if not isinstance(node, dict) or not node:
        ctx.fail("counties", "must be a non-empty mapping of county code to {name, source}")
    out: dict[str, str] = {}
    for code, entry in node.items():
        key = f"counties.{code}"
        if not isinstance(code, str) or not _COUNTY_RE.match(code):
            ctx.fail(key, "must be a quoted 6-digit county code")
        m = ctx.mapping(entry, key, required={"name"}, optional=_PROVENANCE_KEYS)
        ctx.record_provenance(m, key)
        out[code] = ctx.text(m["name"], f"{key}.name")
    return out


def _standards(ctx: _Ctx, node: Any, counties: Mapping[str, str]) -> tuple[DibaoStandard, ...]:
    if not isinstance(node, list) or not node:
        ctx.fail("dibao_standards", "must be a non-empty list")
    out: list[DibaoStandard] = []
    for i, entry in enumerate(node):
        key = f"dibao_standards[{i}]"
        m = ctx.mapping(
            entry,
            key,
            required={"county_code", "area_type", "amount", "effective_from"},
            optional=_PROVENANCE_KEYS,
        )
        ctx.record_provenance(m, key)
        county = str(m["county_code"])
        if county not in counties:
            ctx.fail(f"{key}.county_code", "names a county that is not under 'counties'")
        if m["area_type"] not in AREA_TYPES:
            ctx.fail(f"{key}.area_type", f"must be one of {', '.join(AREA_TYPES)}")
        amount = ctx.typed(m["amount"], f"{key}.amount", "number")
        if amount <= 0:
            ctx.fail(f"{key}.amount", "must be above zero")
        out.append(
            DibaoStandard(
                county,
                str(m["area_type"]),
                float(amount),
                _as_date(ctx, m["effective_from"], f"{key}.effective_from"),
                ctx.provenance[key],
            )
        )
    seen = {(s.county_code, s.area_type, s.effective_from) for s in out}
    if len(seen) != len(out):
        ctx.fail("dibao_standards", "has two entries for the same county, area type and date")
    for county in counties:
        for area in AREA_TYPES:
            if not any(s.county_code == county and s.area_type == area for s in out):
                ctx.fail("dibao_standards", f"has no {area} standard for county {county}")
    return tuple(sorted(out, key=lambda s: (s.county_code, s.area_type, s.effective_from)))


def _parameters(ctx: _Ctx, node: Any) -> Parameters:
    m = ctx.mapping(node, "parameters", required=set(_PARAMETERS))
    values = {k: ctx.sourced(m[k], f"parameters.{k}", kind) for k, kind in _PARAMETERS.items()}
    params = Parameters(**values)
    if params.margin_multiple < 1:
        ctx.fail("parameters.margin_multiple", "must be at least 1")
    if params.gradual_exit_ceiling < 1:
        ctx.fail("parameters.gradual_exit_ceiling", "must be at least 1")
    if not 0 < params.household_medical_share <= 1:
        ctx.fail("parameters.household_medical_share", "must be above 0 and at most 1")
    if params.window_months < 1:
        ctx.fail("parameters.window_months", "must be at least 1")
    if max(params.tekun_minor_ages) >= params.tekun_support_until_age:
        ctx.fail("parameters.tekun_minor_ages", "must be below tekun_support_until_age")
    return params


def _levels(ctx: _Ctx, node: Any) -> tuple[int, int]:
    m = ctx.mapping(node, "levels", required={"red", "orange"})
    red = ctx.sourced(m["red"], "levels.red", "int")
    orange = ctx.sourced(m["orange"], "levels.orange", "int")
    if not 0 < orange < red <= 100:
        ctx.fail("levels", "must satisfy 0 < orange < red <= 100")
    return int(red), int(orange)


def _codes(ctx: _Ctx, node: Any, params: Parameters) -> dict[str, CodeSpec]:
    m = ctx.mapping(node, "codes", required=set(CODE_ORDER))
    return {code: _code(ctx, m[code], code, params) for code in CODE_ORDER}


def _code(ctx: _Ctx, node: Any, code: str, params: Parameters) -> CodeSpec:
    key = f"codes.{code}"
    m = ctx.mapping(
        node,
        key,
        required={"label", "kind", "weight", "actions", "clauses", "source"},
        optional={"min_level"},
    )
    source = ctx.text(m["source"], f"{key}.source")
    ctx.provenance[key] = source
    kind = ctx.text(m["kind"], f"{key}.kind")
    if kind not in KINDS:
        ctx.fail(f"{key}.kind", f"must be one of {', '.join(KINDS)}")
    min_level = None
    if "min_level" in m:
        min_level = ctx.sourced(m["min_level"], f"{key}.min_level", "level")
    return CodeSpec(
        code=code,
        label=ctx.text(m["label"], f"{key}.label"),
        kind=kind,
        weight=int(ctx.sourced(m["weight"], f"{key}.weight", "int")),
        actions=_actions(ctx, m["actions"], f"{key}.actions", params),
        clauses=_clauses(ctx, m["clauses"], f"{key}.clauses"),
        min_level=min_level,
        source=source,
    )


def _actions(ctx: _Ctx, node: Any, key: str, params: Parameters) -> tuple[str, ...]:
    """Action labels; `{parameter}` placeholders are filled from the profile's parameters."""
    if not isinstance(node, list) or not node:
        ctx.fail(key, "must be a non-empty list of action labels")
    fields = {k: getattr(params, k) for k in _PARAMETERS}
    out = []
    for i, label in enumerate(node):
        text = ctx.text(label, f"{key}[{i}]")
        try:
            out.append(text.format_map(fields))
        except (KeyError, ValueError, IndexError):
            ctx.fail(f"{key}[{i}]", "uses a placeholder that is not a parameter name")
    return tuple(out)


def _clauses(ctx: _Ctx, node: Any, key: str) -> tuple[Clause, ...]:
    if not isinstance(node, list) or not node:
        ctx.fail(key, "must be a non-empty list of {ref, text}")
    out = []
    for i, entry in enumerate(node):
        m = ctx.mapping(entry, f"{key}[{i}]", required={"ref", "text"})
        out.append(
            Clause(ctx.text(m["ref"], f"{key}[{i}].ref"), ctx.text(m["text"], f"{key}[{i}].text"))
        )
    return tuple(out)
