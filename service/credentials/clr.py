"""Comprehensive Learner Record 2.0: the ``ClrCredential`` and its canonical JSON (pure, no I/O).

In CLR 2.0 every assertion is itself a verifiable credential: a :class:`ClrSubject` holds only
``identifier``, ``achievement`` (the definitions: a framework tree, courses...), ``verifiableCredential``
(signed credentials, kept verbatim with their own proofs) and ``association`` (how the achievements
relate, e.g. ``isChildOf``). :func:`build_clr_credential` turns a :class:`ClrCredential` into its JSON and
checks it against ``clr_v2p0_clrcredential_schema.json`` and safe-mode JSON-LD expansion;
:func:`issue_clr` also signs it (``eddsa-rdfc-2022`` by default, VC-JWT on request).

Context order: VC 2.0, CLR 2.0.1, OB 3.0.3, then the OB extensions context when ``credentialSchema``
uses ``1EdTechJsonSchemaValidator2019`` (as the CLR test vector does).
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal

from cryptography.hazmat.primitives.asymmetric import ed25519

from service.credentials import clr_canonical
from service.credentials.builder import (
    ProofFormat,
    Signer,
    canonical_problems,
    sign_vc_jwt,
)
from service.credentials.contexts import CLR_V2P0, OB_V3P0, OB_V3P0_EXTENSIONS, VC_V2, ContextRegistry
from service.credentials.data_integrity import (
    DATA_INTEGRITY_PROOF,
    EDDSA_RDFC_2022,
    proof_configuration,
    unsecured_document,
)
from service.credentials.encoding import multibase_encode
from service.credentials.errors import CredentialError, ProofError, SchemaValidationError
from service.credentials.linked_data import canonicalize, expand
from service.credentials.models import (
    Achievement,
    CredentialSchema,
    IdentityObject,
    Image,
    Profile,
    _put,
)
from service.credentials.schema import CLR_CREDENTIAL_SCHEMA, SCHEMA_VALIDATOR_TYPE, schema_errors
from service.credentials.status_list import BitstringStatusListEntry
from service.credentials.timeutil import format_datetime

AssociationType = Literal[
    "exactMatchOf", "isChildOf", "isParentOf", "isPartOf", "isPeerOf", "isRelatedTo", "precedes", "replacedBy"
]
#: ``array``: every ``type`` is an array (our canonical JSON); ``string``: a single type is written as a
#: string, as the CLR 2.0 test vector does (both are valid; the RDF graph, hence the proof, is the same).
TypeStyle = Literal["array", "string"]


@dataclass(frozen=True)
class Association:
    """A relation between two achievements of the record (``sourceId`` -> ``targetId``)."""

    association_type: AssociationType
    source_id: str
    target_id: str

    def to_json(self) -> dict[str, Any]:
        # The official schema allows only the string here (not an array, unlike every other ``type``).
        return {
            "type": "Association",
            "associationType": self.association_type,
            "sourceId": self.source_id,
            "targetId": self.target_id,
        }


@dataclass(frozen=True)
class ClrSubject:
    """The learner and the record: achievements defined, credentials held, associations.

    ``verifiable_credential`` items are signed credentials (JSON objects or compact JWS strings) and are
    copied verbatim; ``achievement`` items are :class:`Achievement` models or achievement JSON objects
    (copied verbatim).
    """

    verifiable_credential: Sequence[Mapping[str, Any] | str]
    id: str | None = None
    identifier: Sequence[IdentityObject] = ()
    achievement: Sequence[Achievement | Mapping[str, Any]] = ()
    association: Sequence[Association] = ()

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        _put(out, "id", self.id)
        out["type"] = ["ClrSubject"]
        _put(out, "identifier", [item.to_json() for item in self.identifier])
        out["verifiableCredential"] = [
            item if isinstance(item, str) else dict(item) for item in self.verifiable_credential
        ]
        _put(
            out,
            "achievement",
            [item.to_json() if isinstance(item, Achievement) else dict(item) for item in self.achievement],
        )
        _put(out, "association", [item.to_json() for item in self.association])
        return out


def _clr_schema() -> tuple[CredentialSchema, ...]:
    return (CredentialSchema(id=CLR_CREDENTIAL_SCHEMA),)


@dataclass(frozen=True)
class ClrCredential:
    """A CLR 2.0 ``ClrCredential`` (unsigned); :meth:`to_json` is its canonical JSON."""

    id: str
    issuer: Profile
    credential_subject: ClrSubject
    valid_from: datetime
    name: str
    description: str | None = None
    image: Image | None = None
    valid_until: datetime | None = None
    awarded_date: datetime | None = None
    partial: bool | None = None
    credential_status: BitstringStatusListEntry | None = None
    credential_schema: Sequence[CredentialSchema] = field(default_factory=_clr_schema)

    def contexts(self) -> list[str]:
        contexts = [VC_V2, CLR_V2P0, OB_V3P0]
        if any(schema.type == SCHEMA_VALIDATOR_TYPE for schema in self.credential_schema):
            contexts.append(OB_V3P0_EXTENSIONS)
        return contexts

    def to_json(self, *, type_style: TypeStyle = "array") -> dict[str, Any]:
        if self.valid_until is not None and self.valid_until <= self.valid_from:
            raise ValueError("validUntil must be after validFrom")
        out: dict[str, Any] = {
            "@context": self.contexts(),
            "id": self.id,
            "type": ["VerifiableCredential", "ClrCredential"],
            "issuer": self.issuer.to_json(),
            "validFrom": format_datetime(self.valid_from),
        }
        _put(out, "validUntil", format_datetime(self.valid_until) if self.valid_until else None)
        _put(out, "awardedDate", format_datetime(self.awarded_date) if self.awarded_date else None)
        _put(out, "name", self.name)
        _put(out, "description", self.description)
        _put(out, "image", self.image.to_json() if self.image else None)
        _put(out, "partial", self.partial)
        out["credentialSubject"] = self.credential_subject.to_json()
        _put(out, "credentialSchema", [item.to_json() for item in self.credential_schema])
        _put(out, "credentialStatus", self.credential_status.to_json() if self.credential_status else None)
        if type_style == "string":
            _single_types_as_strings(out)
        return out


def _single_types_as_strings(node: Any) -> None:
    """Write one-element ``type`` arrays as strings, in place, leaving nested credentials untouched
    (they are signed: their bytes are theirs)."""
    if isinstance(node, dict):
        types = node.get("type")
        if isinstance(types, list) and len(types) == 1 and isinstance(types[0], str):
            node["type"] = types[0]
        for key, value in node.items():
            if key in ("verifiableCredential", "@context", "proof"):
                continue
            _single_types_as_strings(value)
    elif isinstance(node, list):
        for item in node:
            _single_types_as_strings(item)


def clr_problems(document: Mapping[str, Any]) -> list[str]:
    """Canonical JSON rules and the official CLR 2.0 schema; empty when the document satisfies both."""
    problems = canonical_problems(
        {key: value for key, value in document.items() if key != "credentialSubject"}
    )
    subject = document.get("credentialSubject")
    if isinstance(subject, Mapping):
        own = {key: value for key, value in subject.items() if key != "verifiableCredential"}
        problems += canonical_problems(own, "$.credentialSubject")
    return problems + schema_errors(document, CLR_CREDENTIAL_SCHEMA)


def build_clr_credential(
    credential: ClrCredential,
    *,
    type_style: TypeStyle = "array",
    registry: ContextRegistry | None = None,
    check_json_ld: bool = True,
) -> dict[str, Any]:
    """The JSON of ``credential``, checked against ``clr_v2p0_clrcredential_schema.json`` (and the
    canonical JSON rules for what this builder writes) and, unless ``check_json_ld=False``, safe-mode
    JSON-LD expansion. Raises :class:`SchemaValidationError` listing every problem."""
    document = credential.to_json(type_style=type_style)
    errors = clr_problems(document)
    if errors:
        raise SchemaValidationError(errors)
    if check_json_ld:
        expand(document, registry=registry)
    return document


def issue_clr(
    credential: ClrCredential,
    signer: Signer,
    *,
    proof_format: ProofFormat = "data-integrity",
    created: datetime | None = None,
    type_style: TypeStyle = "array",
    registry: ContextRegistry | None = None,
) -> dict[str, Any] | str:
    """Build, check and sign a ClrCredential: the signed JSON (``data-integrity``, eddsa-rdfc-2022) or a
    compact JWS (``vc-jwt``). The signing key must be controlled by the issuer."""
    if signer.controller != credential.issuer.id:
        raise CredentialError(
            f"the signing key belongs to {signer.controller!r}, not to the issuer {credential.issuer.id!r}"
        )
    if proof_format == "vc-jwt":
        return sign_vc_jwt(build_clr_credential(credential, type_style=type_style, registry=registry), signer)
    # Data Integrity canonicalizes in safe mode while signing: expanding first would only repeat it.
    document = build_clr_credential(credential, type_style=type_style, registry=registry, check_json_ld=False)
    return sign_clr_data_integrity(document, signer, created=created, registry=registry)


def sign_clr_data_integrity(
    document: Mapping[str, Any],
    signer: Signer,
    *,
    created: datetime | None = None,
    registry: ContextRegistry | None = None,
) -> dict[str, Any]:
    """What :func:`~service.credentials.builder.sign_data_integrity` returns (the same eddsa-rdfc-2022
    proof, byte for byte), with the document canonicalized by :mod:`clr_canonical`: the embedded
    credentials and achievement definitions seen in earlier transcripts are not processed again."""
    if not isinstance(signer.private_key, ed25519.Ed25519PrivateKey):
        raise ProofError("eddsa-rdfc-2022 needs an Ed25519 key; use VC-JWT for P-256 and RSA keys")
    if "#" not in signer.verification_method:
        raise ProofError("verificationMethod must be a DID or controller URL with a key fragment")
    proof: dict[str, Any] = {
        "type": DATA_INTEGRITY_PROOF,
        "created": format_datetime(created or datetime.now(UTC)),
        "verificationMethod": signer.verification_method,
        "cryptosuite": EDDSA_RDFC_2022,
        "proofPurpose": "assertionMethod",
    }
    unsecured = unsecured_document(document)
    document_nquads = clr_canonical.canonicalize(unsecured, registry=registry)
    proof_nquads = canonicalize(proof_configuration(document, proof), registry=registry)
    hash_data = (
        hashlib.sha256(proof_nquads.encode("utf-8")).digest()
        + hashlib.sha256(document_nquads.encode("utf-8")).digest()
    )
    proof["proofValue"] = multibase_encode(signer.private_key.sign(hash_data))
    existing = document.get("proof")
    proofs = [] if existing is None else list(existing) if isinstance(existing, list) else [existing]
    return {**unsecured, "proof": [*proofs, proof]}
