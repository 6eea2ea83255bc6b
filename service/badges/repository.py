"""Every query of the badges domain."""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Table, bindparam, func, or_, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import load_only
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from service.awards.models import Achievement, Award, AwardEvidence
from service.badges.models import IssuedCredential, IssuerKey, StatusList
from service.db import Keyset, fetch_keyset_page, fetch_page
from service.evidence.models import Evidence
from service.frameworks.models import Competency, Framework, LevelDescriptor, RubricLevel
from service.roster.models import Person
from service.schemas import PageParams
from service.tenancy.models import Tenant

#: What a credential list item reads (service.badges.issuance.credential_read): not the document nor the
#: VC-JWT, kilobytes a row that a list never shows.
LIST_COLUMNS = (
    "id",
    "tenant_id",
    "name",
    "issuer_id",
    "subject_id",
    "award_id",
    "learner_id",
    "achievement_id",
    "issued_at",
    "revoked_at",
    "revocation_reason",
    "status_list_id",
    "status_index",
)

#: The credential list's order (newest first), for offset and cursor paging alike.
CREDENTIAL_ORDER = Keyset(col(IssuedCredential.issued_at), col(IssuedCredential.id))


class PublicRepository:
    """Lookups by public identifiers (slug, credential UUID, status list UUID), across tenants."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def tenant(self, tenant_id: uuid.UUID) -> Tenant | None:
        return await self.session.get(Tenant, tenant_id)

    async def tenant_by_slug(self, slug: str) -> Tenant | None:
        rows = await self.session.exec(select(Tenant).where(col(Tenant.slug) == slug))
        return rows.first()

    async def credential(self, credential_id: uuid.UUID) -> IssuedCredential | None:
        return await self.session.get(IssuedCredential, credential_id)

    async def status_list(self, list_id: uuid.UUID) -> StatusList | None:
        return await self.session.get(StatusList, list_id)

    async def person(self, person_id: uuid.UUID) -> Person | None:
        return await self.session.get(Person, person_id)

    async def issued_achievements(self, tenant_id: uuid.UUID, limit: int) -> Sequence[Achievement]:
        """The district's active achievements that at least one issued badge names (their URLs are
        already public inside those badges), by title; transcripts are not achievements."""
        issued = (
            select(IssuedCredential.achievement_id)
            .where(
                col(IssuedCredential.tenant_id) == tenant_id,
                col(IssuedCredential.achievement_id) == col(Achievement.id),
            )
            .exists()
        )
        rows = await self.session.exec(
            select(Achievement)
            .where(col(Achievement.tenant_id) == tenant_id, col(Achievement.status) == "active", issued)
            .order_by(col(Achievement.title), col(Achievement.id))
            .limit(limit)
        )
        return rows.all()


class BadgeRepository:
    def __init__(self, session: AsyncSession, tenant_id: uuid.UUID) -> None:
        self.session = session
        self.tenant_id = tenant_id

    @property
    def dialect(self) -> str:
        return self.session.get_bind().dialect.name

    def _insert(self, model: Any) -> Any:
        builder = pg_insert if self.dialect == "postgresql" else sqlite_insert
        return builder(model)

    async def tenant(self) -> Tenant | None:
        return await self.session.get(Tenant, self.tenant_id)

    # -- issuer keys -----------------------------------------------------------------------------

    async def keys(self) -> Sequence[IssuerKey]:
        rows = await self.session.exec(
            select(IssuerKey)
            .where(col(IssuerKey.tenant_id) == self.tenant_id)
            .order_by(col(IssuerKey.created_at), col(IssuerKey.kind), col(IssuerKey.generation))
        )
        return rows.all()

    async def keys_page(self, page: PageParams) -> tuple[Sequence[IssuerKey], int]:
        query = select(IssuerKey).where(col(IssuerKey.tenant_id) == self.tenant_id)
        order = (col(IssuerKey.created_at), col(IssuerKey.kind), col(IssuerKey.generation))
        return await fetch_page(self.session, query, page, *order)

    async def active_key(self, kind: str) -> IssuerKey | None:
        rows = await self.session.exec(
            select(IssuerKey)
            .where(
                col(IssuerKey.tenant_id) == self.tenant_id,
                col(IssuerKey.kind) == kind,
                col(IssuerKey.status) == "active",
            )
            .order_by(col(IssuerKey.generation).desc())
            .limit(1)
        )
        return rows.first()

    async def max_generation(self, kind: str) -> int:
        value = await self.session.scalar(
            select(func.max(IssuerKey.generation)).where(
                col(IssuerKey.tenant_id) == self.tenant_id, col(IssuerKey.kind) == kind
            )
        )
        return int(value or 0)

    async def insert_key(self, row: dict[str, Any]) -> bool:
        """Insert unless a key with the same fragment exists (another transaction made it first)."""
        stmt = (
            self._insert(IssuerKey)
            .values(**row)
            .on_conflict_do_nothing(index_elements=["tenant_id", "fragment"])
            .returning(col(IssuerKey.id))
        )
        return (await self.session.execute(stmt)).scalar_one_or_none() is not None

    async def retire_keys(self, kind: str, before_generation: int, now: datetime) -> None:
        await self.session.execute(
            update(IssuerKey)
            .where(
                col(IssuerKey.tenant_id) == self.tenant_id,
                col(IssuerKey.kind) == kind,
                col(IssuerKey.status) == "active",
                col(IssuerKey.generation) < before_generation,
            )
            .values(status="retired", retired_at=now)
        )

    # -- status lists ----------------------------------------------------------------------------

    async def latest_list(self, purpose: str) -> StatusList | None:
        rows = await self.session.exec(
            select(StatusList)
            .where(col(StatusList.tenant_id) == self.tenant_id, col(StatusList.purpose) == purpose)
            .order_by(col(StatusList.sequence).desc())
            .limit(1)
        )
        return rows.first()

    async def get_list(self, list_id: uuid.UUID) -> StatusList | None:
        row = await self.session.get(StatusList, list_id)
        return row if row is not None and row.tenant_id == self.tenant_id else None

    async def insert_list(self, row: dict[str, Any]) -> None:
        await self.session.execute(
            self._insert(StatusList)
            .values(**row)
            .on_conflict_do_nothing(index_elements=["tenant_id", "purpose", "sequence"])
        )

    async def entries_in_list(self, list_id: uuid.UUID) -> int:
        value = await self.session.scalar(
            select(func.count()).where(col(IssuedCredential.status_list_id) == list_id)
        )
        return int(value or 0)

    async def used_indexes(self, list_id: uuid.UUID) -> set[int]:
        rows = await self.session.exec(
            select(IssuedCredential.status_index).where(col(IssuedCredential.status_list_id) == list_id)
        )
        return set(rows.all())

    async def revoked_indexes(self, list_id: uuid.UUID) -> list[int]:
        rows = await self.session.exec(
            select(IssuedCredential.status_index).where(
                col(IssuedCredential.status_list_id) == list_id, col(IssuedCredential.revoked_at).is_not(None)
            )
        )
        return list(rows.all())

    async def lock_list(self, list_id: uuid.UUID) -> None:
        """Serialize re-signing of one list (PostgreSQL row lock; SQLite writers are serial already)."""
        if self.dialect == "postgresql":
            await self.session.execute(
                select(StatusList.id).where(col(StatusList.id) == list_id).with_for_update()
            )

    async def store_signed_list(self, list_id: uuid.UUID, signed: str, etag: str, now: datetime) -> None:
        await self.session.execute(
            update(StatusList)
            .where(col(StatusList.id) == list_id)
            .values(signed=signed, etag=etag, updated_at=now)
        )

    # -- credentials -----------------------------------------------------------------------------

    async def insert_credential(self, row: dict[str, Any]) -> bool:
        """Insert unless it collides with an existing row (same award, same source key or the same
        status list index): the caller then finds out which and retries or returns the first."""
        stmt = (
            self._insert(IssuedCredential)
            .values(**row)
            .on_conflict_do_nothing()
            .returning(col(IssuedCredential.id))
        )
        return (await self.session.execute(stmt)).scalar_one_or_none() is not None

    async def insert_credentials(self, rows: list[dict[str, Any]]) -> set[uuid.UUID]:
        """Insert many credentials in one statement; the ids of those that did not collide (see
        :meth:`insert_credential`)."""
        if not rows:
            return set()
        stmt = self._insert(IssuedCredential).on_conflict_do_nothing().returning(col(IssuedCredential.id))
        # executemany with RETURNING: SQLAlchemy batches it into multi-row statements (insertmanyvalues).
        result = await self.session.execute(stmt, rows)
        return set(result.scalars().all())

    async def store_jwt(self, credential_id: uuid.UUID, token: str) -> tuple[str | None, bool]:
        """Store a credential's VC-JWT unless one is stored already; ``(the stored token, whether this
        call wrote it)``. Of concurrent callers exactly one writes (``WHERE jwt IS NULL``: a second
        UPDATE waits for the first's row lock, then finds the column set). A write the database
        refuses now (SQLite: a read transaction that can't take the write lock) is rolled back to a
        savepoint and reported as ``(None, False)``; the caller returns its token unstored."""
        stmt = (
            update(IssuedCredential)
            .where(
                col(IssuedCredential.tenant_id) == self.tenant_id,
                col(IssuedCredential.id) == credential_id,
                col(IssuedCredential.jwt).is_(None),
            )
            .values(jwt=token)
            .execution_options(synchronize_session=False)
        )
        try:
            async with self.session.begin_nested():
                wrote = (await self.session.execute(stmt)).rowcount == 1  # type: ignore[attr-defined]
        except OperationalError:
            if self.dialect != "sqlite":
                raise
            return None, False
        if wrote:
            return token, True
        stored = await self.session.scalar(
            select(IssuedCredential.jwt).where(col(IssuedCredential.id) == credential_id)
        )
        return stored, False

    async def issued_keys(self, keys: Iterable[str]) -> set[str]:
        """Which of these source keys a credential was issued under already."""
        wanted = list(set(keys))
        if not wanted:
            return set()
        rows = await self.session.exec(
            select(IssuedCredential.source_key).where(
                col(IssuedCredential.tenant_id) == self.tenant_id,
                col(IssuedCredential.source_key).in_(wanted),
            )
        )
        return {key for key in rows.all() if key is not None}

    async def get_credential(self, credential_id: uuid.UUID) -> IssuedCredential | None:
        row = await self.session.get(IssuedCredential, credential_id)
        return row if row is not None and row.tenant_id == self.tenant_id else None

    async def credential_for_award(self, award_id: uuid.UUID) -> IssuedCredential | None:
        rows = await self.session.exec(
            select(IssuedCredential).where(
                col(IssuedCredential.tenant_id) == self.tenant_id, col(IssuedCredential.award_id) == award_id
            )
        )
        return rows.first()

    async def credential_for_key(self, source_key: str) -> IssuedCredential | None:
        rows = await self.session.exec(
            select(IssuedCredential).where(
                col(IssuedCredential.tenant_id) == self.tenant_id,
                col(IssuedCredential.source_key) == source_key,
            )
        )
        return rows.first()

    async def list_credentials(
        self,
        page: PageParams,
        *,
        learner_id: uuid.UUID | None = None,
        achievement_id: uuid.UUID | None = None,
        status: str | None = None,
        after: str | None = None,
    ) -> tuple[Sequence[IssuedCredential], int, str | None]:
        # Badges only: transcripts share the table (``source_key`` ``transcript:<id>``) but are listed,
        # and served, under /transcripts.
        query = (
            select(IssuedCredential)
            .options(load_only(*(getattr(IssuedCredential, name) for name in LIST_COLUMNS)))
            .where(
                col(IssuedCredential.tenant_id) == self.tenant_id,
                or_(
                    col(IssuedCredential.source_key).is_(None),
                    ~col(IssuedCredential.source_key).startswith("transcript:", autoescape=True),
                ),
            )
        )
        if learner_id is not None:
            query = query.where(col(IssuedCredential.learner_id) == learner_id)
        if achievement_id is not None:
            query = query.where(col(IssuedCredential.achievement_id) == achievement_id)
        if status == "revoked":
            query = query.where(col(IssuedCredential.revoked_at).is_not(None))
        elif status == "active":
            query = query.where(col(IssuedCredential.revoked_at).is_(None))
        return await fetch_keyset_page(self.session, query, page, CREDENTIAL_ORDER, after)

    async def add(self, *objs: Any) -> None:
        self.session.add_all(objs)
        await self.session.flush()

    # -- what a credential says --------------------------------------------------------------------

    async def award(self, award_id: uuid.UUID) -> Award | None:
        return await self.session.get(Award, (self.tenant_id, award_id))

    async def waiting_award_rows(self, award_ids: Iterable[uuid.UUID]) -> list[Award]:
        wanted = list(set(award_ids))
        if not wanted:
            return []
        rows = await self.session.exec(
            select(Award)
            .where(
                col(Award.tenant_id) == self.tenant_id,
                col(Award.id).in_(wanted),
                col(Award.status) == "awarded",
                col(Award.issuance_status) == "waiting",
            )
            .order_by(col(Award.id))
        )
        return list(rows.all())

    async def evidence_of_awards(self, award_ids: Iterable[uuid.UUID]) -> dict[uuid.UUID, list[Evidence]]:
        wanted = list(set(award_ids))
        if not wanted:
            return {}
        rows = await self.session.exec(
            select(AwardEvidence.award_id, Evidence)
            .join(
                Evidence,
                (col(AwardEvidence.tenant_id) == col(Evidence.tenant_id))
                & (col(AwardEvidence.evidence_id) == col(Evidence.id)),
            )
            .where(col(AwardEvidence.tenant_id) == self.tenant_id, col(AwardEvidence.award_id).in_(wanted))
            .order_by(col(Evidence.observed_at), col(Evidence.id))
        )
        out: dict[uuid.UUID, list[Evidence]] = {}
        for award_id, evidence in rows.all():
            out.setdefault(award_id, []).append(evidence)
        return out

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

    async def awarded_waiting_page(self, after: uuid.UUID | None, limit: int) -> list[uuid.UUID]:
        query = select(Award.id).where(
            col(Award.tenant_id) == self.tenant_id,
            col(Award.status) == "awarded",
            col(Award.issuance_status) == "waiting",
        )
        if after is not None:
            query = query.where(col(Award.id) > after)
        rows = await self.session.exec(query.order_by(col(Award.id)).limit(limit))
        return list(rows.all())

    async def mark_awards_issued(self, credentials: dict[uuid.UUID, uuid.UUID], now: datetime) -> None:
        """Award id -> its credential id: marked issued (one executemany UPDATE)."""
        if not credentials:
            return
        table: Table = Award.__table__  # type: ignore[attr-defined]  # Core: an executemany, not ORM
        await self.session.execute(
            update(table)
            .where(table.c.tenant_id == self.tenant_id, table.c.id == bindparam("award"))
            .values(issuance_status="issued", credential_id=bindparam("credential"), updated_at=now),
            [{"award": award, "credential": credential} for award, credential in credentials.items()],
        )

    async def mark_award_revoked(
        self, award_id: uuid.UUID, now: datetime, *, reason: str, revoked_by: str | None
    ) -> Award | None:
        """The award's credential is revoked: so is the award (``awarded`` -> ``revoked``). Returns the
        award when its status changed (an award revoked first, by a decision, only records issuance)."""
        award = await self.session.get(Award, (self.tenant_id, award_id))
        if award is None:
            return None
        award.issuance_status = "revoked"
        award.updated_at = now
        changed = award.status == "awarded"
        if changed:
            award.status = "revoked"
            award.needs_review = False
            award.decided_by = revoked_by
            award.decided_at = now
            award.reasons = [*award.reasons, f"its credential was revoked: {reason}"]
        self.session.add(award)
        await self.session.flush()
        return award if changed else None

    async def achievement(self, achievement_id: uuid.UUID) -> Achievement | None:
        return await self.session.get(Achievement, (self.tenant_id, achievement_id))

    async def learner(self, learner_id: uuid.UUID) -> Person | None:
        row = await self.session.get(Person, learner_id)
        if row is None or row.tenant_id != self.tenant_id or row.role != "student":
            return None
        return row

    async def competencies(
        self, ids: Iterable[uuid.UUID]
    ) -> list[tuple[Competency, Framework, list[RubricLevel], dict[uuid.UUID, str]]]:
        """Each competency with its framework, the framework's rubric levels (by position) and the
        competency's level descriptors (level id -> text)."""
        wanted = list(dict.fromkeys(ids))
        if not wanted:
            return []
        rows = await self.session.exec(
            select(Competency, Framework)
            .join(
                Framework,
                (col(Framework.tenant_id) == col(Competency.tenant_id))
                & (col(Framework.id) == col(Competency.framework_id)),
            )
            .where(col(Competency.tenant_id) == self.tenant_id, col(Competency.id).in_(wanted))
        )
        pairs = {c.id: (c, f) for c, f in rows.all()}
        framework_ids = {f.id for _, f in pairs.values()}
        levels: dict[uuid.UUID, list[RubricLevel]] = {}
        if framework_ids:
            level_rows = await self.session.exec(
                select(RubricLevel)
                .where(
                    col(RubricLevel.tenant_id) == self.tenant_id,
                    col(RubricLevel.framework_id).in_(framework_ids),
                )
                .order_by(col(RubricLevel.position))
            )
            for level in level_rows.all():
                levels.setdefault(level.framework_id, []).append(level)
        descriptors: dict[uuid.UUID, dict[uuid.UUID, str]] = {}
        desc_rows = await self.session.exec(
            select(LevelDescriptor).where(
                col(LevelDescriptor.tenant_id) == self.tenant_id,
                col(LevelDescriptor.competency_id).in_(wanted),
            )
        )
        for d in desc_rows.all():
            descriptors.setdefault(d.competency_id, {})[d.level_id] = d.description
        return [
            (c, f, levels.get(f.id, []), descriptors.get(c.id, {}))
            for cid in wanted
            if (pair := pairs.get(cid)) is not None
            for c, f in [pair]
        ]

    async def award_evidence(self, award_id: uuid.UUID) -> Sequence[Evidence]:
        rows = await self.session.exec(
            select(Evidence)
            .join(
                AwardEvidence,
                (col(AwardEvidence.tenant_id) == col(Evidence.tenant_id))
                & (col(AwardEvidence.evidence_id) == col(Evidence.id)),
            )
            .where(col(AwardEvidence.tenant_id) == self.tenant_id, col(AwardEvidence.award_id) == award_id)
            .order_by(col(Evidence.observed_at), col(Evidence.id))
        )
        return rows.all()

    async def evidence(self, learner_id: uuid.UUID, ids: Iterable[uuid.UUID]) -> Sequence[Evidence]:
        wanted = list(set(ids))
        if not wanted:
            return []
        rows = await self.session.exec(
            select(Evidence)
            .where(
                col(Evidence.tenant_id) == self.tenant_id,
                col(Evidence.learner_id) == learner_id,
                col(Evidence.id).in_(wanted),
            )
            .order_by(col(Evidence.observed_at), col(Evidence.id))
        )
        return rows.all()

    async def best_levels_many(
        self, learner_ids: Iterable[uuid.UUID], competency_ids: Iterable[uuid.UUID]
    ) -> dict[uuid.UUID, dict[uuid.UUID, uuid.UUID]]:
        """:meth:`best_levels` for many learners in one query: learner -> competency -> level."""
        learners, wanted = list(set(learner_ids)), list(set(competency_ids))
        if not learners or not wanted:
            return {}
        rows = await self.session.exec(
            select(
                Evidence.learner_id, Evidence.competency_id, Evidence.level_id, Evidence.level_position
            ).where(
                col(Evidence.tenant_id) == self.tenant_id,
                col(Evidence.learner_id).in_(learners),
                col(Evidence.competency_id).in_(wanted),
                col(Evidence.status) == "active",
                col(Evidence.level_id).is_not(None),
            )
        )
        best: dict[uuid.UUID, dict[uuid.UUID, tuple[int, uuid.UUID]]] = {}
        for learner_id, competency_id, level_id, position in rows.all():
            if level_id is None:
                continue
            mine = best.setdefault(learner_id, {})
            current = mine.get(competency_id)
            if current is None or (position or 0) > current[0]:
                mine[competency_id] = (position or 0, level_id)
        return {learner: {c: lv for c, (_, lv) in levels.items()} for learner, levels in best.items()}

    async def best_levels(
        self, learner_id: uuid.UUID, competency_ids: Iterable[uuid.UUID]
    ) -> dict[uuid.UUID, uuid.UUID]:
        """The highest rubric level of the learner's active evidence per competency."""
        wanted = list(set(competency_ids))
        if not wanted:
            return {}
        rows = await self.session.exec(
            select(Evidence.competency_id, Evidence.level_id, Evidence.level_position).where(
                col(Evidence.tenant_id) == self.tenant_id,
                col(Evidence.learner_id) == learner_id,
                col(Evidence.competency_id).in_(wanted),
                col(Evidence.status) == "active",
                col(Evidence.level_id).is_not(None),
            )
        )
        best: dict[uuid.UUID, tuple[int, uuid.UUID]] = {}
        for competency_id, level_id, position in rows.all():
            if level_id is None:
                continue
            current = best.get(competency_id)
            if current is None or (position or 0) > current[0]:
                best[competency_id] = (position or 0, level_id)
        return {c: lv for c, (_, lv) in best.items()}
