"""CASE 1.1 CFPackages of the demo district's portraits, loaded through the regular CASE import.

- ``portrait_of_a_graduate``: six competencies under three attributes, grade-band descriptors (K-2, 3-5,
  6-8, 9-12), look-fors, a four-level rubric with a descriptor per competency and level, and a launch
  schedule of one competency per school year from 2025-26 (``extensions.portraitLaunchSchoolYear``).
- ``portrait_of_a_leader``: the Portrait of a Leader (five attributes, two of them foundational, seventeen
  competencies written at the proficient level, the three-level self-reflection rubric).

Identifiers are fixed UUIDs, so every demo run produces the same frameworks.
"""

from __future__ import annotations

import json
from importlib import resources
from typing import Any

NAMES: tuple[str, ...] = ("portrait_of_a_graduate", "portrait_of_a_leader")


def load(name: str) -> dict[str, Any]:
    """The parsed CFPackage ``name`` (one of :data:`NAMES`; a ``.json`` suffix is accepted)."""
    stem = name.removesuffix(".json")
    if stem not in NAMES:
        raise KeyError(f"unknown demo package {name!r}; expected one of {', '.join(NAMES)}")
    text = resources.files(__name__).joinpath(f"{stem}.json").read_text(encoding="utf-8")
    data: dict[str, Any] = json.loads(text)
    return data
