"""Concurrent evidence for one learner never yields two awards, nor loses one (real connections)."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime

import pytest
from sqlalchemy import func
from sqlmodel import col, select

from service.awards.models import Award
from service.awards.schemas import AchievementCreate
from service.awards.service import AwardService
from service.config import Settings
from service.db import Database
from service.evidence.schemas import EvidenceCreate
from service.evidence.service import EvidenceService
from tests.factories import PortraitFixture, make_portrait, make_tenant

ROUNDS = 8


@pytest.fixture
async def committed(
    migrated_url: str, settings: Settings
) -> AsyncIterator[tuple[Database, uuid.UUID, PortraitFixture]]:
    db = Database(migrated_url, pool_size=4)
    async with db.session() as session:
        tenant = await make_tenant(session, settings)
        portrait = await make_portrait(session, tenant.id, competencies=2, learners=ROUNDS)
        tenant_id = tenant.id
        await session.commit()
    try:
        yield db, tenant_id, portrait
    finally:
        await db.dispose()


async def _post(
    db: Database, tenant_id: uuid.UUID, learner: uuid.UUID, competency: uuid.UUID, klass: uuid.UUID
) -> None:
    for attempt in range(20):
        try:
            async with db.session() as session:
                await EvidenceService(session, tenant_id).create_one(
                    EvidenceCreate(
                        learner_id=learner,
                        competency_id=competency,
                        source="rubric",
                        level=2,
                        class_id=klass,
                        observed_at=datetime(2026, 10, 1, tzinfo=UTC),
                    ),
                    created_by="test",
                )
                await session.commit()
                return
        except Exception as exc:  # SQLite answers "database is locked" to a losing writer: retry it
            if "locked" not in str(exc) or attempt == 19:
                raise
    raise AssertionError("unreachable")


@pytest.mark.parametrize("min_count", [1, 2])
async def test_concurrent_evidence_awards_exactly_once(
    committed: tuple[Database, uuid.UUID, PortraitFixture], min_count: int
) -> None:
    db, tenant_id, p = committed
    async with db.session() as session:
        achievement = await AwardService(session, tenant_id).create_achievement(
            AchievementCreate(
                title=f"Badge {min_count}",
                description="d",
                criteria="c",
                rule={
                    "type": "evidence",
                    "competency_ids": [str(p.competency_ids[0])],
                    "min_level": 2,
                    "min_count": min_count,
                },
            )
        )
        achievement_id = achievement.id
        await session.commit()
    for learner in p.learner_ids:
        # Two pieces for the same learner at the same moment, on separate connections.
        await asyncio.gather(
            _post(db, tenant_id, learner, p.competency_ids[0], p.class_ids[0]),
            _post(db, tenant_id, learner, p.competency_ids[0], p.class_ids[1]),
        )
    async with db.session() as session:
        rows = (
            await session.exec(
                select(Award.learner_id, func.count())
                .where(col(Award.tenant_id) == tenant_id, col(Award.achievement_id) == achievement_id)
                .group_by(col(Award.learner_id))
            )
        ).all()
    counts = dict(rows)
    # min_count=1: both writers see the rule met, one insert wins. min_count=2: neither writer may
    # miss the other's piece, or the award would be lost.
    assert counts == {learner: 1 for learner in p.learner_ids}
