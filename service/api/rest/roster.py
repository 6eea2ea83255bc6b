"""Orgs (districts, schools), academic sessions, people of any role, and enrollments."""

from __future__ import annotations

import uuid
from typing import Annotated, Literal

from fastapi import APIRouter, Query

from service.api.deps import PageDep, RosterRead, RosterWrite, SessionDep, read_only
from service.api.rest.errors import GET_ERRORS, READ_ERRORS, WRITE_ERRORS
from service.roster.repository import PersonFilter
from service.roster.schemas import (
    AcademicSessionCreate,
    AcademicSessionRead,
    EnrollmentCreate,
    EnrollmentRead,
    EnrollmentRole,
    OrgCreate,
    OrgRead,
    OrgType,
    OrgUpdate,
    PersonCreate,
    PersonRead,
    PersonRole,
    PersonUpdate,
    SessionType,
)
from service.roster.service import RosterService
from service.schemas import Page

router = APIRouter(prefix="/api/v1", tags=["roster"])
Status = Literal["active", "inactive"]


@router.get(
    "/orgs",
    summary="List orgs (district, schools, ...)",
    description=(
        "A page of the district's organisations (the district itself and its schools), filterable by "
        "type and status."
    ),
    responses=READ_ERRORS,
)
async def list_orgs(
    principal: RosterRead,
    session: SessionDep,
    page: PageDep,
    type: Annotated[OrgType | None, Query()] = None,
    status: Annotated[Status | None, Query()] = None,
) -> Page[OrgRead]:
    rows, total = await RosterService(session, principal.tenant_id).list_orgs(page, type_=type, status=status)
    return Page(
        items=[OrgRead.model_validate(o) for o in rows], total=total, limit=page.limit, offset=page.offset
    )


@router.post(
    "/orgs",
    status_code=201,
    summary="Create an org",
    description=(
        "A school or other organisation of the caller's district; `sourced_id` is unique in the "
        "district (409)."
    ),
    responses=WRITE_ERRORS,
)
async def create_org(body: OrgCreate, principal: RosterWrite, session: SessionDep) -> OrgRead:
    return OrgRead.model_validate(await RosterService(session, principal.tenant_id).create_org(body))


@router.get(
    "/orgs/{org_id}",
    summary="Get an org",
    description=("One organisation of the caller's district; 404 for another district's."),
    responses=GET_ERRORS,
)
async def get_org(org_id: uuid.UUID, principal: RosterRead, session: SessionDep) -> OrgRead:
    return OrgRead.model_validate(await RosterService(session, principal.tenant_id).get_org(org_id))


@router.patch(
    "/orgs/{org_id}",
    summary="Update an org",
    description=("Only the fields given change; 404 for an organisation of another district."),
    responses=WRITE_ERRORS,
)
async def update_org(
    org_id: uuid.UUID, body: OrgUpdate, principal: RosterWrite, session: SessionDep
) -> OrgRead:
    return OrgRead.model_validate(await RosterService(session, principal.tenant_id).update_org(org_id, body))


@router.get(
    "/academic-sessions",
    summary="List academic sessions",
    description=("A page of the district's school years, terms, semesters and grading periods."),
    responses=READ_ERRORS,
)
async def list_academic_sessions(
    principal: RosterRead,
    session: SessionDep,
    page: PageDep,
    type: Annotated[SessionType | None, Query()] = None,
    school_year: Annotated[int | None, Query(ge=1900, le=2200)] = None,
) -> Page[AcademicSessionRead]:
    rows, total = await RosterService(session, principal.tenant_id).list_academic_sessions(
        page, type_=type, school_year=school_year
    )
    return Page(
        items=[AcademicSessionRead.model_validate(s) for s in rows],
        total=total,
        limit=page.limit,
        offset=page.offset,
    )


@router.post(
    "/academic-sessions",
    status_code=201,
    summary="Create an academic session",
    description=(
        "A school year, term, semester or grading period (with its dates and optional parent); "
        "`sourced_id` is unique in the district (409)."
    ),
    responses=WRITE_ERRORS,
)
async def create_academic_session(
    body: AcademicSessionCreate, principal: RosterWrite, session: SessionDep
) -> AcademicSessionRead:
    obj = await RosterService(session, principal.tenant_id).create_academic_session(body)
    return AcademicSessionRead.model_validate(obj)


@router.get(
    "/academic-sessions/{session_id}",
    summary="Get an academic session",
    description=("One academic session of the caller's district; 404 for another district's."),
    responses=GET_ERRORS,
)
async def get_academic_session(
    session_id: uuid.UUID, principal: RosterRead, session: SessionDep
) -> AcademicSessionRead:
    obj = await RosterService(session, principal.tenant_id).get_academic_session(session_id)
    return AcademicSessionRead.model_validate(obj)


@router.get(
    "/people",
    summary="List people of any role",
    description=(
        "A page of the district's people of every role (teachers, administrators, learners, "
        "guardians), filterable by role and status; `q` searches names and email."
    ),
    responses=READ_ERRORS,
)
@read_only
async def list_people(
    principal: RosterRead,
    session: SessionDep,
    page: PageDep,
    role: Annotated[PersonRole | None, Query()] = None,
    status: Annotated[Status | None, Query()] = None,
    sourced_id: Annotated[str | None, Query(max_length=255)] = None,
    org_id: Annotated[uuid.UUID | None, Query()] = None,
    class_id: Annotated[uuid.UUID | None, Query()] = None,
    q: Annotated[str | None, Query(min_length=1, max_length=100)] = None,
) -> Page[PersonRead]:
    flt = PersonFilter(role=role, status=status, sourced_id=sourced_id, org_id=org_id, class_id=class_id, q=q)
    items, total = await RosterService(session, principal.tenant_id).list_people(flt, page)
    return Page(items=items, total=total, limit=page.limit, offset=page.offset)


@router.post(
    "/people",
    status_code=201,
    summary="Create a person (teacher, administrator, ...)",
    description=(
        "A person of the caller's district with a OneRoster role; staff roles also give access to the"
        " staff console. `sourced_id` is unique in the district (409)."
    ),
    responses=WRITE_ERRORS,
)
async def create_person(body: PersonCreate, principal: RosterWrite, session: SessionDep) -> PersonRead:
    return await RosterService(session, principal.tenant_id).create_person(body)


@router.get(
    "/people/{person_id}",
    summary="Get a person",
    description=("One person of the caller's district; 404 for another district's."),
    responses=GET_ERRORS,
)
@read_only
async def get_person(person_id: uuid.UUID, principal: RosterRead, session: SessionDep) -> PersonRead:
    return await RosterService(session, principal.tenant_id).get_person(person_id)


@router.patch(
    "/people/{person_id}",
    summary="Update a person",
    description=("Only the fields given change; 404 for a person of another district."),
    responses=WRITE_ERRORS,
)
async def update_person(
    person_id: uuid.UUID, body: PersonUpdate, principal: RosterWrite, session: SessionDep
) -> PersonRead:
    return await RosterService(session, principal.tenant_id).update_person(person_id, body)


@router.get(
    "/enrollments",
    summary="List enrollments",
    description=(
        "A page of enrollments (person, class, role), filterable by class, person, role and status."
    ),
    responses=READ_ERRORS,
)
async def list_enrollments(
    principal: RosterRead,
    session: SessionDep,
    page: PageDep,
    class_id: Annotated[uuid.UUID | None, Query()] = None,
    person_id: Annotated[uuid.UUID | None, Query()] = None,
    role: Annotated[EnrollmentRole | None, Query()] = None,
    status: Annotated[Status | None, Query()] = None,
) -> Page[EnrollmentRead]:
    rows, total = await RosterService(session, principal.tenant_id).list_enrollments(
        page, class_id=class_id, person_id=person_id, role=role, status=status
    )
    return Page(
        items=[EnrollmentRead.model_validate(e) for e in rows],
        total=total,
        limit=page.limit,
        offset=page.offset,
    )


@router.post(
    "/enrollments",
    status_code=201,
    summary="Enroll a person in a class",
    description=(
        "Enrolls a person of the district in one of its classes with a role (student, teacher, ...); "
        "the class's teachers then see its learners in the console."
    ),
    responses=WRITE_ERRORS,
)
async def create_enrollment(
    body: EnrollmentCreate, principal: RosterWrite, session: SessionDep
) -> EnrollmentRead:
    return EnrollmentRead.model_validate(
        await RosterService(session, principal.tenant_id).create_enrollment(body)
    )
