"""Open Badges 3.0 data model (the parts this service issues) and its canonical JSON.

Each class has ``to_json()`` returning the canonical form: every multi-valued property is an array even
with one value, ``Image`` is always an object, absent values are omitted (never ``null``), timestamps are
UTC with ``Z``. Property names and classes follow the OB 3.0 specification and its JSON Schema.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from service.credentials.contexts import OB_V3P0, OB_V3P0_EXTENSIONS, VC_V2
from service.credentials.schema import OB_ACHIEVEMENT_CREDENTIAL_SCHEMA, SCHEMA_VALIDATOR_TYPE
from service.credentials.status_list import BitstringStatusListEntry
from service.credentials.timeutil import format_datetime

_CONTROL = {code: None for code in (*range(0, 9), 11, 12, *range(14, 32), 127)}


def clean_text(value: str) -> str:
    """Strip control characters (other than tab, LF, CR) that user text sometimes carries.

    They have no meaning in a badge and RDFC-1.0 escapes them in ways other canonicalizers disagree on,
    so the library refuses to sign them; the builder removes them first.
    """
    return value.translate(_CONTROL)


def _put(target: dict[str, Any], key: str, value: Any) -> None:
    """Add ``value`` unless it is ``None`` or an empty sequence (canonical JSON has no nulls)."""
    if value is None:
        return
    if isinstance(value, str):
        target[key] = clean_text(value)
    elif isinstance(value, list) and not value:
        return
    else:
        target[key] = value


def json_number(value: float | None) -> float | int | None:
    """A whole number as an integer: ``3.0`` and ``3`` must canonicalize alike in every JSON-LD
    processor (JavaScript has no float ``3.0``, so it would read an ``xsd:integer`` where Python reads
    an ``xsd:double``)."""
    if value is None:
        return None
    return int(value) if float(value).is_integer() else float(value)


@dataclass(frozen=True)
class Image:
    """An image (``type: Image``); ``id`` is its URL or a ``data:`` URI."""

    id: str
    caption: str | None = None

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"id": self.id, "type": "Image"}
        _put(out, "caption", self.caption)
        return out


@dataclass(frozen=True)
class Profile:
    """An issuer (or creator) profile: ``id`` (the issuer DID or URL), ``name``, optional ``url``, ..."""

    id: str
    name: str
    url: str | None = None
    email: str | None = None
    description: str | None = None
    image: Image | None = None

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"id": self.id, "type": ["Profile"]}
        _put(out, "name", self.name)
        _put(out, "url", self.url)
        _put(out, "email", self.email)
        _put(out, "description", self.description)
        _put(out, "image", self.image.to_json() if self.image else None)
        return out


@dataclass(frozen=True)
class Criteria:
    """How the achievement is earned: a Markdown ``narrative`` and/or a criteria page ``id``."""

    narrative: str | None = None
    id: str | None = None

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        _put(out, "id", self.id)
        _put(out, "narrative", self.narrative)
        return out


@dataclass(frozen=True)
class Alignment:
    """An alignment to a framework item; for a CASE competency ``target_url`` is the CFItem URL."""

    target_name: str
    target_url: str
    target_type: str | None = "CFItem"
    target_code: str | None = None
    target_description: str | None = None
    target_framework: str | None = None

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"type": ["Alignment"]}
        _put(out, "targetCode", self.target_code)
        _put(out, "targetDescription", self.target_description)
        _put(out, "targetName", self.target_name)
        _put(out, "targetFramework", self.target_framework)
        _put(out, "targetType", self.target_type)
        _put(out, "targetUrl", self.target_url)
        return out


@dataclass(frozen=True)
class RubricCriterionLevel:
    """One level of a rubric scale (e.g. "Proficient"), identified by ``id``."""

    id: str
    name: str
    description: str | None = None
    level: str | None = None
    points: str | None = None
    alignment: Sequence[Alignment] = ()

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"id": self.id, "type": ["RubricCriterionLevel"]}
        _put(out, "alignment", [item.to_json() for item in self.alignment])
        _put(out, "description", self.description)
        _put(out, "level", self.level)
        _put(out, "name", self.name)
        _put(out, "points", self.points)
        return out


@dataclass(frozen=True)
class ResultDescription:
    """What results the achievement records: here the rubric scale (``resultType`` RubricCriterionLevel)."""

    id: str
    name: str
    result_type: str = "RubricCriterionLevel"
    rubric_criterion_level: Sequence[RubricCriterionLevel] = ()
    required_level: str | None = None
    alignment: Sequence[Alignment] = ()
    allowed_value: Sequence[str] = ()
    required_value: str | None = None
    value_min: str | None = None
    value_max: str | None = None

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"id": self.id, "type": ["ResultDescription"]}
        _put(out, "alignment", [item.to_json() for item in self.alignment])
        _put(out, "allowedValue", [clean_text(value) for value in self.allowed_value])
        _put(out, "name", self.name)
        _put(out, "requiredLevel", self.required_level)
        _put(out, "requiredValue", self.required_value)
        _put(out, "resultType", self.result_type)
        _put(out, "rubricCriterionLevel", [level.to_json() for level in self.rubric_criterion_level])
        _put(out, "valueMax", self.value_max)
        _put(out, "valueMin", self.value_min)
        return out


@dataclass(frozen=True)
class Result:
    """A result the learner achieved.

    ``achieved_level`` is the id of a RubricCriterionLevel of the ResultDescription ``result_description``.
    """

    result_description: str | None = None
    achieved_level: str | None = None
    value: str | None = None
    status: str | None = None
    alignment: Sequence[Alignment] = ()

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"type": ["Result"]}
        _put(out, "achievedLevel", self.achieved_level)
        _put(out, "alignment", [item.to_json() for item in self.alignment])
        _put(out, "resultDescription", self.result_description)
        _put(out, "status", self.status)
        _put(out, "value", self.value)
        return out


@dataclass(frozen=True)
class Achievement:
    """The achievement (badge class): a competency of the district's Portrait."""

    id: str
    name: str
    description: str
    criteria: Criteria
    image: Image | None = None
    achievement_type: str | None = "Competency"
    alignment: Sequence[Alignment] = ()
    result_description: Sequence[ResultDescription] = ()
    creator: Profile | None = None
    tag: Sequence[str] = ()
    human_code: str | None = None
    field_of_study: str | None = None
    in_language: str | None = None
    version: str | None = None
    credits_available: float | None = None

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"id": self.id, "type": ["Achievement"]}
        _put(out, "achievementType", self.achievement_type)
        _put(out, "alignment", [item.to_json() for item in self.alignment])
        _put(out, "creator", self.creator.to_json() if self.creator else None)
        _put(out, "creditsAvailable", json_number(self.credits_available))
        out["criteria"] = self.criteria.to_json()
        _put(out, "description", self.description)
        _put(out, "fieldOfStudy", self.field_of_study)
        _put(out, "humanCode", self.human_code)
        _put(out, "image", self.image.to_json() if self.image else None)
        _put(out, "inLanguage", self.in_language)
        _put(out, "name", self.name)
        _put(out, "resultDescription", [item.to_json() for item in self.result_description])
        _put(out, "tag", [clean_text(tag) for tag in self.tag])
        _put(out, "version", self.version)
        return out


def identity_hash(value: str, salt: str) -> str:
    """OB IdentityHash: ``sha256$`` + hex SHA-256 of the UTF-8 identifier with the salt appended."""
    return "sha256$" + hashlib.sha256((value + salt).encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class IdentityObject:
    """A recipient identifier; ``hashed`` identifiers let partners match a learner without seeing PII."""

    identity_hash: str
    identity_type: str
    hashed: bool = True
    salt: str | None = None

    @classmethod
    def hashed_identity(
        cls, value: str, identity_type: str = "emailAddress", salt: str | None = None
    ) -> IdentityObject:
        """Hash ``value`` (emails are lower-cased and trimmed first) with ``salt`` (random when omitted)."""
        normalized = value.strip().lower() if identity_type == "emailAddress" else value.strip()
        salt = salt if salt is not None else secrets.token_hex(16)
        return cls(
            identity_hash=identity_hash(normalized, salt), identity_type=identity_type, hashed=True, salt=salt
        )

    def matches(self, value: str) -> bool:
        """Whether a plaintext identifier (an email, a sourcedId) is the one this object carries."""
        normalized = value.strip().lower() if self.identity_type == "emailAddress" else value.strip()
        if not self.hashed:
            return secrets.compare_digest(self.identity_hash, normalized)
        return secrets.compare_digest(
            self.identity_hash.lower(), identity_hash(normalized, self.salt or "").lower()
        )

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "type": "IdentityObject",
            "hashed": self.hashed,
            "identityHash": self.identity_hash,
            "identityType": self.identity_type,
        }
        _put(out, "salt", self.salt)
        return out


@dataclass(frozen=True)
class Evidence:
    """Evidence of the achievement (an artifact, an exhibition, a rubric score)."""

    id: str | None = None
    name: str | None = None
    narrative: str | None = None
    description: str | None = None
    genre: str | None = None
    audience: str | None = None

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        _put(out, "id", self.id)
        out["type"] = ["Evidence"]
        _put(out, "narrative", self.narrative)
        _put(out, "name", self.name)
        _put(out, "description", self.description)
        _put(out, "genre", self.genre)
        _put(out, "audience", self.audience)
        return out


@dataclass(frozen=True)
class AchievementSubject:
    """The learner: a stable ``id`` (URN or DID), hashed ``identifier`` entries, and what they achieved."""

    achievement: Achievement
    id: str | None = None
    identifier: Sequence[IdentityObject] = ()
    result: Sequence[Result] = ()
    activity_start_date: datetime | None = None
    activity_end_date: datetime | None = None
    narrative: str | None = None
    credits_earned: float | None = None
    term: str | None = None

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        _put(out, "id", self.id)
        out["type"] = ["AchievementSubject"]
        _put(
            out,
            "activityEndDate",
            format_datetime(self.activity_end_date) if self.activity_end_date else None,
        )
        _put(
            out,
            "activityStartDate",
            format_datetime(self.activity_start_date) if self.activity_start_date else None,
        )
        out["achievement"] = self.achievement.to_json()
        _put(out, "creditsEarned", json_number(self.credits_earned))
        _put(out, "identifier", [item.to_json() for item in self.identifier])
        _put(out, "narrative", self.narrative)
        _put(out, "result", [item.to_json() for item in self.result])
        _put(out, "term", self.term)
        return out


@dataclass(frozen=True)
class CredentialSchema:
    """A ``credentialSchema`` entry (by default the official OB 3.0 achievement credential schema)."""

    id: str = OB_ACHIEVEMENT_CREDENTIAL_SCHEMA
    type: str = SCHEMA_VALIDATOR_TYPE

    def to_json(self) -> dict[str, Any]:
        return {"id": self.id, "type": self.type}


@dataclass(frozen=True)
class OpenBadgeCredential:
    """An Open Badges 3.0 ``OpenBadgeCredential`` (unsigned); :meth:`to_json` is its canonical JSON."""

    id: str
    issuer: Profile
    credential_subject: AchievementSubject
    valid_from: datetime
    name: str
    description: str | None = None
    image: Image | None = None
    valid_until: datetime | None = None
    awarded_date: datetime | None = None
    evidence: Sequence[Evidence] = ()
    credential_status: BitstringStatusListEntry | None = None
    credential_schema: Sequence[CredentialSchema] = field(default_factory=lambda: (CredentialSchema(),))
    extension_contexts: Sequence[str] = ()
    #: ``OpenBadgeCredential`` (badges) or its CLR 2.0 name ``AchievementCredential`` (transcript records).
    credential_type: str = "OpenBadgeCredential"

    def contexts(self) -> list[str]:
        """VC v2, OB 3.0.3, then extension contexts only when used (``extensions.json`` last).

        ``extensions.json`` defines ``1EdTechJsonSchemaValidator2019`` (and the 1EdTech revocation list
        and refresh types), so it is added whenever a ``credentialSchema`` entry has that type.
        """
        contexts = [VC_V2, OB_V3P0]
        extensions = list(self.extension_contexts)
        if any(schema.type == SCHEMA_VALIDATOR_TYPE for schema in self.credential_schema):
            extensions.append(OB_V3P0_EXTENSIONS)
        for url in extensions:
            if url not in contexts:
                contexts.append(url)
        if OB_V3P0_EXTENSIONS in contexts:  # keep the 1EdTech extensions context last, as the spec shows
            contexts.remove(OB_V3P0_EXTENSIONS)
            contexts.append(OB_V3P0_EXTENSIONS)
        return contexts

    def to_json(self) -> dict[str, Any]:
        if self.valid_until is not None and self.valid_until <= self.valid_from:
            raise ValueError("validUntil must be after validFrom")
        out: dict[str, Any] = {
            "@context": self.contexts(),
            "id": self.id,
            "type": ["VerifiableCredential", self.credential_type],
            "issuer": self.issuer.to_json(),
            "validFrom": format_datetime(self.valid_from),
        }
        _put(out, "validUntil", format_datetime(self.valid_until) if self.valid_until else None)
        _put(out, "awardedDate", format_datetime(self.awarded_date) if self.awarded_date else None)
        _put(out, "name", self.name)
        _put(out, "description", self.description)
        _put(out, "image", self.image.to_json() if self.image else None)
        out["credentialSubject"] = self.credential_subject.to_json()
        _put(out, "evidence", [item.to_json() for item in self.evidence])
        _put(out, "credentialSchema", [item.to_json() for item in self.credential_schema])
        _put(out, "credentialStatus", self.credential_status.to_json() if self.credential_status else None)
        return out
