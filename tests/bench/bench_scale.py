"""Benchmark: a million-learner district on PostgreSQL, built and then measured at that size.

    .venv/bin/python tests/bench/bench_scale.py [--database-url URL] [--learners 1000000] [--keep]
        [--requests 200] [--ingest 50000]

A script that prints figures (nothing asserted; pytest does not collect it). It recreates a PostgreSQL
database (default postgresql+asyncpg://postgres@127.0.0.1:5432/portrait_scale), migrates it and sets up a
district through the services (a published six-competency portrait with a four-level rubric, one school,
seven achievements: six competency badges and one composite). Then it generates the bulk inside
PostgreSQL (``generate_series`` statements in chunks, with a progress line):

    learners              --learners (default 1,000,000)
    classes               learners / 25 (40,000), each learner enrolled in one
    evidence              30 per learner (30,000,000), levels, dates and classes spread
    awards                3 per learner (3,000,000), each with its issued credential (the document is a
                          real credential issued by the service, copied), in status lists of 131,072

and measures, at that size, through the real app (in-process ASGI, real PostgreSQL):

- evidence ingest with rule evaluation (NDJSON batches of 5,000 to random learners): records/s;
- learner progress, class progress, award listing and credential listing with filters: p50/p95/p99;
- database size in total and per learner;
- for each measured request, the SQL it ran with EXPLAIN (ANALYZE, BUFFERS): statements whose plan reads
  many more rows than it returns are printed as findings (scan rows / returned rows > 20).

``--keep`` reuses a database built by an earlier run (only the measurements run again).
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
#: What --keep needs from the run that built the database (ids of the district's rows).
INFO_FILE = Path(__file__).resolve().parents[2] / "var" / "bench_scale.json"
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


async def generate(url: str, info: dict[str, Any], learners: int) -> None:
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
            SELECT $1, gen_random_uuid(), md5('L' || i)::uuid,
                   ($4::uuid[])[1 + (i + k) % 6], $5, 'rubric',
                   ($6::uuid[])[1 + (i * 7 + k) % 4], (i * 7 + k) % 4,
                   md5('K' || (i % $7::int))::uuid,
                   timestamptz '2024-09-01' + ((i * 31 + k * 37) % 800) * interval '1 day',
                   '[]'::jsonb, 'active', 'bench', now()
            FROM generate_series($2::int, $3::int - 1) i, generate_series(1, $8::int) k
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
    for label, sql, params in steps:
        started = time.perf_counter()
        for start in range(0, learners, CHUNK):
            end = min(start + CHUNK, learners)
            await conn.execute(sql, params[0], start, end, *params[1:])
            progress(label, end, learners, started)
    print(f"generated in {time.perf_counter() - t0:,.0f} s; ANALYZE ...")
    await conn.execute("ANALYZE")
    await conn.close()


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


async def measure(
    url: str, settings: Settings, info: dict[str, Any], learners: int, requests: int, ingest: int
) -> None:
    rng = random.Random(11)
    classes = max(1, learners // PER_CLASS)
    db = Database(url, pool_size=8)
    recorder = SqlRecorder(db)
    app = create_app(settings, database=db)
    transport = httpx.ASGITransport(app=app)

    def learner(i: int) -> str:
        import hashlib

        return str(uuid.UUID(hashlib.md5(f"L{i}".encode()).hexdigest()))  # noqa: S324 - ids, not security

    def klass(c: int) -> str:
        import hashlib

        return str(uuid.UUID(hashlib.md5(f"K{c}".encode()).hexdigest()))  # noqa: S324

    async with httpx.AsyncClient(transport=transport, base_url="http://bench", timeout=600) as http:
        token = (
            await http.post(
                "/oauth/token",
                data={"grant_type": "client_credentials"},
                auth=(info["client_id"], info["secret"]),
            )
        ).json()["access_token"]
        auth = {"Authorization": f"Bearer {token}"}

        # Evidence ingest with rules, to learners spread over the district.
        base = datetime(2026, 9, 1, tzinfo=UTC)
        accepted = awards_made = 0
        started = time.perf_counter()
        batch = 5_000
        for start in range(0, ingest, batch):
            rows = [
                json.dumps(
                    {
                        "learner_id": learner(rng.randrange(learners)),
                        "competency_id": str(rng.choice(info["competency_ids"])),
                        "source": "rubric",
                        "level": rng.randint(0, 3),
                        "class_id": klass(rng.randrange(classes)),
                        "observed_at": (base + timedelta(minutes=rng.randint(0, 60 * 24 * 60))).isoformat(),
                    }
                )
                for _ in range(min(batch, ingest - start))
            ]
            r = await http.post(
                "/api/v1/evidence",
                content="\n".join(rows).encode(),
                headers={**auth, "Content-Type": "application/x-ndjson"},
            )
            assert r.status_code == 200, r.text[:300]
            body = r.json()
            accepted += len(body["accepted"])
            awards_made += body["awards_created"]
            progress("ingest", start + len(rows), ingest, started)
        elapsed = time.perf_counter() - started
        print(
            f"evidence ingest with rules: {accepted:,} records in {elapsed:.1f} s = "
            f"{accepted / elapsed:,.0f} records/s (one process, batches of {batch:,}); "
            f"awards made: {awards_made:,}"
        )

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
        for name, call in kinds.items():
            timings = []
            for n in range(requests):
                recorder.current = name if n == requests - 1 else None
                t0 = time.perf_counter()
                r = await call()
                timings.append((time.perf_counter() - t0) * 1000)
                assert r.status_code == 200, (name, r.status_code, r.text[:300])
            recorder.current = None
            print(f"{name:<30} {requests} sequential requests: {quantiles(timings)}")

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


async def main(url: str, learners: int, keep: bool, requests: int, ingest: int) -> None:
    settings = Settings(
        database_url=url,
        token_secret=SecretStr("b" * 48),
        key_encryption_key=SecretStr("k" * 48),
        auto_migrate=False,
        public_url="https://scale.example",
    )
    if keep and INFO_FILE.exists():
        raw = json.loads(INFO_FILE.read_text())
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
        await generate(url, info, learners)
        INFO_FILE.parent.mkdir(exist_ok=True)
        INFO_FILE.write_text(json.dumps({**info, "learners": learners}, default=str))
    await measure(url, settings, info, learners, requests, ingest)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", default=DEFAULT_URL)
    parser.add_argument("--learners", type=int, default=1_000_000)
    parser.add_argument("--keep", action="store_true", help="measure a database built by an earlier run")
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--ingest", type=int, default=50_000)
    args = parser.parse_args()
    asyncio.run(main(args.database_url, args.learners, args.keep, args.requests, args.ingest))
