"""Data Integrity eddsa-rdfc-2022: the OB 3.0 / CLR 2.0 test vectors byte for byte, and round trips."""

from __future__ import annotations

import copy
from datetime import UTC, datetime
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric import ed25519

from service.credentials import (
    ProofError,
    SafeModeError,
    add_proof,
    canonical_inputs,
    create_proof,
    did_key,
    did_key_verification_method,
    verify_proof,
)
from service.credentials.data_integrity import proof_configuration
from service.credentials.keys import ed25519_public_multibase
from tests.credentials.conftest import EXAMPLES, FIXTURES, TESTVECTORS, fragment_key_resolver, load

VECTORS = [
    pytest.param(
        "ob3_testvector_unsigned_credential.json",
        "ob3_testvector_signed_credential_eddsa-rdfc-2022.json",
        "ob3_testvector_proof.json",
        "obv3p0",
        id="OB 3.0",
    ),
    pytest.param(
        "clr2_testvector_unsigned_clrcredential.json",
        "clr2_testvector_signed_clrcredential_eddsa-rdfc-2022.json",
        "clr2_testvector_proof.json",
        "clrv2p0",
        id="CLR 2.0",
    ),
]
CREATED = datetime(2010, 1, 1, 19, 23, 24, tzinfo=UTC)


def _single_proof(document: dict[str, Any]) -> dict[str, Any]:
    proof = document["proof"]
    return proof[0] if isinstance(proof, list) else proof


def test_test_key_decodes(vector_key: dict[str, Any]) -> None:
    private = vector_key["private_key"]
    assert private.private_bytes_raw().hex() == vector_key["privateKeyHex"][:64]
    assert private.public_key().public_bytes_raw().hex() == vector_key["publicKeyHex"]
    assert ed25519_public_multibase(private.public_key()) == vector_key["publicKeyMultibase"]


@pytest.mark.parametrize(("unsigned", "signed", "proof_file", "prefix"), VECTORS)
def test_vector_reproduced_byte_for_byte(
    vector_key: dict[str, Any], unsigned: str, signed: str, proof_file: str, prefix: str
) -> None:
    document = load(EXAMPLES / unsigned)
    proof = create_proof(
        document, vector_key["private_key"], vector_key["verificationMethod"], created=CREATED
    )
    published = load(EXAMPLES / proof_file)
    assert proof == published  # same members, same values ...
    assert list(proof) == list(published)  # ... in the published order
    assert proof["proofValue"] == vector_key["expectedProofValue"][signed]

    inputs = canonical_inputs(document, proof)
    assert inputs.document_nquads == (TESTVECTORS / f"{prefix}_document-canon.nq").read_text(encoding="utf-8")
    assert inputs.proof_nquads == (TESTVECTORS / f"{prefix}_proof-canon.nq").read_text(encoding="utf-8")

    signed_document = load(EXAMPLES / signed)
    assert signed_document == {**document, "proof": _single_proof(signed_document)} or signed_document == {
        **document,
        "proof": signed_document["proof"],
    }
    assert _single_proof(signed_document) == proof


@pytest.mark.parametrize(("unsigned", "signed", "proof_file", "prefix"), VECTORS)
def test_vector_verifies(
    vector_key: dict[str, Any], unsigned: str, signed: str, proof_file: str, prefix: str
) -> None:
    document = load(EXAMPLES / signed)
    verify_proof(document, _single_proof(document), vector_key["private_key"].public_key())


@pytest.mark.parametrize(("unsigned", "signed", "proof_file", "prefix"), VECTORS)
def test_vector_tampered_fails(
    vector_key: dict[str, Any], unsigned: str, signed: str, proof_file: str, prefix: str
) -> None:
    document = load(EXAMPLES / signed)
    document["name"] = document["name"] + " (edited)"
    with pytest.raises(ProofError, match="does not match"):
        verify_proof(document, _single_proof(document), vector_key["private_key"].public_key())


def test_proof_configuration_carries_the_document_context(vector_key: dict[str, Any]) -> None:
    document = load(EXAMPLES / "ob3_testvector_unsigned_credential.json")
    config = proof_configuration(document, load(EXAMPLES / "ob3_testvector_proof.json"))
    assert config["@context"] == document["@context"]
    assert "proofValue" not in config


def test_round_trip_with_did_key() -> None:
    key = ed25519.Ed25519PrivateKey.generate()
    document = load(EXAMPLES / "ob3_testvector_unsigned_credential.json")
    document["issuer"]["id"] = did_key(key.public_key())
    secured = add_proof(document, key, did_key_verification_method(key.public_key()))
    assert isinstance(secured["proof"], list) and len(secured["proof"]) == 1
    proof = secured["proof"][0]
    assert (
        proof["verificationMethod"]
        == f"{did_key(key.public_key())}#{ed25519_public_multibase(key.public_key())}"
    )
    assert proof["proofValue"].startswith("z")
    verify_proof(secured, proof, key.public_key())
    other = ed25519.Ed25519PrivateKey.generate()
    with pytest.raises(ProofError, match="does not match"):
        verify_proof(secured, proof, other.public_key())


def test_proof_value_must_be_base58btc(vector_key: dict[str, Any]) -> None:
    document = load(EXAMPLES / "ob3_testvector_signed_credential_eddsa-rdfc-2022.json")
    proof = dict(document["proof"])
    for bad, message in [("u" + proof["proofValue"][1:], "base58btc"), ("z0OIl", "base58"), ("z2", "64")]:
        with pytest.raises(ProofError, match=message):
            verify_proof(document, {**proof, "proofValue": bad}, vector_key["private_key"].public_key())


def test_proof_config_is_signed_too(vector_key: dict[str, Any]) -> None:
    document = load(EXAMPLES / "ob3_testvector_signed_credential_eddsa-rdfc-2022.json")
    proof = {**document["proof"], "created": "2011-01-01T19:23:24Z"}
    with pytest.raises(ProofError, match="does not match"):
        verify_proof(document, proof, vector_key["private_key"].public_key())


def test_signing_refuses_undefined_terms(vector_key: dict[str, Any]) -> None:
    document = load(EXAMPLES / "ob3_testvector_unsigned_credential.json")
    document["grade"] = "A"
    with pytest.raises(SafeModeError, match="grade"):
        create_proof(document, vector_key["private_key"], vector_key["verificationMethod"])


def test_ed25519_signature_2020_round_trip() -> None:
    """VC 1.1-era suite: same hashing as eddsa-rdfc-2022, different proof shape and context."""
    key = ed25519.Ed25519PrivateKey.generate()
    document = load(FIXTURES / "ob30" / "simple_v1.json")
    del document["proof"]
    proof = create_proof(
        document, key, "https://example.com/issuers/876543#key-1", proof_type="Ed25519Signature2020"
    )
    assert set(proof) == {"type", "created", "verificationMethod", "proofPurpose", "proofValue"}
    verify_proof(document, proof, key.public_key())


FIXTURE_PROOFS = [
    ("ob30/simple.json", "eddsa-rdfc-2022"),
    ("ob30/simple-did-key-method.json", "eddsa-rdfc-2022"),
    ("ob30/simple-did-web-method.json", "eddsa-rdfc-2022"),
    ("ob30/simple-eddsa-2022.json", "eddsa-2022"),
    ("ob30/simple_v1.json", "Ed25519Signature2020"),
    ("ob30/complete.json", "eddsa-rdfc-2022"),
    ("ob30/endorsement-valid.json", "eddsa-rdfc-2022"),
    ("clr20/simple.json", "eddsa-rdfc-2022"),
    ("clr20/simple_v1.json", "Ed25519Signature2020"),
    ("clr20/complex.json", "Ed25519Signature2020"),
]


@pytest.mark.parametrize(("name", "suite"), FIXTURE_PROOFS)
def test_validator_fixture_proofs_verify(name: str, suite: str) -> None:
    """Third-party signatures (1EdTech's validator fixtures), keys read from the method fragment."""
    document = load(FIXTURES / name)
    proofs = document["proof"] if isinstance(document["proof"], list) else [document["proof"]]
    (proof,) = [p for p in proofs if suite in (p.get("cryptosuite"), p.get("type"))]
    key = fragment_key_resolver(proof["verificationMethod"])
    verify_proof(copy.deepcopy(document), proof, key.public_key)
