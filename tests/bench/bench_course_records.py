"""Benchmark: reading course records for transcripts, and the CSV import.

    .venv/bin/python tests/bench/bench_course_records.py [--database-url URL] [--learners 1000] [--per 40]

A script that prints figures (nothing asserted; pytest does not collect it). It recreates a PostgreSQL
database (default postgresql+asyncpg://postgres@127.0.0.1:5432/portrait_bench_courses; a sqlite+aiosqlite
URL works too), migrates it, makes a district with ``--learners`` learners of ``--per`` course records
each (the bulk service call), then times what transcripts do: ``list_course_records`` for one learner
(p50/p95 over 200 calls) and ``course_records_for_learners`` for the whole cohort; and a 5,000-row CSV
upload through the real app (in-process ASGI). Peak RSS at the end.
"""

from __future__ import annotations

import argparse
import asyncio
import resource
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

import httpx
from pydantic import SecretStr

from service.app import create_app
from service.config import Settings
from service.db import Database
from service.migrations import upgrade
from service.roster.schemas import CourseCreate, CourseRecordCreate, PersonCreate
from service.roster.service import RosterService, course_records_for_learners, list_course_records
from service.tenancy import scopes
from service.tenancy.schemas import ApiClientCreate, TenantCreate
from service.tenancy.service import SYSTEM, TenancyService

DEFAULT_URL = "postgresql+asyncpg://postgres@127.0.0.1:5432/portrait_bench_courses"


async def recreate(url: str) -> None:
    if url.startswith("sqlite"):
        await asyncio.to_thread(Path(url.split("///", 1)[1]).unlink, missing_ok=True)
        return
    import asyncpg
    from sqlalchemy.engine import make_url

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


async def main(url: str, learners: int, per: int) -> None:
    await recreate(url)
    await upgrade(url)
    settings = Settings(
        database_url=url,
        token_secret=SecretStr("b" * 48),
        key_encryption_key=SecretStr("k" * 48),
        auto_migrate=False,
    )
    db = Database(url, pool_size=4)
    started = time.perf_counter()
    async with db.session() as session:
        tenancy = TenancyService(session, settings)
        tenant = await tenancy.create_tenant(SYSTEM, TenantCreate(slug="bench", name="Bench"))
        client, secret = await tenancy.create_client(
            SYSTEM, ApiClientCreate(tenant_id=tenant.id, name="bench", scopes=list(scopes.ALL_SCOPES))
        )
        roster = RosterService(session, tenant.id)
        courses = [
            await roster.create_course(CourseCreate(title=f"Course {i}", course_code=f"C{i}", credits=1.0))
            for i in range(per)
        ]
        ids = []
        for i in range(learners):
            person = await roster.create_person(
                PersonCreate(role="student", given_name=f"L{i}", family_name="Bench", sourced_id=f"b-{i}")
            )
            ids.append(person.id)
        await session.commit()
        for start in range(0, len(ids), 100):
            items = [
                (
                    learner,
                    CourseRecordCreate(
                        course_id=courses[j].id,
                        school_year=f"{2023 + j % 4}-{2024 + j % 4}",
                        term_title="Fall" if j % 2 else "Spring",
                        grade="A",
                        grade_numeric=95,
                        credits_earned=1.0,
                    ),
                )
                for learner in ids[start : start + 100]
                for j in range(per)
            ]
            await roster.add_course_records(items)
            await session.commit()
    print(f"setup: {learners} learners x {per} records in {time.perf_counter() - started:.1f} s")

    async with db.session() as session:
        timings = []
        for i in range(200):
            t0 = time.perf_counter()
            records = await list_course_records(session, tenant.id, ids[i % len(ids)])
            timings.append((time.perf_counter() - t0) * 1000)
        assert len(records) == per
        q = statistics.quantiles(timings, n=20)
        print(
            f"list_course_records, one learner of {per}: "
            f"p50 {statistics.median(timings):.2f} ms, p95 {q[18]:.2f} ms"
        )
        t0 = time.perf_counter()
        cohort = await course_records_for_learners(session, tenant.id, ids)
        elapsed = time.perf_counter() - t0
        total = sum(len(v) for v in cohort.values())
        print(f"course_records_for_learners, {len(ids)} learners ({total} records): {elapsed * 1000:.0f} ms")

    rows = [
        "learner_sourced_id,course_title,course_code,school_year,term_title,grade,credits_earned,source_ref"
    ]
    rows += [f"b-{i % learners},Transfer {i},T{i},2022-2023,Summer,P,0.5,csv-{i}" for i in range(5000)]
    body = "\n".join(rows) + "\n"
    app = create_app(settings, database=db)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://bench") as http:
        token = (
            await http.post(
                "/oauth/token", data={"grant_type": "client_credentials"}, auth=(client.client_id, secret)
            )
        ).json()["access_token"]
        headers = {"Authorization": f"Bearer {token}", "Content-Type": "text/csv"}
        for label in ("first upload (creates)", "same file again (replaces by source_ref)"):
            t0 = time.perf_counter()
            response = await http.post("/api/v1/course-records/import", content=body, headers=headers)
            elapsed = time.perf_counter() - t0
            assert response.status_code == 200, response.text
            done = response.json()
            print(
                f"CSV import, 5,000 rows, {len(body) / 1024:.0f} KiB, {label}: {elapsed:.2f} s "
                f"({5000 / elapsed:,.0f} rows/s), {done['created']} created, {done['updated']} updated"
            )
    await db.dispose()
    print(f"peak RSS {peak_rss_mb():.0f} MiB")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--database-url", default=DEFAULT_URL)
    parser.add_argument("--learners", type=int, default=1000)
    parser.add_argument("--per", type=int, default=40)
    args = parser.parse_args()
    asyncio.run(main(args.database_url, args.learners, args.per))
