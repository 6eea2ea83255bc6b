"""The ClrCredential canonicalization that reuses embedded credentials gives exactly the plain N-Quads."""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest

from service.credentials import Signer, clr_canonical
from service.credentials.clr import sign_clr_data_integrity
from service.credentials.clr_canonical import canonicalize
from service.credentials.data_integrity import unsecured_document, verify_proof
from service.credentials.errors import SafeModeError
from service.credentials.linked_data import canonicalize as plain_canonicalize
from tests.transcripts.clr_sample import build_clr, did_key_signer, large_clr, load_vector


def _unsigned(document: dict[str, Any]) -> dict[str, Any]:
    return unsecured_document(document)


def _same(document: dict[str, Any]) -> str:
    composed = canonicalize(document)
    plain = plain_canonicalize(document, memoize=False)
    assert composed == plain
    return composed


def test_test_vector_and_samples_cold_and_warm() -> None:
    signer = did_key_signer()
    for document in (load_vector(), build_clr(signer), large_clr(signer, badges=8, courses=6)):
        unsigned = _unsigned(document)
        _same(unsigned)  # cold: every embedded credential processed now
        pieces = len(clr_canonical._pieces._data)
        _same(unsigned)  # warm: every one reused
        assert len(clr_canonical._pieces._data) == pieces
        # Another transcript holding the same credentials (new id, new name): the reused pieces still fit.
        other = {**unsigned, "id": unsigned["id"] + "-2", "name": "Another record"}
        _same(other)


def test_reordered_shared_and_duplicated_embedded_credentials() -> None:
    signer = did_key_signer()
    unsigned = _unsigned(build_clr(signer))
    subject = unsigned["credentialSubject"]
    nested = subject["verifiableCredential"]
    _same(unsigned)
    # The same credential twice (its blank nodes twice, its IRI triples once), then reversed order.
    twice = {**unsigned, "credentialSubject": {**subject, "verifiableCredential": [*nested, nested[0]]}}
    _same(twice)
    reversed_ = {**unsigned, "credentialSubject": {**subject, "verifiableCredential": nested[::-1]}}
    _same(reversed_)
    # Only some of them (a learner with fewer records), and achievements left out.
    fewer = {
        **unsigned,
        "credentialSubject": {key: value for key, value in subject.items() if key != "achievement"}
        | {"verifiableCredential": nested[:2]},
    }
    _same(fewer)


def test_changed_embedded_credential_is_not_taken_from_the_cache() -> None:
    unsigned = _unsigned(build_clr(did_key_signer()))
    before = _same(unsigned)
    changed = copy.deepcopy(unsigned)
    changed["credentialSubject"]["verifiableCredential"][-1]["name"] = "Changed after signing"
    after = _same(changed)
    assert after != before
    assert "Changed after signing" in after


def test_plain_path_for_blank_ids_and_jws_strings() -> None:
    unsigned = _unsigned(build_clr(did_key_signer()))
    subject = unsigned["credentialSubject"]
    blank = copy.deepcopy(unsigned)
    blank["credentialSubject"]["verifiableCredential"][0]["credentialSubject"]["id"] = "_:learner"
    _same(blank)
    jws = {
        **unsigned,
        "credentialSubject": {
            **subject,
            "verifiableCredential": [*subject["verifiableCredential"], "eyJh.e30.c2ln"],
        },
    }
    _same(jws)


def test_undefined_term_inside_an_embedded_credential_is_refused_as_before() -> None:
    unsigned = _unsigned(build_clr(did_key_signer()))
    bad = copy.deepcopy(unsigned)
    bad["credentialSubject"]["verifiableCredential"][0]["credentialSubject"]["favouriteColour"] = "blue"
    with pytest.raises(SafeModeError) as plain:
        plain_canonicalize(bad, memoize=False)
    with pytest.raises(SafeModeError) as composed:
        canonicalize(bad)
    assert str(composed.value) == str(plain.value)
    assert "favouriteColour" in str(composed.value)


def test_signed_with_the_composed_path_verifies_and_equals_the_plain_proof() -> None:
    from service.credentials import sign_data_integrity

    signer = did_key_signer()
    unsigned = _unsigned(build_clr(signer))
    created = None
    composed = sign_clr_data_integrity(unsigned, signer, created=created)
    plain = sign_data_integrity(unsigned, signer, created=_created(composed))
    assert json.dumps(composed) == json.dumps(plain)  # Ed25519 is deterministic: same input, same bytes
    verify_proof(composed, composed["proof"][0], signer.private_key.public_key())


def _created(signed: dict[str, Any]) -> Any:
    from service.credentials.timeutil import parse_datetime

    return parse_datetime(signed["proof"][0]["created"])


def test_key_type_is_checked() -> None:
    from service.credentials import generate_private_key

    unsigned = _unsigned(build_clr(did_key_signer()))
    rsa = Signer("did:web:example.org#key-1", generate_private_key("RSA"))
    with pytest.raises(Exception, match="Ed25519"):
        sign_clr_data_integrity(unsigned, rsa)


def test_subject_without_id_keeps_its_references_in_pyld() -> None:
    unsigned = _unsigned(build_clr(did_key_signer()))
    _same(unsigned)  # pieces cached
    subject = {key: value for key, value in unsigned["credentialSubject"].items() if key != "id"}
    _same({**unsigned, "credentialSubject": subject})  # a blank ClrSubject: links made by pyld itself


def _variant(document: dict[str, Any], n: int) -> dict[str, Any]:
    """The document with every embedded credential changed in its strings only (new ids, names, proof
    values, subjects): the same shapes, none of the exact pieces."""
    out = copy.deepcopy(document)
    for index, item in enumerate(out["credentialSubject"]["verifiableCredential"]):
        item["id"] = f"urn:uuid:00000000-0000-4000-8000-{n:06d}{index:06d}"
        item["name"] = f"{item['name']} (variant {n})"
        item["credentialSubject"]["id"] = f"https://learners.example/{n}"
        proof = item["proof"] if isinstance(item["proof"], dict) else item["proof"][0]
        proof["proofValue"] = proof["proofValue"][:-6] + f"{n:06d}"
    return out


def test_credentials_of_a_known_shape_are_composed_from_the_shape() -> None:
    """A cohort's records and badges of one achievement differ only in strings: from the second of a
    shape on, a credential's piece is the shape's quads with its strings put back, never expanded."""
    base = _unsigned(large_clr(did_key_signer(), badges=6, courses=8))
    clr_canonical._shapes._data.clear()
    for n in range(3):
        _same(_variant(base, n))
    learned = [entry[3] for entry in clr_canonical._shapes._data.values()]
    assert any(isinstance(shape, clr_canonical._PieceShape) for shape in learned)
    # Equal strings in two slots (the learner's id as the credential's id too): one triple, as in toRdf.
    same_ids = _variant(base, 7)
    for item in same_ids["credentialSubject"]["verifiableCredential"]:
        item["credentialSubject"]["id"] = item["id"]
    _same(same_ids)


def test_known_shape_with_a_string_safe_mode_refuses_takes_the_full_path() -> None:
    base = _unsigned(large_clr(did_key_signer(), badges=6, courses=8))
    for n in range(3):
        _same(_variant(base, 10 + n))
    bad = _variant(base, 20)
    bad["credentialSubject"]["verifiableCredential"][-1]["name"] = "bell \x07 inside"
    with pytest.raises(SafeModeError, match="control character"):
        plain_canonicalize(bad, memoize=False)
    # Refused as a piece expanded on its own is (the path names the embedded credential's place).
    with pytest.raises(SafeModeError, match="control character"):
        canonicalize(bad)
    relative = _variant(base, 21)
    relative["credentialSubject"]["verifiableCredential"][-1]["credentialSubject"]["id"] = "https:x y"
    _same_error_or_output(relative)


def _same_error_or_output(document: dict[str, Any]) -> None:
    try:
        plain = plain_canonicalize(document, memoize=False)
    except SafeModeError:
        with pytest.raises(SafeModeError):
            canonicalize(document)
        return
    assert canonicalize(document) == plain
