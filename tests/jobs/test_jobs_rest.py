"""Jobs over REST: visibility by area scope, filters and paging, cancellation, tenant isolation.

No backend runs here (the per-test transaction is never committed): jobs stay queued unless cancelled.
"""

from __future__ import annotations

import uuid

import httpx
from sqlmodel.ext.asyncio.session import AsyncSession

from service.jobs.service import JobService
from tests.factories import Actors
from tests.jobs import helpers  # noqa: F401  (registers the test job kinds)


async def _job(
    session: AsyncSession, tenant_id: uuid.UUID, kind: str = "tests.echo", area: str = "sync"
) -> str:
    job = await JobService(session, tenant_id).enqueue(kind, area, {"k": kind})
    return str(job.id)


async def test_get_job_needs_the_read_scope_of_its_area(
    http: httpx.AsyncClient, actors: Actors, session: AsyncSession
) -> None:
    job_id = await _job(session, actors.a.tenant.id)
    response = await http.get(f"/api/v1/jobs/{job_id}", headers=await actors.a.headers("sync:read"))
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["id"] == job_id and body["state"] == "queued" and body["kind"] == "tests.echo"
    assert body["area"] == "sync" and body["progress"] == {} and body["report"] is None
    assert body["params"] == {"k": "tests.echo"} and body["attempts"] == 0
    # write implies read
    assert (
        await http.get(f"/api/v1/jobs/{job_id}", headers=await actors.a.headers("sync:write"))
    ).status_code == 200

    other_area = await http.get(f"/api/v1/jobs/{job_id}", headers=await actors.a.headers("webhooks:read"))
    assert other_area.status_code == 403
    assert other_area.headers["content-type"].startswith("application/problem+json")
    assert "sync:read" in other_area.json()["detail"]


async def test_other_tenants_get_404(http: httpx.AsyncClient, actors: Actors, session: AsyncSession) -> None:
    job_id = await _job(session, actors.a.tenant.id)
    b = await actors.b.headers("sync:read", "sync:write")
    response = await http.get(f"/api/v1/jobs/{job_id}", headers=b)
    assert response.status_code == 404
    assert response.json()["code"] == "job_not_found"
    assert (await http.post(f"/api/v1/jobs/{job_id}/cancel", headers=b)).status_code == 404
    listed = (await http.get("/api/v1/jobs", headers=b)).json()
    assert job_id not in {j["id"] for j in listed["items"]}
    missing = await http.get(f"/api/v1/jobs/{uuid.uuid4()}", headers=b)
    assert missing.status_code == 404


async def test_list_filters_pages_and_hides_unreadable_areas(
    http: httpx.AsyncClient, actors: Actors, session: AsyncSession
) -> None:
    tenant = actors.a.tenant.id
    sync_ids = [await _job(session, tenant) for _ in range(3)]
    failing = await _job(session, tenant, kind="tests.fail")
    hook = await _job(session, tenant, area="webhooks")

    sync_reader = await actors.a.headers("sync:read")
    page = (await http.get("/api/v1/jobs", headers=sync_reader)).json()
    assert page["total"] == 4
    assert {j["id"] for j in page["items"]} == {*sync_ids, failing}  # no webhooks job

    both = await actors.a.headers("sync:read", "webhooks:read")
    assert (await http.get("/api/v1/jobs", headers=both)).json()["total"] == 5
    by_area = (await http.get("/api/v1/jobs", params={"area": "webhooks"}, headers=both)).json()
    assert [j["id"] for j in by_area["items"]] == [hook]
    by_kind = (await http.get("/api/v1/jobs", params={"kind": "tests.fail"}, headers=both)).json()
    assert [j["id"] for j in by_kind["items"]] == [failing]
    assert (await http.get("/api/v1/jobs", params={"state": "running"}, headers=both)).json()["total"] == 0

    first = (await http.get("/api/v1/jobs", params={"limit": 2}, headers=both)).json()
    second = (await http.get("/api/v1/jobs", params={"limit": 2, "offset": 2}, headers=both)).json()
    assert len(first["items"]) == 2 and len(second["items"]) == 2
    assert not {j["id"] for j in first["items"]} & {j["id"] for j in second["items"]}

    bad = await http.get("/api/v1/jobs", params={"state": "exploded"}, headers=both)
    assert bad.status_code == 422
    assert bad.json()["errors"][0]["loc"] == "query.state"


async def test_cancel_needs_write_and_a_finished_job_answers_409(
    http: httpx.AsyncClient, actors: Actors, session: AsyncSession
) -> None:
    job_id = await _job(session, actors.a.tenant.id)
    reader = await actors.a.headers("sync:read")
    assert (await http.post(f"/api/v1/jobs/{job_id}/cancel", headers=reader)).status_code == 403

    writer = await actors.a.headers("sync:write")
    response = await http.post(f"/api/v1/jobs/{job_id}/cancel", headers=writer)
    assert response.status_code == 202, response.text
    assert response.json()["state"] == "cancelled" and response.json()["cancel_requested"] is True
    assert response.json()["finished_at"] is not None

    again = await http.post(f"/api/v1/jobs/{job_id}/cancel", headers=writer)
    assert again.status_code == 409
    assert again.json()["code"] == "job_finished"
    assert (await http.get(f"/api/v1/jobs/{job_id}", headers=reader)).json()["state"] == "cancelled"


async def test_jobs_need_a_token(http: httpx.AsyncClient) -> None:
    assert (await http.get("/api/v1/jobs")).status_code == 401
    assert (await http.get(f"/api/v1/jobs/{uuid.uuid4()}")).status_code == 401
