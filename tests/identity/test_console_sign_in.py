"""The console's contract and its sign-in by one-time link: cookies, expiry, reuse, tampering, CSRF, the
mailer's outbox, sign-out everywhere. Refused requests render a page that says why and write nothing."""

from __future__ import annotations

import email
from datetime import timedelta
from email.message import Message
from pathlib import Path

import httpx
import pytest
from sqlalchemy import func
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from service.config import Settings
from service.db import utcnow
from service.identity.errors import UnknownPerson
from service.identity.mailer import outbox_dir
from service.identity.models import SignInLink, StaffSession
from service.identity.service import MAX_OPEN_LINKS, IdentityService
from service.identity.tokens import hash_token
from tests.identity.conftest import World, csrf_of


async def link_for(session: AsyncSession, settings: Settings, slug: str, address: str) -> str:
    url = await IdentityService(session, settings).link_for_email(slug, address)
    await session.commit()
    return url


async def sign_in(
    browser: httpx.AsyncClient, session: AsyncSession, settings: Settings, slug: str, address: str
) -> None:
    response = await browser.get(await link_for(session, settings, slug, address))
    assert response.status_code == 303, response.text
    assert response.headers["location"] == "/console/"


async def count(session: AsyncSession, model: type[StaffSession] | type[SignInLink]) -> int:
    return int((await session.exec(select(func.count()).select_from(model))).one())


def outbox_messages(settings: Settings, to: str) -> list[Message]:
    directory: Path = outbox_dir(settings)
    if not directory.exists():
        return []
    found = [email.message_from_bytes(p.read_bytes()) for p in sorted(directory.glob("*.eml"))]
    return [m for m in found if m["To"] == to]


async def test_console_without_session_redirects_to_sign_in(browser: httpx.AsyncClient) -> None:
    response = await browser.get("/console/")
    assert response.status_code == 303
    assert response.headers["location"] == "/console/sign-in"
    page = await browser.get("/console/sign-in")
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    assert '<label class="label" for="email">Email address</label>' in page.text
    assert csrf_of(page.text)


async def test_link_signs_in_with_a_strict_cookie_and_works_once(
    browser: httpx.AsyncClient, session: AsyncSession, settings: Settings, world: World
) -> None:
    url = await link_for(session, settings, world.tenant.slug, world.counselor_email)
    assert url.startswith("https://portrait.test/console/sign-in/link/")
    response = await browser.get(url)
    assert response.status_code == 303 and response.headers["location"] == "/console/"
    cookie = response.headers["set-cookie"]
    assert cookie.startswith("portrait_session=")
    for attribute in ("HttpOnly", "Secure", "SameSite=lax", "Path=/console"):
        assert attribute in cookie, cookie
    token = browser.cookies["portrait_session"]
    stored = (
        await session.exec(select(StaffSession).where(col(StaffSession.token_hash) == hash_token(token)))
    ).one()
    assert stored.method == "link" and stored.tenant_id == world.tenant.id
    assert token not in stored.token_hash  # only the hash is kept

    home = await browser.get("/console/")
    assert home.status_code == 200
    assert "Signed in as Cora Counsel (Counselor)" in home.text

    sessions = await count(session, StaffSession)
    again = await httpx.AsyncClient(transport=browser._transport, base_url=str(browser.base_url)).get(url)
    assert again.status_code == 401
    assert "already been used" in again.text
    assert "set-cookie" not in again.headers
    assert await count(session, StaffSession) == sessions


async def test_tampered_and_malformed_links_are_refused_and_write_nothing(
    browser: httpx.AsyncClient, session: AsyncSession, settings: Settings, world: World
) -> None:
    url = await link_for(session, settings, world.tenant.slug, world.teacher_email)
    token = url.rsplit("/", 1)[1]
    tampered = token[:-1] + ("A" if token[-1] != "A" else "B")
    sessions = await count(session, StaffSession)
    for bad in (tampered, token[:20], token + "x", "%C3%A9" + token[1:]):
        response = await browser.get(f"/console/sign-in/link/{bad}")
        assert response.status_code == 401, (bad, response.text)
        assert response.headers["content-type"].startswith("text/html")
        assert "not valid" in response.text
        assert "portrait_session" not in browser.cookies
    assert await count(session, StaffSession) == sessions
    link = (
        await session.exec(select(SignInLink).where(col(SignInLink.token_hash) == hash_token(token)))
    ).one()
    assert link.used_at is None  # the real link still works
    assert (await browser.get(url)).status_code == 303


async def test_expired_link_is_refused(
    browser: httpx.AsyncClient, session: AsyncSession, settings: Settings, world: World
) -> None:
    url = await link_for(session, settings, world.tenant.slug, world.counselor_email)
    link = (
        await session.exec(
            select(SignInLink).where(col(SignInLink.token_hash) == hash_token(url.rsplit("/", 1)[1]))
        )
    ).one()
    link.expires_at = utcnow() - timedelta(seconds=1)
    session.add(link)
    await session.commit()
    response = await browser.get(url)
    assert response.status_code == 401
    assert "expired" in response.text
    await session.refresh(link)
    assert link.used_at is None


async def test_email_link_goes_to_the_outbox_and_signs_in(
    browser: httpx.AsyncClient, session: AsyncSession, settings: Settings, world: World
) -> None:
    page = await browser.get(f"/console/sign-in?tenant={world.tenant.slug}")
    assert "portrait_presession" in browser.cookies
    sent = await browser.post(
        "/console/sign-in",
        data={
            "tenant": world.tenant.slug,
            "email": world.teacher_email.upper(),
            "csrf_token": csrf_of(page.text),
        },
    )
    assert sent.status_code == 200, sent.text
    assert "Check your email" in sent.text
    (message,) = outbox_messages(settings, world.teacher_email)
    body = message.get_payload(decode=True)
    assert isinstance(body, bytes)
    link = next(line for line in body.decode().splitlines() if "/console/sign-in/link/" in line).strip()
    opened = await browser.get(link)
    assert opened.status_code == 303
    home = await browser.get("/console/")
    assert "Theo Teach (Educator)" in home.text


async def test_unknown_and_learner_addresses_get_the_same_answer_and_no_mail(
    browser: httpx.AsyncClient, session: AsyncSession, settings: Settings, world: World
) -> None:
    links = await count(session, SignInLink)
    for address in (world.learner_email, f"nobody@{world.tenant.slug}.test", world.other_counselor_email):
        page = await browser.get("/console/sign-in")
        sent = await browser.post(
            "/console/sign-in",
            data={"tenant": world.tenant.slug, "email": address, "csrf_token": csrf_of(page.text)},
        )
        assert sent.status_code == 200 and "Check your email" in sent.text
        assert outbox_messages(settings, address) == []
    assert await count(session, SignInLink) == links
    with pytest.raises(UnknownPerson, match="no staff member of"):
        await IdentityService(session, settings).link_for_email(world.tenant.slug, world.learner_email)


async def test_posts_without_csrf_token_are_refused_and_write_nothing(
    browser: httpx.AsyncClient, session: AsyncSession, settings: Settings, world: World
) -> None:
    links = await count(session, SignInLink)
    await browser.get("/console/sign-in")
    refused = await browser.post(
        "/console/sign-in", data={"tenant": world.tenant.slug, "email": world.counselor_email}
    )
    assert refused.status_code == 403
    assert "Form expired" in refused.text
    assert await count(session, SignInLink) == links
    assert outbox_messages(settings, world.counselor_email) == []

    await sign_in(browser, session, settings, world.tenant.slug, world.counselor_email)
    home = await browser.get("/console/")
    for path in ("/console/sign-out", "/console/sign-out-everywhere"):
        for data in ({}, {"csrf_token": "0" * 64}):
            response = await browser.post(path, data=data)
            assert response.status_code == 403, (path, data)
            assert "did not come from this console" in response.text
    cross_site = await browser.post(
        "/console/sign-out",
        data={"csrf_token": csrf_of(home.text)},
        headers={"Origin": "https://evil.example"},
    )
    assert cross_site.status_code == 403
    assert (await browser.get("/console/")).status_code == 200  # still signed in

    out = await browser.post("/console/sign-out", data={"csrf_token": csrf_of(home.text)})
    assert out.status_code == 303 and out.headers["location"] == "/console/sign-in"
    assert (await browser.get("/console/")).status_code == 303


async def test_sign_out_everywhere_ends_other_browsers_sessions(
    browser: httpx.AsyncClient,
    second_browser: httpx.AsyncClient,
    session: AsyncSession,
    settings: Settings,
    world: World,
) -> None:
    await sign_in(browser, session, settings, world.tenant.slug, world.counselor_email)
    await sign_in(second_browser, session, settings, world.tenant.slug, world.counselor_email)
    assert (await second_browser.get("/console/")).status_code == 200
    home = await browser.get("/console/")
    out = await browser.post("/console/sign-out-everywhere", data={"csrf_token": csrf_of(home.text)})
    assert out.status_code == 303
    assert (await second_browser.get("/console/")).status_code == 303
    assert (await browser.get("/console/")).status_code == 303


async def test_idle_and_absolute_expiry(
    browser: httpx.AsyncClient, session: AsyncSession, settings: Settings, world: World
) -> None:
    await sign_in(browser, session, settings, world.tenant.slug, world.counselor_email)
    row = (
        await session.exec(
            select(StaffSession).where(
                col(StaffSession.token_hash) == hash_token(browser.cookies["portrait_session"])
            )
        )
    ).one()
    assert row.expires_at - row.created_at == timedelta(seconds=settings.console.session_absolute_seconds)
    row.last_seen_at = utcnow() - timedelta(seconds=settings.console.session_idle_seconds + 1)
    session.add(row)
    await session.commit()
    assert (await browser.get("/console/")).status_code == 303

    await sign_in(browser, session, settings, world.tenant.slug, world.counselor_email)
    row = (
        await session.exec(
            select(StaffSession).where(
                col(StaffSession.token_hash) == hash_token(browser.cookies["portrait_session"])
            )
        )
    ).one()
    assert (await browser.get("/console/")).status_code == 200
    row.expires_at = utcnow() - timedelta(seconds=1)
    session.add(row)
    await session.commit()
    assert (await browser.get("/console/")).status_code == 303


async def test_a_page_view_keeps_the_session_alive_in_a_write_of_its_own(
    browser: httpx.AsyncClient, session: AsyncSession, settings: Settings, world: World
) -> None:
    """A page view moves the session's last-seen time forward (at most once a minute), written after the
    page's own read transaction, so that a session in use does not expire as idle."""
    await sign_in(browser, session, settings, world.tenant.slug, world.counselor_email)
    token_hash = hash_token(browser.cookies["portrait_session"])
    row = (await session.exec(select(StaffSession).where(col(StaffSession.token_hash) == token_hash))).one()
    stale = utcnow() - timedelta(seconds=settings.console.session_idle_seconds - 5)
    row.last_seen_at = stale
    session.add(row)
    await session.commit()
    assert (await browser.get("/console/")).status_code == 200
    session.expire_all()
    seen = (await session.exec(select(StaffSession).where(col(StaffSession.token_hash) == token_hash))).one()
    assert seen.last_seen_at > stale + timedelta(seconds=5)
    assert (await browser.get("/console/")).status_code == 200


async def test_link_requests_are_capped_per_person(
    browser: httpx.AsyncClient, session: AsyncSession, settings: Settings, world: World
) -> None:
    page = await browser.get("/console/sign-in")
    for _ in range(MAX_OPEN_LINKS + 2):
        sent = await browser.post(
            "/console/sign-in",
            data={"tenant": world.tenant.slug, "email": world.admin_email, "csrf_token": csrf_of(page.text)},
        )
        assert sent.status_code == 200 and "Check your email" in sent.text
    assert len(outbox_messages(settings, world.admin_email)) == MAX_OPEN_LINKS


async def test_bad_form_input_is_named_on_the_page_and_writes_nothing(
    browser: httpx.AsyncClient, session: AsyncSession, settings: Settings, world: World
) -> None:
    links = await count(session, SignInLink)
    page = await browser.get("/console/sign-in")
    for data in (
        {"tenant": world.tenant.slug, "email": "no-at-sign"},
        {"tenant": "", "email": world.counselor_email},
        {"tenant": world.tenant.slug, "email": "coun\x00selor@x.test"},  # PostgreSQL text cannot hold U+0000
        {"tenant": "d\x00", "email": world.counselor_email},
    ):
        answer = await browser.post("/console/sign-in", data={**data, "csrf_token": csrf_of(page.text)})
        assert answer.status_code == 422, data
        assert "There is a problem" in answer.text and 'id="email-error"' in answer.text
    too_long = await browser.post(
        "/console/sign-in",
        data={"tenant": world.tenant.slug, "email": "a@" + "b" * 400, "csrf_token": csrf_of(page.text)},
    )
    assert 400 <= too_long.status_code < 500
    assert await count(session, SignInLink) == links
