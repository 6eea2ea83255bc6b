"""DIDs: did:key for Ed25519 and P-256 (created and resolved offline) and did:web identifiers and documents.

A district issuer is ``did:web:<host>:issuers:<slug>``, whose document is served at
``https://<host>/issuers/<slug>/did.json``. A port in the public URL is part of the host and its colon
is percent-encoded (``did:web:127.0.0.1%3A8000:issuers:demo``), as the did:web method requires.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, unquote, urlsplit

from cryptography.hazmat.primitives.asymmetric import ec, ed25519

from service.credentials.contexts import DID_V1, MULTIKEY_V1
from service.credentials.errors import KeyFormatError, KeyResolutionError
from service.credentials.keys import (
    KeyResolver,
    PublicKey,
    VerificationKey,
    ed25519_public_multibase,
    key_kind,
    public_key_from_multibase,
    public_key_multibase,
    public_key_to_jwk,
    verification_key_from_document,
)

JWK_CONTEXT = "https://www.w3.org/ns/cid/v1"
"""Context that defines ``JsonWebKey`` / ``publicKeyJwk`` (W3C Controlled Identifiers 1.0)."""


# --- did:key ----------------------------------------------------------------------------------------


def did_key(public_key: ed25519.Ed25519PublicKey | ec.EllipticCurvePublicKey) -> str:
    """The did:key of an Ed25519 (``did:key:z6Mk...``) or P-256 (``did:key:zDn...``) public key."""
    return "did:key:" + public_key_multibase(public_key)


def did_key_verification_method(public_key: ed25519.Ed25519PublicKey | ec.EllipticCurvePublicKey) -> str:
    """The verification method URL of a did:key: ``did:key:<mb>#<mb>``."""
    fingerprint = public_key_multibase(public_key)
    return f"did:key:{fingerprint}#{fingerprint}"


def resolve_did_key(did_or_url: str) -> dict[str, Any]:
    """Resolve a did:key (or a URL inside it) to its DID document, offline.

    Ed25519 (``z6Mk``, multicodec 0xed) and P-256 (``zDn``, multicodec p256-pub 0x1200, compressed
    point) did:keys are accepted, as the W3C did:key method and the reference verifiers do; the
    document lists the key as a Multikey under assertionMethod, authentication, capabilityInvocation
    and capabilityDelegation.
    """
    did = did_or_url.split("#", 1)[0]
    if not did.startswith("did:key:z"):
        raise KeyResolutionError(f"{did_or_url!r} is not a base58btc did:key")
    fingerprint = did[len("did:key:") :]
    try:
        key = public_key_from_multibase(fingerprint)
    except KeyFormatError as exc:
        raise KeyResolutionError(f"{did!r}: {exc}") from exc
    if not isinstance(key, ed25519.Ed25519PublicKey | ec.EllipticCurvePublicKey):
        raise KeyResolutionError(f"{did!r}: only Ed25519 and P-256 did:keys are supported")
    method_id = f"{did}#{fingerprint}"
    return {
        "@context": [DID_V1, MULTIKEY_V1],
        "id": did,
        "verificationMethod": [
            {"id": method_id, "type": "Multikey", "controller": did, "publicKeyMultibase": fingerprint}
        ],
        "authentication": [method_id],
        "assertionMethod": [method_id],
        "capabilityInvocation": [method_id],
        "capabilityDelegation": [method_id],
    }


def resolve_did_key_method(method_url: str) -> VerificationKey:
    """Resolve a did:key verification method URL (``did:key:<mb>#<mb>``) to its key, offline.

    A bare did:key is accepted too (some issuers name the DID itself): it has exactly one key.
    """
    document = resolve_did_key(method_url)
    did = document["id"]
    fingerprint = did[len("did:key:") :]
    if "#" in method_url and method_url.split("#", 1)[1] != fingerprint:
        raise KeyResolutionError(
            f"{method_url!r}: a did:key method fragment must repeat the key ({fingerprint})"
        )
    key = verification_key_from_document(document, f"{did}#{fingerprint}")
    return VerificationKey(id=method_url, controller=did, public_key=key.public_key, purposes=key.purposes)


# --- did:web ----------------------------------------------------------------------------------------


def did_web(public_url: str, *path: str) -> str:
    """The did:web for a public base URL and optional path segments.

    ``did_web("https://example.org", "issuers", "north")`` -> ``did:web:example.org:issuers:north``;
    ``did_web("http://127.0.0.1:8000", "issuers", "x")`` -> ``did:web:127.0.0.1%3A8000:issuers:x``.
    A path in the base URL (a service mounted under a prefix) becomes leading segments.
    """
    parts = urlsplit(public_url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise KeyFormatError(f"{public_url!r} is not an absolute http(s) URL")
    host = parts.hostname.lower()
    if ":" in host:  # an IPv6 literal cannot be expressed in did:web's host part
        raise KeyFormatError("did:web cannot name an IPv6 literal host")
    if parts.port is not None:
        host += "%3A" + str(parts.port)
    segments = [segment for segment in parts.path.split("/") if segment] + list(path)
    for segment in segments:
        if not segment or segment != segment.strip() or "/" in segment:
            raise KeyFormatError(f"invalid did:web path segment {segment!r}")
    return ":".join(["did:web", host, *(quote(segment, safe="") for segment in segments)])


def did_web_for_issuer(public_url: str, slug: str) -> str:
    """The issuer DID of a district: ``did:web:<host>:issuers:<slug>``."""
    return did_web(public_url, "issuers", slug)


def did_web_document_url(did: str, *, scheme: str = "https") -> str:
    """Where a did:web document lives: ``<scheme>://<host>/<path...>/did.json`` (``/.well-known`` when
    the DID has no path). ``scheme="http"`` is for local test servers only."""
    if not did.startswith("did:web:"):
        raise KeyResolutionError(f"{did!r} is not a did:web")
    segments = did[len("did:web:") :].split("#", 1)[0].split(":")
    host = unquote(segments[0])
    if not host or "/" in host:
        raise KeyResolutionError(f"{did!r} has an invalid host")
    path = "/".join(unquote(segment) for segment in segments[1:])
    if any(not segment for segment in segments[1:]) or ".." in segments[1:]:
        raise KeyResolutionError(f"{did!r} has an invalid path")
    return f"{scheme}://{host}/{path}/did.json" if path else f"{scheme}://{host}/.well-known/did.json"


@dataclass(frozen=True)
class IssuerKey:
    """One key of an issuer's DID document.

    ``fragment`` names it inside the document (``key-1`` -> ``<did>#key-1``). Ed25519 keys are published
    as Multikey, P-256 and RSA keys as JsonWebKey. A ``retired`` key (rotated out) stays listed and
    under ``assertionMethod`` so that credentials it signed keep verifying; a ``revoked`` key stays
    listed (so verifiers can say why) but is removed from every verification relationship.
    """

    fragment: str
    public_key: PublicKey
    retired: bool = False
    revoked: bool = False


def verification_method(did: str, key: IssuerKey) -> dict[str, Any]:
    """The verification method object of one issuer key."""
    method_id = f"{did}#{key.fragment}"
    if key_kind(key.public_key) == "Ed25519":
        assert isinstance(key.public_key, ed25519.Ed25519PublicKey)
        return {
            "id": method_id,
            "type": "Multikey",
            "controller": did,
            "publicKeyMultibase": ed25519_public_multibase(key.public_key),
        }
    return {
        "id": method_id,
        "type": "JsonWebKey",
        "controller": did,
        "publicKeyJwk": public_key_to_jwk(key.public_key),
    }


def build_did_document(
    did: str, keys: Sequence[IssuerKey], *, also_known_as: Sequence[str] = ()
) -> dict[str, Any]:
    """The DID document of an issuer with several keys; every key's controller is the DID itself."""
    if not keys:
        raise KeyFormatError("an issuer DID document needs at least one key")
    fragments = [key.fragment for key in keys]
    if len(set(fragments)) != len(fragments):
        raise KeyFormatError("key fragments must be unique")
    methods = [verification_method(did, key) for key in keys]
    contexts = [DID_V1, MULTIKEY_V1]
    if any(method["type"] == "JsonWebKey" for method in methods):
        contexts.append(JWK_CONTEXT)
    pairs = list(zip(methods, keys, strict=True))
    document: dict[str, Any] = {"@context": contexts, "id": did}
    if also_known_as:
        document["alsoKnownAs"] = list(also_known_as)
    document["verificationMethod"] = methods
    document["assertionMethod"] = [method["id"] for method, key in pairs if not key.revoked]
    document["authentication"] = [method["id"] for method, key in pairs if not (key.revoked or key.retired)]
    return document


def jwks(did: str, keys: Sequence[IssuerKey]) -> dict[str, Any]:
    """A JWK Set of the issuer's non-revoked keys, each with ``kid`` = its verification method URL."""
    return {
        "keys": [
            {**public_key_to_jwk(key.public_key), "kid": f"{did}#{key.fragment}"}
            for key in keys
            if not key.revoked
        ]
    }


def document_resolver(documents: Mapping[str, Mapping[str, Any]]) -> KeyResolver:
    """A :data:`~service.credentials.keys.KeyResolver` over already-fetched controller documents
    (keyed by DID or controller URL), falling back to offline did:key resolution."""

    def resolve(method_url: str) -> VerificationKey:
        if method_url.startswith("did:key:"):
            return resolve_did_key_method(method_url)
        controller = method_url.split("#", 1)[0]
        document = documents.get(controller)
        if document is None:
            raise KeyResolutionError(f"no controller document for {method_url!r} (was it fetched?)")
        try:
            return verification_key_from_document(document, method_url)
        except KeyFormatError as exc:
            raise KeyResolutionError(str(exc)) from exc

    return resolve
