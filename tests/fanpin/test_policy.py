"""Policy profiles: the shipped ones load with the docs/policy.md values; bad ones are refused."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any

import pytest
import yaml

from fanpin.policy import CODE_ORDER, PolicyError, load_profile, parse_profile

POLICIES = Path(__file__).resolve().parents[2] / "policies"


def raw(name: str = "qijiang-2021") -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load((POLICIES / f"{name}.yaml").read_text("utf-8"))
    return data


def refused(change: Callable[[dict[str, Any]], None], key: str) -> None:
    """Apply `change` to a good profile and expect a refusal that names `key`."""
    data = raw()
    change(data)
    with pytest.raises(PolicyError) as err:
        parse_profile(data, "qijiang-2021")
    assert f"'{key}'" in str(err.value), str(err.value)


def test_qijiang_values_are_the_policy_table() -> None:
    """qijiang-2021: 500110, 620/496, margin 1.5, 6 months within 1.5x, nursing 3/4 yes, 8000/12."""
    p = load_profile("qijiang-2021", POLICIES)
    assert dict(p.counties) == {"500110": "綦江区"}
    assert p.standards_on(date(2021, 1, 1)) == {
        ("500110", "城市"): 620.0,
        ("500110", "农村"): 496.0,
    }
    pr = p.params
    assert (pr.margin_multiple, pr.gradual_exit_months, pr.gradual_exit_ceiling) == (1.5, 6, 1.5)
    assert (pr.nursing_grade34_mental, pr.medical_burden_line, pr.window_months) == (True, 8000, 12)
    assert (pr.household_medical_share, pr.severe_illness_inpatient_count) == (0.5, 2)
    assert pr.tekun_minor_ages == (16, 17) and pr.tekun_support_until_age == 18
    assert (p.red_at, p.orange_at) == (60, 35)
    assert p.codes["DECEASED_MEMBER"].min_level == "orange"


def test_panzhihua_values_are_the_policy_table() -> None:
    """panzhihua-2021: five counties at 680/530, margin 2.0, 12 months, ceiling 1.5, nursing no."""
    p = load_profile("panzhihua-2021", POLICIES)
    assert sorted(p.counties) == ["510402", "510403", "510411", "510421", "510422"]
    assert set(p.standards_on(date(2021, 6, 1)).values()) == {680.0, 530.0}
    pr = p.params
    assert (pr.margin_multiple, pr.gradual_exit_months, pr.gradual_exit_ceiling) == (2.0, 12, 1.5)
    assert pr.nursing_grade34_mental is False and pr.medical_burden_line == 8000


def test_sample_is_qijiang_rules_with_both_regions_standards() -> None:
    """sample: 500110 620/496 and 510402/510411/510421 680/530 from 2021-01-01; qijiang rules."""
    s, q = load_profile("sample", POLICIES), load_profile("qijiang-2021", POLICIES)
    assert sorted(s.counties) == ["500110", "510402", "510411", "510421"]
    std = s.standards_on(date(2021, 1, 1))
    assert std[("500110", "农村")] == 496 and std[("510421", "城市")] == 680
    assert s.standards_on(date(2020, 12, 31)) == {}
    assert s.params == q.params and s.codes == q.codes


def test_every_code_and_value_has_provenance() -> None:
    """Every profile value names its clause or says it is a placeholder (with a note)."""
    for name in ("sample", "qijiang-2021", "panzhihua-2021"):
        p = load_profile(name, POLICIES)
        assert list(p.codes) == list(CODE_ORDER)
        assert all(spec.clauses and spec.actions and spec.label for spec in p.codes.values())
        assert "parameters.margin_multiple" in p.provenance
        assert p.provenance["parameters.medical_burden_line"].startswith("placeholder: ")
        assert all(v for v in p.provenance.values())


def test_profile_is_frozen() -> None:
    """Profiles are immutable once loaded."""
    p = load_profile("sample", POLICIES)
    with pytest.raises(dataclasses.FrozenInstanceError):
        p.name = "other"  # type: ignore[misc]
    with pytest.raises(TypeError):
        p.counties["999999"] = "x"  # type: ignore[index]


def test_standard_in_force_is_the_latest_started() -> None:
    """Several dates per county: the run uses the latest effective_from on or before it."""
    data = raw()
    data["dibao_standards"].append(
        {
            "county_code": "500110",
            "area_type": "农村",
            "amount": 520,
            "effective_from": "2022-01-01",
            "source": "test notice",
        }
    )
    p = parse_profile(data, "qijiang-2021")
    assert p.standards_on(date(2021, 12, 31))[("500110", "农村")] == 496
    assert p.standards_on(date(2022, 1, 1))[("500110", "农村")] == 520


def test_unexpected_key_is_refused_by_name() -> None:
    """An unexpected key (a typo) is refused, the message naming it."""
    refused(
        lambda d: d["parameters"].update(margin_multipel={"value": 1, "source": "x"}),
        "parameters.margin_multipel",
    )
    refused(lambda d: d.update(colour="red"), "colour")
    refused(lambda d: d["codes"]["GRADUAL_EXIT"].update(wieght=3), "codes.GRADUAL_EXIT.wieght")


def test_missing_key_is_refused_by_name() -> None:
    """An incomplete profile is refused, the message naming the missing key."""
    refused(lambda d: d["parameters"].pop("gradual_exit_months"), "parameters.gradual_exit_months")
    refused(lambda d: d["codes"].pop("TEKUN_MINOR"), "codes.TEKUN_MINOR")
    refused(lambda d: d["codes"]["SUBSIDY_GAP"].pop("actions"), "codes.SUBSIDY_GAP.actions")
    refused(lambda d: d.pop("levels"), "levels")


def test_value_without_source_or_note_is_refused() -> None:
    """A value needs `source:`, or `placeholder: true` with a `note:`."""
    refused(
        lambda d: d["parameters"]["margin_multiple"].pop("source"),
        "parameters.margin_multiple.source",
    )
    refused(
        lambda d: d["parameters"]["medical_burden_line"].pop("note"),
        "parameters.medical_burden_line.note",
    )
    refused(lambda d: d["dibao_standards"][0].pop("placeholder"), "dibao_standards[0].source")


def test_malformed_values_are_refused_by_name() -> None:
    """Wrong types and impossible values are refused, naming the key."""
    refused(
        lambda d: d["parameters"]["window_months"].update(value="twelve"),
        "parameters.window_months.value",
    )
    refused(
        lambda d: d["parameters"]["nursing_grade34_mental"].update(value="yes"),
        "parameters.nursing_grade34_mental.value",
    )
    refused(lambda d: d["codes"]["GRADUAL_EXIT"].update(kind="help"), "codes.GRADUAL_EXIT.kind")
    refused(
        lambda d: d["codes"]["DECEASED_MEMBER"]["min_level"].update(value="purple"),
        "codes.DECEASED_MEMBER.min_level.value",
    )
    refused(lambda d: d["levels"]["orange"].update(value=70), "levels")
    refused(
        lambda d: d["dibao_standards"][0].update(county_code="510402"),
        "dibao_standards[0].county_code",
    )
    refused(lambda d: d["dibao_standards"].pop(1), "dibao_standards")
    refused(
        lambda d: d["codes"]["GRADUAL_EXIT"]["actions"].append("渐退{months}"),
        "codes.GRADUAL_EXIT.actions[2]",
    )
    refused(
        lambda d: d["parameters"]["margin_multiple"].update(value=0.8), "parameters.margin_multiple"
    )


def test_profile_name_must_be_plain() -> None:
    """--policy takes a plain name [a-z0-9-]; '../x' never reaches the file system."""
    for bad in (
        "../qijiang-2021",
        "Qijiang",
        "a/b",
        "qijiang 2021",
        "",
        "/tmp/x.yaml",
        "../policies/sample.yaml",
    ):
        with pytest.raises(PolicyError, match="plain name"):
            load_profile(bad, POLICIES)
    with pytest.raises(PolicyError, match="no such profile"):
        load_profile("nowhere-2099", POLICIES)


def test_profile_name_must_match_its_file(tmp_path: Path) -> None:
    """A profile loaded by name must carry that name (key 'name')."""
    data = raw()
    (tmp_path / "other.yaml").write_text(yaml.safe_dump(data, allow_unicode=True), "utf-8")
    with pytest.raises(PolicyError, match="'name'"):
        load_profile("other", tmp_path)
    assert load_profile(tmp_path / "other.yaml", POLICIES).name == "qijiang-2021"
