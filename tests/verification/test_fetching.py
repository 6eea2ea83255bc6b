"""Fetching for verification: our own URLs in-process (no cache: a revocation shows at once),
timeouts, the bounded cache and the rate limiter."""

from __future__ import annotations

import json
import threading
from typing import Any

import httpx
from fastapi import FastAPI
from sqlmodel.ext.asyncio.session import AsyncSession

from service.badges.issuance import CredentialService
from service.config import Settings
from service.credentials import (
    BitstringStatusListEntry,
    Signer,
    generate_private_key,
    issue,
)
from service.verification.fetcher import TtlCache
from service.verification.ratelimit import RateLimiter
from tests.badges.helpers import earn
from tests.credentials.conftest import sample_credential
from tests.factories import Actors
from tests.verification.conftest import make_remote_issuer, verify_settings
from tests.verification.docserver import DocServer


async def test_own_issuer_documents_are_read_in_process(
    app: FastAPI,
    http: httpx.AsyncClient,
    settings: Settings,
    doc_server: DocServer,
    session: AsyncSession,
    actors: Actors,
) -> None:
    """A credential this service issued (did:web under PORTRAIT_PUBLIC_URL, https://portrait.test here,
    which does not resolve): DID document and status list come from the app itself, never from the
    network, so a revocation shows in the very next verification, in both proof formats."""
    app.state.settings = verify_settings(settings, doc_server)
    earned = await earn(session, actors.a.tenant.id, learners=1)
    service = CredentialService(session, actors.a.tenant.id, settings)
    await service.issue_awards(earned.award_ids)
    await session.commit()
    row = service.issued[0]
    document, compact, credential_id = json.loads(row.document), await service.jwt(row), row.id
    await session.commit()

    first = (await http.post("/api/v1/verify", json=document)).json()
    assert first["verified"] is True, first
    jws = await http.post("/api/v1/verify", content=compact, headers={"Content-Type": "text/plain"})
    assert jws.json()["verified"] is True, jws.json()

    write = await actors.a.headers("credentials:write")
    revoked = await http.post(
        f"/api/v1/credentials/{credential_id}/revoke", json={"reason": "issued in error"}, headers=write
    )
    assert revoked.status_code == 200, revoked.text
    for body in (
        (await http.post("/api/v1/verify", json=document)).json(),
        (await http.post("/api/v1/verify", content=compact, headers={"Content-Type": "text/plain"})).json(),
    ):
        assert body["verified"] is False
        assert [c["check"] for c in body["checks"] if not c["ok"]] == ["status"]
    assert app.state.verification_service.fetcher.fetches == 0  # nothing went over the network


def sample_valid_from() -> Any:
    from datetime import UTC, datetime

    return datetime(2025, 1, 1, tzinfo=UTC)


async def test_slow_server_times_out(
    app: FastAPI, http: httpx.AsyncClient, settings: Settings, doc_server: DocServer
) -> None:
    issuer = make_remote_issuer(doc_server, "slowpoke")
    slow_url = f"{doc_server.url}/slow/status"
    doc_server.publish("/slow/status", issuer.publish_status_list())
    app.state.settings = verify_settings(settings, doc_server, fetch_timeout_seconds=0.3)
    doc_server.delay = threading.Event()
    try:
        credential = issue(
            sample_credential(issuer.did, credential_status=BitstringStatusListEntry(slow_url, 1)),
            issuer.signer,
        )
        body = (await http.post("/api/v1/verify", json=credential)).json()
    finally:
        doc_server.delay.set()
        doc_server.delay = None
    status = next(c for c in body["checks"] if c["check"] == "status")
    assert status["ok"] is False and "timed out" in status["message"]
    assert next(c for c in body["checks"] if c["check"] == "proof")["ok"] is True


def test_ttl_cache_expires_and_is_bounded() -> None:
    now = [0.0]
    cache = TtlCache(ttl=10, max_entries=2, clock=lambda: now[0])
    cache.put("a", "1")
    cache.put("b", "2")
    assert cache.get("a") == "1"
    cache.put("c", "3")  # evicts the least recently used: b
    assert cache.get("b") is None and cache.get("a") == "1" and len(cache) == 2
    now[0] = 10.0
    assert cache.get("a") is None
    off = TtlCache(ttl=0, max_entries=2)
    off.put("a", "1")
    assert off.get("a") is None


def test_rate_limiter_refills_and_forgets_old_clients() -> None:
    now = [0.0]
    limiter = RateLimiter(per_minute=60, burst=2, max_clients=3, clock=lambda: now[0])
    assert limiter.acquire("a") is None and limiter.acquire("a") is None
    assert limiter.acquire("a") == 1.0  # one token per second
    now[0] = 1.0
    assert limiter.acquire("a") is None
    assert limiter.acquire("b") is None  # other clients have their own bucket
    for client in ("c", "d", "e"):
        limiter.acquire(client)
    assert len(limiter) == 3  # bounded: the oldest clients were forgotten
    slow = RateLimiter(per_minute=1, burst=1, max_clients=10, clock=lambda: now[0])
    assert slow.acquire("x") is None
    assert slow.acquire("x") == 60


async def test_own_urls_without_a_document_fail_cleanly(
    app: FastAPI, http: httpx.AsyncClient, settings: Settings, doc_server: DocServer
) -> None:
    """A key claimed under our public URL where nothing (or a protected API) answers: a failed check."""
    app.state.settings = verify_settings(settings, doc_server)
    key = generate_private_key("Ed25519")
    for controller, expected in (
        (f"{settings.public_url}/nowhere", "answered HTTP 404"),
        (f"{settings.public_url}/api/v1/learners", "answered HTTP 401"),
    ):
        signed = issue(sample_credential(controller, credential_status=None), Signer(f"{controller}#k", key))
        body = (await http.post("/api/v1/verify", json=signed)).json()
        proof = next(c for c in body["checks"] if c["check"] == "proof")
        assert body["verified"] is False and expected in proof["message"], proof
