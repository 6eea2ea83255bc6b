"""Routes are built when the service starts, not by the first request that walks past them.

FastAPI prepares a route (its dependencies and parameter models) the first time a request is matched
against it; the first request to a route late in the table paid for every route before it, on the event
loop (0.3 to 0.6 s of CPU for ``POST /graphql``). ``build_routes``, called by the app's lifespan, does
that work up front. Counted here by the field models FastAPI creates while answering a request.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import fastapi.routing
import httpx
import pytest

from service.app import build_routes, create_app
from service.config import Settings
from service.db import Database


def count_field_models(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    calls = [0]
    real: Callable[..., Any] = fastapi.routing.create_model_field

    def counting(*args: Any, **kwargs: Any) -> Any:
        calls[0] += 1
        return real(*args, **kwargs)

    monkeypatch.setattr(fastapi.routing, "create_model_field", counting)
    return calls


async def first_graphql_request(app: fastapi.FastAPI) -> None:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="https://portrait.test") as client:
        response = await client.post("/graphql", json={"query": "{ __typename }"})
    assert response.status_code == 200, response.text


async def test_a_new_app_builds_routes_on_its_first_request(
    settings: Settings, db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls = count_field_models(monkeypatch)
    await first_graphql_request(create_app(settings, database=db))
    assert calls[0] > 100  # the routes before /graphql, built while the request waited


async def test_build_routes_leaves_nothing_for_the_first_request(
    settings: Settings, db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls = count_field_models(monkeypatch)
    app = create_app(settings, database=db)
    await build_routes(app)
    built = calls[0]
    assert built > 100
    await first_graphql_request(app)
    assert calls[0] == built
