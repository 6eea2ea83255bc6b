"""Every query of the metrics domain: SQL aggregates over evidence and the roster, scoped by tenant (and by
schools when a person's reach is narrower than the district). No row per learner leaves the database."""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import String, and_, cast, func
from sqlalchemy import select as sa_select
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from service.evidence.models import Evidence
from service.frameworks.models import Competency, Framework, RubricLevel
from service.roster.models import Org, Person, PersonOrg


@dataclass(frozen=True)
class LearnerCount:
    school_id: uuid.UUID
    grades: str  # the roster's grades list as JSON text (a handful of distinct values per school)
    learners: int


@dataclass(frozen=True)
class LevelCount:
    school_id: uuid.UUID
    grades: str
    competency_id: uuid.UUID
    level_position: int | None  # the most recent piece's level; None when it has no rubric level
    learners: int


class MetricsRepository:
    def __init__(self, session: AsyncSession, tenant_id: uuid.UUID) -> None:
        self.session = session
        self.tenant_id = tenant_id

    async def frameworks(self) -> list[Framework]:
        """Published frameworks, newest first (the dashboard shows one at a time)."""
        query = (
            select(Framework)
            .where(col(Framework.tenant_id) == self.tenant_id, col(Framework.status) == "published")
            .order_by(col(Framework.published_at).desc(), col(Framework.id))
        )
        return list((await self.session.exec(query)).all())

    async def competencies(self, framework_id: uuid.UUID) -> list[Competency]:
        query = (
            select(Competency)
            .where(
                col(Competency.tenant_id) == self.tenant_id,
                col(Competency.framework_id) == framework_id,
                col(Competency.parent_id).is_(None),
            )
            .order_by(col(Competency.position), col(Competency.title), col(Competency.id))
        )
        return list((await self.session.exec(query)).all())

    async def levels(self, framework_id: uuid.UUID) -> list[RubricLevel]:
        query = (
            select(RubricLevel)
            .where(
                col(RubricLevel.tenant_id) == self.tenant_id, col(RubricLevel.framework_id) == framework_id
            )
            .order_by(col(RubricLevel.position))
        )
        return list((await self.session.exec(query)).all())

    async def schools(self, within: Iterable[uuid.UUID] | None) -> list[Org]:
        query = select(Org).where(
            col(Org.tenant_id) == self.tenant_id, col(Org.type) == "school", col(Org.status) == "active"
        )
        if within is not None:
            query = query.where(col(Org.id).in_(list(within)))
        return list((await self.session.exec(query.order_by(col(Org.name), col(Org.id)))).all())

    def _learners_in(self, school_ids: list[uuid.UUID]):  # type: ignore[no-untyped-def]
        grades = cast(col(Person.grades), String).label("grades")
        return (
            sa_select(col(PersonOrg.org_id).label("school_id"), col(Person.id).label("learner_id"), grades)
            .join(Person, col(Person.id) == col(PersonOrg.person_id))
            .where(
                col(PersonOrg.tenant_id) == self.tenant_id,
                col(PersonOrg.org_id).in_(school_ids),
                col(Person.tenant_id) == self.tenant_id,
                col(Person.role) == "student",
                col(Person.status) == "active",
            )
            .distinct()
        )

    async def learner_counts(self, school_ids: list[uuid.UUID]) -> list[LearnerCount]:
        """Active learners per school and roster grades."""
        if not school_ids:
            return []
        learners = self._learners_in(school_ids).subquery()
        query = sa_select(learners.c.school_id, learners.c.grades, func.count()).group_by(
            learners.c.school_id, learners.c.grades
        )
        rows = await self.session.execute(query)
        return [LearnerCount(r[0], r[1] or "[]", int(r[2])) for r in rows]

    async def level_counts(self, framework_id: uuid.UUID, school_ids: list[uuid.UUID]) -> list[LevelCount]:
        """Per school, roster grades and competency: how many learners have evidence, by the level of their
        most recent active piece (the learner page's "current level")."""
        if not school_ids:
            return []
        ranked = (
            sa_select(
                col(Evidence.learner_id).label("learner_id"),
                col(Evidence.competency_id).label("competency_id"),
                col(Evidence.level_position).label("level_position"),
                func.row_number()
                .over(
                    partition_by=(col(Evidence.learner_id), col(Evidence.competency_id)),
                    order_by=(col(Evidence.observed_at).desc(), col(Evidence.id).desc()),
                )
                .label("rank"),
            )
            .where(
                col(Evidence.tenant_id) == self.tenant_id,
                col(Evidence.framework_id) == framework_id,
                col(Evidence.status) == "active",
            )
            # Computed once (MATERIALIZED, PostgreSQL 12+ and SQLite 3.35+): a planner misled by stale
            # statistics would otherwise re-run the window for every learner of a nested loop.
            .cte("latest")
            .prefix_with("MATERIALIZED")
        )
        learners = self._learners_in(school_ids).cte("learners").prefix_with("MATERIALIZED")
        query = (
            sa_select(
                learners.c.school_id,
                learners.c.grades,
                ranked.c.competency_id,
                ranked.c.level_position,
                func.count(),
            )
            .select_from(ranked)
            .join(learners, and_(learners.c.learner_id == ranked.c.learner_id, ranked.c.rank == 1))
            .group_by(
                learners.c.school_id, learners.c.grades, ranked.c.competency_id, ranked.c.level_position
            )
        )
        rows = await self.session.execute(query)
        return [LevelCount(r[0], r[1] or "[]", r[2], r[3], int(r[4])) for r in rows]
