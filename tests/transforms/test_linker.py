"""The matcher's hard cases, each a tiny explicit fixture with the expected link."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import duckdb
import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pypinyin import lazy_pinyin

from fanpin.matching_config import load_matching_config
from transforms.identity import id_columns
from transforms.linker import LINK_COLUMNS, MatchingConfig, link_counts, link_department

CONFIG = load_matching_config()
WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)


def make_id(body17: str) -> str:
    """A valid 18-char id from its first 17 digits (GB 11643 check character)."""
    total = sum(int(c) * w for c, w in zip(body17, WEIGHTS, strict=True))
    return body17 + "10X98765432"[total % 11]


def _fallback_name_norm(name: str) -> str:
    import opencc  # only when transforms.names is not there yet

    folded = "".join(name.split()).replace("•", "·").replace("．", "·").replace(".", "·")
    return str(opencc.OpenCC("t2s").convert(folded))


def with_names(frame: pl.DataFrame) -> pl.DataFrame:
    """name_norm / name_key as staging adds them (transforms.names when available)."""
    try:
        from transforms.names import name_columns  # type: ignore[import-not-found]
    except ImportError:
        norm = frame["name"].map_elements(_fallback_name_norm, return_dtype=pl.String)
        key = norm.map_elements(
            lambda n: "".join(lazy_pinyin(n.replace("·", ""))), return_dtype=pl.String
        )
        return frame.with_columns(name_norm=norm, name_key=key)
    return frame.with_columns(name_columns())


def x_id(prefix: str) -> str:
    """The first valid id with this 14-digit prefix whose check character is X."""
    return next(i for i in (make_id(f"{prefix}{s:03d}") for s in range(1000)) if i[-1] == "X")


A = make_id("50022219800101123")  # 张丽, head of H1
B = make_id("50022219820202124")  # 王强, spouse in H1
C = make_id("50022220100303125")  # 张小明, child in H1
D = make_id("50022219700505135")  # 李明, alone in H2


def roster(rows: Sequence[tuple[str, str, str | None, str]] | None = None) -> pl.DataFrame:
    """Staged roster frame from (household_id, name, id_number, relation)."""
    rows = rows or [
        ("H1", "张丽", A, "户主"),
        ("H1", "王强", B, "配偶"),
        ("H1", "张小明", C, "子女"),
        ("H2", "李明", D, "户主"),
    ]
    frame = pl.DataFrame(
        rows, schema=["household_id", "name", "id_number", "relation"], orient="row"
    )
    frame = with_names(frame.with_columns(id_columns()))
    ref = pl.lit("R:") + pl.col("household_id") + ":" + pl.col("name_norm")
    unique = pl.col("id_norm").is_not_null() & (pl.len().over("id_norm") == 1)
    return frame.with_columns(
        county_code=pl.lit("500222"), person_ref=pl.when(unique).then("id_norm").otherwise(ref)
    )


def records(rows: Sequence[tuple[Any, ...]], cert: bool = False) -> pl.DataFrame:
    """Staged department frame from (record_id, name, id_number[, certificate_no])."""
    cols = ["record_id", "name", "id_number"] + (["certificate_no"] if cert else [])
    frame = pl.DataFrame(rows, schema=cols, orient="row").with_columns(id_columns())
    if cert:
        frame = frame.with_columns(cert18=pl.col("certificate_no").str.slice(0, 18))
        frame = frame.with_columns(id_columns("cert18", "cert_id_")).drop("cert18")
    return with_names(frame).with_columns(
        source_file=pl.lit("f.csv"), source_line=pl.int_range(1, pl.len() + 1, dtype=pl.Int64)
    )


def link(
    recs: pl.DataFrame,
    ros: pl.DataFrame | None = None,
    department: str = "health",
    config: MatchingConfig = CONFIG,
) -> tuple[dict[str, dict[str, Any]], pl.DataFrame]:
    """Links keyed by record_id, and the review frame."""
    con = duckdb.connect()
    links, review = link_department(con, roster() if ros is None else ros, recs, department, config)
    frame = links.pl()
    assert frame.columns == list(LINK_COLUMNS)
    return {r["record_id"]: r for r in frame.to_dicts()}, review.pl()


def substitute(id18: str, pos: int) -> str:
    return id18[:pos] + str((int(id18[pos]) + 1) % 10) + id18[pos + 1 :]


def transpose(id18: str, pos: int) -> str:
    return id18[:pos] + id18[pos + 1] + id18[pos] + id18[pos + 2 :]


# --------------------------------------------------------------------------- exact tier


def test_homophone_name_links_by_exact_id() -> None:
    """张莉 with 张丽's id links to 张丽 (same pinyin key), scored below an exact name."""
    out, _ = link(records([("r1", "张莉", A), ("r2", "张丽", A)]))
    assert out["r1"]["person_ref"] == A and out["r1"]["match_method"] == "id_exact"
    assert out["r1"]["match_score"] < out["r2"]["match_score"] == 1.0


def test_traditional_characters_are_folded_before_matching() -> None:
    """陳麗 on a record links to 陈丽 on the roster as an exact name."""
    ros = roster([("H9", "陈丽", A, "户主")])
    out, _ = link(records([("r1", "陳麗", A)]), ros)
    assert out["r1"]["match_status"] == "linked" and out["r1"]["match_score"] == 1.0


def test_fifteen_digit_id_links_as_upgraded() -> None:
    """An old 15-digit number upgrades to the roster id: method id_upgraded15."""
    fifteen = A[:6] + A[8:17]
    out, _ = link(records([("r1", "张丽", fifteen)]))
    assert out["r1"]["person_ref"] == A and out["r1"]["match_method"] == "id_upgraded15"


def test_full_width_spaced_lowercase_id_links_exactly() -> None:
    """Full-width digits, spaces and a lowercase x are cleaned before the hash join."""
    pid = x_id("50022219900909")
    ros = roster([("H5", "赵敏", pid, "户主")])
    raw = " ".join(chr(0xFF10 + int(c)) if c.isdigit() else "x" for c in pid)
    out, _ = link(records([("r1", "赵敏", raw)]), ros)
    assert out["r1"]["person_ref"] == pid and out["r1"]["match_method"] == "id_exact"


def test_exact_id_with_completely_different_name_goes_to_review() -> None:
    """李明's id on a record of 孙悟空 (no other member matches): review, not a link."""
    out, review = link(records([("r1", "孙悟空", D)]))
    assert out["r1"]["match_status"] == "review" and out["r1"]["person_ref"] is None
    assert review.filter(pl.col("record_id") == "r1")["why"].to_list() == ["id_name_conflict"]


def test_duplicate_roster_id_with_agreeing_names_goes_to_review() -> None:
    """Two roster people carry one id and both names agree: never a silent pick."""
    ros = roster([("H1", "张丽", A, "户主"), ("H7", "张丽", A, "户主")])
    out, review = link(records([("r1", "张丽", A)]), ros)
    assert out["r1"]["match_status"] == "review"
    assert sorted(review["candidate_rank"].to_list()) == [1, 2]
    assert set(review["why"]) == {"duplicate_roster_id"}


# --------------------------------------------------------------------------- household tier


def test_head_id_on_member_record_links_that_member() -> None:
    """The head's id on 王强's record links to 王强 (head_id_member)."""
    out, _ = link(records([("r1", "王强", A)]))
    assert out["r1"]["person_ref"] == B and out["r1"]["match_method"] == "head_id_member"
    assert out["r1"]["household_id"] == "H1" and out["r1"]["id_number"] == B


def test_head_id_with_unknown_name_goes_to_review() -> None:
    """The head's id on the record of someone not in the household: review with the head."""
    out, review = link(records([("r1", "钱多多", A)]))
    assert out["r1"]["match_status"] == "review"
    assert review["person_ref"].to_list() == [A]


def test_head_id_with_two_homophone_members_goes_to_review() -> None:
    """Two members answer to the record's name, neither letter for letter: review both."""
    ros = roster(
        [
            ("H1", "张丽", A, "户主"),
            ("H1", "王强", B, "配偶"),
            ("H1", "王蔷", C, "子女"),
        ]
    )
    out, review = link(records([("r1", "王墙", A)]), ros)
    assert out["r1"]["match_status"] == "review"
    assert set(review["person_ref"]) == {B, C} and set(review["why"]) == {"household_ambiguous"}


def test_head_id_member_with_exact_name_beats_a_homophone_member() -> None:
    """王强 exactly and 王蔷 by sound: the head's id on 王强's record links 王强."""
    ros = roster(
        [
            ("H1", "张丽", A, "户主"),
            ("H1", "王强", B, "配偶"),
            ("H1", "王蔷", C, "子女"),
        ]
    )
    out, _ = link(records([("r1", "王强", A)]), ros)
    assert out["r1"]["person_ref"] == B and out["r1"]["match_method"] == "head_id_member"


def test_homophone_of_the_owner_yields_to_exact_member() -> None:
    """徐莉 with her mother 徐丽's id: the member named exactly 徐莉 wins over the owner."""
    ros = roster([("H1", "徐丽", A, "户主"), ("H1", "徐莉", C, "子女")])
    out, _ = link(records([("r1", "徐莉", A), ("r2", "徐丽", A)]), ros)
    assert out["r1"]["person_ref"] == C and out["r1"]["match_method"] == "head_id_member"
    assert out["r2"]["person_ref"] == A and out["r2"]["match_method"] == "id_exact"


# --------------------------------------------------------------------------- fuzzy tier


@pytest.mark.parametrize("pos", [0, 5, 14, 15, 16, 17])
def test_one_digit_typo_outside_birth_links_fuzzy(pos: int) -> None:
    """One wrong digit (area, sequence or check) with the same name links as id_fuzzy."""
    typo = substitute(A, pos) if A[pos].isdigit() else A[:pos] + "0"
    out, _ = link(records([("r1", "张丽", typo)]))
    assert out["r1"]["person_ref"] == A and out["r1"]["match_method"] == "id_fuzzy"


@pytest.mark.parametrize("pos", [0, 7, 8, 13, 16])
def test_adjacent_transposition_links_fuzzy(pos: int) -> None:
    """Two swapped neighbouring digits (incl. at window boundaries) link as id_fuzzy."""
    swapped = transpose(B, pos)
    assert swapped != B
    out, _ = link(records([("r1", "王强", swapped)]))
    assert out["r1"]["person_ref"] == B and out["r1"]["match_method"] == "id_fuzzy"


def test_typo_in_birth_digits_needs_a_strong_name() -> None:
    """A birth-digit typo links with the exact name, but not with a merely similar one."""
    ros = roster([("H3", "阿依古丽·买买提", D, "户主")])
    typo = substitute(D, 10)
    out, _ = link(records([("r1", "阿依古丽·买买提", typo), ("r2", "阿依古丽·买买", typo)]), ros)
    assert out["r1"]["match_method"] == "id_fuzzy"
    assert out["r2"]["match_status"] == "unmatched"


def test_fuzzy_id_with_other_name_finds_member_by_household() -> None:
    """A typo in the head's id on 张小明's record: the household gives 张小明 (name_household)."""
    out, _ = link(records([("r1", "张小明", substitute(A, 15))]))
    assert out["r1"]["person_ref"] == C and out["r1"]["match_method"] == "name_household"


def test_typo_with_different_name_is_not_linked() -> None:
    """One digit off 李明's id but a stranger's name: no link."""
    out, _ = link(records([("r1", "周杰", substitute(D, 15))]))
    assert out["r1"]["match_status"] == "unmatched"


# --------------------------------------------------------------------------- name tiers


def test_namesake_with_other_valid_id_is_not_a_match() -> None:
    """Same name and birth date, different valid id: a namesake, unmatched."""
    namesake = make_id(A[:14] + "999")
    out, review = link(records([("r1", "张丽", namesake)]))
    assert out["r1"]["match_status"] == "unmatched" and review.is_empty()


def test_two_typos_link_by_name_birth_and_area() -> None:
    """Two wrong sequence digits: name + birth + area + a close id link as name_birth."""
    two = substitute(substitute(D, 14), 15)
    out, _ = link(records([("r1", "李明", two)]))
    assert out["r1"]["person_ref"] == D and out["r1"]["match_method"] == "name_birth"


def test_roster_id_with_wrong_check_character_is_repaired() -> None:
    """The roster's check character is wrong: the record's real id links (id_fuzzy, raw id)."""
    damaged = D[:17] + ("0" if D[17] != "0" else "1")
    ros = roster([("H4", "李明", damaged, "户主")])
    out, _ = link(records([("r1", "李明", D), ("r2", "李明", D[:17])]), ros)
    assert out["r1"]["match_method"] == "id_fuzzy" and out["r1"]["id_number"] == damaged
    assert out["r1"]["person_ref"] == ros["person_ref"][0]


def test_roster_id_truncated_to_17_is_repaired() -> None:
    """A roster id that lost its last character still receives the records with the full id."""
    ros = roster([("H4", "李明", D[:17], "户主")])
    out, _ = link(records([("r1", "李明", D)]), ros)
    assert out["r1"]["match_status"] == "linked" and out["r1"]["match_method"] == "id_fuzzy"


def test_valid_id_is_not_searched_by_name() -> None:
    """A valid id that is nobody's key stays unmatched, even next to a damaged roster id."""
    ros = roster([("H4", "李明", substitute(D, 15), "户主")])
    out, review = link(records([("r1", "李明", D)]), ros)
    assert out["r1"]["match_status"] == "unmatched" and review.is_empty()


def test_record_without_any_id_stays_unmatched_and_is_counted() -> None:
    """No id clue at all: unmatched by default, counted as no_id_clue."""
    con = duckdb.connect()
    links, _ = link_department(con, roster(), records([("r1", "张丽", None)]), "health", CONFIG)
    assert links.pl()["match_status"].to_list() == ["unmatched"]
    assert link_counts(con, "health")["no_id_clue"] == 1


# --------------------------------------------------------------------------- no id clue, address


def village_roster() -> pl.DataFrame:
    """Two households in two villages: 张丽 heads H1 (篆塘镇新街村); a second 张丽 is a
    member (not the head) of H2 in 东溪镇双河村; 李明 heads H3 in 东溪镇双河村."""
    frame = roster(
        [
            ("H1", "张丽", A, "户主"),
            ("H1", "王强", B, "配偶"),
            ("H2", "刘军", C, "户主"),
            ("H2", "张丽", make_id("50022219850505126"), "子女"),
            ("H3", "李明", D, "户主"),
        ]
    )
    first = pl.col("household_id") == "H1"
    town = pl.when(first).then(pl.lit("篆塘镇")).otherwise(pl.lit("东溪镇"))
    village = pl.when(first).then(pl.lit("新街村")).otherwise(pl.lit("双河村"))
    return frame.with_columns(town=town, village=village)


def housing(rows: Sequence[tuple[str, str, str | None, str | None]]) -> pl.DataFrame:
    """Staged housing frame from (record_id, name, id_number, address)."""
    recs = records([(r, n, i) for r, n, i, _ in rows])
    return recs.with_columns(address=pl.Series([a for *_, a in rows], dtype=pl.String))


def test_no_clue_record_links_by_name_and_village_of_the_head() -> None:
    """No id, but the address names 张丽's town and village: the head 张丽 links (name_address)."""
    recs = housing(
        [
            ("r1", "张丽", None, "綦江区篆塘镇新街村1组10号"),
            ("r2", "李明", None, "綦江区 东溪镇 双河村 3组 7号"),
        ]
    )
    out, review = link(recs, village_roster(), "housing")
    assert out["r1"]["person_ref"] == A and out["r1"]["match_method"] == "name_address"
    assert out["r1"]["household_id"] == "H1" and out["r1"]["match_status"] == "linked"
    assert out["r2"]["person_ref"] == D and out["r2"]["match_method"] == "name_address"
    assert 0.0 < out["r1"]["match_score"] < CONFIG.tier_base["name_birth"]
    assert review.is_empty()


def test_namesake_outsider_in_another_village_does_not_link() -> None:
    """张丽 without an id living in a village where no roster 张丽 lives: unmatched."""
    recs = housing([("r1", "张丽", None, "綦江区石壕镇新街村2组5号"), ("r2", "张丽", None, None)])
    out, review = link(recs, village_roster(), "housing")
    assert out["r1"]["match_status"] == "unmatched" and out["r1"]["person_ref"] is None
    assert out["r2"]["match_status"] == "unmatched" and review.is_empty()


def test_village_must_follow_its_town_not_just_appear_inside_another_name() -> None:
    """ "新街村" inside another town's address is not 篆塘镇新街村: unmatched."""
    recs = housing([("r1", "张丽", None, "綦江区三角镇新街村1组10号")])
    out, _ = link(recs, village_roster(), "housing")
    assert out["r1"]["match_status"] == "unmatched"


def test_only_namesake_in_village_who_is_not_the_head_goes_to_review() -> None:
    """The one 张丽 of 东溪镇双河村 is a child, not the 户主 the extract names: review."""
    recs = housing([("r1", "张丽", None, "綦江区东溪镇双河村1组10号")])
    out, review = link(recs, village_roster(), "housing")
    assert out["r1"]["match_status"] == "review" and out["r1"]["person_ref"] is None
    assert review["why"].to_list() == ["name_address_ambiguous"]


def test_two_roster_namesakes_in_one_village_go_to_review() -> None:
    """Two roster 李明 in 东溪镇双河村, both heads: never a pick, both reviewed."""
    ros = village_roster()
    twin = ros.filter(pl.col("household_id") == "H3").with_columns(
        household_id=pl.lit("H4"), id_number=pl.lit(make_id("50022219700505151"))
    )
    twin = twin.with_columns(id_columns()).with_columns(person_ref=pl.col("id_norm"))
    out, review = link(
        housing([("r1", "李明", None, "东溪镇双河村")]),
        pl.concat([ros, twin.select(ros.columns)]),
        "housing",
    )
    assert out["r1"]["match_status"] == "review" and review.height == 2


def test_record_with_an_id_is_not_linked_by_address() -> None:
    """An id that is nobody's (an outsider namesake) is not overridden by name + village."""
    recs = housing([("r1", "张丽", make_id(A[:14] + "999"), "篆塘镇新街村1组10号")])
    out, _ = link(recs, village_roster(), "housing")
    assert out["r1"]["match_status"] == "unmatched"


def test_departments_without_address_never_link_without_id() -> None:
    """A medical record with no id stays unmatched even when its name is unique in the roster."""
    out, review = link(records([("r1", "李明", None)]), village_roster(), "medical")
    assert out["r1"]["match_status"] == "unmatched" and review.is_empty()


def test_name_address_can_be_switched_off_and_is_counted() -> None:
    """enabled: false leaves the record unmatched; counts report no-clue links."""
    recs = housing([("r1", "张丽", None, "篆塘镇新街村1组10号")])
    off = MatchingConfig(tier_base=CONFIG.tier_base, name_address_enabled=False)
    out, _ = link(recs, village_roster(), "housing", config=off)
    assert out["r1"]["match_status"] == "unmatched"
    con = duckdb.connect()
    link_department(con, village_roster(), recs, "housing", CONFIG)
    counts = link_counts(con, "housing")
    assert counts["no_id_clue"] == 1 and counts["no_id_clue_linked"] == 1


def test_name_only_review_mode_marks_the_record_review() -> None:
    """name_only.mode review: the unique exact-name candidate is reviewed, status review."""
    cfg = MatchingConfig(tier_base=CONFIG.tier_base, name_only_mode="review")
    out, review = link(records([("r1", "李明", None)]), config=cfg)
    assert out["r1"]["match_status"] == "review" and review["person_ref"].to_list() == [D]


# --------------------------------------------------------------------------- disability


def test_certificate_id_used_when_id_blank() -> None:
    """Blank id_number: the id inside certificate_no links (cert_id)."""
    out, _ = link(records([("r1", "李明", None, D + "42")], cert=True), department="disability")
    assert out["r1"]["person_ref"] == D and out["r1"]["match_method"] == "cert_id"


def test_certificate_and_id_disagree_name_decides() -> None:
    """id says 李明, certificate says 张丽; the record's name 张丽 picks the certificate."""
    out, _ = link(records([("r1", "张丽", D, A + "11")], cert=True), department="disability")
    assert out["r1"]["person_ref"] == A and out["r1"]["match_method"] == "cert_id"


def test_certificate_and_id_both_agree_goes_to_review() -> None:
    """id and certificate point at two people who both carry the record's name: review."""
    ros = roster([("H1", "张丽", A, "户主"), ("H8", "张丽", D, "户主")])
    out, review = link(records([("r1", "张丽", D, A + "11")], cert=True), ros, "disability")
    assert out["r1"]["match_status"] == "review" and set(review["why"]) == {"cert_id_conflict"}


# --------------------------------------------------------------------------- whole output


def test_every_record_appears_exactly_once() -> None:
    """A mixed extract: one links row per record; review rows only for review records."""
    recs = records(
        [
            ("r1", "张丽", A),
            ("r2", "王强", A),
            ("r3", "钱多多", A),
            ("r4", "张丽", None),
            ("r5", "王强", transpose(B, 9)),
            ("r6", "李明", make_id(D[:14] + "777")),
            ("r7", "张丽", "123"),
        ]
    )
    out, review = link(recs)
    assert sorted(out) == [f"r{i}" for i in range(1, 8)]
    reviewed = {k for k, v in out.items() if v["match_status"] == "review"}
    assert set(review["record_id"]) == reviewed
    assert all(v["person_ref"] is None for k, v in out.items() if k in reviewed)
    assert all(0.0 <= v["match_score"] <= 1.0 for v in out.values())


def _fullwidth(s: str) -> str:
    return "".join(chr(0xFF10 + int(c)) if c.isdigit() else c for c in s)


ID_VARIANTS = st.sampled_from(
    [
        lambda s: s,
        lambda s: " " + s[:6] + " " + s[6:] + "\u3000",
        _fullwidth,
        lambda s: s.lower(),
        lambda s: s[:10] + "\u200b" + s[10:],
    ]
)
NAME_VARIANTS = st.sampled_from(
    [
        ("阿依古丽·买买提", "阿依古丽•买买提"),
        ("阿依古丽·买买提", "阿依古丽．买买提"),
        ("阿依古丽·买买提", "阿依古丽.买买提"),
        ("陈丽", "陳麗"),
        ("陈丽", " 陈 丽 "),
        ("陈丽", "陈\u3000丽"),
    ]
)


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(id_variant=ID_VARIANTS, names=NAME_VARIANTS)
def test_normalization_equivalent_inputs_link_the_same(
    id_variant: Any, names: tuple[str, str]
) -> None:
    """Spaces, full-width, lowercase x, traditional chars and dot variants link alike."""
    pid = x_id("65010119880808")
    canonical, variant = names
    ros = roster([("H6", canonical, pid, "户主")])
    out, _ = link(records([("a", canonical, pid), ("b", variant, id_variant(pid))]), ros)
    assert out["b"]["person_ref"] == out["a"]["person_ref"] == pid
    assert (out["b"]["match_method"], out["b"]["match_score"]) == (
        out["a"]["match_method"],
        out["a"]["match_score"],
    )


def test_steps_can_be_run_and_inspected_one_by_one() -> None:
    """Every step names the table it creates, so a step's output can be queried alone."""
    con = duckdb.connect()
    link_department(con, roster(), records([("r1", "张丽", A)]), "health", CONFIG)
    from transforms.linker import link_steps

    steps = link_steps("health", CONFIG, "*", "*", with_cert=False, roster_prefix="lk_roster_")
    tables = {
        r[0]
        for r in con.execute(
            "SELECT table_name FROM duckdb_tables() UNION SELECT view_name FROM duckdb_views()"
        ).fetchall()
    }
    assert all(s.name in tables for s in steps)
    fast = "SELECT count(*) FROM lk_health_base WHERE match_status = 'linked' AND NOT open"
    assert con.execute(fast).fetchall() == [(1,)]


def test_timings_name_every_step_run() -> None:
    """With a timings dict, every step run (the roster's first time included) gets its seconds."""
    from transforms.linker import link_steps

    con = duckdb.connect()
    timings: dict[str, float] = {}
    link_department(con, roster(), records([("r1", "张丽", A)]), "health", CONFIG, timings)
    steps = link_steps("health", CONFIG, "*", "*", with_cert=False, roster_prefix="lk_roster_")
    assert {s.name for s in steps} <= set(timings)
    assert "lk_roster_keys" in timings and all(t >= 0 for t in timings.values())


def test_release_drops_only_that_departments_tables() -> None:
    """Releasing a linked department drops its tables and views; the prepared roster and the
    other departments stay for the next link."""
    from transforms.linker import release_department

    con = duckdb.connect()
    for department in ("health", "medical"):
        link_department(con, roster(), records([("r1", "张丽", A)]), department, CONFIG)
    release_department(con, "health")
    names = {
        r[0]
        for r in con.execute(
            "SELECT table_name FROM duckdb_tables() UNION ALL SELECT view_name FROM duckdb_views()"
        ).fetchall()
    }
    assert not any(n.startswith("lk_health_") for n in names)
    assert "lk_medical_links" in names and any(n.startswith("lk_roster_") for n in names)


def test_config_rejects_windows_that_miss_an_edit() -> None:
    """Blocking windows that leave an adjacent pair uncovered are a configuration error."""
    with pytest.raises(ValueError, match="windows"):
        MatchingConfig(fuzzy_windows=((0, 9), (9, 18)))
