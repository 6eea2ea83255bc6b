"""Where the CPU of evidence ingest goes, on a district built by ``bench_scale.py``.

    .venv/bin/python tests/bench/profile_ingest.py --database-url URL [--batches 4] [--seed 77]
        [--cprofile 25]

A script that prints figures (nothing asserted; pytest does not collect it). It posts ``--batches``
NDJSON batches of 5,000 records to random learners (as ``bench_scale.py`` does) through one in-process
app with one database connection, after one warm-up batch, and prints per record:

- the statements the ingest ran (SQLAlchemy's and those sent straight through the driver), how many per
  batch and their time as seen by the app (round trip included);
- the CPU of the app process and of its PostgreSQL backend (from ``/proc``: the server runs here);
- the WAL written for each relation of this database (``pg_walinspect``, records whose blocks belong to
  this database only, so other databases of the server do not count), with the index entries that made it;
- with ``--cprofile N``: the app's N most expensive functions (cumulative).

The records go to other learners than ``bench_scale.py``'s runs (``--seed``); each run adds its records
to the database, so compare runs on copies of one build (``CREATE DATABASE ... TEMPLATE``).
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import importlib.util
import json
import pstats
import random
import re
import sys
import time
import uuid
from collections import defaultdict
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

import asyncpg
import httpx
from pydantic import SecretStr
from sqlalchemy import event

from service import gctune
from service.app import create_app
from service.config import Settings
from service.db import Database

_spec = importlib.util.spec_from_file_location("bench_scale", Path(__file__).with_name("bench_scale.py"))
assert _spec is not None and _spec.loader is not None
bench_scale = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(bench_scale)

BATCH = 5_000


def shape(sql: str) -> str:
    """A statement's text reduced to its kind and first table, for grouping."""
    text = " ".join(sql.split())
    text = re.sub(r"\$\d+(::[\w\[\]]+)?", "?", text)
    m = re.match(r"(?is)\s*(WITH|SELECT|INSERT INTO|UPDATE|DELETE FROM|COPY)\s+(.*)", text)
    if not m:
        return text[:90]
    verb, rest = m.group(1).upper(), m.group(2)
    if verb in ("SELECT", "WITH"):
        tables = re.findall(r"(?i)\bFROM\s+(\w+)", text)
        lock = " FOR UPDATE" if "FOR NO KEY UPDATE" in text or "FOR UPDATE" in text else ""
        return f"SELECT {','.join(dict.fromkeys(tables))}{lock}"[:90]
    table = rest.split()[0].strip('"(')
    return f"{verb} {table}"[:90]


def load_info(url: str) -> dict[str, Any]:
    raw = json.loads(bench_scale.info_file(url).read_text())
    info = dict(raw)
    info["competency_ids"] = [uuid.UUID(v) for v in raw["competency_ids"]]
    return info


def bodies(info: dict[str, Any], batches: int, seed: int) -> list[bytes]:
    rng = random.Random(seed)
    learners = info["learners"]
    classes = max(1, learners // bench_scale.PER_CLASS)
    base = datetime(2026, 9, 1, tzinfo=UTC)
    return [
        "\n".join(
            json.dumps(
                {
                    "learner_id": bench_scale.learner_uuid(rng.randrange(learners)),
                    "competency_id": str(rng.choice(info["competency_ids"])),
                    "source": "rubric",
                    "level": rng.randint(0, 3),
                    "class_id": bench_scale.class_uuid(rng.randrange(classes)),
                    "observed_at": (base + timedelta(minutes=rng.randint(0, 60 * 24 * 60))).isoformat(),
                }
            )
            for _ in range(BATCH)
        ).encode()
        for _ in range(batches)
    ]


async def wal_by_relation(conn: Any, start: str, end: str) -> dict[str, list[int]]:
    """relation name -> [records, bytes] of the WAL between two positions, for this database's blocks."""
    db_oid = await conn.fetchval("SELECT oid FROM pg_database WHERE datname = current_database()")
    rows = await conn.fetch(
        """
        SELECT record_length, fpi_length, block_ref, resource_manager, record_type
        FROM pg_get_wal_records_info($1::text::pg_lsn, $2::text::pg_lsn)
        """,
        start,
        end,
    )
    names = {
        r["relfilenode"]: r["relname"]
        for r in await conn.fetch("SELECT pg_relation_filenode(oid) AS relfilenode, relname FROM pg_class")
        if r["relfilenode"]
    }
    out: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    pattern = re.compile(r"rel \d+/(\d+)/(\d+)")
    for r in rows:
        refs = pattern.findall(r["block_ref"] or "")
        mine = [int(node) for db, node in refs if int(db) == db_oid]
        if mine:
            name = names.get(mine[0], str(mine[0]))
        elif r["resource_manager"] == "Transaction" and not refs:
            name = "(transaction records, all databases)"
        else:
            continue
        out[name][0] += 1
        out[name][1] += r["record_length"]
    return out


async def main(url: str, batches: int, seed: int, top: int) -> None:
    info = load_info(url)
    settings = Settings(
        database_url=url,
        token_secret=SecretStr("b" * 48),
        key_encryption_key=SecretStr("k" * 48),
        auto_migrate=False,
        public_url="https://scale.example",
    )
    posts = bodies(info, batches + 1, seed)
    admin = await bench_scale.admin(url)
    await admin.execute("CREATE EXTENSION IF NOT EXISTS pg_walinspect")
    before = {r["pid"] for r in await admin.fetch("SELECT pid FROM pg_stat_activity")}
    db = Database(url, pool_size=1)
    counts: dict[str, int] = defaultdict(int)
    seconds: dict[str, float] = defaultdict(float)
    rows_sent: dict[str, int] = defaultdict(int)
    recording = [False]
    started: list[float] = []

    @event.listens_for(db.engine.sync_engine, "before_cursor_execute")
    def before_sql(conn: Any, cursor: Any, statement: str, params: Any, context: Any, many: bool) -> None:
        started.append(time.perf_counter())

    @event.listens_for(db.engine.sync_engine, "after_cursor_execute")
    def after_sql(conn: Any, cursor: Any, statement: str, params: Any, context: Any, many: bool) -> None:
        t0 = started.pop()
        if recording[0]:
            key = shape(statement)
            counts[key] += 1
            seconds[key] += time.perf_counter() - t0
            rows_sent[key] += len(params) if many and isinstance(params, list) else 1

    def raw_logged(record: Any) -> None:  # statements sent straight through the driver
        if recording[0]:
            key = "driver: " + shape(record.query)
            counts[key] += 1
            seconds[key] += record.elapsed

    @event.listens_for(db.engine.sync_engine, "connect")
    def on_connect(dbapi_conn: Any, _rec: Any) -> None:
        dbapi_conn.driver_connection.add_query_logger(raw_logged)

    original_copy = asyncpg.Connection.copy_records_to_table

    async def timed_copy(self: Any, *args: Any, **kwargs: Any) -> Any:
        t0 = time.perf_counter()
        try:
            return await original_copy(self, *args, **kwargs)
        finally:
            if recording[0]:
                key = f"driver: COPY {args[0] if args else kwargs.get('table_name')}"
                counts[key] += 1
                seconds[key] += time.perf_counter() - t0

    asyncpg.Connection.copy_records_to_table = timed_copy  # type: ignore[method-assign]

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
        gctune.tune()
        r = await http.post("/api/v1/evidence", content=posts[0], headers=headers)  # warm-up
        assert r.status_code == 200, r.text[:300]
        pids = [
            r["pid"]
            for r in await admin.fetch(
                "SELECT pid FROM pg_stat_activity"
                " WHERE datname = current_database() AND pid <> pg_backend_pid()"
            )
            if r["pid"] not in before
        ]
        profiler = cProfile.Profile() if top else None
        load0 = bench_scale.load()
        db_cpu0, cpu0, t0 = bench_scale.backend_cpu(pids), time.process_time(), time.perf_counter()
        recording[0] = True
        accepted = awards = 0
        if profiler:
            profiler.enable()
        spans: list[tuple[str, str, int]] = []  # WAL positions around each batch, its record count
        for body in posts[1:]:
            start = await admin.fetchval("SELECT pg_current_wal_lsn()::text")
            r = await http.post("/api/v1/evidence", content=body, headers=headers)
            assert r.status_code == 200, r.text[:300]
            end = await admin.fetchval("SELECT pg_current_wal_lsn()::text")
            spans.append((start, end, len(r.json()["accepted"])))
            accepted += len(r.json()["accepted"])
            awards += r.json()["awards_created"]
        if profiler:
            profiler.disable()
        recording[0] = False
        wall, cpu = time.perf_counter() - t0, time.process_time() - cpu0
        db_cpu = bench_scale.backend_cpu(pids) - db_cpu0
    await db.dispose()
    indexes = await admin.fetch(
        """
        SELECT c.relname, pg_relation_size(c.oid) AS size, i.indisprimary AS primary_key,
               pg_get_indexdef(c.oid) AS definition
        FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid
        WHERE i.indrelid = 'evidence'::regclass ORDER BY c.relname
        """
    )

    print(
        f"{accepted:,} records in {batches} batches ({wall:.1f} s, {accepted / wall:,.0f} records/s, "
        f"one process, one connection), {awards:,} awards made; "
        f"load {load0} at start, {bench_scale.load()} at end"
    )
    print(
        f"CPU per record: app {cpu / accepted * 1e6:,.0f} us, "
        f"PostgreSQL backend {db_cpu / accepted * 1e6:,.0f} us"
    )
    print("\nstatements per batch (time as the app saw it, round trip included, per record):")
    for key in sorted(seconds, key=lambda k: -seconds[k]):
        print(
            f"  {counts[key] / batches:6.1f}  {seconds[key] / accepted * 1e6:8.1f} us  "
            f"{rows_sent[key] / batches if not key.startswith('driver') else 0:8.0f} param sets  {key}"
        )
    # The server recycles WAL segments (other databases write too): read each batch's span while it is
    # still there, skipping those already removed. pg_walinspect reads only flushed WAL.
    wal: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    counted = 0
    for start, end, n in spans:
        while await admin.fetchval("SELECT pg_current_wal_flush_lsn() < $1::text::pg_lsn", end):  # noqa: ASYNC110
            await asyncio.sleep(0.2)
        try:
            part = await wal_by_relation(admin, start, end)
        except asyncpg.PostgresError as exc:
            print(f"(WAL of one batch not read: {exc})")
            continue
        counted += n
        for name, (records, size) in part.items():
            wal[name][0] += records
            wal[name][1] += size
    await admin.close()
    total = sum(b for _, b in wal.values())
    if counted:
        print(f"\nWAL of this database: {total / counted:,.0f} bytes per record ({counted:,} records read)")
    for name, (n, b) in sorted(wal.items(), key=lambda kv: -kv[1][1]):
        print(f"  {n / counted:6.2f} records  {b / counted:8.0f} bytes per record  {name}")
    print("\nindexes of evidence (each insert writes one entry into each):")
    for ix in indexes:
        print(f"  {ix['size'] / 2**20:8.0f} MiB  {ix['relname']}: {ix['definition']}")
    if profiler:
        print()
        pstats.Stats(profiler).sort_stats("cumulative").print_stats(top)
        pstats.Stats(profiler).sort_stats("tottime").print_stats(top)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", required=True)
    parser.add_argument("--batches", type=int, default=4)
    parser.add_argument("--seed", type=int, default=77)
    parser.add_argument("--cprofile", type=int, default=0, help="print the N most expensive functions")
    args = parser.parse_args()
    asyncio.run(main(args.database_url, args.batches, args.seed, args.cprofile))
