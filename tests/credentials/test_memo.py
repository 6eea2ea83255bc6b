"""The verification memo (service.credentials.memo): it remembers only pure steps of the exact document
and key, so a tampered credential, a revoked one, an expired one and a key that changed or went away
are still caught with a warm memo, in both proof formats."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric import ed25519

from service.credentials import IssuerKey, Signer, build_did_document, generate_private_key, issue
from service.credentials.memo import VerificationMemo, json_digest
from service.credentials.remote import verify_with_fetcher
from tests.credentials.conftest import NOW, sample_credential
from tests.credentials.test_remote import DID, DOC_URL, LIST, Fetcher, credential, status_list


@pytest.fixture
def signer() -> Signer:
    key = generate_private_key("Ed25519")
    assert isinstance(key, ed25519.Ed25519PrivateKey)
    return Signer(f"{DID}#key-1", key)


def did_document(*keys: IssuerKey) -> dict[str, Any]:
    return build_did_document(DID, list(keys))


def published(signer: Signer, *revoked: int) -> Fetcher:
    return Fetcher(
        {
            DOC_URL: did_document(IssuerKey("key-1", signer.private_key.public_key())),
            LIST: status_list(signer, *revoked),
        }
    )


def forms(signer: Signer) -> list[Any]:
    """The same credential as a parsed JSON object (Data Integrity) and as a VC-JWT."""
    document = json.loads(json.dumps(credential(signer)))
    token = issue(sample_credential(DID, credential_status=None), signer, proof_format="vc-jwt")
    return [document, token]


def test_json_digest_is_the_exact_serialization() -> None:
    document = {"a": 1, "b": [1, 2]}
    assert json_digest(document) == json_digest(json.loads(json.dumps(document)))
    assert json_digest({"b": [1, 2], "a": 1}) != json_digest(document)  # key order counts
    assert json_digest({"a": 1, "b": [2, 1]}) != json_digest(document)
    assert json_digest({"a": 1.0, "b": [1, 2]}) != json_digest(document)  # 1.0 is not 1
    # What cannot be serialized faithfully gets no digest, so nothing about it is remembered.
    for unfaithful in (
        {"a": float("nan")},  # orjson would write null
        {"a": None},
        {"a": 2**70},
        {"a": "\ud800"},
        {"a": datetime(2025, 1, 1, tzinfo=UTC)},
    ):
        assert json_digest(unfaithful) is None, unfaithful


def test_memo_is_bounded_and_forgets_the_least_recently_used() -> None:
    memo = VerificationMemo(max_entries=2)
    memo.put("a", True)
    memo.put("b", True)
    assert memo.get("a") is True
    memo.put("c", True)
    assert memo.get("b") is None and memo.get("a") is True and len(memo) == 2
    off = VerificationMemo(max_entries=0)
    off.put("a", True)
    assert off.get("a") is None and len(off) == 0


async def test_a_warm_memo_skips_the_pure_steps(signer: Signer) -> None:
    fetch, memo = published(signer), VerificationMemo()
    for form in forms(signer):
        first = await verify_with_fetcher(form, fetch=fetch, now=NOW, memo=memo)
        assert first.verified, first.to_json()
        hits = memo.hits
        again = await verify_with_fetcher(form, fetch=fetch, now=NOW, memo=memo)
        assert again.verified and again.to_json() == first.to_json()
        assert memo.hits > hits  # schema, signature (and the status list's) came from the memo


async def test_a_tampered_credential_fails_with_a_warm_memo(signer: Signer) -> None:
    fetch, memo = published(signer), VerificationMemo()
    document, token = forms(signer)
    for form in (document, token):
        assert (await verify_with_fetcher(form, fetch=fetch, now=NOW, memo=memo)).verified
    tampered = json.loads(json.dumps(document))
    tampered["credentialSubject"]["achievement"]["name"] = "Something else"
    result = await verify_with_fetcher(tampered, fetch=fetch, now=NOW, memo=memo)
    assert "proof" in result.failed
    head, body, signature = token.split(".")
    forged = f"{head}.{body[:-4]}AAAA.{signature}"
    result = await verify_with_fetcher(forged, fetch=fetch, now=NOW, memo=memo)
    assert not result.verified and "proof" in result.failed


async def test_a_revoked_credential_fails_with_a_warm_memo(signer: Signer) -> None:
    memo = VerificationMemo()
    document = forms(signer)[0]
    assert (await verify_with_fetcher(document, fetch=published(signer), now=NOW, memo=memo)).verified
    revoked = await verify_with_fetcher(document, fetch=published(signer, 7), now=NOW, memo=memo)
    assert revoked.failed == ["status"], revoked.to_json()


async def test_an_expired_credential_fails_with_a_warm_memo(signer: Signer) -> None:
    memo, fetch = VerificationMemo(), published(signer)
    document = json.loads(json.dumps(credential(signer, valid_until=datetime(2030, 1, 1, tzinfo=UTC))))
    assert (await verify_with_fetcher(document, fetch=fetch, now=NOW, memo=memo)).verified
    later = datetime(2031, 1, 1, tzinfo=UTC)
    expired = await verify_with_fetcher(document, fetch=fetch, now=later, memo=memo)
    assert "validity" in expired.failed


async def test_a_key_that_changed_or_went_away_fails_with_a_warm_memo(signer: Signer) -> None:
    memo = VerificationMemo()
    status = status_list(signer)
    for form in forms(signer):
        assert (await verify_with_fetcher(form, fetch=published(signer), now=NOW, memo=memo)).verified
        # Another key published under the same method id: the memo is keyed by the key's bytes.
        other = generate_private_key("Ed25519").public_key()
        replaced = Fetcher({DOC_URL: did_document(IssuerKey("key-1", other)), LIST: status})  # type: ignore[arg-type]
        result = await verify_with_fetcher(form, fetch=replaced, now=NOW, memo=memo)
        assert "proof" in result.failed, result.to_json()
        # The key removed from the DID document (another one left): it cannot be resolved.
        removed = Fetcher({DOC_URL: did_document(IssuerKey("key-2", other)), LIST: status})  # type: ignore[arg-type]
        result = await verify_with_fetcher(form, fetch=removed, now=NOW, memo=memo)
        assert "proof" in result.failed and "could not resolve" in result.check("proof").message
        # The key revoked by its controller (listed, but no longer under assertionMethod).
        key = IssuerKey("key-1", signer.private_key.public_key(), revoked=True)
        revoked = Fetcher({DOC_URL: did_document(key), LIST: status})
        result = await verify_with_fetcher(form, fetch=revoked, now=NOW, memo=memo)
        assert "proof" in result.failed and "assertionMethod" in result.check("proof").message
        # And back: the original key verifies again (from the memo).
        assert (await verify_with_fetcher(form, fetch=published(signer), now=NOW, memo=memo)).verified
