"""Full and delta syncs from the fake provider, run as jobs on committed data, on both databases."""

from __future__ import annotations

from tests.adapters.oneroster.fake_server import small_district
from tests.adapters.oneroster.helpers import SyncEnv, active_sids, snapshot, timestamps


async def test_full_sync_then_rerun_changes_nothing(env: SyncEnv) -> None:
    small_district(env.fake)
    job = await env.run("full")
    assert job.state == "succeeded", job.error
    report = job.report
    assert report is not None
    assert report["errors"] == {}, report
    assert report["collections"]["users"]["created"] == 7
    assert report["collections"]["results"]["created"] == 12
    snap = await snapshot(env.db, env.tenant_id)
    for collection in ("orgs", "users", "classes", "enrollments", "results"):
        assert set(snap[collection]) == set(env.fake.active(collection)), collection
    assert snap["orgs"]["school-1"] == ("High School", "school", "active", "district-1")
    assert snap["academicSessions"]["term-1"][-1] == "year-2027"
    assert snap["users"]["student-0"] == (
        "student",
        "Stu0",
        "Tester",
        "active",
        [("school-1", "student", "primary")],
    )
    assert snap["classes"]["class-1"] == ("Biology 1", "active", "school-1", "term-1")
    assert snap["enrollments"]["enr-t-0"] == ("class-0", "teacher-1", "teacher", "active", True)
    assert snap["lineItems"]["li-0"][3:] == ("cat-1", 100.0, ["case-item-0"])
    assert snap["results"]["res-1-2"] == ("li-1", "student-2", 64.0, "active")
    before = await timestamps(env.db, env.tenant_id)

    again = await env.run("full")
    assert again.state == "succeeded", again.error
    assert again.report is not None
    totals = again.report["totals"]
    assert totals["created"] == totals["updated"] == totals["deactivated"] == 0, totals
    assert totals["unchanged"] == totals["fetched"] > 0
    assert await snapshot(env.db, env.tenant_id) == snap
    assert await timestamps(env.db, env.tenant_id) == before
