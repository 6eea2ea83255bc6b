"""W3C VC-API verify endpoints: the conformance fixtures, W3C-suite-style negative cases, presentations.

The 1EdTech fixtures name keys at unreachable hosts (example.edu, 1edtech.edu, ...): a test fetcher
maps those hosts onto the local document server, where controller documents are published (the key is
the one the fixture's method fragment names, as 1EdTech's validator reads it). Everything else runs
for real: guard, HTTP, cache, verifier.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest
from cryptography.hazmat.primitives.asymmetric import ed25519
from fastapi import FastAPI
from sqlmodel.ext.asyncio.session import AsyncSession

from service.config import Settings
from service.credentials import (
    Bitstring,
    Signer,
    build_status_list_credential,
    did_key_verification_method,
    generate_private_key,
    sign_data_integrity,
)
from service.credentials.data_integrity import canonical_inputs
from service.credentials.encoding import multibase_encode
from service.credentials.keys import ed25519_private_from_multibase
from service.verification.fetcher import RemoteFetcher
from service.verification.service import VerificationService
from tests.credentials.conftest import EXAMPLES, FIXTURES, TESTVECTORS, load
from tests.factories import make_tenant_ref
from tests.verification.conftest import RemoteIssuer, verify_settings
from tests.verification.docserver import DocServer

VC_V2 = "https://www.w3.org/ns/credentials/v2"


class MappedFetcher(RemoteFetcher):
    """Requests to the fixtures' hosts go to the local document server under /ext/<host>/..."""

    def __init__(self, settings: Settings, app: Any, server: DocServer) -> None:
        super().__init__(settings, app)
        self.server = server

    async def _remote(self, url: str) -> str:
        # The network fetch itself: a verification's deadline and the host caps still apply.
        parts = urlsplit(url)
        if parts.hostname and parts.hostname != "127.0.0.1" and parts.scheme == "https":
            url = f"{self.server.url}/ext/{parts.hostname}{parts.path}"
        return await super()._remote(url)


def publish_fixture_keys(server: DocServer, documents: list[Any]) -> None:
    controllers: dict[str, list[str]] = {}
    for document in documents:
        proofs = document.get("proof") if isinstance(document, dict) else None
        for proof in proofs if isinstance(proofs, list) else [proofs]:
            method = (proof or {}).get("verificationMethod")
            if isinstance(method, str) and method.startswith("https://") and "#z" in method:
                controllers.setdefault(method.split("#")[0], []).append(method)
            if isinstance(method, str) and method.startswith("did:web:") and "#z" in method:
                controllers.setdefault(method.split("#")[0], []).append(method)
    for controller, methods in controllers.items():
        methods = sorted(set(methods))
        document = {
            "id": controller,
            "verificationMethod": [
                {"id": m, "type": "Multikey", "controller": controller, "publicKeyMultibase": m.split("#")[1]}
                for m in methods
            ],
            "assertionMethod": methods,
        }
        if controller.startswith("did:web:"):
            segments = controller[len("did:web:") :].split(":")
            path = f"/ext/{segments[0]}/" + "/".join(segments[1:]) + "/did.json"
        else:
            parts = urlsplit(controller)
            path = f"/ext/{parts.hostname}{parts.path}"
        server.publish(path, document)


ALL_FIXTURES = sorted((FIXTURES / "ob30").glob("*.json")) + sorted((FIXTURES / "clr20").glob("*.json"))


@pytest.fixture
async def slug(session: AsyncSession, settings: Settings) -> str:
    tenant = await make_tenant_ref(session, settings)
    await session.commit()  # a request that fails rolls back what it did, not the test's district
    return tenant.slug


@pytest.fixture
def vc_http(
    app: FastAPI, http: httpx.AsyncClient, settings: Settings, doc_server: DocServer
) -> Iterator[httpx.AsyncClient]:
    configured = verify_settings(settings, doc_server)
    app.state.settings = configured
    app.state.verification_service = VerificationService(
        configured, MappedFetcher(configured, app, doc_server)
    )
    publish_fixture_keys(
        doc_server, [load(path) for path in ALL_FIXTURES] + [load(p) for p in VALID_EXAMPLES]
    )
    yield http


def credentials_url(slug: str) -> str:
    return f"/vc-api/issuers/{slug}/credentials/verify"


def presentations_url(slug: str) -> str:
    return f"/vc-api/issuers/{slug}/presentations/verify"


# --- conformance fixtures -----------------------------------------------------------------------------

VALID_EXAMPLES = [
    EXAMPLES / "ob3_testvector_signed_credential_eddsa-rdfc-2022.json",
    EXAMPLES / "clr2_testvector_signed_clrcredential_eddsa-rdfc-2022.json",
]
VALID_FIXTURES = [
    *VALID_EXAMPLES,
    FIXTURES / "ob30" / "simple.json",
    FIXTURES / "ob30" / "simple-did-web-method.json",
    FIXTURES / "ob30" / "simple-eddsa-2022.json",
    FIXTURES / "ob30" / "simple-multiple-proofs.json",
    FIXTURES / "ob30" / "simple-context-alias.json",
    FIXTURES / "ob30" / "simple-context-version.json",
    FIXTURES / "ob30" / "simple_v1.json",
    FIXTURES / "ob30" / "endorsement-valid.json",
    FIXTURES / "clr20" / "simple.json",
]


@pytest.mark.parametrize("path", VALID_FIXTURES, ids=[f"{p.parent.name}/{p.name}" for p in VALID_FIXTURES])
async def test_valid_fixtures_verify(vc_http: httpx.AsyncClient, slug: str, path: Path) -> None:
    response = await vc_http.post(
        credentials_url(slug), json={"verifiableCredential": load(path), "options": {}}
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["verified"] is True and body["errors"] == []
    assert body["checks"] == ["schema", "proof", "issuer", "validity", "status"]


# Every simple-err-* fixture is rejected; the rule named is the first failed check.
ERROR_FIXTURES = {
    "simple-err-context.json": (422, "@context"),
    "simple-err-credential-subject-identifier-type.json": (422, "schema"),
    "simple-err-evidence-type.json": (400, "proof"),
    "simple-err-expired.json": (400, "validity"),
    "simple-err-issued.json": (422, "schema"),
    "simple-err-issuer-type.json": (422, "schema"),
    "simple-err-proof-method.json": (400, "proof"),
    "simple-err-proof-value.json": (400, "proof"),
    "simple-err-type.json": (400, "proof"),  # an undefined type term: safe-mode JSON-LD refuses it
}


def test_every_error_fixture_is_listed() -> None:
    assert {p.name for p in (FIXTURES / "ob30").glob("simple-err-*.json")} == set(ERROR_FIXTURES)


@pytest.mark.parametrize("name", sorted(ERROR_FIXTURES))
async def test_error_fixtures_are_rejected(vc_http: httpx.AsyncClient, slug: str, name: str) -> None:
    status, rule = ERROR_FIXTURES[name]
    response = await vc_http.post(
        credentials_url(slug), json={"verifiableCredential": load(FIXTURES / "ob30" / name)}
    )
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    body = response.json()
    assert body["verified"] is False
    assert body["errors"][0]["rule"] == rule, body
    assert body["errors"][0]["detail"] and body["errors"][0]["type"].startswith("https://")


async def test_fixture_with_unreachable_revocation_list(
    vc_http: httpx.AsyncClient, slug: str, doc_server: DocServer
) -> None:
    """complete.json is well-formed and signed, but its 1EdTech revocation list cannot be fetched."""
    credential = load(FIXTURES / "ob30" / "complete.json")
    doc_server.documents.pop(ext_path(credential["credentialStatus"]["id"]), None)  # another test serves it
    response = await vc_http.post(
        credentials_url(slug), json={"verifiableCredential": load(FIXTURES / "ob30" / "complete.json")}
    )
    assert response.status_code == 400
    errors = response.json()["errors"]
    assert [e["rule"] for e in errors] == ["status"]
    assert errors[0]["type"].endswith("#STATUS_RETRIEVAL_ERROR")


# --- W3C suite style: a valid did:key credential, broken one rule at a time -----------------------------


def did_key_signer() -> tuple[Signer, ed25519.Ed25519PrivateKey]:
    key = generate_private_key("Ed25519")
    assert isinstance(key, ed25519.Ed25519PrivateKey)
    return Signer(did_key_verification_method(key.public_key()), key), key


def minimal_credential(issuer: str) -> dict[str, Any]:
    return {
        "@context": [VC_V2],
        "id": "urn:uuid:58172aac-d8ba-11ed-83dd-0b3aef56cc33",
        "type": ["VerifiableCredential"],
        "issuer": issuer,
        "validFrom": "2024-01-01T00:00:00Z",
        "credentialSubject": {"id": "did:example:subject", "name": "Alice"},
    }


def signed_minimal(mutate: Any = None, *, after: Any = None) -> dict[str, Any]:
    signer, key = did_key_signer()
    document = minimal_credential(signer.controller)
    if mutate is not None:
        mutate(document)
    proof = {
        "type": "DataIntegrityProof",
        "cryptosuite": "eddsa-rdfc-2022",
        "created": "2024-01-01T00:00:00Z",
        "verificationMethod": signer.verification_method,
        "proofPurpose": "assertionMethod",
    }
    try:
        proof["proofValue"] = multibase_encode(key.sign(canonical_inputs(document, proof).hash_data))
    except Exception:
        proof["proofValue"] = "z" + "1" * 86  # the document cannot be canonicalized; a proof shape is enough
    secured = {**document, "proof": proof}
    if after is not None:
        after(secured)
    return secured


def _set(path: str, value: Any) -> Any:
    def apply(document: dict[str, Any]) -> None:
        target = document
        keys = path.split(".")
        for key in keys[:-1]:
            target = target[key]
        if value is _DELETE:
            del target[keys[-1]]
        else:
            target[keys[-1]] = value

    return apply


_DELETE = object()

W3C_CASES: list[tuple[str, Any, Any, int, str]] = [
    ("no @context", _set("@context", _DELETE), None, 422, "@context"),
    ("first @context not VC v2", _set("@context", ["https://example.org/ctx", VC_V2]), None, 422, "@context"),
    ("no VerifiableCredential type", _set("type", ["Credential"]), None, 422, "type"),
    ("type not strings", _set("type", [1]), None, 422, "type"),
    ("validFrom date only", _set("validFrom", "2024-01-01"), None, 422, "validFrom"),
    ("validFrom without time zone", _set("validFrom", "2024-01-01T00:00:00"), None, 422, "validFrom"),
    ("validUntil not a date", _set("validUntil", "tomorrow"), None, 422, "validUntil"),
    ("no issuer", _set("issuer", _DELETE), None, 422, "issuer"),
    ("issuer not a URL", _set("issuer", "not a url"), None, 422, "issuer"),
    ("issuer object without id", _set("issuer", {"name": "x"}), None, 422, "issuer"),
    ("no credentialSubject", _set("credentialSubject", _DELETE), None, 422, "credentialSubject"),
    ("empty credentialSubject", _set("credentialSubject", {}), None, 422, "credentialSubject"),
    ("id not a URL", _set("id", "58172aac"), None, 422, "id"),
    (
        "credentialStatus without type",
        _set("credentialStatus", {"id": "https://x.example/1"}),
        None,
        422,
        "credentialStatus",
    ),
    (
        "credentialSchema without id",
        _set("credentialSchema", {"type": "JsonSchema"}),
        None,
        422,
        "credentialSchema",
    ),
    ("name not a language value", _set("name", {"en": "x"}), None, 422, "name"),
    ("proof without proofPurpose", None, _set("proof.proofPurpose", _DELETE), 422, "proof"),
    ("proof created not a dateTimeStamp", None, _set("proof.created", "yesterday"), 422, "proof"),
    ("proof with wrong cryptosuite", None, _set("proof.cryptosuite", "ecdsa-rdfc-2019"), 400, "proof"),
    ("proof of an unknown type", None, _set("proof.type", "RsaSignature2018"), 400, "proof"),
    ("proofValue not multibase", None, _set("proof.proofValue", "abc"), 400, "proof"),
    ("tampered subject", None, _set("credentialSubject.name", "Mallory"), 400, "proof"),
    ("tampered validFrom", None, _set("validFrom", "2023-01-01T00:00:00Z"), 400, "proof"),
    ("expired", _set("validUntil", "2024-06-01T00:00:00Z"), None, 400, "validity"),
    ("not yet valid", _set("validFrom", "2999-01-01T00:00:00Z"), None, 400, "validity"),
    ("ends before it starts", _set("validUntil", "2023-01-01T00:00:00Z"), None, 422, "validUntil"),
]


async def test_minimal_did_key_credential_verifies(vc_http: httpx.AsyncClient, slug: str) -> None:
    response = await vc_http.post(credentials_url(slug), json={"verifiableCredential": signed_minimal()})
    assert response.status_code == 200, response.text
    assert response.json()["verified"] is True


@pytest.mark.parametrize(
    ("name", "before", "after", "status", "rule"), W3C_CASES, ids=[case[0] for case in W3C_CASES]
)
async def test_w3c_style_negative_cases(
    vc_http: httpx.AsyncClient, slug: str, name: str, before: Any, after: Any, status: int, rule: str
) -> None:
    credential = signed_minimal(before, after=after)
    response = await vc_http.post(credentials_url(slug), json={"verifiableCredential": credential})
    assert response.status_code == status, response.text
    body = response.json()
    assert body["verified"] is False
    assert rule in {e["rule"] for e in body["errors"]}, body
    assert all(e["detail"] for e in body["errors"])
    # A problem document like every other error of the API (the OpenAPI Problem schema requires it).
    assert body["request_id"] == response.headers["x-request-id"]


async def test_revoked_remote_credential(
    vc_http: httpx.AsyncClient, slug: str, remote_issuer: RemoteIssuer
) -> None:
    remote_issuer.publish_status_list(94567)
    response = await vc_http.post(
        credentials_url(slug), json={"verifiableCredential": remote_issuer.credential()}
    )
    assert response.status_code == 400
    errors = response.json()["errors"]
    assert [e["rule"] for e in errors] == ["status"]
    assert errors[0]["type"].endswith("#STATUS_VERIFICATION_ERROR")
    assert "revoked" in errors[0]["detail"]


async def test_vc_jwt_string(vc_http: httpx.AsyncClient, slug: str, remote_issuer: RemoteIssuer) -> None:
    response = await vc_http.post(credentials_url(slug), json={"verifiableCredential": remote_issuer.jwt()})
    assert response.status_code == 200, response.text


@pytest.mark.parametrize(
    ("body", "status", "loc"),
    [
        ({"credential": {}}, 422, "body.verifiableCredential"),
        ([1, 2], 422, "body"),
        ({"verifiableCredential": {}, "options": "x"}, 422, "body.options"),
        ({"verifiableCredential": {}, "options": {"challenge": 5}}, 422, "body.options.challenge"),
        ({"verifiableCredential": 5}, 422, "body.verifiableCredential"),
    ],
)
async def test_malformed_requests(
    vc_http: httpx.AsyncClient, slug: str, body: Any, status: int, loc: str
) -> None:
    response = await vc_http.post(credentials_url(slug), json=body)
    assert response.status_code == status, response.text
    assert loc in [e["loc"] for e in response.json()["errors"]]


async def test_not_json_and_unknown_issuer(vc_http: httpx.AsyncClient, slug: str) -> None:
    response = await vc_http.post(
        credentials_url(slug), content=b"{oops", headers={"content-type": "application/json"}
    )
    assert response.status_code == 400 and response.json()["code"] == "malformed_json"
    response = await vc_http.post(
        credentials_url("no-such-district"), json={"verifiableCredential": signed_minimal()}
    )
    assert response.status_code == 404
    response = await vc_http.post(presentations_url("no-such-district"), json={"verifiablePresentation": {}})
    assert response.status_code == 404


# --- presentations --------------------------------------------------------------------------------------


def presentation(credentials: list[Any], holder: str | None) -> dict[str, Any]:
    document: dict[str, Any] = {
        "@context": [VC_V2],
        "type": ["VerifiablePresentation"],
        "verifiableCredential": credentials,
    }
    if holder is not None:
        document["holder"] = holder
    return document


def sign_presentation(
    document: dict[str, Any],
    signer: Signer,
    key: ed25519.Ed25519PrivateKey,
    *,
    challenge: str | None = None,
    domain: str | None = None,
    purpose: str = "authentication",
) -> dict[str, Any]:
    proof: dict[str, Any] = {
        "type": "DataIntegrityProof",
        "cryptosuite": "eddsa-rdfc-2022",
        "created": "2024-01-01T00:00:00Z",
        "verificationMethod": signer.verification_method,
        "proofPurpose": purpose,
    }
    if challenge is not None:
        proof["challenge"] = challenge
    if domain is not None:
        proof["domain"] = domain
    proof["proofValue"] = multibase_encode(key.sign(canonical_inputs(document, proof).hash_data))
    return {**document, "proof": proof}


@pytest.fixture
def holder() -> tuple[Signer, ed25519.Ed25519PrivateKey]:
    return did_key_signer()


async def test_signed_presentation_with_challenge(
    vc_http: httpx.AsyncClient, slug: str, remote_issuer: RemoteIssuer, holder: Any
) -> None:
    signer, key = holder
    vp = sign_presentation(
        presentation([remote_issuer.credential(), remote_issuer.jwt()], signer.controller),
        signer, key, challenge="c-123", domain="verifier.example",
    )  # fmt: skip
    response = await vc_http.post(
        presentations_url(slug),
        json={"verifiablePresentation": vp, "options": {"challenge": "c-123", "domain": "verifier.example"}},
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["checks"] == ["proof", "verifiableCredential[0]", "verifiableCredential[1]"]
    assert body["presentationResult"]["verified"] is True
    assert [r["verified"] for r in body["credentialResults"]] == [True, True]


PRESENTATION_CASES = [
    ("wrong challenge", {"challenge": "other"}, "proof"),
    ("wrong domain", {"domain": "evil.example"}, "proof"),
]


@pytest.mark.parametrize(
    ("name", "options", "rule"), PRESENTATION_CASES, ids=[c[0] for c in PRESENTATION_CASES]
)
async def test_presentation_options_must_match(
    vc_http: httpx.AsyncClient, slug: str, holder: Any, name: str, options: dict[str, str], rule: str
) -> None:
    signer, key = holder
    vp = sign_presentation(
        presentation([signed_minimal()], signer.controller),
        signer,
        key,
        challenge="c-1",
        domain="verifier.example",
    )
    response = await vc_http.post(
        presentations_url(slug), json={"verifiablePresentation": vp, "options": options}
    )
    assert response.status_code == 400, response.text
    assert response.json()["errors"][0]["rule"] == rule
    assert response.json()["errors"][0]["loc"] == "body.verifiablePresentation.proof"


async def test_presentation_failures(vc_http: httpx.AsyncClient, slug: str, holder: Any) -> None:
    signer, key = holder
    url = presentations_url(slug)

    # tampered after signing
    vp = sign_presentation(presentation([signed_minimal()], signer.controller), signer, key)
    vp["verifiableCredential"] = [signed_minimal()]
    response = await vc_http.post(url, json={"verifiablePresentation": vp})
    assert response.status_code == 400 and "does not match" in response.json()["errors"][0]["detail"]

    # signed for the wrong purpose
    vp = sign_presentation(presentation([], signer.controller), signer, key, purpose="assertionMethod")
    response = await vc_http.post(url, json={"verifiablePresentation": vp})
    assert response.status_code == 400 and "authentication" in response.json()["errors"][0]["detail"]

    # a holder whose key did not sign
    other, _ = did_key_signer()
    vp = sign_presentation(presentation([], other.controller), signer, key)
    response = await vc_http.post(url, json={"verifiablePresentation": vp})
    assert response.status_code == 400 and "not the holder" in response.json()["errors"][0]["detail"]

    # unsigned but a challenge is expected
    response = await vc_http.post(
        url, json={"verifiablePresentation": presentation([], None), "options": {"challenge": "x"}}
    )
    assert response.status_code == 400

    # a tampered embedded credential
    bad = signed_minimal(after=_set("credentialSubject.name", "Mallory"))
    response = await vc_http.post(url, json={"verifiablePresentation": presentation([bad], None)})
    assert response.status_code == 400
    assert response.json()["errors"][0]["loc"] == "body.verifiablePresentation.verifiableCredential[0]"


async def test_unsigned_presentation_verifies_with_a_warning(vc_http: httpx.AsyncClient, slug: str) -> None:
    response = await vc_http.post(
        presentations_url(slug), json={"verifiablePresentation": presentation([signed_minimal()], None)}
    )
    assert response.status_code == 200, response.text
    assert response.json()["warnings"][0]["title"] == "Unsigned presentation"


@pytest.mark.parametrize(
    ("mutate", "loc"),
    [
        (_set("type", ["Presentation"]), "body.verifiablePresentation.type"),
        (_set("@context", ["https://example.org/x"]), "body.verifiablePresentation.@context"),
        (_set("holder", "nobody"), "body.verifiablePresentation.holder"),
        (_set("verifiableCredential", [5]), "body.verifiablePresentation.verifiableCredential[0]"),
    ],
)
async def test_malformed_presentations(vc_http: httpx.AsyncClient, slug: str, mutate: Any, loc: str) -> None:
    vp = presentation([], None)
    mutate(vp)
    response = await vc_http.post(presentations_url(slug), json={"verifiablePresentation": vp})
    assert response.status_code == 422, response.text
    assert loc in [e["loc"] for e in response.json()["errors"]]


async def test_malformed_embedded_credential(vc_http: httpx.AsyncClient, slug: str) -> None:
    credential = signed_minimal(_set("issuer", _DELETE))
    response = await vc_http.post(
        presentations_url(slug), json={"verifiablePresentation": presentation([credential], None)}
    )
    assert response.status_code == 422
    assert response.json()["errors"][0]["loc"] == "body.verifiablePresentation.verifiableCredential[0].issuer"


# --- the fixtures' status lists, served locally --------------------------------------------------------


def ext_path(url: str) -> str:
    parts = urlsplit(url)
    return f"/ext/{parts.hostname}{parts.path}"


@pytest.mark.parametrize("revoked", [False, True])
async def test_vc_1_1_did_web_fixture_with_1edtech_revocation_list(
    vc_http: httpx.AsyncClient, slug: str, doc_server: DocServer, revoked: bool
) -> None:
    """credential-status-revoked.json: VC 1.1, Ed25519Signature2020, did:web issuer, 1EdTech list."""
    credential = load(FIXTURES / "ob30" / "credential-status-revoked.json")
    listed = [{"id": credential["id"], "revoked": True}] if revoked else []
    doc_server.publish(ext_path(credential["credentialStatus"]["id"]), {"revokedCredentials": listed})
    response = await vc_http.post(credentials_url(slug), json={"verifiableCredential": credential})
    assert response.status_code == (400 if revoked else 200), response.text
    if revoked:
        assert [e["rule"] for e in response.json()["errors"]] == ["status"]


@pytest.mark.parametrize("revoked", [False, True])
async def test_bitstring_fixture_with_a_list_signed_by_the_test_key(
    vc_http: httpx.AsyncClient, slug: str, doc_server: DocServer, revoked: bool
) -> None:
    """bit-string-list_credential-status-revoked.json names a status list we cannot reach; the list is
    rebuilt here with the public test key of its issuer, bit 23 set or not."""
    credential = load(FIXTURES / "ob30" / "bit-string-list_credential-status-revoked.json")
    entry = credential["credentialStatus"]
    bits = Bitstring()
    if revoked:
        bits.set(int(entry["statusListIndex"]))
    issuer_id = credential["issuer"] if isinstance(credential["issuer"], str) else credential["issuer"]["id"]
    vector_key = load(TESTVECTORS / "eddsa-rdfc-2022_testvector_key.json")
    private_key = ed25519_private_from_multibase(vector_key["secretKeyMultibase"])
    signer = Signer(f"{issuer_id}#{vector_key['publicKeyMultibase']}", private_key)
    status_list = sign_data_integrity(
        build_status_list_credential(
            credential_id=entry["statusListCredential"],
            issuer=issuer_id,
            bitstring=bits,
            valid_from=datetime(2024, 1, 1, tzinfo=UTC),
        ),
        signer,
    )
    doc_server.publish(ext_path(entry["statusListCredential"]), status_list)
    response = await vc_http.post(credentials_url(slug), json={"verifiableCredential": credential})
    assert response.status_code == (400 if revoked else 200), response.text
    if revoked:
        assert "revoked (status list index 23)" in response.json()["errors"][0]["detail"]


async def test_complete_fixture_with_its_revocation_list(
    vc_http: httpx.AsyncClient, slug: str, doc_server: DocServer
) -> None:
    credential = load(FIXTURES / "ob30" / "complete.json")
    doc_server.publish(ext_path(credential["credentialStatus"]["id"]), {"revokedCredentials": []})
    response = await vc_http.post(credentials_url(slug), json={"verifiableCredential": credential})
    assert response.status_code == 200, response.text


async def test_deep_bodies_are_refused(vc_http: httpx.AsyncClient, slug: str) -> None:
    deep: Any = {"leaf": 1}
    for _ in range(900):
        deep = {"x": deep}
    # The one JSON reader of every body (service.jsonio): 400 naming the bound, as on every route.
    response = await vc_http.post(credentials_url(slug), json={"verifiableCredential": deep})
    assert response.status_code == 400 and response.json()["code"] == "json_too_deep"
    assert response.json()["errors"][0]["loc"] == "body"
    response = await vc_http.post(presentations_url(slug), json={"verifiablePresentation": deep})
    assert response.status_code == 400
    response = await vc_http.post(
        credentials_url(slug),
        content=b"[" * 50_000 + b"]" * 50_000,
        headers={"content-type": "application/json"},
    )
    assert response.status_code == 400 and response.json()["code"] == "json_too_deep"


async def test_enveloped_vc_jwt(vc_http: httpx.AsyncClient, slug: str, remote_issuer: RemoteIssuer) -> None:
    """VC-JOSE-COSE: an EnvelopedVerifiableCredential holding a VC-JWT is verified like the JWT."""
    envelope = {
        "@context": [VC_V2],
        "id": f"data:application/vc+jwt,{remote_issuer.jwt()}",
        "type": "EnvelopedVerifiableCredential",
    }
    response = await vc_http.post(credentials_url(slug), json={"verifiableCredential": envelope})
    assert response.status_code == 200, response.text
    assert response.json()["verified"] is True
    broken = {**envelope, "id": "data:application/vc+jwt,not-a-jws"}
    response = await vc_http.post(credentials_url(slug), json={"verifiableCredential": broken})
    assert response.status_code == 422, response.text
    assert "compact JWS" in response.text


async def test_plain_vc_is_verified_by_vc_api_but_not_a_verified_badge(
    vc_http: httpx.AsyncClient, slug: str
) -> None:
    """One credential that is neither an Open Badge nor a CLR: the W3C VC-API verifier says verified
    (as W3C verifiers do); the Open Badges verifier reports the schema check as not applicable and
    does not call it verified (as the 1EdTech validator's type probe does)."""
    credential = signed_minimal()
    response = await vc_http.post(credentials_url(slug), json={"verifiableCredential": credential})
    assert response.status_code == 200 and response.json()["verified"] is True
    response = await vc_http.post("/api/v1/verify", json=credential)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["verified"] is False
    schema = next(item for item in body["checks"] if item["check"] == "schema")
    assert schema["applicable"] is False and schema["ok"] is True
    assert all(item["ok"] for item in body["checks"])
    page = await vc_http.post("/verify", files={"credential": (None, json.dumps(credential))})
    assert page.status_code == 200
    assert "Not valid as an Open Badge" in page.text and "not applicable" in page.text
