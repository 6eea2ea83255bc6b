"""Job responses and filters."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any, Literal

from pydantic import Field

from service.schemas import ReadSchema

JobState = Literal["queued", "running", "succeeded", "failed", "cancelled"]


class JobRead(ReadSchema):
    id: uuid.UUID
    kind: str = Field(description="what the job does, e.g. webhooks.deliver or oneroster.sync")
    area: str = Field(description="scope area: <area>:read sees the job, <area>:write cancels it")
    state: JobState
    params: dict[str, Any]
    progress: dict[str, Any] = Field(description="the handler's latest progress figures")
    report: dict[str, Any] | None = Field(description="the final report, once succeeded")
    error: str | None = Field(description="why it failed")
    attempts: int = Field(description="starts, resumptions after a crash included")
    cancel_requested: bool
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    heartbeat_at: datetime | None
