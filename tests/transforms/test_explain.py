"""`explain_household`: the text a data officer reads for one household."""

from __future__ import annotations

import importlib.util
from datetime import date
from pathlib import Path
from typing import Any

import polars as pl
import pytest

from transforms import scoring
from transforms.explain import explain_household

_spec = importlib.util.spec_from_file_location(
    "_rules_world", Path(__file__).with_name("test_rules.py")
)
assert _spec is not None and _spec.loader is not None
_world = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(_world)
World: Any = _world.World
profile = _world.profile
RUN: date = _world.RUN


def world() -> tuple[pl.DataFrame, pl.DataFrame]:
    w = World().person("H1", "p1", category="低保", income=600, size=2)
    w.person("H1", "p2", relation="子女", income=600, size=2)
    w.health("p2", "死亡", date(2022, 1, 1))
    w.person("H2", "p3", category="低保", income=100)
    roster, recs, links = w.frames()
    roster = roster.with_columns(
        pl.Series("name_norm", ["张小丽", "阿依古丽·买买提", "王五"]),
        pl.Series("id_norm", ["500222199001011234", None, "500222199001015678"]),
    )
    return roster, scoring.score_households(roster, recs, links, profile(), RUN)


def test_explain_masks_members_by_default() -> None:
    """Members appear as 张*丽 / 500222********1234; no full name or id without unmask."""
    roster, warnings = world()
    text = explain_household("H1", roster, warnings, profile(), RUN)
    assert "户主 张*丽 500222********1234" in text
    assert "子女 阿*丽·买*提 （无身份证号）" in text
    assert "张小丽" not in text and "199001011234" not in text


def test_explain_unmask_shows_full_identity() -> None:
    """unmask=True (restricted use) shows full names and ids."""
    roster, warnings = world()
    text = explain_household("H1", roster, warnings, profile(), RUN, unmask=True)
    assert "户主 张小丽 500222199001011234" in text


def test_explain_header_compares_income_with_standard() -> None:
    """The header gives place, category, area type and income against the standard in force."""
    roster, warnings = world()
    text = explain_household("H1", roster, warnings, profile(), RUN)
    assert "綦江区（500110） 古南街道 新城村" in text
    assert "类别：低保；城乡：农村" in text
    assert "人均月收入 600 元；低保标准 496 元，为标准的 1.21 倍" in text


def test_explain_lists_reasons_with_evidence_and_clauses() -> None:
    """Each reason: label, kind, member, evidence, and the clause quoted from the profile."""
    roster, warnings = world()
    text = explain_household("H1", roster, warnings, profile(), RUN)
    assert "1. 成员死亡（DECEASED_MEMBER，核查） — 子女 阿*丽·买*提" in text
    assert "证据：卫健，记录 H001，日期 2022-01-01" in text
    assert "依据：000 (七) “健全社会救助家庭经济状况核对机制，加强信息核查比对”" in text
    assert "GRADUAL_EXIT" in text and "6 个月渐退期" in text
    assert "建议措施：入户核实、停发或调整待遇、启动渐退（6个月）" in text
    assert "预警等级：橙（orange），风险分 50/100" in text


def test_explain_household_without_warning() -> None:
    """A household that raised no warning is still explained, and says so."""
    roster, warnings = world()
    text = explain_household("H2", roster, warnings, profile(), RUN)
    assert "本次运行未对该户预警。" in text and "王*" in text


def test_explain_unknown_household_is_refused() -> None:
    """An unknown household id is an error (the message carries no identity data)."""
    roster, warnings = world()
    with pytest.raises(ValueError, match="not in the roster"):
        explain_household("H9", roster, warnings, profile(), RUN)
