"""Benchmark: Open Badges credentials issued, signed and stored per second (the batch issuance path).

    .venv/bin/python tests/bench/bench_issuance.py [--database-url URL] [--count 10000] [--chunk 50]
        [--workers 2] [--jwt-sample 200]

A script that prints figures (nothing asserted; pytest does not collect it). With ``--database-url``
(PostgreSQL, e.g. ``postgresql+asyncpg://postgres@127.0.0.1:5432/portrait_bench``) the database's
``public`` schema is DROPPED and recreated, then migrated; without it a fresh SQLite file in a temporary
directory is used. It loads a district (published portrait, 4-level rubric, 200 learners, a badge with
an evidence rule), then issues ``--count`` credentials exactly as the ``badges.issue_batch`` job does:
``--chunk`` items per transaction (``issue_direct_many``: each item checked, its credential built from
the database, validated against the official schema, signed with eddsa-rdfc-2022, given a random status
list index; then the chunk stored with one INSERT). The signing (schema check, RDFC-1.0, Ed25519) runs
in the signing pool (``settings.badges.signing_processes``, one worker per CPU by default), one task per
worker per chunk; the CPU figures include the pool's workers. The VC-JWT form is not made here: it is
signed on its first request and stored (docs/credentials.md).

Figures:

1. one process: credentials stored per second (wall), and the process's CPU time per credential
   (on a shared machine the CPU time says more than the wall time; the load is printed too);
2. ``--workers`` processes issuing side by side into the same database (as that many job workers
   would), the aggregate rate;
3. the lazy VC-JWT: the first request's cost (RS256 signing + the one UPDATE, one transaction per
   credential as a request has) and a later request's, over ``--jwt-sample`` credentials; and the
   rate of the batch path if every credential's JWT were asked for once afterwards.
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing
import os
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from pydantic import SecretStr
from sqlalchemy import text
from sqlmodel import col, select

from service.awards.schemas import AchievementCreate
from service.awards.service import AwardService
from service.badges import signing
from service.badges.issuance import CredentialService
from service.badges.models import IssuedCredential
from service.badges.schemas import CredentialIssue
from service.config import Settings
from service.db import Database, create_engine
from service.errors import ServiceError
from service.jobs.service import transaction
from service.migrations import upgrade_sync
from tests.bench import headlines
from tests.bench.bench_vc_api import _children_cpu as children_cpu
from tests.factories import make_portrait, make_tenant


async def reset(url: str) -> None:
    engine = create_engine(url, pool_size=1)
    async with engine.begin() as conn:
        await conn.execute(text("DROP SCHEMA IF EXISTS public CASCADE"))
        await conn.execute(text("CREATE SCHEMA public"))
    await engine.dispose()


def _settings(url: str, workdir: Path) -> Settings:
    return Settings(
        var_dir=workdir,
        database_url=url,
        token_secret=SecretStr("t" * 48),
        key_encryption_key=SecretStr("k" * 48),
        public_url="https://portrait.example",
        auto_migrate=False,
    )


async def setup(url: str, workdir: Path) -> tuple[uuid.UUID, uuid.UUID, list[uuid.UUID]]:
    await asyncio.to_thread(upgrade_sync, url)
    settings = _settings(url, workdir)
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
        await CredentialService(session, tenant.id, settings).issue_direct(
            CredentialIssue(achievement_id=achievement.id, learner_id=portrait.learner_ids[0]),
            issued_by="bench",
        )
        ids = tenant.id, achievement.id, list(portrait.learner_ids)
    await db.dispose()
    return ids


async def issue(
    url: str,
    workdir: Path,
    ids: tuple[uuid.UUID, uuid.UUID, list[uuid.UUID]],
    count: int,
    chunk: int,
    tag: str,
    progress: bool,
) -> tuple[float, float, float, int]:
    """Issue ``count`` credentials; (wall seconds, CPU seconds, signing seconds, collisions)."""
    tenant_id, achievement_id, learners = ids
    settings = _settings(url, workdir)
    db = Database(url, pool_size=2)
    signing, collisions, done = 0.0, 0, 0
    started, cpu = time.perf_counter(), time.process_time() + children_cpu(os.getpid())
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
                        f"bench:{tag}:{done + i}",
                    )
                    for i in range(size)
                ],
                issued_by="bench",
                failures=failures,
            )
            assert not failures, failures[:3]
            signing += service.sign_seconds["data-integrity"]
            collisions += service.collisions
        done += size
        if progress and done % max(chunk, count // 5) == 0:
            print(f"  {done:>7} issued, {done / (time.perf_counter() - started):8.1f}/s so far", flush=True)
    # The signing pool's workers (children of this process, started on the first chunk) count too.
    wall, cpu = time.perf_counter() - started, time.process_time() + children_cpu(os.getpid()) - cpu
    await db.dispose()
    return wall, cpu, signing, collisions


async def warm_then_issue(
    url: str, workdir: Path, ids: tuple[uuid.UUID, uuid.UUID, list[uuid.UUID]], count: int, chunk: int
) -> tuple[float, float, float, int]:
    # A warm-up chunk first, as the workers below have: the signing pool's start (its workers import the
    # service) and the credential's shape are a job worker's one-time costs, not per-credential ones.
    await issue(url, workdir, ids, chunk, chunk, "one:warm", False)
    return await issue(url, workdir, ids, count, chunk, "one", True)


def _worker(
    url: str,
    workdir: str,
    ids: tuple[uuid.UUID, uuid.UUID, list[uuid.UUID]],
    count: int,
    chunk: int,
    tag: str,
    start: Any,
    out: Any,
) -> None:
    # A warm-up chunk (imports, pinned contexts, the credential's shape), then wait for the others.
    asyncio.run(issue(url, Path(workdir), ids, chunk, chunk, f"{tag}:warm", False))
    out.put("ready")
    start.wait()
    out.put(asyncio.run(issue(url, Path(workdir), ids, count, chunk, tag, False)))
    signing.shutdown()  # else this process would wait for the pool's idle workers at exit


async def lazy_jwt(url: str, workdir: Path, tenant_id: uuid.UUID, sample: int) -> tuple[float, float]:
    """Mean seconds of a first and of a later request for the VC-JWT form (one transaction each)."""
    settings = _settings(url, workdir)
    db = Database(url, pool_size=2)
    async with db.session() as session:
        rows = (
            await session.exec(
                select(IssuedCredential.id)
                .where(col(IssuedCredential.tenant_id) == tenant_id, col(IssuedCredential.jwt).is_(None))
                .limit(sample)
            )
        ).all()
    timings = []
    for attempt in ("first", "later"):
        started = time.perf_counter()
        for credential_id in rows:
            async with db.session() as session:
                service = CredentialService(session, tenant_id, settings)
                token = await service.jwt(await service.get(credential_id))
                assert token.count(".") == 2 and service.jwt_stored == (attempt == "first")
                await session.commit()
        timings.append((time.perf_counter() - started) / max(1, len(rows)))
    await db.dispose()
    return timings[0], timings[1]


def main(url: str | None, count: int, chunk: int, workers: int, jwt_sample: int) -> None:
    workdir = Path(tempfile.mkdtemp(prefix="bench-issuance-"))
    if url:
        asyncio.run(reset(url))
    else:
        url = f"sqlite+aiosqlite:///{(workdir / 'bench.db').as_posix()}"
    ids = asyncio.run(setup(url, workdir))
    load = os.getloadavg()
    print(
        f"database: {url.split(':', 1)[0]}; {count} credentials, {chunk} per transaction; "
        f"load before: {load[0]:.2f} {load[1]:.2f} {load[2]:.2f} on {os.cpu_count()} CPUs"
    )

    wall, cpu, signing, collisions = asyncio.run(warm_then_issue(url, workdir, ids, count, chunk))
    headlines.record("issuance.batch_per_s", count / wall, "credentials/s")
    print(
        f"1 process, eddsa-rdfc-2022 signed and stored: {count / wall:8.1f}/s  ({wall:.1f} s wall); "
        f"CPU {cpu / count * 1000:.2f} ms each = {count / cpu:.0f}/s per busy core"
    )
    print(
        f"  build + check + sign: {signing / count * 1000:.2f} ms each (wall); "
        f"status index draws that collided: {collisions}"
    )

    if workers > 1:
        context = multiprocessing.get_context("spawn")
        start, out = context.Event(), context.Queue()
        share = count // workers
        procs = [
            context.Process(target=_worker, args=(url, str(workdir), ids, share, chunk, f"w{n}", start, out))
            for n in range(workers)
        ]
        for proc in procs:
            proc.start()
        assert all(out.get() == "ready" for _ in procs)
        began = time.perf_counter()
        start.set()
        results = [out.get() for _ in procs]
        elapsed = time.perf_counter() - began
        for proc in procs:
            proc.join()
        cpu_total = sum(r[1] for r in results)
        if workers == 2:
            headlines.record("issuance.batch_2_workers_per_s", share * workers / elapsed, "credentials/s")
        print(
            f"{workers} worker processes side by side: {share * workers / elapsed:8.1f}/s  "
            f"({elapsed:.1f} s wall; CPU {cpu_total / (share * workers) * 1000:.2f} ms each)"
        )

    first, later = asyncio.run(lazy_jwt(url, workdir, ids[0], jwt_sample))
    per_credential = wall / count
    print(
        f"lazy VC-JWT (RS256) over {jwt_sample} credentials: first request {first * 1000:.2f} ms "
        f"(sign + store), later requests {later * 1000:.2f} ms"
    )
    print(
        f"  batch path with every JWT asked for once afterwards: {1 / (per_credential + first):8.1f}/s "
        f"(1 process)"
    )
    print(f"load after: {' '.join(f'{v:.2f}' for v in os.getloadavg())}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", default=None, help="PostgreSQL URL (its public schema is reset)")
    parser.add_argument("--count", type=int, default=10_000)
    parser.add_argument("--chunk", type=int, default=50)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--jwt-sample", type=int, default=200)
    args = parser.parse_args()
    main(args.database_url, args.count, args.chunk, args.workers, args.jwt_sample)
