"""A wallet end to end through plain HTTP: discovery -> register -> authorize with PKCE -> learner sign-in by
link -> consent -> token -> credentials with paging headers -> upsert from another issuer -> refresh ->
revoke -> refused. Every body is checked against the official 1EdTech schemas."""

from __future__ import annotations

import json
from typing import Any

import httpx
from cryptography.hazmat.primitives.asymmetric import ed25519
from sqlmodel.ext.asyncio.session import AsyncSession

from service.badges.documents import learner_urn
from service.config import Settings
from service.credentials.builder import Signer, sign_data_integrity, sign_vc_jwt
from service.credentials.contexts import OB_V3P0, VC_V2
from service.credentials.did import did_key_verification_method
from service.credentials.keys import generate_private_key
from service.tenancy.repository import TenantRepository
from service.wallet.scopes import CLR, OB
from tests.wallet.helpers import (
    ALL,
    BASE,
    REDIRECT,
    SCHEMAS,
    Client,
    assert_imsx,
    assert_valid,
    authorize_params,
    district,
    metadata,
    pkce,
    query_of,
    register,
    sign_in_and_consent,
)

OFFICIAL_OPENAPI = json.loads((SCHEMAS / "openapi" / "ob_v3p0_openapi_ghpages-2024-07-31.json").read_text())
OB_LIST = "ob_v3p0_getopenbadgecredentialsresponse_schema.json"
CLR_LIST = "clr_v2p0_getclrcredentialsresponse_schema.json"


def other_issuer_badge(subject: str, valid_from: str) -> tuple[dict[str, Any], Signer]:
    key = generate_private_key("Ed25519")
    assert isinstance(key, ed25519.Ed25519PrivateKey)
    signer = Signer(did_key_verification_method(key.public_key()), key)
    return {
        "@context": [VC_V2, OB_V3P0],
        "id": "urn:uuid:2f0b3c52-5b1c-4c55-a5c2-6f3d1e0b9a77",
        "type": ["VerifiableCredential", "OpenBadgeCredential"],
        "issuer": {"id": signer.controller, "type": ["Profile"], "name": "Community Makerspace"},
        "validFrom": valid_from,
        "name": "Laser Cutter Safety",
        "credentialSubject": {
            "id": subject,
            "type": ["AchievementSubject"],
            "achievement": {
                "id": "https://makerspace.example/achievements/laser-safety",
                "type": ["Achievement"],
                "name": "Laser Cutter Safety",
                "description": "Operates the laser cutter safely.",
                "criteria": {"narrative": "Passed the safety walkthrough."},
            },
        },
    }, signer


async def test_wallet_end_to_end(web: httpx.AsyncClient, session: AsyncSession, settings: Settings) -> None:
    d = await district(session, settings)
    # Discovery: unprotected, this district's URLs.
    found = await web.get(f"/ims/ob/v3p0/{d.slug}/discovery")
    assert found.status_code == 200, found.text
    sdd = found.json()
    assert sdd["openapi"].startswith("3.0") and sdd["servers"][0]["url"] == f"{BASE}/ims/ob/v3p0/{d.slug}"
    acg = sdd["components"]["securitySchemes"]["OAuth2ACG"]
    assert acg["type"] == "oauth2"
    registration_url = acg["x-imssf-registrationUrl"]
    flow = acg["flows"]["authorizationCode"]
    assert set(flow["scopes"]) == set(OB.scopes)
    assert sdd["info"]["x-imssf-privacyPolicyUrl"] and sdd["info"]["termsOfService"]
    clr_sdd = (await web.get(f"/ims/clr/v2p0/{d.slug}/discovery")).json()
    assert set(
        clr_sdd["components"]["securitySchemes"]["OAuth2ACG"]["flows"]["authorizationCode"]["scopes"]
    ) == set(CLR.scopes)

    # Register, authorize with PKCE, sign in by link, consent.
    client = await register(web, registration_url)
    verifier, challenge = pkce()
    started = await web.get(flow["authorizationUrl"], params=authorize_params(client, challenge))
    assert started.status_code == 303, started.text
    consent_url = started.headers["location"]
    assert consent_url.startswith(f"/wallet/authorize/{d.slug}/")
    decided = await sign_in_and_consent(web, settings, d, consent_url)
    answer = query_of(decided.headers["location"])
    assert answer["state"] == "xyz-state"

    # Token.
    tokens = await web.post(
        flow["tokenUrl"],
        data={
            "grant_type": "authorization_code",
            "code": answer["code"],
            "redirect_uri": REDIRECT,
            "code_verifier": verifier,
        },
        headers=client.basic,
    )
    assert tokens.status_code == 200, tokens.text
    grant = tokens.json()
    assert (
        grant["token_type"] == "Bearer"
        and grant["scope"] == ALL
        and tokens.headers["cache-control"] == "no-store"
    )
    bearer = {"Authorization": f"Bearer {grant['access_token']}"}

    # The learner's own badge, then a credential from another issuer upserted (JSON, signed with its key).
    base = f"/ims/ob/v3p0/{d.slug}"
    listed = await web.get(base + "/credentials", headers=bearer)
    assert listed.status_code == 200, listed.text
    assert listed.headers["x-total-count"] == "1"
    assert_valid(listed.json(), OB_LIST)
    [own] = listed.json()["credential"]
    tenant = await TenantRepository(session).get_by_slug(d.slug)
    assert tenant is not None
    subject = learner_urn(tenant.id, d.learner_id)
    assert own["credentialSubject"]["id"] == subject

    unsigned, signer = other_issuer_badge(subject, "2026-01-01T00:00:00Z")
    signed = sign_data_integrity(unsigned, signer)
    created = await web.post(base + "/credentials", json=signed, headers=bearer)
    assert created.status_code == 201, created.text
    assert created.json() == signed
    assert_valid(created.json(), "ob_v3p0_achievementcredential_schema.json")
    # The same credential again, not newer: nothing changes. Newer, as a compact JWS: replaced.
    same = await web.post(base + "/credentials", json=signed, headers=bearer)
    assert same.status_code == 304
    newer = sign_vc_jwt({**unsigned, "validFrom": "2026-06-01T00:00:00Z"}, signer)
    replaced = await web.post(
        base + "/credentials", content=newer, headers={**bearer, "Content-Type": "text/plain"}
    )
    assert replaced.status_code == 200, replaced.text
    assert replaced.text == newer
    tampered = sign_data_integrity({**unsigned, "validFrom": "2027-01-01T00:00:00Z"}, signer)
    tampered["name"] = "Changed after signing"
    refused = await web.post(base + "/credentials", json=tampered, headers=bearer)
    assert_imsx(refused, 400, "invalid_data")

    # Paging: two credentials, one per page; RFC 8288 links and the total.
    first = await web.get(base + "/credentials", params={"limit": 1}, headers=bearer)
    assert first.status_code == 200 and first.headers["x-total-count"] == "2"
    links = first.headers["link"]
    assert f'<{BASE}{base}/credentials?limit=1&offset=1>; rel="next"' in links
    assert f'<{BASE}{base}/credentials?limit=1&offset=0>; rel="first"' in links
    assert f'<{BASE}{base}/credentials?limit=1&offset=1>; rel="last"' in links
    assert 'rel="prev"' not in links
    assert_valid(first.json(), OB_LIST)
    second = await web.get(base + "/credentials", params={"limit": 1, "offset": 1}, headers=bearer)
    assert second.json() == {"compactJwsString": [newer]}
    assert_valid(second.json(), OB_LIST)
    assert 'rel="prev"' in second.headers["link"] and 'rel="next"' not in second.headers["link"]
    since = await web.get(base + "/credentials", params={"since": "2999-01-01T00:00:00Z"}, headers=bearer)
    assert since.headers["x-total-count"] == "0" and since.json() == {}
    assert_imsx(
        await web.get(base + "/credentials", params={"limit": "x"}, headers=bearer),
        400,
        "invalid_query_parameter",
    )

    # CLR: the learner's transcript.
    clr = await web.get(f"/ims/clr/v2p0/{d.slug}/credentials", headers=bearer)
    assert clr.status_code == 200, clr.text
    assert clr.headers["x-total-count"] == "1"
    assert_valid(clr.json(), CLR_LIST)
    assert "ClrCredential" in clr.json()["credential"][0]["type"]

    # Profile: read, update, read back.
    profile = await web.get(base + "/profile", headers=bearer)
    assert profile.status_code == 200
    assert_valid(profile.json(), "ob_v3p0_profile_schema.json")
    assert profile.json()["id"] == subject
    changed = {**profile.json(), "name": "Ines I."}
    put = await web.put(base + "/profile", json=changed, headers=bearer)
    assert put.status_code == 200 and put.json() == changed
    assert (await web.get(base + "/profile", headers=bearer)).json()["name"] == "Ines I."
    assert_imsx(
        await web.put(base + "/profile", json={**changed, "id": "urn:uuid:someone-else"}, headers=bearer),
        400,
        "invalid_data",
    )

    # Refresh: a new pair; the old pair stops working.
    refreshed = await web.post(
        flow["refreshUrl"],
        data={"grant_type": "refresh_token", "refresh_token": grant["refresh_token"]},
        headers=client.basic,
    )
    assert refreshed.status_code == 200, refreshed.text
    new = refreshed.json()
    assert_imsx(await web.get(base + "/credentials", headers=bearer), 401, "unauthorizedrequest")
    again = await web.post(
        flow["tokenUrl"],
        data={"grant_type": "refresh_token", "refresh_token": grant["refresh_token"]},
        headers=client.basic,
    )
    assert again.status_code == 400 and again.json()["error"] == "invalid_grant"
    bearer = {"Authorization": f"Bearer {new['access_token']}"}
    assert (await web.get(base + "/credentials", headers=bearer)).status_code == 200

    # Revoke (RFC 7009): further calls refused.
    revoke_url = acg["flows"]["authorizationCode"]["x-imssf-revocationUrl"]
    revoked = await web.post(revoke_url, data={"token": new["access_token"]}, headers=client.basic)
    assert revoked.status_code == 200
    after = await web.get(base + "/credentials", headers=bearer)
    body = assert_imsx(after, 401, "unauthorizedrequest")
    assert (
        "revoked" in body["imsx_description"] and 'error="invalid_token"' in after.headers["www-authenticate"]
    )
    unknown = await web.post(revoke_url, data={"token": "x" * 43}, headers=client.basic)
    assert unknown.status_code == 200


async def test_discovery_document_shape_follows_the_official_openapi(
    web: httpx.AsyncClient, session: AsyncSession, settings: Settings
) -> None:
    from jsonschema import Draft4Validator  # type: ignore[import-untyped]

    d = await district(session, settings)
    official = OFFICIAL_OPENAPI
    components = official["components"]
    for api in ("ob/v3p0", "clr/v2p0"):
        document = (await web.get(f"/ims/{api}/{d.slug}/discovery")).json()
        validator = Draft4Validator(
            {"$ref": "#/components/schemas/ServiceDescriptionDocument", "components": components}
        )
        assert not [e.message for e in validator.iter_errors(document)]
        scheme = Draft4Validator(
            {"$ref": "#/components/schemas/OpenApiOAuth2SecurityScheme", "components": components}
        )
        assert not [
            e.message for e in scheme.iter_errors(document["components"]["securitySchemes"]["OAuth2ACG"])
        ]
    missing = await web.get("/ims/ob/v3p0/no-such-district/discovery")
    assert_imsx(missing, 404, "not_found")


async def test_clr_upsert_from_another_host(
    web: httpx.AsyncClient, session: AsyncSession, settings: Settings
) -> None:
    """A learner record host pushes a ClrCredential signed with its own key: verified, stored, listed with
    the district's transcript; the OB API refuses it."""
    d = await district(session, settings)
    registered = await web.post(f"/ims/oauth/{d.slug}/register", json=metadata())
    client = registered.json()
    verifier, challenge = pkce()
    started = await web.get(
        f"/ims/oauth/{d.slug}/authorize",
        params=authorize_params(Client(client["client_id"], client["client_secret"]), challenge),
    )
    code = query_of(
        (await sign_in_and_consent(web, settings, d, started.headers["location"])).headers["location"]
    )["code"]
    grant = await web.post(
        f"/ims/oauth/{d.slug}/token",
        data={
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": REDIRECT,
            "code_verifier": verifier,
        },
        auth=(client["client_id"], client["client_secret"]),
    )
    bearer = {"Authorization": f"Bearer {grant.json()['access_token']}"}
    base = f"/ims/clr/v2p0/{d.slug}"
    [transcript] = (await web.get(base + "/credentials", headers=bearer)).json()["credential"]
    key = generate_private_key("Ed25519")
    assert isinstance(key, ed25519.Ed25519PrivateKey)
    signer = Signer(did_key_verification_method(key.public_key()), key)
    theirs = {k: v for k, v in transcript.items() if k not in ("proof", "credentialStatus")}
    theirs["id"] = "urn:uuid:7d1f0a4e-96a3-4f4e-9a55-3d8f1c2b6e01"
    theirs["issuer"] = {"id": signer.controller, "type": ["Profile"], "name": "Summer Bridge Program"}
    signed = sign_data_integrity(theirs, signer)
    created = await web.post(base + "/credentials", json=signed, headers=bearer)
    assert created.status_code == 201, created.text
    assert_valid(created.json(), "clr_v2p0_clrcredential_schema.json")
    listed = await web.get(base + "/credentials", headers=bearer)
    assert listed.headers["x-total-count"] == "2"
    assert_valid(listed.json(), CLR_LIST)
    assert [c["issuer"]["id"] for c in listed.json()["credential"]][1] == signer.controller
    wrong = await web.post(f"/ims/ob/v3p0/{d.slug}/credentials", json=signed, headers=bearer)
    assert_imsx(wrong, 400, "invalid_data")
