"""Transcripts and the district-signed records they reuse."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Any

from sqlalchemy import ForeignKeyConstraint, Index, PrimaryKeyConstraint, Text, UniqueConstraint
from sqlmodel import Field, SQLModel

from service.db import JSONType, UTCDateTime, created_at_field, new_id


class Transcript(SQLModel, table=True):
    """One signed ClrCredential of a learner.

    The signed document lives in ``issued_credentials`` under the same id (``source_key``
    ``transcript:<id>``): it shares the district's status lists, revocation and storage rules with the
    badges (stored as signed, never rewritten). This row holds what the transcript was built from.
    """

    __tablename__ = "transcripts"
    __table_args__ = (
        PrimaryKeyConstraint("id"),
        ForeignKeyConstraint(["tenant_id"], ["tenants.id"], ondelete="CASCADE"),
        ForeignKeyConstraint(["id"], ["issued_credentials.id"], ondelete="CASCADE"),
        Index("ix_transcripts_tenant_learner", "tenant_id", "learner_id"),
        Index("ix_transcripts_tenant_issued_at", "tenant_id", "issued_at"),
        Index("ix_transcripts_tenant_job", "tenant_id", "job_id"),
    )

    id: uuid.UUID = Field(default_factory=new_id)
    tenant_id: uuid.UUID
    learner_id: uuid.UUID
    framework_id: uuid.UUID | None = None
    framework_version: str | None = Field(default=None, max_length=50)
    as_of: date
    options: dict[str, Any] = Field(default_factory=dict, sa_type=JSONType)
    partial: bool = False
    partial_reasons: list[str] = Field(default_factory=list, sa_type=JSONType)
    counts: dict[str, int] = Field(default_factory=dict, sa_type=JSONType)
    job_id: uuid.UUID | None = None
    issued_at: datetime = Field(sa_type=UTCDateTime)
    issued_by: str | None = Field(default=None, max_length=64)


class TranscriptRecord(SQLModel, table=True):
    """An AchievementCredential the district signed for transcripts (a course record, a competency
    level reached without a badge). ``content_hash`` covers what it says (not its id, date, proof or
    salted identifiers): while that is unchanged the signed record is reused verbatim, not re-signed."""

    __tablename__ = "transcript_records"
    __table_args__ = (
        PrimaryKeyConstraint("id"),
        ForeignKeyConstraint(["tenant_id"], ["tenants.id"], ondelete="CASCADE"),
        UniqueConstraint(
            "tenant_id", "learner_id", "kind", "source_ref", "content_hash", name="uq_transcript_records_key"
        ),
    )

    id: uuid.UUID = Field(default_factory=new_id)
    tenant_id: uuid.UUID
    learner_id: uuid.UUID
    kind: str = Field(max_length=16)  # course | competency | program
    source_ref: str = Field(max_length=255)
    content_hash: str = Field(max_length=64)
    document: str = Field(sa_type=Text)
    created_at: datetime = created_at_field()
