"""Every query of the roster domain; each is scoped by tenant."""

from __future__ import annotations

import functools
import uuid
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

from sqlalchemy import (
    BindParameter,
    ColumnElement,
    Integer,
    Select,
    String,
    bindparam,
    func,
    insert,
    literal_column,
    or_,
)
from sqlalchemy import select as sa_select
from sqlmodel import col, delete, select, update
from sqlmodel.ext.asyncio.session import AsyncSession

from service import db as database
from service import schemas
from service.db import fetch_page
from service.roster.models import (
    AcademicSession,
    Class,
    Course,
    CourseRecord,
    Enrollment,
    Org,
    Person,
    PersonOrg,
)
from service.schemas import PageParams

M = TypeVar("M", Org, AcademicSession, Person, Class, Enrollment, Course)


@dataclass(frozen=True)
class PersonFilter:
    role: str | None = None
    status: str | None = None
    sourced_id: str | None = None
    org_id: uuid.UUID | None = None
    class_id: uuid.UUID | None = None
    q: str | None = None
    #: Staff scoping (the console): people of any of these orgs OR enrolled in any of these classes.
    within_orgs: frozenset[uuid.UUID] | None = None
    within_classes: frozenset[uuid.UUID] | None = None


@dataclass(frozen=True)
class ClassFilter:
    status: str | None = None
    sourced_id: str | None = None
    school_id: uuid.UUID | None = None
    academic_session_id: uuid.UUID | None = None
    person_id: uuid.UUID | None = None
    q: str | None = None
    #: Staff scoping (the console): classes of any of these schools OR any of these classes.
    within_schools: frozenset[uuid.UUID] | None = None
    within_classes: frozenset[uuid.UUID] | None = None


def _like(value: str) -> str:
    escaped = value.lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


#: A person as read (every column of people but tenant_id) and their org ids, primary first.
PersonRow = tuple[dict[str, Any], list[uuid.UUID]]

_PEOPLE = Person.__table__  # type: ignore[attr-defined]
_PERSON_ORGS = PersonOrg.__table__  # type: ignore[attr-defined]
_PERSON_COLUMNS = tuple(c for c in _PEOPLE.c if c.name != "tenant_id")
_PERSON_NAMES = tuple(c.name for c in _PERSON_COLUMNS)
_PERSON_WIDTH = len(_PERSON_COLUMNS)
_PEOPLE_ORDER = (_PEOPLE.c.family_name, _PEOPLE.c.given_name, _PEOPLE.c.id)


def _person_filter(flt: PersonFilter) -> tuple[tuple[str, ...], dict[str, Any]]:
    """Which filters apply (the statement's shape, cached) and their values (its parameters)."""
    shape: list[str] = []
    params: dict[str, Any] = {}
    for name in ("role", "status", "sourced_id", "org_id", "class_id"):
        value = getattr(flt, name)
        if value is not None:
            shape.append(name)
            params[name] = value
    if flt.within_orgs is not None or flt.within_classes is not None:
        shape.append("within")
        params["within_orgs"] = list(flt.within_orgs or ())
        params["within_classes"] = list(flt.within_classes or ())
    if flt.q:
        shape.append("q")
        params["q"] = _like(flt.q)
    return tuple(shape), params


def _person_conditions(shape: tuple[str, ...]) -> list[ColumnElement[bool]]:
    people, person_orgs, enrollments = _PEOPLE.c, _PERSON_ORGS.c, Enrollment.__table__.c  # type: ignore[attr-defined]
    tenant: BindParameter[uuid.UUID] = bindparam("tenant_id")
    conditions: list[ColumnElement[bool]] = [people.tenant_id == tenant]
    for name in ("role", "status", "sourced_id"):
        if name in shape:
            conditions.append(people[name] == bindparam(name))
    if "org_id" in shape:
        conditions.append(
            people.id.in_(
                sa_select(person_orgs.person_id).where(
                    person_orgs.tenant_id == tenant, person_orgs.org_id == bindparam("org_id")
                )
            )
        )
    if "class_id" in shape:
        conditions.append(
            people.id.in_(
                sa_select(enrollments.person_id).where(
                    enrollments.tenant_id == tenant, enrollments.class_id == bindparam("class_id")
                )
            )
        )
    if "within" in shape:
        conditions.append(
            or_(
                people.id.in_(
                    sa_select(person_orgs.person_id).where(
                        person_orgs.tenant_id == tenant,
                        person_orgs.org_id.in_(bindparam("within_orgs", expanding=True)),
                    )
                ),
                people.id.in_(
                    sa_select(enrollments.person_id).where(
                        enrollments.tenant_id == tenant,
                        enrollments.class_id.in_(bindparam("within_classes", expanding=True)),
                    )
                ),
            )
        )
    if "q" in shape:
        pattern = bindparam("q", type_=String)
        conditions.append(
            or_(
                *(
                    func.lower(people[name]).like(pattern, escape="\\")
                    for name in ("given_name", "family_name", "email", "identifier")
                )
            )
        )
    return conditions


@dataclass(frozen=True)
class _PeopleStatements:
    page: Select[Any]
    count: Select[Any]


@functools.cache
def _people_statements(shape: tuple[str, ...], deep: bool) -> _PeopleStatements:
    """The page statement of one combination of filters, built (and its cache key computed) once.

    The page of people, the number of matches (up to COUNT_LIMIT + 1, in the page's order so that an
    index range read stops there) as an uncorrelated scalar subquery evaluated once, and each person's
    org ids by an outer join: a list costs one database round trip. A ``deep`` page (offset from
    service.db.DEFERRED_JOIN_OFFSET on) finds its ids first and reads only those rows (a deferred join,
    as :func:`service.db.fetch_page` does)."""
    conditions = _person_conditions(shape)
    counted = (
        sa_select(literal_column("1"))
        .select_from(_PEOPLE)
        .where(*conditions)
        .order_by(*_PEOPLE_ORDER)
        .limit(bindparam("count_limit", type_=Integer))
        .subquery()
    )
    count = sa_select(func.count()).select_from(counted)
    rows = sa_select(*_PERSON_COLUMNS, count.correlate(None).scalar_subquery().label("portrait_total"))
    limit, offset = bindparam("limit", type_=Integer), bindparam("offset", type_=Integer)
    if deep:
        ids = (
            sa_select(_PEOPLE.c.id)
            .where(*conditions)
            .order_by(*_PEOPLE_ORDER)
            .limit(limit)
            .offset(offset)
            .correlate(None)
        )
        page = rows.where(*conditions, _PEOPLE.c.id.in_(ids.scalar_subquery())).subquery("page")
    else:
        page = rows.where(*conditions).order_by(*_PEOPLE_ORDER).limit(limit).offset(offset).subquery("page")
    person_orgs = _PERSON_ORGS.c
    statement = (
        sa_select(page, person_orgs.org_id)
        .select_from(page.outerjoin(_PERSON_ORGS, person_orgs.person_id == page.c.id))
        .order_by(page.c.family_name, page.c.given_name, page.c.id, person_orgs.role_type, person_orgs.org_id)
    )
    return _PeopleStatements(page=statement, count=count)


_PERSON_ONE = (
    sa_select(*_PERSON_COLUMNS, _PERSON_ORGS.c.org_id)
    .select_from(_PEOPLE.outerjoin(_PERSON_ORGS, _PERSON_ORGS.c.person_id == _PEOPLE.c.id))
    .where(_PEOPLE.c.tenant_id == bindparam("tenant_id"), _PEOPLE.c.id == bindparam("person_id"))
    .order_by(_PERSON_ORGS.c.role_type, _PERSON_ORGS.c.org_id)
)


def _group_people(rows: Sequence[Any], *, total_at: int | None) -> list[PersonRow]:
    """Rows of (person columns..., [total], org_id), several per person in order, as one entry per
    person with their distinct org ids in order."""
    out: list[PersonRow] = []
    seen: uuid.UUID | None = None
    org_column = _PERSON_WIDTH if total_at is None else _PERSON_WIDTH + 1
    for row in rows:
        person_id = row[0]
        if person_id != seen or not out:
            seen = person_id
            out.append((dict(zip(_PERSON_NAMES, row[:_PERSON_WIDTH], strict=True)), []))
        org_id = row[org_column]
        orgs = out[-1][1]
        if org_id is not None and org_id not in orgs:
            orgs.append(org_id)
    return out


class RosterRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def get(self, model: type[M], tenant_id: uuid.UUID, obj_id: uuid.UUID) -> M | None:
        query = select(model).where(col(model.tenant_id) == tenant_id, col(model.id) == obj_id)
        return (await self.session.exec(query)).first()

    async def get_by_sourced_id(self, model: type[M], tenant_id: uuid.UUID, sourced_id: str) -> M | None:
        query = select(model).where(col(model.tenant_id) == tenant_id, col(model.sourced_id) == sourced_id)
        return (await self.session.exec(query)).first()

    async def by_sourced_ids(
        self, model: type[M], tenant_id: uuid.UUID, sourced_ids: Iterable[str]
    ) -> dict[str, M]:
        wanted = list(set(sourced_ids))
        out: dict[str, M] = {}
        for start in range(0, len(wanted), 1000):
            query = select(model).where(
                col(model.tenant_id) == tenant_id, col(model.sourced_id).in_(wanted[start : start + 1000])
            )
            out.update(
                {row.sourced_id: row for row in (await self.session.exec(query)).all() if row.sourced_id}
            )
        return out

    async def existing_ids(
        self, model: type[M], tenant_id: uuid.UUID, ids: Iterable[uuid.UUID]
    ) -> set[uuid.UUID]:
        wanted = set(ids)
        if not wanted:
            return set()
        query = select(model.id).where(col(model.tenant_id) == tenant_id, col(model.id).in_(wanted))
        return set((await self.session.exec(query)).all())

    async def get_many(
        self, model: type[M], tenant_id: uuid.UUID, ids: Iterable[uuid.UUID]
    ) -> dict[uuid.UUID, M]:
        """Rows of ``model`` by id in one statement; ids of other tenants are simply absent."""
        wanted = list(set(ids))
        if not wanted:
            return {}
        query = select(model).where(col(model.tenant_id) == tenant_id, col(model.id).in_(wanted))
        return {row.id: row for row in (await self.session.exec(query)).all()}

    async def add(self, obj: Any) -> None:
        self.session.add(obj)
        await self.session.flush()

    # -- people --------------------------------------------------------------------------------

    async def list_people(
        self, tenant_id: uuid.UUID, flt: PersonFilter, page: PageParams
    ) -> tuple[list[PersonRow], int]:
        """One page of people (family, given name, id order) with their org ids, and the number of
        matches (up to COUNT_LIMIT + 1): one statement, built once per combination of filters."""
        shape, params = _person_filter(flt)
        # COUNT_LIMIT read at each call: the statement is cached, the bound is a parameter.
        params.update(
            tenant_id=tenant_id, limit=page.limit, offset=page.offset, count_limit=schemas.COUNT_LIMIT + 1
        )
        connection = await self.session.connection()
        statements = _people_statements(shape, page.offset >= database.DEFERRED_JOIN_OFFSET)
        result = await connection.execute(statements.page, params)
        rows = result.all()
        if rows:
            return _group_people(rows, total_at=_PERSON_WIDTH), int(rows[0][_PERSON_WIDTH])
        if page.offset == 0:
            return [], 0
        return [], int((await connection.execute(statements.count, params)).scalar_one())

    async def person_row(self, tenant_id: uuid.UUID, person_id: uuid.UUID) -> PersonRow | None:
        """One person of the tenant with their org ids, in one statement."""
        connection = await self.session.connection()
        result = await connection.execute(_PERSON_ONE, {"tenant_id": tenant_id, "person_id": person_id})
        people = _group_people(result.all(), total_at=None)
        return people[0] if people else None

    async def org_ids_for(self, person_ids: Iterable[uuid.UUID]) -> dict[uuid.UUID, list[uuid.UUID]]:
        ids = list(person_ids)
        out: dict[uuid.UUID, list[uuid.UUID]] = defaultdict(list)
        if not ids:
            return out
        query = (
            select(PersonOrg.person_id, PersonOrg.org_id)
            .where(col(PersonOrg.person_id).in_(ids))
            .order_by(col(PersonOrg.person_id), col(PersonOrg.role_type), col(PersonOrg.org_id))
        )
        for person_id, org_id in (await self.session.exec(query)).all():
            if org_id not in out[person_id]:
                out[person_id].append(org_id)
        return out

    async def replace_person_orgs(
        self, tenant_id: uuid.UUID, person: Person, org_ids: Sequence[uuid.UUID]
    ) -> None:
        await self.session.exec(delete(PersonOrg).where(col(PersonOrg.person_id) == person.id))
        for index, org_id in enumerate(dict.fromkeys(org_ids)):
            self.session.add(
                PersonOrg(
                    tenant_id=tenant_id,
                    person_id=person.id,
                    org_id=org_id,
                    role=person.role,
                    role_type="primary" if index == 0 else "secondary",
                )
            )
        await self.session.flush()

    # -- classes -------------------------------------------------------------------------------

    async def list_classes(
        self, tenant_id: uuid.UUID, flt: ClassFilter, page: PageParams
    ) -> tuple[Sequence[Class], int]:
        query = select(Class).where(col(Class.tenant_id) == tenant_id)
        conditions: list[ColumnElement[bool]] = []
        if flt.status is not None:
            conditions.append(col(Class.status) == flt.status)
        if flt.sourced_id is not None:
            conditions.append(col(Class.sourced_id) == flt.sourced_id)
        if flt.school_id is not None:
            conditions.append(col(Class.school_id) == flt.school_id)
        if flt.academic_session_id is not None:
            conditions.append(col(Class.academic_session_id) == flt.academic_session_id)
        if flt.person_id is not None:
            conditions.append(
                col(Class.id).in_(
                    select(Enrollment.class_id).where(
                        col(Enrollment.tenant_id) == tenant_id,
                        col(Enrollment.person_id) == flt.person_id,
                    )
                )
            )
        if flt.within_schools is not None or flt.within_classes is not None:
            conditions.append(
                or_(
                    col(Class.school_id).in_(flt.within_schools or ()),
                    col(Class.id).in_(flt.within_classes or ()),
                )
            )
        if flt.q:
            pattern = _like(flt.q)
            conditions.append(
                or_(
                    func.lower(col(Class.title)).like(pattern, escape="\\"),
                    func.lower(col(Class.class_code)).like(pattern, escape="\\"),
                )
            )
        if conditions:
            query = query.where(*conditions)
        return await fetch_page(self.session, query, page, col(Class.title), col(Class.id))

    # -- orgs, sessions, enrollments -----------------------------------------------------------

    async def list_orgs(
        self, tenant_id: uuid.UUID, page: PageParams, *, type_: str | None, status: str | None
    ) -> tuple[Sequence[Org], int]:
        query = select(Org).where(col(Org.tenant_id) == tenant_id)
        if type_ is not None:
            query = query.where(col(Org.type) == type_)
        if status is not None:
            query = query.where(col(Org.status) == status)
        return await fetch_page(self.session, query, page, col(Org.name), col(Org.id))

    async def orgs_by_ids(self, tenant_id: uuid.UUID, ids: Iterable[uuid.UUID]) -> dict[uuid.UUID, Org]:
        wanted = list(set(ids))
        if not wanted:
            return {}
        query = select(Org).where(col(Org.tenant_id) == tenant_id, col(Org.id).in_(wanted))
        return {o.id: o for o in (await self.session.exec(query)).all()}

    async def sessions_by_ids(
        self, tenant_id: uuid.UUID, ids: Iterable[uuid.UUID]
    ) -> dict[uuid.UUID, AcademicSession]:
        wanted = list(set(ids))
        if not wanted:
            return {}
        query = select(AcademicSession).where(
            col(AcademicSession.tenant_id) == tenant_id, col(AcademicSession.id).in_(wanted)
        )
        return {s.id: s for s in (await self.session.exec(query)).all()}

    async def list_sessions(
        self, tenant_id: uuid.UUID, page: PageParams, *, type_: str | None, school_year: int | None
    ) -> tuple[Sequence[AcademicSession], int]:
        query = select(AcademicSession).where(col(AcademicSession.tenant_id) == tenant_id)
        if type_ is not None:
            query = query.where(col(AcademicSession.type) == type_)
        if school_year is not None:
            query = query.where(col(AcademicSession.school_year) == school_year)
        order = [col(AcademicSession.start_date), col(AcademicSession.title), col(AcademicSession.id)]
        return await fetch_page(self.session, query, page, *order)

    async def list_enrollments(
        self,
        tenant_id: uuid.UUID,
        page: PageParams,
        *,
        class_id: uuid.UUID | None,
        person_id: uuid.UUID | None,
        role: str | None,
        status: str | None,
    ) -> tuple[Sequence[Enrollment], int]:
        query = select(Enrollment).where(col(Enrollment.tenant_id) == tenant_id)
        if class_id is not None:
            query = query.where(col(Enrollment.class_id) == class_id)
        if person_id is not None:
            query = query.where(col(Enrollment.person_id) == person_id)
        if role is not None:
            query = query.where(col(Enrollment.role) == role)
        if status is not None:
            query = query.where(col(Enrollment.status) == status)
        return await fetch_page(self.session, query, page, col(Enrollment.created_at), col(Enrollment.id))

    async def enrollments_of_classes(
        self, tenant_id: uuid.UUID, class_ids: Iterable[uuid.UUID], *, role: str | None, limit: int
    ) -> dict[uuid.UUID, list[Enrollment]]:
        """The first ``limit`` enrollments of each class (oldest first), in one statement."""
        wanted = list(set(class_ids))
        out: dict[uuid.UUID, list[Enrollment]] = defaultdict(list)
        if not wanted:
            return out
        rank = (
            func.row_number()
            .over(
                partition_by=col(Enrollment.class_id),
                order_by=(col(Enrollment.created_at), col(Enrollment.id)),
            )
            .label("rank")
        )
        conditions = [col(Enrollment.tenant_id) == tenant_id, col(Enrollment.class_id).in_(wanted)]
        if role is not None:
            conditions.append(col(Enrollment.role) == role)
        ranked = select(col(Enrollment.id).label("id"), rank).where(*conditions).subquery()
        query = (
            select(Enrollment)
            .join(ranked, ranked.c.id == col(Enrollment.id))
            .where(ranked.c.rank <= limit)
            .order_by(col(Enrollment.class_id), col(Enrollment.created_at), col(Enrollment.id))
        )
        for enrollment in (await self.session.exec(query)).all():
            out[enrollment.class_id].append(enrollment)
        return out

    async def classes_of_people(
        self, tenant_id: uuid.UUID, person_ids: Iterable[uuid.UUID], *, limit: int
    ) -> dict[uuid.UUID, list[Class]]:
        """The first ``limit`` classes (by title) each person is enrolled in, in one statement."""
        wanted = list(set(person_ids))
        out: dict[uuid.UUID, list[Class]] = defaultdict(list)
        if not wanted:
            return out
        # One row per (person, class) even when a person holds several roles in a class.
        pairs = (
            select(col(Enrollment.person_id).label("person_id"), col(Enrollment.class_id).label("class_id"))
            .where(col(Enrollment.tenant_id) == tenant_id, col(Enrollment.person_id).in_(wanted))
            .distinct()
            .subquery()
        )
        rank = (
            func.row_number()
            .over(partition_by=pairs.c.person_id, order_by=(col(Class.title), col(Class.id)))
            .label("rank")
        )
        ranked = (
            select(pairs.c.person_id, pairs.c.class_id, rank)
            .join(Class, col(Class.id) == pairs.c.class_id)
            .where(col(Class.tenant_id) == tenant_id)
            .subquery()
        )
        query = (
            select(ranked.c.person_id, Class)
            .join(ranked, ranked.c.class_id == col(Class.id))
            .where(ranked.c.rank <= limit)
            .order_by(ranked.c.person_id, col(Class.title), col(Class.id))
        )
        for person_id, klass in (await self.session.exec(query)).all():
            out[person_id].append(klass)
        return out

    async def enrollment_exists(self, class_id: uuid.UUID, person_id: uuid.UUID, role: str) -> bool:
        query = select(Enrollment.id).where(
            col(Enrollment.class_id) == class_id,
            col(Enrollment.person_id) == person_id,
            col(Enrollment.role) == role,
        )
        return (await self.session.exec(query)).first() is not None

    # -- courses and course records ------------------------------------------------------------

    async def list_courses(
        self, tenant_id: uuid.UUID, page: PageParams, *, status: str | None, q: str | None
    ) -> tuple[Sequence[Course], int]:
        query = select(Course).where(col(Course.tenant_id) == tenant_id)
        if status is not None:
            query = query.where(col(Course.status) == status)
        if q:
            pattern = _like(q)
            query = query.where(
                or_(
                    func.lower(col(Course.title)).like(pattern, escape="\\"),
                    func.lower(col(Course.course_code)).like(pattern, escape="\\"),
                )
            )
        return await fetch_page(self.session, query, page, col(Course.title), col(Course.id))

    async def insert_courses(self, rows: list[dict[str, Any]]) -> None:
        """Bulk insert of complete course rows (the OneRoster sync's pages)."""
        if rows:
            await self.session.execute(insert(Course), rows)

    async def update_courses(self, rows: list[dict[str, Any]]) -> None:
        """Bulk update by primary key; every row carries ``id`` and only columns of ``courses``."""
        if rows:
            await self.session.execute(update(Course), rows)

    async def insert_course_records(self, rows: list[dict[str, Any]]) -> None:
        """Bulk insert of complete rows (every column): imports and syncs write thousands at once."""
        for start in range(0, len(rows), 2000):
            await self.session.execute(insert(CourseRecord), rows[start : start + 2000])

    async def update_course_records(self, rows: list[dict[str, Any]]) -> None:
        """Bulk update by primary key (each row: ``id`` and the changed columns)."""
        for start in range(0, len(rows), 2000):
            await self.session.execute(update(CourseRecord), rows[start : start + 2000])

    async def get_course_record(self, tenant_id: uuid.UUID, record_id: uuid.UUID) -> CourseRecord | None:
        query = select(CourseRecord).where(
            col(CourseRecord.tenant_id) == tenant_id, col(CourseRecord.id) == record_id
        )
        return (await self.session.exec(query)).first()

    @staticmethod
    def _record_order() -> tuple[Any, ...]:
        return (
            col(CourseRecord.school_year),
            func.coalesce(col(CourseRecord.term_title), ""),
            col(CourseRecord.course_title),
            col(CourseRecord.id),
        )

    async def page_course_records(
        self, tenant_id: uuid.UUID, learner_id: uuid.UUID, page: PageParams, *, status: str | None
    ) -> tuple[Sequence[CourseRecord], int]:
        query = select(CourseRecord).where(
            col(CourseRecord.tenant_id) == tenant_id, col(CourseRecord.learner_id) == learner_id
        )
        if status is not None:
            query = query.where(col(CourseRecord.status) == status)
        return await fetch_page(self.session, query, page, *self._record_order())

    async def course_records_of(
        self, tenant_id: uuid.UUID, learner_ids: Iterable[uuid.UUID], *, statuses: Sequence[str]
    ) -> dict[uuid.UUID, list[dict[str, Any]]]:
        """Per learner, their records of the given statuses in record order, as plain column values (no
        ORM objects: a cohort's tens of thousands of rows are read, not changed); chunked, one statement
        per thousand learners."""
        wanted = list(dict.fromkeys(learner_ids))
        out: dict[uuid.UUID, list[dict[str, Any]]] = defaultdict(list)
        table = CourseRecord.__table__  # type: ignore[attr-defined]
        for start in range(0, len(wanted), 1000):
            query = (
                select(*table.columns)
                .where(
                    table.c.tenant_id == tenant_id,
                    table.c.learner_id.in_(wanted[start : start + 1000]),
                    table.c.status.in_(list(statuses)),
                )
                .order_by(table.c.learner_id, *self._record_order())
            )
            result = await self.session.execute(query)
            keys = list(result.keys())
            at = keys.index("learner_id")
            for row in result.all():
                out[row[at]].append(dict(zip(keys, row, strict=True)))
        return out

    async def course_records_by_ref(
        self, tenant_id: uuid.UUID, source: str, refs: Iterable[str]
    ) -> dict[str, dict[str, Any]]:
        """source_ref -> the record's column values (read, not loaded as objects: a sync or an import
        compares thousands and writes the changes in bulk)."""
        wanted = list(set(refs))
        out: dict[str, dict[str, Any]] = {}
        table = CourseRecord.__table__  # type: ignore[attr-defined]
        for start in range(0, len(wanted), 1000):
            query = select(*table.columns).where(
                table.c.tenant_id == tenant_id,
                table.c.source == source,
                table.c.source_ref.in_(wanted[start : start + 1000]),
            )
            result = await self.session.execute(query)
            keys = list(result.keys())
            for row in result.all():
                values = dict(zip(keys, row, strict=True))
                out[values["source_ref"]] = values
        return out
