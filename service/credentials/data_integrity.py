"""W3C Data Integrity proofs: ``eddsa-rdfc-2022`` (create, verify) and, for VC 1.1-era credentials,
``Ed25519Signature2020`` (create, verify) and the pre-standard ``eddsa-2022`` name (verify).

All three sign the same thing (W3C vc-di-eddsa, section "eddsa-rdfc-2022"):

* proof configuration = the proof options (everything but ``proofValue``) with the document's
  ``@context``; the unsecured document = the document without ``proof``;
* both are canonicalized with RDFC-1.0 (safe-mode expansion, pinned contexts);
* hashData = SHA-256(canonical proof configuration) || SHA-256(canonical document);
* the Ed25519 signature of hashData, multibase base58btc (``z...``), is the ``proofValue``.

They differ only in the proof's shape: ``DataIntegrityProof`` + ``cryptosuite`` (terms from the VC v2
context) versus ``type: Ed25519Signature2020`` (terms from the Ed25519 2020 suite context).
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric import ed25519

from service.credentials.contexts import ContextRegistry
from service.credentials.encoding import multibase_decode, multibase_encode
from service.credentials.errors import KeyFormatError, ProofError
from service.credentials.linked_data import canonicalize
from service.credentials.timeutil import format_datetime, parse_datetime

EDDSA_RDFC_2022 = "eddsa-rdfc-2022"
LEGACY_EDDSA_2022 = "eddsa-2022"
DATA_INTEGRITY_PROOF = "DataIntegrityProof"
ED25519_SIGNATURE_2020 = "Ed25519Signature2020"

ProofType = Literal["DataIntegrityProof", "Ed25519Signature2020"]


def proof_suite(proof: Mapping[str, Any]) -> str | None:
    """The suite a proof uses (``eddsa-rdfc-2022``, ``eddsa-2022``, ``Ed25519Signature2020``), or
    ``None`` when this library does not support it."""
    proof_type = proof.get("type")
    if proof_type == DATA_INTEGRITY_PROOF and proof.get("cryptosuite") in (
        EDDSA_RDFC_2022,
        LEGACY_EDDSA_2022,
    ):
        return str(proof["cryptosuite"])
    if proof_type == ED25519_SIGNATURE_2020:
        return ED25519_SIGNATURE_2020
    return None


@dataclass(frozen=True)
class CanonicalInputs:
    """What a Data Integrity proof signs: both canonical N-Quads and the concatenated hashes."""

    document_nquads: str
    proof_nquads: str

    @property
    def hash_data(self) -> bytes:
        """SHA-256(canonical proof configuration) || SHA-256(canonical document)."""
        return (
            hashlib.sha256(self.proof_nquads.encode("utf-8")).digest()
            + hashlib.sha256(self.document_nquads.encode("utf-8")).digest()
        )


def unsecured_document(document: Mapping[str, Any]) -> dict[str, Any]:
    """The document without its ``proof``."""
    return {key: value for key, value in document.items() if key != "proof"}


def proof_configuration(document: Mapping[str, Any], proof: Mapping[str, Any]) -> dict[str, Any]:
    """The proof configuration for ``proof`` over ``document``: the proof without ``proofValue``, with
    the document's ``@context`` (or the proof's own ``@context`` when it carries one)."""
    config = {key: value for key, value in proof.items() if key not in ("proofValue", "@context")}
    context = proof.get("@context", document.get("@context"))
    if context is None:
        raise ProofError("the document has no @context")
    return {"@context": context, **config}


def canonical_inputs(
    document: Mapping[str, Any],
    proof: Mapping[str, Any],
    *,
    registry: ContextRegistry | None = None,
    previous: Sequence[Mapping[str, Any]] = (),
) -> CanonicalInputs:
    """Canonicalize the unsecured document and the proof configuration (RDFC-1.0, safe mode).

    ``previous``: the proofs a chained proof's ``previousProof`` names; they stay in the document it
    signs (Data Integrity "proof chains")."""
    unsecured = unsecured_document(document)
    if previous:
        unsecured["proof"] = [dict(item) for item in previous]
    if "@context" in proof:
        _check_proof_context(document, proof)
        unsecured["@context"] = proof["@context"]
    return CanonicalInputs(
        document_nquads=canonicalize(unsecured, registry=registry),
        proof_nquads=canonicalize(proof_configuration(document, proof), registry=registry),
    )


def _check_proof_context(document: Mapping[str, Any], proof: Mapping[str, Any]) -> None:
    proof_context = proof["@context"]
    doc_context = document.get("@context")
    proof_list = proof_context if isinstance(proof_context, list) else [proof_context]
    doc_list = doc_context if isinstance(doc_context, list) else [doc_context]
    if doc_list[: len(proof_list)] != proof_list:
        raise ProofError("the proof's @context must be the first entries of the document's @context")


def create_proof(
    document: Mapping[str, Any],
    private_key: ed25519.Ed25519PrivateKey,
    verification_method: str,
    *,
    created: datetime | None = None,
    proof_purpose: str = "assertionMethod",
    proof_type: ProofType = "DataIntegrityProof",
    registry: ContextRegistry | None = None,
) -> dict[str, Any]:
    """Create an ``eddsa-rdfc-2022`` proof (or an ``Ed25519Signature2020`` one) for ``document``.

    ``created`` defaults to now (UTC, whole seconds). The document itself is not changed; see
    :func:`add_proof`. Safe-mode errors (undefined terms, relative IRIs) propagate: nothing is signed
    that a verifier would read differently.
    """
    if not isinstance(private_key, ed25519.Ed25519PrivateKey):
        raise ProofError("eddsa-rdfc-2022 and Ed25519Signature2020 need an Ed25519 private key")
    if "#" not in verification_method:
        raise ProofError("verificationMethod must be a DID or controller URL with a key fragment")
    stamp = format_datetime(created or datetime.now(UTC))
    proof: dict[str, Any] = {"type": proof_type, "created": stamp, "verificationMethod": verification_method}
    if proof_type == DATA_INTEGRITY_PROOF:
        proof["cryptosuite"] = EDDSA_RDFC_2022
    elif proof_type != ED25519_SIGNATURE_2020:
        raise ProofError(f"unsupported proof type {proof_type!r}")
    proof["proofPurpose"] = proof_purpose
    inputs = canonical_inputs(document, proof, registry=registry)
    proof["proofValue"] = multibase_encode(private_key.sign(inputs.hash_data))
    return proof


def add_proof(
    document: Mapping[str, Any],
    private_key: ed25519.Ed25519PrivateKey,
    verification_method: str,
    *,
    created: datetime | None = None,
    proof_purpose: str = "assertionMethod",
    proof_type: ProofType = "DataIntegrityProof",
    registry: ContextRegistry | None = None,
) -> dict[str, Any]:
    """Return a copy of ``document`` secured with a new proof.

    ``proof`` is always an array (the canonical JSON rule for multi-valued properties). An existing
    proof makes this a proof set: the new proof signs the document without any proof.
    """
    proof = create_proof(
        document,
        private_key,
        verification_method,
        created=created,
        proof_purpose=proof_purpose,
        proof_type=proof_type,
        registry=registry,
    )
    existing = document.get("proof")
    proofs = [] if existing is None else list(existing) if isinstance(existing, list) else [existing]
    return {**unsecured_document(document), "proof": [*proofs, proof]}


def verify_proof(
    document: Mapping[str, Any],
    proof: Mapping[str, Any],
    public_key: Any,
    *,
    registry: ContextRegistry | None = None,
    previous: Sequence[Mapping[str, Any]] = (),
) -> None:
    """Verify one proof of ``document`` with ``public_key``; raise :class:`ProofError` when it fails.

    Supports ``eddsa-rdfc-2022``, ``eddsa-2022`` and ``Ed25519Signature2020``. The caller has resolved
    ``proof["verificationMethod"]`` to ``public_key`` and checks its controller and purpose.
    """
    suite = proof_suite(proof)
    if suite is None:
        raise ProofError(
            f"unsupported proof type {proof.get('type')!r}"
            + (f" / cryptosuite {proof.get('cryptosuite')!r}" if "cryptosuite" in proof else "")
        )
    if not isinstance(public_key, ed25519.Ed25519PublicKey):
        raise ProofError(f"{suite} needs an Ed25519 verification key")
    value = proof.get("proofValue")
    if not isinstance(value, str) or not value.startswith("z"):
        raise ProofError("proofValue must be a multibase base58btc ('z') string")
    try:
        signature = multibase_decode(value)
    except KeyFormatError as exc:
        raise ProofError(f"proofValue is not valid base58btc: {exc}") from exc
    if len(signature) != 64:
        raise ProofError(f"proofValue decodes to {len(signature)} bytes, an Ed25519 signature has 64")
    created = proof.get("created")
    if created is not None:
        try:
            parse_datetime(str(created))
        except ValueError as exc:
            raise ProofError(f"proof created {created!r} is not an XML Schema dateTime") from exc
    inputs = canonical_inputs(document, proof, registry=registry, previous=previous)
    try:
        public_key.verify(signature, inputs.hash_data)
    except InvalidSignature:
        raise ProofError(
            "the signature does not match the document (tampered, or signed by another key)"
        ) from None
