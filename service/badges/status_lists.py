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
#: A process counts a list's entries again after taking this many indexes from it itself (other
#: processes take indexes too; a collision also makes it count again).
RECOUNT_EVERY = 2048


class _Fill:
    """Process-wide (service.hotcache, "status_fill"): the list a district's new credentials go to and
    how many of its indexes are used (counted, plus those this process took since). Saves the two
    queries (latest list, COUNT of its entries) a request with a status entry made before."""

    __slots__ = ("count", "since_count", "stale", "status_list")

    def __init__(self, status_list: StatusList, count: int) -> None:
        self.status_list = status_list
        self.count = count
        self.since_count = 0
        self.stale = False

    def usable(self) -> bool:
        return (
            not self.stale
            and self.since_count < RECOUNT_EVERY
            and self.count < self.status_list.size * FILL_LIMIT
        )


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
        self._fills: dict[uuid.UUID, _Fill] = {}

    async def current(self, purpose: str = "revocation") -> StatusList:
        """The list new credentials go to; a new one once half of its indexes are used.

        Which list and how full it is are kept per process (:class:`_Fill`, invalidated like the other
        hot caches, e.g. when any process creates or re-signs a list, and counted again every
        :data:`RECOUNT_EVERY` indexes or after a collision): the index itself is still drawn at
        random and made unique by the database (``issued_credentials``' unique key on list and
        index), so a count that lags behind other processes only lets a list fill a little past
        :data:`FILL_LIMIT`."""
        invalidation = hotcache.for_session(self.session)
        key = (self.tenant_id, purpose)
        if purpose not in self._current and invalidation is not None:
            fill = invalidation.get("status_fill", key)
            if isinstance(fill, _Fill) and fill.usable():
                self._fills[fill.status_list.id] = fill
                self._current[purpose] = fill.status_list
                self._counts.setdefault(fill.status_list.id, fill.count)
        epoch = invalidation.current() if invalidation is not None else None
        latest = self._current.get(purpose) or await self.repo.latest_list(purpose)
        if latest is not None:
            count = self._counts.get(latest.id)
            if count is None:
                count = self._counts[latest.id] = await self.repo.entries_in_list(latest.id)
                if (
                    invalidation is not None
                    and not self.session.info.get(hotcache.SESSION_FLAG)
                    and count < latest.size * FILL_LIMIT
                ):
                    fill = self._fills[latest.id] = _Fill(latest, count)
                    invalidation.put("status_fill", key, epoch, fill)
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
        fill = self._fills.get(list_id)
        if fill is not None:
            fill.count += 1
            fill.since_count += 1

    def collided(self, list_id: uuid.UUID) -> None:
        """An index drawn from this list was taken already: count its entries again (in every request
        of this process), it may be fuller than this process knows."""
        fill = self._fills.pop(list_id, None)
        if fill is not None:
            fill.stale = True
        self._counts.pop(list_id, None)
        self._current = {k: v for k, v in self._current.items() if v.id != list_id}

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
