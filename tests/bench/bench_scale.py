"""Benchmark: a million-learner district on PostgreSQL, built and then measured at that size.

    .venv/bin/python tests/bench/bench_scale.py [--database-url URL] [--learners 1000000] [--keep]
        [--requests 200] [--ingest 50000] [--ingest-processes 1,2] [--workers 2] [--seed 0]

A script that prints figures (nothing asserted; pytest does not collect it). It recreates a PostgreSQL
database (default postgresql+asyncpg://postgres@127.0.0.1:5432/portrait_scale), migrates it and sets up a
district through the services (a published six-competency portrait with a four-level rubric, one school,
seven achievements: six competency badges and one composite). Then it generates the bulk inside
PostgreSQL (``generate_series`` statements in chunks of 50,000 learners on ``--workers`` connections, with
the bulk tables' indexes, keys and foreign keys dropped for the load and rebuilt afterwards, then
``VACUUM (ANALYZE)``; each phase is timed):

    learners              --learners (default 1,000,000)
    classes               learners / 25 (40,000), each learner enrolled in one
    evidence              30 per learner (30,000,000), levels, dates and classes spread
    awards                3 per learner (3,000,000), each with its issued credential (the document is a
                          real credential issued by the service, copied), in status lists of 131,072

and measures, at that size, through the real app (in-process ASGI, real PostgreSQL):

- evidence ingest with rule evaluation (NDJSON batches of 5,000 to random learners) in 1 and then 2
  processes at once (``--ingest-processes``; each process its own app, its batches built before the
  clock starts): records/s, the CPU of the app processes and of their PostgreSQL backends (from /proc:
  the server must run on this machine) per record, the app's time in the garbage collector, load average;
- learner progress, class progress, award listing and credential listing with filters (by offset, and
  by cursor as deep): p50/p95/p99;
- database size in total and per learner;
- for each measured request, the SQL it ran with EXPLAIN (ANALYZE, BUFFERS): statements whose plan reads
  many more rows than it returns are printed as findings (scan rows / returned rows > 20).

``--keep`` reuses a database built by an earlier run (only the measurements run again; ``--seed`` sends
other records than the last run did). ``--requests 0 --ingest-processes ''`` only builds.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import hashlib
import json
import os
import random
import resource
import statistics
import sys
import time
import uuid
from collections import defaultdict
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

import asyncpg
import httpx
from pydantic import SecretStr
from sqlalchemy import event
from sqlalchemy.engine import make_url

from service import gctune
from service.app import create_app
from service.awards.schemas import AchievementCreate, ManualAward
from service.awards.service import AwardService
from service.badges.issuance import CredentialService
from service.config import Settings
from service.db import Database
from service.migrations import upgrade
from service.tenancy import scopes
from service.tenancy.schemas import ApiClientCreate, TenantCreate
from service.tenancy.service import SYSTEM, TenancyService
from tests.factories import make_portrait

DEFAULT_URL = "postgresql+asyncpg://postgres@127.0.0.1:5432/portrait_scale"
#: What --keep needs from the run that built the database (ids of the district's rows), per database.
INFO_DIR = Path(__file__).resolve().parents[2] / "var"


def info_file(url: str) -> Path:
    return INFO_DIR / f"bench_scale_{make_url(url).database}.json"


PER_CLASS = 25
EVIDENCE_PER_LEARNER = 30
AWARDS_PER_LEARNER = 3
STATUS_LIST_SIZE = 131_072
CHUNK = 50_000  # learners per generate_series statement
SCAN_RATIO_FINDING = 20


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def quantiles(ms: list[float]) -> str:
    ms = sorted(ms)
    q = statistics.quantiles(ms, n=100)
    return f"p50 {q[49]:.1f} ms, p95 {q[94]:.1f} ms, p99 {q[98]:.1f} ms, max {ms[-1]:.1f} ms"


async def admin(url: str) -> asyncpg.Connection:
    parsed = make_url(url)
    return await asyncpg.connect(
        host=parsed.host,
        port=parsed.port or 5432,
        user=parsed.username,
        password=parsed.password,
        database=parsed.database,
    )


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


def progress(label: str, done: int, total: int, started: float) -> None:
    width = 30
    filled = int(width * done / total) if total else width
    rate = done / max(time.perf_counter() - started, 1e-9)
    end = "\n" if done >= total else "\r"
    print(
        f"  {label:<12} [{'#' * filled}{'.' * (width - filled)}] {done:>10,}/{total:,}  {rate:>9,.0f}/s",
        end=end,
    )
    sys.stdout.flush()


async def setup(url: str, settings: Settings) -> dict[str, Any]:
    """The district through the services: what the bulk rows refer to."""
    db = Database(url, pool_size=2)
    async with db.session() as session:
        tenancy = TenancyService(session, settings)
        tenant = await tenancy.create_tenant(SYSTEM, TenantCreate(slug="scale", name="Scale District"))
        client, secret = await tenancy.create_client(
            SYSTEM, ApiClientCreate(tenant_id=tenant.id, name="bench", scopes=list(scopes.ALL_SCOPES))
        )
        p = await make_portrait(session, tenant.id, competencies=6, learners=1, classes=1)
        awards = AwardService(session, tenant.id)
        badge_ids = []
        for comp in p.competency_ids:
            a = await awards.create_achievement(
                AchievementCreate(
                    title=f"Badge {comp}",
                    description="Shows the competency at Proficient.",
                    criteria="Three pieces at Proficient from two classes.",
                    rule={
                        "type": "evidence",
                        "competency_ids": [str(comp)],
                        "min_level": 2,
                        "min_count": 3,
                        "min_distinct_contexts": 2,
                    },
                )
            )
            badge_ids.append(a.id)
        composite = await awards.create_achievement(
            AchievementCreate(
                title="Portrait of a Graduate",
                description="Every competency badge.",
                criteria="All six badges.",
                rule={"type": "composite", "achievement_ids": [str(b) for b in badge_ids]},
            )
        )
        # One real credential: its document is the template of the bulk credentials (realistic size).
        award = await awards.manual_award(
            ManualAward(learner_id=p.learner_ids[0], achievement_id=badge_ids[0], reason="template"),
            decided_by="bench",
        )
        credential = await CredentialService(session, tenant.id, settings).issue_award(award.id)
        await session.commit()
        info = {
            "tenant_id": tenant.id,
            "client_id": client.client_id,
            "secret": secret,
            "framework_id": p.framework_id,
            "competency_ids": p.competency_ids,
            "level_ids": p.level_ids,
            "achievement_ids": [*badge_ids, composite.id],
            "session_id": p.session_ids[0],
            "template_document": credential.document,
            "template_jwt": credential.jwt,
            "issuer_id": credential.issuer_id,
        }
    await db.dispose()
    return info


async def generate(url: str, info: dict[str, Any], learners: int, workers: int = 2) -> None:
    conn = await admin(url)
    tenant = info["tenant_id"]
    school = await conn.fetchval(
        "SELECT id FROM orgs WHERE tenant_id = $1 AND type = 'school' LIMIT 1", tenant
    )
    classes = max(1, learners // PER_CLASS)
    print(
        f"generating: {learners:,} learners, {classes:,} classes, {learners * EVIDENCE_PER_LEARNER:,} "
        f"evidence, {learners * AWARDS_PER_LEARNER:,} awards and credentials"
    )
    t0 = time.perf_counter()
    await conn.execute(
        """
        INSERT INTO classes (id, tenant_id, sourced_id, status, created_at, updated_at, title, class_code,
                             class_type, school_id, academic_session_id, grades, subjects)
        SELECT md5('K' || c)::uuid, $1, 'k-' || c, 'active', now(), now(), 'Class ' || c, 'C' || c,
               'scheduled', $2, $3, '["11"]'::jsonb, '[]'::jsonb
        FROM generate_series(0, $4 - 1) c
        """,
        tenant,
        school,
        info["session_id"],
        classes,
    )
    progress("classes", classes, classes, t0)
    steps: list[tuple[str, str, list[Any]]] = [
        (
            "learners",
            """
            INSERT INTO people (id, tenant_id, sourced_id, status, created_at, updated_at, role, given_name,
                                family_name, email, identifier, grades)
            SELECT md5('L' || i)::uuid, $1, 's-' || i, 'active', now(), now(), 'student', 'Given' || i,
                   'Family' || (i % 5000), 's' || i || '@scale.example', 'S' || lpad(i::text, 8, '0'),
                   jsonb_build_array((9 + i % 4)::text)
            FROM generate_series($2::int, $3::int - 1) i
            """,
            [tenant],
        ),
        (
            "enrollments",
            """
            INSERT INTO enrollments (id, tenant_id, sourced_id, status, created_at, updated_at, class_id,
                                     person_id, role, "primary")
            SELECT md5('N' || i)::uuid, $1, 'n-' || i, 'active', now(), now(),
                   md5('K' || (i % $4::int))::uuid, md5('L' || i)::uuid, 'student', false
            FROM generate_series($2::int, $3::int - 1) i
            """,
            [tenant, classes],
        ),
        (
            "evidence",
            """
            INSERT INTO evidence (tenant_id, id, learner_id, competency_id, framework_id, source, level_id,
                                  level_position, class_id, observed_at, artifacts, status, created_by,
                                  created_at)
            SELECT $1, gen_random_uuid(), l.learner_id,
                   ($4::uuid[])[1 + (i + k) % 6], $5, 'rubric',
                   ($6::uuid[])[1 + (i * 7 + k) % 4], (i * 7 + k) % 4, l.class_id,
                   timestamptz '2024-09-01' + ((i * 31 + k * 37) % 800) * interval '1 day',
                   '[]'::jsonb, 'active', 'bench', now()
            FROM generate_series($2::int, $3::int - 1) i
            -- OFFSET 0 keeps the subquery from being flattened: two md5 per learner, not per record.
            CROSS JOIN LATERAL (
                SELECT md5('L' || i)::uuid AS learner_id, md5('K' || (i % $7::int))::uuid AS class_id OFFSET 0
            ) l
            CROSS JOIN generate_series(1, $8::int) k
            """,
            [
                tenant,
                info["competency_ids"],
                info["framework_id"],
                info["level_ids"],
                classes,
                EVIDENCE_PER_LEARNER,
            ],
        ),
        (
            "awards",
            """
            INSERT INTO awards (tenant_id, id, learner_id, achievement_id, status, method, rule_version,
                                reasons, needs_review, awarded_at, credential_id, issuance_status,
                                created_at, updated_at)
            SELECT $1, md5('A' || i || '-' || j)::uuid, md5('L' || i)::uuid,
                   ($4::uuid[])[1 + (i + j) % 6], 'awarded', 'rule', 1, '[]'::jsonb, false,
                   timestamptz '2026-01-01' + (i % 300) * interval '1 day',
                   md5('C' || i || '-' || j)::uuid, 'issued', now(), now()
            FROM generate_series($2::int, $3::int - 1) i, generate_series(0, $5::int - 1) j
            """,
            [tenant, info["achievement_ids"][:6], AWARDS_PER_LEARNER],
        ),
    ]
    lists = (learners * AWARDS_PER_LEARNER) // STATUS_LIST_SIZE + 1
    list_ids = [uuid.uuid4() for _ in range(lists)]
    base_sequence = await conn.fetchval(
        "SELECT coalesce(max(sequence), 0) + 1 FROM status_lists "
        "WHERE tenant_id = $1 AND purpose = 'revocation'",
        tenant,
    )
    await conn.executemany(
        "INSERT INTO status_lists (id, tenant_id, purpose, sequence, size, created_at, updated_at) "
        "VALUES ($1, $2, 'revocation', $3, $4, now(), now())",
        [(lid, tenant, base_sequence + n, STATUS_LIST_SIZE) for n, lid in enumerate(list_ids)],
    )
    steps.append(
        (
            "credentials",
            """
            INSERT INTO issued_credentials (id, tenant_id, award_id, learner_id, achievement_id, name,
                                            issuer_id, subject_id, status_list_id, status_index, document,
                                            jwt, issued_at, issued_by)
            SELECT md5('C' || i || '-' || j)::uuid, $1, md5('A' || i || '-' || j)::uuid,
                   md5('L' || i)::uuid, ($4::uuid[])[1 + (i + j) % 6], 'Badge',
                   $5, 'urn:uuid:' || md5('S' || i)::uuid,
                   ($6::uuid[])[1 + (i * 3 + j) / $7::int], (i * 3 + j) % $7::int, $8, $9,
                   timestamptz '2026-01-01' + (i % 300) * interval '1 day', 'bench'
            FROM generate_series($2::int, $3::int - 1) i, generate_series(0, $10::int - 1) j
            """,
            [
                tenant,
                info["achievement_ids"][:6],
                info["issuer_id"],
                list_ids,
                STATUS_LIST_SIZE,
                info["template_document"],
                info["template_jwt"],
                AWARDS_PER_LEARNER,
            ],
        )
    )
    # Indexes and constraints of the bulk tables are dropped for the load and built afterwards (a sorted
    # build instead of 30 million random insertions into B-trees far larger than shared_buffers).
    t_drop = time.perf_counter()
    rebuild = await defer_indexes(conn, BULK_TABLES)
    print(f"  dropped {len(rebuild)} indexes and constraints of {', '.join(BULK_TABLES)}")
    timings: dict[str, float] = {}
    for label, sql, params in steps:
        started = time.perf_counter()
        await load_chunks(url, label, sql, params, learners, workers)
        timings[label] = time.perf_counter() - started
    started = time.perf_counter()
    await rebuild_indexes(url, rebuild, workers)
    timings["indexes and constraints"] = time.perf_counter() - started
    started = time.perf_counter()
    for table in BULK_TABLES:
        await conn.execute(f"VACUUM (ANALYZE) {table}")
    await conn.execute("ANALYZE")
    timings["vacuum analyze"] = time.perf_counter() - started
    total = time.perf_counter() - t0
    print(
        f"generated in {total:,.0f} s ("
        + ", ".join(f"{k} {v:,.0f} s" for k, v in timings.items())
        + f"; drop {time.perf_counter() - t_drop - sum(timings.values()):,.0f} s)"
    )
    await conn.close()


#: The tables the generator fills in bulk (their indexes are built after the load).
BULK_TABLES = ("people", "enrollments", "evidence", "awards", "issued_credentials")


async def defer_indexes(conn: asyncpg.Connection, tables: tuple[str, ...]) -> list[tuple[str, str]]:
    """Drop the indexes and constraints of ``tables`` (and the foreign keys pointing at them); return
    (kind, SQL) to recreate them: indexes, then primary and unique keys, then foreign keys."""
    oids = [await conn.fetchval("SELECT $1::regclass::oid", t) for t in tables]
    fks = await conn.fetch(
        "SELECT conrelid::regclass::text AS tbl, conname, pg_get_constraintdef(oid) AS def "
        "FROM pg_constraint WHERE contype = 'f' "
        "AND (conrelid = ANY($1::oid[]) OR confrelid = ANY($1::oid[]))",
        oids,
    )
    keys = await conn.fetch(
        "SELECT conrelid::regclass::text AS tbl, conname, pg_get_constraintdef(oid) AS def "
        "FROM pg_constraint WHERE contype IN ('p', 'u') AND conrelid = ANY($1::oid[])",
        oids,
    )
    indexes = await conn.fetch(
        "SELECT i.indexrelid::regclass::text AS name, pg_get_indexdef(i.indexrelid) AS def FROM pg_index i "
        "WHERE i.indrelid = ANY($1::oid[]) "
        "AND NOT EXISTS (SELECT 1 FROM pg_constraint c "
        "WHERE c.conindid = i.indexrelid AND c.contype IN ('p', 'u'))",
        oids,
    )
    for fk in fks:
        await conn.execute(f'ALTER TABLE {fk["tbl"]} DROP CONSTRAINT "{fk["conname"]}"')
    for key in keys:
        await conn.execute(f'ALTER TABLE {key["tbl"]} DROP CONSTRAINT "{key["conname"]}"')
    for index in indexes:
        await conn.execute(f"DROP INDEX {index['name']}")
    return (
        [("index", index["def"]) for index in indexes]
        + [("key", f'ALTER TABLE {k["tbl"]} ADD CONSTRAINT "{k["conname"]}" {k["def"]}') for k in keys]
        + [("fk", f'ALTER TABLE {f["tbl"]} ADD CONSTRAINT "{f["conname"]}" {f["def"]}') for f in fks]
    )


async def session_for_load(url: str) -> asyncpg.Connection:
    conn = await admin(url)
    # A lost commit of a benchmark build is rebuilt, not recovered; index builds sort in memory.
    await conn.execute("SET synchronous_commit = off")
    await conn.execute("SET maintenance_work_mem = '512MB'")
    await conn.execute("SET max_parallel_maintenance_workers = 1")
    return conn


async def load_chunks(url: str, label: str, sql: str, params: list[Any], learners: int, workers: int) -> None:
    """Run ``sql`` over chunks of CHUNK learners, on ``workers`` connections at once."""
    chunks = [(start, min(start + CHUNK, learners)) for start in range(0, learners, CHUNK)]
    started = time.perf_counter()
    done = 0

    async def worker() -> None:
        nonlocal done
        conn = await session_for_load(url)
        try:
            while chunks:
                start, end = chunks.pop(0)
                await conn.execute(sql, params[0], start, end, *params[1:])
                done += end - start
                progress(label, done, learners, started)
        finally:
            await conn.close()

    await asyncio.gather(*(worker() for _ in range(workers)))


async def rebuild_indexes(url: str, rebuild: list[tuple[str, str]], workers: int) -> None:
    """Indexes first (``workers`` at once), then keys (they reuse nothing: each is a sorted build), then
    foreign keys, each checked by one anti-join over the table instead of a lookup per inserted row."""
    started = time.perf_counter()
    for kind in ("index", "key", "fk"):
        todo = [sql for k, sql in rebuild if k == kind]

        async def worker(todo: list[str] = todo) -> None:
            conn = await session_for_load(url)
            try:
                while todo:
                    await conn.execute(todo.pop(0))
            finally:
                await conn.close()

        # Foreign keys take share locks on both tables; one at a time avoids lock waits between them.
        await asyncio.gather(*(worker() for _ in range(workers if kind != "fk" else 1)))
        print(f"  rebuilt {kind} definitions, {time.perf_counter() - started:,.0f} s since the first")


def learner_uuid(i: int) -> str:
    return str(uuid.UUID(hashlib.md5(f"L{i}".encode()).hexdigest()))  # noqa: S324 - ids, not security


def class_uuid(c: int) -> str:
    return str(uuid.UUID(hashlib.md5(f"K{c}".encode()).hexdigest()))  # noqa: S324


def backend_cpu(pids: list[int]) -> float:
    """CPU seconds (user + system) the PostgreSQL backends with these pids used since they started
    (the server runs on this machine: read from /proc)."""
    tick = os.sysconf("SC_CLK_TCK")
    total = 0.0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += (int(fields[11]) + int(fields[12])) / tick
    return total


def load() -> str:
    return "load average " + " ".join(f"{x:.1f}" for x in os.getloadavg())


INGEST_BATCH = 5_000


async def ingest_child(
    url: str, settings: Settings, info: dict[str, Any], learners: int, records: int, seed: int
) -> None:
    """One ingesting process (``--ingest-child``): builds its NDJSON batches, waits for "go" on stdin,
    posts them through its own app, prints a JSON result line, and keeps its connections open until
    stdin closes (so that the parent can read its backends' CPU)."""
    rng = random.Random(seed)
    classes = max(1, learners // PER_CLASS)
    base = datetime(2026, 9, 1, tzinfo=UTC)
    bodies = [
        "\n".join(
            json.dumps(
                {
                    "learner_id": learner_uuid(rng.randrange(learners)),
                    "competency_id": str(rng.choice(info["competency_ids"])),
                    "source": "rubric",
                    "level": rng.randint(0, 3),
                    "class_id": class_uuid(rng.randrange(classes)),
                    "observed_at": (base + timedelta(minutes=rng.randint(0, 60 * 24 * 60))).isoformat(),
                }
            )
            for _ in range(min(INGEST_BATCH, records - start))
        ).encode()
        for start in range(0, records, INGEST_BATCH)
    ]
    db = Database(url, pool_size=2)
    app = create_app(settings, database=db)
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://bench", timeout=600
    ) as http:
        token = (
            await http.post(
                "/oauth/token",
                data={"grant_type": "client_credentials"},
                auth=(info["client_id"], info["secret"]),
            )
        ).json()["access_token"]
        headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/x-ndjson"}
        print("ready", flush=True)
        await asyncio.get_running_loop().run_in_executor(None, sys.stdin.readline)
        gc_time = [0.0, 0.0]  # seconds in the cyclic garbage collector, start of the current pass

        def collecting(phase: str, _info: dict[str, Any]) -> None:
            if phase == "start":
                gc_time[1] = time.perf_counter()
            else:
                gc_time[0] += time.perf_counter() - gc_time[1]

        if os.environ.get("BENCH_GC") != "default":
            gctune.tune()  # as the app's lifespan does (httpx's ASGITransport does not run it)
        gc.callbacks.append(collecting)
        cpu0, t0 = time.process_time(), time.perf_counter()
        accepted = awards = 0
        for body in bodies:
            r = await http.post("/api/v1/evidence", content=body, headers=headers)
            assert r.status_code == 200, r.text[:300]
            result = r.json()
            accepted += len(result["accepted"])
            awards += result["awards_created"]
        elapsed, cpu = time.perf_counter() - t0, time.process_time() - cpu0
        gc.callbacks.remove(collecting)
    result = {"accepted": accepted, "awards": awards, "elapsed": elapsed, "cpu": cpu, "gc": gc_time[0]}
    print(json.dumps(result), flush=True)
    await asyncio.get_running_loop().run_in_executor(None, sys.stdin.readline)
    await db.dispose()


async def ingest(url: str, learners: int, records: int, processes: int, seed: int = 0) -> None:
    """Evidence ingest with rules to random learners, in ``processes`` app processes at once."""
    conn = await admin(url)
    before = {
        r["pid"]
        for r in await conn.fetch("SELECT pid FROM pg_stat_activity WHERE datname = current_database()")
    }
    children = [
        await asyncio.create_subprocess_exec(
            sys.executable,
            __file__,
            "--database-url",
            url,
            "--keep",
            "--ingest-child",
            str(seed + n),
            "--ingest",
            str(records // processes),
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
        )
        for n in range(processes)
    ]
    for child in children:
        assert child.stdout is not None
        assert (await child.stdout.readline()).strip() == b"ready"
    load_before = load()
    t0 = time.perf_counter()
    for child in children:
        assert child.stdin is not None
        child.stdin.write(b"go\n")
        await child.stdin.drain()
    results = []
    for child in children:
        assert child.stdout is not None
        results.append(json.loads(await child.stdout.readline()))
    wall = time.perf_counter() - t0
    pids = [
        r["pid"]
        for r in await conn.fetch(
            "SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()"
        )
        if r["pid"] not in before
    ]
    db_cpu = backend_cpu(pids)
    for child in children:
        assert child.stdin is not None
        child.stdin.close()
        await child.wait()
    await conn.close()
    accepted = sum(r["accepted"] for r in results)
    app_cpu = sum(r["cpu"] for r in results)
    print(
        f"evidence ingest with rules, {processes} process(es), batches of {INGEST_BATCH:,} to random "
        f"learners: {accepted:,} records in {wall:.1f} s = {accepted / wall:,.0f} records/s; awards made "
        f"{sum(r['awards'] for r in results):,}; app CPU {app_cpu:.1f} s "
        f"({app_cpu / accepted * 1e6:,.0f} us/record, of which garbage collection "
        f"{sum(r['gc'] for r in results) / accepted * 1e6:,.0f}), "
        f"PostgreSQL backends CPU {db_cpu:.1f} s ({db_cpu / accepted * 1e6:,.0f} us/record); "
        f"{load_before} at start, {load()} at end"
    )


class SqlRecorder:
    """The statements the app runs, per measured request kind (for EXPLAIN afterwards)."""

    def __init__(self, db: Database) -> None:
        self.current: str | None = None
        self.seen: dict[str, list[tuple[str, Any]]] = defaultdict(list)

        @event.listens_for(db.engine.sync_engine, "before_cursor_execute")
        def record(conn: Any, cursor: Any, statement: str, parameters: Any, context: Any, many: bool) -> None:
            if self.current is not None and statement.lstrip().upper().startswith(("SELECT", "WITH")):
                self.seen[self.current].append((statement, parameters))


def plan_rows(plan: dict[str, Any]) -> tuple[int, int]:
    """(rows read by scan nodes, rows the statement returns) of an EXPLAIN ANALYZE JSON plan."""
    scanned = 0

    def walk(node: dict[str, Any]) -> None:
        nonlocal scanned
        if "Scan" in node["Node Type"]:
            loops = node.get("Actual Loops", 1)
            scanned += int(node.get("Actual Rows", 0) * loops + node.get("Rows Removed by Filter", 0) * loops)
        for child in node.get("Plans", []):
            walk(child)

    walk(plan["Plan"])
    return scanned, int(plan["Plan"].get("Actual Rows", 0))


async def measure(url: str, settings: Settings, info: dict[str, Any], learners: int, requests: int) -> None:
    rng = random.Random(11)
    classes = max(1, learners // PER_CLASS)
    db = Database(url, pool_size=8)
    recorder = SqlRecorder(db)
    app = create_app(settings, database=db)
    gctune.tune()  # as the app's lifespan does (httpx's ASGITransport does not run it)
    transport = httpx.ASGITransport(app=app)

    learner, klass = learner_uuid, class_uuid

    async with httpx.AsyncClient(transport=transport, base_url="http://bench", timeout=600) as http:
        token = (
            await http.post(
                "/oauth/token",
                data={"grant_type": "client_credentials"},
                auth=(info["client_id"], info["secret"]),
            )
        ).json()["access_token"]
        auth = {"Authorization": f"Bearer {token}"}

        watcher = await admin(url)

        async def pool_pids() -> list[int]:
            """The backends of this process's pool (the watcher's own excluded)."""
            rows = await watcher.fetch(
                "SELECT pid FROM pg_stat_activity "
                "WHERE datname = current_database() AND pid <> pg_backend_pid()"
            )
            return [r["pid"] for r in rows]

        achievements = [str(a) for a in info["achievement_ids"][:6]]
        kinds: dict[str, Callable[[], Awaitable[httpx.Response]]] = {
            "learner progress": lambda: http.get(
                f"/api/v1/learners/{learner(rng.randrange(learners))}/progress", headers=auth
            ),
            "class progress": lambda: http.get(
                f"/api/v1/classes/{klass(rng.randrange(classes))}/progress", headers=auth
            ),
            "awards by achievement+status": lambda: http.get(
                "/api/v1/awards",
                params={
                    "achievement_id": rng.choice(achievements),
                    "status": "awarded",
                    "limit": 50,
                    "offset": rng.randrange(0, 5_000),
                },
                headers=auth,
            ),
            "awards by learner": lambda: http.get(
                "/api/v1/awards", params={"learner_id": learner(rng.randrange(learners))}, headers=auth
            ),
            "credentials by achievement": lambda: http.get(
                "/api/v1/credentials",
                params={
                    "achievement_id": rng.choice(achievements),
                    "limit": 50,
                    "offset": rng.randrange(0, 5_000),
                },
                headers=auth,
            ),
            "credentials by learner": lambda: http.get(
                "/api/v1/credentials", params={"learner_id": learner(rng.randrange(learners))}, headers=auth
            ),
        }
        # Cursor pages as deep as the offsets above (up to 5,000): cursors gathered first, by walking
        # each list 200 at a time, then pages of 50 started at a random one of them.
        cursors: dict[str, list[tuple[str, str]]] = {"awards": [], "credentials": []}
        for path, extra in (("awards", {"status": "awarded"}), ("credentials", {})):
            for achievement in achievements[:2]:
                after: str | None = None
                for _ in range(25):
                    params = {"achievement_id": achievement, "limit": 200, **extra}
                    body = (
                        await http.get(
                            f"/api/v1/{path}",
                            params={**params, **({"after": after} if after else {})},
                            headers=auth,
                        )
                    ).json()
                    after = body["next"]
                    if after is None:
                        break
                    cursors[path].append((achievement, after))
        if cursors["awards"]:
            kinds["awards by achievement+status, cursor"] = lambda: http.get(
                "/api/v1/awards",
                params=dict(zip(("achievement_id", "after"), rng.choice(cursors["awards"]), strict=True))
                | {"status": "awarded", "limit": 50},
                headers=auth,
            )
        if cursors["credentials"]:
            kinds["credentials by achievement, cursor"] = lambda: http.get(
                "/api/v1/credentials",
                params=dict(zip(("achievement_id", "after"), rng.choice(cursors["credentials"]), strict=True))
                | {"limit": 50},
                headers=auth,
            )
        for name, call in kinds.items():
            timings = []
            db_cpu0, cpu0 = backend_cpu(await pool_pids()), time.process_time()
            for n in range(requests):
                recorder.current = name if n == requests - 1 else None
                t0 = time.perf_counter()
                r = await call()
                timings.append((time.perf_counter() - t0) * 1000)
                assert r.status_code == 200, (name, r.status_code, r.text[:300])
            recorder.current = None
            app_ms = (time.process_time() - cpu0) / requests * 1000
            db_ms = (backend_cpu(await pool_pids()) - db_cpu0) / requests * 1000
            print(
                f"{name:<30} {requests} sequential requests: {quantiles(timings)}; CPU per request: "
                f"app {app_ms:.1f} ms, PostgreSQL {db_ms:.1f} ms; {load()}"
            )

        await watcher.close()
    print("query plans of the last request of each kind (rows scanned vs rows returned):")
    async with db.engine.connect() as conn:
        for name, statements in recorder.seen.items():
            for statement, parameters in statements:
                result = await conn.exec_driver_sql(
                    "EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) " + statement, parameters
                )
                raw = result.scalar_one()
                plan = (json.loads(raw) if isinstance(raw, str) else raw)[0]
                scanned, returned = plan_rows(plan)
                ms = plan.get("Execution Time", 0.0)
                flag = (
                    "FINDING " if scanned > SCAN_RATIO_FINDING * max(returned, 1) and scanned > 1_000 else ""
                )
                short = " ".join(statement.split())[:150]
                print(f"  {flag}{name}: {ms:.1f} ms, scanned {scanned:,}, returned {returned:,}: {short}")
        size = (await conn.exec_driver_sql("SELECT pg_database_size(current_database())")).scalar_one()
    print(
        f"database size: {size / 2**30:.2f} GiB = {size / learners / 1024:.1f} KiB per learner "
        f"({EVIDENCE_PER_LEARNER} evidence, {AWARDS_PER_LEARNER} awards and credentials each)"
    )
    print(f"peak RSS (client + app in one process): {peak_rss_mb():.0f} MiB")
    await db.dispose()


async def main(
    url: str,
    learners: int,
    keep: bool,
    requests: int,
    records: int,
    workers: int,
    ingest_processes: list[int],
    child: int | None,
    seed: int = 0,
) -> None:
    settings = Settings(
        database_url=url,
        token_secret=SecretStr("b" * 48),
        key_encryption_key=SecretStr("k" * 48),
        auto_migrate=False,
        public_url="https://scale.example",
    )
    if keep and info_file(url).exists():
        raw = json.loads(info_file(url).read_text())
        info = {
            k: (uuid.UUID(v) if k.endswith("_id") and k not in ("client_id", "issuer_id") else v)
            for k, v in raw.items()
        }
        for key in ("competency_ids", "level_ids", "achievement_ids"):
            info[key] = [uuid.UUID(v) for v in raw[key]]
        learners = raw["learners"]
    else:
        await recreate(url)
        await upgrade(url)
        info = await setup(url, settings)
        await generate(url, info, learners, workers)
        INFO_DIR.mkdir(exist_ok=True)
        info_file(url).write_text(json.dumps({**info, "learners": learners}, default=str))
    if child is not None:
        await ingest_child(url, settings, info, learners, records, seed=1000 + child)
        return
    for processes in ingest_processes:
        await ingest(url, learners, records, processes, seed)
        seed += processes  # the next run sends other records (to other learners)
    if requests:
        await measure(url, settings, info, learners, requests)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", default=DEFAULT_URL)
    parser.add_argument("--learners", type=int, default=1_000_000)
    parser.add_argument("--keep", action="store_true", help="measure a database built by an earlier run")
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--ingest", type=int, default=50_000)
    parser.add_argument(
        "--workers", type=int, default=2, help="connections generating (and ingesting) at once"
    )
    parser.add_argument(
        "--ingest-processes",
        default="1,2",
        help="comma-separated process counts: one ingest run with each (app processes posting at once)",
    )
    parser.add_argument("--ingest-child", type=int, default=None, help=argparse.SUPPRESS)
    parser.add_argument("--seed", type=int, default=0, help="first ingest seed (another: other records)")
    args = parser.parse_args()
    asyncio.run(
        main(
            args.database_url,
            args.learners,
            args.keep,
            args.requests,
            args.ingest,
            args.workers,
            [int(n) for n in args.ingest_processes.split(",") if n],
            args.ingest_child,
            args.seed,
        )
    )
