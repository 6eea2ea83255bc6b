"""Evidence request and response schemas."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Annotated, Literal, Self

from pydantic import AnyHttpUrl, AwareDatetime, Field, field_validator, model_validator

from service.awards.schemas import AwardChange
from service.schemas import InputSchema, ReadSchema

Source = Literal["rubric", "oneroster_result", "artifact", "exhibition", "self_assessment", "peer"]
EvidenceStatus = Literal["active", "withdrawn"]
EARLIEST_OBSERVATION = datetime(1900, 1, 1, tzinfo=UTC)


class ArtifactIn(InputSchema):
    name: Annotated[str, Field(min_length=1, max_length=255)]
    url: AnyHttpUrl
    media_type: Annotated[str, Field(max_length=255, pattern=r"^[\w.+-]+/[\w.+-]+$")] | None = None


class ArtifactRead(ReadSchema):
    name: str
    url: str
    media_type: str | None = None


class EvidenceCreate(InputSchema):
    """One piece of evidence. The learner is named by ``learner_id`` or ``learner_sourced_id``."""

    learner_id: uuid.UUID | None = None
    learner_sourced_id: Annotated[str, Field(min_length=1, max_length=255)] | None = None
    competency_id: uuid.UUID
    source: Source
    level_id: uuid.UUID | None = Field(
        default=None, description="a rubric level of the competency's framework"
    )
    level: Annotated[int, Field(ge=0, le=100)] | None = Field(
        default=None, description="the rubric level by position (0 = lowest), instead of level_id"
    )
    score: Annotated[float, Field(ge=0, le=1e9)] | None = None
    score_max: Annotated[float, Field(gt=0, le=1e9)] | None = None
    assessor_id: uuid.UUID | None = None
    assessor_name: Annotated[str, Field(min_length=1, max_length=255)] | None = None
    class_id: uuid.UUID | None = None
    academic_session_id: uuid.UUID | None = None
    observed_at: AwareDatetime
    narrative: Annotated[str, Field(max_length=20_000)] | None = None
    artifacts: Annotated[list[ArtifactIn], Field(max_length=20)] = Field(default_factory=list)
    external_ref: Annotated[str, Field(min_length=1, max_length=255)] | None = None
    supersedes_id: uuid.UUID | None = Field(
        default=None, description="withdraw this earlier piece and replace it (a correction)"
    )

    @field_validator("observed_at")
    @classmethod
    def _plausible(cls, value: datetime) -> datetime:
        # Also keeps the conversion to UTC in range: 0001-01-01T00:00+05:00 has no UTC equivalent.
        if value < EARLIEST_OBSERVATION:
            raise ValueError("must not be before 1900-01-01")
        return value

    @model_validator(mode="after")
    def _consistent(self) -> EvidenceCreate:
        if (self.learner_id is None) == (self.learner_sourced_id is None):
            raise ValueError("give exactly one of learner_id or learner_sourced_id")
        if self.level_id is not None and self.level is not None:
            raise ValueError("give level_id or level, not both")
        if (self.score is None) != (self.score_max is None):
            raise ValueError("score and score_max go together")
        if self.score is not None and self.score_max is not None and self.score > self.score_max:
            raise ValueError("score is greater than score_max")
        if (
            self.level_id is None
            and self.level is None
            and self.score is None
            and self.source
            in (
                "rubric",
                "oneroster_result",
                "self_assessment",
                "peer",
            )
        ):
            raise ValueError(f"{self.source} evidence needs a rubric level or a score")
        return self


class EvidenceWithdraw(InputSchema):
    reason: Annotated[str, Field(min_length=1, max_length=2000)]


class EvidenceRead(ReadSchema):
    id: uuid.UUID
    learner_id: uuid.UUID
    competency_id: uuid.UUID
    framework_id: uuid.UUID
    source: Source
    level_id: uuid.UUID | None
    level_position: int | None
    score: float | None
    score_max: float | None
    assessor_id: uuid.UUID | None
    assessor_name: str | None
    class_id: uuid.UUID | None
    academic_session_id: uuid.UUID | None
    observed_at: datetime
    narrative: str | None
    artifacts: list[ArtifactRead]
    status: EvidenceStatus
    withdrawn_reason: str | None
    withdrawn_at: datetime | None
    supersedes_id: uuid.UUID | None
    superseded_by_id: uuid.UUID | None
    external_ref: str | None
    created_at: datetime


class EvidenceWithAwards(EvidenceRead):
    """A piece of evidence as written, with what the write did to awards."""

    awards: list[AwardChange] = Field(
        default_factory=list,
        description="awards this write created (rule met) or flagged for review (evidence withdrawn or "
        "corrected); empty when none changed",
    )

    @classmethod
    def of(cls, evidence: object, awards: Sequence[AwardChange]) -> Self:
        """``evidence`` (a row or a read schema) with the award changes of the write."""
        return cls.model_validate(
            {**EvidenceRead.model_validate(evidence).model_dump(), "awards": list(awards)}
        )


class RecordError(ReadSchema):
    index: int = Field(description="position of the record in the request (0-based; NDJSON: line - 1)")
    errors: list[dict[str, str]]


class AcceptedRecord(ReadSchema):
    index: int
    id: uuid.UUID


class BulkResult(ReadSchema):
    accepted: list[AcceptedRecord]
    errors: list[RecordError]
    received: int
    awards_created: int = Field(
        default=0,
        description="how many awards the batch created (kept for clients "
        "that read the count; ``awards`` lists them)",
    )
    awards: list[AwardChange] = Field(
        default_factory=list,
        description="awards the batch created or flagged for review, each with what happened to it",
    )
