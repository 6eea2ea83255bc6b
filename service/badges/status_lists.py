"""Bitstring status lists of a district: the list a new credential's index is drawn from, and the signed
list credential verifiers fetch."""

from __future__ import annotations

import hashlib
import json
import uuid
from datetime import UTC, datetime

from sqlmodel.ext.asyncio.session import AsyncSession

from service import hotcache
from service.badges import documents
from service.badges.issuers import IssuerService
from service.badges.models import StatusList
from service.badges.repository import BadgeRepository
from service.config import Settings
from service.credentials import (
    Bitstring,
    build_status_list_credential,
    sign_data_integrity,
)

#: A list takes new credentials until half of its indexes are used; random draws then rarely collide.
FILL_LIMIT = 0.5


class StatusListService:
    """The district's Bitstring Status Lists: allocation of indexes and the signed list credentials."""

    def __init__(self, session: AsyncSession, tenant_id: uuid.UUID, settings: Settings) -> None:
        self.session = session
        self.tenant_id = tenant_id
        self.settings = settings
        self.repo = BadgeRepository(session, tenant_id)
        self.issuers = IssuerService(session, tenant_id, settings)
        self._counts: dict[uuid.UUID, int] = {}
        self._current: dict[str, StatusList] = {}

    async def current(self, purpose: str = "revocation") -> StatusList:
        """The list new credentials go to; a new one once half of its indexes are used."""
        latest = self._current.get(purpose) or await self.repo.latest_list(purpose)
        if latest is not None:
            count = self._counts.get(latest.id)
            if count is None:
                count = self._counts[latest.id] = await self.repo.entries_in_list(latest.id)
            if count < latest.size * FILL_LIMIT:
                self._current[purpose] = latest
                return latest
            self._current.pop(purpose, None)
        sequence = (latest.sequence + 1) if latest is not None else 1
        await self.repo.insert_list(
            {
                "id": uuid.uuid4(),
                "tenant_id": self.tenant_id,
                "purpose": purpose,
                "sequence": sequence,
                "size": self.settings.badges.status_list_size,
                "created_at": datetime.now(UTC),
                "updated_at": datetime.now(UTC),
            }
        )
        created = await self.repo.latest_list(purpose)
        assert created is not None
        await self.sign(created)
        return created

    def taken(self, list_id: uuid.UUID) -> None:
        self._counts[list_id] = self._counts.get(list_id, 0) + 1

    async def sign(self, status_list: StatusList) -> str:
        """Re-sign the list credential from the revoked credentials' indexes and store it."""
        await self.repo.lock_list(status_list.id)
        bits = Bitstring(status_list.size)
        for index in await self.repo.revoked_indexes(status_list.id):
            bits.set(index)
        context = await self.issuers.context()
        now = datetime.now(UTC)
        unsigned = build_status_list_credential(
            credential_id=documents.status_list_url(self.settings.public_url, status_list.id),
            issuer=context.did,
            bitstring=bits,
            valid_from=now,
            status_purpose=status_list.purpose,
        )
        signed = sign_data_integrity(unsigned, context.data_integrity, created=now)
        text = json.dumps(signed, ensure_ascii=False, separators=(",", ":"))
        etag = '"' + hashlib.sha256(text.encode("utf-8")).hexdigest()[:40] + '"'
        # Verification keeps our own status lists in process (service.verification.fetcher): a new
        # signed list, a revocation above all, must reach every process's cache at once.
        await hotcache.mark_changed(self.session)
        await self.repo.store_signed_list(status_list.id, text, etag, now)
        status_list.signed, status_list.etag = text, etag
        return text
