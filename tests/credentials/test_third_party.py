"""Other issuers' credentials judged as the reference verifiers judge them (issue #13, part 7).

Every credential here is signed in the test with a freshly generated key; no verdict is hard-coded
except the one the rule under test implies.
"""

from __future__ import annotations

import base64
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import ec, ed25519

from service.credentials import add_proof, build_credential, document_resolver, verify_credential
from service.credentials.contexts import EXAMPLES_V2, OB_V3P0, VC_V2
from service.credentials.did import did_key, did_key_verification_method, resolve_did_key
from service.credentials.vc_jwt import encode_vc_jwt
from tests.credentials.conftest import NOW, Issuer, sample_credential

RESOLVE = document_resolver({})  # did:key only, offline
EXAMPLES_VOCAB = "https://www.w3.org/ns/credentials/examples#"


def _p256() -> tuple[ec.EllipticCurvePrivateKey, str, str]:
    key = ec.generate_private_key(ec.SECP256R1())
    return key, did_key(key.public_key()), did_key_verification_method(key.public_key())


def _ed25519() -> tuple[ed25519.Ed25519PrivateKey, str, str]:
    key = ed25519.Ed25519PrivateKey.generate()
    return key, did_key(key.public_key()), did_key_verification_method(key.public_key())


def _badge(issuer_did: str) -> dict[str, Any]:
    document = build_credential(sample_credential(issuer_did))
    document.pop("credentialStatus", None)  # no status list to reach offline
    return document


def _plain_vc(issuer_did: str, context: list[Any], **subject: Any) -> dict[str, Any]:
    return {
        "@context": context,
        "id": "urn:uuid:0b5e7c2c-4b0e-4d8e-9d0a-1c2b3d4e5f60",
        "type": ["VerifiableCredential", "ExampleDegreeCredential"],
        "issuer": issuer_did,
        "validFrom": "2025-01-01T00:00:00Z",
        "credentialSubject": {"id": "did:example:ebfeb1f712ebc6f1c276e12ec21", **subject},
    }


def test_p256_did_key_resolves_as_a_multikey() -> None:
    _, did, method = _p256()
    assert did.startswith("did:key:zDn")
    document = resolve_did_key(did)
    assert document["assertionMethod"] == [method]
    assert RESOLVE(method).public_key is not None


def test_es256_vc_jwt_from_a_p256_did_key_verifies() -> None:
    key, did, method = _p256()
    token = encode_vc_jwt(_badge(did), key, method)
    assert jwt.get_unverified_header(token)["alg"] == "ES256"
    result = verify_credential(token, resolve_key=RESOLVE, now=NOW)
    assert result.verified and result.badge_verified, result.to_json()
    assert "ES256" in result.check("proof").message
    # a different P-256 key under the same kid fails
    other, _, _ = _p256()
    forged = encode_vc_jwt(_badge(did), other, method)
    assert "proof" in verify_credential(forged, resolve_key=RESOLVE, now=NOW).failed


def test_a_credential_neither_open_badge_nor_clr_is_not_a_verified_badge() -> None:
    key, did, method = _ed25519()
    document = add_proof(_plain_vc(did, [VC_V2, EXAMPLES_V2], name="Bachelor of Science"), key, method)
    result = verify_credential(document, resolve_key=RESOLVE, now=NOW)
    schema = result.check("schema")
    assert schema.applicable is False and schema.message.startswith("not applicable")
    assert schema.to_json()["applicable"] is False
    # The W3C verdict (proof, issuer, dates, status) holds; the Open Badges verdict does not.
    assert result.verified is True
    assert result.recognized is False and result.badge_verified is False
    # An Open Badge is recognized, and its schema check applies.
    badge = add_proof(_badge(did), key, method)
    badge_result = verify_credential(badge, resolve_key=RESOLVE, now=NOW)
    assert badge_result.badge_verified and badge_result.check("schema").applicable


@pytest.mark.parametrize("proof_format", ["data-integrity", "vc-jwt"])
def test_undefined_terms_fail_alike_in_both_formats(proof_format: str) -> None:
    """VC-JWT payloads go through the same JSON-LD safe mode as Data Integrity documents."""
    key, did, method = _ed25519()
    credential = _badge(did)
    credential["credentialSubject"]["favouriteColour"] = "blue"  # defined by no context
    if proof_format == "vc-jwt":
        signed: Any = encode_vc_jwt(credential, key, method)
    else:
        # sign the canonical form without the undefined term, then add it: the proof check must
        # still refuse it through safe mode, not through a signature mismatch alone
        clean = {**credential, "credentialSubject": dict(credential["credentialSubject"])}
        del clean["credentialSubject"]["favouriteColour"]
        signed = {**add_proof(clean, key, method), "credentialSubject": credential["credentialSubject"]}
    result = verify_credential(signed, resolve_key=RESOLVE, now=NOW)
    assert result.failed == ["proof", "issuer"]  # issuer: not checked without a verified key
    assert "safe mode" in result.check("proof").message
    assert "favouriteColour" in result.check("proof").message


def test_jwt_with_an_unpinned_context_fails_the_proof_check() -> None:
    key, did, method = _ed25519()
    credential = _badge(did)
    credential["@context"] = [*credential["@context"], "https://example.org/unpinned/v1"]
    result = verify_credential(encode_vc_jwt(credential, key, method), resolve_key=RESOLVE, now=NOW)
    assert result.failed == [
        "proof",
        "issuer",
    ]  # issuer: not checked without a verified key and "unpinned" in result.check("proof").message


@pytest.mark.parametrize("encoding", ["plain", "base64"])
def test_enveloped_verifiable_credential_is_accepted(encoding: str) -> None:
    key, did, method = _p256()
    token = encode_vc_jwt(_badge(did), key, method, typ="vc+jwt")
    data = base64.b64encode(token.encode()).decode() if encoding == "base64" else token
    media = "application/vc+jwt" + (";base64" if encoding == "base64" else "")
    envelope = {"@context": [VC_V2], "id": f"data:{media},{data}", "type": "EnvelopedVerifiableCredential"}
    result = verify_credential(envelope, resolve_key=RESOLVE, now=NOW)
    assert result.badge_verified, result.to_json()
    assert result.proof_format == "vc-jwt"
    assert result.credential is not None and result.credential["issuer"]["id"] == did
    if encoding == "plain":
        head, body, _ = token.split(".")
        other, _, _ = _p256()
        foreign = encode_vc_jwt(_badge(did), other, method, typ="vc+jwt").split(".")[2]
        tampered = {**envelope, "id": f"data:{media},{head}.{body}.{foreign}"}
        assert verify_credential(tampered, resolve_key=RESOLVE, now=NOW).failed[0] == "proof"


def test_envelope_without_a_jws_is_unreadable() -> None:
    envelope = {
        "@context": [VC_V2],
        "id": "data:application/vc+jwt,hello",
        "type": "EnvelopedVerifiableCredential",
    }
    result = verify_credential(envelope, resolve_key=RESOLVE, now=NOW)
    assert not result.verified and "compact JWS" in result.check("proof").message


@pytest.mark.parametrize("proof_format", ["data-integrity", "vc-jwt"])
@pytest.mark.parametrize("style", ["pinned", "inline"])
def test_examples_context_and_its_inline_vocab_twin_follow_one_rule(style: str, proof_format: str) -> None:
    """https://www.w3.org/ns/credentials/examples/v2 is pinned; it only sets @vocab, like the inline
    {"@vocab": ...} twin: terms it covers expand under that vocabulary in both spellings."""
    key, did, method = _ed25519()
    extra: Any = EXAMPLES_V2 if style == "pinned" else {"@vocab": EXAMPLES_VOCAB}
    credential = _plain_vc(did, [VC_V2, extra], degree={"type": "BachelorDegree", "name": "BSc"})
    signed: Any = (
        add_proof(credential, key, method)
        if proof_format == "data-integrity"
        else encode_vc_jwt(credential, key, method)
    )
    result = verify_credential(signed, resolve_key=RESOLVE, now=NOW)
    assert result.verified, result.to_json()
    assert not result.recognized  # an example degree is not an Open Badge


def test_open_badge_with_the_examples_context_is_still_an_open_badge(issuer: Issuer) -> None:
    key, did, method = _ed25519()
    credential = _badge(did)
    assert credential["@context"][:2] == [VC_V2, OB_V3P0]
    credential["@context"] = [*credential["@context"], EXAMPLES_V2]
    result = verify_credential(add_proof(credential, key, method), resolve_key=RESOLVE, now=NOW)
    assert result.badge_verified, result.to_json()
