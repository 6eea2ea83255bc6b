"""Request and response schemas of the transcripts domain (not tables)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any, Literal
from uuid import UUID

from pydantic import Field, model_validator

from service.schemas import InputSchema, ReadSchema

#: Learners one batch may name or select; larger cohorts are paged with ``offset`` / ``limit``.
MAX_COHORT = 5_000
TranscriptStatus = Literal["active", "revoked"]


class TranscriptOptions(InputSchema):
    """What goes into a transcript."""

    include_courses: bool = Field(default=True, description="course records with their grades")
    include_in_progress: bool = Field(
        default=True,
        description="competencies below the proficient level and courses still in progress",
    )
    include_self_assessments: bool = Field(
        default=False, description="let the learner's self-assessments count toward competency levels"
    )
    as_of: date | None = Field(
        default=None, description="records up to this date (default: today); not in the future"
    )
    framework_id: UUID | None = Field(
        default=None,
        description="the Portrait to show (default: the latest published Portrait of a Graduate)",
    )


class TranscriptCreate(TranscriptOptions):
    """Generate one learner's transcript."""


class TranscriptBatch(InputSchema):
    """A cohort: a school's grade (``school_id`` + ``grade``), a class, or a list of learners.

    A selection larger than 5,000 learners is refused; page through it with ``offset`` and ``limit``.
    """

    school_id: UUID | None = None
    grade: Annotated[str | None, Field(min_length=1, max_length=16)] = None
    class_id: UUID | None = None
    learner_ids: Annotated[list[UUID] | None, Field(min_length=1, max_length=MAX_COHORT)] = None
    offset: Annotated[int, Field(ge=0)] = 0
    limit: Annotated[int | None, Field(ge=1, le=MAX_COHORT)] = None
    options: TranscriptOptions = TranscriptOptions()

    @model_validator(mode="after")
    def _one_selection(self) -> TranscriptBatch:
        chosen = [
            name
            for name, value in (
                ("school_id", self.school_id),
                ("class_id", self.class_id),
                ("learner_ids", self.learner_ids),
            )
            if value is not None
        ]
        if len(chosen) != 1:
            raise ValueError("give exactly one of school_id (with grade), class_id or learner_ids")
        if self.grade is not None and self.school_id is None:
            raise ValueError("grade selects learners of a school: give school_id too")
        return self


class TranscriptRead(ReadSchema):
    id: str = Field(description="the transcript's public URL (the ClrCredential id)")
    uuid: UUID
    learner_id: UUID
    status: TranscriptStatus
    partial: bool
    partial_reasons: list[str]
    as_of: date
    framework_id: UUID | None
    framework_version: str | None
    options: dict[str, Any]
    counts: dict[str, int]
    job_id: UUID | None
    issued_at: datetime
    revoked_at: datetime | None
    revocation_reason: str | None
    status_list_credential: str
    status_list_index: int
    jwt_url: str


class TranscriptDetail(TranscriptRead):
    credential: dict[str, Any] = Field(description="the signed ClrCredential (eddsa-rdfc-2022)")
    jwt: str | None = Field(default=None, description="the same ClrCredential as a VC-JWT (RS256)")


class TranscriptRevoke(InputSchema):
    reason: Annotated[str, Field(min_length=1, max_length=2000)]
