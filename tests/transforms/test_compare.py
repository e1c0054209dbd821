"""Pair comparisons: name levels, id edit distance, birth-digit edits, area."""

from __future__ import annotations

import duckdb
import pytest

from transforms.compare import (
    area_agrees_sql,
    edit_touches_birth_sql,
    id_edits_sql,
    level_of,
    name_level_sql,
    register_functions,
)


def _level(left: tuple[str, str], right: tuple[str, str]) -> int:
    con = duckdb.connect()
    register_functions(con)
    register_functions(con)  # idempotent
    sql = (
        f"SELECT {name_level_sql(0.92)} FROM "
        "(SELECT ? AS name_norm, ? AS name_key) r, (SELECT ? AS name_norm, ? AS name_key) p"
    )
    return int(con.execute(sql, [*left, *right]).fetchall()[0][0])


@pytest.mark.parametrize(
    ("left", "right", "level"),
    [
        (("张丽", "zhangli"), ("张丽", "zhangli"), 3),
        (("张丽", "zhangli"), ("张莉", "zhangli"), 2),
        (("王晓明", "wangxiaoming"), ("王晓敏", "wangxiaomin"), 1),
        (("阿依古丽·买买提", "ayigulimaimaiti"), ("阿依古丽·买买", "ayigulimaimai"), 1),
        (("张建国", "zhangjianguo"), ("张建军", "zhangjianjun"), 0),
        (("张伟", "zhangwei"), ("张强", "zhangqiang"), 0),
    ],
)
def test_name_levels(left: tuple[str, str], right: tuple[str, str], level: int) -> None:
    """Exact > homophone > similar (near-homophone, dropped syllable) > none (brothers)."""
    assert _level(left, right) == level


def test_null_name_never_agrees() -> None:
    """A missing name is no evidence."""
    con = duckdb.connect()
    register_functions(con)
    sql = (
        f"SELECT {name_level_sql(0.92)} FROM (SELECT NULL::VARCHAR AS name_norm, "
        "NULL::VARCHAR AS name_key) r, (SELECT '张丽' AS name_norm, 'zhangli' AS name_key) p"
    )
    assert con.execute(sql).fetchall() == [(0,)]


def test_id_edits_count_a_transposition_as_one() -> None:
    """Damerau-Levenshtein: a swap of neighbours is one edit."""
    con = duckdb.connect()
    register_functions(con)
    sql = f"SELECT {id_edits_sql(repr('123456'), repr('123465'))}"
    assert con.execute(sql).fetchall() == [(1,)]


def test_edit_in_birth_digits_is_detected() -> None:
    """Positions 7..14 are the birth date; an edit elsewhere leaves it intact."""
    base = "50022219800101123X"
    inside = base[:10] + "9" + base[11:]
    outside = base[:15] + "9" + base[16:]
    got = duckdb.sql(
        f"SELECT {edit_touches_birth_sql(repr(base), repr(inside))}, "
        f"{edit_touches_birth_sql(repr(base), repr(outside))}"
    ).fetchall()
    assert got == [(True, False)]


def test_area_agrees_with_county_or_id_area() -> None:
    """The record's address code may match the residence county or the id's own area."""
    sql = (
        f"SELECT {area_agrees_sql('a')} FROM (SELECT '500222' AS a) r, "
        "(SELECT '500101' AS county_code, '500222' AS id_area) p"
    )
    assert duckdb.sql(sql).fetchall() == [(True,)]


def test_unknown_level_name_is_rejected() -> None:
    """A typo in the config's level name fails loudly."""
    with pytest.raises(ValueError):
        level_of("homofone")
