"""Every query of the evidence domain, batched: a bulk request costs a handful of statements."""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import update
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from service.db import bulk_insert, fetch_page, one_of
from service.evidence.models import Evidence, IdempotencyRecord
from service.frameworks.models import Competency, Framework, RubricLevel
from service.roster.models import AcademicSession, Class, Person
from service.schemas import PageParams

_JSON_COLUMNS = frozenset({"artifacts"})


class EvidenceRepository:
    def __init__(self, session: AsyncSession, tenant_id: uuid.UUID) -> None:
        self.session = session
        self.tenant_id = tenant_id

    # -- reference resolution ------------------------------------------------------------------

    async def learners_by_id(self, ids: Iterable[uuid.UUID], *, lock: bool = False) -> dict[uuid.UUID, str]:
        """id -> role for people of this tenant. ``lock``: on PostgreSQL also lock the rows found as
        :meth:`AwardRepository.lock_learners` does (in id order, FOR NO KEY UPDATE), in the same
        statement: evidence ingest looks its learners up and then locks them for evaluation anyway."""
        wanted = list(set(ids))
        if not wanted:
            return {}
        query = select(Person.id, Person.role).where(
            col(Person.tenant_id) == self.tenant_id, one_of(self.session, col(Person.id), wanted)
        )
        if lock and self.session.get_bind().dialect.name == "postgresql":
            query = query.order_by(col(Person.id)).with_for_update(key_share=True)
        rows = await self.session.exec(query)
        return {r[0]: r[1] for r in rows.all()}

    async def learners_by_sourced_id(self, sourced_ids: Iterable[str]) -> dict[str, tuple[uuid.UUID, str]]:
        wanted = list(set(sourced_ids))
        if not wanted:
            return {}
        rows = await self.session.exec(
            select(Person.sourced_id, Person.id, Person.role).where(
                col(Person.tenant_id) == self.tenant_id, col(Person.sourced_id).in_(wanted)
            )
        )
        return {str(r[0]): (r[1], r[2]) for r in rows.all()}

    async def competencies(self, ids: Iterable[uuid.UUID]) -> dict[uuid.UUID, tuple[uuid.UUID, str]]:
        """competency id -> (framework id, framework status)."""
        wanted = list(set(ids))
        if not wanted:
            return {}
        rows = await self.session.exec(
            select(Competency.id, Competency.framework_id, Framework.status)
            .join(
                Framework,
                (col(Framework.tenant_id) == col(Competency.tenant_id))
                & (col(Framework.id) == col(Competency.framework_id)),
            )
            .where(col(Competency.tenant_id) == self.tenant_id, col(Competency.id).in_(wanted))
        )
        return {r[0]: (r[1], r[2]) for r in rows.all()}

    async def levels(self, framework_ids: Iterable[uuid.UUID]) -> Sequence[RubricLevel]:
        wanted = list(set(framework_ids))
        if not wanted:
            return []
        rows = await self.session.exec(
            select(RubricLevel).where(
                col(RubricLevel.tenant_id) == self.tenant_id, col(RubricLevel.framework_id).in_(wanted)
            )
        )
        return rows.all()

    async def existing(self, model: Any, ids: Iterable[uuid.UUID]) -> set[uuid.UUID]:
        wanted = list(set(ids))
        if not wanted:
            return set()
        rows = await self.session.exec(
            select(model.id).where(model.tenant_id == self.tenant_id, one_of(self.session, model.id, wanted))
        )
        return set(rows.all())

    async def classes(self, ids: Iterable[uuid.UUID]) -> set[uuid.UUID]:
        return await self.existing(Class, ids)

    async def sessions(self, ids: Iterable[uuid.UUID]) -> set[uuid.UUID]:
        return await self.existing(AcademicSession, ids)

    # -- evidence ------------------------------------------------------------------------------

    async def get(self, evidence_id: uuid.UUID) -> Evidence | None:
        return await self.session.get(Evidence, (self.tenant_id, evidence_id))

    async def get_many(self, ids: Iterable[uuid.UUID]) -> dict[uuid.UUID, Evidence]:
        wanted = list(set(ids))
        if not wanted:
            return {}
        rows = await self.session.exec(
            select(Evidence).where(
                col(Evidence.tenant_id) == self.tenant_id, one_of(self.session, col(Evidence.id), wanted)
            )
        )
        return {e.id: e for e in rows.all()}

    async def insert_many(self, rows: list[dict[str, Any]]) -> None:
        await bulk_insert(self.session, Evidence, rows, json_columns=_JSON_COLUMNS)

    async def withdraw(
        self, ids: Sequence[uuid.UUID], reason: str, at: datetime, superseded_by: dict[uuid.UUID, uuid.UUID]
    ) -> None:
        for evidence_id in ids:
            await self.session.execute(
                update(Evidence)
                .where(col(Evidence.tenant_id) == self.tenant_id, col(Evidence.id) == evidence_id)
                .values(
                    status="withdrawn",
                    withdrawn_reason=reason,
                    withdrawn_at=at,
                    superseded_by_id=superseded_by.get(evidence_id),
                )
            )

    async def list_page(
        self,
        page: PageParams,
        *,
        learner_id: uuid.UUID | None = None,
        competency_id: uuid.UUID | None = None,
        status: str | None = None,
        source: str | None = None,
        class_id: uuid.UUID | None = None,
    ) -> tuple[Sequence[Evidence], int]:
        query = select(Evidence).where(col(Evidence.tenant_id) == self.tenant_id)
        if learner_id is not None:
            query = query.where(col(Evidence.learner_id) == learner_id)
        if competency_id is not None:
            query = query.where(col(Evidence.competency_id) == competency_id)
        if status is not None:
            query = query.where(col(Evidence.status) == status)
        if source is not None:
            query = query.where(col(Evidence.source) == source)
        if class_id is not None:
            query = query.where(col(Evidence.class_id) == class_id)
        return await fetch_page(self.session, query, page, col(Evidence.observed_at).desc(), col(Evidence.id))

    async def active_for(
        self, learner_ids: Iterable[uuid.UUID], competency_ids: Iterable[uuid.UUID]
    ) -> Sequence[Evidence]:
        learners, comps = list(set(learner_ids)), list(set(competency_ids))
        if not learners or not comps:
            return []
        rows = await self.session.exec(
            select(Evidence).where(
                col(Evidence.tenant_id) == self.tenant_id,
                col(Evidence.learner_id).in_(learners),
                col(Evidence.competency_id).in_(comps),
                col(Evidence.status) == "active",
            )
        )
        return rows.all()

    # -- idempotency ---------------------------------------------------------------------------

    async def idempotency_get(self, scope: str, key: str) -> IdempotencyRecord | None:
        return await self.session.get(IdempotencyRecord, (self.tenant_id, scope, key))

    async def idempotency_put(self, record: IdempotencyRecord) -> None:
        self.session.add(record)
        await self.session.flush()
