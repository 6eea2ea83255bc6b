"""REST (list, get, revoke), the public routes (negotiation, page, baked images, status lists, DID
documents), key rotation and tenant isolation."""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from urllib.parse import quote

import httpx
import pytest
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from service.badges.issuance import CredentialService
from service.badges.models import IssuedCredential
from service.config import Settings
from service.credentials import baking
from tests.badges.helpers import earn, verify_via_http
from tests.factories import Actors


@dataclass(frozen=True)
class Issued:
    """A detached snapshot: ORM rows expire when a request rolls back."""

    id: uuid.UUID
    document: str
    jwt: str
    learner_id: uuid.UUID
    achievement_id: uuid.UUID


async def _issued(
    session: AsyncSession, actors: Actors, settings: Settings, learners: int = 2, *, jwt: bool = True
) -> list[Issued]:
    """Credentials issued from awards; with ``jwt`` their VC-JWT form is asked for once (it is signed
    on first request), else ``jwt`` is empty (stored as NULL until someone asks)."""
    earned = await earn(session, actors.a.tenant.id, learners=learners)
    service = CredentialService(session, actors.a.tenant.id, settings)
    await service.issue_awards(earned.award_ids)
    assert all(r.jwt is None for r in service.issued)
    tokens = [await service.jwt(r) if jwt else "" for r in service.issued]
    await session.commit()
    return [
        Issued(r.id, r.document, token, r.learner_id, r.achievement_id)  # type: ignore[arg-type]
        for r, token in zip(service.issued, tokens, strict=True)
    ]


async def test_list_get_revoke_and_isolation(
    http: httpx.AsyncClient, actors: Actors, session: AsyncSession, settings: Settings
) -> None:
    rows = await _issued(session, actors, settings)
    read = await actors.a.headers("credentials:read")
    listed = await http.get("/api/v1/credentials", headers=read)
    assert listed.status_code == 200, listed.text
    assert listed.json()["total"] == 2
    item = listed.json()["items"][0]
    assert item["id"] == f"{settings.public_url}/credentials/{item['uuid']}"
    by_learner = await http.get(
        "/api/v1/credentials", params={"learner_id": str(rows[0].learner_id)}, headers=read
    )
    assert [i["uuid"] for i in by_learner.json()["items"]] == [str(rows[0].id)]
    one = await http.get(f"/api/v1/credentials/{rows[0].id}", headers=read)
    assert one.status_code == 200 and one.json()["credential"]["id"] == one.json()["id"]

    # District B sees nothing of A's, and cannot revoke it.
    b_read = await actors.b.headers("credentials:read", "credentials:write")
    assert (await http.get("/api/v1/credentials", headers=b_read)).json()["total"] == 0
    assert (await http.get(f"/api/v1/credentials/{rows[0].id}", headers=b_read)).status_code == 404
    foreign = await http.post(
        f"/api/v1/credentials/{rows[0].id}/revoke", json={"reason": "x"}, headers=b_read
    )
    assert foreign.status_code == 404

    write = await actors.a.headers("credentials:write")
    assert (
        await http.post(f"/api/v1/credentials/{rows[0].id}/revoke", json={}, headers=write)
    ).status_code == 422
    assert (
        await http.post(f"/api/v1/credentials/{rows[0].id}/revoke", json={"reason": "x"}, headers=read)
    ).status_code == 403
    before = (await verify_via_http(http, json.loads(rows[0].document))).check("status")
    assert before.ok
    revoked = await http.post(
        f"/api/v1/credentials/{rows[0].id}/revoke", json={"reason": "issued in error"}, headers=write
    )
    assert revoked.status_code == 200, revoked.text
    assert revoked.json()["status"] == "revoked" and revoked.json()["revocation_reason"] == "issued in error"
    again = await http.post(f"/api/v1/credentials/{rows[0].id}/revoke", json={"reason": "x"}, headers=write)
    assert again.status_code == 409
    # Both formats now fail the status check; the other credential on the same list still passes.
    for form in (json.loads(rows[0].document), rows[0].jwt):
        result = await verify_via_http(http, form)
        assert not result.verified and not result.check("status").ok
        assert "revoked" in result.check("status").message
    assert (await verify_via_http(http, json.loads(rows[1].document))).verified
    status = await http.get("/api/v1/credentials", params={"status": "revoked"}, headers=read)
    assert [i["uuid"] for i in status.json()["items"]] == [str(rows[0].id)]
    page = await http.get(f"/credentials/{rows[0].id}", headers={"Accept": "text/html"})
    # The public page gives the date only: the revocation reason stays internal.
    assert "Revoked on" in page.text and "issued in error" not in page.text


async def test_content_negotiation_and_baked_images(
    http: httpx.AsyncClient, actors: Actors, session: AsyncSession, settings: Settings
) -> None:
    row = (await _issued(session, actors, settings, learners=1, jwt=False))[0]
    url = f"/credentials/{row.id}"
    default = await http.get(url)
    assert default.status_code == 200 and default.headers["content-type"].startswith("application/vc+ld+json")
    assert default.text == row.document  # byte for byte what was signed
    as_json = await http.get(url, headers={"Accept": "application/json"})
    assert as_json.headers["content-type"].startswith("application/json") and as_json.json()["id"].endswith(
        url
    )
    # The first request for the VC-JWT form signs it and stores it; later requests serve that value.
    jws = await http.get(url, headers={"Accept": "text/plain"})
    assert jws.headers["content-type"].startswith("text/plain") and jws.text.count(".") == 2
    stored = await session.scalar(select(IssuedCredential.jwt).where(col(IssuedCredential.id) == row.id))
    assert stored == jws.text
    assert (await http.get(f"{url}.jwt")).text == stored
    assert (await verify_via_http(http, jws.text)).verified
    assert (await http.get(f"{url}.json")).text == row.document
    browser = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"
    html = await http.get(url, headers={"Accept": browser})
    assert html.headers["content-type"].startswith("text/html")
    assert "Collaborator" in html.text and "Not revoked" in html.text and "Good work" in html.text
    assert "default-src 'none'" in html.headers["content-security-policy"]
    for header, value in (
        ("x-content-type-options", "nosniff"),
        ("x-frame-options", "DENY"),
        ("referrer-policy", "no-referrer"),
    ):
        assert html.headers[header] == value
    assert "frame-ancestors 'none'" in html.headers["content-security-policy"]
    assert '<meta property="og:title"' in html.text
    own_url = quote(f"{settings.public_url}/credentials/{row.id}", safe="")
    assert f'href="/verify?url={own_url}"' in html.text

    png = await http.get(f"{url}/badge.png")
    assert png.status_code == 200 and png.headers["content-type"] == "image/png"
    assert baking.extract_png(png.content) == row.document
    svg = await http.get(f"{url}/badge.svg")
    assert svg.headers["content-type"].startswith("image/svg+xml")
    assert baking.extract_svg(svg.text) == row.document
    assert (await http.get("/credentials/00000000-0000-4000-8000-000000000000")).status_code == 404
    assert (await http.get("/credentials/not-a-uuid")).status_code == 422


async def test_the_page_escapes_everything(
    http: httpx.AsyncClient, actors: Actors, session: AsyncSession, settings: Settings
) -> None:
    attack = '<script>alert(1)</script>"><img src=x onerror=alert(2)>'
    earned = await earn(session, actors.a.tenant.id, narrative=attack)
    service = CredentialService(session, actors.a.tenant.id, settings)
    await service.issue_awards(earned.award_ids)
    row_id = service.issued[0].id
    await session.commit()
    html = (await http.get(f"/credentials/{row_id}", headers={"Accept": "text/html"})).text
    assert "<script>" not in html and "onerror=alert" not in html.replace("onerror=alert(2)&gt;", "")
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html


async def test_status_list_caching_and_issuer_documents(
    http: httpx.AsyncClient, actors: Actors, session: AsyncSession, settings: Settings
) -> None:
    row = (await _issued(session, actors, settings, learners=1))[0]
    doc = json.loads(row.document)
    list_path = "/" + doc["credentialStatus"]["statusListCredential"].split("/", 3)[3]
    first = await http.get(list_path)
    assert first.status_code == 200 and first.headers["etag"] and "max-age=" in first.headers["cache-control"]
    body = first.json()
    assert body["type"] == ["VerifiableCredential", "BitstringStatusListCredential"]
    assert body["issuer"] == doc["issuer"]["id"] and body["proof"][0]["cryptosuite"] == "eddsa-rdfc-2022"
    from service.credentials import Bitstring

    assert len(Bitstring.decode(body["credentialSubject"]["encodedList"])) >= 131_072
    cached = await http.get(list_path, headers={"If-None-Match": first.headers["etag"]})
    assert cached.status_code == 304 and cached.content == b""
    await http.post(
        f"/api/v1/credentials/{row.id}/revoke",
        json={"reason": "r"},
        headers=await actors.a.headers("credentials:write"),
    )
    changed = await http.get(list_path, headers={"If-None-Match": first.headers["etag"]})
    assert changed.status_code == 200 and changed.headers["etag"] != first.headers["etag"]

    slug = actors.a.tenant.slug
    did = f"did:web:portrait.test:issuers:{slug}"
    did_doc = (await http.get(f"/issuers/{slug}/did.json")).json()
    assert did_doc["id"] == did
    assert all(m["controller"] == did for m in did_doc["verificationMethod"])
    assert {m["id"].split("#")[1] for m in did_doc["verificationMethod"]} >= {"ed25519-1", "rsa-1"}
    profile = (await http.get(f"/issuers/{slug}")).json()
    assert profile["id"] == did and profile["type"] == ["Profile"] and profile["name"] == actors.a.tenant.name
    keys = (await http.get(f"/issuers/{slug}/jwks.json")).json()["keys"]
    assert {k["kid"] for k in keys} == {m["id"] for m in did_doc["verificationMethod"]}
    assert all("d" not in k for k in keys)
    assert (await http.get("/issuers/no-such-district/did.json")).status_code == 404


async def test_rotation_keeps_old_credentials_verifying(
    http: httpx.AsyncClient, actors: Actors, session: AsyncSession, settings: Settings
) -> None:
    old = (await _issued(session, actors, settings, learners=1))[0]
    write = await actors.a.headers("credentials:write")
    rotated = await http.post("/api/v1/issuer/keys/rotate", json={}, headers=write)
    assert rotated.status_code == 200, rotated.text
    by_fragment = {k["fragment"]: k["status"] for k in rotated.json()}
    assert by_fragment["ed25519-1"] == "retired" and by_fragment["ed25519-2"] == "active"
    assert by_fragment["rsa-1"] == "retired" and by_fragment["rsa-2"] == "active"
    assert all("private" not in json.dumps(k) for k in rotated.json())
    assert (await verify_via_http(http, json.loads(old.document))).verified
    assert (await verify_via_http(http, old.jwt)).verified
    body = {"achievement_id": str(old.achievement_id), "learner_id": str(old.learner_id)}
    new = await http.post("/api/v1/credentials", json=body, headers=write)
    assert new.json()["credential"]["proof"][0]["verificationMethod"].endswith("#ed25519-2")
    assert (await verify_via_http(http, new.json()["credential"])).verified
    assert (await verify_via_http(http, new.json()["jwt"])).verified
    bad = await http.post("/api/v1/issuer/keys/rotate", json={"kinds": ["DSA"]}, headers=write)
    assert bad.status_code == 422 and "body.kinds" in bad.text
    assert (
        await http.post(
            "/api/v1/issuer/keys/rotate", json={}, headers=await actors.a.headers("credentials:read")
        )
    ).status_code == 403


async def test_private_keys_are_encrypted_at_rest(
    actors: Actors, session: AsyncSession, settings: Settings
) -> None:
    from sqlmodel import col, select

    from service.badges.models import IssuerKey

    await _issued(session, actors, settings, learners=1)
    rows = (await session.exec(select(IssuerKey).where(col(IssuerKey.tenant_id) == actors.a.tenant.id))).all()
    assert {r.kind for r in rows} == {"Ed25519", "RSA"}
    for r in rows:
        assert r.private_key_encrypted.startswith("v1:") and "PRIVATE KEY" not in r.private_key_encrypted


async def test_local_documents_resolve_only_this_services_own(
    http: httpx.AsyncClient, actors: Actors, session: AsyncSession, settings: Settings
) -> None:
    from service.badges.vc_api import LocalDocuments

    row = (await _issued(session, actors, settings, learners=1))[0]
    document = json.loads(row.document)
    local = LocalDocuments(session, settings)
    did = document["issuer"]["id"]
    assert (
        await local.did_document(did) == (await http.get(f"/issuers/{actors.a.tenant.slug}/did.json")).json()
    )
    assert await local.did_document(did + "#ed25519-1") is not None
    assert await local.did_document("did:web:elsewhere.example:issuers:x") is None
    assert await local.did_document("did:web:portrait.test:issuers:nobody") is None
    list_url = document["credentialStatus"]["statusListCredential"]
    listed = await local.status_list(list_url)
    assert listed is not None and listed["id"] == list_url
    assert await local.status_list("https://elsewhere.example/status-lists/1") is None
    assert await local.status_list(f"{settings.public_url}/status-lists/not-a-uuid") is None


async def test_issue_waiting_and_batch_queue_jobs(http: httpx.AsyncClient, actors: Actors) -> None:
    write = await actors.a.headers("credentials:write")
    queued = await http.post("/api/v1/credentials/issue-waiting", headers=write)
    assert queued.status_code == 202 and queued.json()["kind"] == "badges.issue_awards"
    assert queued.json()["area"] == "credentials"
    read = await actors.a.headers("credentials:read")
    assert (await http.post("/api/v1/credentials/issue-waiting", headers=read)).status_code == 403
    item = {
        "achievement_id": "00000000-0000-4000-8000-000000000001",
        "learner_id": "00000000-0000-4000-8000-000000000002",
    }
    batch = await http.post("/api/v1/credentials/batch", json={"items": [item] * 2}, headers=write)
    assert batch.status_code == 202 and batch.json()["kind"] == "badges.issue_batch"
    empty = await http.post("/api/v1/credentials/batch", json={"items": []}, headers=write)
    assert empty.status_code == 422 and "body.items" in empty.text
    too_many = await http.post("/api/v1/credentials/batch", json={"items": [item] * 10_001}, headers=write)
    assert too_many.status_code == 422 and "body.items" in too_many.text


async def test_issuance_and_revocation_emit_webhook_events(
    http: httpx.AsyncClient,
    actors: Actors,
    session: AsyncSession,
    settings: Settings,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from sqlmodel import col, select

    from service.config import OutboundSettings
    from service.webhooks.models import WebhookDelivery

    monkeypatch.setattr(settings, "outbound", OutboundSettings(allowed_hosts=["hooks.example.test"]))
    hook = await http.post(
        "/api/v1/webhooks",
        json={"url": "https://hooks.example.test/in", "events": ["credential.issued", "credential.revoked"]},
        headers=await actors.a.headers("webhooks:write"),
    )
    assert hook.status_code == 201, hook.text
    row = (await _issued(session, actors, settings, learners=1))[0]
    await http.post(
        f"/api/v1/credentials/{row.id}/revoke",
        json={"reason": "typo"},
        headers=await actors.a.headers("credentials:write"),
    )
    deliveries = (
        await session.exec(
            select(WebhookDelivery).where(col(WebhookDelivery.tenant_id) == actors.a.tenant.id)
        )
    ).all()
    bodies = {d.event_type: d.body for d in deliveries}
    assert set(bodies) == {"credential.issued", "credential.revoked"}
    text = json.dumps(bodies["credential.revoked"])
    assert str(row.id) in text and "typo" in text
    assert f"{settings.public_url}/credentials/{row.id}" in json.dumps(bodies["credential.issued"])
