"""Sending deliveries: the ``webhooks.deliver`` job and the retry pass.

Each attempt POSTs the stored body to the subscription URL through the outbound guard, signed with
the subscription secret::

    Content-Type: application/json
    Portrait-Event: award.created
    Portrait-Delivery: <delivery id>          (stable across retries: receivers de-duplicate on it)
    Portrait-Timestamp: <unix seconds>
    Portrait-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<body>">

A 2xx answer delivers it. Anything else (status, timeout, refused connection, blocked address) is
recorded (status code, duration, error) and retried with exponential backoff and jitter
(:class:`RetryPolicy`: 30 s, 1.5 min, 4.5 min ... capped at 6 h; 8 attempts over about 10 hours),
then the delivery is ``failed``. Redirects are not followed. ``next_attempt_at`` is persisted, and
the retry pass (a periodic pass of the jobs backend) queues a job for the deliveries that are due.
Delivery is at least once: an attempt cut short by a crash is made again.
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
import uuid
from collections import Counter, defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import httpx

from service import __version__
from service.config import Settings
from service.crypto import SecretBoxError, secret_box
from service.db import Database, utcnow
from service.jobs.registry import JobContext, register, register_periodic
from service.jobs.service import JobService, transaction
from service.net import OutboundPolicy, OutboundURLError, outbound_client, read_limited
from service.webhooks import signing
from service.webhooks.models import DELIVERED, FAILED, PENDING
from service.webhooks.repository import DeliveryRunRepository
from service.webhooks.service import AREA, DELIVER_KIND, DELIVERY_LEASE, secret_context

logger = logging.getLogger(__name__)

USER_AGENT = f"Portrait-Webhooks/{__version__}"
PARALLEL_PER_JOB = 4
ERROR_BODY_CHARS = 300


@dataclass(frozen=True)
class RetryPolicy:
    max_attempts: int = 8
    base_seconds: float = 30.0
    factor: float = 3.0
    cap_seconds: float = 6 * 3600.0
    jitter: float = 0.2

    def delay(self, attempts: int, rand: Callable[[], float] = random.random) -> timedelta:
        """Wait after the ``attempts``-th failed attempt: base * factor^(n-1), capped, +-jitter."""
        raw = min(self.cap_seconds, self.base_seconds * self.factor ** max(0, attempts - 1))
        return timedelta(seconds=raw * (1 - self.jitter + 2 * self.jitter * rand()))


DEFAULT_POLICY = RetryPolicy()


@dataclass(frozen=True)
class Attempt:
    status_code: int | None
    duration_ms: int
    error: str | None

    @property
    def ok(self) -> bool:
        return self.status_code is not None and 200 <= self.status_code < 300


async def send(
    client: httpx.AsyncClient,
    *,
    url: str,
    secret: str,
    body: bytes,
    event_type: str,
    delivery_id: uuid.UUID,
    max_response_bytes: int,
    timestamp: int | None = None,
) -> Attempt:
    """One signed POST; never raises for the receiver's or the network's failures."""
    ts = int(time.time()) if timestamp is None else timestamp
    headers = {
        "Content-Type": "application/json",
        "User-Agent": USER_AGENT,
        "Portrait-Event": event_type,
        "Portrait-Delivery": str(delivery_id),
        "Portrait-Timestamp": str(ts),
        "Portrait-Signature": signing.sign(secret, ts, body),
    }
    started = time.monotonic()
    status: int | None = None
    error: str | None = None
    try:
        async with client.stream("POST", url, content=body, headers=headers) as response:
            status = response.status_code
            answer = await read_limited(response, max_response_bytes)
            if not 200 <= status < 300:
                text = answer[:ERROR_BODY_CHARS].decode("utf-8", "replace").strip()
                error = f"HTTP {status}" + (f": {text}" if text else "")
    except OutboundURLError as exc:
        error = f"blocked: {exc.reason}"
    except httpx.TimeoutException as exc:
        error = f"timed out ({type(exc).__name__})"
    except httpx.HTTPError as exc:
        error = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
    duration_ms = int((time.monotonic() - started) * 1000)
    return Attempt(status, duration_ms, error)


def outcome_values(attempt: Attempt, attempts: int, policy: RetryPolicy, now: datetime) -> dict[str, Any]:
    """The delivery's new columns after its ``attempts``-th attempt."""
    values: dict[str, Any] = {
        "attempts": attempts,
        "last_attempt_at": now,
        "last_status_code": attempt.status_code,
        "last_duration_ms": attempt.duration_ms,
        "last_error": attempt.error,
        "updated_at": now,
    }
    if attempt.ok:
        values.update(state=DELIVERED, delivered_at=now, next_attempt_at=None)
    elif attempts >= policy.max_attempts:
        values.update(state=FAILED, next_attempt_at=None)
    else:
        values.update(state=PENDING, next_attempt_at=now + policy.delay(attempts))
    return values


async def attempt_delivery(
    db: Database,
    settings: Settings,
    client: httpx.AsyncClient,
    tenant_id: uuid.UUID,
    delivery_id: uuid.UUID,
    *,
    policy: RetryPolicy = DEFAULT_POLICY,
) -> str:
    """Claim, send and record one attempt; the delivery's state afterwards, or "skipped"."""
    async with db.session() as session:
        repo = DeliveryRunRepository(session)
        delivery = await repo.get(tenant_id, delivery_id)
        if delivery is None or delivery.state != PENDING:
            return "skipped"
        subscription = await repo.subscription(tenant_id, delivery.subscription_id)
        await session.commit()  # end the read transaction: the claim below starts with a write
        claimed = await repo.claim(
            delivery_id,
            attempts=delivery.attempts,
            next_attempt_at=delivery.next_attempt_at,
            lease_until=utcnow() + DELIVERY_LEASE,
        )
        await session.commit()
    if not claimed:
        return "skipped"
    attempts = delivery.attempts + 1
    if subscription is None or not subscription.active:
        attempt = Attempt(None, 0, "the subscription is inactive")
        values = outcome_values(attempt, attempts, RetryPolicy(max_attempts=0), utcnow())
    else:
        try:
            secret = secret_box(settings).decrypt(
                subscription.secret_encrypted, context=secret_context(subscription.id)
            )
        except SecretBoxError as exc:
            attempt = Attempt(None, 0, f"cannot sign: {exc}")
        else:
            attempt = await send(
                client,
                url=subscription.url,
                secret=secret,
                body=delivery.body.encode("utf-8"),
                event_type=delivery.event_type,
                delivery_id=delivery.id,
                max_response_bytes=settings.outbound.max_response_bytes,
            )
        values = outcome_values(attempt, attempts, policy, utcnow())
    async with db.session() as session:
        await DeliveryRunRepository(session).record(delivery_id, values)
        await session.commit()
    state: str = values["state"]
    if not attempt.ok:
        logger.info("webhook delivery %s attempt %d: %s -> %s", delivery_id, attempts, attempt.error, state)
    return state


@register(DELIVER_KIND)
async def deliver(ctx: JobContext) -> dict[str, Any]:
    """Job: one attempt for each delivery named in ``params.delivery_ids`` (a few in parallel)."""
    ids = [uuid.UUID(str(i)) for i in ctx.params.get("delivery_ids", [])]
    outcomes: Counter[str] = Counter()
    gate = asyncio.Semaphore(PARALLEL_PER_JOB)
    policy = OutboundPolicy.from_settings(ctx.settings.outbound)
    async with outbound_client(policy) as client:

        async def one(delivery_id: uuid.UUID) -> None:
            async with gate:
                state = await attempt_delivery(ctx.db, ctx.settings, client, ctx.tenant_id, delivery_id)
                outcomes[state] += 1

        await asyncio.gather(*(one(i) for i in ids))
    return {"deliveries": len(ids), **{k: outcomes[k] for k in sorted(outcomes)}}


@register_periodic("webhooks.retry")
async def retry_due(
    db: Database, settings: Settings, *, now: datetime | None = None, limit: int = 500
) -> int:
    """Queue a delivery job per tenant for pending deliveries whose next attempt is due."""
    async with transaction(db) as session:
        claimed = await DeliveryRunRepository(session).claim_due(
            now=now or utcnow(), lease_until=utcnow() + DELIVERY_LEASE, limit=limit
        )
        by_tenant: dict[uuid.UUID, list[str]] = defaultdict(list)
        for delivery_id, tenant_id in claimed:
            by_tenant[tenant_id].append(str(delivery_id))
        for tenant_id, ids in by_tenant.items():
            await JobService(session, tenant_id).enqueue(DELIVER_KIND, AREA, {"delivery_ids": ids})
    return len(claimed)
