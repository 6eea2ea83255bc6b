"""VC Data Model rules (pure): each broken rule is named with its path."""

from __future__ import annotations

from typing import Any

import pytest

from service.credentials.data_model import (
    PARSING_ERROR,
    RANGE_ERROR,
    credential_problems,
    is_url,
    presentation_problems,
)

V2 = "https://www.w3.org/ns/credentials/v2"
V1 = "https://www.w3.org/2018/credentials/v1"


def base(**changes: Any) -> dict[str, Any]:
    document: dict[str, Any] = {
        "@context": [V2],
        "type": ["VerifiableCredential"],
        "issuer": "did:example:issuer",
        "validFrom": "2024-01-01T00:00:00+02:00",
        "credentialSubject": {"id": "did:example:s", "name": "x"},
    }
    for key, value in changes.items():
        if value is None:
            document.pop(key, None)
        else:
            document[key] = value
    return document


@pytest.mark.parametrize(
    ("document", "rule", "path"),
    [
        (base(**{"@context": None}), "@context", "vc.@context"),
        (base(**{"@context": [V2, 5]}), "@context", "vc.@context"),
        (base(type="VerifiableCredential2"), "type", "vc.type"),
        (base(issuer=None), "issuer", "vc.issuer"),
        (base(issuer={"id": "x"}), "issuer", "vc.issuer.id"),
        (base(credentialSubject=[]), "credentialSubject", "vc.credentialSubject"),
        (base(credentialSubject=[{"id": "not a url"}]), "credentialSubject", "vc.credentialSubject[0].id"),
        (base(validFrom="2024-13-01T00:00:00Z"), "validFrom", "vc.validFrom"),
        (base(validUntil="2024-01-01T00:00:00"), "validUntil", "vc.validUntil"),
        (base(evidence=[{"id": "https://e.example"}]), "evidence", "vc.evidence[0]"),
        (base(termsOfUse={"type": "x", "id": "bad id"}), "termsOfUse", "vc.termsOfUse.id"),
        (base(description=[{"@value": 1}]), "description", "vc.description"),
        (
            base(proof={"type": "DataIntegrityProof", "proofPurpose": "x", "verificationMethod": "y"}),
            "proof",
            "vc.proof.cryptosuite",
        ),
        (
            base(proof=[{"type": "DataIntegrityProof", "cryptosuite": "c", "verificationMethod": "did:x:y"}]),
            "proof",
            "vc.proof[0].proofPurpose",
        ),
        (
            {
                "@context": [V1],
                "type": ["VerifiableCredential"],
                "issuer": "did:x:y",
                "credentialSubject": {"a": 1},
            },
            "issuanceDate",
            "vc.issuanceDate",
        ),
    ],
)
def test_each_rule_is_named(document: dict[str, Any], rule: str, path: str) -> None:
    problems = credential_problems(document, "vc")
    assert (rule, path) in [(p.rule, p.path) for p in problems], problems


def test_valid_documents_have_no_problems() -> None:
    assert credential_problems(base(name=[{"@value": "n", "@language": "en"}], proof={"type": "Other"})) == []
    vc1 = {
        "@context": [V1],
        "type": ["VerifiableCredential"],
        "issuer": {"id": "https://i.example"},
        "issuanceDate": "2024-01-01T00:00:00",  # VC 1.1: xsd:dateTime, no time zone needed
        "credentialSubject": {"a": 1},
    }
    assert credential_problems(vc1) == []


def test_problem_types() -> None:
    assert credential_problems("x")[0].type == PARSING_ERROR
    ranged = credential_problems(base(validUntil="2023-01-01T00:00:00Z"))
    assert [p.type for p in ranged] == [RANGE_ERROR]


def test_presentations() -> None:
    vp = {
        "@context": [V2],
        "type": "VerifiablePresentation",
        "holder": {"id": "did:x:h"},
        "verifiableCredential": ["a.b.c", {}],
    }
    assert presentation_problems(vp) == []
    assert presentation_problems([])[0].rule == "presentation"
    bad = presentation_problems({**vp, "verifiableCredential": [3], "id": "x"})
    assert {p.path for p in bad} == {
        "verifiablePresentation.verifiableCredential[0]",
        "verifiablePresentation.id",
    }


@pytest.mark.parametrize(
    ("value", "ok"),
    [
        ("https://a.example/x", True),
        ("did:key:z6Mk", True),
        ("urn:uuid:1", True),
        ("relative/path", False),
        ("has space:x y", False),
        (5, False),
    ],
)
def test_is_url(value: Any, ok: bool) -> None:
    assert is_url(value) is ok


def test_exceeds_depth() -> None:
    from service.credentials.data_model import exceeds_depth

    value: Any = 1
    for _ in range(10):
        value = [value]
    assert not exceeds_depth(value, 10) and exceeds_depth(value, 9)
    assert not exceeds_depth({"a": [{"b": "c"}]}, 3) and exceeds_depth({"a": [{"b": {}}]}, 3)
    wide = {str(i): {"x": [i]} for i in range(10_000)}
    assert not exceeds_depth(wide, 3)
