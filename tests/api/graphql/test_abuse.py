"""An anonymous client sending GraphQL in a loop must not take a meaningful share of the process
(issue 11, the load-test line; tests/bench/bench_graphql_abuse.py measures it): anonymous requests
open no database session, are charged the CPU time they were measured to take (at least
``UNMEASURED_CPU_MS`` each), are refused unread with ``Retry-After`` once refused, and introspection
beyond the trivial runs in a child process of lower priority, started with the application."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator

import pytest
from fastapi import FastAPI, Request
from graphql import graphql_sync
from sqlmodel.ext.asyncio.session import AsyncSession

from service.api.deps import get_session
from service.api.graphql.introspection import CHILD_NICENESS, IntrospectionProcess
from service.api.graphql.router import INTROSPECTION, UNMEASURED_CPU_MS, start_introspection
from service.api.graphql.schema import schema
from service.config import LimitSettings, Settings
from service.verification.ratelimit import RateLimiter
from tests.api.graphql.conftest import GraphQL
from tests.api.graphql.test_limits import TRIPLE_INTROSPECTION
from tests.factories import Actors

TYPENAMES = "{ " + " ".join(f"a{i}: __typename" for i in range(20)) + " }"


def limits(settings: Settings, **changes: object) -> Settings:
    return settings.model_copy(update={"limits": settings.limits.model_copy(update=changes)})


async def test_anonymous_requests_open_no_session(gql: GraphQL, actors: Actors, app: FastAPI) -> None:
    headers = await actors.a.headers("roster:read")
    opened: list[str] = []
    provider = app.dependency_overrides[get_session]

    async def counting(request: Request) -> AsyncIterator[AsyncSession]:
        opened.append(request.headers.get("authorization", "anonymous")[:6])
        async for session in provider(request):
            yield session

    app.dependency_overrides[get_session] = counting
    assert (await gql("{ __typename }")).ok() == {"__typename": "Query"}
    assert (await gql("{ learners { total } }")).codes == ["UNAUTHENTICATED"]
    assert (await gql('mutation { createOrg(input: {name: "X", type: SCHOOL}) { id } }')).codes == [
        "UNAUTHENTICATED"
    ]
    assert opened == []
    assert (await gql("{ learners { total } }", headers=headers)).ok() == {"learners": {"total": 0}}
    assert opened == ["Bearer"]


async def test_every_anonymous_request_is_charged_its_cpu_time(
    gql: GraphQL, app: FastAPI, settings: Settings
) -> None:
    # 10,000 units a CPU millisecond: each request costs at least UNMEASURED_CPU_MS of them, so a
    # budget of 300,000 lets at most 15 through however cheap their estimate ({ __typename }: 1).
    app.state.settings = limits(
        settings, graphql_anonymous_cost_per_cpu_ms=10_000, graphql_anonymous_refusal_delay_ms=0
    )
    burst = LimitSettings().graphql_anonymous_cost_burst
    statuses = [(await gql(f"{{ __typename }} # {i}")).status for i in range(40)]
    assert 0 < statuses.count(200) <= burst // (UNMEASURED_CPU_MS * 10_000)
    assert statuses[0] == 200 and statuses[-1] == 429


async def test_estimates_alone_when_cpu_is_not_charged(
    gql: GraphQL, app: FastAPI, settings: Settings
) -> None:
    app.state.settings = limits(settings, graphql_anonymous_cost_per_cpu_ms=0)
    statuses = [(await gql(f"{{ __typename }} # {i}")).status for i in range(40)]
    assert statuses == [200] * 40


async def test_a_refused_client_is_refused_unread_with_retry_after(
    gql: GraphQL, actors: Actors, app: FastAPI, settings: Settings
) -> None:
    app.state.settings = limits(
        settings, graphql_anonymous_cost_per_cpu_ms=200_000, graphql_anonymous_refusal_delay_ms=0
    )
    first = await gql.http.post("/graphql", json={"query": "{ __typename }"})
    assert first.status_code == 429, first.text  # 2 ms of CPU alone cost 400,000: over the burst
    assert int(first.headers["retry-after"]) >= 1
    # Over budget in every way, but not even read: the client was refused moments ago.
    again = await gql.http.post("/graphql", json={"query": TRIPLE_INTROSPECTION})
    assert again.status_code == 429 and again.json()["code"] == "too_many_requests"
    assert "retry-after" in again.headers
    # A token holder is not charged.
    headers = await actors.a.headers("roster:read")
    assert (await gql("{ __typename }", headers=headers)).ok() == {"__typename": "Query"}


def test_a_debit_can_take_a_bucket_below_zero() -> None:
    now = [0.0]
    limiter = RateLimiter(per_minute=60, burst=10, max_clients=5, clock=lambda: now[0])
    assert limiter.acquire("a", 4) is None
    limiter.debit("a", 30)  # work measured after it was allowed: down to -burst at most
    assert limiter.acquire("a", 1) == 11  # from -10 to 1 at one token a second
    now[0] = 11.0
    assert limiter.acquire("a", 1) is None


async def test_aliased_introspection_runs_in_the_child_not_on_the_event_loop(gql: GraphQL) -> None:
    executed = INTROSPECTION.executed
    answer = (await gql(f"{TYPENAMES} # test_aliased_introspection")).ok()
    assert answer == graphql_sync(schema._schema, TYPENAMES).data
    assert INTROSPECTION.executed == executed + 1


def test_the_child_runs_below_the_server_and_answers_its_cpu_time() -> None:
    child = IntrospectionProcess(schema._schema)
    try:
        child.start()
        assert child.pid is not None
        answer = child.run("{ __schema { types { name } } }", None, None)
        assert answer is not None and answer.cpu_seconds >= 0
        mine = os.getpriority(os.PRIO_PROCESS, 0)
        assert os.getpriority(os.PRIO_PROCESS, child.pid) == min(19, mine + CHILD_NICENESS)
    finally:
        child.close()
    assert child.pid is None


@pytest.mark.parametrize("when", ["at_startup", "on_first_use"])
async def test_the_introspection_process_starts_with_the_application(when: str) -> None:
    INTROSPECTION.close()
    try:
        await start_introspection(LimitSettings(graphql_introspection_process=when))
        assert (INTROSPECTION.pid is not None) == (when == "at_startup")
    finally:
        INTROSPECTION.close()
