"""Grade bands (pure): which band a learner's roster grade falls in. Bands are labels such as "K-2",
"3-5", "6-8", "9-12" (the Portrait's grade-band descriptors use them); grades are the roster's (OneRoster)
values such as "KG", "PK", "01" ... "12", "13"."""

from __future__ import annotations

import json
import re
from collections.abc import Sequence

DEFAULT_BANDS: tuple[str, ...] = ("PK-K", "1-2", "3-5", "6-8", "9-12")
NO_GRADE = "No grade on the roster"
OTHER = "Other grades"
_GRADE_WORDS = {"IT": -3, "PR": -2, "PK": -1, "TK": -1, "K": 0, "KG": 0}
_RANGE = re.compile(r"^\s*([A-Za-z]+|\d+)\s*(?:-|\u2013|to)\s*([A-Za-z]+|\d+)\s*$")


def grade_number(grade: str) -> int | None:
    """ "KG" -> 0, "PK" -> -1, "07" -> 7, "Grade 12" -> 12; None when not a grade."""
    text = grade.strip().upper().removeprefix("GRADE").strip()
    if text in _GRADE_WORDS:
        return _GRADE_WORDS[text]
    return int(text) if text.isdigit() else None


def band_range(label: str) -> tuple[int, int] | None:
    """ "K-2" -> (0, 2), "9-12" -> (9, 12), "5" -> (5, 5); None when the label names no grades."""
    found = _RANGE.match(label)
    if found:
        low, high = grade_number(found.group(1)), grade_number(found.group(2))
        return (low, high) if low is not None and high is not None and low <= high else None
    one = grade_number(label)
    return (one, one) if one is not None else None


def bands_of(labels: Sequence[str]) -> list[tuple[str, tuple[int, int]]]:
    """The framework's band labels that name grades, in grade order; the defaults when there are none."""
    found = [(label, r) for label in dict.fromkeys(labels) if (r := band_range(label)) is not None]
    if not found:
        found = [(label, r) for label in DEFAULT_BANDS if (r := band_range(label)) is not None]
    return sorted(found, key=lambda item: item[1])


def band_for(grades_json: str, bands: Sequence[tuple[str, tuple[int, int]]]) -> str:
    """The band of a learner whose roster grades are ``grades_json`` (their first grade decides)."""
    try:
        grades = json.loads(grades_json) if grades_json else []
    except ValueError:
        grades = []
    if not isinstance(grades, list) or not grades or not isinstance(grades[0], str):
        return NO_GRADE
    number = grade_number(grades[0])
    if number is None:
        return OTHER
    for label, (low, high) in bands:
        if low <= number <= high:
            return label
    return OTHER
