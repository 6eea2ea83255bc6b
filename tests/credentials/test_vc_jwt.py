"""VC-JWT: OB 3.0 JOSE header and claims, RS256 / ES256 / EdDSA, tamper and algorithm checks."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import jwt
import pytest

from service.credentials import (
    ProofError,
    build_credential,
    encode_vc_jwt,
    generate_private_key,
    parse_vc_jwt,
    sign_vc_jwt,
    verify_vc_jwt,
)
from service.credentials.encoding import b64url_decode, b64url_encode
from tests.credentials.conftest import FIXTURES, Issuer, sample_credential


@pytest.mark.parametrize(("kind", "alg"), [("RSA", "RS256"), ("P-256", "ES256"), ("Ed25519", "EdDSA")])
def test_sign_and_verify(issuer: Issuer, kind: str, alg: str) -> None:
    document = build_credential(sample_credential(issuer.did, valid_until=datetime(2030, 1, 1, tzinfo=UTC)))
    signer = issuer.signer(kind)
    token = sign_vc_jwt(document, signer)
    header = json.loads(b64url_decode(token.split(".")[0]))
    assert header == {"alg": alg, "kid": signer.verification_method, "typ": "JWT"}
    payload = json.loads(b64url_decode(token.split(".")[1]))
    # the credential's claims at the top level, plus the registered claims
    assert {
        key: value for key, value in payload.items() if key not in ("iss", "jti", "nbf", "sub", "exp")
    } == document
    assert payload["iss"] == issuer.did
    assert payload["jti"] == document["id"]
    assert payload["sub"] == document["credentialSubject"]["id"]
    assert payload["nbf"] == int(datetime(2025, 1, 15, 12, 30, tzinfo=UTC).timestamp())
    assert payload["exp"] == int(datetime(2030, 1, 1, tzinfo=UTC).timestamp())
    parsed = verify_vc_jwt(token, issuer.resolve(signer.verification_method).public_key)
    assert parsed.credential == document
    assert parsed.kid == signer.verification_method


def test_no_exp_without_valid_until(issuer: Issuer) -> None:
    token = sign_vc_jwt(build_credential(sample_credential(issuer.did)), issuer.signer())
    assert "exp" not in parse_vc_jwt(token).payload


def _retamper(token: str, change: dict[str, Any]) -> str:
    head, body, signature = token.split(".")
    payload = json.loads(b64url_decode(body))
    payload.update(change)
    return ".".join([head, b64url_encode(json.dumps(payload).encode()), signature])


def test_tampered_payload_fails(issuer: Issuer) -> None:
    token = sign_vc_jwt(build_credential(sample_credential(issuer.did)), issuer.signer("RSA"))
    with pytest.raises(ProofError, match="signature"):
        verify_vc_jwt(_retamper(token, {"name": "Forged"}), issuer.rsa.public_key())


def test_wrong_key_fails(issuer: Issuer) -> None:
    token = sign_vc_jwt(build_credential(sample_credential(issuer.did)), issuer.signer("P-256"))
    other = generate_private_key("P-256").public_key()
    with pytest.raises(ProofError, match="signature"):
        verify_vc_jwt(token, other)


def test_algorithm_must_match_the_key(issuer: Issuer) -> None:
    """An HS256 token 'signed' with the RSA public key as an HMAC secret must not pass."""
    document = build_credential(sample_credential(issuer.did))
    token = sign_vc_jwt(document, issuer.signer("Ed25519"))
    with pytest.raises(ProofError, match="does not match"):
        verify_vc_jwt(token, issuer.rsa.public_key())
    forged = jwt.encode({**document, "iss": issuer.did}, "s" * 32, algorithm="HS256")
    with pytest.raises(ProofError, match="unsupported JWT alg"):
        verify_vc_jwt(forged, issuer.rsa.public_key())


def test_claims_must_agree_with_the_credential(issuer: Issuer) -> None:
    document = build_credential(sample_credential(issuer.did))
    key = issuer.ed25519
    claims_token = encode_vc_jwt(document, key, issuer.signer().verification_method)
    payload = parse_vc_jwt(claims_token).payload
    for claim, message in [("iss", "iss"), ("jti", "jti"), ("sub", "sub")]:
        token = jwt.encode(
            {**payload, claim: "urn:other"}, key, algorithm="EdDSA", headers={"kid": "k", "typ": "JWT"}
        )
        with pytest.raises(ProofError, match=message):
            verify_vc_jwt(token, key.public_key())


def test_vc_1_1_style_token_is_parsed() -> None:
    """1EdTech's validator fixture: the credential inside a ``vc`` claim, dates from nbf."""
    parsed = parse_vc_jwt((FIXTURES / "ob30" / "simple.jwt").read_text())
    assert parsed.header == {"alg": "RS256", "typ": "JWT"}
    assert parsed.credential["id"] == "http://example.edu/credentials/3732"
    assert parsed.credential["issuer"]["id"] == parsed.payload["iss"]
    assert parsed.credential["issuanceDate"] == "2010-01-01T00:00:00Z"


@pytest.mark.parametrize("bad", ["", "a.b", "not a token", "a.b.c.d", "!!.??.x"])
def test_malformed_tokens(bad: str) -> None:
    with pytest.raises(ProofError):
        parse_vc_jwt(bad)


def test_rfc_9864_ed25519_alg_is_verified_like_eddsa(issuer: Issuer) -> None:
    """``alg: "Ed25519"`` (RFC 9864) verifies with an Ed25519 key, and only with one."""
    document = build_credential(sample_credential(issuer.did))
    signer = issuer.signer("Ed25519")
    token = sign_vc_jwt(document, signer)
    head, body, _ = token.split(".")
    header = {**json.loads(b64url_decode(head)), "alg": "Ed25519"}
    new_head = b64url_encode(json.dumps(header).encode())
    signature = issuer.ed25519.sign(f"{new_head}.{body}".encode())
    renamed = f"{new_head}.{body}.{b64url_encode(signature)}"
    parsed = verify_vc_jwt(renamed, issuer.resolve(signer.verification_method).public_key)
    assert parsed.credential == document
    with pytest.raises(ProofError, match="does not match"):
        verify_vc_jwt(renamed, issuer.rsa.public_key())
