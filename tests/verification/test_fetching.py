"""Fetching for verification: our own URLs in-process (no cache: a revocation shows at once),
timeouts, the bounded cache and the rate limiter."""

from __future__ import annotations

import threading
from typing import Any

import httpx
from cryptography.hazmat.primitives.asymmetric import ed25519
from fastapi import FastAPI
from fastapi.responses import JSONResponse

from service.config import Settings
from service.credentials import (
    Bitstring,
    BitstringStatusListEntry,
    IssuerKey,
    Signer,
    build_did_document,
    build_status_list_credential,
    did_web_for_issuer,
    generate_private_key,
    issue,
    sign_data_integrity,
)
from service.verification.fetcher import TtlCache
from service.verification.ratelimit import RateLimiter
from tests.credentials.conftest import sample_credential
from tests.verification.conftest import make_remote_issuer, verify_settings
from tests.verification.docserver import DocServer


async def test_own_issuer_documents_are_read_in_process(
    app: FastAPI, http: httpx.AsyncClient, settings: Settings, doc_server: DocServer
) -> None:
    """A district of this service: did:web under PORTRAIT_PUBLIC_URL (https://portrait.test here, which
    does not resolve): DID document and status list come from the app itself, never from the network."""
    app.state.settings = verify_settings(settings, doc_server)
    did = did_web_for_issuer(settings.public_url, "home")
    key = generate_private_key("Ed25519")
    assert isinstance(key, ed25519.Ed25519PrivateKey)
    signer = Signer(f"{did}#key-1", key)
    documents: dict[str, Any] = {"did": build_did_document(did, [IssuerKey("key-1", key.public_key())])}
    list_url = f"{settings.public_url}/status-lists/home-1"

    def publish_list(*revoked: int) -> None:
        bits = Bitstring()
        for index in revoked:
            bits.set(index)
        documents["list"] = sign_data_integrity(
            build_status_list_credential(
                credential_id=list_url, issuer=did, bitstring=bits, valid_from=sample_valid_from()
            ),
            signer,
        )

    async def did_json(slug: str) -> JSONResponse:
        return JSONResponse(
            documents["did"] if slug == "home" else {}, status_code=200 if slug == "home" else 404
        )

    async def status_list() -> JSONResponse:
        return JSONResponse(documents["list"])

    app.add_api_route("/issuers/{slug}/did.json", did_json)
    app.add_api_route("/status-lists/home-1", status_list)
    publish_list()
    credential = issue(
        sample_credential(did, credential_status=BitstringStatusListEntry(list_url, 42)), signer
    )

    first = (await http.post("/api/v1/verify", json=credential)).json()
    assert first["verified"] is True, first
    publish_list(42)  # revoked: the next verification sees it at once
    second = (await http.post("/api/v1/verify", json=credential)).json()
    assert second["verified"] is False
    assert [c["check"] for c in second["checks"] if not c["ok"]] == ["status"]
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
