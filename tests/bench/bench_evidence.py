"""Benchmark: bulk evidence ingest with rule evaluation, and the class roster progress query.

    .venv/bin/python tests/bench/bench_evidence.py [--database-url URL] [--records 100000] [--batch 10000]

A script that prints figures (nothing asserted; pytest does not collect it). It recreates a PostgreSQL
database (default postgresql+asyncpg://postgres@127.0.0.1:5432/portrait_bench_evidence), migrates it,
creates a district with a published six-competency portrait, 1,000 learners in 40 classes and seven
achievements (six competency badges: 3 pieces at Proficient from 2 classes; one composite of all six),
then posts the records as NDJSON batches through the real app (in-process ASGI, real PostgreSQL) and
prints records/s, awards made and peak RSS. Then it builds a class of 35 learners x 6 competencies x 20
pieces each and times GET /api/v1/classes/{id}/progress (p50/p95/p99).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import resource
import statistics
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

import asyncpg
import httpx
from pydantic import SecretStr
from sqlalchemy.engine import make_url

from service.app import create_app
from service.awards.schemas import AchievementCreate
from service.awards.service import AwardService
from service.config import Settings
from service.db import Database
from service.migrations import upgrade
from service.roster.schemas import ClassCreate, EnrollmentCreate, PersonCreate
from service.roster.service import RosterService
from service.schemas import PageParams
from service.tenancy import scopes
from service.tenancy.schemas import ApiClientCreate, TenantCreate
from service.tenancy.service import SYSTEM, TenancyService
from tests.bench import headlines
from tests.factories import make_portrait

DEFAULT_URL = "postgresql+asyncpg://postgres@127.0.0.1:5432/portrait_bench_evidence"


async def recreate(url: str) -> None:
    parsed = make_url(url)
    conn = await asyncpg.connect(
        host=parsed.host,
        port=parsed.port or 5432,
        user=parsed.username,
        password=parsed.password,
        database="postgres",
    )
    await conn.execute(f'DROP DATABASE IF EXISTS "{parsed.database}" WITH (FORCE)')
    await conn.execute(f'CREATE DATABASE "{parsed.database}"')
    await conn.close()


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


async def main(url: str, records: int, batch: int, progress_requests: int = 200) -> None:
    await recreate(url)
    await upgrade(url)
    settings = Settings(
        database_url=url,
        token_secret=SecretStr("b" * 48),
        key_encryption_key=SecretStr("k" * 48),
        auto_migrate=False,
    )
    db = Database(url, pool_size=4)
    rng = random.Random(7)
    async with db.session() as session:
        tenancy = TenancyService(session, settings)
        tenant = await tenancy.create_tenant(SYSTEM, TenantCreate(slug="bench", name="Bench"))
        client, secret = await tenancy.create_client(
            SYSTEM, ApiClientCreate(tenant_id=tenant.id, name="bench", scopes=list(scopes.ALL_SCOPES))
        )
        p = await make_portrait(session, tenant.id, competencies=6, learners=0, classes=40)
        roster = RosterService(session, tenant.id)
        school = (await roster.list_orgs(PageParams(limit=1, offset=0), type_="school"))[0][0]
        learners = []
        for i in range(1000):
            person = await roster.create_person(
                PersonCreate(role="student", given_name=f"L{i}", family_name="Bench", sourced_id=f"b-{i}")
            )
            learners.append(person.id)
        awards = AwardService(session, tenant.id)
        badges = []
        for comp in p.competency_ids:
            a = await awards.create_achievement(
                AchievementCreate(
                    title=f"Badge {comp}",
                    description="d",
                    criteria="c",
                    rule={
                        "type": "evidence",
                        "competency_ids": [str(comp)],
                        "min_level": 2,
                        "min_count": 3,
                        "min_distinct_contexts": 2,
                    },
                )
            )
            badges.append(str(a.id))
        await awards.create_achievement(
            AchievementCreate(
                title="Portrait",
                description="d",
                criteria="c",
                rule={"type": "composite", "achievement_ids": badges},
            )
        )
        # The roster-view class: 35 learners.
        view_class = await roster.create_class(ClassCreate(title="View", school_id=school.id))
        view_learners = learners[:35]
        for learner in view_learners:
            await roster.create_enrollment(
                EnrollmentCreate(class_id=view_class.id, person_id=learner, role="student")
            )
        await session.commit()
        client_id, view_class_id = client.client_id, view_class.id
    app = create_app(settings, database=db)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://bench", timeout=600) as http:
        token = (
            await http.post(
                "/oauth/token", data={"grant_type": "client_credentials"}, auth=(client_id, secret)
            )
        ).json()["access_token"]
        headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/x-ndjson"}
        base = datetime(2026, 9, 1, tzinfo=UTC)

        def record() -> str:
            return json.dumps(
                {
                    "learner_id": str(rng.choice(learners[35:])),
                    "competency_id": str(rng.choice(p.competency_ids)),
                    "source": rng.choice(["rubric", "rubric", "exhibition", "self_assessment"]),
                    "level": rng.randint(0, 3),
                    "class_id": str(rng.choice(p.class_ids)),
                    "observed_at": (base + timedelta(minutes=rng.randint(0, 60 * 24 * 60))).isoformat(),
                }
            )

        accepted = awards_made = 0
        started = time.perf_counter()
        batch_times = []
        for start in range(0, records, batch):
            body = "\n".join(record() for _ in range(min(batch, records - start))).encode()
            t0 = time.perf_counter()
            response = await http.post("/api/v1/evidence", content=body, headers=headers)
            batch_times.append(time.perf_counter() - t0)
            result = response.json()
            assert response.status_code == 200, response.text[:500]
            accepted += len(result["accepted"])
            awards_made += result["awards_created"]
        elapsed = time.perf_counter() - started
        print(
            f"ingest: {accepted} records in {elapsed:.1f} s = {accepted / elapsed:,.0f} records/s "
            f"(batches of {batch}, mean batch {statistics.mean(batch_times):.2f} s); "
            f"awards made: {awards_made}"
        )
        print(f"peak RSS (client + app in one process): {peak_rss_mb():.0f} MiB")
        if records == 100_000:
            headlines.record("evidence.records_per_s", accepted / elapsed, "records/s")

        async with db.engine.connect() as conn:  # fresh planner statistics, as autovacuum would give
            await conn.exec_driver_sql("ANALYZE")
        # Roster view: 35 learners x 6 competencies x 20 pieces.
        view_rows = [
            json.dumps(
                {
                    "learner_id": str(learner),
                    "competency_id": str(comp),
                    "source": "rubric",
                    "level": rng.randint(0, 3),
                    "class_id": str(view_class_id),
                    "observed_at": (base + timedelta(days=rng.randint(0, 60))).isoformat(),
                }
            )
            for learner in view_learners
            for comp in p.competency_ids
            for _ in range(20)
        ]
        response = await http.post("/api/v1/evidence", content="\n".join(view_rows).encode(), headers=headers)
        assert response.status_code == 200
        get_headers = {"Authorization": f"Bearer {token}"}
        timings = []
        for _ in range(progress_requests):
            t0 = time.perf_counter()
            r = await http.get(f"/api/v1/classes/{view_class_id}/progress", headers=get_headers)
            timings.append((time.perf_counter() - t0) * 1000)
            assert r.status_code == 200 and len(r.json()["learners"]) == 35
        timings.sort()
        q = statistics.quantiles(timings, n=100)
        headlines.record("evidence.class_progress_p99_ms", q[98], "ms")
        print(
            f"class progress (35 x 6 x 20 = {len(view_rows)} pieces), "
            f"{progress_requests} sequential requests: "
            f"p50 {q[49]:.1f} ms, p95 {q[94]:.1f} ms, p99 {q[98]:.1f} ms, max {timings[-1]:.1f} ms"
        )
    await db.dispose()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", default=DEFAULT_URL)
    parser.add_argument("--records", type=int, default=100_000)
    parser.add_argument("--batch", type=int, default=10_000)
    parser.add_argument("--progress-requests", type=int, default=200)
    args = parser.parse_args()
    asyncio.run(main(args.database_url, args.records, args.batch, args.progress_requests))
