"""The CLR 2.0 builder: the official test vector rebuilt byte for byte, schema and safe-mode checks."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest

from service.credentials import Profile, SchemaValidationError, Signer, verify_credential
from service.credentials.clr import (
    Association,
    ClrCredential,
    ClrSubject,
    build_clr_credential,
    clr_problems,
    issue_clr,
)
from tests.credentials.conftest import EXAMPLES, fragment_key_resolver, load

CREATED = datetime(2010, 1, 1, 19, 23, 24, tzinfo=UTC)


def _vector_credential(vector: dict[str, Any]) -> ClrCredential:
    subject = vector["credentialSubject"]
    return ClrCredential(
        id=vector["id"],
        issuer=Profile(id=vector["issuer"]["id"], name=vector["issuer"]["name"]),
        valid_from=datetime(2010, 1, 1, tzinfo=UTC),
        name=vector["name"],
        credential_subject=ClrSubject(
            id=subject["id"],
            verifiable_credential=subject["verifiableCredential"],
            achievement=subject["achievement"],
            association=[
                Association(a["associationType"], a["sourceId"], a["targetId"])
                for a in subject["association"]
            ],
        ),
    )


def test_test_vector_rebuilt_and_signed_byte_for_byte(vector_key: dict[str, Any]) -> None:
    unsigned_text = (EXAMPLES / "clr2_testvector_unsigned_clrcredential.json").read_text(encoding="utf-8")
    signed_text = (EXAMPLES / "clr2_testvector_signed_clrcredential_eddsa-rdfc-2022.json").read_text(
        encoding="utf-8"
    )
    credential = _vector_credential(json.loads(unsigned_text))

    built = build_clr_credential(credential, type_style="string")
    assert json.dumps(built, indent=2) + "\n" == unsigned_text

    signer = Signer(vector_key["verificationMethod"], vector_key["private_key"])
    signed = issue_clr(credential, signer, created=CREATED, type_style="string")
    assert isinstance(signed, dict)
    assert json.dumps(signed, indent=2) + "\n" == signed_text


def test_canonical_array_style_signs_the_same_graph(vector_key: dict[str, Any]) -> None:
    """Our canonical form (every ``type`` an array) is the same RDF graph: the same proof value."""
    vector = load(EXAMPLES / "clr2_testvector_signed_clrcredential_eddsa-rdfc-2022.json")
    signer = Signer(vector_key["verificationMethod"], vector_key["private_key"])
    signed = issue_clr(_vector_credential(vector), signer, created=CREATED)
    assert isinstance(signed, dict)
    assert signed["credentialSubject"]["type"] == ["ClrSubject"]
    assert signed["issuer"]["type"] == ["Profile"]
    assert signed["proof"][0]["proofValue"] == vector["proof"][0]["proofValue"]
    result = verify_credential(signed, resolve_key=fragment_key_resolver)
    assert result.verified, result.checks


def test_empty_record_is_refused_by_the_official_schema() -> None:
    vector = load(EXAMPLES / "clr2_testvector_unsigned_clrcredential.json")
    credential = _vector_credential(vector)
    empty = ClrCredential(
        id=credential.id,
        issuer=credential.issuer,
        valid_from=credential.valid_from,
        name=credential.name,
        credential_subject=ClrSubject(verifiable_credential=[]),
    )
    with pytest.raises(SchemaValidationError) as info:
        build_clr_credential(empty)
    assert any("verifiableCredential" in error for error in info.value.errors)


def test_problems_name_nulls_and_bad_association_types() -> None:
    vector = load(EXAMPLES / "clr2_testvector_unsigned_clrcredential.json")
    document = build_clr_credential(_vector_credential(vector))
    assert clr_problems(document) == []
    document["description"] = None
    document["credentialSubject"]["association"][0]["associationType"] = "isUncleOf"
    problems = clr_problems(document)
    assert any(p.startswith("$.description") for p in problems)
    assert any("associationType" in p for p in problems)


def test_signer_must_belong_to_issuer(vector_key: dict[str, Any]) -> None:
    vector = load(EXAMPLES / "clr2_testvector_unsigned_clrcredential.json")
    signer = Signer("https://elsewhere.example/issuers/1#key", vector_key["private_key"])
    with pytest.raises(Exception, match="not to the issuer"):
        issue_clr(_vector_credential(vector), signer)
