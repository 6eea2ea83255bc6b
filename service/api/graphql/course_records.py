"""Courses and learners' course records over GraphQL: the twins of the REST routes.

A learner's ``courseRecords`` and a record's ``course`` resolve through the request's dataloaders, so
a page of learners with their records and courses costs a fixed number of statements.
"""

from __future__ import annotations

import uuid
from datetime import date, datetime
from enum import Enum
from typing import Annotated, Self

import strawberry

from service.api.graphql.common import (
    Page,
    Status,
    check_text,
    enum_value,
    field,
    mutation,
    paged,
    validate_input,
)
from service.api.graphql.context import Info
from service.api.graphql.idempotency import DESCRIPTION as KEY_DESCRIPTION
from service.api.graphql.idempotency import Idempotency
from service.roster import models
from service.roster.schemas import CourseCreate, CourseRecordCreate, CourseRecordRead, CourseRecordUpdate

READ = "roster:read"
WRITE = "roster:write"


@strawberry.enum
class CourseRecordStatus(Enum):
    IN_PROGRESS = "in_progress"
    COMPLETED = "completed"
    WITHDRAWN = "withdrawn"


@strawberry.enum
class CourseRecordSource(Enum):
    ONEROSTER = "oneroster"
    CSV = "csv"
    API = "api"


@strawberry.type(description="A course the district offers.")
class Course:
    id: uuid.UUID
    sourced_id: str | None
    status: Status
    title: str
    course_code: str | None
    subject: str | None
    grade_levels: list[str]
    credits: float | None
    org_id: uuid.UUID | None
    created_at: datetime
    updated_at: datetime

    @classmethod
    def from_model(cls, row: models.Course) -> Self:
        return cls(
            id=row.id,
            sourced_id=row.sourced_id,
            status=Status(row.status),
            title=row.title,
            course_code=row.course_code,
            subject=row.subject,
            grade_levels=list(row.grade_levels),
            credits=row.credits,
            org_id=row.org_id,
            created_at=row.created_at,
            updated_at=row.updated_at,
        )


@strawberry.type(description="A course on a learner's academic record: term, final grade, credits.")
class CourseRecord:
    id: uuid.UUID
    learner_id: uuid.UUID
    course_id: uuid.UUID | None
    course_title: str = strawberry.field(description="as recorded (a snapshot)")
    course_code: str = strawberry.field(description="as recorded; empty when the source had none")
    subject: str | None
    academic_session_id: uuid.UUID | None
    term_title: str | None
    school_year: str
    school_name: str | None = strawberry.field(description="a prior school, for transfer credit")
    grade: str
    grade_numeric: float | None
    grade_scale: str | None
    credits_attempted: float | None
    credits_earned: float | None
    status: CourseRecordStatus
    source: CourseRecordSource
    source_ref: str | None
    completed_on: date | None
    created_at: datetime
    updated_at: datetime

    @field(description="The district's course, when the record names one.")
    async def course(self, info: Info) -> Course | None:
        if self.course_id is None:
            return None
        principal = info.context.require(READ)
        row = await info.context.loaders(principal).course.load(self.course_id)
        return None if row is None else Course.from_model(row)

    @classmethod
    def from_read(cls, read: CourseRecordRead) -> Self:
        return cls(
            id=read.id,
            learner_id=read.learner_id,
            course_id=read.course_id,
            course_title=read.course_title,
            course_code=read.course_code,
            subject=read.subject,
            academic_session_id=read.academic_session_id,
            term_title=read.term_title,
            school_year=read.school_year,
            school_name=read.school_name,
            grade=read.grade,
            grade_numeric=read.grade_numeric,
            grade_scale=read.grade_scale,
            credits_attempted=read.credits_attempted,
            credits_earned=read.credits_earned,
            status=CourseRecordStatus(read.status),
            source=CourseRecordSource(read.source),
            source_ref=read.source_ref,
            completed_on=read.completed_on,
            created_at=read.created_at,
            updated_at=read.updated_at,
        )


async def learner_course_records(info: Info, learner_id: uuid.UUID) -> list[CourseRecord]:
    """The learner's current records (withdrawn left out), batched across the page's learners."""
    principal = info.context.require(READ)
    reads = await info.context.loaders(principal).learner_course_records.load(learner_id)
    return [CourseRecord.from_read(r) for r in reads]


@strawberry.input
class CreateCourseInput:
    title: str
    course_code: str | None = strawberry.UNSET
    subject: str | None = strawberry.UNSET
    grade_levels: list[str] | None = strawberry.UNSET
    credits: float | None = strawberry.UNSET
    org_id: uuid.UUID | None = strawberry.UNSET
    sourced_id: str | None = strawberry.UNSET
    status: Status | None = strawberry.UNSET


@strawberry.input(description="With `courseId` the title, code and subject default to the course's.")
class CreateCourseRecordInput:
    school_year: str
    grade: str
    course_id: uuid.UUID | None = strawberry.UNSET
    course_title: str | None = strawberry.UNSET
    course_code: str | None = strawberry.UNSET
    subject: str | None = strawberry.UNSET
    academic_session_id: uuid.UUID | None = strawberry.UNSET
    term_title: str | None = strawberry.UNSET
    school_name: str | None = strawberry.UNSET
    grade_numeric: float | None = strawberry.UNSET
    grade_scale: str | None = strawberry.UNSET
    credits_attempted: float | None = strawberry.UNSET
    credits_earned: float | None = strawberry.UNSET
    status: CourseRecordStatus | None = strawberry.UNSET
    completed_on: date | None = strawberry.UNSET


@strawberry.input(description="Only the fields given change.")
class UpdateCourseRecordInput:
    course_title: str | None = strawberry.UNSET
    course_code: str | None = strawberry.UNSET
    subject: str | None = strawberry.UNSET
    academic_session_id: uuid.UUID | None = strawberry.UNSET
    term_title: str | None = strawberry.UNSET
    school_year: str | None = strawberry.UNSET
    school_name: str | None = strawberry.UNSET
    grade: str | None = strawberry.UNSET
    grade_numeric: float | None = strawberry.UNSET
    grade_scale: str | None = strawberry.UNSET
    credits_attempted: float | None = strawberry.UNSET
    credits_earned: float | None = strawberry.UNSET
    status: CourseRecordStatus | None = strawberry.UNSET
    completed_on: date | None = strawberry.UNSET


@strawberry.type
class CourseRecordsQuery:
    @field(description="Courses of the caller's district, by title (roster:read).")
    async def courses(
        self,
        info: Info,
        q: str | None = None,
        status: Status | None = None,
        limit: int | None = None,
        offset: int = 0,
    ) -> Page[Course] | None:
        principal = info.context.require(READ)
        text = check_text(q, "q", max_length=100)
        return await paged(
            info,
            limit,
            offset,
            lambda page: info.context.roster(principal).list_courses(page, status=enum_value(status), q=text),
            Course.from_model,
        )

    @field(description="A course (roster:read); NOT_FOUND otherwise.")
    async def course(self, info: Info, id: uuid.UUID) -> Course | None:
        principal = info.context.require(READ)
        async with info.context.db_lock:
            return Course.from_model(await info.context.roster(principal).get_course(id))

    @field(description="A learner's course records, withdrawn included, in record order (roster:read).")
    async def course_records(
        self,
        info: Info,
        learner_id: uuid.UUID,
        status: CourseRecordStatus | None = None,
        limit: int | None = None,
        offset: int = 0,
    ) -> Page[CourseRecord] | None:
        principal = info.context.require(READ)
        return await paged(
            info,
            limit,
            offset,
            lambda page: info.context.roster(principal).page_course_records(
                learner_id, page, status=enum_value(status)
            ),
            CourseRecord.from_read,
        )

    @field(description="A course record (roster:read); NOT_FOUND otherwise.")
    async def course_record(self, info: Info, id: uuid.UUID) -> CourseRecord | None:
        principal = info.context.require(READ)
        async with info.context.db_lock:
            return CourseRecord.from_read(await info.context.roster(principal).get_course_record(id))


@strawberry.type
class CourseRecordsMutation:
    @mutation(description="Create a course (roster:write).")
    async def create_course(
        self,
        info: Info,
        input: CreateCourseInput,
        idempotency_key: Annotated[str | None, strawberry.argument(description=KEY_DESCRIPTION)] = None,
    ) -> Course:
        principal = info.context.require(WRITE)
        data = validate_input(CourseCreate, input)
        once = Idempotency(info, principal, "createCourse", idempotency_key, data.model_dump(mode="json"))
        roster = info.context.roster(principal)
        async with info.context.db_lock:
            first = await once.replay()
            if first is not None:
                row = await roster.get_course(uuid.UUID(first["id"]))
            else:
                row = await roster.create_course(data)
                await once.remember({"id": str(row.id)})
        info.context.forget_loaders()
        return Course.from_model(row)

    @mutation(description="Add a course record to a learner (roster:write); NOT_FOUND for unknown learners.")
    async def create_course_record(
        self,
        info: Info,
        learner_id: uuid.UUID,
        input: CreateCourseRecordInput,
        idempotency_key: Annotated[str | None, strawberry.argument(description=KEY_DESCRIPTION)] = None,
    ) -> CourseRecord:
        principal = info.context.require(WRITE)
        data = validate_input(CourseRecordCreate, input)
        payload = {"learner_id": str(learner_id), **data.model_dump(mode="json")}
        once = Idempotency(info, principal, "createCourseRecord", idempotency_key, payload)
        roster = info.context.roster(principal)
        async with info.context.db_lock:
            first = await once.replay()
            if first is not None:
                read = await roster.get_course_record(uuid.UUID(first["id"]))
            else:
                read = await roster.create_course_record(learner_id, data)
                await once.remember({"id": str(read.id)})
        info.context.forget_loaders()
        return CourseRecord.from_read(read)

    @mutation(description="Correct a course record (roster:write).")
    async def update_course_record(
        self, info: Info, id: uuid.UUID, input: UpdateCourseRecordInput
    ) -> CourseRecord:
        principal = info.context.require(WRITE)
        data = validate_input(CourseRecordUpdate, input)
        read = await info.context.write(info.context.roster(principal).update_course_record(id, data))
        return CourseRecord.from_read(read)

    @mutation(
        description="Withdraw a course record: kept as history, left out of transcripts (roster:write)."
    )
    async def withdraw_course_record(self, info: Info, id: uuid.UUID) -> CourseRecord:
        principal = info.context.require(WRITE)
        read = await info.context.write(info.context.roster(principal).withdraw_course_record(id))
        return CourseRecord.from_read(read)
