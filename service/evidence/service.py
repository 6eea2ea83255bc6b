"""Evidence use cases: validated, batched, append-only ingest; withdrawal and correction.

A bulk request is validated record by record; each record is written whole or not at all, and the
response says which. New evidence triggers incremental award evaluation for the touched learner and
competency pairs only.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from pydantic import ValidationError
from sqlmodel.ext.asyncio.session import AsyncSession

from service.awards.schemas import AwardChange
from service.awards.service import AwardService
from service.db import time_ordered_ids
from service.errors import FieldError
from service.evidence.errors import (
    AlreadyWithdrawn,
    EvidenceNotFound,
    IdempotencyKeyReused,
    InvalidEvidence,
)
from service.evidence.models import Evidence, IdempotencyRecord
from service.evidence.repository import EvidenceRepository
from service.evidence.schemas import AcceptedRecord, BulkResult, EvidenceCreate, RecordError
from service.schemas import PageParams

#: Evidence may not be dated further ahead than this (clock skew between systems).
FUTURE_TOLERANCE = timedelta(days=1)


@dataclass
class _Pending:
    index: int
    data: EvidenceCreate
    errors: list[FieldError] = field(default_factory=list)


def _pydantic_errors(exc: ValidationError) -> list[FieldError]:
    return [
        FieldError(".".join(str(p) for p in err["loc"]) or "record", str(err["msg"]), str(err["type"]))
        for err in exc.errors()
    ]


class EvidenceService:
    def __init__(self, session: AsyncSession, tenant_id: uuid.UUID) -> None:
        self.session = session
        self.tenant_id = tenant_id
        self.repo = EvidenceRepository(session, tenant_id)
        #: What the latest write (create_one, create_many, withdraw) did to awards.
        self.award_changes: list[AwardChange] = []

    async def get(self, evidence_id: uuid.UUID) -> Evidence:
        evidence = await self.repo.get(evidence_id)
        if evidence is None:
            raise EvidenceNotFound(f"evidence {evidence_id} not found")
        return evidence

    async def evidence_by_ids(self, ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, Evidence]:
        return await self.repo.get_many(ids)

    async def list_page(self, page: PageParams, **filters: Any) -> tuple[Sequence[Evidence], int]:
        return await self.repo.list_page(page, **filters)

    async def create_one(self, record: EvidenceCreate, *, created_by: str | None) -> Evidence:
        result, rows = await self._ingest([(0, record)], created_by=created_by)
        if result.errors:
            errors = [
                FieldError(f"body.{e['loc']}", e["message"], e["type"]) for e in result.errors[0].errors
            ]
            raise InvalidEvidence(
                "the evidence cannot be accepted: " + "; ".join(e.message for e in errors), errors
            )
        return rows[0]

    async def create_many(self, records: Sequence[object], *, created_by: str | None) -> BulkResult:
        """Validate each raw record (a dict) on its own; accept the valid ones."""
        parsed: list[tuple[int, EvidenceCreate | list[FieldError]]] = []
        for index, raw in enumerate(records):
            try:
                parsed.append((index, EvidenceCreate.model_validate(raw)))
            except ValidationError as exc:
                parsed.append((index, _pydantic_errors(exc)))
        result, _ = await self._ingest(parsed, created_by=created_by)
        return result

    async def first_result(self, scope: str, key: str, request_hash: str) -> dict[str, Any] | None:
        """The result stored under an idempotency key, or None on first use; the key with another
        request (``request_hash``) is refused."""
        record = await self.repo.idempotency_get(scope, key)
        if record is None:
            return None
        if record.request_hash != request_hash:
            raise IdempotencyKeyReused("this form was already sent with other values")
        return dict(record.response)

    async def create_all_once(
        self,
        records: Sequence[EvidenceCreate],
        *,
        created_by: str | None,
        scope: str,
        key: str,
        request_hash: str,
    ) -> tuple[dict[str, Any], bool]:
        """Write every record or none (awards evaluated as for any evidence), once per idempotency key.

        Returns the result (accepted ids, awards) and whether it is a replay of an earlier request with
        the same key. A refused record raises :class:`InvalidEvidence` naming it (``records[i]``): the
        transport rolls the transaction back, so nothing of the request stays written. A concurrent twin
        with the same key that commits first makes the remembering flush fail with ``IntegrityError``:
        the caller rolls back and asks :meth:`first_result`.
        """
        replay = await self.first_result(scope, key, request_hash)
        if replay is not None:
            return replay, True
        result, _ = await self._ingest(list(enumerate(records)), created_by=created_by)
        if result.errors:
            problems = [
                FieldError(f"records[{e.index}].{err['loc']}", err["message"], err["type"])
                for e in result.errors
                for err in e.errors
            ]
            raise InvalidEvidence(
                "the evidence cannot be accepted: " + "; ".join(p.message for p in problems), problems
            )
        body = result.model_dump(mode="json")
        await self.repo.idempotency_put(
            IdempotencyRecord(
                tenant_id=self.tenant_id,
                scope=scope,
                key=key,
                request_hash=request_hash,
                status_code=200,
                response=body,
            )
        )
        return body, False

    async def _ingest(
        self, parsed: Sequence[tuple[int, EvidenceCreate | list[FieldError]]], *, created_by: str | None
    ) -> tuple[BulkResult, list[Evidence]]:
        now = datetime.now(UTC)
        pending = [_Pending(i, r) for i, r in parsed if isinstance(r, EvidenceCreate)]
        rejected: dict[int, list[FieldError]] = {}
        for i, r in parsed:
            if not isinstance(r, EvidenceCreate):
                rejected[i] = r

        # When every record names its learner by id (the usual bulk request), the learners are looked up
        # and locked for evaluation in one statement. Otherwise all are locked together later, in one
        # statement in id order: two lock statements per transaction could deadlock with another batch.
        awards = AwardService(self.session, self.tenant_id)
        lock = all(p.data.learner_id is not None for p in pending)
        learners = await self.repo.learners_by_id(
            (p.data.learner_id for p in pending if p.data.learner_id), lock=lock
        )
        if lock:
            awards.locked(learners)
        by_sourced = await self.repo.learners_by_sourced_id(
            p.data.learner_sourced_id for p in pending if p.data.learner_sourced_id
        )
        competencies = await self.repo.competencies(p.data.competency_id for p in pending)
        levels = await self.repo.levels(fw for fw, _ in competencies.values())
        level_by_id = {lv.id: lv for lv in levels}
        level_by_pos = {(lv.framework_id, lv.position): lv for lv in levels}
        classes = await self.repo.classes(p.data.class_id for p in pending if p.data.class_id)
        sessions = await self.repo.sessions(
            p.data.academic_session_id for p in pending if p.data.academic_session_id
        )
        assessors = await self.repo.learners_by_id(p.data.assessor_id for p in pending if p.data.assessor_id)
        superseded = await self.repo.get_many(p.data.supersedes_id for p in pending if p.data.supersedes_id)

        rows: list[dict[str, Any]] = []
        accepted: list[AcceptedRecord] = []
        supersede_map: dict[uuid.UUID, uuid.UUID] = {}
        claimed_supersedes: set[uuid.UUID] = set()
        touched: set[tuple[uuid.UUID, uuid.UUID]] = set()
        new_ids = time_ordered_ids(len(pending))
        for p in pending:
            d = p.data
            learner_id: uuid.UUID | None = None
            if d.learner_id is not None:
                role = learners.get(d.learner_id)
                if role is None:
                    p.errors.append(
                        FieldError("learner_id", f"unknown learner {d.learner_id}", "invalid_reference")
                    )
                elif role != "student":
                    p.errors.append(
                        FieldError(
                            "learner_id", f"person {d.learner_id} is not a learner", "invalid_reference"
                        )
                    )
                else:
                    learner_id = d.learner_id
            else:
                found = by_sourced.get(d.learner_sourced_id or "")
                if found is None or found[1] != "student":
                    p.errors.append(
                        FieldError(
                            "learner_sourced_id",
                            f"no learner with sourcedId {d.learner_sourced_id}",
                            "invalid_reference",
                        )
                    )
                else:
                    learner_id = found[0]
            comp = competencies.get(d.competency_id)
            framework_id: uuid.UUID | None = None
            if comp is None:
                p.errors.append(
                    FieldError("competency_id", f"unknown competency {d.competency_id}", "invalid_reference")
                )
            elif comp[1] != "published":
                p.errors.append(
                    FieldError(
                        "competency_id",
                        f"the competency's framework is {comp[1]}; evidence needs a published version",
                        "framework_not_published",
                    )
                )
            else:
                framework_id = comp[0]
            level_id, level_position = None, None
            if framework_id is not None and d.level_id is not None:
                lv = level_by_id.get(d.level_id)
                if lv is None or lv.framework_id != framework_id:
                    p.errors.append(
                        FieldError(
                            "level_id",
                            "not a rubric level of the competency's framework",
                            "invalid_reference",
                        )
                    )
                else:
                    level_id, level_position = lv.id, lv.position
            elif framework_id is not None and d.level is not None:
                lv = level_by_pos.get((framework_id, d.level))
                if lv is None:
                    p.errors.append(
                        FieldError(
                            "level", f"the framework's rubric has no level {d.level}", "invalid_reference"
                        )
                    )
                else:
                    level_id, level_position = lv.id, lv.position
            if d.class_id is not None and d.class_id not in classes:
                p.errors.append(FieldError("class_id", f"unknown class {d.class_id}", "invalid_reference"))
            if d.academic_session_id is not None and d.academic_session_id not in sessions:
                p.errors.append(
                    FieldError(
                        "academic_session_id",
                        f"unknown academic session {d.academic_session_id}",
                        "invalid_reference",
                    )
                )
            if d.assessor_id is not None and d.assessor_id not in assessors:
                p.errors.append(
                    FieldError("assessor_id", f"unknown person {d.assessor_id}", "invalid_reference")
                )
            if d.observed_at > now + FUTURE_TOLERANCE:
                p.errors.append(FieldError("observed_at", "lies in the future", "future_date"))
            if d.supersedes_id is not None:
                old = superseded.get(d.supersedes_id)
                if old is None:
                    p.errors.append(
                        FieldError(
                            "supersedes_id", f"unknown evidence {d.supersedes_id}", "invalid_reference"
                        )
                    )
                elif old.status != "active" or d.supersedes_id in claimed_supersedes:
                    p.errors.append(
                        FieldError("supersedes_id", "that evidence is already withdrawn", "conflict")
                    )
                elif old.learner_id != learner_id or old.competency_id != d.competency_id:
                    p.errors.append(
                        FieldError(
                            "supersedes_id",
                            "a correction must keep the learner and competency",
                            "invalid_reference",
                        )
                    )
            if p.errors or learner_id is None or framework_id is None:
                rejected[p.index] = p.errors
                continue
            new_id = next(new_ids)
            if d.supersedes_id is not None:
                supersede_map[d.supersedes_id] = new_id
                claimed_supersedes.add(d.supersedes_id)
            rows.append(
                {
                    "tenant_id": self.tenant_id,
                    "id": new_id,
                    "learner_id": learner_id,
                    "competency_id": d.competency_id,
                    "framework_id": framework_id,
                    "source": d.source,
                    "level_id": level_id,
                    "level_position": level_position,
                    "score": d.score,
                    "score_max": d.score_max,
                    "assessor_id": d.assessor_id,
                    "assessor_name": d.assessor_name,
                    "class_id": d.class_id,
                    "academic_session_id": d.academic_session_id,
                    "observed_at": d.observed_at.astimezone(UTC),
                    "narrative": d.narrative,
                    "artifacts": [a.model_dump(mode="json") for a in d.artifacts],
                    "status": "active",
                    "supersedes_id": d.supersedes_id,
                    "external_ref": d.external_ref,
                    "created_by": created_by,
                    "created_at": now,
                }
            )
            # Values built here, not input: no validation per record (thousands per request).
            accepted.append(AcceptedRecord.model_construct(index=p.index, id=new_id))
            touched.add((learner_id, d.competency_id))

        await awards.lock_learners(learner for learner, _ in touched)
        await self.repo.insert_many(rows)
        if supersede_map:
            await self.repo.withdraw(list(supersede_map), "superseded by a correction", now, supersede_map)
            await awards.flag_for_review(list(supersede_map), "evidence it relied on was corrected")
        created = await awards.evaluate_pairs(touched) if touched else 0
        result = BulkResult(
            accepted=accepted,
            errors=[
                RecordError(index=i, errors=[e.as_dict() for e in errs])
                for i, errs in sorted(rejected.items())
            ],
            received=len(parsed),
            awards_created=created,
            awards=list(awards.changes),
        )
        self.award_changes = list(awards.changes)
        fetched = await self.repo.get_many(a.id for a in accepted) if len(accepted) == 1 else {}
        return result, [fetched[a.id] for a in accepted if a.id in fetched]

    async def withdraw(self, evidence_id: uuid.UUID, reason: str) -> Evidence:
        evidence = await self.get(evidence_id)
        if evidence.status != "active":
            raise AlreadyWithdrawn(f"evidence {evidence_id} is already withdrawn")
        now = datetime.now(UTC)
        await self.repo.withdraw([evidence_id], reason, now, {})
        # Never silently revoke: awards that relied on it are flagged for an educator to review.
        self.award_changes = await AwardService(self.session, self.tenant_id).flag_for_review(
            [evidence_id], f"evidence withdrawn: {reason}"
        )
        await self.session.refresh(evidence)
        return evidence
