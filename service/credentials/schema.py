"""Validation against the official 1EdTech JSON Schemas (draft 2019-09), shipped in ``schemas/``.

Two validators, one verdict: ``jsonschema_rs`` (Rust) answers "valid?" in microseconds, which matters
because the OB schema's nested ``oneOf`` take the pure-Python ``jsonschema`` about 10 ms per credential,
more than signing it. When a document is invalid, ``jsonschema`` lists the violations (its messages and
JSON paths are the ones we report). A test runs both over every example and fixture to prove they agree.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from functools import lru_cache
from pathlib import Path
from typing import Any

import jsonschema_rs
from jsonschema import Draft201909Validator  # type: ignore[import-untyped]

from service.credentials.errors import SchemaValidationError

SCHEMAS_DIR = Path(__file__).parent / "schemas"

OB_ACHIEVEMENT_CREDENTIAL_SCHEMA = (
    "https://purl.imsglobal.org/spec/ob/v3p0/schema/json/ob_v3p0_achievementcredential_schema.json"
)
OB_ENDORSEMENT_CREDENTIAL_SCHEMA = (
    "https://purl.imsglobal.org/spec/ob/v3p0/schema/json/ob_v3p0_endorsementcredential_schema.json"
)
OB_PROFILE_SCHEMA = "https://purl.imsglobal.org/spec/ob/v3p0/schema/json/ob_v3p0_profile_schema.json"
CLR_CREDENTIAL_SCHEMA = (
    "https://purl.imsglobal.org/spec/clr/v2p0/schema/json/clr_v2p0_clrcredential_schema.json"
)
CLR_ACHIEVEMENT_CREDENTIAL_SCHEMA = (
    "https://purl.imsglobal.org/spec/clr/v2p0/schema/json/clr_v2p0_achievementcredential_schema.json"
)
SCHEMA_VALIDATOR_TYPE = "1EdTechJsonSchemaValidator2019"

_FILES = {
    OB_ACHIEVEMENT_CREDENTIAL_SCHEMA: "ob_v3p0_achievementcredential_schema.json",
    OB_ENDORSEMENT_CREDENTIAL_SCHEMA: "ob_v3p0_endorsementcredential_schema.json",
    OB_PROFILE_SCHEMA: "ob_v3p0_profile_schema.json",
    CLR_CREDENTIAL_SCHEMA: "clr_v2p0_clrcredential_schema.json",
    CLR_ACHIEVEMENT_CREDENTIAL_SCHEMA: "clr_v2p0_achievementcredential_schema.json",
}
KNOWN_SCHEMAS = frozenset(_FILES)


def _load(schema_id: str) -> dict[str, Any]:
    try:
        filename = _FILES[schema_id]
    except KeyError:
        raise SchemaValidationError([f"unknown schema {schema_id!r}"]) from None
    schema: dict[str, Any] = json.loads((SCHEMAS_DIR / filename).read_text(encoding="utf-8"))
    return schema


@lru_cache(maxsize=len(_FILES))
def _validator(schema_id: str) -> Draft201909Validator:
    schema = _load(schema_id)
    Draft201909Validator.check_schema(schema)
    return Draft201909Validator(schema)


@lru_cache(maxsize=len(_FILES))
def _fast_validator(schema_id: str) -> jsonschema_rs.Draft201909Validator:
    return jsonschema_rs.Draft201909Validator(_load(schema_id))


def is_valid(document: Mapping[str, Any], schema_id: str = OB_ACHIEVEMENT_CREDENTIAL_SCHEMA) -> bool:
    """Whether ``document`` validates against ``schema_id`` (fast path, no error details)."""
    return bool(_fast_validator(schema_id).is_valid(document))


def detailed_errors(
    document: Mapping[str, Any], schema_id: str = OB_ACHIEVEMENT_CREDENTIAL_SCHEMA
) -> list[str]:
    """Every violation as reported by the pure-Python ``jsonschema`` (slow; no fast path)."""
    validator = _validator(schema_id)
    errors = sorted(validator.iter_errors(document), key=lambda error: list(error.absolute_path))
    return [f"{error.json_path}: {_short(error.message)}" for error in errors]


def schema_for(credential: Mapping[str, Any]) -> str | None:
    """The official schema that applies to a VCDM 2.0 credential, from its ``type``.

    ClrCredential -> CLR 2.0; EndorsementCredential -> OB endorsement; OpenBadgeCredential /
    AchievementCredential -> OB achievement credential; anything else -> ``None``.
    """
    types = credential.get("type")
    type_set = set(types) if isinstance(types, list) else {types}
    if "ClrCredential" in type_set:
        return CLR_CREDENTIAL_SCHEMA
    if "EndorsementCredential" in type_set:
        return OB_ENDORSEMENT_CREDENTIAL_SCHEMA
    if type_set & {"OpenBadgeCredential", "AchievementCredential"}:
        return OB_ACHIEVEMENT_CREDENTIAL_SCHEMA
    return None


def schema_errors(
    document: Mapping[str, Any], schema_id: str = OB_ACHIEVEMENT_CREDENTIAL_SCHEMA
) -> list[str]:
    """Every violation of ``schema_id`` by ``document``, as ``"<json path>: <message>"`` strings
    (empty when it validates)."""
    if is_valid(document, schema_id):
        return []
    errors = detailed_errors(document, schema_id)
    if not errors:  # the two validators disagree: report what the fast one saw rather than pass
        errors = [
            f"$.{'.'.join(str(part) for part in error.instance_path)}: {_short(error.message)}"
            for error in _fast_validator(schema_id).iter_errors(document)
        ]
    return errors


def validate(document: Mapping[str, Any], schema_id: str = OB_ACHIEVEMENT_CREDENTIAL_SCHEMA) -> None:
    """Raise :class:`SchemaValidationError` (listing each violation) unless ``document`` validates."""
    errors = schema_errors(document, schema_id)
    if errors:
        raise SchemaValidationError(errors)


def _short(message: str, limit: int = 300) -> str:
    return message if len(message) <= limit else message[: limit - 3] + "..."
