"""Grade bands: roster grades to the Portrait's band labels (pure, table-driven)."""

from __future__ import annotations

import pytest

from service.metrics.bands import DEFAULT_BANDS, NO_GRADE, OTHER, band_for, band_range, bands_of, grade_number

STANDARD = bands_of(["K-2", "3-5", "6-8", "9-12", "3-5"])


@pytest.mark.parametrize(
    ("grade", "number"),
    [
        ("KG", 0),
        ("K", 0),
        ("PK", -1),
        ("01", 1),
        ("7", 7),
        ("12", 12),
        ("13", 13),
        ("Grade 9", 9),
        ("Ungraded", None),
        ("", None),
    ],
)
def test_grade_number(grade: str, number: int | None) -> None:
    assert grade_number(grade) == number


@pytest.mark.parametrize(
    ("label", "expected"),
    [
        ("K-2", (0, 2)),
        ("9-12", (9, 12)),
        ("3 to 5", (3, 5)),
        ("K\u20132", (0, 2)),
        ("5", (5, 5)),
        ("12-9", None),
        ("Seniors", None),
    ],
)
def test_band_range(label: str, expected: tuple[int, int] | None) -> None:
    assert band_range(label) == expected


@pytest.mark.parametrize(
    ("grades", "band"),
    [
        ('["12"]', "9-12"),
        ('["09", "10"]', "9-12"),  # the first grade decides
        ('["KG"]', "K-2"),
        ('["06"]', "6-8"),
        ('["PK"]', OTHER),  # below every band of this Portrait
        ('["Ungraded"]', OTHER),
        ("[]", NO_GRADE),
        ("", NO_GRADE),
        ("not json", NO_GRADE),
        ("[12]", NO_GRADE),
    ],
)
def test_band_for(grades: str, band: str) -> None:
    assert band_for(grades, STANDARD) == band


def test_bands_are_in_grade_order_once_each_and_default_when_the_portrait_has_none() -> None:
    assert [label for label, _ in STANDARD] == ["K-2", "3-5", "6-8", "9-12"]
    assert [label for label, _ in bands_of(["Seniors"])] == list(DEFAULT_BANDS)
    assert band_for('["PK"]', bands_of([])) == "PK-K"
