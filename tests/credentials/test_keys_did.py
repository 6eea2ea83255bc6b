"""Multibase / Multikey / JWK encodings, did:key and did:web."""

from __future__ import annotations

import pytest
from cryptography.hazmat.primitives.asymmetric import ed25519

from service.credentials import (
    IssuerKey,
    KeyFormatError,
    KeyResolutionError,
    build_did_document,
    did_key,
    did_web,
    did_web_document_url,
    did_web_for_issuer,
    document_resolver,
    generate_private_key,
    jwks,
    public_key_from_jwk,
    public_key_from_multibase,
    public_key_multibase,
    public_key_to_jwk,
    resolve_did_key,
    resolve_did_key_method,
    verification_key_from_document,
)
from service.credentials.contexts import DID_V1, MULTIKEY_V1
from service.credentials.encoding import b58decode, b58encode, multibase_decode, multibase_encode
from service.credentials.keys import PublicKey, ed25519_private_from_multibase, ed25519_secret_multibase

# Published pair: did:key spec example / the OB test key.
OB_TEST_KEY_HEX = "4bdeafde2ea8beefadd8c699b5c7e0704cf51154d52e17b20b71337ca04cc5a5"
OB_TEST_KEY_MULTIBASE = "z6MkjZRZv3aez3r18pB1RBFJR1kwUVJ5jHt92JmQwXbd5hwi"


@pytest.mark.parametrize(
    ("raw", "encoded"),
    [
        (b"", ""),
        (b"\0", "1"),
        (b"\0\0\x01", "112"),
        (b"hello world", "StV1DL6CwTryKyV"),
        (b"\xff" * 4, "7YXq9G"),
    ],
)
def test_base58(raw: bytes, encoded: str) -> None:
    assert b58encode(raw) == encoded
    assert b58decode(encoded) == raw


def test_multibase_prefixes() -> None:
    assert multibase_encode(b"\x01\x02", "z") == "z" + b58encode(b"\x01\x02")
    assert multibase_encode(b"\xfb\xff", "u") == "u-_8"
    assert multibase_decode("u-_8") == b"\xfb\xff"
    with pytest.raises(KeyFormatError, match="prefix"):
        multibase_decode("fdeadbeef")


def test_multikey_encoding_of_the_published_key() -> None:
    key = ed25519.Ed25519PublicKey.from_public_bytes(bytes.fromhex(OB_TEST_KEY_HEX))
    assert public_key_multibase(key) == OB_TEST_KEY_MULTIBASE
    assert multibase_decode(OB_TEST_KEY_MULTIBASE)[:2] == b"\xed\x01"
    decoded = public_key_from_multibase(OB_TEST_KEY_MULTIBASE)
    assert isinstance(decoded, ed25519.Ed25519PublicKey)
    assert decoded.public_bytes_raw().hex() == OB_TEST_KEY_HEX


@pytest.mark.parametrize("kind", ["Ed25519", "P-256"])
def test_multikey_round_trip(kind: str) -> None:
    key = generate_private_key(kind).public_key()  # type: ignore[arg-type]
    assert public_key_from_multibase(public_key_multibase(key)) == key


def test_secret_key_multibase_round_trip() -> None:
    key = ed25519.Ed25519PrivateKey.generate()
    encoded = ed25519_secret_multibase(key)
    assert multibase_decode(encoded)[:2] == b"\x80\x26"
    assert ed25519_private_from_multibase(encoded).private_bytes_raw() == key.private_bytes_raw()


@pytest.mark.parametrize("kind", ["Ed25519", "P-256", "RSA"])
def test_jwk_round_trip(kind: str) -> None:
    key: PublicKey = generate_private_key(kind).public_key()  # type: ignore[arg-type]
    jwk = public_key_to_jwk(key)
    assert "d" not in jwk
    assert {"Ed25519": "OKP", "P-256": "EC", "RSA": "RSA"}[kind] == jwk["kty"]
    assert public_key_to_jwk(public_key_from_jwk(jwk)) == jwk


def test_private_jwk_is_refused() -> None:
    with pytest.raises(KeyFormatError, match="private"):
        public_key_from_jwk({"kty": "OKP", "crv": "Ed25519", "x": "AA", "d": "AA"})


def test_did_key_create_and_resolve() -> None:
    key = ed25519.Ed25519PublicKey.from_public_bytes(bytes.fromhex(OB_TEST_KEY_HEX))
    did = did_key(key)
    assert did == f"did:key:{OB_TEST_KEY_MULTIBASE}"
    document = resolve_did_key(did)
    method_id = f"{did}#{OB_TEST_KEY_MULTIBASE}"
    assert document == {
        "@context": [DID_V1, MULTIKEY_V1],
        "id": did,
        "verificationMethod": [
            {
                "id": method_id,
                "type": "Multikey",
                "controller": did,
                "publicKeyMultibase": OB_TEST_KEY_MULTIBASE,
            }
        ],
        "authentication": [method_id],
        "assertionMethod": [method_id],
        "capabilityInvocation": [method_id],
        "capabilityDelegation": [method_id],
    }
    resolved = resolve_did_key_method(method_id)
    assert resolved.controller == did
    assert resolved.public_key == key
    assert resolved.allows("assertionMethod")


@pytest.mark.parametrize(
    "bad",
    ["did:key:zQ3shokFTS3brHcDQrn82RUDfCZESWL1ZdCEJwekUDPQiYBme", "did:key:z6Mk", "did:web:example.com"],
)
def test_did_key_refuses_other_keys(bad: str) -> None:
    with pytest.raises(KeyResolutionError):
        resolve_did_key_method(bad)


def test_did_key_fragment_must_repeat_the_key() -> None:
    with pytest.raises(KeyResolutionError, match="fragment"):
        resolve_did_key_method(f"did:key:{OB_TEST_KEY_MULTIBASE}#key-1")


@pytest.mark.parametrize(
    ("public_url", "slug", "did", "document_url"),
    [
        (
            "https://portrait.example.org",
            "north",
            "did:web:portrait.example.org:issuers:north",
            "https://portrait.example.org/issuers/north/did.json",
        ),
        (
            "http://127.0.0.1:8000",
            "demo",
            "did:web:127.0.0.1%3A8000:issuers:demo",
            "https://127.0.0.1:8000/issuers/demo/did.json",
        ),
        (
            "https://Example.ORG:8443/portrait/",
            "a-b",
            "did:web:example.org%3A8443:portrait:issuers:a-b",
            "https://example.org:8443/portrait/issuers/a-b/did.json",
        ),
    ],
)
def test_did_web_for_issuer(public_url: str, slug: str, did: str, document_url: str) -> None:
    assert did_web_for_issuer(public_url, slug) == did
    assert did_web_document_url(did) == document_url


def test_did_web_without_path_uses_well_known() -> None:
    assert did_web("https://example.org") == "did:web:example.org"
    assert did_web_document_url("did:web:example.org") == "https://example.org/.well-known/did.json"
    assert (
        did_web_document_url("did:web:localhost%3A8000:x", scheme="http")
        == "http://localhost:8000/x/did.json"
    )


@pytest.mark.parametrize("bad", ["ftp://example.org", "example.org", "https://[::1]:8000"])
def test_did_web_refuses_bad_urls(bad: str) -> None:
    with pytest.raises(KeyFormatError):
        did_web(bad, "issuers", "x")


def test_issuer_did_document_lists_every_key() -> None:
    did = did_web_for_issuer("https://portrait.example.org", "north")
    ed, p256, rsa_key, old = (generate_private_key(k) for k in ("Ed25519", "P-256", "RSA", "Ed25519"))
    keys = [
        IssuerKey("key-0", old.public_key(), retired=True),
        IssuerKey("key-1", ed.public_key()),
        IssuerKey("key-2", p256.public_key()),
        IssuerKey("key-3", rsa_key.public_key()),
        IssuerKey("key-x", generate_private_key("Ed25519").public_key(), revoked=True),
    ]
    document = build_did_document(did, keys)
    assert document["id"] == did
    assert document["@context"][:2] == [DID_V1, MULTIKEY_V1]
    methods = {method["id"]: method for method in document["verificationMethod"]}
    assert set(methods) == {f"{did}#{key.fragment}" for key in keys}
    assert all(method["controller"] == did for method in methods.values())
    assert methods[f"{did}#key-1"]["type"] == "Multikey"
    assert methods[f"{did}#key-1"]["publicKeyMultibase"].startswith("z6Mk")
    assert methods[f"{did}#key-2"]["type"] == "JsonWebKey"
    assert methods[f"{did}#key-2"]["publicKeyJwk"]["crv"] == "P-256"
    assert methods[f"{did}#key-3"]["publicKeyJwk"]["kty"] == "RSA"
    # rotated-out keys keep verifying old credentials; revoked keys do not
    assert f"{did}#key-0" in document["assertionMethod"]
    assert f"{did}#key-x" not in document["assertionMethod"]
    resolve = document_resolver({did: document})
    assert resolve(f"{did}#key-0").allows("assertionMethod")
    assert not resolve(f"{did}#key-x").allows("assertionMethod")
    assert resolve(f"{did}#key-3").public_key == rsa_key.public_key()
    with pytest.raises(KeyResolutionError):
        resolve(f"{did}#key-9")
    with pytest.raises(KeyResolutionError, match="fetched"):
        resolve("did:web:elsewhere.example:issuers:x#key-1")
    assert {entry["kid"] for entry in jwks(did, keys)["keys"]} == {f"{did}#key-{n}" for n in "0123"}


def test_relative_method_ids_are_resolved_against_the_document() -> None:
    key = generate_private_key("Ed25519").public_key()
    document = {
        "id": "https://example.org/issuers/1",
        "verificationMethod": [
            {
                "id": "#k",
                "type": "Multikey",
                "controller": "https://example.org/issuers/1",
                "publicKeyMultibase": public_key_multibase(key),
            }
        ],
        "assertionMethod": ["#k"],
    }
    resolved = verification_key_from_document(document, "https://example.org/issuers/1#k")
    assert resolved.public_key == key
    assert resolved.purposes == frozenset({"assertionMethod"})
