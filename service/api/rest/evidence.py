"""Evidence: single, JSON array or NDJSON bulk ingest with Idempotency-Key; withdrawal."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import JSONResponse
from pydantic import ValidationError

from service.api.deps import EvidenceReadScope, EvidenceWriteScope, PageDep, SessionDep
from service.api.rest import examples
from service.api.rest.bodies import MalformedJson, parse_body
from service.api.rest.errors import GET_ERRORS, READ_ERRORS, WRITE_ERRORS
from service.api.rest.idempotency import idempotent
from service.errors import FieldError, ServiceError, UnsupportedMediaTypeError, ValidationFailedError
from service.evidence.errors import InvalidEvidence
from service.evidence.schemas import (
    BulkResult,
    EvidenceCreate,
    EvidenceRead,
    EvidenceStatus,
    EvidenceWithAwards,
    EvidenceWithdraw,
    Source,
)
from service.evidence.service import EvidenceService
from service.schemas import Page

router = APIRouter(prefix="/api/v1/evidence", tags=["evidence"])
MAX_RECORDS = 10_000

_BODY = {
    "requestBody": {
        "required": True,
        "description": "One evidence object (201), or up to 10,000 in a JSON array or NDJSON (200).",
        "content": {
            "application/json": {
                "schema": {
                    "oneOf": [
                        {"$ref": "#/components/schemas/EvidenceCreate"},
                        {
                            "type": "array",
                            "items": {"$ref": "#/components/schemas/EvidenceCreate"},
                            "maxItems": MAX_RECORDS,
                        },
                    ]
                }
            },
            "application/x-ndjson": {"schema": {"type": "string"}},
        },
    },
    "parameters": [
        {
            "name": "Idempotency-Key",
            "in": "header",
            "required": False,
            "schema": {"type": "string", "maxLength": 255},
            "description": "a retry with the same key and body returns the first response",
        }
    ],
}


class TooManyRecords(ValidationFailedError):
    code = "too_many_records"


def _parse(request: Request, media: str, raw: bytes) -> tuple[bool, list[Any]]:
    """(is_single, records). NDJSON lines that are not JSON become per-record errors later."""
    if media == "application/x-ndjson":
        records: list[Any] = []
        for number, line in enumerate(raw.split(b"\n")):
            if not line.strip():
                continue
            if len(records) >= MAX_RECORDS:
                raise TooManyRecords(f"at most {MAX_RECORDS} records per request")
            try:
                records.append((number, parse_body(request, line, loc=f"body.{number}")))
            except ServiceError as exc:
                records.append((number, _Unparsable(exc.detail)))
        if not records:
            raise MalformedJson("the NDJSON body has no records")
        return False, records
    if media not in ("application/json", "") and not media.endswith("+json"):
        raise UnsupportedMediaTypeError(f"expected application/json or application/x-ndjson, got {media}")
    data = parse_body(request, raw)
    if isinstance(data, list):
        if len(data) > MAX_RECORDS:
            raise TooManyRecords(f"at most {MAX_RECORDS} records per request, got {len(data)}")
        if not data:
            raise MalformedJson("the array has no records")
        return False, list(enumerate(data))
    if isinstance(data, dict):
        return True, [(0, data)]
    raise MalformedJson("the body must be a JSON object, an array of objects, or NDJSON")


class _Unparsable:
    def __init__(self, message: str) -> None:
        self.message = message


@router.post(
    "",
    summary="Record evidence (one object, a JSON array, or NDJSON)",
    openapi_extra=examples.merged(_BODY, examples.CREATE_EVIDENCE),
    status_code=201,
    response_model=EvidenceWithAwards,
    responses={
        **WRITE_ERRORS,
        201: {"description": "one object: the evidence written, with the awards it created or flagged"},
        200: {
            "model": BulkResult,
            "description": "bulk: accepted ids, per-record errors and the awards created or flagged",
        },
    },
)
async def create_evidence(
    request: Request, principal: EvidenceWriteScope, session: SessionDep
) -> JSONResponse:
    """One piece of evidence (201, the evidence written) or a batch of up to 10,000 as a JSON array or
    NDJSON (200, per-record results: each record is written whole or refused with its problems). The
    rules that depend on the evidence are evaluated at once; the answer lists in ``awards`` each award
    created (and composites earned in turn) or flagged for review by a correction. With an
    ``Idempotency-Key``, a retry returns the first answer."""
    media = request.headers.get("content-type", "").split(";")[0].strip().lower()
    raw = await request.body()
    single, records = _parse(request, media, raw)
    service = EvidenceService(session, principal.tenant_id)

    async def compute() -> tuple[int, Any]:
        if single:
            try:
                record = EvidenceCreate.model_validate(records[0][1])
            except ValidationError as exc:
                raise InvalidEvidence(
                    "invalid evidence",
                    [
                        FieldError(
                            "body." + ".".join(str(p) for p in e["loc"]) if e["loc"] else "body",
                            e["msg"],
                            e["type"],
                        )
                        for e in exc.errors()
                    ],
                ) from exc
            evidence = await service.create_one(record, created_by=principal.client_id)
            written = EvidenceWithAwards.of(evidence, service.award_changes)
            return 201, written.model_dump(mode="json")
        parsed_input = [
            r if not isinstance(r, _Unparsable) else {"__unparsable__": r.message} for _, r in records
        ]
        result = await service.create_many(parsed_input, created_by=principal.client_id)
        # Report record positions as the client sees them (NDJSON: line - 1).
        positions = [n for n, _ in records]
        for item in result.accepted:
            item.index = positions[item.index]
        for err in result.errors:
            original = records[err.index][1]
            if isinstance(original, _Unparsable):
                err.errors = [
                    {
                        "loc": "record",
                        "message": f"not valid JSON: {original.message}",
                        "type": "json_invalid",
                    }
                ]
            err.index = positions[err.index]
        return 200, result.model_dump(mode="json")

    return await idempotent(request, session, principal, "POST /api/v1/evidence", compute)


@router.get("", summary="List evidence", responses=READ_ERRORS)
async def list_evidence(
    principal: EvidenceReadScope,
    session: SessionDep,
    page: PageDep,
    learner_id: Annotated[uuid.UUID | None, Query()] = None,
    competency_id: Annotated[uuid.UUID | None, Query()] = None,
    class_id: Annotated[uuid.UUID | None, Query()] = None,
    status: Annotated[EvidenceStatus | None, Query()] = None,
    source: Annotated[Source | None, Query()] = None,
) -> Page[EvidenceRead]:
    """The district's evidence, newest observation first; withdrawn pieces are listed too (``status``)."""
    rows, total = await EvidenceService(session, principal.tenant_id).list_page(
        page,
        learner_id=learner_id,
        competency_id=competency_id,
        class_id=class_id,
        status=status,
        source=source,
    )
    return Page(
        items=[EvidenceRead.model_validate(e) for e in rows],
        total=total,
        limit=page.limit,
        offset=page.offset,
    )


@router.get("/{evidence_id}", summary="Get evidence", responses=GET_ERRORS)
async def get_evidence(
    evidence_id: uuid.UUID, principal: EvidenceReadScope, session: SessionDep
) -> EvidenceRead:
    """One piece of evidence of the caller's district; 404 for anyone else's."""
    return EvidenceRead.model_validate(await EvidenceService(session, principal.tenant_id).get(evidence_id))


@router.post(
    "/{evidence_id}/withdraw",
    summary="Withdraw evidence (awards that used it are flagged for review, never revoked silently)",
    responses=WRITE_ERRORS,
)
async def withdraw_evidence(
    evidence_id: uuid.UUID, body: EvidenceWithdraw, principal: EvidenceWriteScope, session: SessionDep
) -> EvidenceWithAwards:
    """Evidence is append-only: withdrawal keeps the piece, marked withdrawn with its reason (409 when it
    already is). Awards that relied on it are flagged for review and listed in ``awards``; an educator
    keeps or revokes them (``POST /api/v1/awards/{id}/decision``)."""
    service = EvidenceService(session, principal.tenant_id)
    evidence = await service.withdraw(evidence_id, body.reason)
    return EvidenceWithAwards.of(evidence, service.award_changes)
