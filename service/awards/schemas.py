"""Achievement and award schemas."""

from __future__ import annotations

import ipaddress
import re
import uuid
from datetime import datetime
from typing import Annotated, Any, Literal
from urllib.parse import urlsplit

from pydantic import AfterValidator, Field, GetJsonSchemaHandler
from pydantic.json_schema import JsonSchemaValue
from pydantic_core import CoreSchema

from service.awards import rules
from service.net import forbidden_reason
from service.schemas import InputSchema, ReadSchema

AwardMode = Literal["automatic", "review", "manual"]
AwardStatus = Literal["pending_review", "awarded", "rejected", "revoked"]
#: What a write did to an award (see ``AwardChange``).
AwardChangeKind = Literal["created", "flagged_for_review"]

#: The award state machine, as documentation for both APIs.
AWARD_STATUS_DESCRIPTION = (
    "pending_review (the rule was met and the achievement's award_mode is review) -> awarded (approved) "
    "or rejected; awarded (by a rule in automatic mode, by hand, or approved) -> revoked (by the "
    "revoke decision, or when its credential is revoked directly). rejected and revoked are final: the "
    "learner keeps one award per achievement, so it is never made again. Withdrawn or corrected evidence "
    "never changes the status; it sets needs_review."
)
AchievementStatus = Literal["active", "archived"]
Text = Annotated[str, Field(min_length=1, max_length=20_000)]
_DATA_IMAGE = re.compile(
    r"^data:image/(png|svg\+xml|jpeg|gif|webp)(;[a-z0-9=.-]+)*(;base64)?,[A-Za-z0-9+/=%._~-]+$"
)
_LOCAL_SUFFIXES = (".localhost", ".local", ".internal", ".intranet", ".lan", ".home.arpa", ".corp")


def check_image_url(value: str) -> str:
    """An image every viewer's browser may load: an https URL of a public host, or a data: image.

    Credentials carry the image to every page that shows them; an http URL or an internal host would
    be a tracking pixel or an intranet probe in each viewer's browser. Host names are judged by their
    form (no DNS lookup: the page, not the service, fetches the image); IP literals must be public.
    """
    if value.startswith("data:"):
        if not _DATA_IMAGE.match(value):
            raise ValueError("a data: URI must be a base64 or URL-encoded PNG, SVG, JPEG, GIF or WebP image")
        return value
    try:
        parts = urlsplit(value)
        host = (parts.hostname or "").lower().rstrip(".")
    except ValueError as exc:
        raise ValueError(f"not a URL: {exc}") from exc
    if parts.scheme != "https":
        raise ValueError("must be an https URL (or a data: image)")
    if not host or parts.username is not None or parts.password is not None:
        raise ValueError("must name a host, without credentials")
    try:
        address = ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        if "." not in host or host == "localhost" or host.endswith(_LOCAL_SUFFIXES):
            raise ValueError(f"the host {host} is not a public host name") from None
        return value
    reason = forbidden_reason(address)
    if reason is not None:
        raise ValueError(f"the host must be public: {reason}")
    return value


ImageUrl = Annotated[str, Field(max_length=256 * 1024), AfterValidator(check_image_url)]


class _RuleDocument:
    """A rule field holds JSON data that the award service validates with ``rules.parse_rule_input``
    (errors named ``body.rule.<field>``); the contract shows its typed schema, ``RuleInput``."""

    @classmethod
    def __get_pydantic_json_schema__(cls, core: CoreSchema, handler: GetJsonSchemaHandler) -> JsonSchemaValue:
        return handler(rules.RULE_INPUT_ADAPTER.core_schema)


class _StoredRuleDocument:
    """A stored rule as reads return it: levels as positions, ``{}`` when there is no rule."""

    @classmethod
    def __get_pydantic_json_schema__(cls, core: CoreSchema, handler: GetJsonSchemaHandler) -> JsonSchemaValue:
        return {
            "anyOf": [
                handler(rules.RULE_ADAPTER.core_schema),
                {"type": "object", "maxProperties": 0, "description": "no rule: awarded by hand only"},
            ]
        }


#: Rule data as clients send it (see ``rules.EvidenceRuleInput`` and ``rules.CompositeRule``).
RuleDocument = Annotated[dict[str, Any], _RuleDocument]
StoredRuleDocument = Annotated[dict[str, Any], _StoredRuleDocument]

_RULE_DESCRIPTION = (
    "the award rule, told apart by `type`: evidence (pieces of evidence about competencies meet "
    "thresholds) or composite (other achievements are earned); none: awarded by hand only "
    "(award_mode manual)"
)


class AchievementCreate(InputSchema):
    title: Annotated[str, Field(min_length=1, max_length=500)]
    description: Text
    criteria: Text = Field(description="what a learner must show, in words (Open Badges criteria.narrative)")
    achievement_type: Annotated[str, Field(min_length=1, max_length=64)] = "Competency"
    framework_id: uuid.UUID | None = None
    image_url: ImageUrl | None = None
    tags: Annotated[list[Annotated[str, Field(min_length=1, max_length=100)]], Field(max_length=20)] = Field(
        default_factory=list
    )
    rule: RuleDocument | None = Field(default=None, description=_RULE_DESCRIPTION)
    award_mode: AwardMode = Field(
        default="automatic",
        description="automatic: awarded when the rule is met; review: an educator approves each award "
        "(pending_review first); manual: only by hand",
    )


class AchievementUpdate(InputSchema):
    title: Annotated[str, Field(min_length=1, max_length=500)] | None = None
    description: Text | None = None
    criteria: Text | None = None
    image_url: ImageUrl | None = None
    tags: (
        Annotated[list[Annotated[str, Field(min_length=1, max_length=100)]], Field(max_length=20)] | None
    ) = None
    rule: RuleDocument | None = Field(
        default=None,
        description="a new rule (a new rule_version; learners who already meet it are awarded by a batch "
        "evaluation job); null removes the rule (needs award_mode manual)",
    )
    award_mode: AwardMode | None = None
    status: AchievementStatus | None = None


class AchievementRead(ReadSchema):
    id: uuid.UUID
    framework_id: uuid.UUID | None
    title: str
    description: str
    criteria: str
    achievement_type: str
    image_url: str | None
    tags: list[str]
    rule: StoredRuleDocument = Field(
        description="the award rule as stored: min_level as a position on the rubric scale; {} for none"
    )
    rule_version: int
    award_mode: AwardMode
    status: AchievementStatus
    created_at: datetime
    updated_at: datetime


class AwardRead(ReadSchema):
    id: uuid.UUID
    learner_id: uuid.UUID
    achievement_id: uuid.UUID
    status: AwardStatus = Field(description=AWARD_STATUS_DESCRIPTION)
    method: Literal["rule", "manual"]
    rule_version: int | None
    evidence_ids: list[uuid.UUID] = Field(default_factory=list)
    needs_review: bool
    review_reason: str | None
    decided_by: str | None
    decided_at: datetime | None
    awarded_at: datetime | None
    credential_id: uuid.UUID | None
    issuance_status: str = Field(
        description="the Open Badges credential: waiting (not issued yet), issued, or revoked"
    )
    created_at: datetime


class AwardChange(ReadSchema):
    """An award that a write created or changed, and what happened to it."""

    award_id: uuid.UUID
    learner_id: uuid.UUID
    achievement_id: uuid.UUID
    status: AwardStatus = Field(description="the award's status after the write")
    change: AwardChangeKind = Field(
        description=(
            "created: the write earned it (status awarded, or pending_review when the achievement needs "
            "review; composite achievements earned in turn are listed too); flagged_for_review: evidence "
            "it relied on was withdrawn or corrected, so needs_review is now true (its status is kept)"
        )
    )


class ManualAward(InputSchema):
    learner_id: uuid.UUID
    achievement_id: uuid.UUID
    reason: Annotated[str, Field(min_length=1, max_length=2000)]
    evidence_ids: Annotated[list[uuid.UUID], Field(max_length=100)] = Field(default_factory=list)


class AwardDecision(InputSchema):
    decision: Literal["approve", "reject", "keep", "revoke"] = Field(
        description="approve/reject a pending award; keep/revoke an awarded one flagged for review"
    )
    reason: Annotated[str, Field(min_length=1, max_length=2000)] | None = None


class AchievementProgress(ReadSchema):
    achievement_id: uuid.UUID
    title: str
    earned: bool
    award_status: AwardStatus | None
    reasons: list[str]
    progress: dict[str, Any]


class CompetencyLevel(ReadSchema):
    competency_id: uuid.UUID
    framework_id: uuid.UUID
    title: str
    level: float | None = Field(
        description="current level by the mastery calculation (position on the scale)"
    )
    level_title: str | None
    evidence_count: int


class LearnerProgress(ReadSchema):
    learner_id: uuid.UUID
    method: str
    competencies: list[CompetencyLevel]
    achievements: list[AchievementProgress]


class RosterCell(ReadSchema):
    competency_id: uuid.UUID
    level: float | None
    level_title: str | None
    evidence_count: int


class RosterRow(ReadSchema):
    learner_id: uuid.UUID
    given_name: str
    family_name: str
    cells: list[RosterCell]


class ClassProgress(ReadSchema):
    class_id: uuid.UUID
    method: str
    competencies: list[dict[str, Any]]
    learners: list[RosterRow]


class EvaluateRequest(InputSchema):
    achievement_id: uuid.UUID | None = Field(default=None, description="only this achievement's rule")
