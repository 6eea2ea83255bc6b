"""Key pairs (Ed25519, P-256, RSA), their Multikey / JWK encodings, and resolved verification keys."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from jwt.algorithms import ECAlgorithm, OKPAlgorithm, RSAAlgorithm
from jwt.exceptions import InvalidKeyError

from service.credentials.encoding import (
    ED25519_PRIV,
    ED25519_PUB,
    P256_PUB,
    b58decode,
    multibase_decode,
    multibase_encode,
)
from service.credentials.errors import KeyFormatError

PublicKey = ed25519.Ed25519PublicKey | ec.EllipticCurvePublicKey | rsa.RSAPublicKey
PrivateKey = ed25519.Ed25519PrivateKey | ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey
KeyKind = Literal["Ed25519", "P-256", "RSA"]
JwsAlgorithm = Literal["EdDSA", "ES256", "RS256"]

_VERIFICATION_RELATIONSHIPS = (
    "assertionMethod",
    "authentication",
    "capabilityInvocation",
    "capabilityDelegation",
    "keyAgreement",
)


def generate_private_key(kind: KeyKind = "Ed25519") -> PrivateKey:
    """Generate a new private key: Ed25519, P-256 (secp256r1) or RSA-2048 (RS256, required by OB 3.0)."""
    if kind == "Ed25519":
        return ed25519.Ed25519PrivateKey.generate()
    if kind == "P-256":
        return ec.generate_private_key(ec.SECP256R1())
    if kind == "RSA":
        return rsa.generate_private_key(public_exponent=65537, key_size=2048)
    raise KeyFormatError(f"unsupported key kind {kind!r}")


def key_kind(key: PublicKey | PrivateKey) -> KeyKind:
    """The kind of a public or private key; raises :class:`KeyFormatError` for anything else."""
    if isinstance(key, ed25519.Ed25519PublicKey | ed25519.Ed25519PrivateKey):
        return "Ed25519"
    if isinstance(key, ec.EllipticCurvePublicKey | ec.EllipticCurvePrivateKey):
        if isinstance(key.curve, ec.SECP256R1):
            return "P-256"
        raise KeyFormatError(f"unsupported elliptic curve {key.curve.name}")
    if isinstance(key, rsa.RSAPublicKey | rsa.RSAPrivateKey):
        return "RSA"
    raise KeyFormatError(f"unsupported key type {type(key).__name__}")


def jws_algorithm(key: PublicKey | PrivateKey) -> JwsAlgorithm:
    """The JWS ``alg`` for a key: EdDSA (Ed25519), ES256 (P-256) or RS256 (RSA)."""
    return {"Ed25519": "EdDSA", "P-256": "ES256", "RSA": "RS256"}[key_kind(key)]  # type: ignore[return-value]


def public_key_of(key: PrivateKey) -> PublicKey:
    """The public half of a private key."""
    return key.public_key()


# --- Multikey ---------------------------------------------------------------------------------------


def ed25519_public_multibase(key: ed25519.Ed25519PublicKey) -> str:
    """Multikey ``publicKeyMultibase`` of an Ed25519 key: ``z`` + base58btc(0xed01 || 32 raw bytes)."""
    raw = key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return multibase_encode(ED25519_PUB + raw)


def ed25519_secret_multibase(key: ed25519.Ed25519PrivateKey) -> str:
    """Multikey ``secretKeyMultibase`` of an Ed25519 key: ``z`` + base58btc(0x8026 || 32-byte seed)."""
    raw = key.private_bytes(
        serialization.Encoding.Raw, serialization.PrivateFormat.Raw, serialization.NoEncryption()
    )
    return multibase_encode(ED25519_PRIV + raw)


def ed25519_private_from_multibase(value: str) -> ed25519.Ed25519PrivateKey:
    """Decode a Multikey ``secretKeyMultibase``: 0x8026 prefix + the 32-byte seed, or + seed || public
    key (64 bytes, the older form the OB test vectors use; the public half must match the seed)."""
    data = multibase_decode(value)
    if not data.startswith(ED25519_PRIV) or len(data) not in (34, 66):
        raise KeyFormatError("not an Ed25519 secretKeyMultibase (0x8026 prefix + 32 or 64 bytes)")
    key = ed25519.Ed25519PrivateKey.from_private_bytes(data[2:34])
    if len(data) == 66 and key.public_key().public_bytes_raw() != data[34:]:
        raise KeyFormatError("secretKeyMultibase: the public half does not match the seed")
    return key


def public_key_multibase(key: PublicKey) -> str:
    """Multikey ``publicKeyMultibase`` for Ed25519 or P-256 (compressed point, 0x1200 prefix)."""
    if isinstance(key, ed25519.Ed25519PublicKey):
        return ed25519_public_multibase(key)
    if isinstance(key, ec.EllipticCurvePublicKey) and isinstance(key.curve, ec.SECP256R1):
        point = key.public_bytes(serialization.Encoding.X962, serialization.PublicFormat.CompressedPoint)
        return multibase_encode(P256_PUB + point)
    raise KeyFormatError(f"no Multikey encoding for {key_kind(key)} keys here; use a JWK")


def public_key_from_multibase(value: str) -> PublicKey:
    """Decode a Multikey ``publicKeyMultibase`` (Ed25519 0xed01 or P-256 0x1200)."""
    data = multibase_decode(value)
    if data.startswith(ED25519_PUB):
        if len(data) != 34:
            raise KeyFormatError("Ed25519 publicKeyMultibase must hold exactly 32 key bytes")
        return ed25519.Ed25519PublicKey.from_public_bytes(data[2:])
    if data.startswith(P256_PUB):
        try:
            return ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), data[2:])
        except ValueError as exc:
            raise KeyFormatError("invalid P-256 point in publicKeyMultibase") from exc
    raise KeyFormatError("publicKeyMultibase has an unsupported multicodec prefix")


# --- JWK --------------------------------------------------------------------------------------------


def public_key_to_jwk(key: PublicKey) -> dict[str, Any]:
    """The public JWK (RFC 7517) of a key: OKP/Ed25519, EC/P-256 or RSA."""
    if isinstance(key, ed25519.Ed25519PublicKey):
        jwk = OKPAlgorithm.to_jwk(key, as_dict=True)
    elif isinstance(key, ec.EllipticCurvePublicKey):
        key_kind(key)
        jwk = ECAlgorithm.to_jwk(key, as_dict=True)
    else:
        jwk = RSAAlgorithm.to_jwk(key, as_dict=True)
    return {name: value for name, value in jwk.items() if name not in ("key_ops", "alg")}


def public_key_from_jwk(jwk: Mapping[str, Any]) -> PublicKey:
    """Parse a public JWK; private members are refused (a verification method must never carry them)."""
    if "d" in jwk:
        raise KeyFormatError("JWK contains private key material ('d')")
    kty = jwk.get("kty")
    try:
        if kty == "OKP" and jwk.get("crv") == "Ed25519":
            key: Any = OKPAlgorithm.from_jwk(dict(jwk))
        elif kty == "EC" and jwk.get("crv") == "P-256":
            key = ECAlgorithm.from_jwk(dict(jwk))
        elif kty == "RSA":
            key = RSAAlgorithm.from_jwk(dict(jwk))
        else:
            raise KeyFormatError(f"unsupported JWK (kty={kty!r}, crv={jwk.get('crv')!r})")
    except (InvalidKeyError, ValueError, KeyError, TypeError) as exc:
        raise KeyFormatError(f"invalid JWK: {exc}") from exc
    if not isinstance(key, ed25519.Ed25519PublicKey | ec.EllipticCurvePublicKey | rsa.RSAPublicKey):
        raise KeyFormatError("JWK is not a public key")
    return key


# --- PEM (for key stores) ---------------------------------------------------------------------------


def private_key_to_pem(key: PrivateKey, password: bytes | None = None) -> bytes:
    """PKCS#8 PEM of a private key, encrypted with ``password`` when one is given."""
    encryption: serialization.KeySerializationEncryption = (
        serialization.BestAvailableEncryption(password) if password else serialization.NoEncryption()
    )
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, encryption)


def private_key_from_pem(data: bytes, password: bytes | None = None) -> PrivateKey:
    """Load a PKCS#8 PEM private key (Ed25519, P-256 or RSA)."""
    key = serialization.load_pem_private_key(data, password=password)
    if not isinstance(key, ed25519.Ed25519PrivateKey | ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey):
        raise KeyFormatError(f"unsupported private key type {type(key).__name__}")
    key_kind(key)
    return key


# --- Resolved verification keys ---------------------------------------------------------------------


@dataclass(frozen=True)
class VerificationKey:
    """A public key resolved from a verification method URL.

    ``controller`` is who controls the key (checked against the credential's issuer); ``purposes`` the
    verification relationships the controller document lists it under (``None``: not known, e.g. a key
    given directly by the caller).
    """

    id: str
    controller: str
    public_key: PublicKey
    purposes: frozenset[str] | None = field(default=None)

    def allows(self, purpose: str) -> bool:
        """Whether the key may be used for ``purpose`` (e.g. ``assertionMethod``)."""
        return self.purposes is None or purpose in self.purposes


KeyResolver = Callable[[str], VerificationKey]
"""Resolves a verification method URL to a :class:`VerificationKey`; raises ``KeyResolutionError``."""


def public_key_from_method(method: Mapping[str, Any]) -> PublicKey:
    """The public key in a verification method object (Multikey, Ed25519VerificationKey2020/2018,
    JsonWebKey, JsonWebKey2020)."""
    if isinstance(method.get("publicKeyMultibase"), str):
        return public_key_from_multibase(method["publicKeyMultibase"])
    if isinstance(method.get("publicKeyJwk"), Mapping):
        return public_key_from_jwk(method["publicKeyJwk"])
    if isinstance(method.get("publicKeyBase58"), str) and method.get("type") == "Ed25519VerificationKey2018":
        return ed25519.Ed25519PublicKey.from_public_bytes(b58decode(method["publicKeyBase58"]))
    raise KeyFormatError(f"verification method {method.get('id')!r} holds no supported public key")


def verification_key_from_document(document: Mapping[str, Any], method_id: str) -> VerificationKey:
    """Find ``method_id`` in a controller (DID) document and return it as a :class:`VerificationKey`.

    Relative ids (``#key-1``) in the document are resolved against the document id. The purposes are
    the relationships that list the method, by reference or embedded.
    """
    doc_id = document.get("id")
    if not isinstance(doc_id, str):
        raise KeyFormatError("controller document has no id")

    def absolute(value: str) -> str:
        return doc_id + value if value.startswith("#") else value

    methods: dict[str, Mapping[str, Any]] = {}
    for method in _as_list(document.get("verificationMethod")):
        if isinstance(method, Mapping) and isinstance(method.get("id"), str):
            methods[absolute(method["id"])] = method
    purposes: set[str] = set()
    for relationship in _VERIFICATION_RELATIONSHIPS:
        for entry in _as_list(document.get(relationship)):
            if isinstance(entry, str) and absolute(entry) == method_id:
                purposes.add(relationship)
            elif (
                isinstance(entry, Mapping)
                and isinstance(entry.get("id"), str)
                and absolute(entry["id"]) == method_id
            ):
                purposes.add(relationship)
                methods.setdefault(method_id, entry)
    method = methods.get(method_id)
    if method is None:
        raise KeyFormatError(f"verification method {method_id!r} is not in the document of {doc_id!r}")
    controller = method.get("controller", doc_id)
    if not isinstance(controller, str):
        raise KeyFormatError(f"verification method {method_id!r} has an invalid controller")
    return VerificationKey(
        id=method_id,
        controller=absolute(controller) if controller.startswith("#") else controller,
        public_key=public_key_from_method(method),
        purposes=frozenset(purposes),
    )


def _as_list(value: Any) -> list[Any]:
    if value is None:
        return []
    return value if isinstance(value, list) else [value]
