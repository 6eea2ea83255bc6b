"""``Idempotency-Key`` for writes that clients retry: a retry returns the first response."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Awaitable, Callable
from typing import Any

from fastapi import Request
from fastapi.responses import JSONResponse
from sqlalchemy.exc import IntegrityError
from sqlmodel.ext.asyncio.session import AsyncSession

from service.db import discard_after_commit
from service.errors import BadRequestError
from service.evidence.errors import IdempotencyKeyReused
from service.evidence.models import IdempotencyRecord
from service.evidence.repository import EvidenceRepository
from service.tenancy.tokens import Principal

_KEY = re.compile(r"^[\x21-\x7e]{1,255}$")
Compute = Callable[[], Awaitable[tuple[int, Any]]]


class InvalidIdempotencyKey(BadRequestError):
    code = "invalid_idempotency_key"


async def idempotent(
    request: Request, session: AsyncSession, principal: Principal, scope: str, compute: Compute
) -> JSONResponse:
    key = request.headers.get("idempotency-key")
    if key is None:
        status, body = await compute()
        return JSONResponse(body, status_code=status)
    if not _KEY.match(key):
        raise InvalidIdempotencyKey("Idempotency-Key must be 1-255 visible ASCII characters")
    raw = await request.body()
    digest = hashlib.sha256(request.headers.get("content-type", "").encode() + b"\n" + raw).hexdigest()
    repo = EvidenceRepository(session, principal.tenant_id)
    replay = await repo.idempotency_get(scope, key)
    if replay is not None:
        return _replay(replay, digest)
    status, body = await compute()
    try:
        async with session.begin_nested():
            await repo.idempotency_put(
                IdempotencyRecord(
                    tenant_id=principal.tenant_id,
                    scope=scope,
                    key=key,
                    request_hash=digest,
                    status_code=status,
                    response=body,
                )
            )
    except IntegrityError:
        # A concurrent request with the same key committed first: undo ours, answer with theirs.
        discard_after_commit(session)
        await session.rollback()
        replay = await repo.idempotency_get(scope, key)
        if replay is None:
            raise
        return _replay(replay, digest)
    return JSONResponse(body, status_code=status)


def _replay(record: IdempotencyRecord, digest: str) -> JSONResponse:
    if record.request_hash != digest:
        raise IdempotencyKeyReused("this Idempotency-Key was used with a different request body")
    return JSONResponse(
        record.response, status_code=record.status_code, headers={"Idempotent-Replayed": "true"}
    )
