"""Learners: people whose primary role is ``student``."""

from __future__ import annotations

import uuid
from typing import Annotated, Literal

from fastapi import APIRouter, Query

from service.api.deps import PageDep, RosterRead, RosterWrite, SessionDep, read_only
from service.api.rest import examples
from service.api.rest.errors import GET_ERRORS, READ_ERRORS, WRITE_ERRORS
from service.roster.repository import PersonFilter
from service.roster.schemas import LearnerCreate, PersonCreate, PersonRead, PersonUpdate
from service.roster.service import RosterService
from service.schemas import Page

router = APIRouter(prefix="/api/v1/learners", tags=["roster"])


@router.get("", summary="List learners", responses=READ_ERRORS, openapi_extra=examples.LEARNERS)
@read_only
async def list_learners(
    principal: RosterRead,
    session: SessionDep,
    page: PageDep,
    status: Annotated[Literal["active", "inactive"] | None, Query()] = None,
    sourced_id: Annotated[str | None, Query(max_length=255, description="OneRoster sourcedId")] = None,
    school_id: Annotated[uuid.UUID | None, Query(description="member of this org")] = None,
    class_id: Annotated[uuid.UUID | None, Query(description="enrolled in this class")] = None,
    q: Annotated[
        str | None, Query(min_length=1, max_length=100, description="name, email or identifier contains")
    ] = None,
) -> Page[PersonRead]:
    """The district's learners (people with role student), by family and given name; filters combine
    with AND, and an unknown query parameter is a 400."""
    flt = PersonFilter(
        role="student", status=status, sourced_id=sourced_id, org_id=school_id, class_id=class_id, q=q
    )
    items, total = await RosterService(session, principal.tenant_id).list_people(flt, page)
    return Page(items=items, total=total, limit=page.limit, offset=page.offset)


@router.post(
    "",
    status_code=201,
    summary="Create a learner",
    responses=WRITE_ERRORS,
    openapi_extra=examples.CREATE_LEARNER,
)
async def create_learner(body: LearnerCreate, principal: RosterWrite, session: SessionDep) -> PersonRead:
    """A learner of the caller's district; ``sourced_id`` (the SIS id) is unique in the district (409)
    and lets evidence name the learner by ``learner_sourced_id``."""
    data = PersonCreate(role="student", **body.model_dump())
    return await RosterService(session, principal.tenant_id).create_person(data)


@router.get("/{learner_id}", summary="Get a learner", responses=GET_ERRORS)
@read_only
async def get_learner(learner_id: uuid.UUID, principal: RosterRead, session: SessionDep) -> PersonRead:
    """One learner of the caller's district; 404 for anyone else's."""
    return await RosterService(session, principal.tenant_id).get_person(learner_id, role="student")


@router.patch("/{learner_id}", summary="Update a learner", responses=WRITE_ERRORS)
async def update_learner(
    learner_id: uuid.UUID, body: PersonUpdate, principal: RosterWrite, session: SessionDep
) -> PersonRead:
    """Only the fields given change; 404 for a learner of another district."""
    return await RosterService(session, principal.tenant_id).update_person(learner_id, body, role="student")
