"""Achievements (badge definitions with their award rule) and awards."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKeyConstraint, Index, PrimaryKeyConstraint, Text, UniqueConstraint
from sqlmodel import Field, SQLModel

from service.db import JSONType, UTCDateTime, created_at_field, new_id, updated_at_field


class Achievement(SQLModel, table=True):
    """What a learner can earn. The rule is JSON data, versioned with the achievement."""

    __tablename__ = "achievements"
    __table_args__ = (
        PrimaryKeyConstraint("tenant_id", "id"),
        ForeignKeyConstraint(["tenant_id"], ["tenants.id"], ondelete="CASCADE"),
    )

    tenant_id: uuid.UUID
    id: uuid.UUID = Field(default_factory=new_id)
    framework_id: uuid.UUID | None = None
    title: str = Field(max_length=500)
    description: str = Field(sa_type=Text)
    criteria: str = Field(sa_type=Text)
    achievement_type: str = Field(default="Competency", max_length=64)
    image_url: str | None = Field(default=None, max_length=2000)
    tags: list[str] = Field(default_factory=list, sa_type=JSONType)
    rule: dict[str, Any] = Field(default_factory=dict, sa_type=JSONType)
    rule_version: int = 1
    #: automatic: awarded when the rule is met; review: an educator approves; manual: only by hand.
    award_mode: str = Field(default="automatic", max_length=16)
    status: str = Field(default="active", max_length=16)
    created_at: datetime = created_at_field()
    updated_at: datetime = updated_at_field()


class AchievementRuleVersion(SQLModel, table=True):
    """Every version of an achievement's rule, so awards can say which rule they met."""

    __tablename__ = "achievement_rule_versions"
    __table_args__ = (
        PrimaryKeyConstraint("tenant_id", "achievement_id", "version"),
        ForeignKeyConstraint(
            ["tenant_id", "achievement_id"], ["achievements.tenant_id", "achievements.id"], ondelete="CASCADE"
        ),
    )

    tenant_id: uuid.UUID
    achievement_id: uuid.UUID
    version: int
    rule: dict[str, Any] = Field(sa_type=JSONType)
    created_at: datetime = created_at_field()


class AchievementTrigger(SQLModel, table=True):
    """Which competencies or other achievements an achievement's rule depends on (for incremental
    evaluation: only rules touching the learner's new evidence are evaluated)."""

    __tablename__ = "achievement_triggers"
    __table_args__ = (
        PrimaryKeyConstraint("tenant_id", "achievement_id", "trigger_id"),
        ForeignKeyConstraint(
            ["tenant_id", "achievement_id"], ["achievements.tenant_id", "achievements.id"], ondelete="CASCADE"
        ),
        Index("ix_achievement_triggers_trigger", "tenant_id", "trigger_id"),
    )

    tenant_id: uuid.UUID
    achievement_id: uuid.UUID
    #: A competency id (evidence rules) or an achievement id (composite rules).
    trigger_id: uuid.UUID
    kind: str = Field(max_length=16)


class Award(SQLModel, table=True):
    """A learner earned (or awaits review for) an achievement; at most one per learner and achievement."""

    __tablename__ = "awards"
    __table_args__ = (
        PrimaryKeyConstraint("tenant_id", "id"),
        ForeignKeyConstraint(
            ["tenant_id", "achievement_id"], ["achievements.tenant_id", "achievements.id"], ondelete="CASCADE"
        ),
        ForeignKeyConstraint(["learner_id"], ["people.id"], ondelete="CASCADE"),
        UniqueConstraint("tenant_id", "learner_id", "achievement_id"),
        # The list orders (created_at DESC, id DESC): read backwards, these indexes return a filtered page
        # in that order without sorting every match (tests/bench/bench_scale.py at a million learners);
        # the trailing column lets the capped count and the status filter run on the index alone.
        Index("ix_awards_tenant_status", "tenant_id", "status", "created_at", "id"),
        Index("ix_awards_tenant_achievement", "tenant_id", "achievement_id", "created_at", "id", "status"),
    )

    tenant_id: uuid.UUID
    id: uuid.UUID = Field(default_factory=new_id)
    learner_id: uuid.UUID
    achievement_id: uuid.UUID
    #: pending_review -> awarded | rejected; awarded -> revoked (a revoke decision, or its credential
    #: revoked directly). rejected and revoked are final (see schemas.AWARD_STATUS_DESCRIPTION).
    status: str = Field(max_length=16)
    method: str = Field(max_length=16)  # rule | manual
    rule_version: int | None = None
    reasons: list[str] = Field(default_factory=list, sa_type=JSONType)
    needs_review: bool = False
    review_reason: str | None = Field(default=None, max_length=2000)
    decided_by: str | None = Field(default=None, max_length=255)
    decided_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    awarded_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    #: Set by issuance (Open Badges) once the credential exists.
    credential_id: uuid.UUID | None = None
    issuance_status: str = Field(default="waiting", max_length=16)
    created_at: datetime = created_at_field()
    updated_at: datetime = updated_at_field()


class AwardEvidence(SQLModel, table=True):
    """The evidence that satisfied the rule when the award was made."""

    __tablename__ = "award_evidence"
    __table_args__ = (
        PrimaryKeyConstraint("tenant_id", "award_id", "evidence_id"),
        ForeignKeyConstraint(
            ["tenant_id", "award_id"], ["awards.tenant_id", "awards.id"], ondelete="CASCADE"
        ),
        # No foreign key to evidence (migration 0020): checking one locks the linked evidence row, an
        # old row on a random heap page, for every link ingest writes. A link always pairs an award with
        # the same learner's evidence, evidence is never deleted on its own, and deleting a learner or a
        # tenant deletes the awards, whose links go with them.
        Index("ix_award_evidence_evidence", "tenant_id", "evidence_id"),
    )

    tenant_id: uuid.UUID
    award_id: uuid.UUID
    evidence_id: uuid.UUID
