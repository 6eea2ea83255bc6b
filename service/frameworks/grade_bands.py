"""Which grade band a class is in (pure): grade-band labels such as ``"K-2"``, ``"6-8"``, ``"9-12"`` or
``"PK"`` against OneRoster grades such as ``"KG"``, ``"09"``, ``"12"``."""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Protocol, TypeVar

_WORDS = {"PK": -1, "PREK": -1, "TK": -1, "K": 0, "KG": 0}
_RANGE = re.compile(r"^\s*([A-Za-z]+|\d{1,2})\s*(?:[-\u2013\u2014]|to)\s*([A-Za-z]+|\d{1,2})\s*$")


class Band(Protocol):
    @property
    def band(self) -> str: ...


def grade_number(grade: str) -> int | None:
    """``"09"`` -> 9, ``"KG"`` / ``"K"`` -> 0, ``"PK"`` -> -1; others (``"13"``, ``"Other"``) -> None."""
    text = grade.strip().upper()
    if text in _WORDS:
        return _WORDS[text]
    if text.isdigit() and 1 <= int(text) <= 12:
        return int(text)
    return None


def band_range(label: str) -> tuple[int, int] | None:
    """The grades a band label covers: ``"9-12"`` -> (9, 12), ``"K-2"`` -> (0, 2), ``"PK"`` -> (-1, -1)."""
    found = _RANGE.match(label)
    if found:
        low, high = grade_number(found.group(1)), grade_number(found.group(2))
        if low is not None and high is not None and low <= high:
            return low, high
        return None
    single = grade_number(label)
    return (single, single) if single is not None else None


B = TypeVar("B", bound=Band)


def band_for(bands: Sequence[B], grades: Sequence[str]) -> B | None:
    """The band that holds most of the grades (ties: the lower band); None when no grade is known."""
    numbers = [n for n in (grade_number(g) for g in grades) if n is not None]
    best: B | None = None
    best_count = 0
    for band in bands:
        covered = band_range(band.band)
        if covered is None:
            continue
        count = sum(covered[0] <= n <= covered[1] for n in numbers)
        if count > best_count:
            best, best_count = band, count
    return best
