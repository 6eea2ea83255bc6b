"""OB 3.0 builder: canonical JSON, official schema, safe-mode expansion, identity hashes."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest

from service.credentials import (
    CredentialError,
    IdentityObject,
    Image,
    SchemaValidationError,
    build_credential,
    canonical_problems,
    check_credential,
    expand,
    identity_hash,
    issue,
    validate,
)
from service.credentials.contexts import OB_V3P0, OB_V3P0_EXTENSIONS, VC_V2
from service.credentials.models import CredentialSchema, clean_text
from service.credentials.schema import OB_ACHIEVEMENT_CREDENTIAL_SCHEMA
from tests.credentials.conftest import LEVEL_IDS, RUBRIC_ID, Issuer, sample_credential

# Multi-valued properties in the OB 3.0 data model: always arrays in our canonical JSON.
ARRAYS = {
    "type", "@context", "identifier", "alignment", "resultDescription", "rubricCriterionLevel", "result",
    "evidence", "credentialSchema", "allowedValue", "tag",
}  # fmt: skip
SINGLE_TYPE = {"Image", "IdentityObject", "BitstringStatusListEntry", "1EdTechJsonSchemaValidator2019"}


def _walk(value: Any, path: str = "$") -> list[tuple[str, str, Any]]:
    found: list[tuple[str, str, Any]] = []
    if isinstance(value, dict):
        for key, item in value.items():
            found.append((path, key, item))
            found.extend(_walk(item, f"{path}.{key}"))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            found.extend(_walk(item, f"{path}[{index}]"))
    return found


def test_builder_output_validates_against_the_official_schema(issuer: Issuer) -> None:
    document = build_credential(sample_credential(issuer.did))
    validate(document, OB_ACHIEVEMENT_CREDENTIAL_SCHEMA)
    check_credential(document)
    assert expand(document)


def test_canonical_json_rules(issuer: Issuer) -> None:
    document = build_credential(sample_credential(issuer.did))
    for path, key, value in _walk(document):
        assert value is not None, f"{path}.{key} is null"
        if key == "resultDescription" and ".result[" in path:
            assert isinstance(value, str)  # a Result names its ResultDescription by id
        elif key in ARRAYS:
            if key == "type" and isinstance(value, str):
                assert value in SINGLE_TYPE, f"{path}.type must be an array"
            else:
                assert isinstance(value, list), f"{path}.{key} must be an array"
        if key == "image":
            assert isinstance(value, dict) and value["type"] == "Image"
    assert document["validFrom"] == "2025-01-15T12:30:00Z"
    assert canonical_problems(document) == []


def test_contents(issuer: Issuer) -> None:
    document = build_credential(sample_credential(issuer.did))
    assert document["@context"] == [VC_V2, OB_V3P0, OB_V3P0_EXTENSIONS]
    assert document["type"] == ["VerifiableCredential", "OpenBadgeCredential"]
    assert document["issuer"] == {
        "id": issuer.did, "type": ["Profile"], "name": "North District", "url": "https://north.example.org"
    }  # fmt: skip
    subject = document["credentialSubject"]
    assert subject["id"] == "urn:uuid:5a1f0c39-0f2b-4f55-9b7c-8c3c8d2f7e10"
    assert subject["identifier"][0] == {
        "type": "IdentityObject",
        "hashed": True,
        "identityHash": identity_hash("learner@example.org", "c0ffee"),
        "identityType": "emailAddress",
        "salt": "c0ffee",
    }
    assert subject["identifier"][1]["identityType"] == "sourcedId"
    achievement = subject["achievement"]
    assert achievement["criteria"] == {
        "narrative": "Proficient or higher on two performance tasks.\n\nScored by teachers."
    }
    assert achievement["alignment"][0]["targetType"] == "CFItem"
    assert achievement["alignment"][0]["type"] == ["Alignment"]
    rubric = achievement["resultDescription"][0]
    assert rubric["resultType"] == "RubricCriterionLevel"
    assert [level["id"] for level in rubric["rubricCriterionLevel"]] == LEVEL_IDS
    assert rubric["requiredLevel"] == LEVEL_IDS[2]
    assert subject["result"] == [
        {"type": ["Result"], "achievedLevel": LEVEL_IDS[3], "resultDescription": RUBRIC_ID}
    ]
    assert document["evidence"][0]["type"] == ["Evidence"]
    assert document["credentialSchema"] == [
        {"id": OB_ACHIEVEMENT_CREDENTIAL_SCHEMA, "type": "1EdTechJsonSchemaValidator2019"}
    ]
    assert document["credentialStatus"]["type"] == "BitstringStatusListEntry"
    assert document["credentialStatus"]["statusListIndex"] == "94567"


def test_extensions_context_only_when_used(issuer: Issuer) -> None:
    document = build_credential(sample_credential(issuer.did, credential_schema=()))
    assert document["@context"] == [VC_V2, OB_V3P0]
    assert "credentialSchema" not in document


def test_optional_values_are_omitted_not_null(issuer: Issuer) -> None:
    document = build_credential(
        sample_credential(issuer.did, evidence=(), credential_status=None, description=None)
    )
    assert "evidence" not in document and "credentialStatus" not in document and "description" not in document


def test_dates_are_utc_with_z(issuer: Issuer) -> None:
    eastern = timezone(timedelta(hours=-5))
    document = build_credential(
        sample_credential(
            issuer.did,
            valid_from=datetime(2025, 1, 15, 7, 30, 15, 123456, tzinfo=eastern),
            valid_until=datetime(2026, 1, 1, tzinfo=eastern),
        )
    )
    assert document["validFrom"] == "2025-01-15T12:30:15Z"
    assert document["validUntil"] == "2026-01-01T05:00:00Z"


def test_valid_until_must_follow_valid_from(issuer: Issuer) -> None:
    with pytest.raises(ValueError, match="validUntil"):
        build_credential(sample_credential(issuer.did, valid_until=datetime(2024, 1, 1, tzinfo=UTC)))


def test_identity_hash_matches_the_spec_example() -> None:
    # OB 3.0 IdentityHash: SHA-256 of 'a@example.com' salted with 'Kosher'.
    assert identity_hash("a@example.com", "Kosher") == (
        "sha256$b5809d8a92f8858436d7e6b87c12ebc0ae1eac4baecc2c0b913aee2c922ef399"
    )
    identity = IdentityObject.hashed_identity(" A@Example.com ", salt="Kosher")
    assert identity.identity_hash == identity_hash("a@example.com", "Kosher")
    assert identity.matches("a@example.com") and not identity.matches("b@example.com")
    random_salt = IdentityObject.hashed_identity("a@example.com")
    assert random_salt.salt and len(random_salt.salt) == 32
    assert random_salt.identity_hash != identity.identity_hash


def test_control_characters_are_stripped_from_text(issuer: Issuer) -> None:
    assert clean_text("Team\x0cwork\x00\tok\n") == "Teamwork\tok\n"
    document = build_credential(sample_credential(issuer.did, name="Collab\x0boration"))
    assert document["name"] == "Collaboration"


def test_canonical_problems_are_reported() -> None:
    problems = canonical_problems(
        {"name": None, "image": "https://x.example/a.png", "validFrom": "2025-01-01T00:00:00+02:00"}
    )
    assert problems == [
        "$.name: null",
        "$.image: must be an Image object, not a bare string",
        "$.validFrom: must be UTC ending in 'Z'",
    ]


class _Text(str):
    pass


def test_canonical_problems_found_deep_and_in_subclasses() -> None:
    """The quick pre-check (no JSON paths) must not miss what the full walk reports."""
    problems = canonical_problems(
        {
            "evidence": [{"name": "ok"}, None],
            "credentialSubject": {"achievement": {"image": _Text("https://x.example/a.png")}},
            "proof": [{"validUntil": _Text("2025-01-01T00:00:00+02:00")}],
            "tag": ["a", _Text("b"), 1, 2.5, True],
        }
    )
    assert problems == [
        "$.evidence[1]: null",
        "$.credentialSubject.achievement.image: must be an Image object, not a bare string",
        "$.proof[0].validUntil: must be UTC ending in 'Z'",
    ]
    assert canonical_problems({"tag": [_Text("b")], "image": {"id": "x"}, "validFrom": "2025-01-01Z"}) == []


def test_schema_failure_names_the_field(issuer: Issuer) -> None:
    document = build_credential(sample_credential(issuer.did))
    document["credentialSubject"]["identifier"][0]["type"] = "Identity"
    with pytest.raises(SchemaValidationError, match=r"\$\.credentialSubject\.identifier"):
        check_credential(document)


def test_issue_refuses_a_key_of_another_issuer(issuer: Issuer) -> None:
    with pytest.raises(CredentialError, match="not to the issuer"):
        issue(sample_credential("did:web:elsewhere.example:issuers:x"), issuer.signer())


def test_image_objects_and_other_schema(issuer: Issuer) -> None:
    credential = sample_credential(
        issuer.did,
        image=Image(id="data:image/png;base64,iVBORw0KGgo=", caption="Badge"),
        credential_schema=(CredentialSchema(),),
    )
    document = build_credential(credential)
    assert document["image"] == {
        "id": "data:image/png;base64,iVBORw0KGgo=",
        "type": "Image",
        "caption": "Badge",
    }
