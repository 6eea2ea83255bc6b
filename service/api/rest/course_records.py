"""Courses and learners' course records (the academic record transcripts show); CSV import."""

from __future__ import annotations

import uuid
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Request
from fastapi.responses import JSONResponse

from service.adapters.oneroster.course_records import FinalResultsService
from service.adapters.oneroster.schemas import FinalResultsRead, FinalResultsUpdate
from service.api.deps import PageDep, RosterRead, RosterWrite, SessionDep
from service.api.rest.errors import GET_ERRORS, READ_ERRORS, WRITE_ERRORS
from service.api.rest.idempotency import idempotent
from service.api.rest.oneroster import SyncRead, SyncWrite
from service.errors import UnsupportedMediaTypeError
from service.roster import course_csv
from service.roster.schemas import (
    CourseCreate,
    CourseRead,
    CourseRecordCreate,
    CourseRecordImport,
    CourseRecordRead,
    CourseRecordStatus,
    CourseRecordUpdate,
)
from service.roster.service import RosterService
from service.schemas import Page

learner_records = APIRouter(prefix="/api/v1/learners", tags=["course records"])
records = APIRouter(prefix="/api/v1/course-records", tags=["course records"])
courses = APIRouter(prefix="/api/v1/courses", tags=["course records"])

_KEY_HEADER = {
    "parameters": [
        {
            "name": "Idempotency-Key",
            "in": "header",
            "required": False,
            "schema": {"type": "string", "maxLength": 255},
            "description": "a retry with the same key and body returns the first response",
        }
    ]
}
_CSV_BODY = {
    "requestBody": {
        "required": True,
        "description": (
            f"UTF-8 CSV with a header row, at most {course_csv.MAX_ROWS:,} rows and "
            f"{course_csv.MAX_BYTES:,} bytes. Columns (any order): "
            + ", ".join(course_csv.COLUMNS)
            + ". learner_id or learner_sourced_id, school_year and grade are required; course_title "
            "too unless course_sourced_id names a course of the district. status is completed (default), "
            "in_progress or withdrawn; completed_on is YYYY-MM-DD. A row whose source_ref was imported "
            "before replaces that record. All rows are written or none; errors[] names line and column."
        ),
        "content": {"text/csv": {"schema": {"type": "string"}}},
    }
}


@learner_records.get(
    "/{learner_id}/course-records",
    summary="List a learner's course records",
    description=(
        "A learner's academic record in record order (school year, term, title), paged, optionally "
        "filtered by `status`; 404 for a learner of another district."
    ),
    responses=GET_ERRORS,
)
async def list_learner_course_records(
    learner_id: uuid.UUID,
    principal: RosterRead,
    session: SessionDep,
    page: PageDep,
    status: Annotated[CourseRecordStatus | None, Query()] = None,
) -> Page[CourseRecordRead]:
    items, total = await RosterService(session, principal.tenant_id).page_course_records(
        learner_id, page, status=status
    )
    return Page(items=items, total=total, limit=page.limit, offset=page.offset)


@learner_records.post(
    "/{learner_id}/course-records",
    status_code=201,
    summary="Add a course record to a learner (transfer credit, prior schools, corrections)",
    description=(
        "Takes `school_year`, `grade` and `course_title` (or a `course_id`, whose title, code, "
        "subject and credits fill what is not given). Errors name the field; `Idempotency-Key` makes "
        "a retry return the first answer."
    ),
    response_model=CourseRecordRead,
    responses=WRITE_ERRORS,
    openapi_extra=_KEY_HEADER,
)
async def create_course_record(
    learner_id: uuid.UUID,
    body: CourseRecordCreate,
    request: Request,
    principal: RosterWrite,
    session: SessionDep,
) -> JSONResponse:
    async def compute() -> tuple[int, Any]:
        read = await RosterService(session, principal.tenant_id).create_course_record(learner_id, body)
        return 201, read.model_dump(mode="json")

    scope = f"POST /api/v1/learners/{learner_id}/course-records"
    return await idempotent(request, session, principal, scope, compute)


@records.post(
    "/import",
    summary="Import course records from CSV (all or nothing)",
    description=(
        "A `text/csv` body (columns `learner_id` or `learner_sourced_id`, `course_title`, "
        "`school_year`, `grade`, ...), at most 5,000 rows and 2 MiB. All rows or none: a 422 lists "
        "every problem as `body.line[N].<column>`. A row whose `source_ref` was imported before "
        "replaces that record."
    ),
    response_model=CourseRecordImport,
    responses=WRITE_ERRORS | {415: {"description": "The body is not text/csv"}},
    openapi_extra=_CSV_BODY | _KEY_HEADER,
)
async def import_course_records(
    request: Request, principal: RosterWrite, session: SessionDep
) -> JSONResponse:
    media = request.headers.get("content-type", "").split(";", 1)[0].strip().lower()
    if media != "text/csv":
        raise UnsupportedMediaTypeError(f"expected text/csv, got {media or 'no content type'}")
    raw = await request.body()

    async def compute() -> tuple[int, Any]:
        rows = course_csv.parse(raw)
        result = await RosterService(session, principal.tenant_id).import_course_records(rows)
        return 200, result.model_dump(mode="json")

    return await idempotent(request, session, principal, "POST /api/v1/course-records/import", compute)


@records.get(
    "/{record_id}",
    summary="Get a course record",
    description=("One course record of the caller's district; 404 for another district's."),
    responses=GET_ERRORS,
)
async def get_course_record(
    record_id: uuid.UUID, principal: RosterRead, session: SessionDep
) -> CourseRecordRead:
    return await RosterService(session, principal.tenant_id).get_course_record(record_id)


@records.patch(
    "/{record_id}",
    summary="Correct a course record",
    description=(
        "Only the fields given change; the record's transcripts show the correction from their next "
        "generation."
    ),
    responses=WRITE_ERRORS,
)
async def update_course_record(
    record_id: uuid.UUID, body: CourseRecordUpdate, principal: RosterWrite, session: SessionDep
) -> CourseRecordRead:
    return await RosterService(session, principal.tenant_id).update_course_record(record_id, body)


@records.delete(
    "/{record_id}",
    summary="Withdraw a course record (kept as history, left out of transcripts)",
    description=(
        "Withdraws the record: it stays as history with status `withdrawn` and no longer appears on "
        "transcripts."
    ),
    responses=WRITE_ERRORS,
)
async def withdraw_course_record(
    record_id: uuid.UUID, principal: RosterWrite, session: SessionDep
) -> CourseRecordRead:
    return await RosterService(session, principal.tenant_id).withdraw_course_record(record_id)


@courses.get(
    "",
    summary="List courses",
    description=("A page of the district's course catalogue; `q` searches title and course code."),
    responses=READ_ERRORS,
)
async def list_courses(
    principal: RosterRead,
    session: SessionDep,
    page: PageDep,
    status: Annotated[Literal["active", "inactive"] | None, Query()] = None,
    q: Annotated[
        str | None, Query(min_length=1, max_length=100, description="title or code contains")
    ] = None,
) -> Page[CourseRead]:
    rows, total = await RosterService(session, principal.tenant_id).list_courses(page, status=status, q=q)
    return Page(
        items=[CourseRead.model_validate(c) for c in rows], total=total, limit=page.limit, offset=page.offset
    )


@courses.post(
    "",
    status_code=201,
    summary="Create a course",
    description=(
        "A course of the district's catalogue (`title`, `course_code`, `subject`, `grade_levels`, "
        "`credits`); classes and course records may name it."
    ),
    response_model=CourseRead,
    responses=WRITE_ERRORS,
    openapi_extra=_KEY_HEADER,
)
async def create_course(
    body: CourseCreate, request: Request, principal: RosterWrite, session: SessionDep
) -> JSONResponse:
    async def compute() -> tuple[int, Any]:
        course = await RosterService(session, principal.tenant_id).create_course(body)
        return 201, CourseRead.model_validate(course).model_dump(mode="json")

    return await idempotent(request, session, principal, "POST /api/v1/courses", compute)


@courses.get(
    "/{course_id}",
    summary="Get a course",
    description=("One course of the caller's district; 404 for another district's."),
    responses=GET_ERRORS,
)
async def get_course(course_id: uuid.UUID, principal: RosterRead, session: SessionDep) -> CourseRead:
    return CourseRead.model_validate(await RosterService(session, principal.tenant_id).get_course(course_id))


final_results = APIRouter(prefix="/api/v1/oneroster/connections", tags=["oneroster"])


@final_results.get(
    "/{connection_id}/final-results",
    summary="Which line items of a connection carry final grades",
    description=(
        "The setting that says which line items hold final grades (categories by sourcedId or title, "
        "or a title pattern) and the passing percentage; syncs turn those results into course "
        "records."
    ),
    responses=GET_ERRORS,
)
async def get_final_results(
    connection_id: uuid.UUID, principal: SyncRead, session: SessionDep
) -> FinalResultsRead:
    return await FinalResultsService(session, principal.tenant_id).get(connection_id)


@final_results.put(
    "/{connection_id}/final-results",
    summary="Set which line items carry final grades (their results become course records)",
    responses=WRITE_ERRORS,
)
async def put_final_results(
    connection_id: uuid.UUID, body: FinalResultsUpdate, principal: SyncWrite, session: SessionDep
) -> FinalResultsRead:
    """From now on every sync (full or delta) turns results of these line items into course records,
    updates them when a result changes and withdraws them when the provider deletes the result. Saving
    also applies the setting to the results synced before; ``course_records`` counts what that did."""
    return await FinalResultsService(session, principal.tenant_id).put(connection_id, body)
