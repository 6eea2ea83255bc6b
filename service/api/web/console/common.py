"""What every console page shares: the signed-in person, CSRF, cookies, rendering and refusal pages.

Sessions are server-side (service.identity); the cookie holds a random token only. Every form carries a CSRF
token (an HMAC of the browser's session or pre-session cookie). A refused request renders a page that says
why and marks the transaction rollback-only, so it writes nothing.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import Depends, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlmodel.ext.asyncio.session import AsyncSession

from service.api.deps import ROLLBACK_ONLY, SessionDep, SettingsDep
from service.api.web.templating import render
from service.config import Settings
from service.errors import ServiceError
from service.evidence.models import Evidence
from service.identity.errors import CsrfFailed, SignInRefused
from service.identity.mailer import Mailer
from service.identity.oidc import OidcClient
from service.identity.service import CONSOLE_PATH, IdentityService, SignedIn, csrf_matches, csrf_token

SESSION_COOKIE = "portrait_session"
PRE_SESSION_COOKIE = "portrait_presession"
MAX_FIELD = 320
#: Evidence sources in plain words (service.evidence.schemas.Source), as the console's pages show them.
SOURCE_LABELS = {
    "rubric": "rubric score",
    "grade": "grade",
    "oneroster_result": "grade from the student information system",
    "peer": "peer assessment",
    "artifact": "artifact",
    "exhibition": "exhibition",
    "self_assessment": "self-assessment",
}


def source_label(source: str) -> str:
    """An evidence source in plain words (the source itself when it has none)."""
    return SOURCE_LABELS.get(source, source)


def evidence_level_label(piece: Evidence, level_titles: dict[tuple[uuid.UUID, int], str]) -> str:
    """A piece of evidence's level as the console shows it: the rubric level's title, else its score.

    ``level_titles`` maps (framework id, level position) to the level's title."""
    if piece.level_position is not None:
        return level_titles.get((piece.framework_id, piece.level_position), "no level")
    return f"score {piece.score:g}" if piece.score is not None else "no level"


def page(request: Request, name: str, context: dict[str, Any], *, status_code: int = 200) -> HTMLResponse:
    """A console page: never cached (it shows a signed-in person's data)."""
    return render(request, name, context, status_code=status_code, headers={"Cache-Control": "no-store"})


def oidc_client(request: Request, settings: Settings) -> OidcClient:
    """The app's OpenID Connect client (made on first use; tests put their own on app.state)."""
    state = request.app.state
    oidc: OidcClient | None = getattr(state, "oidc_client", None)
    if oidc is None:
        oidc = OidcClient.from_settings(settings)
        state.oidc_client = oidc
    return oidc


def identity(request: Request, session: AsyncSession, settings: Settings) -> IdentityService:
    mailer: Mailer | None = getattr(request.app.state, "mailer", None)
    return IdentityService(session, settings, mailer=mailer, oidc=oidc_client(request, settings))


async def signed_in(request: Request, session: SessionDep, settings: SettingsDep) -> SignedIn | None:
    return await identity(request, session, settings).resume(request.cookies.get(SESSION_COOKIE))


UserDep = Annotated[SignedIn | None, Depends(signed_in)]


def csrf_binding(request: Request, user: SignedIn | None) -> str:
    if user is not None:
        return user.token
    return request.cookies.get(PRE_SESSION_COOKIE) or ""


def csrf(request: Request, settings: Settings, user: SignedIn | None) -> str:
    bound = csrf_binding(request, user)
    return csrf_token(settings.token_secret_value(), bound) if bound else ""


def check_csrf(request: Request, settings: Settings, user: SignedIn | None, submitted: str | None) -> None:
    origin = request.headers.get("origin")
    # Under the pages' "Referrer-Policy: no-referrer" browsers send "Origin: null" on form posts: only a
    # real foreign origin is refused here; the token below is what every post must carry.
    if (
        origin
        and origin != "null"
        and origin not in (settings.public_url, f"{request.url.scheme}://{request.url.netloc}")
    ):
        raise CsrfFailed("this form was sent from another site")
    bound = csrf_binding(request, user)
    if not bound or not csrf_matches(settings.token_secret_value(), bound, submitted):
        raise CsrfFailed("this form has expired or did not come from this console")


def set_cookie(
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


@dataclass(frozen=True)
class SsoCookie:
    """The browser's half of an OpenID Connect round trip (service.identity.sso): the state it started
    with, and a value riding along (where to go next), in an HttpOnly cookie scoped to the sign-in's
    ``/sso`` paths that lives as long as the pending request. Set on the way to the district's provider,
    read and cleared on the way back. The console and the wallet pages each have their own."""

    name: str
    path: str

    def set(self, response: Response, settings: Settings, state: str, extra: str = "") -> None:
        set_cookie(
            response,
            settings,
            self.name,
            f"{state}.{extra}" if extra else state,  # states are letters and digits: no "." in them
            max_age=settings.console.oidc_request_ttl_seconds,
            path=self.path,
        )

    def read(self, request: Request) -> tuple[str, str]:
        """The state this browser started with and the value riding along ("" when absent)."""
        state, _, extra = request.cookies.get(self.name, "").partition(".")
        return state, extra

    def clear(self, response: Response) -> None:
        response.delete_cookie(self.name, path=self.path)


CONSOLE_SSO = SsoCookie("portrait_sso_state", CONSOLE_PATH + "/sso")


def provider_answer(state: str, code: str, error: str) -> None:
    """Refuses the provider's redirect back when it says no, or lacks its state or code."""
    if error:
        raise SignInRefused(f"your district's sign-in service did not sign you in ({error})")
    if not state or not code:
        raise SignInRefused("the answer from your district's sign-in service is incomplete")


def context(request: Request, settings: Settings, user: SignedIn | None, **values: Any) -> dict[str, Any]:
    return {"user": user, "csrf": csrf(request, settings, user), **values}


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
    return page(
        request,
        "console/refusal.html",
        context(
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


def to_sign_in() -> RedirectResponse:
    return RedirectResponse(CONSOLE_PATH + "/sign-in", status_code=303)


def signed_in_response(settings: Settings, user: SignedIn) -> RedirectResponse:
    response = RedirectResponse(CONSOLE_PATH + "/", status_code=303)
    set_cookie(
        response,
        settings,
        SESSION_COOKIE,
        user.token,
        max_age=settings.console.session_absolute_seconds,
        path=CONSOLE_PATH,
    )
    response.delete_cookie(PRE_SESSION_COOKIE, path=CONSOLE_PATH)
    return response


#: The CSRF token every console form posts.
CsrfField = Annotated[str, Form(alias="csrf_token", max_length=128)]
