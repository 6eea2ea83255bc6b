"""The district dashboard's use case: coverage and levels per competency by school and grade band.

The database aggregates (two grouped queries, see the repository); this module only folds their few rows
(schools x distinct roster grades x competencies x levels) into grade bands and district totals."""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Iterable

from sqlmodel.ext.asyncio.session import AsyncSession

from service.metrics.bands import band_for, bands_of
from service.metrics.repository import MetricsRepository
from service.metrics.schemas import BandCoverage, CompetencyCoverage, Dashboard, LevelInfo, SchoolCoverage


class MetricsService:
    def __init__(self, session: AsyncSession, tenant_id: uuid.UUID) -> None:
        self.repo = MetricsRepository(session, tenant_id)

    async def dashboard(
        self, *, within_schools: Iterable[uuid.UUID] | None, framework_id: uuid.UUID | None = None
    ) -> Dashboard:
        """``within_schools`` None: every school of the district (a district admin)."""
        frameworks = await self.repo.frameworks()
        chosen = next((f for f in frameworks if f.id == framework_id), None)
        if chosen is None:
            chosen = next(
                (f for f in frameworks if f.kind == "graduate"), frameworks[0] if frameworks else None
            )
        choices = [(f.id, f"{f.title} (version {f.version})") for f in frameworks]
        schools = await self.repo.schools(None if within_schools is None else list(within_schools))
        if chosen is None:
            return Dashboard(None, "", choices, [], [], None)
        competencies = await self.repo.competencies(chosen.id)
        levels = [LevelInfo(lv.position, lv.title, lv.proficient) for lv in await self.repo.levels(chosen.id)]
        bands = bands_of(
            [b.get("band", "") for c in competencies for b in c.grade_bands if isinstance(b, dict)]
        )
        order = {label: i for i, (label, _) in enumerate(bands)}
        school_ids = [s.id for s in schools]
        learners: dict[tuple[uuid.UUID, str], int] = defaultdict(int)
        for row in await self.repo.learner_counts(school_ids):
            learners[(row.school_id, band_for(row.grades, bands))] += row.learners
        coverage: dict[tuple[uuid.UUID, str, uuid.UUID], CompetencyCoverage] = {}
        titles = {c.id: c.title for c in competencies}
        for level_row in await self.repo.level_counts(chosen.id, school_ids):
            if level_row.competency_id not in titles:
                continue  # a sub-competency: the dashboard shows the Portrait's top level
            key = (level_row.school_id, band_for(level_row.grades, bands), level_row.competency_id)
            item = coverage.setdefault(
                key, CompetencyCoverage(level_row.competency_id, titles[level_row.competency_id])
            )
            item.covered += level_row.learners
            item.levels[level_row.level_position] = (
                item.levels.get(level_row.level_position, 0) + level_row.learners
            )

        def block(school_id: uuid.UUID | None, name: str, members: list[uuid.UUID]) -> SchoolCoverage:
            band_names = sorted(
                {band for (sid, band) in learners if sid in members},
                key=lambda b: (order.get(b, len(order)), b),
            )
            out: list[BandCoverage] = []
            for band in band_names:
                rows = []
                for comp in competencies:
                    total = CompetencyCoverage(comp.id, comp.title)
                    for sid in members:
                        part = coverage.get((sid, band, comp.id))
                        if part is not None:
                            total.covered += part.covered
                            for position, n in part.levels.items():
                                total.levels[position] = total.levels.get(position, 0) + n
                    rows.append(total)
                out.append(BandCoverage(band, sum(learners.get((sid, band), 0) for sid in members), rows))
            return SchoolCoverage(school_id, name, sum(b.learners for b in out), out)

        per_school = [block(s.id, s.name, [s.id]) for s in schools]
        district = block(
            None, "All your schools" if within_schools is not None else "The district", school_ids
        )
        return Dashboard(
            chosen.id,
            f"{chosen.title} (version {chosen.version})",
            choices,
            levels,
            per_school,
            district if len(schools) > 1 else None,
        )
