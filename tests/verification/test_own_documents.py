"""Our own DID documents and status lists are kept in process for verification (service.hotcache):
read from the app once, then reused until an issuer key or a status list changes. A key rotation, a
credential signed by the new key and a revocation all show in the very next verification."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlmodel.ext.asyncio.session import AsyncSession

from service import hotcache
from service.badges.issuance import CredentialService
from service.config import Settings
from service.db import Database
from tests.badges.helpers import earn
from tests.factories import Actors
from tests.verification.conftest import verify_settings
from tests.verification.docserver import DocServer


@pytest.fixture
async def listening(db: Database) -> AsyncIterator[hotcache.Invalidation]:
    """The cache epoch of the test database, live as in a running server (on PostgreSQL the app's
    lifespan starts its LISTEN; changes made in this test's transaction bump the epoch locally)."""
    invalidation = hotcache.for_engine(db.engine.sync_engine)
    await invalidation.start()
    try:
        yield invalidation
    finally:
        await invalidation.stop()


async def verify(http: httpx.AsyncClient, form: dict[str, Any] | str) -> dict[str, Any]:
    if isinstance(form, str):
        response = await http.post("/api/v1/verify", content=form, headers={"Content-Type": "text/plain"})
    else:
        response = await http.post("/api/v1/verify", json=form)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def failed(body: dict[str, Any]) -> list[str]:
    return [check["check"] for check in body["checks"] if not check["ok"]]


async def test_own_documents_are_reused_until_a_key_or_a_status_list_changes(
    app: FastAPI,
    http: httpx.AsyncClient,
    settings: Settings,
    doc_server: DocServer,
    session: AsyncSession,
    actors: Actors,
    listening: hotcache.Invalidation,
) -> None:
    app.state.settings = verify_settings(settings, doc_server)
    tenant = actors.a.tenant.id
    earned = await earn(session, tenant, learners=2)
    issuing = CredentialService(session, tenant, settings)
    await issuing.issue_awards(earned.award_ids[:1])
    await session.commit()
    first = issuing.issued[0]
    forms: list[dict[str, Any] | str] = [json.loads(first.document), await issuing.jwt(first)]
    await session.commit()

    for form in forms:
        assert (await verify(http, form))["verified"] is True
    fetcher = app.state.verification_service.fetcher
    assert fetcher.own_reads == 2  # the DID document and the status list, read once
    for form in forms:
        assert (await verify(http, form))["verified"] is True
    assert fetcher.own_reads == 2 and fetcher.fetches == 0  # then reused, and nothing went out

    write = await actors.a.headers("credentials:write")
    rotated = await http.post("/api/v1/issuer/keys/rotate", json={"kinds": ["Ed25519", "RSA"]}, headers=write)
    assert rotated.status_code == 200, rotated.text
    # Retired keys stay in the DID document: the first credential still verifies, from a fresh read.
    for form in forms:
        assert (await verify(http, form))["verified"] is True
    assert fetcher.own_reads > 2
    # A credential signed by the new keys needs the new DID document: a stale one would fail it.
    issuing = CredentialService(session, tenant, settings)
    await issuing.issue_awards(earned.award_ids[1:2])
    await session.commit()
    second = issuing.issued[0]
    second_jwt = await issuing.jwt(second)
    await session.commit()
    assert json.loads(second.document)["proof"][0]["verificationMethod"].endswith("#ed25519-2")
    for form in (json.loads(second.document), second_jwt):
        body = await verify(http, form)
        assert body["verified"] is True, body

    revoked = await http.post(
        f"/api/v1/credentials/{second.id}/revoke", json={"reason": "issued in error"}, headers=write
    )
    assert revoked.status_code == 200, revoked.text
    for form in (json.loads(second.document), second_jwt):
        assert failed(await verify(http, form)) == ["status"]
    for form in forms:  # the other credential on the same list is untouched
        assert (await verify(http, form))["verified"] is True


async def test_a_tampered_own_credential_fails_after_the_genuine_one_verified(
    app: FastAPI,
    http: httpx.AsyncClient,
    settings: Settings,
    doc_server: DocServer,
    session: AsyncSession,
    actors: Actors,
    listening: hotcache.Invalidation,
) -> None:
    app.state.settings = verify_settings(settings, doc_server)
    earned = await earn(session, actors.a.tenant.id, learners=1)
    issuing = CredentialService(session, actors.a.tenant.id, settings)
    await issuing.issue_awards(earned.award_ids)
    await session.commit()
    document = json.loads(issuing.issued[0].document)
    assert (await verify(http, document))["verified"] is True
    assert (await verify(http, document))["verified"] is True  # memo warm
    tampered = json.loads(json.dumps(document))
    tampered["credentialSubject"]["achievement"]["name"] = "Valedictorian"
    assert "proof" in failed(await verify(http, tampered))
    token = await issuing.jwt(issuing.issued[0])
    head, body, signature = token.split(".")
    assert "proof" in failed(await verify(http, f"{head}.{body}.{signature[:-6]}AAAAAA"))
