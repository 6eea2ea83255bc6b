"""Outbound verification budgets (issue 11): one deadline per verification for all its fetches, a cap
per host, so a host that answers one byte at a time fails its own verifications and nobody else's.

The slow host is a real HTTP server on 127.0.0.1 started by the test (allowed by the outbound guard's
test allow-list); it trickles its answer until the client goes away."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import httpx
import pytest
from fastapi import FastAPI

from service.config import Settings
from service.credentials import BitstringStatusListEntry, issue
from tests.credentials.conftest import sample_credential
from tests.verification.conftest import make_remote_issuer, verify_settings
from tests.verification.docserver import DocServer


class Trickle:
    """Answers every request with headers, then one byte every 50 ms, for as long as it is read."""

    def __init__(self) -> None:
        self.active = 0
        self.most_at_once = 0
        self.server: asyncio.Server | None = None

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.active += 1
        self.most_at_once = max(self.most_at_once, self.active)
        try:
            await reader.readuntil(b"\r\n\r\n")
            writer.write(
                b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 100000\r\n\r\n"
            )
            for _ in range(100_000):
                writer.write(b" ")
                await writer.drain()
                await asyncio.sleep(0.05)  # the slowness under test, not synchronisation
        except (ConnectionError, asyncio.IncompleteReadError):
            pass
        finally:
            self.active -= 1
            writer.close()

    @property
    def host(self) -> str:
        assert self.server is not None
        return f"127.0.0.1:{self.server.sockets[0].getsockname()[1]}"


@pytest.fixture
async def trickle() -> AsyncIterator[Trickle]:
    slow = Trickle()
    slow.server = await asyncio.start_server(slow.handle, "127.0.0.1", 0)
    try:
        yield slow
    finally:
        slow.server.close()


async def test_one_deadline_for_all_fetches_of_a_verification(
    app: FastAPI, http: httpx.AsyncClient, settings: Settings, doc_server: DocServer, trickle: Trickle
) -> None:
    issuer = make_remote_issuer(doc_server, "trickled")
    # Each fetch alone stays under its own timeout by trickling; only the overall deadline stops it.
    app.state.settings = verify_settings(
        settings, doc_server, fetch_timeout_seconds=5.0, deadline_seconds=1.5
    )
    slow_list = f"http://{trickle.host}/status/1"
    credential = issue(
        sample_credential(issuer.did, credential_status=BitstringStatusListEntry(slow_list, 1)), issuer.signer
    )
    body = (await http.post("/api/v1/verify", json=credential)).json()
    status = next(c for c in body["checks"] if c["check"] == "status")
    assert status["ok"] is False
    assert "deadline of 1.5 s passed" in status["message"]
    assert next(c for c in body["checks"] if c["check"] == "proof")["ok"] is True


async def test_a_slow_host_fails_only_its_own_verifications(
    app: FastAPI, http: httpx.AsyncClient, settings: Settings, doc_server: DocServer, trickle: Trickle
) -> None:
    issuer = make_remote_issuer(doc_server, "prompt")
    app.state.settings = verify_settings(
        settings, doc_server, fetch_timeout_seconds=5.0, deadline_seconds=3.0, max_connections_per_host=2
    )
    slow = [
        issue(
            sample_credential(
                issuer.did, credential_status=BitstringStatusListEntry(f"http://{trickle.host}/s/{i}", 1)
            ),
            issuer.signer,
        )
        for i in range(24)
    ]
    prompt = issuer.credential()
    answers = await asyncio.gather(
        *(http.post("/api/v1/verify", json=c) for c in slow), http.post("/api/v1/verify", json=prompt)
    )
    assert answers[-1].json()["verified"] is True, answers[-1].json()
    assert all(a.json()["verified"] is False for a in answers[:-1])
    # The host's cap (2) held: the others waited, then hit their own deadline. The server notices a
    # closed connection only at its next write, so one being torn down may overlap its successor;
    # without the cap, the shared pool let all 24 (up to its 20 connections) in at once.
    assert 2 <= trickle.most_at_once <= 4
