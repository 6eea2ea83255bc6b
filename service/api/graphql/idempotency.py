"""``idempotencyKey`` for GraphQL writes that clients retry: a retry gets the first result back.

The GraphQL counterpart of the REST ``Idempotency-Key`` header (service.api.rest.idempotency), kept in
the same table under its own scope per mutation: the key with the same input replays the first
result; the key with a different input is refused, naming the argument.
"""

from __future__ import annotations

import hashlib
import json
import re
from typing import Any

from service.api.graphql.common import invalid
from service.api.graphql.context import Info
from service.errors import FieldError
from service.evidence.errors import IdempotencyKeyReused
from service.evidence.models import IdempotencyRecord
from service.evidence.repository import EvidenceRepository
from service.tenancy.tokens import Principal

_KEY = re.compile(r"^[\x21-\x7e]{1,255}$")
ARG = "idempotencyKey"
DESCRIPTION = "a retry with the same key and input returns the first result (1-255 visible ASCII characters)"


def _digest(payload: Any) -> str:
    return hashlib.sha256(json.dumps(payload, sort_keys=True, default=str).encode()).hexdigest()


class Idempotency:
    """One mutation's key: ``replay()`` before the write, ``remember()`` after it."""

    def __init__(
        self, info: Info, principal: Principal, mutation: str, key: str | None, payload: Any
    ) -> None:
        if key is not None and not _KEY.match(key):
            raise invalid(ARG, "must be 1-255 visible ASCII characters")
        self.info = info
        self.key = key
        self.scope = f"graphql {mutation}"
        self.digest = _digest(payload) if key is not None else ""
        self.repo = EvidenceRepository(info.context.session, principal.tenant_id)
        self.tenant_id = principal.tenant_id

    async def replay(self) -> Any | None:
        """The first result stored under the key, or None (no key, or first use). Call under db_lock."""
        if self.key is None:
            return None
        record = await self.repo.idempotency_get(self.scope, self.key)
        if record is None:
            return None
        if record.request_hash != self.digest:
            raise IdempotencyKeyReused(
                f"this {ARG} was used with a different input",
                [FieldError(ARG, "already used with a different input", "idempotency_key_reused")],
            )
        return record.response

    async def remember(self, response: Any) -> None:
        """Store the result (same transaction as the write). A concurrent twin commits first: CONFLICT."""
        if self.key is None:
            return
        await self.repo.idempotency_put(
            IdempotencyRecord(
                tenant_id=self.tenant_id,
                scope=self.scope,
                key=self.key,
                request_hash=self.digest,
                status_code=200,
                response=response,
            )
        )
