"""The client address of rate limits (issue 11): X-Forwarded-For is believed only from a configured
trusted proxy, and then only its right-most untrusted hop."""

from __future__ import annotations

import httpx
import pytest
from fastapi import FastAPI

from service.config import Settings
from service.net import client_address


@pytest.mark.parametrize(
    ("peer", "forwarded", "trusted", "expected"),
    [
        ("127.0.0.1", "203.0.113.9", [], "127.0.0.1"),  # nothing trusted: the TCP peer
        ("198.51.100.7", "203.0.113.9", ["10.0.0.0/8"], "198.51.100.7"),  # the peer is no proxy of ours
        ("10.0.0.2", "203.0.113.9", ["10.0.0.0/8"], "203.0.113.9"),
        ("10.0.0.2", "1.2.3.4, 203.0.113.9, 10.0.0.3", ["10.0.0.0/8"], "203.0.113.9"),  # spoofed left part
        ("10.0.0.2", None, ["10.0.0.0/8"], "10.0.0.2"),
        ("10.0.0.2", "10.0.0.3", ["10.0.0.0/8"], "10.0.0.2"),
    ],
)
def test_client_address(peer: str, forwarded: str | None, trusted: list[str], expected: str) -> None:
    assert client_address(peer, forwarded, trusted) == expected


async def test_rotating_x_forwarded_for_does_not_escape_the_verify_limit(
    app: FastAPI, http: httpx.AsyncClient, settings: Settings
) -> None:
    app.state.settings = settings.model_copy(
        update={
            "verify": settings.verify.model_copy(update={"rate_limit_burst": 2, "rate_limit_per_minute": 1})
        }
    )
    answers = [
        (
            await http.post("/api/v1/verify", json={}, headers={"X-Forwarded-For": f"203.0.113.{i}"})
        ).status_code
        for i in range(3)
    ]
    assert answers[-1] == 429
    assert answers[:2] != [429, 429]
