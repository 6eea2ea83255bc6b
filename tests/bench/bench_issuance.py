"""Benchmark: Open Badges credentials issued, signed and stored per second (the batch issuance path).

    .venv/bin/python tests/bench/bench_issuance.py [--database-url URL] [--count 10000] [--chunk 50]

A script that prints figures (nothing asserted; pytest does not collect it). With ``--database-url``
(PostgreSQL, e.g. ``postgresql+asyncpg://postgres@127.0.0.1:5432/portrait_bench``) the database's
``public`` schema is DROPPED and recreated, then migrated; without it a fresh SQLite file in a temporary
directory is used. It loads a district (published portrait, 4-level rubric, 200 learners, a badge with
an evidence rule), then issues ``--count`` credentials exactly as the ``badges.issue_batch`` job does:
``--chunk`` items per transaction (``issue_direct_many``: each item checked, its credential built from
the database, validated against the official schema, signed twice (eddsa-rdfc-2022 and VC-JWT RS256),
given a random status list index; then the chunk stored with one INSERT).

Figures: credentials stored per second (both formats each), the time per credential spent in each
proof format's build + sign, and "per format" rates: the throughput of a pipeline that would sign only
that format (the measured time minus the other format's signing time). Single process, one core busy.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from pydantic import SecretStr
from sqlalchemy import text

from service.awards.schemas import AchievementCreate
from service.awards.service import AwardService
from service.badges.issuance import CredentialService
from service.badges.schemas import CredentialIssue
from service.config import Settings
from service.db import Database, create_engine
from service.errors import ServiceError
from service.jobs.service import transaction
from service.migrations import upgrade_sync
from tests.factories import make_portrait, make_tenant


async def reset(url: str) -> None:
    engine = create_engine(url, pool_size=1)
    async with engine.begin() as conn:
        await conn.execute(text("DROP SCHEMA IF EXISTS public CASCADE"))
        await conn.execute(text("CREATE SCHEMA public"))
    await engine.dispose()


async def main(url: str | None, count: int, chunk: int) -> None:
    workdir = Path(tempfile.mkdtemp(prefix="bench-issuance-"))
    if url:
        await reset(url)
    else:
        url = f"sqlite+aiosqlite:///{(workdir / 'bench.db').as_posix()}"
    await asyncio.to_thread(upgrade_sync, url)
    settings = Settings(
        var_dir=workdir,
        database_url=url,
        token_secret=SecretStr("t" * 48),
        key_encryption_key=SecretStr("k" * 48),
        public_url="https://portrait.example",
        auto_migrate=False,
    )
    db = Database(url, pool_size=2)
    async with transaction(db) as session:
        tenant = await make_tenant(session, settings, "bench")
        portrait = await make_portrait(session, tenant.id, competencies=2, learners=200, classes=2)
        achievement = await AwardService(session, tenant.id).create_achievement(
            AchievementCreate(
                title="Collaborator",
                description="Works with others to reach shared goals.",
                criteria="Two pieces of evidence at Proficient or above from two classes.",
                rule={
                    "type": "evidence",
                    "competency_ids": [str(portrait.competency_ids[0])],
                    "min_level": 2,
                    "min_count": 2,
                },
            )
        )
        # Keys and the first status list, outside the measurement.
        warm = CredentialService(session, tenant.id, settings)
        await warm.issue_direct(
            CredentialIssue(achievement_id=achievement.id, learner_id=portrait.learner_ids[0]),
            issued_by="bench",
        )
        tenant_id, achievement_id, learners = tenant.id, achievement.id, portrait.learner_ids

    print(f"database: {db.dialect}; {count} credentials, {chunk} per transaction")
    sign = {"data-integrity": 0.0, "vc-jwt": 0.0}
    collisions = 0
    started = time.perf_counter()
    done = 0
    while done < count:
        size = min(chunk, count - done)
        async with transaction(db) as session:
            service = CredentialService(session, tenant_id, settings)
            failures: list[tuple[int, ServiceError]] = []
            await service.issue_direct_many(
                [
                    (
                        CredentialIssue(
                            achievement_id=achievement_id, learner_id=learners[(done + i) % len(learners)]
                        ),
                        f"bench:{done + i}",
                    )
                    for i in range(size)
                ],
                issued_by="bench",
                failures=failures,
            )
            assert not failures, failures[:3]
            for name, seconds in service.sign_seconds.items():
                sign[name] += seconds
            collisions += service.collisions
        done += size
        if done % max(chunk, count // 10) == 0:
            print(f"  {done:>7} issued, {done / (time.perf_counter() - started):8.1f}/s so far")
    elapsed = time.perf_counter() - started
    await db.dispose()
    print(f"credentials signed (both formats) and stored: {count / elapsed:8.1f}/s  ({elapsed:.1f} s)")
    for name, seconds in sign.items():
        other = sum(v for k, v in sign.items() if k != name)
        print(
            f"  {name:<15} build+sign {seconds / count * 1000:6.2f} ms each; "
            f"pipeline with this format only: {count / (elapsed - other):8.1f}/s"
        )
    rest = (elapsed - sum(sign.values())) / count * 1000
    print(f"  rest (database, assembly, webhooks check): {rest:.2f} ms each")
    print(f"  status index draws that collided: {collisions}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", default=None, help="PostgreSQL URL (its public schema is reset)")
    parser.add_argument("--count", type=int, default=10_000)
    parser.add_argument("--chunk", type=int, default=50)
    args = parser.parse_args()
    asyncio.run(main(args.database_url, args.count, args.chunk))
