"""Build, check and sign credentials: canonical JSON in, a signed credential (or a VC-JWT) out."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from cryptography.hazmat.primitives.asymmetric import ed25519

from service.credentials.contexts import ContextRegistry
from service.credentials.data_integrity import add_proof
from service.credentials.errors import CredentialError, ProofError, SchemaValidationError
from service.credentials.keys import PrivateKey
from service.credentials.linked_data import expand
from service.credentials.models import OpenBadgeCredential
from service.credentials.schema import OB_ACHIEVEMENT_CREDENTIAL_SCHEMA, schema_errors, schema_for
from service.credentials.vc_jwt import encode_vc_jwt

ProofFormat = Literal["data-integrity", "vc-jwt"]

# Properties whose values are objects that must never be bare strings (an IRI shorthand).
_OBJECT_ONLY = frozenset({"image"})
_UTC_ONLY = frozenset({"validFrom", "validUntil"})


@dataclass(frozen=True)
class Signer:
    """A private key and the verification method URL (``did:...#key-1``) that names its public half."""

    verification_method: str
    private_key: PrivateKey

    @property
    def controller(self) -> str:
        """The DID or URL that controls the key (the issuer id)."""
        return self.verification_method.split("#", 1)[0]


def _may_have_problems(document: Any) -> bool:
    """Whether :func:`canonical_problems` could find anything (no JSON paths built: the usual answer is
    no, and building a path for every value cost more than the JSON Schema check)."""
    stack = [document]
    while stack:
        node = stack.pop()
        kind = type(node)
        if kind is dict or (kind is not list and isinstance(node, Mapping)):
            for key, value in node.items():
                kind = type(value)
                if kind is str:
                    if key in _OBJECT_ONLY or (key in _UTC_ONLY and not value.endswith("Z")):
                        return True
                elif kind is dict or kind is list:
                    stack.append(value)
                elif value is None:
                    return True
                elif isinstance(value, str):  # a subclass of str
                    if key in _OBJECT_ONLY or (key in _UTC_ONLY and not value.endswith("Z")):
                        return True
                elif isinstance(value, list | Mapping):
                    stack.append(value)
        elif kind is list or isinstance(node, list):
            for item in node:
                if item is None:
                    return True
                if type(item) is not str:
                    stack.append(item)
        elif node is None:
            return True
    return False


def canonical_problems(document: Any, path: str = "$") -> list[str]:
    """Departures from the canonical JSON rules: ``null`` values, ``image`` given as a bare string, and
    a ``validFrom`` / ``validUntil`` that is not UTC with ``Z``."""
    if not _may_have_problems(document):
        return []
    problems: list[str] = []
    if document is None:
        problems.append(f"{path}: null")
    elif isinstance(document, list):
        for index, item in enumerate(document):
            problems.extend(canonical_problems(item, f"{path}[{index}]"))
    elif isinstance(document, Mapping):
        for key, value in document.items():
            here = f"{path}.{key}"
            if key in _OBJECT_ONLY and isinstance(value, str):
                problems.append(f"{here}: must be an Image object, not a bare string")
            if key in ("validFrom", "validUntil") and isinstance(value, str) and not value.endswith("Z"):
                problems.append(f"{here}: must be UTC ending in 'Z'")
            problems.extend(canonical_problems(value, here))
    return problems


def check_credential(
    document: Mapping[str, Any], *, registry: ContextRegistry | None = None, check_json_ld: bool = True
) -> None:
    """Everything an issued credential must satisfy before it is signed or stored.

    Canonical JSON, the official JSON Schema for its type, and safe-mode JSON-LD expansion over the
    pinned contexts. Raises :class:`SchemaValidationError` or a JSON-LD error naming the problem.
    ``check_json_ld=False`` leaves the expansion to a Data Integrity signing that follows at once (it
    expands in safe mode itself, with the same errors).
    """
    problems = canonical_problems(document)
    if problems:
        raise SchemaValidationError(problems)
    schema_id = schema_for(document)
    if schema_id is not None:
        errors = schema_errors(document, schema_id)
        if errors:
            raise SchemaValidationError(errors)
    if check_json_ld:
        expand(document, registry=registry)


def build_credential(
    credential: OpenBadgeCredential,
    *,
    registry: ContextRegistry | None = None,
    check_json_ld: bool = True,
) -> dict[str, Any]:
    """The canonical JSON of ``credential``, checked against ``ob_v3p0_achievementcredential_schema.json``
    and safe-mode expansion (see :func:`check_credential`).

    ``check_json_ld=False`` skips the expansion (about 1.5 ms) for VC-JWT issuance, whose signature
    covers the JSON bytes rather than the RDF graph; Data Integrity signing expands in safe mode anyway.
    """
    document = credential.to_json()
    problems = canonical_problems(document)
    errors = problems + schema_errors(document, OB_ACHIEVEMENT_CREDENTIAL_SCHEMA)
    if errors:
        raise SchemaValidationError(errors)
    if check_json_ld:
        expand(document, registry=registry)
    return document


def sign_data_integrity(
    document: Mapping[str, Any],
    signer: Signer,
    *,
    created: datetime | None = None,
    registry: ContextRegistry | None = None,
) -> dict[str, Any]:
    """Secure ``document`` with an ``eddsa-rdfc-2022`` DataIntegrityProof (``proof`` as an array)."""
    if not isinstance(signer.private_key, ed25519.Ed25519PrivateKey):
        raise ProofError("eddsa-rdfc-2022 needs an Ed25519 key; use VC-JWT for P-256 and RSA keys")
    return add_proof(
        document, signer.private_key, signer.verification_method, created=created, registry=registry
    )


def sign_vc_jwt(document: Mapping[str, Any], signer: Signer) -> str:
    """Secure ``document`` as a VC-JWT (compact JWS) with ``kid`` = the signer's verification method."""
    return encode_vc_jwt(document, signer.private_key, signer.verification_method)


def issue(
    credential: OpenBadgeCredential,
    signer: Signer,
    *,
    proof_format: ProofFormat = "data-integrity",
    created: datetime | None = None,
    registry: ContextRegistry | None = None,
    check_json_ld: bool = True,
) -> dict[str, Any] | str:
    """Build, check and sign an OpenBadgeCredential in one call.

    The signer must be controlled by the credential's issuer (``Profile.id``), the rule every verifier
    checks. Returns the signed JSON (data-integrity) or the compact JWS (vc-jwt). Every credential is
    validated against the official schema and expanded in safe mode (for vc-jwt the expansion can be
    skipped with ``check_json_ld=False``, see :func:`build_credential`).
    """
    if signer.controller != credential.issuer.id:
        raise CredentialError(
            f"the signing key belongs to {signer.controller!r}, not to the issuer {credential.issuer.id!r}"
        )
    if proof_format == "vc-jwt":
        return sign_vc_jwt(
            build_credential(credential, registry=registry, check_json_ld=check_json_ld), signer
        )
    # Data Integrity canonicalizes in safe mode while signing: expanding first would only repeat it.
    document = build_credential(credential, registry=registry, check_json_ld=False)
    return sign_data_integrity(document, signer, created=created, registry=registry)
