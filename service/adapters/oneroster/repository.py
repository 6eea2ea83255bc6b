"""Every query of the OneRoster adapter: connections (scoped by tenant) and the sync's bulk writes."""

from __future__ import annotations

import operator
import uuid
from collections.abc import Iterable, Sequence
from typing import Any

from sqlalchemy import (
    String,
    Uuid,
    and_,
    bindparam,
    delete,
    exists,
    func,
    insert,
    or_,
    text,
    update,
)
from sqlalchemy import select as sa_select
from sqlalchemy.dialects.postgresql import ARRAY
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from service.adapters.oneroster.models import (
    SEEN,
    Category,
    GradeMap,
    LineItem,
    OneRosterConnection,
    SyncRecord,
)
from service.db import fetch_page, one_of
from service.evidence.models import Evidence
from service.frameworks.models import Competency
from service.jobs.models import QUEUED, RUNNING, Job
from service.roster.models import Enrollment, Person, PersonOrg
from service.schemas import PageParams


class ConnectionRepository:
    def __init__(self, session: AsyncSession, tenant_id: uuid.UUID) -> None:
        self.session = session
        self.tenant_id = tenant_id

    async def add(self, obj: OneRosterConnection) -> None:
        self.session.add(obj)
        await self.session.flush()

    async def delete(self, obj: OneRosterConnection) -> None:
        await self.session.delete(obj)
        await self.session.flush()

    async def get(self, connection_id: uuid.UUID) -> OneRosterConnection | None:
        query = select(OneRosterConnection).where(
            col(OneRosterConnection.tenant_id) == self.tenant_id, col(OneRosterConnection.id) == connection_id
        )
        return (await self.session.exec(query)).first()

    async def list(self, page: PageParams) -> tuple[Sequence[OneRosterConnection], int]:
        query = select(OneRosterConnection).where(col(OneRosterConnection.tenant_id) == self.tenant_id)
        return await fetch_page(
            self.session, query, page, col(OneRosterConnection.created_at), col(OneRosterConnection.id)
        )

    async def by_base_url(self, base_url: str) -> OneRosterConnection | None:
        query = select(OneRosterConnection).where(
            col(OneRosterConnection.tenant_id) == self.tenant_id,
            col(OneRosterConnection.base_url) == base_url,
        )
        return (await self.session.exec(query.order_by(col(OneRosterConnection.created_at)))).first()

    async def unfinished_sync_jobs(self, kind: str) -> Sequence[Job]:
        query = select(Job).where(
            col(Job.tenant_id) == self.tenant_id,
            col(Job.kind) == kind,
            col(Job.state).in_([QUEUED, RUNNING]),
        )
        return (await self.session.exec(query)).all()

    async def mark_synced(self, connection_id: uuid.UUID, values: dict[str, Any]) -> None:
        await self.session.execute(
            update(OneRosterConnection)
            .where(
                col(OneRosterConnection.tenant_id) == self.tenant_id,
                col(OneRosterConnection.id) == connection_id,
            )
            .values(**values)
            .execution_options(synchronize_session=False)
        )


def chunks(items: Sequence[Any], size: int) -> Iterable[Sequence[Any]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


#: collection -> table written by the sync
MODELS: dict[str, Any] = {}


def _models() -> dict[str, Any]:
    if not MODELS:
        from service.adapters.oneroster.models import Category, LineItem, Result
        from service.roster.models import AcademicSession, Class, Course, Enrollment, Org, Person

        MODELS.update(
            {
                "orgs": Org,
                "academicSessions": AcademicSession,
                "courses": Course,
                "users": Person,
                "classes": Class,
                "enrollments": Enrollment,
                "categories": Category,
                "lineItems": LineItem,
                "results": Result,
            }
        )
    return MODELS


#: Collections whose tables take PostgreSQL COPY as is (no JSON columns).
COPYABLE = frozenset({"enrollments", "results"})


def model_for(collection: str) -> Any:
    return _models()[collection]


class ScheduleRepository:
    """Across tenants: the connections with a schedule, and claiming a due one (compare-and-set)."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def scheduled(self) -> Sequence[OneRosterConnection]:
        query = select(OneRosterConnection).where(col(OneRosterConnection.schedule_minutes).is_not(None))
        return (await self.session.exec(query.order_by(col(OneRosterConnection.id)))).all()

    async def claim(self, connection: OneRosterConnection, now: Any) -> bool:
        """Mark the connection scheduled at ``now`` unless another pass did since it was read."""
        previous = connection.last_scheduled_at
        condition = (
            col(OneRosterConnection.last_scheduled_at).is_(None)
            if previous is None
            else col(OneRosterConnection.last_scheduled_at) == previous
        )
        result = await self.session.execute(
            update(OneRosterConnection)
            .where(col(OneRosterConnection.id) == connection.id, condition)
            .values(last_scheduled_at=now)
            .execution_options(synchronize_session=False)
        )
        return int(getattr(result, "rowcount", 0) or 0) == 1


class SyncRepository:
    """The sync's bulk reads and writes: a handful of statements per page, whatever its size."""

    def __init__(self, session: AsyncSession, tenant_id: uuid.UUID, connection_id: uuid.UUID) -> None:
        self.session = session
        self.tenant_id = tenant_id
        self.connection_id = connection_id

    @property
    def dialect(self) -> str:
        return self.session.sync_session.get_bind().dialect.name

    def _in(self, column: Any, values: Sequence[Any], *, uuids: bool = False) -> Any:
        """``column IN values``; on PostgreSQL ``= ANY(array)``: one parameter, one cached plan,
        where a thousand-item IN list is planned anew for every page size."""
        return one_of(self.session, column, values, item_type=None if uuids else String())

    async def ids_by_sourced_id(self, collection: str, sourced_ids: Iterable[str]) -> dict[str, uuid.UUID]:
        wanted = list(set(sourced_ids))
        if not wanted:
            return {}
        model = model_for(collection)
        out: dict[str, uuid.UUID] = {}
        for part in chunks(wanted, 5000):
            query = select(model.sourced_id, model.id).where(
                col(model.tenant_id) == self.tenant_id, self._in(col(model.sourced_id), part)
            )
            out.update({sid: local for sid, local in (await self.session.execute(query)).all()})
        return out

    async def records(
        self, collection: str, sourced_ids: Iterable[str]
    ) -> dict[str, tuple[str, str, str | None]]:
        """sourcedId -> (digest, state, dateLastModified if written complete) of what this connection
        last wrote."""
        wanted = list(set(sourced_ids))
        if not wanted:
            return {}
        query = select(
            SyncRecord.sourced_id, SyncRecord.digest, SyncRecord.state, SyncRecord.date_last_modified
        ).where(
            col(SyncRecord.connection_id) == self.connection_id,
            col(SyncRecord.collection) == collection,
            self._in(col(SyncRecord.sourced_id), wanted),
        )
        rows = (await self.session.execute(query)).all()
        return {sid: (digest, state, modified) for sid, digest, state, modified in rows}

    async def claim_unchanged(
        self, collection: str, offered: dict[str, str], job_id: uuid.UUID
    ) -> dict[str, str] | None:
        """Records (sourcedId -> dateLastModified) the provider sends with the dateLastModified this
        connection last wrote them with in full, still active: found and marked as seen by ``job_id``
        in one statement; returns those marked. None where the dialect has no arrays to do it in one (SQLite:
        the caller compares :meth:`records` itself)."""
        if self.dialect != "postgresql":
            return None
        if not offered:
            return {}
        # The record rows are only read; the seen marks are appended to oneroster_seen (see
        # mark_seen), which costs the database a fraction of rewriting every matching row.
        statement = text(
            "WITH claimed AS (SELECT r.sourced_id, r.date_last_modified FROM oneroster_records AS r "
            "JOIN unnest(CAST(:sids AS varchar[]), CAST(:stamps AS varchar[])) AS u(sid, stamp) "
            "ON r.sourced_id = u.sid AND r.date_last_modified = u.stamp "
            "WHERE r.connection_id = :connection AND r.collection = :collection AND r.state = 'active'), "
            "marked AS (INSERT INTO oneroster_seen (job_id, connection_id, collection, sourced_id) "
            "SELECT CAST(:job AS uuid), CAST(:connection AS uuid), CAST(:collection AS varchar), sourced_id "
            "FROM claimed) "
            "SELECT sourced_id, date_last_modified FROM claimed"
        ).bindparams(
            bindparam("job", type_=Uuid()),
            bindparam("connection", type_=Uuid()),
            bindparam("sids", type_=ARRAY(String())),
            bindparam("stamps", type_=ARRAY(String())),
        )
        out: dict[str, str] = {}
        items = list(offered.items())
        for part in chunks(items, 5000):
            rows = await self.session.execute(
                statement,
                {
                    "job": job_id,
                    "connection": self.connection_id,
                    "collection": collection,
                    "sids": [sid for sid, _ in part],
                    "stamps": [stamp for _, stamp in part],
                },
            )
            out.update({sid: stamp for sid, stamp in rows.all()})
        return out

    async def insert_rows(self, collection: str, rows: list[dict[str, Any]]) -> None:
        if not rows:
            return
        if self.dialect == "postgresql" and collection in COPYABLE:
            await self._copy(model_for(collection).__tablename__, rows)
            return
        await self.session.execute(insert(model_for(collection)), rows)

    async def _copy(self, table: str, rows: list[dict[str, Any]]) -> None:
        """PostgreSQL COPY into ``table`` in the session's transaction: several times faster than a
        multi-row INSERT for new rows (used where no column needs SQLAlchemy's own conversions)."""
        columns = list(rows[0])
        connection = await self.session.connection()
        raw = await connection.get_raw_connection()
        driver: Any = raw.driver_connection
        pick = operator.itemgetter(*columns)
        try:
            records = [pick(row) for row in rows] if len(columns) > 1 else [(pick(r),) for r in rows]
        except KeyError:  # rows of different shapes: a missing column is NULL
            records = [tuple(row.get(c) for c in columns) for row in rows]
        await driver.copy_records_to_table(table, records=records, columns=columns)

    async def update_rows(self, collection: str, rows: list[dict[str, Any]]) -> None:
        if rows:
            await self.session.execute(update(model_for(collection)), rows)

    async def upsert_records(self, rows: list[dict[str, Any]], *, new: set[str] | None = None) -> None:
        """Write index rows; those whose sourcedId is in ``new`` (known not to exist) are copied on
        PostgreSQL, the rest upserted."""
        if not rows:
            return
        if new and self.dialect == "postgresql":
            fresh = [r for r in rows if r["sourced_id"] in new]
            if fresh:
                await self._copy(SyncRecord.__tablename__, fresh)
            rows = [r for r in rows if r["sourced_id"] not in new]
            if not rows:
                return
        if self.dialect == "postgresql":
            from sqlalchemy.dialects.postgresql import insert as dialect_insert
        else:
            from sqlalchemy.dialects.sqlite import insert as dialect_insert  # type: ignore[assignment]
        for part in chunks(rows, 2000):
            stmt = dialect_insert(SyncRecord)
            stmt = stmt.on_conflict_do_update(
                index_elements=["connection_id", "collection", "sourced_id"],
                set_={
                    "local_id": stmt.excluded.local_id,
                    "digest": stmt.excluded.digest,
                    "state": stmt.excluded.state,
                    "parent_ref": stmt.excluded.parent_ref,
                    "seen_job_id": stmt.excluded.seen_job_id,
                    "date_last_modified": stmt.excluded.date_last_modified,
                },
            )
            await self.session.execute(stmt, list(part))

    async def replace_memberships(
        self, memberships: dict[uuid.UUID, list[tuple[uuid.UUID, str, str]]]
    ) -> None:
        """Set each person's org memberships (1.2 roles[] / 1.1 orgs) to exactly the given ones."""
        if not memberships:
            return
        await self.session.execute(
            delete(PersonOrg).where(
                col(PersonOrg.tenant_id) == self.tenant_id,
                self._in(col(PersonOrg.person_id), list(memberships), uuids=True),
            )
        )
        rows = [
            {
                "id": uuid.uuid4(),
                "tenant_id": self.tenant_id,
                "person_id": person_id,
                "org_id": org_id,
                "role": role,
                "role_type": role_type,
            }
            for person_id, entries in memberships.items()
            for org_id, role, role_type in dict.fromkeys(entries)
        ]
        seen: set[tuple[Any, Any, Any]] = set()
        unique = []
        for row in rows:
            key = (row["person_id"], row["org_id"], row["role"])
            if key not in seen:
                seen.add(key)
                unique.append(row)
        if unique:
            await self.session.execute(insert(PersonOrg), unique)

    async def enrollment_triples(
        self, class_ids: Iterable[uuid.UUID], person_ids: Iterable[uuid.UUID]
    ) -> dict[tuple[uuid.UUID, uuid.UUID, str], tuple[str | None, uuid.UUID, str]]:
        """(class, person, role) -> (sourcedId, id, status) of the enrollments among these."""
        classes, people = list(set(class_ids)), list(set(person_ids))
        if not classes or not people:
            return {}
        query = sa_select(
            col(Enrollment.class_id),
            col(Enrollment.person_id),
            col(Enrollment.role),
            col(Enrollment.sourced_id),
            col(Enrollment.id),
            col(Enrollment.status),
        ).where(
            col(Enrollment.tenant_id) == self.tenant_id,
            self._in(col(Enrollment.class_id), classes, uuids=True),
            self._in(col(Enrollment.person_id), people, uuids=True),
        )
        return {(c, p, r): (sid, i, st) for c, p, r, sid, i, st in (await self.session.execute(query)).all()}

    async def deactivation_candidates(
        self, collection: str, *, job_id: uuid.UUID, missing_too: bool
    ) -> list[tuple[str, uuid.UUID]]:
        """(sourcedId, local id): records marked tobedeleted, and with ``missing_too`` every record this
        job did not see (a full sync's hard deletes)."""
        condition = col(SyncRecord.state) == "tobedeleted"
        if missing_too:
            # Seen: written by this job (seen_job_id) or found unchanged by it (oneroster_seen).
            found_unchanged = exists().where(
                SEEN.c.job_id == job_id,
                SEEN.c.collection == collection,
                SEEN.c.sourced_id == col(SyncRecord.sourced_id),
            )
            condition = or_(
                condition,
                and_(
                    col(SyncRecord.state) != "inactive",
                    or_(col(SyncRecord.seen_job_id).is_(None), col(SyncRecord.seen_job_id) != job_id),
                    ~found_unchanged,
                ),
            )
        query = select(SyncRecord.sourced_id, SyncRecord.local_id).where(
            col(SyncRecord.connection_id) == self.connection_id,
            col(SyncRecord.collection) == collection,
            condition,
        )
        return [(sid, local) for sid, local in (await self.session.execute(query)).all()]

    async def active_learners(self, among: Iterable[uuid.UUID] | None = None) -> int:
        query = (
            select(func.count())
            .select_from(Person)
            .where(
                col(Person.tenant_id) == self.tenant_id,
                col(Person.role) == "student",
                col(Person.status) == "active",
            )
        )
        if among is not None:
            ids = list(set(among))
            if not ids:
                return 0
            total = 0
            for part in chunks(ids, 5000):
                total += int(
                    await self.session.scalar(query.where(self._in(col(Person.id), part, uuids=True))) or 0
                )
            return total
        return int(await self.session.scalar(query) or 0)

    async def deactivate(self, collection: str, local_ids: list[uuid.UUID], now: Any) -> int:
        model = model_for(collection)
        changed = 0
        for part in chunks(local_ids, 5000):
            result = await self.session.execute(
                update(model)
                .where(
                    col(model.tenant_id) == self.tenant_id,
                    self._in(col(model.id), part, uuids=True),
                    col(model.status) != "inactive",
                )
                .values(status="inactive", updated_at=now)
                .execution_options(synchronize_session=False)
            )
            changed += int(getattr(result, "rowcount", 0) or 0)
        return changed

    async def mark_inactive(self, collection: str, sourced_ids: list[str]) -> None:
        for part in chunks(sourced_ids, 5000):
            await self.session.execute(
                update(SyncRecord)
                .where(
                    col(SyncRecord.connection_id) == self.connection_id,
                    col(SyncRecord.collection) == collection,
                    self._in(col(SyncRecord.sourced_id), part),
                )
                .values(state="inactive")
                .execution_options(synchronize_session=False)
            )

    async def analyze(self, collection: str, *, records: bool = True) -> None:
        """Refresh the planner's statistics after a bulk load (PostgreSQL): the next collection looks
        rows of this one up by sourcedId, and estimates made when the table was empty pick scans.
        With ``records``, the record index (oneroster_records) too."""
        if self.dialect == "postgresql":
            await self.session.execute(text(f'ANALYZE "{model_for(collection).__tablename__}"'))
            if records:
                await self.session.execute(text('ANALYZE "oneroster_records"'))

    async def relax_commit(self) -> None:
        """PostgreSQL: this transaction's commit does not wait for its WAL to reach the disk. Used for
        the sync's page transactions, which carry the job's resume point: a crash may lose the last
        few of them, and the resumed job then reads those pages again (their writes are idempotent)."""
        if self.dialect == "postgresql":
            await self.session.execute(text("SET LOCAL synchronous_commit TO off"))

    async def parent_links(self, collection: str) -> list[tuple[uuid.UUID, str | None, str]]:
        """(local id, parent sourcedId, own sourcedId) of the collection's records."""
        query = select(SyncRecord.local_id, SyncRecord.parent_ref, SyncRecord.sourced_id).where(
            col(SyncRecord.connection_id) == self.connection_id,
            col(SyncRecord.collection) == collection,
            col(SyncRecord.state) == "active",
        )
        return [(local, ref, sid) for local, ref, sid in (await self.session.execute(query)).all()]

    async def known_active(self, collection: str) -> int:
        """How many of the collection's records this connection holds as present (not deactivated)."""
        query = (
            select(func.count())
            .select_from(SyncRecord)
            .where(
                col(SyncRecord.connection_id) == self.connection_id,
                col(SyncRecord.collection) == collection,
                col(SyncRecord.state) != "inactive",
            )
        )
        return int(await self.session.scalar(query) or 0)

    async def mark_seen(self, collection: str, sourced_ids: Sequence[str], job_id: uuid.UUID) -> None:
        """Records unchanged since the last run: noted as seen by this job in oneroster_seen (a full
        sync's way of telling present records from the ones the provider dropped), their rows left
        as they are."""
        if not sourced_ids:
            return
        if self.dialect == "postgresql":
            statement = text(
                "INSERT INTO oneroster_seen (job_id, connection_id, collection, sourced_id) "
                "SELECT CAST(:job AS uuid), CAST(:connection AS uuid), CAST(:collection AS varchar), "
                "unnest(CAST(:sids AS varchar[]))"
            ).bindparams(
                bindparam("job", type_=Uuid()),
                bindparam("connection", type_=Uuid()),
                bindparam("sids", type_=ARRAY(String())),
            )
            for part in chunks(list(sourced_ids), 5000):
                await self.session.execute(
                    statement,
                    {
                        "job": job_id,
                        "connection": self.connection_id,
                        "collection": collection,
                        "sids": list(part),
                    },
                )
            return
        rows = [
            {"job_id": job_id, "connection_id": self.connection_id, "collection": collection, "sourced_id": s}
            for s in sourced_ids
        ]
        await self.session.execute(insert(SEEN), rows)

    async def forget_seen(self, job_id: uuid.UUID, *, others: bool = False) -> None:
        """Delete the seen marks of ``job_id`` (a sync that ended), or with ``others`` those of every
        other sync of this connection (left by a sync that failed or was refused)."""
        condition = SEEN.c.job_id != job_id if others else SEEN.c.job_id == job_id
        await self.session.execute(delete(SEEN).where(SEEN.c.connection_id == self.connection_id, condition))

    async def current_parents(
        self, collection: str, ids: list[uuid.UUID]
    ) -> dict[uuid.UUID, uuid.UUID | None]:
        model = model_for(collection)
        out: dict[uuid.UUID, uuid.UUID | None] = {}
        for part in chunks(ids, 5000):
            query = select(model.id, model.parent_id).where(
                col(model.tenant_id) == self.tenant_id, self._in(col(model.id), part, uuids=True)
            )
            out.update({local: parent for local, parent in (await self.session.execute(query)).all()})
        return out

    async def set_parents(self, collection: str, rows: list[dict[str, Any]]) -> None:
        if rows:
            await self.session.execute(update(model_for(collection)), rows)


class GradeRepository:
    """Grade maps (scoped by tenant) and the lookups that turn results into evidence."""

    def __init__(self, session: AsyncSession, tenant_id: uuid.UUID) -> None:
        self.session = session
        self.tenant_id = tenant_id

    async def add(self, obj: GradeMap) -> None:
        self.session.add(obj)
        await self.session.flush()

    async def delete(self, obj: GradeMap) -> None:
        await self.session.delete(obj)
        await self.session.flush()

    async def get(self, map_id: uuid.UUID) -> GradeMap | None:
        query = select(GradeMap).where(col(GradeMap.tenant_id) == self.tenant_id, col(GradeMap.id) == map_id)
        return (await self.session.exec(query)).first()

    async def all(self) -> Sequence[GradeMap]:
        query = select(GradeMap).where(col(GradeMap.tenant_id) == self.tenant_id)
        return (await self.session.exec(query.order_by(col(GradeMap.created_at), col(GradeMap.id)))).all()

    async def list_page(self, page: PageParams) -> tuple[Sequence[GradeMap], int]:
        query = select(GradeMap).where(col(GradeMap.tenant_id) == self.tenant_id)
        return await fetch_page(self.session, query, page, col(GradeMap.created_at), col(GradeMap.id))

    async def conflicting(self, line_item: str | None, category: str | None) -> GradeMap | None:
        query = select(GradeMap).where(col(GradeMap.tenant_id) == self.tenant_id)
        if line_item is not None:
            query = query.where(col(GradeMap.line_item_sourced_id) == line_item)
        elif category is not None:
            query = query.where(col(GradeMap.category_sourced_id) == category)
        else:
            query = query.where(
                col(GradeMap.line_item_sourced_id).is_(None), col(GradeMap.category_sourced_id).is_(None)
            )
        return (await self.session.exec(query)).first()

    async def competency_ids(self, ids: Iterable[uuid.UUID]) -> set[uuid.UUID]:
        wanted = list(set(ids))
        if not wanted:
            return set()
        query = select(Competency.id).where(
            col(Competency.tenant_id) == self.tenant_id, col(Competency.id).in_(wanted)
        )
        return set((await self.session.exec(query)).all())

    async def line_items(self, ids: Iterable[uuid.UUID]) -> dict[uuid.UUID, LineItem]:
        wanted = list(set(ids))
        if not wanted:
            return {}
        query = select(LineItem).where(
            col(LineItem.tenant_id) == self.tenant_id, col(LineItem.id).in_(wanted)
        )
        return {row.id: row for row in (await self.session.exec(query)).all()}

    async def category_sourced_ids(self, ids: Iterable[uuid.UUID]) -> dict[uuid.UUID, str]:
        wanted = list(set(ids))
        if not wanted:
            return {}
        query = select(Category.id, Category.sourced_id).where(
            col(Category.tenant_id) == self.tenant_id, col(Category.id).in_(wanted)
        )
        return {i: sid for i, sid in (await self.session.exec(query)).all()}

    async def active_evidence_with_prefixes(self, prefixes: Sequence[str]) -> list[uuid.UUID]:
        """Active evidence whose ``external_ref`` starts with one of ``prefixes`` (results' evidence)."""
        out: list[uuid.UUID] = []
        for part in chunks(list(prefixes), 200):
            query = select(Evidence.id).where(
                col(Evidence.tenant_id) == self.tenant_id,
                col(Evidence.status) == "active",
                or_(*[col(Evidence.external_ref).startswith(p, autoescape=True) for p in part]),
            )
            out.extend((await self.session.exec(query)).all())
        return out

    async def result_sourced_ids_of_line_items(self, line_item_ids: Sequence[uuid.UUID]) -> list[str]:
        from service.adapters.oneroster.models import Result

        out: list[str] = []
        for part in chunks(list(line_item_ids), 1000):
            query = select(Result.sourced_id).where(
                col(Result.tenant_id) == self.tenant_id, col(Result.line_item_id).in_(list(part))
            )
            out.extend((await self.session.exec(query)).all())
        return out

    async def active_result_evidence_by(self, column: str, ids: Sequence[uuid.UUID]) -> list[uuid.UUID]:
        """Active evidence made from OneRoster results of these learners (``learner_id``) or classes
        (``class_id``)."""
        target = col(Evidence.learner_id) if column == "learner_id" else col(Evidence.class_id)
        out: list[uuid.UUID] = []
        for part in chunks(list(ids), 1000):
            query = select(Evidence.id).where(
                col(Evidence.tenant_id) == self.tenant_id,
                col(Evidence.status) == "active",
                col(Evidence.source) == "oneroster_result",
                target.in_(list(part)),
            )
            out.extend((await self.session.exec(query)).all())
        return out

    async def active_results_of(self, column: str, ids: Sequence[uuid.UUID]) -> list[dict[str, Any]]:
        """Active scored results of these learners (``learner_id``) or of these classes' line items
        (``class_id``), as the sync's result rows (to make their evidence again)."""
        from service.adapters.oneroster.models import Result

        out: list[dict[str, Any]] = []
        for part in chunks(list(ids), 1000):
            query = sa_select(
                col(Result.sourced_id),
                col(Result.line_item_id),
                col(Result.learner_id),
                col(Result.score),
                col(Result.score_date),
            ).where(
                col(Result.tenant_id) == self.tenant_id,
                col(Result.status) == "active",
                col(Result.score).is_not(None),
            )
            if column == "learner_id":
                query = query.where(col(Result.learner_id).in_(list(part)))
            else:
                query = query.join(LineItem, col(LineItem.id) == col(Result.line_item_id)).where(
                    col(LineItem.class_id).in_(list(part))
                )
            for sid, item, learner, score, score_date in (await self.session.execute(query)).all():
                out.append(
                    {
                        "sourced_id": sid,
                        "line_item_id": item,
                        "learner_id": learner,
                        "score": score,
                        "score_date": score_date,
                        "status": "active",
                    }
                )
        return out

    async def active_evidence(self, refs: Iterable[str]) -> dict[str, uuid.UUID]:
        wanted = list(set(refs))
        if not wanted:
            return {}
        query = select(Evidence.external_ref, Evidence.id).where(
            col(Evidence.tenant_id) == self.tenant_id,
            col(Evidence.external_ref).in_(wanted),
            col(Evidence.status) == "active",
        )
        return {ref: i for ref, i in (await self.session.exec(query)).all() if ref is not None}
