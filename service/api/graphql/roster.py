"""Roster over GraphQL: orgs, academic sessions, people and learners, classes, enrollments.

Links between objects (a class's school, a learner's classes, ...) go through the request's
dataloaders, so a page of N objects with its links costs a fixed number of statements.
"""

from __future__ import annotations

import uuid
from datetime import date, datetime
from enum import Enum
from typing import Self

import strawberry

from service.api.graphql.common import (
    Page,
    Status,
    check_limit,
    check_range,
    check_text,
    enum_value,
    field,
    mutation,
    paged,
    validate_input,
)
from service.api.graphql.context import Info
from service.api.graphql.course_records import Course, CourseRecord, learner_course_records
from service.roster import models
from service.roster import repository as filters
from service.roster.schemas import (
    AcademicSessionCreate,
    ClassCreate,
    ClassUpdate,
    EnrollmentCreate,
    LearnerCreate,
    OrgCreate,
    PersonCreate,
    PersonRead,
    PersonUpdate,
)

READ = "roster:read"
WRITE = "roster:write"
LINK_LIMIT = 50

# -- enums (values are the OneRoster 1.2 tokens the REST API uses) ------------------------------


@strawberry.enum
class OrgType(Enum):
    DEPARTMENT = "department"
    SCHOOL = "school"
    DISTRICT = "district"
    LOCAL = "local"
    STATE = "state"
    NATIONAL = "national"


@strawberry.enum
class SessionType(Enum):
    GRADING_PERIOD = "gradingPeriod"
    SEMESTER = "semester"
    SCHOOL_YEAR = "schoolYear"
    TERM = "term"


@strawberry.enum
class PersonRole(Enum):
    ADMINISTRATOR = "administrator"
    AIDE = "aide"
    COUNSELOR = "counselor"
    DISTRICT_ADMINISTRATOR = "districtAdministrator"
    GUARDIAN = "guardian"
    PARENT = "parent"
    PRINCIPAL = "principal"
    PROCTOR = "proctor"
    RELATIVE = "relative"
    SITE_ADMINISTRATOR = "siteAdministrator"
    STUDENT = "student"
    SYSTEM_ADMINISTRATOR = "systemAdministrator"
    TEACHER = "teacher"


@strawberry.enum
class EnrollmentRole(Enum):
    ADMINISTRATOR = "administrator"
    PROCTOR = "proctor"
    STUDENT = "student"
    TEACHER = "teacher"
    AIDE = "aide"


@strawberry.enum
class ClassType(Enum):
    HOMEROOM = "homeroom"
    SCHEDULED = "scheduled"


# -- types --------------------------------------------------------------------------------------


@strawberry.type(description="A district, school or other organisation of the tenant.")
class Org:
    id: uuid.UUID
    sourced_id: str | None = strawberry.field(description="OneRoster sourcedId")
    status: Status
    name: str
    type: OrgType
    identifier: str | None
    parent_id: uuid.UUID | None
    created_at: datetime
    updated_at: datetime

    @field(description="The parent org, if any.")
    async def parent(self, info: Info) -> Org | None:
        if self.parent_id is None:
            return None
        principal = info.context.require(READ)
        row = await info.context.loaders(principal).org.load(self.parent_id)
        return None if row is None else Org.from_model(row)

    @classmethod
    def from_model(cls, row: models.Org) -> Self:
        return cls(
            id=row.id,
            sourced_id=row.sourced_id,
            status=Status(row.status),
            name=row.name,
            type=OrgType(row.type),
            identifier=row.identifier,
            parent_id=row.parent_id,
            created_at=row.created_at,
            updated_at=row.updated_at,
        )


@strawberry.type(description="A school year, semester, term or grading period.")
class AcademicSession:
    id: uuid.UUID
    sourced_id: str | None
    status: Status
    title: str
    type: SessionType
    start_date: date
    end_date: date
    school_year: int
    parent_id: uuid.UUID | None

    @classmethod
    def from_model(cls, row: models.AcademicSession) -> Self:
        return cls(
            id=row.id,
            sourced_id=row.sourced_id,
            status=Status(row.status),
            title=row.title,
            type=SessionType(row.type),
            start_date=row.start_date,
            end_date=row.end_date,
            school_year=row.school_year,
            parent_id=row.parent_id,
        )


@strawberry.type(description="A person of the district with a primary role (learner, teacher, ...).")
class Person:
    id: uuid.UUID
    sourced_id: str | None
    status: Status
    role: PersonRole
    given_name: str
    family_name: str
    middle_name: str | None
    preferred_name: str | None
    email: str | None
    username: str | None
    identifier: str | None = strawberry.field(description="the district's own person number")
    grades: list[str]
    org_ids: list[uuid.UUID]
    created_at: datetime
    updated_at: datetime

    @field(description="The schools (or other orgs) the person belongs to, primary first.")
    async def orgs(self, info: Info) -> list[Org]:
        principal = info.context.require(READ)
        rows = await info.context.loaders(principal).org.load_many(self.org_ids)
        return [Org.from_model(o) for o in rows if o is not None]

    @field(description="Classes the person is enrolled in (any role), by title.")
    async def classes(self, info: Info, limit: int = LINK_LIMIT) -> list[Class]:
        principal = info.context.require(READ)
        rows = await info.context.loaders(principal).person_classes.load((self.id, check_limit(limit)))
        return [Class.from_model(c) for c in rows]

    @classmethod
    def from_read(cls, read: PersonRead) -> Self:
        return cls(
            id=read.id,
            sourced_id=read.sourced_id,
            status=Status(read.status),
            role=PersonRole(read.role),
            given_name=read.given_name,
            family_name=read.family_name,
            middle_name=read.middle_name,
            preferred_name=read.preferred_name,
            email=read.email,
            username=read.username,
            identifier=read.identifier,
            grades=list(read.grades),
            org_ids=list(read.org_ids),
            created_at=read.created_at,
            updated_at=read.updated_at,
        )


@strawberry.type(description="A person whose primary role is `STUDENT`.")
class Learner(Person):
    @field(description="The learner's current course records (withdrawn left out), in record order.")
    async def course_records(self, info: Info) -> list[CourseRecord]:
        return await learner_course_records(info, self.id)


@strawberry.type(description="A class (section) taught at a school during an academic session.")
class Class:
    id: uuid.UUID
    sourced_id: str | None
    status: Status
    title: str
    class_code: str | None
    class_type: ClassType
    location: str | None
    school_id: uuid.UUID
    academic_session_id: uuid.UUID | None
    course_id: uuid.UUID | None
    grades: list[str]
    subjects: list[str]
    created_at: datetime
    updated_at: datetime

    @field(description="The course this class is a section of, if known.")
    async def course(self, info: Info) -> Course | None:
        if self.course_id is None:
            return None
        principal = info.context.require(READ)
        row = await info.context.loaders(principal).course.load(self.course_id)
        return None if row is None else Course.from_model(row)

    @field(description="The school that teaches the class.")
    async def school(self, info: Info) -> Org | None:
        principal = info.context.require(READ)
        row = await info.context.loaders(principal).org.load(self.school_id)
        return None if row is None else Org.from_model(row)

    @field(description="The academic session (term) of the class, if any.")
    async def academic_session(self, info: Info) -> AcademicSession | None:
        if self.academic_session_id is None:
            return None
        principal = info.context.require(READ)
        row = await info.context.loaders(principal).academic_session.load(self.academic_session_id)
        return None if row is None else AcademicSession.from_model(row)

    @field(description="The class's first `limit` enrollments (oldest first), of one role or all.")
    async def enrollments(
        self, info: Info, role: EnrollmentRole | None = None, limit: int = LINK_LIMIT
    ) -> list[Enrollment]:
        principal = info.context.require(READ)
        key = (self.id, enum_value(role), check_limit(limit))
        rows = await info.context.loaders(principal).class_enrollments.load(key)
        return [Enrollment.from_model(e) for e in rows]

    @classmethod
    def from_model(cls, row: models.Class) -> Self:
        return cls(
            id=row.id,
            sourced_id=row.sourced_id,
            status=Status(row.status),
            title=row.title,
            class_code=row.class_code,
            class_type=ClassType(row.class_type),
            location=row.location,
            school_id=row.school_id,
            academic_session_id=row.academic_session_id,
            course_id=row.course_id,
            grades=list(row.grades),
            subjects=list(row.subjects),
            created_at=row.created_at,
            updated_at=row.updated_at,
        )


@strawberry.type(description="A person's enrollment in a class with a role.")
class Enrollment:
    id: uuid.UUID
    sourced_id: str | None
    status: Status
    class_id: uuid.UUID
    person_id: uuid.UUID
    role: EnrollmentRole
    primary: bool
    begin_date: date | None
    end_date: date | None

    @field(description="The enrolled person.")
    async def person(self, info: Info) -> Person | None:
        principal = info.context.require(READ)
        read = await info.context.loaders(principal).person.load(self.person_id)
        return None if read is None else Person.from_read(read)

    @field(name="class", description="The class.")
    async def class_(self, info: Info) -> Class | None:
        principal = info.context.require(READ)
        row = await info.context.loaders(principal).klass.load(self.class_id)
        return None if row is None else Class.from_model(row)

    @classmethod
    def from_model(cls, row: models.Enrollment) -> Self:
        return cls(
            id=row.id,
            sourced_id=row.sourced_id,
            status=Status(row.status),
            class_id=row.class_id,
            person_id=row.person_id,
            role=EnrollmentRole(row.role),
            primary=row.primary,
            begin_date=row.begin_date,
            end_date=row.end_date,
        )


# -- filters ------------------------------------------------------------------------------------


@strawberry.input(description="Filters of `learners`; all given ones must match.")
class LearnerFilter:
    status: Status | None = None
    sourced_id: str | None = None
    school_id: uuid.UUID | None = strawberry.field(default=None, description="member of this org")
    class_id: uuid.UUID | None = strawberry.field(default=None, description="enrolled in this class")
    q: str | None = strawberry.field(default=None, description="name, email or identifier contains")


@strawberry.input(description="Filters of `people`; all given ones must match.")
class PersonFilter:
    role: PersonRole | None = None
    status: Status | None = None
    sourced_id: str | None = None
    org_id: uuid.UUID | None = strawberry.field(default=None, description="member of this org")
    class_id: uuid.UUID | None = strawberry.field(default=None, description="enrolled in this class")
    q: str | None = strawberry.field(default=None, description="name, email or identifier contains")


@strawberry.input(description="Filters of `classes`; all given ones must match.")
class ClassFilter:
    status: Status | None = None
    sourced_id: str | None = None
    school_id: uuid.UUID | None = None
    academic_session_id: uuid.UUID | None = None
    person_id: uuid.UUID | None = strawberry.field(default=None, description="has this person enrolled")
    q: str | None = strawberry.field(default=None, description="title or code contains")


def _person_filter(
    flt: LearnerFilter | PersonFilter | None, *, role: str | None = None
) -> filters.PersonFilter:
    if flt is None:
        return filters.PersonFilter(role=role)
    org_id = flt.school_id if isinstance(flt, LearnerFilter) else flt.org_id
    if isinstance(flt, PersonFilter):
        role = enum_value(flt.role)
    return filters.PersonFilter(
        role=role,
        status=enum_value(flt.status),
        sourced_id=check_text(flt.sourced_id, "filter.sourcedId", max_length=255),
        org_id=org_id,
        class_id=flt.class_id,
        q=check_text(flt.q, "filter.q", max_length=100),
    )


def _class_filter(flt: ClassFilter | None) -> filters.ClassFilter:
    if flt is None:
        return filters.ClassFilter()
    return filters.ClassFilter(
        status=enum_value(flt.status),
        sourced_id=check_text(flt.sourced_id, "filter.sourcedId", max_length=255),
        school_id=flt.school_id,
        academic_session_id=flt.academic_session_id,
        person_id=flt.person_id,
        q=check_text(flt.q, "filter.q", max_length=100),
    )


# -- inputs (mirror the REST bodies; the REST pydantic schemas validate them) -------------------


@strawberry.input
class CreateOrgInput:
    name: str
    type: OrgType
    identifier: str | None = strawberry.UNSET
    parent_id: uuid.UUID | None = strawberry.UNSET
    sourced_id: str | None = strawberry.UNSET
    status: Status | None = strawberry.UNSET


@strawberry.input
class CreateAcademicSessionInput:
    title: str
    type: SessionType
    start_date: date
    end_date: date
    school_year: int
    parent_id: uuid.UUID | None = strawberry.UNSET
    sourced_id: str | None = strawberry.UNSET
    status: Status | None = strawberry.UNSET


@strawberry.input
class CreateLearnerInput:
    given_name: str
    family_name: str
    middle_name: str | None = strawberry.UNSET
    preferred_name: str | None = strawberry.UNSET
    email: str | None = strawberry.UNSET
    username: str | None = strawberry.UNSET
    identifier: str | None = strawberry.UNSET
    grades: list[str] | None = strawberry.UNSET
    org_ids: list[uuid.UUID] | None = strawberry.field(
        default=strawberry.UNSET, description="schools (or other orgs); the first is the primary"
    )
    sourced_id: str | None = strawberry.UNSET
    status: Status | None = strawberry.UNSET


@strawberry.input
class CreatePersonInput(CreateLearnerInput):
    role: PersonRole


@strawberry.input(description="Only the fields given change; `orgIds` replaces the whole list.")
class UpdatePersonInput:
    given_name: str | None = strawberry.UNSET
    family_name: str | None = strawberry.UNSET
    middle_name: str | None = strawberry.UNSET
    preferred_name: str | None = strawberry.UNSET
    email: str | None = strawberry.UNSET
    username: str | None = strawberry.UNSET
    identifier: str | None = strawberry.UNSET
    grades: list[str] | None = strawberry.UNSET
    org_ids: list[uuid.UUID] | None = strawberry.UNSET
    status: Status | None = strawberry.UNSET


@strawberry.input
class CreateClassInput:
    title: str
    school_id: uuid.UUID
    academic_session_id: uuid.UUID | None = strawberry.UNSET
    course_id: uuid.UUID | None = strawberry.UNSET
    class_code: str | None = strawberry.UNSET
    class_type: ClassType | None = strawberry.UNSET
    location: str | None = strawberry.UNSET
    grades: list[str] | None = strawberry.UNSET
    subjects: list[str] | None = strawberry.UNSET
    sourced_id: str | None = strawberry.UNSET
    status: Status | None = strawberry.UNSET


@strawberry.input(description="Only the fields given change.")
class UpdateClassInput:
    title: str | None = strawberry.UNSET
    school_id: uuid.UUID | None = strawberry.UNSET
    academic_session_id: uuid.UUID | None = strawberry.UNSET
    course_id: uuid.UUID | None = strawberry.UNSET
    class_code: str | None = strawberry.UNSET
    class_type: ClassType | None = strawberry.UNSET
    location: str | None = strawberry.UNSET
    grades: list[str] | None = strawberry.UNSET
    subjects: list[str] | None = strawberry.UNSET
    status: Status | None = strawberry.UNSET


@strawberry.input
class CreateEnrollmentInput:
    class_id: uuid.UUID
    person_id: uuid.UUID
    role: EnrollmentRole
    primary: bool | None = strawberry.UNSET
    begin_date: date | None = strawberry.UNSET
    end_date: date | None = strawberry.UNSET
    sourced_id: str | None = strawberry.UNSET
    status: Status | None = strawberry.UNSET


# -- operations ---------------------------------------------------------------------------------


@strawberry.type
class RosterQuery:
    @field(description="Learners of the caller's district (roster:read).")
    async def learners(
        self,
        info: Info,
        filter: LearnerFilter | None = None,
        limit: int | None = None,
        offset: int = 0,
    ) -> Page[Learner] | None:
        principal = info.context.require(READ)
        flt = _person_filter(filter, role="student")
        return await paged(
            info,
            limit,
            offset,
            lambda page: info.context.roster(principal).list_people(flt, page),
            Learner.from_read,
        )

    @field(description="A learner of the caller's district (roster:read); NOT_FOUND otherwise.")
    async def learner(self, info: Info, id: uuid.UUID) -> Learner | None:
        principal = info.context.require(READ)
        async with info.context.db_lock:
            return Learner.from_read(await info.context.roster(principal).get_person(id, role="student"))

    @field(description="People of any role (roster:read).")
    async def people(
        self,
        info: Info,
        filter: PersonFilter | None = None,
        limit: int | None = None,
        offset: int = 0,
    ) -> Page[Person] | None:
        principal = info.context.require(READ)
        flt = _person_filter(filter)
        return await paged(
            info,
            limit,
            offset,
            lambda page: info.context.roster(principal).list_people(flt, page),
            Person.from_read,
        )

    @field(description="A person of any role (roster:read); NOT_FOUND otherwise.")
    async def person(self, info: Info, id: uuid.UUID) -> Person | None:
        principal = info.context.require(READ)
        async with info.context.db_lock:
            return Person.from_read(await info.context.roster(principal).get_person(id))

    @field(description="Classes (roster:read).")
    async def classes(
        self,
        info: Info,
        filter: ClassFilter | None = None,
        limit: int | None = None,
        offset: int = 0,
    ) -> Page[Class] | None:
        principal = info.context.require(READ)
        flt = _class_filter(filter)
        return await paged(
            info,
            limit,
            offset,
            lambda page: info.context.roster(principal).list_classes(flt, page),
            Class.from_model,
        )

    @field(name="class", description="A class (roster:read); NOT_FOUND otherwise.")
    async def class_(self, info: Info, id: uuid.UUID) -> Class | None:
        principal = info.context.require(READ)
        async with info.context.db_lock:
            return Class.from_model(await info.context.roster(principal).get_class(id))

    @field(description="Orgs: the district, its schools, ... (roster:read).")
    async def orgs(
        self,
        info: Info,
        type: OrgType | None = None,
        status: Status | None = None,
        limit: int | None = None,
        offset: int = 0,
    ) -> Page[Org] | None:
        principal = info.context.require(READ)
        return await paged(
            info,
            limit,
            offset,
            lambda page: info.context.roster(principal).list_orgs(
                page, type_=enum_value(type), status=enum_value(status)
            ),
            Org.from_model,
        )

    @field(description="An org (roster:read); NOT_FOUND otherwise.")
    async def org(self, info: Info, id: uuid.UUID) -> Org | None:
        principal = info.context.require(READ)
        async with info.context.db_lock:
            return Org.from_model(await info.context.roster(principal).get_org(id))

    @field(description="Academic sessions, by start date (roster:read).")
    async def academic_sessions(
        self,
        info: Info,
        type: SessionType | None = None,
        school_year: int | None = None,
        limit: int | None = None,
        offset: int = 0,
    ) -> Page[AcademicSession] | None:
        principal = info.context.require(READ)
        year = check_range(school_year, "schoolYear", ge=1900, le=2200)
        return await paged(
            info,
            limit,
            offset,
            lambda page: info.context.roster(principal).list_academic_sessions(
                page, type_=enum_value(type), school_year=year
            ),
            AcademicSession.from_model,
        )

    @field(description="An academic session (roster:read); NOT_FOUND otherwise.")
    async def academic_session(self, info: Info, id: uuid.UUID) -> AcademicSession | None:
        principal = info.context.require(READ)
        async with info.context.db_lock:
            row = await info.context.roster(principal).get_academic_session(id)
        return AcademicSession.from_model(row)

    @field(description="Enrollments, oldest first (roster:read).")
    async def enrollments(
        self,
        info: Info,
        class_id: uuid.UUID | None = None,
        person_id: uuid.UUID | None = None,
        role: EnrollmentRole | None = None,
        status: Status | None = None,
        limit: int | None = None,
        offset: int = 0,
    ) -> Page[Enrollment] | None:
        principal = info.context.require(READ)
        return await paged(
            info,
            limit,
            offset,
            lambda page: info.context.roster(principal).list_enrollments(
                page, class_id=class_id, person_id=person_id, role=enum_value(role), status=enum_value(status)
            ),
            Enrollment.from_model,
        )


@strawberry.type
class RosterMutation:
    @mutation(description="Create an org (roster:write).")
    async def create_org(self, info: Info, input: CreateOrgInput) -> Org:
        principal = info.context.require(WRITE)
        data = validate_input(OrgCreate, input)
        async with info.context.db_lock:
            return Org.from_model(await info.context.roster(principal).create_org(data))

    @mutation(description="Create an academic session (roster:write).")
    async def create_academic_session(self, info: Info, input: CreateAcademicSessionInput) -> AcademicSession:
        principal = info.context.require(WRITE)
        data = validate_input(AcademicSessionCreate, input)
        async with info.context.db_lock:
            row = await info.context.roster(principal).create_academic_session(data)
        return AcademicSession.from_model(row)

    @mutation(description="Create a learner (roster:write).")
    async def create_learner(self, info: Info, input: CreateLearnerInput) -> Learner:
        principal = info.context.require(WRITE)
        body = validate_input(LearnerCreate, input)
        data = PersonCreate(role="student", **body.model_dump())
        async with info.context.db_lock:
            return Learner.from_read(await info.context.roster(principal).create_person(data))

    @mutation(description="Update a learner (roster:write).")
    async def update_learner(self, info: Info, id: uuid.UUID, input: UpdatePersonInput) -> Learner:
        principal = info.context.require(WRITE)
        data = validate_input(PersonUpdate, input)
        async with info.context.db_lock:
            read = await info.context.roster(principal).update_person(id, data, role="student")
        return Learner.from_read(read)

    @mutation(description="Create a person of any role (teacher, administrator, ...) (roster:write).")
    async def create_person(self, info: Info, input: CreatePersonInput) -> Person:
        principal = info.context.require(WRITE)
        data = validate_input(PersonCreate, input)
        async with info.context.db_lock:
            return Person.from_read(await info.context.roster(principal).create_person(data))

    @mutation(description="Update a person of any role (roster:write).")
    async def update_person(self, info: Info, id: uuid.UUID, input: UpdatePersonInput) -> Person:
        principal = info.context.require(WRITE)
        data = validate_input(PersonUpdate, input)
        async with info.context.db_lock:
            return Person.from_read(await info.context.roster(principal).update_person(id, data))

    @mutation(description="Create a class (roster:write).")
    async def create_class(self, info: Info, input: CreateClassInput) -> Class:
        principal = info.context.require(WRITE)
        data = validate_input(ClassCreate, input)
        async with info.context.db_lock:
            return Class.from_model(await info.context.roster(principal).create_class(data))

    @mutation(description="Update a class (roster:write).")
    async def update_class(self, info: Info, id: uuid.UUID, input: UpdateClassInput) -> Class:
        principal = info.context.require(WRITE)
        data = validate_input(ClassUpdate, input)
        async with info.context.db_lock:
            return Class.from_model(await info.context.roster(principal).update_class(id, data))

    @mutation(description="Enroll a person in a class (roster:write).")
    async def create_enrollment(self, info: Info, input: CreateEnrollmentInput) -> Enrollment:
        principal = info.context.require(WRITE)
        data = validate_input(EnrollmentCreate, input)
        async with info.context.db_lock:
            return Enrollment.from_model(await info.context.roster(principal).create_enrollment(data))
