"""POST /api/v1/verify: every input form, other issuers' keys and status lists through the guard."""

from __future__ import annotations

import json
import struct
import zlib
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from service.config import Settings
from service.credentials import (
    Bitstring,
    IssuerKey,
    build_credential,
    build_did_document,
    did_key_verification_method,
    generate_private_key,
    issue,
    public_key_multibase,
    sign_data_integrity,
)
from service.credentials.baking import PNG_SIGNATURE, bake_png, bake_svg
from service.credentials.builder import Signer
from service.credentials.contexts import OB_V3P0_EXTENSIONS
from service.credentials.data_integrity import canonical_inputs
from service.credentials.encoding import b64url_decode, b64url_encode, multibase_encode
from tests.credentials.conftest import sample_credential
from tests.verification.conftest import RemoteIssuer, make_remote_issuer, verify_settings
from tests.verification.docserver import DocServer

CHECKS = ["schema", "proof", "issuer", "validity", "status"]


def png() -> bytes:
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    return (
        PNG_SIGNATURE
        + chunk(b"IHDR", struct.pack(">IIBBBBB", 1, 1, 8, 0, 0, 0, 0))
        + chunk(b"IDAT", zlib.compress(b"\0\0"))
        + chunk(b"IEND", b"")
    )


SVG = '<svg xmlns="http://www.w3.org/2000/svg" width="4" height="4"><rect width="4" height="4"/></svg>'


def checks(body: dict[str, Any]) -> dict[str, bool]:
    return {item["check"]: item["ok"] for item in body["checks"]}


async def test_remote_did_web_credential_verifies(
    vhttp: httpx.AsyncClient, remote_issuer: RemoteIssuer
) -> None:
    response = await vhttp.post("/api/v1/verify", json=remote_issuer.credential())
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["verified"] is True, body
    assert [c["check"] for c in body["checks"]] == CHECKS
    assert body["source"] == "json" and body["proof_format"] == "data-integrity"
    assert body["credential"]["issuer"]["id"] == remote_issuer.did
    status = next(c for c in body["checks"] if c["check"] == "status")
    assert status["message"] == "not revoked (status list index 94567)"


@pytest.mark.parametrize(
    ("media", "kind"),
    [
        ("application/vc+ld+json", "json"),
        ("application/json", "json"),
        ("text/plain", "jws"),
        ("image/png", "png"),
        ("image/svg+xml", "svg"),
    ],
)
async def test_every_input_form(
    vhttp: httpx.AsyncClient, remote_issuer: RemoteIssuer, media: str, kind: str
) -> None:
    credential: Any = remote_issuer.jwt() if kind == "jws" else remote_issuer.credential()
    content: bytes
    if media == "image/png":
        content = bake_png(png(), credential)
    elif media == "image/svg+xml":
        content = bake_svg(SVG, credential).encode()
    elif kind == "jws":
        content = credential.encode()
    else:
        content = json.dumps(credential).encode()
    response = await vhttp.post("/api/v1/verify", content=content, headers={"content-type": media})
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["verified"] is True, body
    assert body["source"] == kind


@pytest.mark.parametrize("baked", ["png", "svg", "jws-svg", "json-text"])
async def test_multipart_upload(vhttp: httpx.AsyncClient, remote_issuer: RemoteIssuer, baked: str) -> None:
    if baked == "png":
        files = {"file": ("badge.png", bake_png(png(), remote_issuer.credential()), "image/png")}
    elif baked == "svg":
        files = {"file": ("badge.svg", bake_svg(SVG, remote_issuer.credential()).encode(), "image/svg+xml")}
    elif baked == "jws-svg":
        files = {
            "file": ("badge.svg", bake_svg(SVG, remote_issuer.jwt()).encode(), "application/octet-stream")
        }
    else:
        files = {"file": ("badge.json", json.dumps(remote_issuer.credential()).encode(), "application/json")}
    response = await vhttp.post("/api/v1/verify", files=files)
    assert response.status_code == 200, response.text
    assert response.json()["verified"] is True


async def test_multipart_pasted_text(vhttp: httpx.AsyncClient, remote_issuer: RemoteIssuer) -> None:
    response = await vhttp.post("/api/v1/verify", files={"credential": (None, remote_issuer.jwt())})
    assert response.status_code == 200, response.text
    assert response.json()["source"] == "jws" and response.json()["verified"] is True


async def test_revoked_by_remote_status_list(vhttp: httpx.AsyncClient, remote_issuer: RemoteIssuer) -> None:
    remote_issuer.publish_status_list(94567)
    body = (await vhttp.post("/api/v1/verify", json=remote_issuer.credential())).json()
    assert body["verified"] is False
    assert checks(body) == {"schema": True, "proof": True, "issuer": True, "validity": True, "status": False}
    assert "revoked (status list index 94567)" in json.dumps(body["checks"])


async def test_status_list_is_cached_briefly(
    app: FastAPI, http: httpx.AsyncClient, settings: Settings, doc_server: DocServer
) -> None:
    issuer = make_remote_issuer(doc_server, "cached")
    app.state.settings = verify_settings(settings, doc_server, cache_ttl_seconds=300)
    credential = issuer.credential()
    before = doc_server.count("/status/cached/1")
    for _ in range(3):
        assert (await http.post("/api/v1/verify", json=credential)).json()["verified"] is True
    assert doc_server.count("/status/cached/1") - before == 1
    assert doc_server.count("/issuers/cached/did.json") >= 1


async def test_tampered_remote_status_list_fails_status(
    vhttp: httpx.AsyncClient, remote_issuer: RemoteIssuer, doc_server: DocServer
) -> None:
    signed = remote_issuer.publish_status_list()
    bits = Bitstring()
    bits.set(7)
    signed["credentialSubject"]["encodedList"] = bits.encode()  # changed after signing
    doc_server.publish(f"/status/{remote_issuer.slug}/1", signed)
    body = (await vhttp.post("/api/v1/verify", json=remote_issuer.credential())).json()
    assert checks(body)["status"] is False and checks(body)["proof"] is True
    message = next(c["message"] for c in body["checks"] if c["check"] == "status")
    assert "does not verify" in message


async def test_tampered_credential_fails_proof(vhttp: httpx.AsyncClient, remote_issuer: RemoteIssuer) -> None:
    credential = remote_issuer.credential()
    credential["name"] = "Leadership"
    body = (await vhttp.post("/api/v1/verify", json=credential)).json()
    assert body["verified"] is False and checks(body)["proof"] is False


async def test_tampered_jws_fails_proof(vhttp: httpx.AsyncClient, remote_issuer: RemoteIssuer) -> None:
    head, payload, signature = remote_issuer.jwt().split(".")
    claims = json.loads(b64url_decode(payload))
    claims["name"] = "Leadership"
    token = ".".join([head, b64url_encode(json.dumps(claims).encode()), signature])
    response = await vhttp.post("/api/v1/verify", content=token, headers={"content-type": "text/plain"})
    body = response.json()
    assert body["verified"] is False and checks(body)["proof"] is False


async def test_unknown_did_web_host_is_refused_by_the_guard(vhttp: httpx.AsyncClient) -> None:
    # Not in the allowed hosts: 10.0.0.1 is private; did:web resolution must not even try.
    key = generate_private_key("Ed25519")
    did = "did:web:10.0.0.1:issuers:x"
    signed = issue(sample_credential(did, credential_status=None), Signer(f"{did}#key-1", key))
    body = (await vhttp.post("/api/v1/verify", json=signed)).json()
    message = next(c["message"] for c in body["checks"] if c["check"] == "proof")
    assert body["verified"] is False
    assert "may not be fetched" in message and "private" in message


async def test_missing_did_document_is_reported(vhttp: httpx.AsyncClient, doc_server: DocServer) -> None:
    issuer = make_remote_issuer(doc_server, "gone")
    credential = issuer.credential()
    doc_server.publish("/issuers/gone/did.json", b"nope", status=404, media="text/plain")
    body = (await vhttp.post("/api/v1/verify", json=credential)).json()
    message = next(c["message"] for c in body["checks"] if c["check"] == "proof")
    assert "answered HTTP 404" in message


async def test_oversized_remote_document_is_refused(
    app: FastAPI, http: httpx.AsyncClient, settings: Settings, doc_server: DocServer
) -> None:
    issuer = make_remote_issuer(doc_server, "huge")
    app.state.settings = verify_settings(settings, doc_server, max_document_bytes=2048)
    document = dict(issuer.document, padding="x" * 4096)
    doc_server.publish("/issuers/huge/did.json", document)
    body = (await http.post("/api/v1/verify", json=issuer.credential())).json()
    message = next(c["message"] for c in body["checks"] if c["check"] == "proof")
    assert "larger than 2048 bytes" in message


async def test_did_key_issuer_needs_no_fetch(vhttp: httpx.AsyncClient, doc_server: DocServer) -> None:
    key = generate_private_key("Ed25519")
    method = did_key_verification_method(key.public_key())  # type: ignore[arg-type]
    did = method.split("#")[0]
    signed = issue(sample_credential(did, credential_status=None), Signer(method, key))
    before = len(doc_server.hits)
    body = (await vhttp.post("/api/v1/verify", json=signed)).json()
    assert body["verified"] is True, body
    assert len(doc_server.hits) == before


async def test_verification_method_url_key_document(vhttp: httpx.AsyncClient, doc_server: DocServer) -> None:
    """An https-style issuer: the method URL's document is a controller document listing the key."""
    key = generate_private_key("Ed25519")
    controller = f"{doc_server.url}/orgs/acme"
    document = build_did_document(controller, [IssuerKey("key-1", key.public_key())])
    doc_server.publish("/orgs/acme", document)
    signed = issue(sample_credential(controller, credential_status=None), Signer(f"{controller}#key-1", key))
    body = (await vhttp.post("/api/v1/verify", json=signed)).json()
    assert body["verified"] is True, body


def sign_raw(document: dict[str, Any], key: Any, method: str) -> dict[str, Any]:
    """An eddsa-rdfc-2022 proof naming ``method`` verbatim (create_proof insists on a fragment)."""
    proof = {
        "type": "DataIntegrityProof",
        "cryptosuite": "eddsa-rdfc-2022",
        "created": "2025-01-15T12:30:00Z",
        "verificationMethod": method,
        "proofPurpose": "assertionMethod",
    }
    proof["proofValue"] = multibase_encode(key.sign(canonical_inputs(document, proof).hash_data))
    return {**document, "proof": [proof]}


def key_document(key: Any, method: str, controller: str) -> dict[str, Any]:
    return {
        "id": method,
        "type": "Multikey",
        "controller": controller,
        "publicKeyMultibase": public_key_multibase(key.public_key()),
    }


async def test_verification_method_url_naming_the_key_itself(
    vhttp: httpx.AsyncClient, doc_server: DocServer
) -> None:
    key = generate_private_key("Ed25519")
    controller = f"{doc_server.url}/orgs/beta"
    method = f"{doc_server.url}/keys/beta-1"
    doc_server.publish(
        "/keys/beta-1",
        key_document(key, method, controller),
    )
    doc_server.publish("/orgs/beta", {"id": controller, "assertionMethod": [method]})
    unsigned = build_credential(sample_credential(controller, credential_status=None))
    body = (await vhttp.post("/api/v1/verify", json=sign_raw(unsigned, key, method))).json()
    assert body["verified"] is True, body

    # A key its controller lists only for authentication may not sign credentials.
    other = f"{doc_server.url}/keys/beta-2"
    doc_server.publish("/keys/beta-2", {**key_document(key, other, controller + "-auth")})
    doc_server.publish("/orgs/beta-auth", {"id": controller + "-auth", "authentication": [other]})
    unsigned = build_credential(sample_credential(controller + "-auth", credential_status=None))
    body = (await vhttp.post("/api/v1/verify", json=sign_raw(unsigned, key, other))).json()
    assert body["verified"] is False
    assert "not authorized for assertionMethod" in json.dumps(body["checks"])


def revocable(issuer: RemoteIssuer, list_url: str) -> dict[str, Any]:
    unsigned = build_credential(sample_credential(issuer.did, credential_status=None))
    unsigned["@context"] = [*unsigned["@context"], OB_V3P0_EXTENSIONS]
    unsigned["credentialStatus"] = {"id": list_url, "type": "1EdTechRevocationList"}
    return sign_data_integrity(unsigned, issuer.signer)


async def test_1edtech_revocation_list(
    vhttp: httpx.AsyncClient, remote_issuer: RemoteIssuer, doc_server: DocServer
) -> None:
    path = f"/revocations/{remote_issuer.slug}"
    credential = revocable(remote_issuer, doc_server.url + path)
    doc_server.publish(path, {"revokedCredentials": [{"id": "urn:uuid:someone-else", "revoked": True}]})
    body = (await vhttp.post("/api/v1/verify", json=credential)).json()
    assert body["verified"] is True, body

    path2 = path + "-2"
    credential = revocable(remote_issuer, doc_server.url + path2)
    doc_server.publish(path2, {"revokedCredentials": [{"id": credential["id"], "revocationReason": "error"}]})
    body = (await vhttp.post("/api/v1/verify", json=credential)).json()
    assert body["verified"] is False
    assert checks(body)["status"] is False and checks(body)["proof"] is True


# --- malformed input ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("media", "content", "status", "code"),
    [
        ("application/json", b"{not json", 400, "unreadable_credential"),
        ("application/json", b"", 400, "unreadable_credential"),
        ("application/json", b"[1, 2]", 422, "no_credential"),
        ("application/json", b"42", 422, "no_credential"),
        ("text/plain", b"hello world", 400, "unreadable_credential"),
        ("text/plain", b"\xff\xfe", 400, "unreadable_credential"),
        ("image/png", b"GIF89a", 400, "unreadable_credential"),
        ("image/png", png(), 422, "no_credential"),
        ("image/svg+xml", SVG.encode(), 422, "no_credential"),
        ("image/svg+xml", b"<!DOCTYPE x [<!ENTITY a 'b'>]><svg/>", 400, "unreadable_credential"),
        ("application/xml", b"<x/>", 415, "unsupported_media_type"),
    ],
)
async def test_malformed_bodies(
    vhttp: httpx.AsyncClient, media: str, content: bytes, status: int, code: str
) -> None:
    response = await vhttp.post("/api/v1/verify", content=content, headers={"content-type": media})
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    assert response.json()["code"] == code


async def test_multipart_without_credential(vhttp: httpx.AsyncClient) -> None:
    response = await vhttp.post("/api/v1/verify", files={"other": (None, "x")})
    assert response.status_code == 422
    assert response.json()["errors"][0]["loc"] == "body.file"


async def test_body_limit(
    app: FastAPI, http: httpx.AsyncClient, settings: Settings, doc_server: DocServer
) -> None:
    app.state.settings = verify_settings(settings, doc_server, max_body_bytes=4096)
    response = await http.post("/api/v1/verify", content=b"x" * 5000, headers={"content-type": "text/plain"})
    assert response.status_code == 413
    assert response.json()["code"] == "payload_too_large"


async def test_garbage_json_credential_is_a_failed_verification(vhttp: httpx.AsyncClient) -> None:
    response = await vhttp.post("/api/v1/verify", json={"hello": "world"})
    assert response.status_code == 200
    body = response.json()
    assert body["verified"] is False and checks(body)["schema"] is False


async def test_rate_limit(
    app: FastAPI, http: httpx.AsyncClient, settings: Settings, doc_server: DocServer
) -> None:
    app.state.settings = verify_settings(settings, doc_server, rate_limit_per_minute=1, rate_limit_burst=2)
    statuses = [(await http.post("/api/v1/verify", json={"x": 1})).status_code for _ in range(2)]
    assert statuses == [200, 200]
    refused = await http.post("/api/v1/verify", json={"x": 1})
    assert refused.status_code == 429
    assert refused.headers["retry-after"] == "60"
    assert refused.json()["code"] == "too_many_requests"
    page = await http.post("/verify", files={"credential": (None, "{}")})
    assert page.status_code == 429


def nested(depth: int) -> dict[str, Any]:
    value: dict[str, Any] = {"leaf": True}
    for _ in range(depth):
        value = {"x": value}
    return value


async def test_deeply_nested_input_is_a_4xx_not_a_crash(vhttp: httpx.AsyncClient) -> None:
    response = await vhttp.post(
        "/api/v1/verify", content=b"[" * 50_000 + b"]" * 50_000, headers={"content-type": "application/json"}
    )
    assert response.status_code == 400 and response.json()["code"] == "unreadable_credential"
    credential = {
        "@context": ["https://www.w3.org/ns/credentials/v2"],
        "type": ["VerifiableCredential"],
        "issuer": "did:example:x",
        "credentialSubject": nested(900),
    }
    response = await vhttp.post("/api/v1/verify", json=credential)
    assert response.status_code == 422 and "deeper than 64 levels" in response.json()["detail"]
    page = await vhttp.post("/verify", files={"credential": (None, json.dumps(credential))})
    assert page.status_code == 422 and "deeper than 64 levels" in page.text
    # the same inside a JWS: read by the library, reported as a failed verification
    payload = b64url_encode(json.dumps(credential).encode())
    token = f"eyJhbGciOiJFZERTQSJ9.{payload}.c2ln"
    body = (await vhttp.post("/api/v1/verify", content=token, headers={"content-type": "text/plain"})).json()
    assert body["verified"] is False and "deeper than 64 levels" in body["checks"][1]["message"]
