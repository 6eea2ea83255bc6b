"""The jobs table: one row per unit of long work, whatever backend runs it."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import Index, Text
from sqlmodel import Field, SQLModel

from service.db import JSONType, UTCDateTime, created_at_field, new_id

QUEUED = "queued"
RUNNING = "running"
SUCCEEDED = "succeeded"
FAILED = "failed"
CANCELLED = "cancelled"
STATES: tuple[str, ...] = (QUEUED, RUNNING, SUCCEEDED, FAILED, CANCELLED)
FINISHED: frozenset[str] = frozenset({SUCCEEDED, FAILED, CANCELLED})


class Job(SQLModel, table=True):
    """``area`` is the scope area whose ``:read`` sees the job and whose ``:write`` cancels it."""

    __tablename__ = "jobs"
    __table_args__ = (
        Index("ix_jobs_tenant_id_created_at", "tenant_id", "created_at"),
        # The backends' resume and sweep passes look for unfinished jobs of every tenant.
        Index("ix_jobs_state_heartbeat_at", "state", "heartbeat_at"),
    )

    id: uuid.UUID = Field(default_factory=new_id, primary_key=True)
    tenant_id: uuid.UUID = Field(foreign_key="tenants.id", ondelete="CASCADE")
    kind: str = Field(max_length=100)
    area: str = Field(max_length=32)
    state: str = Field(default=QUEUED, max_length=16)
    params: dict[str, Any] = Field(default_factory=dict, sa_type=JSONType)
    progress: dict[str, Any] = Field(default_factory=dict, sa_type=JSONType)
    report: dict[str, Any] | None = Field(default=None, sa_type=JSONType)
    error: str | None = Field(default=None, sa_type=Text)
    #: How many times a backend started the job (a resumption after a crash counts).
    attempts: int = 0
    cancel_requested: bool = False
    created_at: datetime = created_at_field()
    started_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    finished_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    heartbeat_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
