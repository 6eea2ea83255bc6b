"""The official JSON Schemas: examples validate, and the fast and the detailed validator agree."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from service.credentials import schema_errors, schema_for
from service.credentials.schema import KNOWN_SCHEMAS, SCHEMAS_DIR, detailed_errors, is_valid
from tests.credentials.conftest import EXAMPLES, FIXTURES, OPENBADGES, load

CREDENTIAL_EXAMPLES = sorted(
    path
    for path in EXAMPLES.glob("*.json")
    if isinstance(load(path), dict) and "credentialSubject" in load(path)
)
ALL_DOCUMENTS = CREDENTIAL_EXAMPLES + sorted(FIXTURES.glob("*/*.json"))


def test_shipped_schemas_are_the_official_files() -> None:
    for schema_id in KNOWN_SCHEMAS:
        name = schema_id.rsplit("/", 1)[-1]
        assert (SCHEMAS_DIR / name).read_bytes() == (OPENBADGES / "schemas" / name).read_bytes()
        assert load(SCHEMAS_DIR / name)["$id"] == schema_id


@pytest.mark.parametrize("path", CREDENTIAL_EXAMPLES, ids=[p.name for p in CREDENTIAL_EXAMPLES])
def test_spec_examples_validate(path: Path) -> None:
    document = load(path)
    schema_id = schema_for(document)
    assert schema_id is not None
    assert schema_errors(document, schema_id) == []


@pytest.mark.parametrize("path", ALL_DOCUMENTS, ids=[f"{p.parent.name}/{p.name}" for p in ALL_DOCUMENTS])
def test_fast_and_detailed_validators_agree(path: Path) -> None:
    document: Any = load(path)
    for schema_id in sorted(KNOWN_SCHEMAS):
        assert is_valid(document, schema_id) == (detailed_errors(document, schema_id) == []), schema_id


def test_broken_documents_name_the_field() -> None:
    document = load(EXAMPLES / "ob3_basic_openbadgecredential.json")
    del document["credentialSubject"]["achievement"]["criteria"]
    document["issuer"]["type"] = ["Organization"]
    errors = schema_errors(document)
    assert any(
        error.startswith("$.credentialSubject.achievement") and "criteria" in error for error in errors
    )
    assert any(error.startswith("$.issuer") for error in errors)
