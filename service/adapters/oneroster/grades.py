"""Grades to evidence: which competency a result speaks to, and at which rubric level. Pure."""

from __future__ import annotations

import hashlib
import uuid
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Rule:
    competency_id: uuid.UUID
    cut_scores: tuple[tuple[float, int], ...]


def level_for(
    score: float, low: float | None, high: float | None, cuts: tuple[tuple[float, int], ...]
) -> int | None:
    """The rubric level a score earns: the highest cut whose ``min_percent`` the score reaches."""
    lo = 0.0 if low is None else low
    hi = 100.0 if high is None else high
    if hi <= lo:
        return None
    percent = max(0.0, min(100.0, (score - lo) / (hi - lo) * 100))
    earned: int | None = None
    for minimum, level in cuts:
        if percent + 1e-9 >= minimum:
            earned = level
    return earned


def rules_for(
    line_item_sid: str,
    category_sid: str | None,
    objective_ids: list[str],
    maps: dict[str, Any],
    known_competencies: set[uuid.UUID],
) -> list[Rule]:
    """Explicit line item map first, then the category's, then the line item's CASE objectives."""
    by_item, by_category, default = maps["line_items"], maps["categories"], maps["objectives"]
    if line_item_sid in by_item:
        return [by_item[line_item_sid]]
    if category_sid is not None and category_sid in by_category:
        return [by_category[category_sid]]
    if default is None:
        return []
    out = []
    for raw in objective_ids:
        try:
            competency = uuid.UUID(str(raw))
        except ValueError:
            continue
        if competency in known_competencies:
            out.append(Rule(competency, default))
    return out


def ref_prefix(result_sourced_id: str) -> str:
    """What every evidence ``external_ref`` of a result starts with (a digest for very long ids)."""
    if len(result_sourced_id) <= 255 - len("oneroster::") - 36:
        return f"oneroster:{result_sourced_id}:"
    digest = hashlib.sha256(result_sourced_id.encode("utf-8")).hexdigest()
    return f"oneroster:sha256-{digest}:"


def external_ref(result_sourced_id: str, competency_id: uuid.UUID) -> str:
    """The evidence's stable link to (result, competency), within the 255-character column."""
    return f"{ref_prefix(result_sourced_id)}{competency_id}"
