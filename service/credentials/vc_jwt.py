"""VC-JWT: an Open Badges 3.0 credential secured as a compact JWS (OB 3.0 "JSON Web Token Proof Format").

Issuing: the JOSE header carries ``alg`` (RS256, which OB 3.0 requires every verifier to support, ES256
or EdDSA), ``kid`` (the verification method URL, which resolves to the key) and ``typ: JWT``; the payload
is the credential's own claims at the top level plus the registered claims ``iss`` (issuer id), ``jti``
(credential id), ``nbf`` (validFrom), ``sub`` (credentialSubject.id) and ``exp`` (validUntil, if any).

Verifying also accepts the VC 1.1-era form, where the credential sits in a ``vc`` claim.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import jwt
from jwt.algorithms import get_default_algorithms

from service.credentials.encoding import b64url_decode
from service.credentials.errors import KeyFormatError, ProofError
from service.credentials.keys import PrivateKey, PublicKey, jws_algorithm
from service.credentials.timeutil import format_datetime, parse_datetime

SUPPORTED_ALGORITHMS = ("RS256", "ES256", "EdDSA", "Ed25519")
#: RFC 9864 names EdDSA over Ed25519 "Ed25519" (fully specified); it verifies exactly like "EdDSA".
_ALIASES = {"Ed25519": "EdDSA"}
ACCEPTED_TYPES = (None, "JWT", "vc+jwt", "vc+ld+json+jwt", "vc+ld+jwt")
_COMPACT_JWS = re.compile(r"^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*$")
# pyjwt's own verification primitives; PyJWS.decode re-validates base64url character by character,
# which costs more than the signature check itself.
_ALGORITHMS = get_default_algorithms()
_REGISTERED_CLAIMS = frozenset({"iss", "jti", "nbf", "exp", "iat", "sub", "aud", "nonce", "cnf"})


def _issuer_id(credential: Mapping[str, Any]) -> str | None:
    issuer = credential.get("issuer")
    if isinstance(issuer, Mapping):
        issuer = issuer.get("id")
    return issuer if isinstance(issuer, str) else None


def _subject_id(credential: Mapping[str, Any]) -> str | None:
    subject = credential.get("credentialSubject")
    if isinstance(subject, list):
        subject = subject[0] if len(subject) == 1 else None
    value = subject.get("id") if isinstance(subject, Mapping) else None
    return value if isinstance(value, str) else None


def encode_vc_jwt(
    credential: Mapping[str, Any], private_key: PrivateKey, kid: str, *, typ: str = "JWT"
) -> str:
    """Sign ``credential`` (without any ``proof``) as a compact JWS; ``alg`` follows the key type."""
    claims = {key: value for key, value in credential.items() if key != "proof"}
    issuer = _issuer_id(credential)
    if issuer is None:
        raise ProofError("a credential needs an issuer id to be signed as a JWT")
    valid_from = credential.get("validFrom")
    if not isinstance(valid_from, str):
        raise ProofError("a credential needs validFrom to be signed as a JWT")
    claims["iss"] = issuer
    if isinstance(credential.get("id"), str):
        claims["jti"] = credential["id"]
    claims["nbf"] = int(parse_datetime(valid_from).timestamp())
    subject = _subject_id(credential)
    if subject is not None:
        claims["sub"] = subject
    if isinstance(credential.get("validUntil"), str):
        claims["exp"] = int(parse_datetime(credential["validUntil"]).timestamp())
    algorithm = jws_algorithm(private_key)
    return jwt.encode(claims, private_key, algorithm=algorithm, headers={"kid": kid, "typ": typ})


@dataclass(frozen=True)
class ParsedJwt:
    """A compact JWS split and decoded, before its signature is checked."""

    header: dict[str, Any]
    payload: dict[str, Any]
    credential: dict[str, Any]

    @property
    def kid(self) -> str | None:
        """The ``kid`` header (the verification method URL), if any."""
        kid = self.header.get("kid")
        return kid if isinstance(kid, str) else None


def looks_like_jwt(value: str) -> bool:
    """Whether ``value`` has the shape of a compact JWS (three base64url parts)."""
    return bool(_COMPACT_JWS.match(value.strip()))


def parse_vc_jwt(token: str) -> ParsedJwt:
    """Decode header and payload (no signature check) and extract the credential.

    A VCDM 2.0 payload *is* the credential (registered JWT claims removed); a VC 1.1 payload carries it
    in ``vc``, and the registered claims fill in ``id``, ``issuer``, ``issuanceDate``,
    ``expirationDate`` and the subject ``id`` when the credential omits them.
    """
    token = token.strip()
    if not looks_like_jwt(token):
        raise ProofError("not a compact JWS (expected three base64url parts)")
    head, body, _ = token.split(".")
    try:
        header = json.loads(b64url_decode(head))
        payload = json.loads(b64url_decode(body))
    except (KeyFormatError, ValueError, RecursionError) as exc:
        raise ProofError(f"the JWT header or payload is not base64url JSON: {exc}") from exc
    if not isinstance(header, dict) or not isinstance(payload, dict):
        raise ProofError("the JWT header and payload must be JSON objects")
    if isinstance(payload.get("vc"), dict):
        credential = dict(payload["vc"])
        _fill_from_claims(credential, payload)
    else:
        credential = {key: value for key, value in payload.items() if key not in _REGISTERED_CLAIMS}
    return ParsedJwt(header=header, payload=payload, credential=credential)


def _fill_from_claims(credential: dict[str, Any], payload: Mapping[str, Any]) -> None:
    if "jti" in payload and "id" not in credential:
        credential["id"] = payload["jti"]
    if "iss" in payload and "issuer" not in credential:
        credential["issuer"] = payload["iss"]
    if isinstance(payload.get("nbf"), int | float) and "issuanceDate" not in credential:
        credential["issuanceDate"] = format_datetime(datetime.fromtimestamp(payload["nbf"], UTC))
    if isinstance(payload.get("exp"), int | float) and "expirationDate" not in credential:
        credential["expirationDate"] = format_datetime(datetime.fromtimestamp(payload["exp"], UTC))
    subject = credential.get("credentialSubject")
    if isinstance(subject, dict) and "sub" in payload and "id" not in subject:
        credential["credentialSubject"] = {**subject, "id": payload["sub"]}


def verify_vc_jwt(token: str, public_key: PublicKey) -> ParsedJwt:
    """Check the JWS signature with ``public_key`` and the registered claims against the credential.

    ``alg`` must be RS256, ES256 or EdDSA *and* match the key type (no algorithm confusion). ``iss``,
    ``jti`` and ``sub`` must agree with the credential's issuer, id and subject. Validity dates are not
    checked here (the verifier reports them as a separate check). Raises :class:`ProofError`.
    """
    parsed = parse_vc_jwt(token)
    algorithm = parsed.header.get("alg")
    if algorithm not in SUPPORTED_ALGORITHMS:
        raise ProofError(f"unsupported JWT alg {algorithm!r} (RS256, ES256, EdDSA or Ed25519)")
    if parsed.header.get("typ") not in ACCEPTED_TYPES:
        raise ProofError(f"unexpected JWT typ {parsed.header.get('typ')!r}")
    expected = jws_algorithm(public_key)
    if _ALIASES.get(algorithm, algorithm) != expected:
        raise ProofError(f"JWT alg {algorithm} does not match the {expected} key it names")
    head, body, signature = token.strip().split(".")
    try:
        valid = _ALGORITHMS[_ALIASES.get(algorithm, algorithm)].verify(
            f"{head}.{body}".encode("ascii"), public_key, b64url_decode(signature)
        )
    except (KeyFormatError, ValueError, TypeError) as exc:
        raise ProofError(f"JWT signature invalid: {exc}") from exc
    if not valid:
        raise ProofError("JWT signature invalid: it does not match the header and payload")
    payload, credential = parsed.payload, parsed.credential
    if "iss" in payload and payload["iss"] != _issuer_id(credential):
        raise ProofError(
            f"JWT iss {payload['iss']!r} is not the credential issuer {_issuer_id(credential)!r}"
        )
    if "jti" in payload and "id" in credential and payload["jti"] != credential["id"]:
        raise ProofError(f"JWT jti {payload['jti']!r} is not the credential id {credential['id']!r}")
    subject = _subject_id(credential)
    if "sub" in payload and subject is not None and payload["sub"] != subject:
        raise ProofError(f"JWT sub {payload['sub']!r} is not the credential subject id {subject!r}")
    return parsed
