"""What the dashboard reads (not tables)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field


@dataclass(frozen=True)
class LevelInfo:
    position: int
    title: str
    proficient: bool


@dataclass
class CompetencyCoverage:
    competency_id: uuid.UUID
    title: str
    #: Learners with at least one active piece of evidence on this competency.
    covered: int = 0
    #: Learners by the level of their most recent piece (position -> learners); None: no rubric level.
    levels: dict[int | None, int] = field(default_factory=dict)

    def proficient(self, proficient_positions: set[int]) -> int:
        return sum(n for position, n in self.levels.items() if position in proficient_positions)


@dataclass
class BandCoverage:
    band: str
    learners: int
    competencies: list[CompetencyCoverage]


@dataclass
class SchoolCoverage:
    school_id: uuid.UUID | None  # None: the district (all schools in reach)
    name: str
    learners: int
    bands: list[BandCoverage]


@dataclass
class Dashboard:
    framework_id: uuid.UUID | None
    framework_title: str
    frameworks: list[tuple[uuid.UUID, str]]
    levels: list[LevelInfo]
    schools: list[SchoolCoverage]
    district: SchoolCoverage | None

    @property
    def proficient_positions(self) -> set[int]:
        first = next((lv.position for lv in self.levels if lv.proficient), None)
        return {lv.position for lv in self.levels if first is not None and lv.position >= first}
