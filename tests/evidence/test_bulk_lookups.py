"""Bulk lookups by id lists (one array parameter on PostgreSQL, an IN list on SQLite), and the garbage
collector tuning of serving processes."""

from __future__ import annotations

import gc
import time
import uuid

from sqlmodel.ext.asyncio.session import AsyncSession

from service import gctune
from service.awards.repository import AwardRepository
from service.config import Settings
from service.db import time_ordered_id, time_ordered_ids
from service.evidence.repository import EvidenceRepository
from tests.factories import make_portrait, make_tenant


async def test_id_list_lookups_find_exactly_the_tenants_rows(
    session: AsyncSession, settings: Settings
) -> None:
    tenant = await make_tenant(session, settings)
    other = await make_tenant(session, settings)
    p = await make_portrait(session, tenant.id, competencies=1, learners=3, classes=2)
    q = await make_portrait(session, other.id, competencies=1, learners=1, classes=1)
    unknown = [uuid.uuid4() for _ in range(500)]  # a long list: one parameter on PostgreSQL
    repo = EvidenceRepository(session, tenant.id)

    roles = await repo.learners_by_id([*p.learner_ids, *q.learner_ids, *unknown])
    assert roles == {learner: "student" for learner in p.learner_ids}
    assert await repo.classes([*p.class_ids, *q.class_ids, *unknown]) == set(p.class_ids)
    assert await repo.learners_by_id([]) == {}

    awards = AwardRepository(session, tenant.id)
    await awards.lock_learners([*p.learner_ids, *unknown])  # PostgreSQL: FOR NO KEY UPDATE over an array
    assert await awards.award_keys([*p.learner_ids, *unknown]) == []
    assert await awards.awards_for([*q.learner_ids]) == []


def test_serving_processes_tune_the_collector_once() -> None:
    gctune.tune()  # the first app built in this process may have done it already
    assert gc.get_threshold() == gctune.THRESHOLDS
    assert gc.get_freeze_count() > 0
    assert gctune.tune() is False


def test_evidence_ids_grow_with_time_and_are_version_7() -> None:
    first = time_ordered_id()
    later = [time_ordered_id() for _ in range(2_000)]
    assert first.version == 7 and first.variant == uuid.RFC_4122
    assert len({first, *later}) == 2_001
    # The first 48 bits are Unix milliseconds: never decreasing, and the id's time is the creation time.
    stamps = [u.int >> 80 for u in (first, *later)]
    assert stamps == sorted(stamps)
    assert abs(stamps[-1] - time.time_ns() // 1_000_000) < 60_000


def test_a_batch_of_evidence_ids_is_version_7_distinct_and_time_ordered() -> None:
    before = time.time_ns() // 1_000_000
    ids = list(time_ordered_ids(5_000))
    after = time.time_ns() // 1_000_000
    assert len(set(ids)) == 5_000
    assert all(u.version == 7 and u.variant == uuid.RFC_4122 for u in ids)
    stamps = [u.int >> 80 for u in ids]
    assert stamps == sorted(stamps) and before <= stamps[0] and stamps[-1] <= after
    # 74 random bits each: the bits after the version and variant differ between ids.
    assert len({u.int & ((1 << 62) - 1) for u in ids}) == 5_000
