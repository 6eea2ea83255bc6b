"""Full and delta syncs from the fake provider, run as jobs on committed data, on both databases."""

from __future__ import annotations

import asyncio

from sqlalchemy import func, select
from sqlmodel import col

from service.adapters.oneroster.models import SEEN, OneRosterConnection, SyncRecord
from service.adapters.oneroster.schemas import SyncRequest
from service.adapters.oneroster.service import ConnectionService
from service.config import Settings
from service.jobs.backends import JobRunner
from service.jobs.service import JobService, transaction
from service.roster.models import Person
from tests.adapters.oneroster.fake_server import FakeOneRoster, small_district
from tests.adapters.oneroster.helpers import (
    SyncEnv,
    active_sids,
    full_sync_changes_nothing,
    snapshot,
    sync_env,
    timestamps,
)
from tests.jobs.helpers import wait_for


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
    await full_sync_changes_nothing(env, snap, await timestamps(env.db, env.tenant_id))
    async with env.db.session() as session:
        marks = set(
            (
                await session.execute(
                    select(SyncRecord.seen_job_id).where(col(SyncRecord.connection_id) == env.connection_id)
                )
            ).scalars()
        )
        left = (await session.execute(select(func.count()).select_from(SEEN))).scalar_one()
    # the re-run rewrote no row of the record index (its seen marks went to oneroster_seen) ...
    assert marks == {job.id}
    # ... and deleted those marks when it ended
    assert left == 0


async def test_delta_applies_renames_enrollment_changes_tombstones_and_grades(env: SyncEnv) -> None:
    small_district(env.fake, students=12)  # one learner of 12 leaves: under the guard's 10%
    first = await env.run("full")
    assert first.state == "succeeded", first.error
    fake = env.fake
    fake.update("users", "student-1", givenName="Renamed")
    fake.tombstone("enrollments", "enr-0-2")
    fake.put(
        "enrollments",
        {
            "sourcedId": "enr-new",
            "user": {"sourcedId": "student-2"},
            "class": {"sourcedId": "class-1"},
            "role": "student",
        },
    )
    # that student already had enr-1-2 in class-1: the provider replaces it
    fake.tombstone("enrollments", "enr-1-2")
    fake.update("results", "res-0-0", score=99)
    fake.tombstone("users", "student-5")
    fake.update("orgs", "school-1", name="Renamed High")

    delta = await env.run("delta")
    assert delta.state == "succeeded", delta.error
    assert delta.report is not None
    assert delta.report["mode"] == "delta" and delta.report["since"] is not None
    # only what changed was asked for and fetched
    users_calls = fake.requests_to("users")
    assert users_calls[-1]["filter"].startswith("dateLastModified>'")
    assert delta.report["collections"]["users"]["fetched"] == 2
    assert delta.report["collections"]["results"]["fetched"] == 1
    snap = await snapshot(env.db, env.tenant_id)
    assert snap["users"]["student-1"][1] == "Renamed"
    assert snap["users"]["student-5"][3] == "inactive"
    assert snap["orgs"]["school-1"][0] == "Renamed High"
    assert snap["enrollments"]["enr-0-2"][3] == "inactive"
    assert snap["enrollments"]["enr-new"][3] == "active"
    assert snap["results"]["res-0-0"][2] == 99.0
    # the new sourcedId for the same (class, person, role) took over the departing enrollment's row
    assert snap["enrollments"]["enr-new"] == ("class-1", "student-2", "student", "active", False)
    assert "enr-1-2" not in snap["enrollments"]
    assert delta.report["collections"]["enrollments"]["deactivated"] == 1
    assert active_sids(snap, "enrollments", 3) == set(env.fake.active("enrollments"))
    assert active_sids(snap, "users", 3) == set(env.fake.active("users"))
    # nothing is ever hard-deleted
    assert "enr-0-2" in snap["enrollments"] and "student-5" in snap["users"]


async def test_full_sync_deactivates_hard_deleted_records_and_reactivates_returns(env: SyncEnv) -> None:
    small_district(env.fake)
    assert (await env.run("full")).state == "succeeded"
    gone = env.fake.data["enrollments"]["enr-1-3"]
    env.fake.hard_delete("enrollments", "enr-1-3")
    env.fake.hard_delete("results", "res-1-3")
    delta = await env.run("delta")
    assert delta.state == "succeeded"
    # a delta cannot see hard deletes ...
    snap = await snapshot(env.db, env.tenant_id)
    assert snap["enrollments"]["enr-1-3"][3] == "active"
    # ... a full sync does
    full = await env.run("full")
    assert full.state == "succeeded", full.error
    assert full.report is not None
    assert full.report["collections"]["enrollments"]["deactivated"] == 1
    assert full.report["collections"]["results"]["deactivated"] == 1
    snap = await snapshot(env.db, env.tenant_id)
    assert snap["enrollments"]["enr-1-3"][3] == "inactive"
    assert snap["results"]["res-1-3"][3] == "inactive"
    assert active_sids(snap, "enrollments", 3) == set(env.fake.active("enrollments"))
    env.fake.put("enrollments", gone)
    back = await env.run("delta")
    assert back.state == "succeeded"
    assert (await snapshot(env.db, env.tenant_id))["enrollments"]["enr-1-3"][3] == "active"


async def test_guard_refuses_mass_deactivation_without_override(env: SyncEnv) -> None:
    small_district(env.fake, students=10)
    assert (await env.run("full")).state == "succeeded"
    for i in range(4):  # 4 of 10 learners vanish: more than the 10% allowed
        env.fake.hard_delete("users", f"student-{i}")
    refused = await env.run("full")
    assert refused.state == "failed"
    assert refused.error is not None and "would deactivate 4 of 10 active learners" in refused.error
    snap = await snapshot(env.db, env.tenant_id)
    assert active_sids(snap, "users", 3) >= {f"student-{i}" for i in range(10)}
    allowed = await env.run("full", override=True)
    assert allowed.state == "succeeded", allowed.error
    snap = await snapshot(env.db, env.tenant_id)
    assert {f"student-{i}" for i in range(4)}.isdisjoint(active_sids(snap, "users", 3))


async def test_records_with_problems_are_skipped_and_reported(env: SyncEnv) -> None:
    small_district(env.fake)
    env.fake.put("users", {"sourcedId": "no-role", "givenName": "A", "familyName": "B", "roles": []})
    env.fake.put("classes", {"sourcedId": "orphan", "title": "Orphan", "school": {"sourcedId": "nowhere"}})
    env.fake.put("orgs", {"sourcedId": "bad-type", "name": "X", "type": "galaxy"})
    env.fake.put("results", {"sourcedId": "r-bad", "lineItem": {"sourcedId": "li-0"}})
    job = await env.run("full")
    assert job.state == "succeeded", job.error
    assert job.report is not None
    assert job.report["errors"] == {"missing_field": 2, "unknown_reference": 1, "invalid_value": 1}
    samples = {(s["collection"], s["sourced_id"], s["field"]) for s in job.report["error_samples"]}
    assert {
        ("users", "no-role", "roles"),
        ("classes", "orphan", "school_id"),
        ("orgs", "bad-type", "type"),
        ("results", "r-bad", "student"),
    } <= samples
    assert job.report["collections"]["users"]["skipped"] == 1
    snap = await snapshot(env.db, env.tenant_id)
    assert "no-role" not in snap["users"] and "orphan" not in snap["classes"]


async def test_cancelling_a_running_sync_stops_it_with_committed_pages_kept(env: SyncEnv) -> None:
    small_district(env.fake, students=12, classes=3)
    env.fake.delay["results"] = 0.1
    async with transaction(env.db) as session:
        job = await ConnectionService(session, env.tenant_id, env.settings).enqueue_sync(
            env.connection_id, SyncRequest(mode="full")
        )
        job_id = job.id
    running = asyncio.create_task(JobRunner(env.db, env.settings).run(job_id))

    async def in_results() -> bool:
        progress = (await env.job(job_id)).progress or {}
        return progress.get("counts", {}).get("results", {}).get("fetched", 0) >= 4

    await wait_for(in_results, what="results to be syncing")
    async with transaction(env.db) as session:
        await JobService(session, env.tenant_id).cancel(job_id)
    assert await running == "cancelled"
    snap = await snapshot(env.db, env.tenant_id)
    assert set(snap["users"]) == set(env.fake.active("users"))  # finished collections stay
    assert 4 <= len(snap["results"]) < 36


async def test_version_1_1_provider(migrated_url: str, or_settings: Settings) -> None:
    fake = FakeOneRoster(version="1.1").start()
    try:
        small_district(fake)
        async with sync_env(migrated_url, or_settings, fake, version="1.1") as env11:
            job = await env11.run("full")
            assert job.state == "succeeded", job.error
            assert job.report is not None and job.report["errors"] == {}
            assert any(p.startswith("/ims/oneroster/v1p1/users") for _, p, _ in fake.log)
            snap = await snapshot(env11.db, env11.tenant_id)
            assert snap["users"]["teacher-1"] == (
                "teacher",
                "Tina",
                "Tester",
                "active",
                [("school-1", "teacher", "primary")],
            )
            assert set(snap["results"]) == set(fake.active("results"))
    finally:
        fake.stop()


async def test_optional_gradebook_missing_is_reported_not_fatal_and_keeps_the_mark(env: SyncEnv) -> None:
    small_district(env.fake)
    env.fake.inject("/results", 404, times=1)
    job = await env.run("full")
    assert job.state == "succeeded", job.error
    assert job.report is not None
    assert job.report["failed_collections"] == ["results"]
    assert job.report["errors"] == {"provider_http_404": 1}
    sample = job.report["error_samples"][0]
    assert sample["collection"] == "results" and sample["code_major"] == "failure"
    async with env.db.session() as session:
        connection = await session.get(OneRosterConnection, env.connection_id)
        assert connection is not None and connection.high_water_mark is None  # incomplete: no delta mark
    env.fake.inject("/users", 500, times=50)
    failed = await env.run("delta")
    assert failed.state == "failed" and failed.error is not None and "HTTP 500" in failed.error


async def test_cli_sync_runs_the_job_and_draws_progress(env: SyncEnv) -> None:
    import io

    from service.adapters.oneroster.cli import render, run_sync_command
    from service.tenancy.models import Tenant

    small_district(env.fake)
    async with env.db.session() as session:
        tenant = await session.get(Tenant, env.tenant_id)
        assert tenant is not None
        slug = tenant.slug
    out = io.StringIO()
    job = await run_sync_command(
        env.db,
        env.settings,
        slug,
        env.connection_id,
        mode="full",
        override=False,
        show_progress=True,
        out=out,
    )
    assert job["state"] == "succeeded" and job["kind"] == "oneroster.sync"
    drawn = out.getvalue()
    assert "[" + "#" * 30 + "] 9/9 collections" in drawn and "\r" in drawn
    assert render({"done": ["orgs"], "collection": "users", "counts": {"users": {"fetched": 8}}}).startswith(
        "[###---------------------------] 1/9 collections | users 8 |"
    )


async def test_schedules_queue_delta_syncs_when_due_and_never_twice(env: SyncEnv) -> None:
    from datetime import timedelta

    from sqlalchemy import update
    from sqlmodel import col, select

    from service.adapters.oneroster.schemas import ConnectionUpdate
    from service.adapters.oneroster.sync import queue_scheduled_syncs
    from service.db import utcnow
    from service.jobs.models import Job

    async def sync_jobs() -> list[Job]:
        async with env.db.session() as session:
            return list((await session.exec(select(Job).where(col(Job.kind) == "oneroster.sync"))).all())

    assert await queue_scheduled_syncs(env.db, env.settings) == 0  # no schedule: manual only
    async with transaction(env.db) as session:
        await ConnectionService(session, env.tenant_id, env.settings).update(
            env.connection_id, ConnectionUpdate(schedule_minutes=60)
        )
    assert await queue_scheduled_syncs(env.db, env.settings) == 1
    queued = await sync_jobs()
    assert [(j.params["mode"], j.params["scheduled"], j.state) for j in queued] == [("delta", True, "queued")]
    assert await queue_scheduled_syncs(env.db, env.settings) == 0  # not due again for an hour
    async with env.db.session() as session:  # an hour passes, but the first one has not run yet
        await session.execute(
            update(OneRosterConnection)
            .where(col(OneRosterConnection.id) == env.connection_id)
            .values(last_scheduled_at=utcnow() - timedelta(minutes=61))
        )
        await session.commit()
    assert await queue_scheduled_syncs(env.db, env.settings) == 0
    small_district(env.fake)
    await JobRunner(env.db, env.settings).run(queued[0].id)
    assert (await env.job(queued[0].id)).state == "succeeded"
    assert await queue_scheduled_syncs(env.db, env.settings) == 1
    assert len(await sync_jobs()) == 2


async def test_a_sourced_id_repeated_on_the_next_page_is_written_once_the_later_copy_winning(
    env: SyncEnv,
) -> None:
    """On PostgreSQL the next page is prepared while the page before is written: a page repeating a
    sourcedId of the page in flight must wait for it (else it would not find the row and insert it
    twice). With pages this small the write before is usually over by then, so this checks the
    outcome on both backends more than it forces the race."""
    small_district(env.fake)
    first_page = list(env.fake.data["users"].values())[:4]
    later = {**first_page[-1], "givenName": "Later", "dateLastModified": env.fake.tick()}
    env.fake.extra["users"] = [(4, later)]  # the first record of the second page (pages of 4)
    job = await env.run("full")
    assert job.state == "succeeded", job.error
    assert job.report is not None
    users = job.report["collections"]["users"]
    assert users["fetched"] == len(env.fake.data["users"]) + 1
    assert users["created"] == len(env.fake.data["users"])
    assert users["updated"] == 1
    async with env.db.session() as session:
        rows = (
            (
                await session.execute(
                    select(Person.given_name).where(
                        col(Person.tenant_id) == env.tenant_id, col(Person.sourced_id) == later["sourcedId"]
                    )
                )
            )
            .scalars()
            .all()
        )
    assert rows == ["Later"]
