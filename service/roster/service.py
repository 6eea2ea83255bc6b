"""Roster use cases. All operate inside one tenant; services flush and never commit."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from sqlmodel.ext.asyncio.session import AsyncSession

from service.db import new_id
from service.errors import FieldError
from service.roster.course_csv import CsvRow, Problems
from service.roster.errors import (
    DuplicateEnrollment,
    InvalidReference,
    NullNotAllowed,
    RosterNotFound,
    SourcedIdTaken,
)
from service.roster.models import AcademicSession, Class, Course, CourseRecord, Enrollment, Org, Person
from service.roster.repository import ClassFilter, M, PersonFilter, PersonRow, RosterRepository
from service.roster.schemas import (
    AcademicSessionCreate,
    ClassCreate,
    ClassUpdate,
    CourseCreate,
    CourseRecordCreate,
    CourseRecordImport,
    CourseRecordRead,
    CourseRecordUpdate,
    EnrollmentCreate,
    OrgCreate,
    OrgUpdate,
    PersonCreate,
    PersonRead,
    PersonUpdate,
)
from service.schemas import PageParams

_KIND = {
    Org: "org",
    AcademicSession: "academic session",
    Person: "person",
    Class: "class",
    Enrollment: "enrollment",
    Course: "course",
}
#: The statuses each reading of course records includes: withdrawn records are history, not record.
_CURRENT = ("completed", "in_progress")


def _person_read(row: PersonRow) -> PersonRead:
    """A person read straight from typed columns (the database's types are the schema's): built
    without a second validation, the way a list of hundreds stays cheap."""
    fields, org_ids = row
    return PersonRead.model_construct(**fields, org_ids=org_ids)


class RosterService:
    def __init__(self, session: AsyncSession, tenant_id: uuid.UUID) -> None:
        self.session = session
        self.tenant_id = tenant_id
        self.repo = RosterRepository(session)

    # -- shared helpers ------------------------------------------------------------------------

    async def _get(self, model: type[M], obj_id: uuid.UUID, *, label: str | None = None) -> M:
        obj = await self.repo.get(model, self.tenant_id, obj_id)
        if obj is None:
            raise RosterNotFound(f"{label or _KIND[model]} {obj_id} not found")
        return obj

    async def _check_sourced_id(self, model: type[M], sourced_id: str | None) -> None:
        if sourced_id is not None and await self.repo.get_by_sourced_id(model, self.tenant_id, sourced_id):
            raise SourcedIdTaken(
                f"a {_KIND[model]} with sourced_id '{sourced_id}' already exists",
                [FieldError("body.sourced_id", "already used in this tenant", "conflict")],
            )

    async def _check_refs(self, model: type[M], field: str, ids: Sequence[uuid.UUID]) -> None:
        found = await self.repo.existing_ids(model, self.tenant_id, ids)
        missing = [i for i in dict.fromkeys(ids) if i not in found]
        if missing:
            raise InvalidReference(
                f"{field} names {_KIND[model]}s that do not exist",
                [
                    FieldError(f"body.{field}", f"unknown {_KIND[model]} {m}", "invalid_reference")
                    for m in missing
                ],
            )

    @staticmethod
    def _apply(obj: Any, changes: dict[str, Any]) -> None:
        for key, value in changes.items():
            setattr(obj, key, value)
        obj.updated_at = datetime.now(UTC)

    # -- orgs ----------------------------------------------------------------------------------

    async def create_org(self, data: OrgCreate) -> Org:
        await self._check_sourced_id(Org, data.sourced_id)
        if data.parent_id is not None:
            await self._check_refs(Org, "parent_id", [data.parent_id])
        org = Org(tenant_id=self.tenant_id, **data.model_dump())
        await self.repo.add(org)
        return org

    async def get_org(self, org_id: uuid.UUID) -> Org:
        return await self._get(Org, org_id)

    async def update_org(self, org_id: uuid.UUID, data: OrgUpdate) -> Org:
        org = await self._get(Org, org_id)
        changes = data.model_dump(exclude_unset=True)
        for required in ("name", "status"):
            if required in changes and changes[required] is None:
                raise NullNotAllowed(
                    f"{required} cannot be null",
                    [FieldError(f"body.{required}", "cannot be null", "null_not_allowed")],
                )
        if changes.get("parent_id") is not None:
            if changes["parent_id"] == org.id:
                raise InvalidReference(
                    "an org cannot be its own parent",
                    [FieldError("body.parent_id", "equals the org's own id", "invalid_reference")],
                )
            await self._check_refs(Org, "parent_id", [changes["parent_id"]])
        self._apply(org, changes)
        await self.repo.add(org)
        return org

    async def list_orgs(
        self, page: PageParams, *, type_: str | None = None, status: str | None = None
    ) -> tuple[Sequence[Org], int]:
        return await self.repo.list_orgs(self.tenant_id, page, type_=type_, status=status)

    async def orgs_by_ids(self, ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, Org]:
        return await self.repo.orgs_by_ids(self.tenant_id, ids)

    # -- academic sessions ---------------------------------------------------------------------

    async def create_academic_session(self, data: AcademicSessionCreate) -> AcademicSession:
        await self._check_sourced_id(AcademicSession, data.sourced_id)
        if data.parent_id is not None:
            await self._check_refs(AcademicSession, "parent_id", [data.parent_id])
        obj = AcademicSession(tenant_id=self.tenant_id, **data.model_dump())
        await self.repo.add(obj)
        return obj

    async def get_academic_session(self, session_id: uuid.UUID) -> AcademicSession:
        return await self._get(AcademicSession, session_id)

    async def list_academic_sessions(
        self, page: PageParams, *, type_: str | None = None, school_year: int | None = None
    ) -> tuple[Sequence[AcademicSession], int]:
        return await self.repo.list_sessions(self.tenant_id, page, type_=type_, school_year=school_year)

    async def academic_sessions_by_ids(self, ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, AcademicSession]:
        return await self.repo.sessions_by_ids(self.tenant_id, ids)

    # -- people --------------------------------------------------------------------------------

    async def _read(self, people: Sequence[Person]) -> list[PersonRead]:
        org_ids = await self.repo.org_ids_for(p.id for p in people)
        return [
            PersonRead.model_validate({**p.model_dump(), "org_ids": org_ids.get(p.id, [])}) for p in people
        ]

    async def create_person(self, data: PersonCreate) -> PersonRead:
        await self._check_sourced_id(Person, data.sourced_id)
        await self._check_refs(Org, "org_ids", data.org_ids)
        person = Person(tenant_id=self.tenant_id, **data.model_dump(exclude={"org_ids"}))
        await self.repo.add(person)
        await self.repo.replace_person_orgs(self.tenant_id, person, data.org_ids)
        return (await self._read([person]))[0]

    async def get_person(self, person_id: uuid.UUID, *, role: str | None = None) -> PersonRead:
        label = "learner" if role == "student" else None
        row = await self.repo.person_row(self.tenant_id, person_id)
        if row is None:
            raise RosterNotFound(f"{label or _KIND[Person]} {person_id} not found")
        if role is not None and row[0]["role"] != role:
            raise RosterNotFound(f"{label or 'person'} {person_id} not found")
        return _person_read(row)

    async def update_person(
        self, person_id: uuid.UUID, data: PersonUpdate, *, role: str | None = None
    ) -> PersonRead:
        label = "learner" if role == "student" else None
        person = await self._get(Person, person_id, label=label)
        if role is not None and person.role != role:
            raise RosterNotFound(f"{label or 'person'} {person_id} not found")
        changes = data.model_dump(exclude_unset=True)
        org_ids = changes.pop("org_ids", None)
        for required in ("given_name", "family_name", "status", "grades"):
            if required in changes and changes[required] is None:
                raise NullNotAllowed(
                    f"{required} cannot be null",
                    [FieldError(f"body.{required}", "cannot be null", "null_not_allowed")],
                )
        self._apply(person, changes)
        await self.repo.add(person)
        if org_ids is not None:
            await self._check_refs(Org, "org_ids", org_ids)
            await self.repo.replace_person_orgs(self.tenant_id, person, org_ids)
        return (await self._read([person]))[0]

    async def list_people(self, flt: PersonFilter, page: PageParams) -> tuple[list[PersonRead], int]:
        rows, total = await self.repo.list_people(self.tenant_id, flt, page)
        return [_person_read(row) for row in rows], total

    async def people_by_ids(self, ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, PersonRead]:
        people = await self.repo.get_many(Person, self.tenant_id, ids)
        return {p.id: p for p in await self._read(list(people.values()))}

    # -- classes -------------------------------------------------------------------------------

    async def _check_class_refs(
        self, school_id: uuid.UUID | None, session_id: uuid.UUID | None, course_id: uuid.UUID | None = None
    ) -> None:
        if school_id is not None:
            await self._check_refs(Org, "school_id", [school_id])
        if session_id is not None:
            await self._check_refs(AcademicSession, "academic_session_id", [session_id])
        if course_id is not None:
            await self._check_refs(Course, "course_id", [course_id])

    async def create_class(self, data: ClassCreate) -> Class:
        await self._check_sourced_id(Class, data.sourced_id)
        await self._check_class_refs(data.school_id, data.academic_session_id, data.course_id)
        obj = Class(tenant_id=self.tenant_id, **data.model_dump())
        await self.repo.add(obj)
        return obj

    async def get_class(self, class_id: uuid.UUID) -> Class:
        return await self._get(Class, class_id)

    async def update_class(self, class_id: uuid.UUID, data: ClassUpdate) -> Class:
        obj = await self._get(Class, class_id)
        changes = data.model_dump(exclude_unset=True)
        for required in ("title", "school_id", "class_type", "status", "grades", "subjects"):
            if required in changes and changes[required] is None:
                raise NullNotAllowed(
                    f"{required} cannot be null",
                    [FieldError(f"body.{required}", "cannot be null", "null_not_allowed")],
                )
        await self._check_class_refs(
            changes.get("school_id"), changes.get("academic_session_id"), changes.get("course_id")
        )
        self._apply(obj, changes)
        await self.repo.add(obj)
        return obj

    async def list_classes(self, flt: ClassFilter, page: PageParams) -> tuple[Sequence[Class], int]:
        return await self.repo.list_classes(self.tenant_id, flt, page)

    async def classes_by_ids(self, ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, Class]:
        return await self.repo.get_many(Class, self.tenant_id, ids)

    async def classes_of_people(
        self, person_ids: Sequence[uuid.UUID], *, limit: int
    ) -> dict[uuid.UUID, list[Class]]:
        """Per person, the first ``limit`` classes they are enrolled in (any role)."""
        return await self.repo.classes_of_people(self.tenant_id, person_ids, limit=limit)

    # -- enrollments ---------------------------------------------------------------------------

    async def create_enrollment(self, data: EnrollmentCreate) -> Enrollment:
        await self._check_sourced_id(Enrollment, data.sourced_id)
        await self._check_refs(Class, "class_id", [data.class_id])
        await self._check_refs(Person, "person_id", [data.person_id])
        if await self.repo.enrollment_exists(data.class_id, data.person_id, data.role):
            raise DuplicateEnrollment(
                f"person {data.person_id} is already enrolled in class {data.class_id} as {data.role}"
            )
        obj = Enrollment(tenant_id=self.tenant_id, **data.model_dump())
        await self.repo.add(obj)
        return obj

    async def list_enrollments(
        self,
        page: PageParams,
        *,
        class_id: uuid.UUID | None = None,
        person_id: uuid.UUID | None = None,
        role: str | None = None,
        status: str | None = None,
    ) -> tuple[Sequence[Enrollment], int]:
        return await self.repo.list_enrollments(
            self.tenant_id, page, class_id=class_id, person_id=person_id, role=role, status=status
        )

    async def enrollments_of_classes(
        self, class_ids: Sequence[uuid.UUID], *, role: str | None = None, limit: int
    ) -> dict[uuid.UUID, list[Enrollment]]:
        """Per class, its first ``limit`` enrollments (oldest first), optionally of one role."""
        return await self.repo.enrollments_of_classes(self.tenant_id, class_ids, role=role, limit=limit)

    # -- courses -------------------------------------------------------------------------------

    async def create_course(self, data: CourseCreate) -> Course:
        await self._check_sourced_id(Course, data.sourced_id)
        if data.org_id is not None:
            await self._check_refs(Org, "org_id", [data.org_id])
        course = Course(tenant_id=self.tenant_id, **data.model_dump())
        await self.repo.add(course)
        return course

    async def get_course(self, course_id: uuid.UUID) -> Course:
        return await self._get(Course, course_id)

    async def list_courses(
        self, page: PageParams, *, status: str | None = None, q: str | None = None
    ) -> tuple[Sequence[Course], int]:
        return await self.repo.list_courses(self.tenant_id, page, status=status, q=q)

    async def courses_by_ids(self, ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, Course]:
        return await self.repo.get_many(Course, self.tenant_id, ids)

    async def write_synced_courses(
        self, inserts: list[dict[str, Any]], updates: list[dict[str, Any]]
    ) -> None:
        """The OneRoster sync's courses, a page at a time: rows already mapped and resolved (ids,
        sourcedIds, this tenant). Bulk, because a sync page holds up to thousands."""
        for row in inserts:
            row["tenant_id"] = self.tenant_id
        await self.repo.insert_courses(inserts)
        await self.repo.update_courses(updates)

    # -- course records ------------------------------------------------------------------------

    async def _learner(self, learner_id: uuid.UUID) -> Person:
        person = await self.repo.get(Person, self.tenant_id, learner_id)
        if person is None or person.role != "student":
            raise RosterNotFound(f"learner {learner_id} not found")
        return person

    async def _record(self, record_id: uuid.UUID) -> CourseRecord:
        record = await self.repo.get_course_record(self.tenant_id, record_id)
        if record is None:
            raise RosterNotFound(f"course record {record_id} not found")
        return record

    async def _session_ref(self, session_id: uuid.UUID | None) -> AcademicSession | None:
        if session_id is None:
            return None
        await self._check_refs(AcademicSession, "academic_session_id", [session_id])
        return await self._get(AcademicSession, session_id)

    async def create_course_record(
        self,
        learner_id: uuid.UUID,
        data: CourseRecordCreate,
        *,
        source: str = "api",
        source_ref: str | None = None,
    ) -> CourseRecordRead:
        """A course on a learner's record; unknown learner (or another tenant's) is a 404."""
        await self._learner(learner_id)
        values = await self._record_values(data)
        record = CourseRecord(
            tenant_id=self.tenant_id, learner_id=learner_id, source=source, source_ref=source_ref, **values
        )
        await self.repo.add(record)
        return CourseRecordRead.model_validate(record)

    async def _record_values(self, data: CourseRecordCreate) -> dict[str, Any]:
        course = None
        if data.course_id is not None:
            course = await self.repo.get(Course, self.tenant_id, data.course_id)
            if course is None:
                raise InvalidReference(
                    "course_id names a course that does not exist",
                    [FieldError("body.course_id", f"unknown course {data.course_id}", "invalid_reference")],
                )
        if data.course_title is None and course is None:
            raise NullNotAllowed(
                "course_title is required when course_id is not given",
                [FieldError("body.course_title", "required without course_id", "missing")],
            )
        return _snapshot(data.model_dump(), course, await self._session_ref(data.academic_session_id))

    def _new_record(self, values: dict[str, Any], **more: Any) -> dict[str, Any]:
        """A complete course_records row for a bulk insert (defaults the ORM would fill, filled)."""
        now = datetime.now(UTC)
        row = {"status": "completed", "source_ref": None, **values, **more}
        return {**row, "id": new_id(), "tenant_id": self.tenant_id, "created_at": now, "updated_at": now}

    async def _write_records(self, inserts: list[dict[str, Any]], updates: list[dict[str, Any]]) -> None:
        await self.repo.insert_course_records(inserts)
        await self.repo.update_course_records(updates)
        if updates:
            # Bulk updates bypass objects this session may hold: read them again when next used.
            ids = {u["id"] for u in updates}
            for obj in list(self.session.identity_map.values()):
                if isinstance(obj, CourseRecord) and obj.id in ids:
                    self.session.expire(obj)

    async def add_course_records(
        self, items: Sequence[tuple[uuid.UUID, CourseRecordCreate]], *, source: str = "api"
    ) -> int:
        """Many records at once (learner id, record): learners, courses and terms resolved in bulk, a
        few statements whatever the number. Unknown learners, courses or terms are a 422 naming the
        item; nothing is written then."""
        learners = await self.repo.get_many(Person, self.tenant_id, {learner for learner, _ in items})
        courses = await self.repo.get_many(
            Course, self.tenant_id, {d.course_id for _, d in items if d.course_id}
        )
        terms = await self.repo.get_many(
            AcademicSession,
            self.tenant_id,
            {d.academic_session_id for _, d in items if d.academic_session_id},
        )
        rows = []
        for index, (learner_id, data) in enumerate(items):
            learner = learners.get(learner_id)
            course = courses.get(data.course_id) if data.course_id else None
            term = terms.get(data.academic_session_id) if data.academic_session_id else None
            problem = None
            if learner is None or learner.role != "student":
                problem = ("learner_id", f"unknown learner {learner_id}")
            elif data.course_id is not None and course is None:
                problem = ("course_id", f"unknown course {data.course_id}")
            elif data.academic_session_id is not None and term is None:
                problem = ("academic_session_id", f"unknown academic session {data.academic_session_id}")
            elif data.course_title is None and course is None:
                problem = ("course_title", "required without course_id")
            if problem is not None:
                raise InvalidReference(
                    f"record {index}: {problem[1]}",
                    [FieldError(f"body[{index}].{problem[0]}", problem[1], "invalid_reference")],
                )
            values = _snapshot(data.model_dump(), course, term)
            rows.append(self._new_record(values, learner_id=learner_id, source=source))
        await self._write_records(rows, [])
        return len(rows)

    async def import_course_records(self, rows: Sequence[CsvRow]) -> CourseRecordImport:
        """CSV rows, all or nothing: learners and courses are resolved in bulk, every problem is named by
        line and column before anything is written. A row whose ``source_ref`` was imported before
        replaces that record (a corrected file can be uploaded again)."""
        problems = Problems()
        ids = {r.learner_id for r in rows if r.learner_id is not None}
        people = await self.repo.get_many(Person, self.tenant_id, ids)
        by_sid = await self.repo.by_sourced_ids(
            Person, self.tenant_id, {r.learner_sourced_id for r in rows if r.learner_sourced_id}
        )
        courses = await self.repo.by_sourced_ids(
            Course, self.tenant_id, {r.course_sourced_id for r in rows if r.course_sourced_id}
        )
        existing = await self.repo.course_records_by_ref(
            self.tenant_id, "csv", {r.source_ref for r in rows if r.source_ref}
        )
        planned: list[tuple[CsvRow, uuid.UUID, dict[str, Any]]] = []
        for row in rows:
            if row.learner_id is not None:
                learner, column, key = people.get(row.learner_id), "learner_id", str(row.learner_id)
            else:
                learner, column = by_sid.get(row.learner_sourced_id or ""), "learner_sourced_id"
                key = row.learner_sourced_id or ""
            if learner is None or learner.role != "student":
                problems.add(row.line, column, f"no learner '{key}' in this district", "invalid_reference")
                continue
            course = None
            if row.course_sourced_id is not None:
                course = courses.get(row.course_sourced_id)
                if course is None:
                    problems.add(
                        row.line,
                        "course_sourced_id",
                        f"no course '{row.course_sourced_id}' in this district",
                        "invalid_reference",
                    )
                    continue
            previous = existing.get(row.source_ref) if row.source_ref else None
            if previous is not None and previous["learner_id"] != learner.id:
                problems.add(row.line, "source_ref", "was imported before for another learner", "conflict")
                continue
            data = CourseRecordCreate.model_validate(row.values)
            planned.append((row, learner.id, _snapshot(data.model_dump(), course, None)))
        problems.raise_if_any()
        inserts: list[dict[str, Any]] = []
        updates: list[dict[str, Any]] = []
        out: list[uuid.UUID] = []
        for row, learner_id, values in planned:
            previous = existing.get(row.source_ref) if row.source_ref else None
            if previous is not None:
                updates.append({**values, "id": previous["id"], "updated_at": datetime.now(UTC)})
                out.append(previous["id"])
            else:
                fresh = self._new_record(
                    values, learner_id=learner_id, source="csv", source_ref=row.source_ref
                )
                inserts.append(fresh)
                out.append(fresh["id"])
        await self._write_records(inserts, updates)
        created, updated = len(inserts), len(updates)
        return CourseRecordImport(created=created, updated=updated, ids=out)

    async def upsert_sourced_course_records(
        self, source: str, rows: Sequence[dict[str, Any]]
    ) -> dict[str, int]:
        """Records a source keeps in step (e.g. OneRoster final results): each row carries ``source_ref``
        and every column of a record but the ids; the record with that ref is created, or updated when
        a value differs. Learners are trusted to be of this tenant (the caller resolved them)."""
        existing = await self.repo.course_records_by_ref(
            self.tenant_id, source, [r["source_ref"] for r in rows]
        )
        tally = {"created": 0, "updated": 0, "unchanged": 0}
        inserts: dict[str, dict[str, Any]] = {}
        updates: list[dict[str, Any]] = []
        for row in rows:
            record = existing.get(row["source_ref"])
            if record is None:
                # a repeated ref in one call: the later row wins
                tally["created"] += row["source_ref"] not in inserts
                inserts[row["source_ref"]] = self._new_record(row, source=source)
                continue
            changes = {k: v for k, v in row.items() if record.get(k) != v}
            if changes:
                updates.append({**changes, "id": record["id"], "updated_at": datetime.now(UTC)})
                tally["updated"] += 1
            else:
                tally["unchanged"] += 1
        await self._write_records(list(inserts.values()), updates)
        return tally

    async def withdraw_sourced_course_records(self, source: str, refs: Sequence[str]) -> int:
        """Withdraw the source's records with these refs (the source deleted them); how many changed."""
        existing = await self.repo.course_records_by_ref(self.tenant_id, source, refs)
        now = datetime.now(UTC)
        updates = [
            {"id": r["id"], "status": "withdrawn", "updated_at": now}
            for r in existing.values()
            if r["status"] != "withdrawn"
        ]
        await self._write_records([], updates)
        return len(updates)

    async def get_course_record(self, record_id: uuid.UUID) -> CourseRecordRead:
        return CourseRecordRead.model_validate(await self._record(record_id))

    async def update_course_record(self, record_id: uuid.UUID, data: CourseRecordUpdate) -> CourseRecordRead:
        record = await self._record(record_id)
        changes = data.model_dump(exclude_unset=True)
        for required in ("course_title", "course_code", "school_year", "grade", "status"):
            if required in changes and changes[required] is None:
                raise NullNotAllowed(
                    f"{required} cannot be null",
                    [FieldError(f"body.{required}", "cannot be null", "null_not_allowed")],
                )
        if changes.get("academic_session_id") is not None:
            await self._check_refs(AcademicSession, "academic_session_id", [changes["academic_session_id"]])
        self._apply(record, changes)
        await self.repo.add(record)
        return CourseRecordRead.model_validate(record)

    async def withdraw_course_record(self, record_id: uuid.UUID) -> CourseRecordRead:
        """Withdrawn, not deleted: the record leaves transcripts but its history stays."""
        record = await self._record(record_id)
        if record.status != "withdrawn":
            self._apply(record, {"status": "withdrawn"})
            await self.repo.add(record)
        return CourseRecordRead.model_validate(record)

    async def page_course_records(
        self, learner_id: uuid.UUID, page: PageParams, *, status: str | None = None
    ) -> tuple[list[CourseRecordRead], int]:
        await self._learner(learner_id)
        rows, total = await self.repo.page_course_records(self.tenant_id, learner_id, page, status=status)
        return [CourseRecordRead.model_validate(r) for r in rows], total

    async def course_records(
        self, learner_ids: Sequence[uuid.UUID], *, include_in_progress: bool = True
    ) -> dict[uuid.UUID, list[CourseRecordRead]]:
        """Every requested learner id -> their current records (withdrawn left out), in record order:
        school year, term title, course title. Ids of other tenants get an empty list."""
        statuses = _CURRENT if include_in_progress else ("completed",)
        found = await self.repo.course_records_of(self.tenant_id, learner_ids, statuses=statuses)
        return {
            learner_id: [CourseRecordRead.model_validate(r) for r in found.get(learner_id, [])]
            for learner_id in dict.fromkeys(learner_ids)
        }


def _snapshot(values: dict[str, Any], course: Course | None, term: AcademicSession | None) -> dict[str, Any]:
    """A record's values with what it leaves out taken from its course and term: the snapshots."""
    out = dict(values)
    if course is not None:
        out["course_id"] = course.id
        for key, fallback in (
            ("course_title", course.title),
            ("subject", course.subject),
            ("credits_attempted", course.credits),
        ):
            if out.get(key) is None:
                out[key] = fallback
        if out.get("course_code") is None:
            out["course_code"] = course.course_code
    if out.get("course_code") is None:
        out["course_code"] = ""
    if term is not None and out.get("term_title") is None:
        out["term_title"] = term.title
    return out


async def list_course_records(
    session: AsyncSession, tenant_id: uuid.UUID, learner_id: uuid.UUID, *, include_in_progress: bool = True
) -> list[CourseRecordRead]:
    """A learner's course records for a transcript: completed (and, unless told otherwise, in progress),
    never withdrawn, ordered by school year, term title and course title. An unknown learner, or one
    of another tenant, has none (callers that must 404 check the learner first)."""
    found = await RosterService(session, tenant_id).course_records(
        [learner_id], include_in_progress=include_in_progress
    )
    return found[learner_id]


async def course_records_for_learners(
    session: AsyncSession,
    tenant_id: uuid.UUID,
    learner_ids: Sequence[uuid.UUID],
    *,
    include_in_progress: bool = True,
) -> dict[uuid.UUID, list[CourseRecordRead]]:
    """:func:`list_course_records` for a cohort: one entry per requested id (an empty list when the
    learner has none), one statement per thousand learners."""
    return await RosterService(session, tenant_id).course_records(
        learner_ids, include_in_progress=include_in_progress
    )
