from __future__ import annotations

import httpx

from tests.factories import Actors


async def test_health(http: httpx.AsyncClient) -> None:
    response = await http.get("/health")
    assert response.status_code == 200
    assert response.json()["status"] == "ok"


async def test_ready_reports_head(http: httpx.AsyncClient, backend: str) -> None:
    response = await http.get("/ready")
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["revision"] == body["head"]
    assert body["database"] == ("sqlite" if backend == "sqlite" else "postgresql")


async def test_create_and_get_learner(http: httpx.AsyncClient, actors: Actors) -> None:
    headers = await actors.a.headers("roster:write")
    created = await http.post(
        "/api/v1/learners", json={"given_name": "Ada", "family_name": "Lovelace"}, headers=headers
    )
    assert created.status_code == 201, created.text
    learner_id = created.json()["id"]
    got = await http.get(f"/api/v1/learners/{learner_id}", headers=headers)
    assert got.status_code == 200
    assert got.json()["given_name"] == "Ada"
    other = await http.get(f"/api/v1/learners/{learner_id}", headers=await actors.b.headers("roster:read"))
    assert other.status_code == 404
