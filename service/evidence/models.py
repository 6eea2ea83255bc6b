"""Evidence tables. Evidence is append-only: a correction withdraws and supersedes, never edits."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKeyConstraint, Index, PrimaryKeyConstraint, Text, text
from sqlmodel import Field, SQLModel

from service.db import JSONType, UTCDateTime, created_at_field, new_id


class Evidence(SQLModel, table=True):
    __tablename__ = "evidence"
    __table_args__ = (
        PrimaryKeyConstraint("tenant_id", "id"),
        ForeignKeyConstraint(["tenant_id"], ["tenants.id"], ondelete="CASCADE"),
        ForeignKeyConstraint(["learner_id"], ["people.id"], ondelete="CASCADE"),
        ForeignKeyConstraint(["tenant_id", "competency_id"], ["competencies.tenant_id", "competencies.id"]),
        ForeignKeyConstraint(["tenant_id", "level_id"], ["rubric_levels.tenant_id", "rubric_levels.id"]),
        ForeignKeyConstraint(["class_id"], ["classes.id"], ondelete="SET NULL"),
        ForeignKeyConstraint(["academic_session_id"], ["academic_sessions.id"], ondelete="SET NULL"),
        ForeignKeyConstraint(["assessor_id"], ["people.id"], ondelete="SET NULL"),
        # Rule evaluation and progress read the facts by (learner, competency) from this index alone on
        # PostgreSQL (migration 0018): a learner's evidence is spread over as many heap pages as pieces.
        Index(
            "ix_evidence_learner_competency",
            "tenant_id",
            "learner_id",
            "competency_id",
            "status",
            postgresql_include=[
                "id",
                "source",
                "observed_at",
                "level_position",
                "score",
                "score_max",
                "class_id",
                "academic_session_id",
            ],
        ),
        # Only synced results carry a reference; every read compares it to a value (migration 0020).
        Index(
            "ix_evidence_external_ref",
            "tenant_id",
            "external_ref",
            postgresql_where=text("external_ref IS NOT NULL"),
            sqlite_where=text("external_ref IS NOT NULL"),
        ),
    )

    tenant_id: uuid.UUID
    id: uuid.UUID = Field(default_factory=new_id)
    learner_id: uuid.UUID
    competency_id: uuid.UUID
    #: The framework version the evidence was assessed against (the competency's framework).
    framework_id: uuid.UUID
    source: str = Field(max_length=32)
    level_id: uuid.UUID | None = None
    #: Position of ``level_id`` on the scale, copied so rule evaluation needs no join.
    level_position: int | None = None
    score: float | None = None
    score_max: float | None = None
    assessor_id: uuid.UUID | None = None
    assessor_name: str | None = Field(default=None, max_length=255)
    class_id: uuid.UUID | None = None
    academic_session_id: uuid.UUID | None = None
    observed_at: datetime = Field(sa_type=UTCDateTime)
    narrative: str | None = Field(default=None, sa_type=Text)
    artifacts: list[dict[str, Any]] = Field(default_factory=list, sa_type=JSONType)
    status: str = Field(default="active", max_length=16)
    withdrawn_reason: str | None = Field(default=None, max_length=2000)
    withdrawn_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    supersedes_id: uuid.UUID | None = None
    superseded_by_id: uuid.UUID | None = None
    #: The source system's own id (e.g. a OneRoster result sourcedId), for re-syncs.
    external_ref: str | None = Field(default=None, max_length=255)
    created_by: str | None = Field(default=None, max_length=64)
    created_at: datetime = created_at_field()


class IdempotencyRecord(SQLModel, table=True):
    """The first response to a request sent with an ``Idempotency-Key``; retries get it back."""

    __tablename__ = "idempotency_keys"
    __table_args__ = (
        PrimaryKeyConstraint("tenant_id", "scope", "key"),
        ForeignKeyConstraint(["tenant_id"], ["tenants.id"], ondelete="CASCADE"),
    )

    tenant_id: uuid.UUID
    scope: str = Field(max_length=100)
    key: str = Field(max_length=255)
    request_hash: str = Field(max_length=64)
    status_code: int
    response: Any = Field(sa_type=JSONType)
    created_at: datetime = created_at_field()
