"""Every query of the transcripts domain."""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import func
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from service.badges.models import IssuedCredential
from service.db import fetch_page
from service.evidence.models import Evidence
from service.frameworks.models import Competency, Framework, FrameworkAttribute, LevelDescriptor, RubricLevel
from service.roster.models import Enrollment, Org, Person, PersonOrg
from service.schemas import PageParams
from service.transcripts.models import Transcript, TranscriptRecord

TRANSCRIPT_KEY_PREFIX = "transcript:"


class TranscriptRepository:
    def __init__(self, session: AsyncSession, tenant_id: uuid.UUID) -> None:
        self.session = session
        self.tenant_id = tenant_id

    # -- learners and cohorts ------------------------------------------------------------------------

    async def learners(self, ids: Iterable[uuid.UUID]) -> dict[uuid.UUID, Person]:
        wanted = list(set(ids))
        if not wanted:
            return {}
        rows = await self.session.exec(
            select(Person).where(
                col(Person.tenant_id) == self.tenant_id,
                col(Person.id).in_(wanted),
                col(Person.role) == "student",
            )
        )
        return {p.id: p for p in rows.all()}

    async def school_learner_ids(self, school_id: uuid.UUID, grade: str | None) -> list[uuid.UUID]:
        """Active learners of a school (by membership), optionally of one grade, in id order."""
        rows = await self.session.exec(
            select(Person.id, Person.grades)
            .where(
                col(Person.tenant_id) == self.tenant_id,
                col(Person.role) == "student",
                col(Person.status) == "active",
                col(Person.id).in_(
                    select(PersonOrg.person_id).where(
                        col(PersonOrg.tenant_id) == self.tenant_id, col(PersonOrg.org_id) == school_id
                    )
                ),
            )
            .order_by(col(Person.id))
        )
        return [pid for pid, grades in rows.all() if grade is None or grade in (grades or [])]

    async def org_by_sourced_id(self, sourced_id: str) -> uuid.UUID | None:
        rows = await self.session.exec(
            select(Org.id).where(col(Org.tenant_id) == self.tenant_id, col(Org.sourced_id) == sourced_id)
        )
        return rows.first()

    async def class_learner_ids(self, class_id: uuid.UUID) -> list[uuid.UUID]:
        rows = await self.session.exec(
            select(Person.id)
            .where(
                col(Person.tenant_id) == self.tenant_id,
                col(Person.role) == "student",
                col(Person.id).in_(
                    select(Enrollment.person_id).where(
                        col(Enrollment.tenant_id) == self.tenant_id,
                        col(Enrollment.class_id) == class_id,
                        col(Enrollment.role) == "student",
                    )
                ),
            )
            .order_by(col(Person.id))
        )
        return list(rows.all())

    # -- the Portrait --------------------------------------------------------------------------------

    async def framework(self, framework_id: uuid.UUID | None) -> Framework | None:
        """The given framework, else the latest published Portrait of a Graduate (else any published)."""
        if framework_id is not None:
            return await self.session.get(Framework, (self.tenant_id, framework_id))
        rows = await self.session.exec(
            select(Framework)
            .where(col(Framework.tenant_id) == self.tenant_id, col(Framework.status) == "published")
            .order_by(
                (col(Framework.kind) == "graduate").desc(),
                col(Framework.published_at).desc(),
                col(Framework.id),
            )
            .limit(1)
        )
        return rows.first()

    async def framework_parts(
        self, framework_id: uuid.UUID
    ) -> tuple[
        list[FrameworkAttribute], list[Competency], list[RubricLevel], dict[uuid.UUID, dict[uuid.UUID, str]]
    ]:
        attributes = await self.session.exec(
            select(FrameworkAttribute)
            .where(
                col(FrameworkAttribute.tenant_id) == self.tenant_id,
                col(FrameworkAttribute.framework_id) == framework_id,
            )
            .order_by(col(FrameworkAttribute.position), col(FrameworkAttribute.id))
        )
        competencies = await self.session.exec(
            select(Competency)
            .where(col(Competency.tenant_id) == self.tenant_id, col(Competency.framework_id) == framework_id)
            .order_by(col(Competency.position), col(Competency.id))
        )
        levels = await self.session.exec(
            select(RubricLevel)
            .where(
                col(RubricLevel.tenant_id) == self.tenant_id, col(RubricLevel.framework_id) == framework_id
            )
            .order_by(col(RubricLevel.position))
        )
        competency_rows = list(competencies.all())
        descriptors: dict[uuid.UUID, dict[uuid.UUID, str]] = {}
        if competency_rows:
            rows = await self.session.exec(
                select(LevelDescriptor).where(
                    col(LevelDescriptor.tenant_id) == self.tenant_id,
                    col(LevelDescriptor.competency_id).in_([c.id for c in competency_rows]),
                )
            )
            for d in rows.all():
                descriptors.setdefault(d.competency_id, {})[d.level_id] = d.description
        return list(attributes.all()), competency_rows, list(levels.all()), descriptors

    async def best_levels(
        self,
        learner_ids: Sequence[uuid.UUID],
        competency_ids: Sequence[uuid.UUID],
        *,
        until: datetime,
        include_self_assessments: bool,
    ) -> dict[tuple[uuid.UUID, uuid.UUID], tuple[int, bool]]:
        """``(learner, competency) -> (highest level position, a self-assessment counted)`` of active
        evidence observed before ``until``."""
        if not learner_ids or not competency_ids:
            return {}
        conditions = [
            col(Evidence.tenant_id) == self.tenant_id,
            col(Evidence.learner_id).in_(list(learner_ids)),
            col(Evidence.competency_id).in_(list(competency_ids)),
            col(Evidence.status) == "active",
            col(Evidence.level_position).is_not(None),
            col(Evidence.observed_at) < until,
        ]
        if not include_self_assessments:
            conditions.append(col(Evidence.source) != "self_assessment")
        rows = await self.session.exec(
            select(
                Evidence.learner_id,
                Evidence.competency_id,
                Evidence.source,
                func.max(Evidence.level_position),
            )
            .where(*conditions)
            .group_by(col(Evidence.learner_id), col(Evidence.competency_id), col(Evidence.source))
        )
        best: dict[tuple[uuid.UUID, uuid.UUID], tuple[int, bool]] = {}
        by_source: dict[tuple[uuid.UUID, uuid.UUID], list[tuple[int, str]]] = {}
        for learner_id, competency_id, source, position in rows.all():
            if position is not None:
                by_source.setdefault((learner_id, competency_id), []).append((int(position), source))
        for key, items in by_source.items():
            top = max(position for position, _ in items)
            others = [position for position, source in items if source != "self_assessment"]
            # The self-assessment "counted" when it alone reaches the top level.
            best[key] = (top, not others or max(others) < top)
        return best

    async def self_assessed_learners(
        self, learner_ids: Sequence[uuid.UUID], until: datetime
    ) -> set[uuid.UUID]:
        """Learners with active self-assessment evidence (to say that it was left out)."""
        if not learner_ids:
            return set()
        rows = await self.session.exec(
            select(Evidence.learner_id)
            .where(
                col(Evidence.tenant_id) == self.tenant_id,
                col(Evidence.learner_id).in_(list(learner_ids)),
                col(Evidence.source) == "self_assessment",
                col(Evidence.status) == "active",
                col(Evidence.observed_at) < until,
            )
            .distinct()
        )
        return set(rows.all())

    # -- badges --------------------------------------------------------------------------------------

    async def badges(self, learner_ids: Sequence[uuid.UUID], until: datetime) -> dict[uuid.UUID, list[str]]:
        """Each learner's unrevoked badges issued before ``until`` (signed JSON text), oldest first."""
        if not learner_ids:
            return {}
        rows = await self.session.exec(
            select(IssuedCredential.learner_id, IssuedCredential.document)
            .where(
                col(IssuedCredential.tenant_id) == self.tenant_id,
                col(IssuedCredential.learner_id).in_(list(learner_ids)),
                col(IssuedCredential.achievement_id).is_not(None),
                col(IssuedCredential.revoked_at).is_(None),
                col(IssuedCredential.issued_at) < until,
            )
            .order_by(col(IssuedCredential.issued_at), col(IssuedCredential.id))
        )
        out: dict[uuid.UUID, list[str]] = {}
        for learner_id, document in rows.all():
            if learner_id is not None:
                out.setdefault(learner_id, []).append(document)
        return out

    # -- records and transcripts ---------------------------------------------------------------------

    async def records(self, learner_ids: Sequence[uuid.UUID]) -> dict[tuple[uuid.UUID, str, str, str], str]:
        """Signed records by ``(learner, kind, source_ref, content_hash)``."""
        if not learner_ids:
            return {}
        rows = await self.session.exec(
            select(TranscriptRecord).where(
                col(TranscriptRecord.tenant_id) == self.tenant_id,
                col(TranscriptRecord.learner_id).in_(list(learner_ids)),
            )
        )
        return {(r.learner_id, r.kind, r.source_ref, r.content_hash): r.document for r in rows.all()}

    async def insert_records(self, rows: list[dict[str, Any]]) -> None:
        """Store new records; one stored meanwhile by a concurrent transcript with the same key wins
        (``ON CONFLICT DO NOTHING``: both say the same)."""
        if not rows:
            return
        dialect = self.session.get_bind().dialect.name
        builder = pg_insert if dialect == "postgresql" else sqlite_insert
        statement = builder(TranscriptRecord).values(rows).on_conflict_do_nothing()
        await self.session.exec(statement)

    async def stored_record(
        self, learner_id: uuid.UUID, kind: str, source_ref: str, digest: str
    ) -> str | None:
        rows = await self.session.exec(
            select(TranscriptRecord.document).where(
                col(TranscriptRecord.tenant_id) == self.tenant_id,
                col(TranscriptRecord.learner_id) == learner_id,
                col(TranscriptRecord.kind) == kind,
                col(TranscriptRecord.source_ref) == source_ref,
                col(TranscriptRecord.content_hash) == digest,
            )
        )
        return rows.first()

    async def learners_with_job_transcript(
        self, learner_ids: Sequence[uuid.UUID], job_id: uuid.UUID
    ) -> set[uuid.UUID]:
        if not learner_ids:
            return set()
        rows = await self.session.exec(
            select(Transcript.learner_id).where(
                col(Transcript.tenant_id) == self.tenant_id,
                col(Transcript.job_id) == job_id,
                col(Transcript.learner_id).in_(list(learner_ids)),
            )
        )
        return set(rows.all())

    async def add(self, *objs: Any) -> None:
        self.session.add_all(objs)
        await self.session.flush()

    async def get(self, transcript_id: uuid.UUID) -> tuple[Transcript, IssuedCredential] | None:
        rows = await self.session.exec(
            select(Transcript, IssuedCredential)
            .join(IssuedCredential, col(IssuedCredential.id) == col(Transcript.id))
            .where(col(Transcript.tenant_id) == self.tenant_id, col(Transcript.id) == transcript_id)
        )
        row = rows.first()
        return (row[0], row[1]) if row is not None else None

    async def list(
        self,
        page: PageParams,
        *,
        learner_id: uuid.UUID | None = None,
        job_id: uuid.UUID | None = None,
        status: str | None = None,
    ) -> tuple[list[tuple[Transcript, IssuedCredential]], int]:
        query = select(Transcript).where(col(Transcript.tenant_id) == self.tenant_id)
        if learner_id is not None:
            query = query.where(col(Transcript.learner_id) == learner_id)
        if job_id is not None:
            query = query.where(col(Transcript.job_id) == job_id)
        if status is not None:
            revoked = select(IssuedCredential.id).where(
                col(IssuedCredential.tenant_id) == self.tenant_id,
                col(IssuedCredential.revoked_at).is_not(None),
            )
            query = query.where(
                col(Transcript.id).in_(revoked) if status == "revoked" else col(Transcript.id).not_in(revoked)
            )
        transcripts, total = await fetch_page(
            self.session, query, page, col(Transcript.issued_at).desc(), col(Transcript.id)
        )
        ids = [t.id for t in transcripts]
        credentials: dict[uuid.UUID, IssuedCredential] = {}
        if ids:
            rows = await self.session.exec(select(IssuedCredential).where(col(IssuedCredential.id).in_(ids)))
            credentials = {c.id: c for c in rows.all()}
        return [(t, credentials[t.id]) for t in transcripts if t.id in credentials], total


class PublicTranscriptRepository:
    """Lookups by the transcript's public (unguessable) UUID, across tenants."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def get(self, transcript_id: uuid.UUID) -> tuple[Transcript, IssuedCredential] | None:
        rows = await self.session.exec(
            select(Transcript, IssuedCredential)
            .join(IssuedCredential, col(IssuedCredential.id) == col(Transcript.id))
            .where(col(Transcript.id) == transcript_id)
        )
        row = rows.first()
        return (row[0], row[1]) if row is not None else None
