"""Every query of the wallet domain; all scoped by tenant."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import delete, func, or_, update
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from service.badges.models import IssuedCredential
from service.roster.models import Person
from service.wallet.models import (
    WalletAuthorization,
    WalletClient,
    WalletConsent,
    WalletCredential,
    WalletProfile,
    WalletToken,
)

#: A learner's credentials are listed from at most this many rows of each kind.
MAX_LISTED = 10_000


class WalletRepository:
    def __init__(self, session: AsyncSession, tenant_id: uuid.UUID) -> None:
        self.session = session
        self.tenant_id = tenant_id

    async def add(self, *objs: Any) -> None:
        for obj in objs:
            self.session.add(obj)
        await self.session.flush()

    # -- clients ----------------------------------------------------------------------------------

    async def client_count(self) -> int:
        query = select(func.count()).where(col(WalletClient.tenant_id) == self.tenant_id)
        return int((await self.session.exec(query)).one())

    async def client_by_client_id(self, client_id: str) -> WalletClient | None:
        query = select(WalletClient).where(
            col(WalletClient.tenant_id) == self.tenant_id, col(WalletClient.client_id) == client_id
        )
        return (await self.session.exec(query)).first()

    async def client(self, row_id: uuid.UUID) -> WalletClient | None:
        query = select(WalletClient).where(
            col(WalletClient.tenant_id) == self.tenant_id, col(WalletClient.id) == row_id
        )
        return (await self.session.exec(query)).first()

    # -- authorizations ---------------------------------------------------------------------------

    async def authorization(self, auth_id: uuid.UUID) -> WalletAuthorization | None:
        query = select(WalletAuthorization).where(
            col(WalletAuthorization.tenant_id) == self.tenant_id, col(WalletAuthorization.id) == auth_id
        )
        return (await self.session.exec(query)).first()

    async def authorization_by_code(self, code_hash: str) -> WalletAuthorization | None:
        query = select(WalletAuthorization).where(
            col(WalletAuthorization.tenant_id) == self.tenant_id,
            col(WalletAuthorization.code_hash) == code_hash,
        )
        return (await self.session.exec(query)).first()

    async def claim_code(self, auth_id: uuid.UUID, now: datetime) -> bool:
        """Mark a code used; False when another request used it first (a code works once)."""
        result = await self.session.exec(
            update(WalletAuthorization)
            .where(col(WalletAuthorization.id) == auth_id, col(WalletAuthorization.used_at).is_(None))
            .values(used_at=now)
        )
        return bool(result.rowcount)

    async def delete_expired(self, now: datetime) -> None:
        """Housekeeping on the rare writes that start an authorization: requests and codes past their end,
        and token pairs whose refresh token has ended, are of no use."""
        await self.session.exec(
            delete(WalletAuthorization).where(
                col(WalletAuthorization.tenant_id) == self.tenant_id,
                col(WalletAuthorization.expires_at) < now,
            )
        )
        await self.session.exec(
            delete(WalletToken).where(
                col(WalletToken.tenant_id) == self.tenant_id, col(WalletToken.refresh_expires_at) < now
            )
        )

    # -- tokens -----------------------------------------------------------------------------------

    async def token_by_access(self, access_hash: str) -> WalletToken | None:
        query = select(WalletToken).where(
            col(WalletToken.tenant_id) == self.tenant_id, col(WalletToken.access_hash) == access_hash
        )
        return (await self.session.exec(query)).first()

    async def token_by_refresh(self, refresh_hash: str) -> WalletToken | None:
        query = select(WalletToken).where(
            col(WalletToken.tenant_id) == self.tenant_id, col(WalletToken.refresh_hash) == refresh_hash
        )
        return (await self.session.exec(query)).first()

    async def revoke_token(self, token_id: uuid.UUID, now: datetime) -> bool:
        result = await self.session.exec(
            update(WalletToken)
            .where(col(WalletToken.id) == token_id, col(WalletToken.revoked_at).is_(None))
            .values(revoked_at=now)
        )
        return bool(result.rowcount)

    async def revoke_tokens(self, client_row_id: uuid.UUID, person_id: uuid.UUID, now: datetime) -> None:
        await self.session.exec(
            update(WalletToken)
            .where(
                col(WalletToken.tenant_id) == self.tenant_id,
                col(WalletToken.client_row_id) == client_row_id,
                col(WalletToken.person_id) == person_id,
                col(WalletToken.revoked_at).is_(None),
            )
            .values(revoked_at=now)
        )

    # -- consents ---------------------------------------------------------------------------------

    async def consent(self, client_row_id: uuid.UUID, person_id: uuid.UUID) -> WalletConsent | None:
        query = select(WalletConsent).where(
            col(WalletConsent.tenant_id) == self.tenant_id,
            col(WalletConsent.client_row_id) == client_row_id,
            col(WalletConsent.person_id) == person_id,
        )
        return (await self.session.exec(query)).first()

    async def consent_by_id(self, consent_id: uuid.UUID, person_id: uuid.UUID) -> WalletConsent | None:
        query = select(WalletConsent).where(
            col(WalletConsent.tenant_id) == self.tenant_id,
            col(WalletConsent.id) == consent_id,
            col(WalletConsent.person_id) == person_id,
        )
        return (await self.session.exec(query)).first()

    async def active_consents(self, person_id: uuid.UUID) -> Sequence[tuple[WalletConsent, WalletClient]]:
        query = (
            select(WalletConsent, WalletClient)
            .join(WalletClient, col(WalletClient.id) == col(WalletConsent.client_row_id))
            .where(
                col(WalletConsent.tenant_id) == self.tenant_id,
                col(WalletConsent.person_id) == person_id,
                col(WalletConsent.revoked_at).is_(None),
            )
            .order_by(col(WalletConsent.created_at), col(WalletConsent.id))
        )
        return list((await self.session.exec(query)).all())

    # -- credentials ------------------------------------------------------------------------------

    async def issued(
        self, person_id: uuid.UUID, transcripts: bool, since: datetime | None
    ) -> Sequence[IssuedCredential]:
        """The learner's unrevoked badges (``transcripts`` False) or transcripts (True)."""
        is_transcript = col(IssuedCredential.source_key).startswith("transcript:", autoescape=True)
        query = select(IssuedCredential).where(
            col(IssuedCredential.tenant_id) == self.tenant_id,
            col(IssuedCredential.learner_id) == person_id,
            col(IssuedCredential.revoked_at).is_(None),
            is_transcript if transcripts else or_(col(IssuedCredential.source_key).is_(None), ~is_transcript),
        )
        if since is not None:
            query = query.where(col(IssuedCredential.issued_at) > since)
        query = query.order_by(col(IssuedCredential.issued_at), col(IssuedCredential.id)).limit(MAX_LISTED)
        return (await self.session.exec(query)).all()

    async def received(
        self, person_id: uuid.UUID, api: str, since: datetime | None
    ) -> Sequence[WalletCredential]:
        query = select(WalletCredential).where(
            col(WalletCredential.tenant_id) == self.tenant_id,
            col(WalletCredential.person_id) == person_id,
            col(WalletCredential.api) == api,
        )
        if since is not None:
            query = query.where(col(WalletCredential.received_at) > since)
        query = query.order_by(col(WalletCredential.received_at), col(WalletCredential.id)).limit(MAX_LISTED)
        return (await self.session.exec(query)).all()

    async def received_one(
        self, person_id: uuid.UUID, api: str, issuer_key: str, credential_key: str
    ) -> WalletCredential | None:
        query = select(WalletCredential).where(
            col(WalletCredential.tenant_id) == self.tenant_id,
            col(WalletCredential.person_id) == person_id,
            col(WalletCredential.api) == api,
            col(WalletCredential.issuer_key) == issuer_key,
            col(WalletCredential.credential_key) == credential_key,
        )
        return (await self.session.exec(query)).first()

    # -- people and profiles ----------------------------------------------------------------------

    async def person(self, person_id: uuid.UUID) -> Person | None:
        query = select(Person).where(col(Person.tenant_id) == self.tenant_id, col(Person.id) == person_id)
        return (await self.session.exec(query)).first()

    async def profile(self, person_id: uuid.UUID, api: str) -> WalletProfile | None:
        query = select(WalletProfile).where(
            col(WalletProfile.tenant_id) == self.tenant_id,
            col(WalletProfile.person_id) == person_id,
            col(WalletProfile.api) == api,
        )
        return (await self.session.exec(query)).first()
