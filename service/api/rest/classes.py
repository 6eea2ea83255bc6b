"""Classes (sections)."""

from __future__ import annotations

import uuid
from typing import Annotated, Literal

from fastapi import APIRouter, Query

from service.api.deps import PageDep, RosterRead, RosterWrite, SessionDep
from service.api.rest.errors import GET_ERRORS, READ_ERRORS, WRITE_ERRORS
from service.roster.repository import ClassFilter
from service.roster.schemas import ClassCreate, ClassRead, ClassUpdate
from service.roster.service import RosterService
from service.schemas import Page

router = APIRouter(prefix="/api/v1/classes", tags=["roster"])


@router.get(
    "",
    summary="List classes",
    description=(
        "A page of the district's classes, filterable by school, academic session, person and status;"
        " `q` searches titles. An unknown query parameter is a 400 naming it."
    ),
    responses=READ_ERRORS,
)
async def list_classes(
    principal: RosterRead,
    session: SessionDep,
    page: PageDep,
    status: Annotated[Literal["active", "inactive"] | None, Query()] = None,
    sourced_id: Annotated[str | None, Query(max_length=255)] = None,
    school_id: Annotated[uuid.UUID | None, Query()] = None,
    academic_session_id: Annotated[uuid.UUID | None, Query()] = None,
    person_id: Annotated[uuid.UUID | None, Query(description="has this person enrolled")] = None,
    q: Annotated[
        str | None, Query(min_length=1, max_length=100, description="title or code contains")
    ] = None,
) -> Page[ClassRead]:
    flt = ClassFilter(
        status=status,
        sourced_id=sourced_id,
        school_id=school_id,
        academic_session_id=academic_session_id,
        person_id=person_id,
        q=q,
    )
    rows, total = await RosterService(session, principal.tenant_id).list_classes(flt, page)
    return Page(
        items=[ClassRead.model_validate(c) for c in rows], total=total, limit=page.limit, offset=page.offset
    )


@router.post(
    "",
    status_code=201,
    summary="Create a class",
    description=(
        "A class of one of the district's schools, with its academic sessions and optionally its "
        "course; `sourced_id` is unique in the district (409)."
    ),
    responses=WRITE_ERRORS,
)
async def create_class(body: ClassCreate, principal: RosterWrite, session: SessionDep) -> ClassRead:
    return ClassRead.model_validate(await RosterService(session, principal.tenant_id).create_class(body))


@router.get(
    "/{class_id}",
    summary="Get a class",
    description=("One class of the caller's district; 404 for another district's."),
    responses=GET_ERRORS,
)
async def get_class(class_id: uuid.UUID, principal: RosterRead, session: SessionDep) -> ClassRead:
    return ClassRead.model_validate(await RosterService(session, principal.tenant_id).get_class(class_id))


@router.patch(
    "/{class_id}",
    summary="Update a class",
    description=("Only the fields given change; 404 for a class of another district."),
    responses=WRITE_ERRORS,
)
async def update_class(
    class_id: uuid.UUID, body: ClassUpdate, principal: RosterWrite, session: SessionDep
) -> ClassRead:
    return ClassRead.model_validate(
        await RosterService(session, principal.tenant_id).update_class(class_id, body)
    )
