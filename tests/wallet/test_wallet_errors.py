"""The protocol's refusals, each with the error the RFCs and the 1EdTech specs name: wrong scope, wrong
redirect_uri, reused code, bad verifier, expired token, bad registrations, other districts."""

from __future__ import annotations

import base64
import email
from datetime import timedelta

import httpx
import pytest
from sqlalchemy import func
from sqlmodel import col, select, update
from sqlmodel.ext.asyncio.session import AsyncSession

from service.config import Settings
from service.db import utcnow
from service.identity.mailer import outbox_dir
from service.roster.schemas import PersonCreate
from service.roster.service import RosterService
from service.tenancy.repository import TenantRepository
from service.wallet.models import (
    WalletAuthorization,
    WalletClient,
    WalletConsent,
    WalletCredential,
    WalletToken,
)
from service.wallet.scopes import CLR, OB
from tests.factories import make_tenant
from tests.wallet.helpers import (
    REDIRECT,
    Client,
    District,
    assert_imsx,
    authorize_params,
    code_for,
    csrf_of,
    district,
    exchange,
    metadata,
    oauth,
    pkce,
    query_of,
    register,
    sign_in_and_consent,
)


async def test_wrong_scope(web: httpx.AsyncClient, session: AsyncSession, settings: Settings) -> None:
    d = await district(session, settings)
    client = await register(web, oauth(d, "register"), scope=OB.read)
    _, challenge = pkce()
    # Asking for a scope the client did not register: back to the client with invalid_scope.
    asked = await web.get(
        oauth(d, "authorize"), params=authorize_params(client, challenge, f"{OB.read} {OB.upsert}")
    )
    assert asked.status_code == 303
    error = query_of(asked.headers["location"])
    assert error["error"] == "invalid_scope" and error["state"] == "xyz-state"
    # A token for reading only: upsert, profile and the CLR API refuse it with 403 forbidden.
    verifier, challenge = pkce()
    code = await code_for(web, settings, d, client, challenge, OB.read)
    token = (await exchange(web, d, client, code, verifier)).json()
    assert token["scope"] == OB.read
    bearer = {"Authorization": f"Bearer {token['access_token']}"}
    refused = await web.post(f"/ims/ob/v3p0/{d.slug}/credentials", json={}, headers=bearer)
    assert_imsx(refused, 403, "forbidden")
    assert refused.headers["www-authenticate"] == 'Bearer error="insufficient_scope"'
    assert_imsx(await web.get(f"/ims/ob/v3p0/{d.slug}/profile", headers=bearer), 403, "forbidden")
    assert_imsx(
        await web.get(f"/ims/clr/v2p0/{d.slug}/credentials", headers=bearer), 403, "forbidden", api="clr"
    )
    # A refresh cannot widen the scope.
    wider = await web.post(
        oauth(d, "token"),
        data={
            "grant_type": "refresh_token",
            "refresh_token": token["refresh_token"],
            "scope": f"{OB.read} {OB.upsert}",
        },
        headers=client.basic,
    )
    assert wider.status_code == 400 and wider.json()["error"] == "invalid_scope"


async def test_wrong_redirect_uri(web: httpx.AsyncClient, session: AsyncSession, settings: Settings) -> None:
    d = await district(session, settings)
    client = await register(web, oauth(d, "register"))
    verifier, challenge = pkce()
    # Not registered: shown to the learner, never redirected to (an open redirector otherwise).
    for uri in ("https://evil.example/callback", REDIRECT + "/", REDIRECT + "?x=1"):
        page = await web.get(
            oauth(d, "authorize"), params=authorize_params(client, challenge, redirect_uri=uri)
        )
        assert page.status_code == 400
        assert "location" not in page.headers
        assert "does not exactly match" in page.text
    before = (await session.exec(select(func.count()).select_from(WalletAuthorization))).one()
    # At the token endpoint: the redirect_uri must be the authorization request's.
    code = await code_for(web, settings, d, client, challenge, OB.read)
    other = await exchange(web, d, client, code, verifier, redirect="https://wallet.example/other")
    assert other.status_code == 400 and other.json()["error"] == "invalid_grant"
    assert "redirect_uri" in other.json()["error_description"]
    assert before >= 0


async def test_reused_code_fails_and_revokes_its_tokens(
    web: httpx.AsyncClient, session: AsyncSession, settings: Settings
) -> None:
    d = await district(session, settings)
    client = await register(web, oauth(d, "register"))
    verifier, challenge = pkce()
    code = await code_for(web, settings, d, client, challenge, OB.read)
    first = await exchange(web, d, client, code, verifier)
    assert first.status_code == 200
    second = await exchange(web, d, client, code, verifier)
    assert second.status_code == 400 and second.json() == {
        "error": "invalid_grant",
        "error_description": "the authorization code was already used",
    }
    assert second.headers["cache-control"] == "no-store"
    bearer = {"Authorization": f"Bearer {first.json()['access_token']}"}
    assert_imsx(
        await web.get(f"/ims/ob/v3p0/{d.slug}/credentials", headers=bearer), 401, "unauthorizedrequest"
    )


async def test_bad_verifier_and_missing_pkce(
    web: httpx.AsyncClient, session: AsyncSession, settings: Settings
) -> None:
    d = await district(session, settings)
    client = await register(web, oauth(d, "register"))
    _, challenge = pkce()
    code = await code_for(web, settings, d, client, challenge, OB.read)
    wrong, _ = pkce()
    bad = await exchange(web, d, client, code, wrong)
    assert bad.status_code == 400 and bad.json()["error"] == "invalid_grant"
    assert "code_verifier" in bad.json()["error_description"]
    # PKCE is required, S256 only.
    for extra in ({"code_challenge": ""}, {"code_challenge_method": "plain"}):
        asked = await web.get(
            oauth(d, "authorize"), params=authorize_params(client, challenge, OB.read, **extra)
        )
        assert query_of(asked.headers["location"])["error"] == "invalid_request"


async def test_expired_token_and_code(
    web: httpx.AsyncClient, session: AsyncSession, settings: Settings
) -> None:
    d = await district(session, settings)
    client = await register(web, oauth(d, "register"))
    verifier, challenge = pkce()
    code = await code_for(web, settings, d, client, challenge, OB.read)
    token = (await exchange(web, d, client, code, verifier)).json()
    await session.exec(update(WalletToken).values(access_expires_at=utcnow() - timedelta(seconds=1)))  # type: ignore[call-overload]
    await session.commit()
    expired = await web.get(
        f"/ims/ob/v3p0/{d.slug}/credentials", headers={"Authorization": f"Bearer {token['access_token']}"}
    )
    body = assert_imsx(expired, 401, "unauthorizedrequest")
    assert "expired" in body["imsx_description"]
    assert_imsx(await web.get(f"/ims/ob/v3p0/{d.slug}/credentials"), 401, "unauthorizedrequest")
    # A code past its time.
    verifier, challenge = pkce()
    code = await code_for(web, settings, d, client, challenge, OB.read)
    await session.exec(update(WalletAuthorization).values(expires_at=utcnow() - timedelta(seconds=1)))  # type: ignore[call-overload]
    await session.commit()
    late = await exchange(web, d, client, code, verifier)
    assert late.status_code == 400 and late.json()["error"] == "invalid_grant"


async def test_client_authentication_and_grant_types(
    web: httpx.AsyncClient, session: AsyncSession, settings: Settings
) -> None:
    d = await district(session, settings)
    client = await register(web, oauth(d, "register"))
    form = {
        "grant_type": "authorization_code",
        "code": "x" * 43,
        "redirect_uri": REDIRECT,
        "code_verifier": "v" * 43,
    }
    none = await web.post(oauth(d, "token"), data=form)
    assert none.status_code == 401 and none.json()["error"] == "invalid_client"
    assert none.headers["www-authenticate"].startswith("Basic")
    wrong = await web.post(oauth(d, "token"), data=form, headers=Client(client.client_id, "nope").basic)
    assert wrong.status_code == 401 and wrong.json()["error"] == "invalid_client"
    grant = await web.post(oauth(d, "token"), data={**form, "grant_type": "password"}, headers=client.basic)
    assert grant.status_code == 400 and grant.json()["error"] == "unsupported_grant_type"
    unknown = await web.post(oauth(d, "token"), data=form, headers=client.basic)
    assert unknown.status_code == 400 and unknown.json()["error"] == "invalid_grant"
    as_json = await web.post(oauth(d, "token"), json=form, headers=client.basic)
    assert as_json.status_code == 400 and as_json.json()["error"] == "invalid_request"


@pytest.mark.parametrize(
    ("change", "error"),
    [
        ({"redirect_uris": []}, "invalid_redirect_uri"),
        ({"redirect_uris": ["http://wallet.example/cb"]}, "invalid_redirect_uri"),
        ({"redirect_uris": ["https://wallet.example/cb#frag"]}, "invalid_redirect_uri"),
        ({"client_name": ""}, "invalid_client_metadata"),
        ({"logo_uri": "javascript:alert(1)"}, "invalid_client_metadata"),
        ({"scope": "https://purl.imsglobal.org/spec/ob/v3p0/scope/everything"}, "invalid_client_metadata"),
        ({"token_endpoint_auth_method": "none"}, "invalid_client_metadata"),
        ({"grant_types": ["client_credentials"]}, "invalid_client_metadata"),
        ({"response_types": ["token"]}, "invalid_client_metadata"),
        ({"software_id": None}, "invalid_client_metadata"),
    ],
)
async def test_registration_refusals(
    web: httpx.AsyncClient, session: AsyncSession, settings: Settings, change: dict[str, object], error: str
) -> None:
    tenant = await make_tenant(session, settings)
    d = District(tenant.slug, None, "", None)
    before = (await session.exec(select(func.count()).select_from(WalletClient))).one()
    response = await web.post(oauth(d, "register"), json={**metadata(), **change})
    assert response.status_code == 400, response.text
    assert response.json()["error"] == error and response.json()["error_description"]
    assert (await session.exec(select(func.count()).select_from(WalletClient))).one() == before
    broken = await web.post(
        oauth(d, "register"), content=b"{not json", headers={"Content-Type": "application/json"}
    )
    assert broken.status_code == 400 and broken.json()["error"] == "invalid_client_metadata"


async def test_districts_are_apart(web: httpx.AsyncClient, session: AsyncSession, settings: Settings) -> None:
    d = await district(session, settings)
    other = await district(session, settings)
    client = await register(web, oauth(d, "register"))
    verifier, challenge = pkce()
    # A client of one district is unknown to another.
    foreign = await web.get(oauth(other, "authorize"), params=authorize_params(client, challenge))
    assert foreign.status_code == 400 and "not registered" in foreign.text
    code = await code_for(web, settings, d, client, challenge, OB.read)
    token = (await exchange(web, d, client, code, verifier)).json()
    assert (await exchange(web, other, client, code, verifier)).json()["error"] == "invalid_client"
    # A token of one district opens nothing in another.
    bearer = {"Authorization": f"Bearer {token['access_token']}"}
    assert_imsx(
        await web.get(f"/ims/ob/v3p0/{other.slug}/credentials", headers=bearer), 401, "unauthorizedrequest"
    )
    own = await web.get(f"/ims/ob/v3p0/{d.slug}/credentials", headers=bearer)
    assert own.headers["x-total-count"] == "1"


async def test_deny_and_disconnect(web: httpx.AsyncClient, session: AsyncSession, settings: Settings) -> None:
    d = await district(session, settings)
    client = await register(web, oauth(d, "register"))
    verifier, challenge = pkce()
    started = await web.get(oauth(d, "authorize"), params=authorize_params(client, challenge, OB.read))
    denied = await sign_in_and_consent(web, settings, d, started.headers["location"], approve=False)
    answer = query_of(denied.headers["location"])
    assert answer["error"] == "access_denied" and answer["state"] == "xyz-state" and "code" not in answer
    # The same request cannot be answered twice.
    again = await web.get(started.headers["location"])
    assert again.status_code == 400 and "already answered" in again.text

    code = await code_for(web, settings, d, client, challenge, f"{OB.read} {CLR.read}")
    token = (await exchange(web, d, client, code, verifier)).json()
    page = await web.get("/wallet/connections")
    assert page.status_code == 200 and "Example Wallet" in page.text
    assert "see the badges the district issued to you" in page.text
    consent_id = (
        await session.exec(select(WalletConsent.id).where(col(WalletConsent.revoked_at).is_(None)))
    ).one()
    forged = await web.post(f"/wallet/connections/{consent_id}/disconnect", data={"csrf_token": "0" * 64})
    assert forged.status_code == 403
    gone = await web.post(
        f"/wallet/connections/{consent_id}/disconnect", data={"csrf_token": csrf_of(page.text)}
    )
    assert gone.status_code == 303
    after = await web.get(gone.headers["location"])
    assert "Example Wallet is disconnected" in after.text and 'id="no-connections"' in after.text
    bearer = {"Authorization": f"Bearer {token['access_token']}"}
    assert_imsx(
        await web.get(f"/ims/ob/v3p0/{d.slug}/credentials", headers=bearer), 401, "unauthorizedrequest"
    )
    refresh = await web.post(
        oauth(d, "token"),
        data={"grant_type": "refresh_token", "refresh_token": token["refresh_token"]},
        headers=client.basic,
    )
    assert refresh.json()["error"] == "invalid_grant"


async def test_staff_cannot_connect_a_wallet_and_learner_sessions_do_not_open_the_console(
    web: httpx.AsyncClient, session: AsyncSession, settings: Settings
) -> None:
    d = await district(session, settings)
    tenant = await TenantRepository(session).get_by_slug(d.slug)
    assert tenant is not None
    teacher_email = f"teacher-{d.slug}@school.test"
    await RosterService(session, tenant.id).create_person(
        PersonCreate(role="teacher", given_name="Theo", family_name="Teach", email=teacher_email)
    )
    await session.commit()
    client = await register(web, oauth(d, "register"))
    _, challenge = pkce()
    started = await web.get(oauth(d, "authorize"), params=authorize_params(client, challenge, OB.read))
    page = await web.get(started.headers["location"])
    sent = await web.post(
        "/wallet/sign-in",
        data={"csrf_token": csrf_of(page.text), "tenant": d.slug, "email": teacher_email, "next": ""},
    )
    assert sent.status_code == 200 and "Check your email" in sent.text  # says the same as always ...
    outbox = outbox_dir(settings)
    sent_to = [email.message_from_bytes(p.read_bytes())["To"] for p in outbox.glob("*.eml")]
    assert teacher_email not in sent_to  # ... but sends a staff member nothing
    await code_for(web, settings, d, client, challenge, OB.read)  # signs the learner in
    console = await web.get("/console/")
    assert console.status_code == 303 and console.headers["location"] == "/console/sign-in"


async def test_nul_characters_are_refused_not_stored(
    web: httpx.AsyncClient, session: AsyncSession, settings: Settings
) -> None:
    """PostgreSQL text cannot hold U+0000: each place it could reach the database answers 4xx instead."""
    d = await district(session, settings)
    bad_meta = await web.post(oauth(d, "register"), json={**metadata(), "client_name": "Wal\x00let"})
    assert bad_meta.status_code == 400 and bad_meta.json()["error"] == "invalid_client_metadata"
    client = await register(web, oauth(d, "register"))
    verifier, challenge = pkce()
    for field in ("state", "client_id"):
        params = authorize_params(client, challenge)
        params[field] += "\x00"
        page = await web.get(oauth(d, "authorize"), params=params)
        assert page.status_code == 400 and "NUL" in page.text
    basic = {"Authorization": "Basic " + base64.b64encode(b"id\x00:secret").decode()}
    refused = await web.post(oauth(d, "token"), data={"grant_type": "refresh_token"}, headers=basic)
    assert refused.status_code == 401 and refused.json()["error"] == "invalid_client"
    code = await code_for(web, settings, d, client, challenge, f"{OB.profile_read} {OB.profile_update}")
    bearer = {
        "Authorization": f"Bearer {(await exchange(web, d, client, code, verifier)).json()['access_token']}"
    }
    profile = (await web.get(f"/ims/ob/v3p0/{d.slug}/profile", headers=bearer)).json()
    put = await web.put(f"/ims/ob/v3p0/{d.slug}/profile", json={**profile, "name": "A\x00"}, headers=bearer)
    assert_imsx(put, 400, "invalid_data")


async def test_upsert_refuses_what_is_not_a_verified_credential_of_the_api(
    web: httpx.AsyncClient, session: AsyncSession, settings: Settings
) -> None:
    d = await district(session, settings)
    client = await register(web, oauth(d, "register"))
    verifier, challenge = pkce()
    code = await code_for(web, settings, d, client, challenge, f"{OB.upsert} {CLR.upsert} {OB.read}")
    bearer = {
        "Authorization": f"Bearer {(await exchange(web, d, client, code, verifier)).json()['access_token']}"
    }
    url = f"/ims/ob/v3p0/{d.slug}/credentials"
    for body in ({}, {"type": "Nope"}, [1, 2]):
        assert_imsx(await web.post(url, json=body, headers=bearer), 400, "invalid_data")
    text = {**bearer, "Content-Type": "text/plain"}
    assert_imsx(await web.post(url, content="not a jws", headers=text), 400, "invalid_data")
    assert_imsx(await web.post(url, content="eyJhbGciOiJub25lIn0.e30.", headers=text), 400, "invalid_data")
    assert_imsx(
        await web.post(url, content=b"{", headers={**bearer, "Content-Type": "application/json"}),
        400,
        "invalid_data",
    )
    assert_imsx(
        await web.post(url, content=b"x", headers={**bearer, "Content-Type": "image/png"}),
        415,
        "invalid_data",
    )
    # The learner's own badge, issued by the district, is an OpenBadgeCredential: the CLR API refuses it.
    own = (await web.get(url, headers=bearer)).json()["credential"][0]
    wrong_api = await web.post(f"/ims/clr/v2p0/{d.slug}/credentials", json=own, headers=bearer)
    assert_imsx(wrong_api, 400, "invalid_data", api="clr")
    assert "ClrCredential" in wrong_api.json()["imsx_description"]
    rows = (await session.exec(select(func.count()).select_from(WalletCredential))).one()
    assert rows == 0
