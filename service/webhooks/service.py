"""Webhook use cases: subscriptions CRUD, and ``emit`` for domain services. Flush, never commit.

Domain services call, inside their own transaction::

    await WebhookService(session, tenant_id).emit("award.created", {"award": award_read})

``emit`` writes one delivery row per matching active subscription (so an accepted event is never
lost) and queues one ``webhooks.deliver`` job for them; the job starts only after the transaction
commits, and nothing is sent for a transaction that rolls back. The request never waits for a
receiver.
"""

from __future__ import annotations

import json
import secrets
import uuid
from collections.abc import Sequence
from datetime import timedelta
from typing import Any

from pydantic_core import to_jsonable_python
from sqlmodel.ext.asyncio.session import AsyncSession

from service.config import Settings
from service.crypto import secret_box
from service.db import utcnow
from service.errors import FieldError, ValidationFailedError
from service.jobs.service import JobService
from service.net import OutboundPolicy, OutboundURLError, check_outbound_url_async
from service.schemas import PageParams
from service.webhooks.errors import WebhookNotFound, WebhookUrlRejected
from service.webhooks.models import PENDING, WebhookDelivery, WebhookSubscription
from service.webhooks.repository import WebhookRepository
from service.webhooks.schemas import EVENT_TYPES, WebhookCreate, WebhookUpdate

DELIVER_KIND = "webhooks.deliver"
AREA = "webhooks"
#: A delivery handed to a job is not picked by the retry pass before this lease ends.
DELIVERY_LEASE = timedelta(minutes=5)
SECRET_PREFIX = "whsec_"  # noqa: S105 - a prefix, not a secret


def new_secret() -> str:
    return SECRET_PREFIX + secrets.token_urlsafe(32)


def secret_context(subscription_id: uuid.UUID) -> str:
    """SecretBox context: an encrypted secret only decrypts on its own subscription's row."""
    return f"webhook:{subscription_id}"


def event_body(
    *, event_id: uuid.UUID, event_type: str, tenant_id: uuid.UUID, created_at: Any, data: Any
) -> str:
    payload = {
        "id": str(event_id),
        "type": event_type,
        "created_at": created_at.isoformat().replace("+00:00", "Z"),
        "tenant_id": str(tenant_id),
        "data": to_jsonable_python(data),
    }
    return json.dumps(payload, separators=(",", ":"), ensure_ascii=False)


def matches(subscription: WebhookSubscription, event_type: str) -> bool:
    return "*" in subscription.events or event_type in subscription.events


class WebhookService:
    def __init__(self, session: AsyncSession, tenant_id: uuid.UUID, settings: Settings | None = None) -> None:
        self.session = session
        self.tenant_id = tenant_id
        self._settings = settings
        self.repo = WebhookRepository(session, tenant_id)

    @property
    def settings(self) -> Settings:
        if self._settings is None:
            raise RuntimeError("WebhookService needs settings for subscriptions (emit does not)")
        return self._settings

    # -- events ------------------------------------------------------------------------------------

    async def emit(self, event_type: str, data: Any) -> list[WebhookDelivery]:
        """Record the event for every matching subscription; delivery starts after commit."""
        if event_type not in EVENT_TYPES:
            raise ValueError(f"unknown webhook event type {event_type!r}")
        subscriptions = [s for s in await self.repo.active_subscriptions() if matches(s, event_type)]
        if not subscriptions:
            return []
        now, event_id = utcnow(), uuid.uuid4()
        body = event_body(
            event_id=event_id, event_type=event_type, tenant_id=self.tenant_id, created_at=now, data=data
        )
        deliveries = [
            WebhookDelivery(
                tenant_id=self.tenant_id,
                subscription_id=s.id,
                event_id=event_id,
                event_type=event_type,
                body=body,
                state=PENDING,
                # The job queued below owns them; if it is lost, the retry pass takes over after this.
                next_attempt_at=now + DELIVERY_LEASE,
            )
            for s in subscriptions
        ]
        await self.repo.add_all(deliveries)
        await JobService(self.session, self.tenant_id).enqueue(
            DELIVER_KIND, AREA, {"delivery_ids": [str(d.id) for d in deliveries]}
        )
        return deliveries

    async def emit_many(self, event_type: str, items: list[Any]) -> int:
        """One event per item (e.g. every award a bulk request made); subscriptions are read once."""
        if event_type not in EVENT_TYPES:
            raise ValueError(f"unknown webhook event type {event_type!r}")
        if not items:
            return 0
        subscriptions = [s for s in await self.repo.active_subscriptions() if matches(s, event_type)]
        if not subscriptions:
            return 0
        now = utcnow()
        deliveries: list[WebhookDelivery] = []
        for data in items:
            event_id = uuid.uuid4()
            body = event_body(
                event_id=event_id, event_type=event_type, tenant_id=self.tenant_id, created_at=now, data=data
            )
            deliveries.extend(
                WebhookDelivery(
                    tenant_id=self.tenant_id,
                    subscription_id=s.id,
                    event_id=event_id,
                    event_type=event_type,
                    body=body,
                    state=PENDING,
                    next_attempt_at=now + DELIVERY_LEASE,
                )
                for s in subscriptions
            )
        await self.repo.add_all(deliveries)
        jobs = JobService(self.session, self.tenant_id)
        for start in range(0, len(deliveries), 500):
            chunk = deliveries[start : start + 500]
            await jobs.enqueue(DELIVER_KIND, AREA, {"delivery_ids": [str(d.id) for d in chunk]})
        return len(deliveries)

    # -- subscriptions -----------------------------------------------------------------------------

    async def _check_url(self, url: str) -> None:
        try:
            await check_outbound_url_async(url, OutboundPolicy.from_settings(self.settings.outbound))
        except OutboundURLError as exc:
            raise WebhookUrlRejected(
                f"the webhook URL is not allowed: {exc.reason}",
                [FieldError("body.url", exc.reason, "url_not_allowed")],
            ) from exc

    async def get(self, subscription_id: uuid.UUID) -> WebhookSubscription:
        subscription = await self.repo.get_subscription(subscription_id)
        if subscription is None:
            raise WebhookNotFound(f"webhook {subscription_id} not found")
        return subscription

    async def list(
        self, page: PageParams, *, active: bool | None = None
    ) -> tuple[Sequence[WebhookSubscription], int]:
        return await self.repo.list_subscriptions(page, active=active)

    async def create(self, data: WebhookCreate) -> tuple[WebhookSubscription, str]:
        """The new subscription and its secret (returned to the client once, stored encrypted)."""
        await self._check_url(data.url)
        subscription_id = uuid.uuid4()
        secret = new_secret()
        subscription = WebhookSubscription(
            id=subscription_id,
            tenant_id=self.tenant_id,
            url=data.url,
            events=list(data.events),
            description=data.description,
            active=data.active,
            secret_encrypted=secret_box(self.settings).encrypt(
                secret, context=secret_context(subscription_id)
            ),
        )
        await self.repo.add(subscription)
        return subscription, secret

    async def update(self, subscription_id: uuid.UUID, data: WebhookUpdate) -> WebhookSubscription:
        subscription = await self.get(subscription_id)
        changes = data.model_dump(exclude_unset=True)
        nulls = [name for name in ("url", "events", "active") if name in changes and changes[name] is None]
        if nulls:
            raise ValidationFailedError(
                "invalid input: " + ", ".join(f"body.{n}" for n in nulls),
                [FieldError(f"body.{n}", "may not be null", "null_not_allowed") for n in nulls],
            )
        if "url" in changes and changes["url"] != subscription.url:
            await self._check_url(changes["url"])
        for key, value in changes.items():
            setattr(subscription, key, list(value) if key == "events" else value)
        subscription.updated_at = utcnow()
        await self.repo.add(subscription)
        return subscription

    async def rotate_secret(self, subscription_id: uuid.UUID) -> tuple[WebhookSubscription, str]:
        """A new secret, effective for every attempt from now on (pending retries included)."""
        subscription = await self.get(subscription_id)
        secret = new_secret()
        subscription.secret_encrypted = secret_box(self.settings).encrypt(
            secret, context=secret_context(subscription.id)
        )
        subscription.updated_at = utcnow()
        await self.repo.add(subscription)
        return subscription, secret

    async def delete(self, subscription_id: uuid.UUID) -> None:
        """The subscription and its delivery history; pending deliveries are dropped."""
        await self.repo.delete(await self.get(subscription_id))

    async def list_deliveries(
        self, subscription_id: uuid.UUID, page: PageParams, *, state: str | None = None
    ) -> tuple[Sequence[WebhookDelivery], int]:
        await self.get(subscription_id)
        return await self.repo.list_deliveries(subscription_id, page, state=state)
