"""Webhook delivery end to end: committed events are POSTed, signed, to a real receiver on 127.0.0.1;
failures are recorded and retried; rolled-back events send nothing; nothing is sent before commit."""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import datetime

import pytest
from sqlmodel import col, delete, select

from service.config import OutboundSettings
from service.db import discard_after_commit, run_after_commit
from service.jobs.backends import InProcessBackend, activate, deactivate
from service.jobs.models import Job
from service.jobs.service import transaction
from service.net import OutboundPolicy, outbound_client
from service.webhooks import signing
from service.webhooks.delivery import DEFAULT_POLICY, RetryPolicy, attempt_delivery, retry_due
from service.webhooks.models import WebhookDelivery
from service.webhooks.schemas import WebhookCreate
from service.webhooks.service import WebhookService
from tests.factories import make_tenant
from tests.jobs.helpers import Committed, count, wait_for
from tests.webhooks.receiver import Receiver, running_receiver


@dataclass
class Env:
    c: Committed
    receiver: Receiver
    backend: InProcessBackend
    subscription_id: uuid.UUID
    secret: str


@pytest.fixture
async def env(committed: Committed) -> AsyncIterator[Env]:
    # 127.0.0.1 is allowed explicitly (not allow_private): the guard stays on for everything else.
    committed.settings = committed.settings.model_copy(
        update={"outbound": OutboundSettings(allowed_hosts=["127.0.0.1"], timeout_seconds=1.0)}
    )
    async with running_receiver() as receiver:
        async with transaction(committed.db) as session:
            sub, secret = await WebhookService(session, committed.tenant_id, committed.settings).create(
                WebhookCreate(url=receiver.url, events=["award.created", "sync.finished"])
            )
        backend = InProcessBackend(committed.db, committed.settings, tick_interval=3600)
        await backend.start()
        activate(backend)
        try:
            yield Env(committed, receiver, backend, sub.id, secret)
        finally:
            deactivate(backend)
            await backend.stop()


async def _emit(e: Env, event: str = "award.created", **data: object) -> WebhookDelivery:
    async with transaction(e.c.db) as session:
        deliveries = await WebhookService(session, e.c.tenant_id).emit(event, data)
    assert len(deliveries) == 1
    return deliveries[0]


async def _delivery(e: Env, delivery_id: uuid.UUID) -> WebhookDelivery:
    async with e.c.db.session() as session:
        row = await session.get(WebhookDelivery, delivery_id)
    assert row is not None
    return row


async def _wait_attempts(e: Env, delivery_id: uuid.UUID, attempts: int) -> WebhookDelivery:
    async def probe() -> WebhookDelivery | None:
        row = await _delivery(e, delivery_id)
        return row if row.attempts >= attempts else None

    return await wait_for(probe, what=f"delivery attempt {attempts}")


async def test_committed_event_is_delivered_signed(env: Env) -> None:
    delivery = await _emit(env, award_id="a-1", learner="L1")
    row = await _wait_attempts(env, delivery.id, 1)
    assert row.state == "delivered" and row.last_status_code == 200 and row.last_error is None
    assert row.delivered_at is not None and row.next_attempt_at is None and row.last_duration_ms is not None

    [request] = env.receiver.requests
    assert request.method == "POST" and request.path == "/hooks/portrait"
    headers = request.headers
    assert headers["content-type"] == "application/json"
    assert headers["portrait-event"] == "award.created"
    assert headers["portrait-delivery"] == str(delivery.id)
    assert headers["portrait-signature"].startswith(f"t={headers['portrait-timestamp']},v1=")
    assert signing.verify(env.secret, headers["portrait-signature"], request.body)
    assert not signing.verify("whsec_other", headers["portrait-signature"], request.body)

    body = json.loads(request.body)
    assert set(body) == {"id", "type", "created_at", "tenant_id", "data"}
    assert body["type"] == "award.created" and body["tenant_id"] == str(env.c.tenant_id)
    assert body["id"] == str(delivery.event_id) and body["created_at"].endswith("Z")
    assert body["data"] == {"award_id": "a-1", "learner": "L1"}

    # The job records its own end in a transaction after the delivery's: wait for that, not a sleep.
    async def finished() -> list[Job] | None:
        async with env.c.db.session() as session:
            jobs = (await session.exec(select(Job).where(col(Job.kind) == "webhooks.deliver"))).all()
        return list(jobs) if jobs and all(j.state not in ("queued", "running") for j in jobs) else None

    jobs = await wait_for(finished, what="the delivery job's end")
    assert [j.state for j in jobs] == ["succeeded"]
    assert jobs[0].report == {"deliveries": 1, "delivered": 1}


async def test_nothing_is_sent_before_commit(env: Env) -> None:
    async with env.c.db.session() as session:
        [delivery] = await WebhookService(session, env.c.tenant_id).emit("award.created", {"n": 1})
        await session.flush()
        # Uncommitted: the backend cannot see the job, and nothing reached the receiver.
        assert await env.backend.resume() == 0
        assert await count(env.c.db, "SELECT count(*) FROM webhook_deliveries") == 0
        assert env.receiver.requests == []
        await session.commit()
        assert env.receiver.requests == []  # committed, but handed over only by the after-commit step
        await run_after_commit(session)
    row = await _wait_attempts(env, delivery.id, 1)
    assert row.state == "delivered" and len(env.receiver.requests) == 1


async def test_rolled_back_event_delivers_nothing(env: Env) -> None:
    async with env.c.db.session() as session:
        [doomed] = await WebhookService(session, env.c.tenant_id).emit("award.created", {"n": "doomed"})
        discard_after_commit(session)
        await session.rollback()
    kept = await _emit(env, n="kept")
    await _wait_attempts(env, kept.id, 1)
    assert [json.loads(r.body)["data"] for r in env.receiver.requests] == [{"n": "kept"}]
    assert await count(env.c.db, "SELECT count(*) FROM webhook_deliveries") == 1
    async with env.c.db.session() as session:
        assert await session.get(WebhookDelivery, doomed.id) is None


async def test_failures_are_recorded_and_retried_with_backoff(env: Env) -> None:
    env.receiver.fail_next(1, status=500)
    env.receiver.hang_next(1)
    delivery = await _emit(env, "sync.finished", job="j-1")

    first = await _wait_attempts(env, delivery.id, 1)
    assert first.state == "pending" and first.last_status_code == 500
    assert first.last_error == "HTTP 500: receiver says no"
    assert first.last_attempt_at is not None and first.next_attempt_at is not None
    wait = (first.next_attempt_at - first.last_attempt_at).total_seconds()
    assert 30 * 0.8 - 1 <= wait <= 30 * 1.2 + 1  # base delay with +-20% jitter

    # Not due yet: the retry pass leaves it alone.
    assert await retry_due(env.c.db, env.c.settings) == 0
    # Due: the pass queues a job, which makes attempt 2 (the receiver never answers: timeout).
    assert await retry_due(env.c.db, env.c.settings, now=first.next_attempt_at) == 1
    second = await _wait_attempts(env, delivery.id, 2)
    assert second.state == "pending" and second.last_status_code is None
    assert second.last_error is not None and "timed out" in second.last_error
    assert second.last_duration_ms is not None and second.last_duration_ms >= 900
    assert second.next_attempt_at is not None and second.last_attempt_at is not None
    wait = (second.next_attempt_at - second.last_attempt_at).total_seconds()
    assert 90 * 0.8 - 1 <= wait <= 90 * 1.2 + 1

    assert await retry_due(env.c.db, env.c.settings, now=second.next_attempt_at) == 1
    third = await _wait_attempts(env, delivery.id, 3)
    assert third.state == "delivered" and third.last_status_code == 200 and third.last_error is None

    requests = env.receiver.requests
    assert len(requests) == 3
    assert {r.headers["portrait-delivery"] for r in requests} == {str(delivery.id)}
    assert len({r.body for r in requests}) == 1  # the same bytes every time
    assert all(signing.verify(env.secret, r.headers["portrait-signature"], r.body) for r in requests)
    assert (
        await retry_due(env.c.db, env.c.settings, now=datetime.max.replace(tzinfo=third.created_at.tzinfo))
        == 0
    )


async def test_last_attempt_fails_the_delivery(env: Env) -> None:
    env.receiver.fail_next(10, status=503)
    delivery = await _emit(env)
    await _wait_attempts(env, delivery.id, 1)
    async with outbound_client(OutboundPolicy.from_settings(env.c.settings.outbound)) as client:
        state = await attempt_delivery(
            env.c.db, env.c.settings, client, env.c.tenant_id, delivery.id, policy=RetryPolicy(max_attempts=2)
        )
    assert state == "failed"
    row = await _delivery(env, delivery.id)
    assert row.state == "failed" and row.attempts == 2 and row.next_attempt_at is None
    assert row.last_status_code == 503
    # A finished delivery is never attempted again.
    assert (
        await retry_due(env.c.db, env.c.settings, now=datetime.max.replace(tzinfo=row.created_at.tzinfo)) == 0
    )


async def test_send_time_guard_blocks_a_host_no_longer_allowed(env: Env) -> None:
    strict = env.c.settings.model_copy(update={"outbound": OutboundSettings(timeout_seconds=1.0)})
    async with transaction(env.c.db) as session:
        [delivery] = await WebhookService(session, env.c.tenant_id).emit("award.created", {})
        discard_after_commit(session)  # delivered by hand below, with the strict settings
    async with outbound_client(OutboundPolicy.from_settings(strict.outbound)) as client:
        state = await attempt_delivery(env.c.db, strict, client, env.c.tenant_id, delivery.id)
    assert state == "pending"
    row = await _delivery(env, delivery.id)
    assert (
        row.last_error is not None and row.last_error.startswith("blocked:") and "loopback" in row.last_error
    )
    assert env.receiver.connections == 0


async def test_inactive_subscriptions_and_other_tenants_get_nothing(env: Env) -> None:
    async with transaction(env.c.db) as session:
        other = await make_tenant(session, env.c.settings)
        assert await WebhookService(session, other.id).emit("award.created", {"x": 1}) == []
        # a delivery job of another tenant cannot touch this tenant's deliveries
        [delivery] = await WebhookService(session, env.c.tenant_id).emit("award.created", {})
        discard_after_commit(session)
    async with outbound_client(OutboundPolicy.from_settings(env.c.settings.outbound)) as client:
        assert await attempt_delivery(env.c.db, env.c.settings, client, other.id, delivery.id) == "skipped"
        async with transaction(env.c.db) as session:
            sub = await WebhookService(session, env.c.tenant_id, env.c.settings).get(env.subscription_id)
            sub.active = False
        assert (
            await attempt_delivery(env.c.db, env.c.settings, client, env.c.tenant_id, delivery.id) == "failed"
        )
    row = await _delivery(env, delivery.id)
    assert row.last_error == "the subscription is inactive"
    assert env.receiver.requests == []
    async with transaction(env.c.db) as session:
        assert await WebhookService(session, env.c.tenant_id).emit("award.created", {}) == []


def test_retry_policy_backs_off_exponentially_with_jitter() -> None:
    policy = DEFAULT_POLICY
    assert policy.max_attempts == 8
    exact = [policy.delay(n, rand=lambda: 0.5).total_seconds() for n in range(1, 8)]
    assert exact == [30, 90, 270, 810, 2430, 7290, 21600]  # capped at 6 h
    assert policy.delay(1, rand=lambda: 0.0).total_seconds() == pytest.approx(24)
    assert policy.delay(1, rand=lambda: 1.0).total_seconds() == pytest.approx(36)
    total_hours = sum(exact) / 3600
    assert 8 < total_hours < 10


async def test_a_lost_delivery_job_is_recovered(env: Env) -> None:
    """The process died after commit, before handing the job over: the backend resumes the committed
    job; and were the job itself lost, the retry pass takes the delivery once its lease ends."""
    async with transaction(env.c.db) as session:
        [resumed] = await WebhookService(session, env.c.tenant_id).emit("award.created", {"lost": 1})
        discard_after_commit(session)  # the hand-over never happens
    assert env.receiver.requests == []
    assert await env.backend.resume() == 1  # the committed job is found and run
    assert (await _wait_attempts(env, resumed.id, 1)).state == "delivered"

    async with transaction(env.c.db) as session:
        [orphan] = await WebhookService(session, env.c.tenant_id).emit("award.created", {"lost": 2})
        discard_after_commit(session)
        await session.execute(delete(Job).where(col(Job.state) == "queued"))
    assert await env.backend.resume() == 0
    leased = await _delivery(env, orphan.id)
    assert leased.next_attempt_at is not None and leased.attempts == 0
    assert await retry_due(env.c.db, env.c.settings) == 0  # still within the job's lease
    assert await retry_due(env.c.db, env.c.settings, now=leased.next_attempt_at) == 1
    assert (await _wait_attempts(env, orphan.id, 1)).state == "delivered"
    assert [json.loads(r.body)["data"] for r in env.receiver.requests] == [{"lost": 1}, {"lost": 2}]
