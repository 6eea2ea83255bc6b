"""Evidence over GraphQL: listing with filters, recording (one or a batch), withdrawal, correction.

The same ``EvidenceService`` as REST validates every record (references, levels, dates) and runs the
incremental award evaluation; links to learners, competencies and levels go through the loaders.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import Enum
from typing import TYPE_CHECKING, Annotated, Self

import strawberry
from strawberry.utils.str_converters import to_camel_case

from service.api.graphql.common import (
    Page,
    enum_value,
    field,
    input_values,
    invalid,
    mutation,
    paged,
    validate_values,
)
from service.api.graphql.context import Info
from service.api.graphql.frameworks import Competency, RubricLevel
from service.api.graphql.idempotency import DESCRIPTION as KEY_DESCRIPTION
from service.api.graphql.idempotency import Idempotency
from service.api.graphql.roster import Person
from service.awards.schemas import AwardChange as AwardChangeRead
from service.evidence import models
from service.evidence.schemas import BulkResult, EvidenceCreate, EvidenceWithdraw

if TYPE_CHECKING:
    from service.api.graphql.awards import Award, AwardStatus

READ = "evidence:read"
WRITE = "evidence:write"
#: Same bound as a REST bulk request (service.api.rest.evidence.MAX_RECORDS).
MAX_RECORDS = 10_000


@strawberry.enum(description="Where a piece of evidence comes from.")
class EvidenceSource(Enum):
    RUBRIC = "rubric"
    ONEROSTER_RESULT = "oneroster_result"
    ARTIFACT = "artifact"
    EXHIBITION = "exhibition"
    SELF_ASSESSMENT = "self_assessment"
    PEER = "peer"


@strawberry.enum(description="Evidence is append-only: a correction withdraws and supersedes.")
class EvidenceStatus(Enum):
    ACTIVE = "active"
    WITHDRAWN = "withdrawn"


@strawberry.type(description="A file or page showing the learner's work.")
class Artifact:
    name: str
    url: str
    media_type: str | None


@strawberry.type(description="One piece of evidence of a learner's growth in one competency.")
class Evidence:
    id: uuid.UUID
    learner_id: uuid.UUID
    competency_id: uuid.UUID
    framework_id: uuid.UUID = strawberry.field(description="the framework version assessed against")
    source: EvidenceSource
    level_id: uuid.UUID | None
    level_position: int | None = strawberry.field(description="position of the level (0 = lowest)")
    score: float | None
    score_max: float | None
    assessor_id: uuid.UUID | None
    assessor_name: str | None
    class_id: uuid.UUID | None
    academic_session_id: uuid.UUID | None
    observed_at: datetime
    narrative: str | None
    artifacts: list[Artifact]
    status: EvidenceStatus
    withdrawn_reason: str | None
    withdrawn_at: datetime | None
    supersedes_id: uuid.UUID | None
    superseded_by_id: uuid.UUID | None
    external_ref: str | None = strawberry.field(description="the source system's own id")
    created_at: datetime

    @field(description="The learner (needs roster:read).")
    async def learner(self, info: Info) -> Person | None:
        principal = info.context.require("roster:read")
        read = await info.context.loaders(principal).person.load(self.learner_id)
        return None if read is None else Person.from_read(read)

    @field(description="The competency assessed (needs frameworks:read).")
    async def competency(self, info: Info) -> Competency | None:
        principal = info.context.require("frameworks:read")
        row = await info.context.framework_loaders(principal).competency.load(self.competency_id)
        return None if row is None else Competency.from_model(row)

    @field(description="The rubric level reached, if scored on the rubric (needs frameworks:read).")
    async def level(self, info: Info) -> RubricLevel | None:
        if self.level_id is None:
            return None
        principal = info.context.require("frameworks:read")
        row = await info.context.framework_loaders(principal).level.load(self.level_id)
        return None if row is None else RubricLevel.from_model(row)

    @field(description="The earlier piece this one corrected, if any.")
    async def supersedes(self, info: Info) -> Evidence | None:
        return await _evidence(info, self.supersedes_id)

    @field(description="The correction that replaced this piece, if any.")
    async def superseded_by(self, info: Info) -> Evidence | None:
        return await _evidence(info, self.superseded_by_id)

    @classmethod
    def from_model(cls, row: models.Evidence) -> Self:
        return cls(
            id=row.id,
            learner_id=row.learner_id,
            competency_id=row.competency_id,
            framework_id=row.framework_id,
            source=EvidenceSource(row.source),
            level_id=row.level_id,
            level_position=row.level_position,
            score=row.score,
            score_max=row.score_max,
            assessor_id=row.assessor_id,
            assessor_name=row.assessor_name,
            class_id=row.class_id,
            academic_session_id=row.academic_session_id,
            observed_at=row.observed_at,
            narrative=row.narrative,
            artifacts=[
                Artifact(name=a["name"], url=a["url"], media_type=a.get("media_type")) for a in row.artifacts
            ],
            status=EvidenceStatus(row.status),
            withdrawn_reason=row.withdrawn_reason,
            withdrawn_at=row.withdrawn_at,
            supersedes_id=row.supersedes_id,
            superseded_by_id=row.superseded_by_id,
            external_ref=row.external_ref,
            created_at=row.created_at,
        )


async def _evidence(info: Info, evidence_id: uuid.UUID | None) -> Evidence | None:
    if evidence_id is None:
        return None
    principal = info.context.require(READ)
    row = await info.context.award_loaders(principal).evidence.load(evidence_id)
    return None if row is None else Evidence.from_model(row)


@strawberry.enum(description="What a write did to an award.")
class AwardChangeKind(Enum):
    CREATED = "created"
    FLAGGED_FOR_REVIEW = "flagged_for_review"


_AWARDS = "service.api.graphql.awards"


@strawberry.type(
    description=(
        "An award that a write created (the rule was met; composites earned in turn too) or flagged for "
        "review (evidence it relied on was withdrawn or corrected: `needsReview` is now true, its status "
        "kept)."
    )
)
class AwardChange:
    award_id: uuid.UUID
    learner_id: uuid.UUID
    achievement_id: uuid.UUID
    status: Annotated[AwardStatus, strawberry.lazy(_AWARDS)] = strawberry.field(
        description="the award's status after the write"
    )
    change: AwardChangeKind

    @field(description="The award (needs awards:read).")
    async def award(self, info: Info) -> Annotated[Award, strawberry.lazy(_AWARDS)] | None:
        from service.api.graphql.awards import award_by_id

        return await award_by_id(info, self.award_id)

    @classmethod
    def from_read(cls, read: AwardChangeRead) -> Self:
        from service.api.graphql.awards import AwardStatus

        return cls(
            award_id=read.award_id,
            learner_id=read.learner_id,
            achievement_id=read.achievement_id,
            status=AwardStatus(read.status),
            change=AwardChangeKind(read.change),
        )


@strawberry.type(description="A piece of evidence as written, with what the write did to awards.")
class EvidenceWithAwards(Evidence):
    awards: list[AwardChange] = strawberry.field(
        default_factory=list,
        description="awards this write created or flagged for review; empty when none changed",
    )

    @classmethod
    def of(cls, row: models.Evidence, changes: list[AwardChangeRead]) -> Self:
        written = cls.from_model(row)
        written.awards = [AwardChange.from_read(c) for c in changes]
        return written


@strawberry.type(description="One problem with one field of a record.")
class RecordFieldError:
    loc: str
    message: str
    type: str


@strawberry.type(description="A record of the batch that was written.")
class AcceptedEvidence:
    index: int = strawberry.field(description="position of the record in `input` (0-based)")
    id: uuid.UUID

    @field(description="The evidence written.")
    async def evidence(self, info: Info) -> Evidence | None:
        return await _evidence(info, self.id)


@strawberry.type(description="A record of the batch that was refused, with every problem found.")
class RejectedEvidence:
    index: int
    errors: list[RecordFieldError]


@strawberry.type(description="Each record is written whole or not at all; this says which.")
class EvidenceBatchResult:
    accepted: list[AcceptedEvidence]
    rejected: list[RejectedEvidence]
    received: int
    awards_created: int = strawberry.field(description="how many awards the batch created (see `awards`)")
    awards: list[AwardChange] = strawberry.field(
        description="awards the batch created or flagged for review, each with what happened to it"
    )

    @classmethod
    def from_result(cls, result: BulkResult) -> Self:
        return cls(
            accepted=[AcceptedEvidence(index=a.index, id=a.id) for a in result.accepted],
            rejected=[
                RejectedEvidence(
                    index=r.index,
                    errors=[
                        RecordFieldError(loc=_camel_loc(e["loc"]), message=e["message"], type=e["type"])
                        for e in r.errors
                    ],
                )
                for r in result.errors
            ],
            received=result.received,
            awards_created=result.awards_created,
            awards=[AwardChange.from_read(c) for c in result.awards],
        )


def _camel_loc(loc: str) -> str:
    """``learner_id`` / ``artifacts.0.media_type`` as the client named them (``learnerId`` ...)."""
    return ".".join(to_camel_case(part) for part in loc.split("."))


# -- inputs -------------------------------------------------------------------------------------


@strawberry.input
class ArtifactInput:
    name: str
    url: str
    media_type: str | None = strawberry.UNSET


@strawberry.input(description="One piece of evidence; the learner by `learnerId` or `learnerSourcedId`.")
class RecordEvidenceInput:
    competency_id: uuid.UUID
    source: EvidenceSource
    observed_at: datetime
    learner_id: uuid.UUID | None = strawberry.UNSET
    learner_sourced_id: str | None = strawberry.UNSET
    level_id: uuid.UUID | None = strawberry.field(
        default=strawberry.UNSET, description="a rubric level of the competency's framework"
    )
    level: int | None = strawberry.field(
        default=strawberry.UNSET, description="the rubric level by position (0 = lowest), instead of levelId"
    )
    score: float | None = strawberry.UNSET
    score_max: float | None = strawberry.UNSET
    assessor_id: uuid.UUID | None = strawberry.UNSET
    assessor_name: str | None = strawberry.UNSET
    class_id: uuid.UUID | None = strawberry.UNSET
    academic_session_id: uuid.UUID | None = strawberry.UNSET
    narrative: str | None = strawberry.UNSET
    artifacts: list[ArtifactInput] | None = strawberry.UNSET
    external_ref: str | None = strawberry.UNSET


@strawberry.input(description="Filters of `evidence`; all given ones must match.")
class EvidenceFilter:
    learner_id: uuid.UUID | None = None
    competency_id: uuid.UUID | None = None
    class_id: uuid.UUID | None = None
    status: EvidenceStatus | None = None
    source: EvidenceSource | None = None


def _record(data: RecordEvidenceInput, arg: str, **extra: object) -> EvidenceCreate:
    values = input_values(data)
    if values.get("artifacts") is None:
        values.pop("artifacts", None)  # null: none, as when left out
    return validate_values(EvidenceCreate, {**values, **extra}, arg=arg)


# -- operations ---------------------------------------------------------------------------------


@strawberry.type
class EvidenceQuery:
    @field(description="Evidence, newest observation first (evidence:read).")
    async def evidence(
        self,
        info: Info,
        filter: EvidenceFilter | None = None,
        limit: int | None = None,
        offset: int = 0,
    ) -> Page[Evidence] | None:
        principal = info.context.require(READ)
        flt = filter or EvidenceFilter()
        return await paged(
            info,
            limit,
            offset,
            lambda page: info.context.evidence(principal).list_page(
                page,
                learner_id=flt.learner_id,
                competency_id=flt.competency_id,
                class_id=flt.class_id,
                status=enum_value(flt.status),
                source=enum_value(flt.source),
            ),
            Evidence.from_model,
        )

    @field(description="One piece of evidence (evidence:read); NOT_FOUND otherwise.")
    async def evidence_item(self, info: Info, id: uuid.UUID) -> Evidence | None:
        principal = info.context.require(READ)
        async with info.context.db_lock:
            return Evidence.from_model(await info.context.evidence(principal).get(id))


@strawberry.type
class EvidenceMutation:
    @mutation(
        description=(
            "Record one piece of evidence (evidence:write); awards it earns are made at once and listed "
            "in `awards`."
        )
    )
    async def record_evidence(
        self,
        info: Info,
        input: RecordEvidenceInput,
        idempotency_key: Annotated[str | None, strawberry.argument(description=KEY_DESCRIPTION)] = None,
    ) -> EvidenceWithAwards:
        principal = info.context.require(WRITE)
        record = _record(input, "input")
        once = Idempotency(info, principal, "recordEvidence", idempotency_key, record.model_dump(mode="json"))
        service = info.context.evidence(principal)
        async with info.context.db_lock:
            first = await once.replay()
            if first is not None:
                row = await service.get(uuid.UUID(first["id"]))
                changes = [AwardChangeRead.model_validate(c) for c in first.get("awards", [])]
            else:
                row = await service.create_one(record, created_by=principal.client_id)
                changes = service.award_changes
                await once.remember(
                    {"id": str(row.id), "awards": [c.model_dump(mode="json") for c in changes]}
                )
        info.context.forget_loaders()
        return EvidenceWithAwards.of(row, changes)

    @mutation(
        description=(
            f"Record up to {MAX_RECORDS:,} pieces (evidence:write): each record is written whole or "
            "refused with its problems; the others are kept."
        )
    )
    async def record_evidence_batch(
        self,
        info: Info,
        input: list[RecordEvidenceInput],
        idempotency_key: Annotated[str | None, strawberry.argument(description=KEY_DESCRIPTION)] = None,
    ) -> EvidenceBatchResult:
        principal = info.context.require(WRITE)
        if not 1 <= len(input) <= MAX_RECORDS:
            raise invalid("input", f"give between 1 and {MAX_RECORDS} records", "too_long")
        records = [input_values(item) for item in input]
        for values in records:
            if values.get("artifacts") is None:
                values.pop("artifacts", None)
        once = Idempotency(info, principal, "recordEvidenceBatch", idempotency_key, records)
        async with info.context.db_lock:
            first = await once.replay()
            if first is not None:
                result = BulkResult.model_validate(first)
            else:
                service = info.context.evidence(principal)
                result = await service.create_many(records, created_by=principal.client_id)
                await once.remember(result.model_dump(mode="json"))
        info.context.forget_loaders()
        return EvidenceBatchResult.from_result(result)

    @mutation(
        description=(
            "Withdraw a piece of evidence (evidence:write); awards that used it are flagged for review, "
            "never revoked silently."
        )
    )
    async def withdraw_evidence(self, info: Info, id: uuid.UUID, reason: str) -> EvidenceWithAwards:
        principal = info.context.require(WRITE)
        data = validate_values(EvidenceWithdraw, {"reason": reason}, arg="")
        service = info.context.evidence(principal)
        row = await info.context.write(service.withdraw(id, data.reason))
        return EvidenceWithAwards.of(row, service.award_changes)

    @mutation(
        description=(
            "Correct a piece of evidence (evidence:write): the new record supersedes it (same learner "
            "and competency) and the old one is withdrawn."
        )
    )
    async def correct_evidence(
        self, info: Info, id: uuid.UUID, input: RecordEvidenceInput
    ) -> EvidenceWithAwards:
        principal = info.context.require(WRITE)
        record = _record(input, "input", supersedes_id=id)
        service = info.context.evidence(principal)
        row = await info.context.write(service.create_one(record, created_by=principal.client_id))
        return EvidenceWithAwards.of(row, service.award_changes)
