"""Every query of the webhooks domain.

:class:`WebhookRepository` is scoped by tenant. :class:`DeliveryRunRepository` serves delivery jobs and
the retry pass; its claims are conditional UPDATEs (compare-and-set on what was read), so two jobs
holding the same delivery never both send it.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import update
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from service.db import fetch_page
from service.schemas import PageParams
from service.webhooks.models import PENDING, WebhookDelivery, WebhookSubscription


class WebhookRepository:
    def __init__(self, session: AsyncSession, tenant_id: uuid.UUID) -> None:
        self.session = session
        self.tenant_id = tenant_id

    async def add(self, obj: WebhookSubscription | WebhookDelivery) -> None:
        self.session.add(obj)
        await self.session.flush()

    async def add_all(self, objs: Sequence[WebhookDelivery]) -> None:
        self.session.add_all(objs)
        await self.session.flush()

    async def delete(self, obj: WebhookSubscription) -> None:
        await self.session.delete(obj)
        await self.session.flush()

    async def get_subscription(self, subscription_id: uuid.UUID) -> WebhookSubscription | None:
        query = select(WebhookSubscription).where(
            col(WebhookSubscription.tenant_id) == self.tenant_id,
            col(WebhookSubscription.id) == subscription_id,
        )
        return (await self.session.exec(query)).first()

    async def list_subscriptions(
        self, page: PageParams, *, active: bool | None = None
    ) -> tuple[Sequence[WebhookSubscription], int]:
        query = select(WebhookSubscription).where(col(WebhookSubscription.tenant_id) == self.tenant_id)
        if active is not None:
            query = query.where(col(WebhookSubscription.active) == active)
        return await fetch_page(
            self.session, query, page, col(WebhookSubscription.created_at), col(WebhookSubscription.id)
        )

    async def active_subscriptions(self) -> Sequence[WebhookSubscription]:
        query = select(WebhookSubscription).where(
            col(WebhookSubscription.tenant_id) == self.tenant_id, col(WebhookSubscription.active).is_(True)
        )
        return (await self.session.exec(query.order_by(col(WebhookSubscription.created_at)))).all()

    async def list_deliveries(
        self, subscription_id: uuid.UUID, page: PageParams, *, state: str | None = None
    ) -> tuple[Sequence[WebhookDelivery], int]:
        query = select(WebhookDelivery).where(
            col(WebhookDelivery.tenant_id) == self.tenant_id,
            col(WebhookDelivery.subscription_id) == subscription_id,
        )
        if state is not None:
            query = query.where(col(WebhookDelivery.state) == state)
        return await fetch_page(
            self.session, query, page, col(WebhookDelivery.created_at).desc(), col(WebhookDelivery.id)
        )


class DeliveryRunRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def get(self, tenant_id: uuid.UUID, delivery_id: uuid.UUID) -> WebhookDelivery | None:
        query = select(WebhookDelivery).where(
            col(WebhookDelivery.tenant_id) == tenant_id, col(WebhookDelivery.id) == delivery_id
        )
        return (await self.session.exec(query)).first()

    async def subscription(
        self, tenant_id: uuid.UUID, subscription_id: uuid.UUID
    ) -> WebhookSubscription | None:
        query = select(WebhookSubscription).where(
            col(WebhookSubscription.tenant_id) == tenant_id, col(WebhookSubscription.id) == subscription_id
        )
        return (await self.session.exec(query)).first()

    async def claim(
        self,
        delivery_id: uuid.UUID,
        *,
        attempts: int,
        next_attempt_at: datetime | None,
        lease_until: datetime,
    ) -> bool:
        """Take the delivery for one attempt if nobody changed it since it was read."""
        next_cond = (
            col(WebhookDelivery.next_attempt_at).is_(None)
            if next_attempt_at is None
            else col(WebhookDelivery.next_attempt_at) == next_attempt_at
        )
        result = await self.session.execute(
            update(WebhookDelivery)
            .where(
                col(WebhookDelivery.id) == delivery_id,
                col(WebhookDelivery.state) == PENDING,
                col(WebhookDelivery.attempts) == attempts,
                next_cond,
            )
            .values(next_attempt_at=lease_until)
            .execution_options(synchronize_session=False)
        )
        return int(getattr(result, "rowcount", 0) or 0) == 1

    async def record(self, delivery_id: uuid.UUID, values: dict[str, Any]) -> None:
        await self.session.execute(
            update(WebhookDelivery)
            .where(col(WebhookDelivery.id) == delivery_id, col(WebhookDelivery.state) == PENDING)
            .values(**values)
            .execution_options(synchronize_session=False)
        )

    async def claim_due(
        self, *, now: datetime, lease_until: datetime, limit: int
    ) -> list[tuple[uuid.UUID, uuid.UUID]]:
        """Pending deliveries due by ``now`` (their first job was lost, or a retry is due): their next
        attempt is pushed to ``lease_until`` so no other pass takes them; (id, tenant_id) pairs."""
        due = (
            select(WebhookDelivery.id)
            .where(col(WebhookDelivery.state) == PENDING, col(WebhookDelivery.next_attempt_at) <= now)
            .order_by(col(WebhookDelivery.next_attempt_at))
            .limit(limit)
            .scalar_subquery()
        )
        result = await self.session.execute(
            update(WebhookDelivery)
            .where(
                col(WebhookDelivery.id).in_(due),
                # repeated so that a concurrent pass re-checks them after waiting for the row lock
                col(WebhookDelivery.state) == PENDING,
                col(WebhookDelivery.next_attempt_at) <= now,
            )
            .values(next_attempt_at=lease_until)
            .returning(col(WebhookDelivery.id), col(WebhookDelivery.tenant_id))
            .execution_options(synchronize_session=False)
        )
        return [(row[0], row[1]) for row in result.all()]
