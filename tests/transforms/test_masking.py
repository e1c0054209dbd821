"""Masking expressions for the published tier (contract section 2)."""

from __future__ import annotations

import polars as pl

from transforms.masking import mask_id, mask_name


def names(values: list[str | None]) -> list[str | None]:
    frame = pl.DataFrame({"n": values}, schema={"n": pl.Utf8})
    return frame.select(mask_name(pl.col("n")).alias("m"))["m"].to_list()


def ids(values: list[str | None]) -> list[str | None]:
    frame = pl.DataFrame({"i": values}, schema={"i": pl.Utf8})
    return frame.select(mask_id(pl.col("i")).alias("m"))["m"].to_list()


def test_mask_name_three_two_one_and_long() -> None:
    """Names: 3+ chars → first*last, 2 chars → first*, 1 char → *; length is not revealed."""
    assert names(["张小丽", "张丽", "王", "欧阳娜娜", None]) == ["张*丽", "张*", "*", "欧*娜", None]


def test_mask_name_minority_parts_masked_each() -> None:
    """Minority names: each part around the middle dot is masked on its own."""
    assert names(["阿依古丽·买买提", "米拉·艾"]) == ["阿*丽·买*提", "米*·*"]


def test_mask_id_keeps_area_and_last_four() -> None:
    """ID numbers: 500222********1234; a 15-digit number keeps 6 + 4 too; short text all stars."""
    assert ids(["500222199001011234", "500222900101123", "12345", "", None]) == [
        "500222********1234",
        "500222*****1123",
        "*****",
        "",
        None,
    ]
