"""Staff roles: a district admin grants and revokes console roles."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlmodel.ext.asyncio.session import AsyncSession

from service.api.deps import ROLLBACK_ONLY, SessionDep, SettingsDep
from service.api.web.console.common import (
    MAX_FIELD,
    CsrfField,
    UserDep,
    check_csrf,
    context,
    identity,
    page,
    refuse,
    to_sign_in,
)
from service.config import Settings
from service.errors import ServiceError
from service.identity.errors import NotAllowed
from service.identity.roles import ROLE_LABELS, STAFF_ROLES
from service.identity.service import CONSOLE_PATH, SignedIn
from service.roster.service import RosterService
from service.schemas import PageParams, contains_nul

router = APIRouter(prefix=CONSOLE_PATH, include_in_schema=False)

# -- staff roles (district admins) ---------------------------------------------------------------


async def _staff_page(
    request: Request,
    session: AsyncSession,
    settings: Settings,
    user: SignedIn,
    *,
    error: str = "",
    values: dict[str, str] | None = None,
    status_code: int = 200,
) -> Response:
    service = identity(request, session, settings)
    grants = await service.list_grants(user.access)
    roster = RosterService(session, user.tenant.id)
    schools, _ = await roster.list_orgs(PageParams(limit=200, offset=0), type_="school", status="active")
    people = await roster.people_by_ids([g.person_id for g in grants])
    names = {s.id: s.name for s in schools}
    rows = [
        {
            "id": g.id,
            "person": f"{people[g.person_id].given_name} {people[g.person_id].family_name}"
            if g.person_id in people
            else "a former staff member",
            "email": people[g.person_id].email if g.person_id in people else "",
            "role": ROLE_LABELS.get(g.role, g.role),
            "school": names.get(g.org_id, "") if g.org_id else "their own schools",
            "granted": g.created_at,
        }
        for g in grants
    ]
    return page(
        request,
        "console/staff.html",
        context(
            request,
            settings,
            user,
            page_title="Staff roles",
            grants=rows,
            schools=schools,
            roles=[(r, ROLE_LABELS[r]) for r in STAFF_ROLES],
            error=error,
            values=values or {"email": "", "role": "", "school": ""},
        ),
        status_code=status_code,
    )


@router.get("/staff", response_class=HTMLResponse)
async def staff(request: Request, session: SessionDep, settings: SettingsDep, user: UserDep) -> Response:
    if user is None:
        return to_sign_in()
    if not user.access.district_wide:
        return refuse(
            request, session, settings, user, NotAllowed("only a district admin can manage staff roles")
        )
    return await _staff_page(request, session, settings, user)


@router.post("/staff/grants", response_class=HTMLResponse)
async def grant(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    user: UserDep,
    email: Annotated[str, Form(max_length=MAX_FIELD)] = "",
    role: Annotated[str, Form(max_length=32)] = "",
    school: Annotated[str, Form(max_length=64)] = "",
    csrf_token_field: CsrfField = "",
) -> Response:
    if user is None:
        return to_sign_in()
    try:
        check_csrf(request, settings, user, csrf_token_field)
        if not user.access.district_wide:
            raise NotAllowed("only a district admin can grant console roles")
    except ServiceError as exc:
        return refuse(request, session, settings, user, exc)
    if contains_nul([email, role, school]):
        email, role, school = "", "", ""  # refused below as unknown, never sent to the database
    values = {"email": email.strip(), "role": role, "school": school}
    try:
        org_id = uuid.UUID(school) if school else None
    except ValueError:
        org_id = uuid.UUID(int=0)  # unknown school: refused by the service, named on the page
    try:
        await identity(request, session, settings).grant_role_by_email(
            user.access, user.tenant, email.strip(), role, org_id
        )
    except ServiceError as exc:
        session.info[ROLLBACK_ONLY] = True
        return await _staff_page(
            request, session, settings, user, error=exc.detail, values=values, status_code=422
        )
    return RedirectResponse(CONSOLE_PATH + "/staff", status_code=303)


@router.post("/staff/grants/{grant_id}/revoke")
async def revoke(
    grant_id: uuid.UUID,
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    user: UserDep,
    csrf_token_field: CsrfField = "",
) -> Response:
    if user is None:
        return to_sign_in()
    try:
        check_csrf(request, settings, user, csrf_token_field)
        await identity(request, session, settings).revoke_grant(user.access, grant_id)
    except ServiceError as exc:
        return refuse(request, session, settings, user, exc)
    return RedirectResponse(CONSOLE_PATH + "/staff", status_code=303)
