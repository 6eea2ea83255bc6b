"""The staff console under ``/console/``: sign-in (one-time link, OpenID Connect), sign-out, learner search
and learner pages.

Sessions are server-side (service.identity); the cookie holds a random token only. Every form carries a CSRF
token (an HMAC of the browser's session or pre-session cookie).

No SQL here: pages call the identity, roster, awards, evidence and badges services. A refused request
renders a page that says why and marks the transaction rollback-only, so it writes nothing.
"""

from __future__ import annotations

import secrets
import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlmodel.ext.asyncio.session import AsyncSession

from service.api.deps import ROLLBACK_ONLY, SessionDep, SettingsDep
from service.api.web.templating import render
from service.awards.service import AwardService
from service.badges.service import CredentialService
from service.config import Settings
from service.errors import ServiceError
from service.evidence.service import EvidenceService
from service.frameworks.service import FrameworkService
from service.identity.errors import CsrfFailed, NotAllowed
from service.identity.mailer import Mailer
from service.identity.oidc import OidcClient
from service.identity.roles import ROLE_LABELS, STAFF_ROLES
from service.identity.service import CONSOLE_PATH, IdentityService, SignedIn, csrf_matches, csrf_token
from service.roster.repository import PersonFilter
from service.roster.service import RosterService
from service.schemas import PageParams, contains_nul

router = APIRouter(prefix=CONSOLE_PATH, include_in_schema=False)

SESSION_COOKIE = "portrait_session"
PRE_SESSION_COOKIE = "portrait_presession"
SSO_STATE_COOKIE = "portrait_sso_state"
SSO_COOKIE_PATH = CONSOLE_PATH + "/sso"
SEARCH_LIMIT = 50
TIMELINE_LIMIT = 100
MAX_FIELD = 320

SOURCE_LABELS = {
    "rubric": "rubric score",
    "grade": "grade",
    "artifact": "artifact",
    "exhibition": "exhibition",
    "self_assessment": "self-assessment",
}
AWARD_STATUS_LABELS = {
    "awarded": "earned",
    "pending_review": "under review",
    "rejected": "declined",
    "revoked": "revoked",
}


def _page(request: Request, name: str, context: dict[str, Any], *, status_code: int = 200) -> HTMLResponse:
    """A console page: never cached (it shows a signed-in person's data)."""
    return render(request, name, context, status_code=status_code, headers={"Cache-Control": "no-store"})


def identity(request: Request, session: AsyncSession, settings: Settings) -> IdentityService:
    state = request.app.state
    oidc: OidcClient | None = getattr(state, "oidc_client", None)
    if oidc is None:
        oidc = OidcClient.from_settings(settings)
        state.oidc_client = oidc
    mailer: Mailer | None = getattr(state, "mailer", None)
    return IdentityService(session, settings, mailer=mailer, oidc=oidc)


async def signed_in(request: Request, session: SessionDep, settings: SettingsDep) -> SignedIn | None:
    return await identity(request, session, settings).resume(request.cookies.get(SESSION_COOKIE))


UserDep = Annotated[SignedIn | None, Depends(signed_in)]


def _binding(request: Request, user: SignedIn | None) -> str:
    if user is not None:
        return user.token
    return request.cookies.get(PRE_SESSION_COOKIE) or ""


def _csrf(request: Request, settings: Settings, user: SignedIn | None) -> str:
    binding = _binding(request, user)
    return csrf_token(settings.token_secret_value(), binding) if binding else ""


def _check_csrf(request: Request, settings: Settings, user: SignedIn | None, submitted: str | None) -> None:
    origin = request.headers.get("origin")
    # Under the pages' "Referrer-Policy: no-referrer" browsers send "Origin: null" on form posts: only a
    # real foreign origin is refused here; the token below is what every post must carry.
    if (
        origin
        and origin != "null"
        and origin not in (settings.public_url, f"{request.url.scheme}://{request.url.netloc}")
    ):
        raise CsrfFailed("this form was sent from another site")
    binding = _binding(request, user)
    if not binding or not csrf_matches(settings.token_secret_value(), binding, submitted):
        raise CsrfFailed("this form has expired or did not come from this console")


def _set_cookie(
    response: Response, settings: Settings, name: str, value: str, *, max_age: int, path: str
) -> None:
    response.set_cookie(
        name,
        value,
        max_age=max_age,
        path=path,
        httponly=True,
        secure=settings.secure_cookies,
        samesite="lax",
    )


def _context(request: Request, settings: Settings, user: SignedIn | None, **values: Any) -> dict[str, Any]:
    return {"user": user, "csrf": _csrf(request, settings, user), **values}


def refuse(
    request: Request,
    session: AsyncSession,
    settings: Settings,
    user: SignedIn | None,
    error: ServiceError,
    *,
    heading: str | None = None,
    next_steps: str = "",
) -> HTMLResponse:
    """A page that says why, with the request's status; nothing of the request is written."""
    session.info[ROLLBACK_ONLY] = True
    back_url, back_label = ("/console/", "Back to the console") if user else ("/console/sign-in", "Sign in")
    return _page(
        request,
        "console/refusal.html",
        _context(
            request,
            settings,
            user,
            page_title=heading or error.title,
            heading=heading or error.title,
            detail=error.detail[:1].upper() + error.detail[1:] + ("" if error.detail.endswith(".") else "."),
            next_steps=next_steps,
            back_url=back_url,
            back_label=back_label,
        ),
        status_code=error.status,
    )


def _to_sign_in() -> RedirectResponse:
    return RedirectResponse(CONSOLE_PATH + "/sign-in", status_code=303)


def _signed_in_response(settings: Settings, user: SignedIn) -> RedirectResponse:
    response = RedirectResponse(CONSOLE_PATH + "/", status_code=303)
    _set_cookie(
        response,
        settings,
        SESSION_COOKIE,
        user.token,
        max_age=settings.console.session_absolute_seconds,
        path=CONSOLE_PATH,
    )
    response.delete_cookie(PRE_SESSION_COOKIE, path=CONSOLE_PATH)
    return response


# -- signing in and out ---------------------------------------------------------------------------


@router.get("", include_in_schema=False)
async def console_root_no_slash() -> RedirectResponse:
    return RedirectResponse(CONSOLE_PATH + "/", status_code=303)


@router.get("/sign-in", response_class=HTMLResponse)
async def sign_in_page(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    user: UserDep,
    tenant: Annotated[str, Query(max_length=63)] = "",
) -> Response:
    if user is not None:
        return RedirectResponse(CONSOLE_PATH + "/", status_code=303)
    # Single sign-on is offered as a link, not a form: a form's navigation may not be redirected to
    # the identity provider under the pages' CSP (form-action 'self').
    sso = await identity(request, session, settings).sso_tenant(tenant) if tenant.strip() else None
    pre = request.cookies.get(PRE_SESSION_COOKIE)
    fresh = pre is None or len(pre) != 43
    if fresh:
        pre = secrets.token_urlsafe(32)
    assert pre is not None
    response = _page(
        request,
        "console/sign_in.html",
        {
            "user": None,
            "csrf": csrf_token(settings.token_secret_value(), pre),
            "page_title": "Sign in",
            "tenant": tenant,
            "sso": sso,
            "email": "",
            "error": "",
            "link_minutes": settings.console.link_ttl_seconds // 60,
        },
    )
    if fresh:
        _set_cookie(response, settings, PRE_SESSION_COOKIE, pre, max_age=3600, path=CONSOLE_PATH)
    return response


@router.post("/sign-in", response_class=HTMLResponse)
async def request_link(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    user: UserDep,
    tenant: Annotated[str, Form(max_length=63)] = "",
    email: Annotated[str, Form(max_length=MAX_FIELD)] = "",
    csrf_token_field: Annotated[str, Form(alias="csrf_token", max_length=128)] = "",
) -> Response:
    try:
        _check_csrf(request, settings, user, csrf_token_field)
    except CsrfFailed as exc:
        return refuse(
            request, session, settings, user, exc, next_steps="Open the sign-in page again and resend."
        )
    tenant, email = tenant.strip(), email.strip()
    # U+0000 cannot reach PostgreSQL text: such input is as wrong as a missing "@".
    if not tenant or "@" not in email or contains_nul([tenant, email]):
        tenant, email = tenant.replace("\x00", ""), email.replace("\x00", "")
        session.info[ROLLBACK_ONLY] = True
        return _page(
            request,
            "console/sign_in.html",
            _context(
                request,
                settings,
                user,
                page_title="Sign in",
                tenant=tenant,
                sso=None,
                email=email,
                error="Enter your district and your email address, like name@school.org",
                link_minutes=settings.console.link_ttl_seconds // 60,
            ),
            status_code=422,
        )
    await identity(request, session, settings).email_link(tenant, email)
    return _page(
        request,
        "console/link_sent.html",
        _context(
            request,
            settings,
            user,
            page_title="Check your email",
            tenant=tenant,
            email=email,
            link_minutes=settings.console.link_ttl_seconds // 60,
        ),
    )


@router.get("/sign-in/link/{token}")
async def open_link(
    token: Annotated[str, Depends(lambda token: token[:200])],
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
) -> Response:
    try:
        user = await identity(request, session, settings).redeem_link(token)
    except ServiceError as exc:
        return refuse(
            request, session, settings, None, exc, next_steps="Ask for a new link on the sign-in page."
        )
    return _signed_in_response(settings, user)


@router.get("/sso/start")
async def sso_start(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    tenant: Annotated[str, Query(max_length=63)] = "",
) -> Response:
    try:
        start = await identity(request, session, settings).begin_sso(tenant)
    except ServiceError as exc:
        return refuse(request, session, settings, None, exc)
    response = RedirectResponse(start.url, status_code=303)
    _set_cookie(
        response,
        settings,
        SSO_STATE_COOKIE,
        start.state,
        max_age=settings.console.oidc_request_ttl_seconds,
        path=SSO_COOKIE_PATH,
    )
    return response


@router.get("/sso/callback")
async def sso_callback(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    state: Annotated[str, Query(max_length=200)] = "",
    code: Annotated[str, Query(max_length=4096)] = "",
    error: Annotated[str, Query(max_length=200)] = "",
) -> Response:
    from service.identity.errors import SignInRefused

    service = identity(request, session, settings)
    try:
        if error:
            raise SignInRefused(f"your district's sign-in service did not sign you in ({error})")
        if not state or not code:
            raise SignInRefused("the answer from your district's sign-in service is incomplete")
        user = await service.finish_sso(
            state=state, code=code, browser_state=request.cookies.get(SSO_STATE_COOKIE)
        )
    except ServiceError as exc:
        response: Response = refuse(
            request, session, settings, None, exc, next_steps="Start again from the sign-in page."
        )
        response.delete_cookie(SSO_STATE_COOKIE, path=SSO_COOKIE_PATH)
        return response
    response = _signed_in_response(settings, user)
    response.delete_cookie(SSO_STATE_COOKIE, path=SSO_COOKIE_PATH)
    return response


@router.post("/sign-out")
async def sign_out(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    user: UserDep,
    csrf_token_field: Annotated[str, Form(alias="csrf_token", max_length=128)] = "",
) -> Response:
    if user is None:
        return _to_sign_in()
    try:
        _check_csrf(request, settings, user, csrf_token_field)
    except CsrfFailed as exc:
        return refuse(request, session, settings, user, exc)
    await identity(request, session, settings).sign_out(user)
    response = _to_sign_in()
    response.delete_cookie(SESSION_COOKIE, path=CONSOLE_PATH)
    return response


@router.post("/sign-out-everywhere")
async def sign_out_everywhere(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    user: UserDep,
    csrf_token_field: Annotated[str, Form(alias="csrf_token", max_length=128)] = "",
) -> Response:
    if user is None:
        return _to_sign_in()
    try:
        _check_csrf(request, settings, user, csrf_token_field)
    except CsrfFailed as exc:
        return refuse(request, session, settings, user, exc)
    await identity(request, session, settings).sign_out_everywhere(user)
    response = _to_sign_in()
    response.delete_cookie(SESSION_COOKIE, path=CONSOLE_PATH)
    return response


# -- pages ----------------------------------------------------------------------------------------


def _scope_filter(user: SignedIn, q: str) -> PersonFilter:
    access = user.access
    if access.district_wide:
        return PersonFilter(role="student", q=q or None)
    return PersonFilter(
        role="student", q=q or None, within_orgs=access.school_ids, within_classes=access.class_ids
    )


@router.get("/", response_class=HTMLResponse)
async def home(request: Request, session: SessionDep, settings: SettingsDep, user: UserDep) -> Response:
    if user is None:
        return _to_sign_in()
    return _page(
        request,
        "console/home.html",
        _context(request, settings, user, page_title="Learners", q="", results=None),
    )


@router.get("/learners", response_class=HTMLResponse)
async def learners(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    user: UserDep,
    q: Annotated[str, Query(max_length=100)] = "",
) -> Response:
    if user is None:
        return _to_sign_in()
    q = q.strip()
    rows, total = await RosterService(session, user.tenant.id).list_people(
        _scope_filter(user, q), PageParams(limit=SEARCH_LIMIT, offset=0)
    )
    return _page(
        request,
        "console/home.html",
        _context(
            request,
            settings,
            user,
            page_title="Learners",
            q=q,
            results=rows,
            total=total,
            more=total > len(rows),
        ),
    )


@router.get("/learners/{learner_id}", response_class=HTMLResponse)
async def learner_page(
    learner_id: Annotated[str, Depends(lambda learner_id: learner_id[:64])],
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    user: UserDep,
) -> Response:
    from service.errors import NotFoundError

    if user is None:
        return _to_sign_in()
    not_yours = NotFoundError(
        "there is no learner with this id among the learners of your schools and classes"
    )
    try:
        wanted = uuid.UUID(learner_id)
    except ValueError:
        return refuse(request, session, settings, user, not_yours, heading="Learner not found")
    service = identity(request, session, settings)
    roster = RosterService(session, user.tenant.id)
    try:
        learner = await roster.get_person(wanted, role="student")
    except ServiceError:
        return refuse(request, session, settings, user, not_yours, heading="Learner not found")
    if not await service.learner_visible(user.access, learner.id):
        return refuse(request, session, settings, user, not_yours, heading="Learner not found")
    view = await _learner_view(session, settings, user, learner.id)
    return _page(
        request,
        "console/learner.html",
        _context(
            request,
            settings,
            user,
            page_title=f"{learner.given_name} {learner.family_name}",
            learner=learner,
            **view,
        ),
    )


async def _learner_view(
    session: AsyncSession, settings: Settings, user: SignedIn, learner_id: uuid.UUID
) -> dict[str, Any]:
    tenant_id = user.tenant.id
    progress = await AwardService(session, tenant_id).learner_progress(learner_id)
    credentials, _ = await CredentialService(session, tenant_id, settings).list_credentials(
        PageParams(limit=200, offset=0), learner_id=learner_id
    )
    credential_status = {c.achievement_id: c.status for c in credentials}
    badges = []
    for item in progress.achievements:
        if item.earned:
            label = "earned"
            status = credential_status.get(item.achievement_id)
            if status is not None:
                label += f", credential {status}"
        elif item.award_status:
            label = AWARD_STATUS_LABELS.get(item.award_status, item.award_status.replace("_", " "))
        else:
            label = "not yet earned"
        colour = "green" if item.earned else ("yellow" if item.award_status == "pending_review" else "grey")
        if item.award_status in ("revoked", "rejected"):
            colour = "red"
        badges.append({"title": item.title, "status_label": label, "reasons": item.reasons, "colour": colour})
    pieces, total = await EvidenceService(session, tenant_id).list_page(
        PageParams(limit=TIMELINE_LIMIT, offset=0), learner_id=learner_id
    )
    titles = {c.competency_id: c.title for c in progress.competencies}
    frameworks = FrameworkService(session, tenant_id)
    level_titles: dict[tuple[uuid.UUID, int], str] = {}
    for framework_id in {p.framework_id for p in pieces}:
        tree = await frameworks.load_tree(framework_id)
        for level in tree.levels:
            level_titles[(framework_id, level.position)] = level.title
        for comp in tree.competencies:
            titles.setdefault(comp.id, comp.title)
    classes = await RosterService(session, tenant_id).classes_by_ids(
        [p.class_id for p in pieces if p.class_id]
    )
    evidence = [
        {
            "observed_at": p.observed_at,
            "competency": titles.get(p.competency_id, "a competency"),
            "level": level_titles.get((p.framework_id, p.level_position), "no level")
            if p.level_position is not None
            else (f"score {p.score:g}" if p.score is not None else "no level"),
            "source": SOURCE_LABELS.get(p.source, p.source),
            "class_title": classes[p.class_id].title if p.class_id and p.class_id in classes else "",
            "narrative": p.narrative or "",
            "withdrawn": (p.withdrawn_reason or "withdrawn") if p.status == "withdrawn" else "",
        }
        for p in pieces
    ]
    return {"progress": progress, "badges": badges, "evidence": evidence, "evidence_total": total}


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
    return _page(
        request,
        "console/staff.html",
        _context(
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
        return _to_sign_in()
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
    csrf_token_field: Annotated[str, Form(alias="csrf_token", max_length=128)] = "",
) -> Response:
    if user is None:
        return _to_sign_in()
    try:
        _check_csrf(request, settings, user, csrf_token_field)
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
    csrf_token_field: Annotated[str, Form(alias="csrf_token", max_length=128)] = "",
) -> Response:
    if user is None:
        return _to_sign_in()
    try:
        _check_csrf(request, settings, user, csrf_token_field)
        await identity(request, session, settings).revoke_grant(user.access, grant_id)
    except ServiceError as exc:
        return refuse(request, session, settings, user, exc)
    return RedirectResponse(CONSOLE_PATH + "/staff", status_code=303)
