"""Tests for transforms.roster."""

import polars as pl

from transforms.roster import add_person_ref

ID = "500110199001011237"


def _roster(**cols: list[object]) -> pl.DataFrame:
    base = {
        "household_id": ["H1", "H1", "H2"],
        "name_norm": ["张丽", "王明", "李强"],
        "id_clean": [ID, "50011019900101", "500110199202021234"],
        "id_norm": [ID, None, None],
        "id_valid": [True, False, False],
        "source_file": ["a.xlsx"] * 3,
        "source_line": [3, 4, 5],
    }
    base.update(cols)
    return pl.DataFrame(base)


def test_valid_unique_id_is_the_reference() -> None:
    """A person with a valid id that nobody else has is referred to by it."""
    assert add_person_ref(_roster())["person_ref"][0] == ID


def test_invalid_id_falls_back_to_household_name_and_raw_id() -> None:
    """A broken id gives a reference built from what is stable between rosters."""
    refs = add_person_ref(_roster())["person_ref"].to_list()
    assert refs[1] == "R:H1:王明:50011019900101"


def test_duplicated_valid_id_never_shares_a_reference() -> None:
    """Two rows with the same valid id get distinct references, numbered by file order."""
    frame = _roster(
        id_norm=[ID, ID, None],
        id_valid=[True, True, False],
        id_clean=[ID, ID, "x"],
        name_norm=["张丽", "张丽", "李强"],
        household_id=["H1", "H1", "H2"],
    )
    refs = add_person_ref(frame)["person_ref"].to_list()
    assert refs[0] != refs[1] and len(set(refs)) == 3
