"""Fixtures for verification: a real document server on 127.0.0.1, a did:web issuer published on it,
and the app configured to fetch from it (outbound guard allows 127.0.0.1 only for these tests)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from cryptography.hazmat.primitives.asymmetric import ed25519
from fastapi import FastAPI

from service.config import OutboundSettings, Settings, VerifySettings
from service.credentials import (
    Bitstring,
    BitstringStatusListEntry,
    IssuerKey,
    Signer,
    build_did_document,
    build_status_list_credential,
    did_web,
    generate_private_key,
    issue,
    sign_data_integrity,
)
from tests.credentials.conftest import sample_credential
from tests.verification.docserver import DocServer, running_doc_server


@pytest.fixture(scope="session")
def doc_server() -> Iterator[DocServer]:
    with running_doc_server() as server:
        yield server


@pytest.fixture(autouse=True)
def _documents_per_test(doc_server: DocServer) -> Iterator[None]:
    """What a test publishes is gone after it: the server is shared by the session, and a document
    left behind (a revocation list at a fixture's URL) would change another test's outcome."""
    saved = dict(doc_server.documents)
    yield
    doc_server.documents.clear()
    doc_server.documents.update(saved)


@dataclass
class RemoteIssuer:
    """An issuer of another organisation: did:web on the document server, its status list there."""

    server: DocServer
    slug: str
    did: str
    key: ed25519.Ed25519PrivateKey
    document: dict[str, Any]

    @property
    def signer(self) -> Signer:
        return Signer(f"{self.did}#key-1", self.key)

    @property
    def list_url(self) -> str:
        return f"{self.server.url}/status/{self.slug}/1"

    def publish_status_list(self, *revoked: int, valid_until: datetime | None = None) -> dict[str, Any]:
        bits = Bitstring()
        for index in revoked:
            bits.set(index)
        signed = sign_data_integrity(
            build_status_list_credential(
                credential_id=self.list_url,
                issuer=self.did,
                bitstring=bits,
                valid_from=datetime(2025, 1, 1, tzinfo=UTC),
                valid_until=valid_until,
            ),
            self.signer,
        )
        self.server.publish(f"/status/{self.slug}/1", signed)
        return signed

    def credential(self, index: int = 94567, **overrides: Any) -> dict[str, Any]:
        fields: dict[str, Any] = {"credential_status": BitstringStatusListEntry(self.list_url, index)}
        fields.update(overrides)
        signed = issue(sample_credential(self.did, **fields), self.signer)
        assert isinstance(signed, dict)
        return signed

    def jwt(self, **overrides: Any) -> str:
        fields: dict[str, Any] = {"credential_status": BitstringStatusListEntry(self.list_url, 94567)}
        fields.update(overrides)
        token = issue(sample_credential(self.did, **fields), self.signer, proof_format="vc-jwt")
        assert isinstance(token, str)
        return token


def make_remote_issuer(server: DocServer, slug: str) -> RemoteIssuer:
    did = did_web(server.url, "issuers", slug)
    key = generate_private_key("Ed25519")
    assert isinstance(key, ed25519.Ed25519PrivateKey)
    document = build_did_document(did, [IssuerKey("key-1", key.public_key())])
    server.publish(f"/issuers/{slug}/did.json", document)
    issuer = RemoteIssuer(server, slug, did, key, document)
    issuer.publish_status_list()
    return issuer


@pytest.fixture
def remote_issuer(doc_server: DocServer, request: pytest.FixtureRequest) -> RemoteIssuer:
    slug = "r" + str(abs(hash(request.node.nodeid)) % 10**10)
    return make_remote_issuer(doc_server, slug)


def verify_settings(settings: Settings, server: DocServer, **verify: Any) -> Settings:
    options: dict[str, Any] = {
        "rate_limit_per_minute": 6000,
        "rate_limit_burst": 1000,
        "did_web_http_hosts": [server.host],
        "fetch_timeout_seconds": 2.0,
    }
    options.update(verify)
    return settings.model_copy(
        update={
            "verify": VerifySettings(**options),
            "outbound": OutboundSettings(allowed_hosts=["127.0.0.1"], timeout_seconds=2.0),
        }
    )


@pytest.fixture
def vhttp(
    app: FastAPI, http: httpx.AsyncClient, settings: Settings, doc_server: DocServer
) -> httpx.AsyncClient:
    """The test client, with the app told to fetch from the document server (and a generous limit)."""
    app.state.settings = verify_settings(settings, doc_server)
    return http
