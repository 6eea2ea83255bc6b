"""Webhook subscriptions over REST: CRUD, the secret shown once and stored encrypted, the URL guard,
scopes, delivery listing and tenant isolation. Nothing is sent here: no backend runs."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
import pytest
from sqlmodel.ext.asyncio.session import AsyncSession

from service.config import OutboundSettings, Settings
from service.crypto import SecretBox
from service.webhooks.models import WebhookSubscription
from service.webhooks.service import WebhookService
from tests.factories import Actors, District

HOOK = "https://hooks.example.test/portrait"


@pytest.fixture
def trusted_host(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> None:
    """hooks.example.test is allowed without resolving it (this machine has no public DNS)."""
    monkeypatch.setattr(settings, "outbound", OutboundSettings(allowed_hosts=["hooks.example.test"]))


async def _create(
    http: httpx.AsyncClient, d: District, url: str = HOOK, events: list[str] | None = None
) -> dict[str, Any]:
    response = await http.post(
        "/api/v1/webhooks",
        json={"url": url, "events": events or ["award.created"], "description": "LMS"},
        headers=await d.headers("webhooks:write"),
    )
    assert response.status_code == 201, response.text
    return dict(response.json())


@pytest.mark.usefixtures("trusted_host")
async def test_crud_and_the_secret_shown_once(
    http: httpx.AsyncClient, actors: Actors, session: AsyncSession, settings: Settings
) -> None:
    d = actors.a
    created = await _create(http, d, events=["award.created", "credential.issued", "award.created"])
    assert created["events"] == ["award.created", "credential.issued"]  # de-duplicated
    assert created["active"] is True and created["description"] == "LMS" and created["url"] == HOOK
    secret = created["secret"]
    assert secret.startswith("whsec_") and len(secret) > 40

    row = await session.get(WebhookSubscription, uuid.UUID(created["id"]))
    assert row is not None and row.secret_encrypted.startswith("v1:") and secret not in row.secret_encrypted
    assert settings.key_encryption_key is not None
    box = SecretBox(settings.key_encryption_key.get_secret_value())
    assert box.decrypt(row.secret_encrypted, context=f"webhook:{row.id}") == secret

    read = await d.headers("webhooks:read")
    got = (await http.get(f"/api/v1/webhooks/{created['id']}", headers=read)).json()
    assert "secret" not in got and "secret_encrypted" not in got
    listed = (await http.get("/api/v1/webhooks", headers=read)).json()
    assert [w["id"] for w in listed["items"]] == [created["id"]] and "secret" not in listed["items"][0]

    write = await d.headers("webhooks:write")
    patched = await http.patch(
        f"/api/v1/webhooks/{created['id']}",
        json={"events": ["*"], "active": False, "url": HOOK + "/v2"},
        headers=write,
    )
    assert patched.status_code == 200, patched.text
    assert patched.json()["events"] == ["*"] and patched.json()["active"] is False
    assert (await http.get("/api/v1/webhooks", params={"active": True}, headers=read)).json()["total"] == 0

    rotated = await http.post(f"/api/v1/webhooks/{created['id']}/rotate-secret", headers=write)
    assert rotated.status_code == 200
    assert rotated.json()["secret"].startswith("whsec_") and rotated.json()["secret"] != secret

    assert (await http.delete(f"/api/v1/webhooks/{created['id']}", headers=write)).status_code == 204
    assert (await http.get(f"/api/v1/webhooks/{created['id']}", headers=read)).status_code == 404


@pytest.mark.parametrize(
    "url",
    [
        "http://10.0.0.1/hook",
        "http://169.254.169.254/latest/meta-data/",
        "http://[::1]/hook",
        "file:///etc/passwd",
        "http://localhost/hook",
        "http://user:pass@hooks.example.test/x",
    ],
)
async def test_url_guard_rejects_with_422_naming_body_url(
    http: httpx.AsyncClient, actors: Actors, url: str
) -> None:
    response = await http.post(
        "/api/v1/webhooks",
        json={"url": url, "events": ["*"]},
        headers=await actors.a.headers("webhooks:write"),
    )
    assert response.status_code == 422, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    problem = response.json()
    assert problem["code"] == "webhook_url_rejected"
    assert [e["loc"] for e in problem["errors"]] == ["body.url"]


@pytest.mark.usefixtures("trusted_host")
async def test_update_is_guarded_and_validated(http: httpx.AsyncClient, actors: Actors) -> None:
    created = await _create(http, actors.a)
    write = await actors.a.headers("webhooks:write")
    url = f"/api/v1/webhooks/{created['id']}"
    private = await http.patch(url, json={"url": "http://192.168.0.10/"}, headers=write)
    assert private.status_code == 422 and private.json()["errors"][0]["loc"] == "body.url"
    null = await http.patch(url, json={"url": None}, headers=write)
    assert null.status_code == 422 and null.json()["errors"][0]["loc"] == "body.url"
    bad_event = await http.patch(url, json={"events": ["award.exploded"]}, headers=write)
    assert bad_event.status_code == 422 and bad_event.json()["errors"][0]["loc"].startswith("body.events")
    empty = await http.patch(url, json={"events": []}, headers=write)
    assert empty.status_code == 422
    unknown = await http.patch(url, json={"secret": "mine"}, headers=write)
    assert unknown.status_code == 422
    assert (await http.get(url, headers=write)).json()["url"] == HOOK  # nothing half-written


async def test_scopes(http: httpx.AsyncClient, actors: Actors) -> None:
    read = await actors.a.headers("webhooks:read")
    assert (
        await http.post("/api/v1/webhooks", json={"url": HOOK, "events": ["*"]}, headers=read)
    ).status_code == 403
    other = await actors.a.headers("awards:write")
    assert (await http.get("/api/v1/webhooks", headers=other)).status_code == 403
    assert (await http.get("/api/v1/webhooks")).status_code == 401


@pytest.mark.usefixtures("trusted_host")
async def test_deliveries_are_listed_and_isolated_by_tenant(
    http: httpx.AsyncClient, actors: Actors, session: AsyncSession
) -> None:
    created = await _create(http, actors.a, events=["award.created"])
    catch_all = await _create(http, actors.a, events=["*"])
    tenant_a = actors.a.tenant.id
    deliveries = await WebhookService(session, tenant_a).emit("award.created", {"award_id": "a1"})
    assert {d.subscription_id for d in deliveries} == {uuid.UUID(created["id"]), uuid.UUID(catch_all["id"])}
    only_all = await WebhookService(session, tenant_a).emit("sync.finished", {"job": "j"})
    assert [d.subscription_id for d in only_all] == [uuid.UUID(catch_all["id"])]
    # B's emit never reaches A's subscriptions
    assert await WebhookService(session, actors.b.tenant.id).emit("award.created", {}) == []

    read = await actors.a.headers("webhooks:read")
    page = (await http.get(f"/api/v1/webhooks/{created['id']}/deliveries", headers=read)).json()
    assert page["total"] == 1
    item = page["items"][0]
    assert item["state"] == "pending" and item["attempts"] == 0 and item["event_type"] == "award.created"
    assert item["last_status_code"] is None and item["next_attempt_at"] is not None
    assert page["items"][0]["id"] == str(deliveries[0].id) or page["items"][0]["id"] == str(deliveries[1].id)
    everything = (await http.get(f"/api/v1/webhooks/{catch_all['id']}/deliveries", headers=read)).json()
    assert everything["total"] == 2
    filtered = await http.get(
        f"/api/v1/webhooks/{catch_all['id']}/deliveries", params={"state": "delivered"}, headers=read
    )
    assert filtered.json()["total"] == 0

    # the delivery job is visible to webhooks:read, in area "webhooks"
    jobs = (await http.get("/api/v1/jobs", params={"kind": "webhooks.deliver"}, headers=read)).json()
    assert jobs["total"] == 2 and {j["area"] for j in jobs["items"]} == {"webhooks"}

    b = await actors.b.headers("webhooks:read", "webhooks:write")
    for method, path in [
        ("GET", f"/api/v1/webhooks/{created['id']}"),
        ("GET", f"/api/v1/webhooks/{created['id']}/deliveries"),
        ("PATCH", f"/api/v1/webhooks/{created['id']}"),
        ("POST", f"/api/v1/webhooks/{created['id']}/rotate-secret"),
        ("DELETE", f"/api/v1/webhooks/{created['id']}"),
    ]:
        kwargs: dict[str, Any] = {"json": {"active": False}} if method == "PATCH" else {}
        response = await http.request(method, path, headers=b, **kwargs)
        assert response.status_code == 404, (method, path, response.text)
    assert (await http.get("/api/v1/webhooks", headers=b)).json()["total"] == 0
    b_jobs = await actors.b.headers("webhooks:read")
    assert (await http.get("/api/v1/jobs", headers=b_jobs)).json()["total"] == 0
    job_id = jobs["items"][0]["id"]
    assert (await http.get(f"/api/v1/jobs/{job_id}", headers=b_jobs)).status_code == 404


async def test_emit_rejects_unknown_event_types(session: AsyncSession, actors: Actors) -> None:
    with pytest.raises(ValueError, match="unknown webhook event type"):
        await WebhookService(session, actors.a.tenant.id).emit("award.exploded", {})
