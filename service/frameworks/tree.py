"""An I/O-free picture of a whole framework: what CASE import produces and CASE export consumes.

The database layer saves and loads it; ``service.frameworks.case`` maps it to and from CFPackages.
Identifiers are kept, so import -> export -> import gives the same tree.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

KINDS = ("graduate", "learner", "educator", "leader", "system", "self")
STATUSES = ("draft", "published", "retired")
CATEGORIES = ("core", "technical", "transferable")


@dataclass
class GradeBand:
    band: str  # e.g. "K-2", "3-5", "6-8", "9-12"
    descriptor: str


@dataclass
class LevelNode:
    id: uuid.UUID
    position: int  # 0 = lowest
    title: str
    description: str | None = None
    score: float | None = None
    proficient: bool = False


@dataclass
class DescriptorNode:
    id: uuid.UUID
    level_id: uuid.UUID
    description: str


@dataclass
class CompetencyNode:
    id: uuid.UUID
    title: str
    statement: str
    code: str | None = None
    category: str | None = None
    attribute_id: uuid.UUID | None = None
    parent_id: uuid.UUID | None = None  # another competency
    position: int = 0
    grade_bands: list[GradeBand] = field(default_factory=list)
    look_fors: list[str] = field(default_factory=list)
    launch_school_year: int | None = None
    association_id: uuid.UUID = field(default_factory=uuid.uuid4)
    criterion_id: uuid.UUID = field(default_factory=uuid.uuid4)
    descriptors: list[DescriptorNode] = field(default_factory=list)
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass
class AttributeNode:
    id: uuid.UUID
    title: str
    code: str | None = None
    description: str | None = None
    foundational: bool = False
    position: int = 0
    association_id: uuid.UUID = field(default_factory=uuid.uuid4)
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass
class FrameworkTree:
    id: uuid.UUID
    kind: str
    title: str
    version: str = "1"
    status: str = "draft"
    adoption_date: date | None = None
    description: str | None = None
    creator: str | None = None
    publisher: str | None = None
    language: str | None = None
    subjects: list[str] = field(default_factory=list)
    rubric_id: uuid.UUID = field(default_factory=uuid.uuid4)
    last_change: datetime | None = None
    attributes: list[AttributeNode] = field(default_factory=list)
    competencies: list[CompetencyNode] = field(default_factory=list)
    levels: list[LevelNode] = field(default_factory=list)
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass
class ImportReport:
    """What an import did: counts, and what it ignored or adjusted (leniency made visible)."""

    items: int = 0
    attributes: int = 0
    competencies: int = 0
    levels: int = 0
    associations: int = 0
    ignored: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
