"""What Authlib's OAuth 2.0 server checks beyond the flows the other wallet tests play: repeated parameters,
RFC 7009's own refusals, client_secret_post refused, registration defaults, values that Authlib would quote
in an error description, and the refresh token's rotation."""

from __future__ import annotations

import base64
from typing import Any

import httpx
from sqlmodel.ext.asyncio.session import AsyncSession

from service.config import Settings
from service.wallet.scopes import OB
from tests.wallet.helpers import (
    REDIRECT,
    Client,
    District,
    authorize_params,
    code_for,
    district,
    exchange,
    metadata,
    oauth,
    pkce,
    query_of,
    register,
    sign_in_and_consent,
)


async def tokens_for(
    web: httpx.AsyncClient, settings: Settings, d: District, client: Client, scope: str = OB.read
) -> dict[str, Any]:
    verifier, challenge = pkce()
    code = await code_for(web, settings, d, client, challenge, scope)
    answer = await exchange(web, d, client, code, verifier)
    assert answer.status_code == 200, answer.text
    body: dict[str, Any] = answer.json()
    return body


async def reads(web: httpx.AsyncClient, d: District, access_token: str) -> int:
    listed = await web.get(
        f"/ims/ob/v3p0/{d.slug}/credentials", headers={"Authorization": f"Bearer {access_token}"}
    )
    return listed.status_code


async def test_repeated_authorization_parameters_are_refused(
    web: httpx.AsyncClient, session: AsyncSession, settings: Settings
) -> None:
    d = await district(session, settings)
    client = await register(web, oauth(d, "register"))
    _, challenge = pkce()
    params = list(authorize_params(client, challenge, OB.read).items())
    # RFC 6749 3.1: no parameter twice. A second redirect_uri cannot be trusted: shown, not redirected.
    twice = await web.get(oauth(d, "authorize"), params=[*params, ("redirect_uri", "https://evil.example/")])
    assert twice.status_code == 400 and "location" not in twice.headers
    assert "Multiple" in twice.text and "redirect_uri" in twice.text
    # A second challenge, once the redirect_uri is trusted, goes back to the client.
    challenged = await web.get(oauth(d, "authorize"), params=[*params, ("code_challenge", challenge)])
    assert challenged.status_code == 303
    answer = query_of(challenged.headers["location"])
    assert answer["error"] == "invalid_request" and "code_challenge" in answer["error_description"]
    assert answer["state"] == "xyz-state"


async def test_values_quoted_in_errors_never_break_the_answer(
    web: httpx.AsyncClient, session: AsyncSession, settings: Settings
) -> None:
    """RFC 6749 allows only printable ASCII (no quote, no backslash) in error descriptions; Authlib refuses
    to build one with anything else, so such values from clients are made printable first."""
    d = await district(session, settings)
    client = await register(web, oauth(d, "register"))
    _, challenge = pkce()
    for extra, error in (
        ({"response_type": 'co"d\u00e9'}, "unsupported_response_type"),
        ({"scope": f'{OB.read} "caf\u00e9\\'}, "invalid_scope"),
    ):
        asked = await web.get(oauth(d, "authorize"), params=authorize_params(client, challenge, **extra))
        assert asked.status_code == 303, asked.text
        assert query_of(asked.headers["location"])["error"] == error
    refused = await web.post(
        oauth(d, "register"), json={**metadata(), "logo_uri": 'https://x.example/"\u00e9#a'}
    )
    assert refused.status_code == 400 and refused.json()["error"] == "invalid_client_metadata"
    assert "?" in refused.json()["error_description"]


async def test_client_authentication_is_client_secret_basic_only(
    web: httpx.AsyncClient, session: AsyncSession, settings: Settings
) -> None:
    d = await district(session, settings)
    client = await register(web, oauth(d, "register"))
    form = {"grant_type": "refresh_token", "refresh_token": "r" * 43}
    posted = await web.post(
        oauth(d, "token"), data={**form, "client_id": client.client_id, "client_secret": client.secret}
    )
    assert posted.status_code == 401 and posted.json()["error"] == "invalid_client"
    assert posted.headers["www-authenticate"].startswith("Basic")
    latin1 = {"Authorization": "Basic " + base64.b64encode(b"\xff\xfe:\xff").decode()}
    unreadable = await web.post(oauth(d, "token"), data=form, headers=latin1)
    assert unreadable.status_code == 401 and unreadable.json()["error"] == "invalid_client"
    # The grant type is read first: an unknown one is refused whoever asks (RFC 6749 5.2).
    password = await web.post(oauth(d, "token"), data={"grant_type": "password"})
    assert password.status_code == 400 and password.json()["error"] == "unsupported_grant_type"
    missing = await web.post(oauth(d, "token"), data={"grant_type": "refresh_token"}, headers=client.basic)
    assert missing.status_code == 400 and missing.json()["error"] == "invalid_request"


async def test_registration_states_what_the_client_may_use(
    web: httpx.AsyncClient, session: AsyncSession, settings: Settings
) -> None:
    d = await district(session, settings)
    minimal = metadata()
    for name in ("grant_types", "response_types", "token_endpoint_auth_method", "contacts"):
        del minimal[name]
    answer = await web.post(
        oauth(d, "register"),
        json={
            **minimal,
            "scope": f"{OB.read} {OB.read}",
            "not_a_field": "x",
            "jwks_uri": "https://wallet.example/jwks",
        },
    )
    assert answer.status_code == 201, answer.text
    body = answer.json()
    assert answer.headers["cache-control"] == "no-store" and answer.headers["pragma"] == "no-cache"
    assert body["scope"] == OB.read
    assert body["grant_types"] == ["authorization_code", "refresh_token"]
    assert body["response_types"] == ["code"]
    assert body["token_endpoint_auth_method"] == "client_secret_basic"
    assert body["contacts"] == [] and "not_a_field" not in body and "jwks_uri" not in body
    assert body["client_secret_expires_at"] == 0 and isinstance(body["client_id_issued_at"], int)
    listed = await web.post(oauth(d, "register"), json=["not", "an", "object"])
    assert listed.status_code == 400 and listed.json()["error"] == "invalid_client_metadata"


async def test_missing_verifier_and_refresh_rotation(
    web: httpx.AsyncClient, session: AsyncSession, settings: Settings
) -> None:
    d = await district(session, settings)
    client = await register(web, oauth(d, "register"))
    _, challenge = pkce()
    started = await web.get(oauth(d, "authorize"), params=authorize_params(client, challenge, OB.read))
    decided = await sign_in_and_consent(web, settings, d, started.headers["location"])
    code = query_of(decided.headers["location"])["code"]
    no_verifier = await web.post(
        oauth(d, "token"),
        data={"grant_type": "authorization_code", "code": code, "redirect_uri": REDIRECT},
        headers=client.basic,
    )
    assert no_verifier.status_code == 400 and no_verifier.json()["error"] == "invalid_grant"
    assert "code_verifier" in no_verifier.json()["error_description"]

    first = await tokens_for(web, settings, d, client)
    refreshed = await web.post(
        oauth(d, "token"),
        data={"grant_type": "refresh_token", "refresh_token": first["refresh_token"], "scope": OB.read},
        headers=client.basic,
    )
    assert refreshed.status_code == 200, refreshed.text
    second = refreshed.json()
    assert second["refresh_token"] != first["refresh_token"] and second["scope"] == OB.read
    assert await reads(web, d, first["access_token"]) == 401  # the old pair ended with the refresh
    assert await reads(web, d, second["access_token"]) == 200


async def test_revocation_refusals_of_rfc_7009(
    web: httpx.AsyncClient, session: AsyncSession, settings: Settings
) -> None:
    d = await district(session, settings)
    client = await register(web, oauth(d, "register"))
    other = await register(web, oauth(d, "register"))
    tokens = await tokens_for(web, settings, d, client)
    revoke = oauth(d, "revoke")
    missing = await web.post(revoke, data={"token_type_hint": "access_token"}, headers=client.basic)
    assert missing.status_code == 400 and missing.json()["error"] == "invalid_request"
    hint = await web.post(
        revoke, data={"token": "x" * 43, "token_type_hint": "id_token"}, headers=client.basic
    )
    assert hint.status_code == 400 and hint.json()["error"] == "unsupported_token_type"
    anonymous = await web.post(revoke, data={"token": tokens["access_token"]})
    assert anonymous.status_code == 401 and anonymous.json()["error"] == "invalid_client"
    # RFC 7009 2.1: a token issued to another client is refused, and it stays valid.
    foreign = await web.post(revoke, data={"token": tokens["access_token"]}, headers=other.basic)
    assert foreign.status_code == 400 and foreign.json()["error"] == "invalid_grant"
    assert await reads(web, d, tokens["access_token"]) == 200
    # Revoking the refresh token ends its access token too (one pair).
    done = await web.post(
        revoke,
        data={"token": tokens["refresh_token"], "token_type_hint": "refresh_token"},
        headers=client.basic,
    )
    assert done.status_code == 200 and done.headers["cache-control"] == "no-store"
    assert await reads(web, d, tokens["access_token"]) == 401
