"""verify_with_fetcher / verify_presentation_with_fetcher with an injected in-memory fetcher (the
library does no I/O; the HTTP path is tested end to end in tests/verification)."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric import ed25519

from service.credentials import (
    Bitstring,
    BitstringStatusListEntry,
    CredentialError,
    FetchError,
    IssuerKey,
    Signer,
    build_credential,
    build_did_document,
    build_status_list_credential,
    did_web,
    generate_private_key,
    issue,
    sign_data_integrity,
)
from service.credentials.remote import (
    MAX_PRESENTED_CREDENTIALS,
    verify_presentation_with_fetcher,
    verify_with_fetcher,
)
from tests.credentials.conftest import NOW, sample_credential

HOST = "issuer.example"
DID = did_web(f"https://{HOST}", "orgs", "acme")
LIST = f"https://{HOST}/status/1"


class Fetcher:
    def __init__(self, documents: dict[str, Any]) -> None:
        self.documents = documents
        self.asked: list[str] = []

    async def __call__(self, url: str) -> str:
        self.asked.append(url)
        if url not in self.documents:
            raise FetchError(f"{url} answered HTTP 404")
        value = self.documents[url]
        return value if isinstance(value, str) else json.dumps(value)


@pytest.fixture(scope="module")
def acme() -> tuple[Signer, dict[str, Any]]:
    key = generate_private_key("Ed25519")
    assert isinstance(key, ed25519.Ed25519PrivateKey)
    return Signer(f"{DID}#key-1", key), build_did_document(DID, [IssuerKey("key-1", key.public_key())])


def status_list(signer: Signer, *revoked: int) -> dict[str, Any]:
    bits = Bitstring()
    for index in revoked:
        bits.set(index)
    return sign_data_integrity(
        build_status_list_credential(
            credential_id=LIST, issuer=DID, bitstring=bits, valid_from=datetime(2025, 1, 1, tzinfo=UTC)
        ),
        signer,
    )


def credential(signer: Signer, **overrides: Any) -> Any:
    fields: dict[str, Any] = {"credential_status": BitstringStatusListEntry(LIST, 7)}
    fields.update(overrides)
    return issue(sample_credential(DID, **fields), signer)


DOC_URL = f"https://{HOST}/orgs/acme/did.json"


async def test_did_web_and_status_list(acme: tuple[Signer, dict[str, Any]]) -> None:
    signer, document = acme
    fetch = Fetcher({DOC_URL: document, LIST: status_list(signer)})
    result = await verify_with_fetcher(credential(signer), fetch=fetch, now=NOW)
    assert result.verified, result.to_json()
    # the DID document is fetched once although the credential and its status list both need it
    assert fetch.asked == [DOC_URL, LIST]

    fetch.documents[LIST] = status_list(signer, 7)
    revoked = await verify_with_fetcher(credential(signer), fetch=fetch, now=NOW)
    assert revoked.failed == ["status"]


async def test_vc_jwt_with_did_web(acme: tuple[Signer, dict[str, Any]]) -> None:
    signer, document = acme
    token = issue(sample_credential(DID, credential_status=None), signer, proof_format="vc-jwt")
    result = await verify_with_fetcher(token, fetch=Fetcher({DOC_URL: document}), now=NOW)
    assert result.verified and result.proof_format == "vc-jwt"


@pytest.mark.parametrize(
    ("documents", "check", "message"),
    [
        ({}, "proof", "answered HTTP 404"),
        ({DOC_URL: {"id": "did:web:other.example"}}, "proof", "is not the document of"),
        ({DOC_URL: "not json"}, "proof", "did not return JSON"),
        ("status-missing", "status", "answered HTTP 404"),
        ("status-other-signer", "status", "does not verify"),
    ],
)
async def test_failures_become_failed_checks(
    acme: tuple[Signer, dict[str, Any]], documents: Any, check: str, message: str
) -> None:
    signer, document = acme
    if documents == "status-missing":
        documents = {DOC_URL: document}
    elif documents == "status-other-signer":
        other = generate_private_key("Ed25519")
        documents = {DOC_URL: document, LIST: status_list(Signer(f"{DID}#key-9", other))}
    result = await verify_with_fetcher(credential(signer), fetch=Fetcher(documents), now=NOW)
    assert check in result.failed
    assert message in result.check(check).message


async def test_fetcher_bugs_and_budget(acme: tuple[Signer, dict[str, Any]]) -> None:
    signer, _ = acme

    async def broken(url: str) -> str:
        raise RuntimeError("boom")

    result = await verify_with_fetcher(credential(signer), fetch=broken, now=NOW)
    assert "could not be fetched: RuntimeError" in result.check("proof").message

    result = await verify_with_fetcher(credential(signer), fetch=Fetcher({}), now=NOW, max_fetches=0)
    assert "too many remote documents" in result.check("proof").message


async def test_unsupported_status_and_1edtech_list(acme: tuple[Signer, dict[str, Any]]) -> None:
    signer, document = acme
    unsigned = build_credential(sample_credential(DID, credential_status=None))
    unsigned["@context"].append("https://purl.imsglobal.org/spec/ob/v3p0/extensions.json")
    revocations = f"https://{HOST}/revocations"
    unsigned["credentialStatus"] = {"id": revocations, "type": "1EdTechRevocationList"}
    signed = sign_data_integrity(unsigned, signer)
    entries = [{"id": signed["id"], "revoked": False}, {"id": "urn:x:other"}]
    fetch = Fetcher({DOC_URL: document, revocations: {"revokedCredentials": entries}})
    assert (await verify_with_fetcher(signed, fetch=fetch, now=NOW)).verified
    fetch.documents[revocations] = {"revokedCredentials": [{"id": signed["id"]}]}
    assert (await verify_with_fetcher(signed, fetch=fetch, now=NOW)).failed == ["status"]
    fetch.documents[revocations] = {"revokedCredentials": "nope"}
    outcome = await verify_with_fetcher(signed, fetch=fetch, now=NOW)
    assert "not a revocation list" in outcome.check("status").message


async def test_unreadable_input_is_reported_not_raised() -> None:
    result = await verify_with_fetcher("garbage", fetch=Fetcher({}), now=NOW)
    assert not result.verified and result.failed == ["schema", "proof", "issuer", "validity", "status"]


async def test_presentation_limits(acme: tuple[Signer, dict[str, Any]]) -> None:
    vp = {
        "@context": ["https://www.w3.org/ns/credentials/v2"],
        "type": ["VerifiablePresentation"],
        "verifiableCredential": [{}] * (MAX_PRESENTED_CREDENTIALS + 1),
    }
    with pytest.raises(CredentialError, match="at most"):
        await verify_presentation_with_fetcher(vp, fetch=Fetcher({}))
    signer, document = acme
    vp["verifiableCredential"] = [credential(signer, credential_status=None)]
    result = await verify_presentation_with_fetcher(vp, fetch=Fetcher({DOC_URL: document}), now=NOW)
    assert result.verified and result.proof is None and len(result.credentials) == 1


def test_proof_memo_remembers_only_the_exact_document_and_key(acme: tuple[Signer, dict[str, Any]]) -> None:
    from service.credentials.did import document_resolver
    from service.credentials.verify import ProofMemo, verify_credential

    signer, document = acme
    memo = ProofMemo(max_entries=2)
    listed = status_list(signer)
    resolve = document_resolver({DID: document})
    assert verify_credential(listed, resolve_key=resolve, now=NOW, proof_memo=memo).verified
    assert len(memo) == 1
    assert verify_credential(listed, resolve_key=resolve, now=NOW, proof_memo=memo).verified
    assert len(memo) == 1  # the second time was a hit
    tampered = {**listed, "validFrom": "2024-01-01T00:00:00Z"}
    result = verify_credential(tampered, resolve_key=resolve, now=NOW, proof_memo=memo)
    assert result.failed == ["proof", "issuer"] and len(memo) == 1
    # another key for the same method id: not a hit, the signature is checked (and fails)
    other = generate_private_key("Ed25519")
    impostor = build_did_document(DID, [IssuerKey("key-1", other.public_key())])  # type: ignore[arg-type]
    result = verify_credential(
        listed, resolve_key=document_resolver({DID: impostor}), now=NOW, proof_memo=memo
    )
    assert "proof" in result.failed


async def test_multi_bit_status_entries_are_refused(acme: tuple[Signer, dict[str, Any]]) -> None:
    signer, document = acme
    unsigned = build_credential(sample_credential(DID, credential_status=None))
    unsigned["credentialStatus"] = {**BitstringStatusListEntry(LIST, 7).to_json(), "statusSize": 2}
    signed = sign_data_integrity(unsigned, signer)
    fetch = Fetcher({DOC_URL: document, LIST: status_list(signer)})
    result = await verify_with_fetcher(signed, fetch=fetch, now=NOW)
    assert result.failed == ["status"]
    assert "statusSize 2 is not supported" in result.check("status").message
