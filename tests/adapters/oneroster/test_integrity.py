"""A sync never loses data silently: providers that cap pages without saying so, the consistency guard
on every collection, line item tombstones, deltas that turn into full pulls, and what happens to the
evidence of learners and classes the provider deactivates (issue 12)."""

from __future__ import annotations

import pytest
from sqlmodel import col, select

from service.adapters.oneroster.grades import external_ref
from service.adapters.oneroster.schemas import ConnectionUpdate, CutScore, GradeMapCreate
from service.adapters.oneroster.service import ConnectionService, GradeMapService
from service.evidence.models import Evidence
from service.jobs.service import transaction
from tests.adapters.oneroster.fake_server import small_district
from tests.adapters.oneroster.helpers import SyncEnv, active_sids, snapshot
from tests.factories import make_portrait

CUTS = [CutScore(min_percent=0, level=0), CutScore(min_percent=60, level=1)]


async def test_a_silent_page_cap_does_not_end_a_collection_early(env: SyncEnv) -> None:
    """The provider serves 500 of the 1,000 asked and sends neither Link nor X-Total-Count: the short
    first page used to be taken for the last (496 of 1,945 enrollments, a later full sync then
    deactivating the rest)."""
    env.settings = env.settings.model_copy(
        update={"oneroster": env.settings.oneroster.model_copy(update={"page_size": 1000})}
    )
    env.fake.max_limit = 500
    env.fake.send_total = env.fake.send_link = False
    small_district(env.fake, students=600, classes=2)
    job = await env.run("full")
    assert job.state == "succeeded", job.error
    assert job.report is not None
    assert job.report["page_sizes"]["enrollments"] == 500  # learned
    snap = await snapshot(env.db, env.tenant_id)
    for collection in ("users", "enrollments", "results"):
        assert set(snap[collection]) == set(env.fake.active(collection)), collection
    assert len(snap["enrollments"]) == 1202 and len(snap["results"]) == 1200
    # every page of every collection was asked for until an empty one (none skipped)
    offsets = sorted(int(q["offset"]) for q in env.fake.requests_to("enrollments"))
    assert offsets == [0, 500, 1000, 1202]
    again = await env.run("full")
    assert again.state == "succeeded", again.error
    assert again.report is not None and again.report["totals"]["deactivated"] == 0


async def test_the_guard_covers_every_collection_and_stops_before_any_deactivation(env: SyncEnv) -> None:
    small_district(env.fake, students=12)
    assert (await env.run("full")).state == "succeeded"
    # The provider now lists 14 of the 26 enrollments fewer (as a truncated paging would), and
    # tombstones one learner (1 of 12: within the learner guard).
    for i in range(7):
        env.fake.hard_delete("enrollments", f"enr-0-{i}")
        env.fake.hard_delete("enrollments", f"enr-1-{i}")
    env.fake.tombstone("users", "student-11")
    refused = await env.run("full")
    assert refused.state == "failed"
    assert refused.error is not None
    assert "enrollments: would deactivate 14 of 26 active records (54%), more than the allowed 10%" in (
        refused.error
    )
    assert "Nothing was deactivated" in refused.error
    assert refused.progress["refused"] == [
        {"collection": "enrollments", "leaving": 14, "of": 26, "what": "records"}
    ]
    snap = await snapshot(env.db, env.tenant_id)
    assert len(active_sids(snap, "enrollments", 3)) == 26
    assert snap["users"]["student-11"][3] == "active"  # not even the tombstone was applied
    allowed = await env.run("full", override=True)
    assert allowed.state == "succeeded", allowed.error
    assert allowed.report is not None
    assert allowed.report["collections"]["enrollments"]["deactivated"] == 14
    snap = await snapshot(env.db, env.tenant_id)
    assert active_sids(snap, "enrollments", 3) == set(env.fake.active("enrollments"))
    assert snap["users"]["student-11"][3] == "inactive"


async def _evidence(env: SyncEnv) -> list[Evidence]:
    async with env.db.session() as session:
        query = select(Evidence).where(col(Evidence.tenant_id) == env.tenant_id)
        return list((await session.exec(query)).all())


async def test_a_tombstoned_line_item_withdraws_its_evidence(env: SyncEnv) -> None:
    async with transaction(env.db) as session:
        portrait = await make_portrait(session, env.tenant_id, competencies=1, learners=1, classes=1)
        await GradeMapService(session, env.tenant_id).create(
            GradeMapCreate(
                line_item_sourced_id="li-0", competency_id=portrait.competency_ids[0], cut_scores=CUTS
            )
        )
        await GradeMapService(session, env.tenant_id).create(
            GradeMapCreate(
                line_item_sourced_id="li-1", competency_id=portrait.competency_ids[0], cut_scores=CUTS
            )
        )
    small_district(env.fake)
    assert (await env.run("full")).state == "succeeded"
    assert len([e for e in await _evidence(env) if e.status == "active"]) == 12
    env.fake.tombstone("lineItems", "li-0")
    delta = await env.run("delta")
    assert delta.state == "succeeded", delta.error
    assert delta.report is not None and delta.report["evidence"] == {"withdrawn": 6}
    rows = await _evidence(env)
    for i in range(6):
        ref0 = external_ref(f"res-0-{i}", portrait.competency_ids[0])
        ref1 = external_ref(f"res-1-{i}", portrait.competency_ids[0])
        assert {e.status for e in rows if e.external_ref == ref0} == {"withdrawn"}
        assert {e.status for e in rows if e.external_ref == ref1} == {"active"}


async def test_a_delta_turned_full_pull_is_reported(env: SyncEnv) -> None:
    small_district(env.fake)
    assert (await env.run("full")).state == "succeeded"
    for i in range(5):  # more than a page (4) changed
        env.fake.update("users", f"student-{i}", givenName=f"New{i}")
    env.fake.link_drops_filter = True
    delta = await env.run("delta")
    assert delta.state == "succeeded", delta.error
    assert delta.report is not None
    assert list(delta.report["full_pulls"]) == ["users"]
    assert "dropped the dateLastModified filter" in delta.report["full_pulls"]["users"]
    assert delta.report["collections"]["users"]["fetched"] > 5  # it did read what had not changed
    env.fake.link_drops_filter = False
    for i in range(5):
        env.fake.update("users", f"student-{i}", givenName=f"Newer{i}")
    honest = await env.run("delta")
    assert honest.report is not None and honest.report["full_pulls"] == {}


async def test_evidence_of_deactivated_learners_follows_the_connection_setting(env: SyncEnv) -> None:
    async with transaction(env.db) as session:
        portrait = await make_portrait(session, env.tenant_id, competencies=1, learners=1, classes=1)
        await GradeMapService(session, env.tenant_id).create(
            GradeMapCreate(
                line_item_sourced_id="li-0", competency_id=portrait.competency_ids[0], cut_scores=CUTS
            )
        )
    small_district(env.fake, students=12)
    assert (await env.run("full")).state == "succeeded"
    ref = external_ref("res-0-3", portrait.competency_ids[0])

    def states(rows: list[Evidence]) -> list[str]:
        return sorted(e.status for e in rows if e.external_ref == ref)

    env.fake.tombstone("users", "student-3")  # keep (the default): what the learner earned stays
    assert (await env.run("delta")).state == "succeeded"
    assert states(await _evidence(env)) == ["active"]
    env.fake.update("users", "student-3", status="active")
    assert (await env.run("delta")).state == "succeeded"

    async with transaction(env.db) as session:
        await ConnectionService(session, env.tenant_id, env.settings).update(
            env.connection_id, ConnectionUpdate(inactive_evidence="withdraw")
        )
    env.fake.tombstone("users", "student-3")
    left = await env.run("delta")
    assert left.state == "succeeded", left.error
    assert left.report is not None and left.report["evidence"] == {"withdrawn": 1}
    assert states(await _evidence(env)) == ["withdrawn"]
    env.fake.update("users", "student-3", status="active")  # back: the stored grade makes it again
    back = await env.run("delta")
    assert back.state == "succeeded", back.error
    assert states(await _evidence(env)) == ["active", "withdrawn"]


GUARDED = (
    "orgs",
    "academicSessions",
    "courses",
    "users",
    "classes",
    "enrollments",
    "categories",
    "lineItems",
    "results",
)
#: where a snapshot row keeps the record's status
STATUS_AT = {
    "orgs": 2,
    "academicSessions": 2,
    "courses": 1,
    "users": 3,
    "classes": 1,
    "enrollments": 3,
    "categories": 2,
    "lineItems": 1,
    "results": 3,
}


@pytest.mark.parametrize("mode", ["full", "delta"])
@pytest.mark.parametrize("collection", GUARDED)
async def test_no_sync_mass_deactivates_any_collection_without_override(
    env: SyncEnv, collection: str, mode: str
) -> None:
    """Every collection is guarded, in full syncs (records the provider stopped sending) and in deltas
    (tombstones) alike: the sync stops before deactivating anything, names the collection, and the
    district's override lets it through."""
    env.settings = env.settings.model_copy(
        update={"oneroster": env.settings.oneroster.model_copy(update={"deactivation_guard_floor": 0})}
    )
    small_district(env.fake, students=4)
    assert (await env.run("full")).state == "succeeded"
    before = await snapshot(env.db, env.tenant_id)
    sids = sorted(env.fake.data[collection])
    leaving = sids[len(sids) // 2 :]  # at least half of the collection: far above the allowed 10%
    for sid in leaving:
        if mode == "full":
            env.fake.hard_delete(collection, sid)
        else:
            env.fake.tombstone(collection, sid)
    refused = await env.run(mode)
    assert refused.state == "failed", refused.report
    assert refused.error is not None and "Nothing was deactivated" in refused.error
    assert f"{collection}: would deactivate " in refused.error
    assert collection in {r["collection"] for r in refused.progress["refused"]}
    assert await snapshot(env.db, env.tenant_id) == before  # not one record deactivated
    allowed = await env.run(mode, override=True)
    assert allowed.state == "succeeded", allowed.error
    assert allowed.report is not None
    assert allowed.report["collections"][collection]["deactivated"] == len(leaving)
    status = STATUS_AT[collection]
    left = set(before[collection]) - active_sids(await snapshot(env.db, env.tenant_id), collection, status)
    assert left == set(leaving)
