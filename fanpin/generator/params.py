"""Every number the generator uses, in dataclasses, so a benchmark can turn one knob at a time.

The policy numbers mirror the SAMPLE profile (policies/sample.yaml): the truth reasons are
computed with them, so a rule engine run with the sample profile must reproduce them.
"""

from __future__ import annotations

from dataclasses import dataclass, field

# (county_code, area_type) -> dibao standard, yuan per person per month, in force from 2021-01-01.
SAMPLE_STANDARDS: dict[tuple[str, str], float] = {
    ("500110", "城市"): 620.0,
    ("500110", "农村"): 496.0,
    ("510402", "城市"): 680.0,
    ("510402", "农村"): 530.0,
    ("510411", "城市"): 680.0,
    ("510411", "农村"): 530.0,
    ("510421", "城市"): 680.0,
    ("510421", "农村"): 530.0,
}


@dataclass(frozen=True)
class PolicyParams:
    """The policy values the truth reasons are computed with (sample profile by default)."""

    dibao_standards: dict[tuple[str, str], float] = field(
        default_factory=lambda: dict(SAMPLE_STANDARDS)
    )
    margin_multiple: float = 1.5
    gradual_exit_ceiling: float = 1.5
    nursing_grade34_mental: bool = True
    medical_burden_line: float = 8000.0
    household_medical_share: float = 0.5
    window_months: int = 12
    severe_illness_inpatient_count: int = 2


@dataclass(frozen=True)
class VolumeParams:
    """How many records each department holds, per roster person, and who they are about.

    Defaults give about 8 records per roster person (6 of them medical) and put two thirds
    of the records on people who are not on the roster, as in a real county extract.
    """

    medical_per_person: float = 6.0
    health_per_person: float = 1.0
    housing_per_person: float = 0.5
    disability_per_person: float = 0.5
    roster_share: float = 1.0 / 3.0
    outside_people_per_roster_person: float = 2.0
    # Share of the outside population that has a roster person's name and birth date.
    namesake_share: float = 0.01
    history_days: int = 730  # records are dated within this many days before the run date


@dataclass(frozen=True)
class NoiseRates:
    """Share of department records that get each defect (mutually exclusive, one label each).

    Rates are shares of ALL records of a department; a defect that only some records can have
    (a lowercase x needs an id ending in X) is drawn among those with the right conditional
    probability, so the realized share stays close to the rate.
    """

    id_blank: float = 0.03
    id_digit: float = 0.02
    id_transpose: float = 0.02
    id_15: float = 0.02
    id_lower_x: float = 0.01
    id_fullwidth: float = 0.02
    id_spaces: float = 0.02
    head_id: float = 0.015
    name_homophone: float = 0.02
    name_traditional: float = 0.02
    name_dot: float = 0.005
    name_space: float = 0.02
    wrong_name: float = 0.005
    cert_only: float = 0.05  # disability only: broken id column, good certificate number
    roster_invalid_id: float = 0.01  # roster rows whose id is invalid (kept, flagged)


@dataclass(frozen=True)
class PlantParams:
    """Share of roster households that get each planted scenario (see truth.py for the codes)."""

    deceased: float = 0.03
    severe_illness: float = 0.03
    medical_burden: float = 0.03
    severe_disability: float = 0.04
    unsafe_housing: float = 0.03
    renovated: float = 0.01  # C/D appraisal followed by a later A: must NOT fire
    tekun_minor: float = 0.02
    income_edges: float = 0.02  # incomes exactly at 1.0x / 1.5x of the standard


@dataclass(frozen=True)
class GeneratorParams:
    """All generator knobs together."""

    volume: VolumeParams = field(default_factory=VolumeParams)
    noise: NoiseRates = field(default_factory=NoiseRates)
    plant: PlantParams = field(default_factory=PlantParams)
    policy: PolicyParams = field(default_factory=PolicyParams)
    # (i, k): draw id sequence numbers from the i-th of k bands, so that k datasets made with
    # i = 0..k-1 share no id number (a province generated in chunks, see bench/pipeline.py)
    id_stripe: tuple[int, int] = (0, 1)
