"""Connections over REST: CRUD, the secret encrypted and never returned, URL checks, tenant isolation,
test-connection against the fake provider, and queueing a sync (202 with a job)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import httpx
import pytest
from fastapi import FastAPI
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from service.adapters.oneroster.models import OneRosterConnection
from service.config import Settings
from tests.adapters.oneroster.fake_server import FakeOneRoster
from tests.factories import Actors

BASE = "/api/v1/oneroster/connections"


@pytest.fixture
def app_allowing_private(app: FastAPI, or_settings: Settings) -> Iterator[FastAPI]:
    """The app with settings that let outbound requests reach the local fake provider."""
    before = app.state.settings
    app.state.settings = or_settings
    yield app
    app.state.settings = before


def body(fake: FakeOneRoster | None = None, **overrides: object) -> dict[str, object]:
    data: dict[str, object] = {
        "base_url": fake.url if fake else "https://8.8.8.8/",
        "version": "1.2",
        "token_url": fake.token_url if fake else "https://8.8.8.8/oauth/token",
        "client_id": fake.client_id if fake else "portrait",
        "client_secret": fake.client_secret if fake else "sup3r-s3cret-value",
        "scopes": "https://purl.imsglobal.org/spec/or/v1p2/scope/roster-core.readonly roster.readonly",
    }
    data.update(overrides)
    return data


async def test_crud_keeps_the_secret_encrypted_and_never_returns_it(
    http: httpx.AsyncClient, actors: Actors, session: AsyncSession
) -> None:
    h = await actors.a.headers("sync:write")
    created = await http.post(BASE, json=body(), headers=h)
    assert created.status_code == 201, created.text
    conn = created.json()
    assert conn["base_url"] == "https://8.8.8.8" and conn["version"] == "1.2"
    assert conn["schedule_minutes"] is None and conn["last_scheduled_at"] is None
    assert conn["scopes"] == [
        "https://purl.imsglobal.org/spec/or/v1p2/scope/roster-core.readonly",
        "roster.readonly",
    ]
    assert "sup3r-s3cret-value" not in created.text and "client_secret" not in conn
    row = (
        await session.exec(
            select(OneRosterConnection).where(col(OneRosterConnection.id) == uuid.UUID(conn["id"]))
        )
    ).one()
    assert row.client_secret_encrypted.startswith("v1:") and "sup3r" not in row.client_secret_encrypted
    old_cipher = row.client_secret_encrypted

    listed = await http.get(BASE, headers=await actors.a.headers("sync:read"))
    assert listed.status_code == 200 and [c["id"] for c in listed.json()["items"]] == [conn["id"]]
    patched = await http.patch(
        f"{BASE}/{conn['id']}", json={"client_secret": "another-secret", "name": "SIS"}, headers=h
    )
    assert patched.status_code == 200 and patched.json()["name"] == "SIS"
    await session.refresh(row)
    assert row.client_secret_encrypted != old_cipher and "another" not in row.client_secret_encrypted
    null = await http.patch(f"{BASE}/{conn['id']}", json={"base_url": None}, headers=h)
    assert null.status_code == 422 and null.json()["errors"][0]["loc"] == "body.base_url"
    assert conn["inactive_evidence"] == "keep"  # the default: a learner's evidence outlives the roster
    policy = await http.patch(f"{BASE}/{conn['id']}", json={"inactive_evidence": "withdraw"}, headers=h)
    assert policy.status_code == 200 and policy.json()["inactive_evidence"] == "withdraw"
    for bad in ("revoke", None):
        refused = await http.patch(f"{BASE}/{conn['id']}", json={"inactive_evidence": bad}, headers=h)
        assert refused.status_code == 422 and refused.json()["errors"][0]["loc"] == "body.inactive_evidence"

    other = await actors.b.headers("sync:write")
    assert (await http.get(f"{BASE}/{conn['id']}", headers=other)).status_code == 404
    assert (await http.patch(f"{BASE}/{conn['id']}", json={"name": "x"}, headers=other)).status_code == 404
    assert (
        await http.post(f"{BASE}/{conn['id']}/sync", json={"mode": "full"}, headers=other)
    ).status_code == 404
    assert (await http.delete(f"{BASE}/{conn['id']}", headers=other)).status_code == 404
    assert (await http.get(BASE, headers=other)).json()["items"] == []

    assert (await http.delete(f"{BASE}/{conn['id']}", headers=h)).status_code == 204
    assert (await http.get(f"{BASE}/{conn['id']}", headers=h)).status_code == 404


async def test_scopes_and_bad_input(http: httpx.AsyncClient, actors: Actors) -> None:
    read_only = await actors.a.headers("sync:read")
    assert (await http.post(BASE, json=body(), headers=read_only)).status_code == 403
    h = await actors.a.headers("sync:write")
    cases = {
        "version": body(version="2.0"),
        "token_url": body(token_url="ftp://8.8.8.8/token"),
        "client_secret": body(client_secret=""),
        "scopes": body(scopes=[f"s{i}" for i in range(21)]),
        "base_url": body(base_url="http://user:pw@8.8.8.8/"),
        "schedule_minutes": body(schedule_minutes=5),
    }
    for field, payload in cases.items():
        response = await http.post(BASE, json=payload, headers=h)
        assert response.status_code == 422, (field, response.text)
        assert any(e["loc"].startswith(f"body.{field}") for e in response.json()["errors"]), response.text
    private = await http.post(BASE, json=body(base_url="http://127.0.0.1:9"), headers=h)
    assert private.status_code == 422 and private.json()["errors"][0]["loc"] == "body.base_url"
    assert "loopback" in private.json()["errors"][0]["message"]
    unknown = await http.post(BASE, json={**body(), "password": "x"}, headers=h)
    assert unknown.status_code == 422
    nested = await http.post(BASE, json=body(scopes=[["a"], {"b": 1}]), headers=h)  # found by the fuzzer
    assert nested.status_code == 422 and nested.json()["errors"][0]["loc"].startswith("body.scopes")


async def test_test_connection_and_sync_queueing(
    http: httpx.AsyncClient, actors: Actors, app_allowing_private: FastAPI, fake: FakeOneRoster
) -> None:
    h = await actors.a.headers("sync:write")
    created = await http.post(BASE, json=body(fake), headers=h)
    assert created.status_code == 201, created.text
    conn_id = created.json()["id"]
    ok = await http.post(f"{BASE}/{conn_id}/test", headers=h)
    assert ok.status_code == 200 and ok.json()["ok"] is True and ok.json()["token"] is True
    assert fake.requests_to("orgs")[-1]["limit"] == "1"

    await http.patch(f"{BASE}/{conn_id}", json={"client_secret": "wrong"}, headers=h)
    bad = (await http.post(f"{BASE}/{conn_id}/test", headers=h)).json()
    assert bad["ok"] is False and bad["token"] is False and bad["error"]["kind"] == "auth"
    await http.patch(f"{BASE}/{conn_id}", json={"client_secret": fake.client_secret}, headers=h)
    fake.inject("/orgs", 403, body={"imsx_codeMajor": "failure", "imsx_description": "scope missing"})
    refused = (await http.post(f"{BASE}/{conn_id}/test", headers=h)).json()
    assert refused["ok"] is False and refused["token"] is True
    assert refused["error"]["code_major"] == "failure" and "scope missing" in refused["detail"]

    queued = await http.post(f"{BASE}/{conn_id}/sync", json={"mode": "full"}, headers=h)
    assert queued.status_code == 202, queued.text
    job = queued.json()
    assert job["kind"] == "oneroster.sync" and job["area"] == "sync" and job["state"] == "queued"
    assert job["params"] == {"connection_id": conn_id, "mode": "full", "override": False}
    seen = await http.get(f"/api/v1/jobs/{job['id']}", headers=await actors.a.headers("sync:read"))
    assert seen.status_code == 200 and seen.json()["id"] == job["id"]
    again = await http.post(f"{BASE}/{conn_id}/sync", json={"mode": "delta"}, headers=h)
    assert again.status_code == 409
    bad_mode = await http.post(f"{BASE}/{conn_id}/sync", json={"mode": "sometimes"}, headers=h)
    assert bad_mode.status_code == 422 and bad_mode.json()["errors"][0]["loc"] == "body.mode"


async def test_oauth1_connections_are_for_1_1_only(http: httpx.AsyncClient, actors: Actors) -> None:
    h = await actors.a.headers("sync:write")
    no_token = {k: v for k, v in body(version="1.1", auth_method="oauth1").items() if k != "token_url"}
    made = await http.post(BASE, json=no_token, headers=h)
    assert made.status_code == 201, made.text
    assert made.json()["auth_method"] == "oauth1" and made.json()["token_url"] is None
    wrong = await http.post(BASE, json={**no_token, "version": "1.2"}, headers=h)
    assert wrong.status_code == 422 and "only for OneRoster 1.1" in wrong.text
    needs_token = {k: v for k, v in body().items() if k != "token_url"}
    assert (await http.post(BASE, json=needs_token, headers=h)).status_code == 422
    switch = await http.patch(f"{BASE}/{made.json()['id']}", json={"auth_method": "oauth2"}, headers=h)
    assert switch.status_code == 422 and switch.json()["errors"][0]["loc"] == "body.token_url"
    upgrade = await http.patch(f"{BASE}/{made.json()['id']}", json={"version": "1.2"}, headers=h)
    assert upgrade.status_code == 422 and upgrade.json()["errors"][0]["loc"] == "body.auth_method"
