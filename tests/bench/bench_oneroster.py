"""Benchmark: a full OneRoster sync of a 10,000-student district from a local provider into PostgreSQL.

    .venv/bin/python tests/bench/bench_oneroster.py [--database-url URL] [--scale 1.0] [--page-size 1000]

A script that prints figures (nothing asserted; pytest does not collect it). It resets the schema of the
PostgreSQL database (default postgresql+asyncpg://postgres@127.0.0.1:5432/portrait_bench_oneroster,
created if missing), migrates it,
starts the test suite's fake OneRoster 1.2 provider in a separate process (so that serving JSON does not
compete with the sync for this process's CPU and memory) with generated data: 1 district, 20 schools,
1 school year, 500 classes, 10,000 students and 600 teachers, 15,000 enrollments, 3,000 line items and
300,000 results (``--scale`` multiplies the counts). Then it runs the sync job exactly as a worker does
(JobRunner, real PostgreSQL, outbound guard, OAuth, paging) and prints records/s per collection, the
total, and this process's peak RSS; then a second full sync that finds nothing changed, then a delta
sync (1% of the users and of the results changed), and a summary line with the CPU seconds per run of
the syncing process, of the provider process and of the PostgreSQL backends (and autovacuum workers) of
the bench database, read from /proc, and the load average (wall time on a shared machine says more about
the load than about the sync).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import resource
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from pydantic import SecretStr
from sqlalchemy import text
from sqlalchemy.engine import make_url

from service import gctune
from service.adapters.oneroster.schemas import ConnectionCreate, SyncRequest
from service.adapters.oneroster.service import ConnectionService
from service.config import Settings
from service.db import Database, create_engine
from service.jobs.backends import JobRunner
from service.jobs.models import Job
from service.jobs.service import transaction
from service.migrations import upgrade
from tests.bench import headlines
from tests.factories import make_tenant

#: CPU seconds per run of this (the syncing) process, of the provider process and of the PostgreSQL
#: backends serving the bench database: comparable across machine loads, unlike wall time
CPU: dict[str, dict[str, float]] = {}
DEFAULT_URL = "postgresql+asyncpg://postgres@127.0.0.1:5432/portrait_bench_oneroster"
TICK = os.sysconf("SC_CLK_TCK")
PROVIDER_PID = 0


def proc_cpu(pid: int) -> float:
    """User + system CPU seconds of a process (0 when it is gone)."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / TICK


class BackendCpu:
    """CPU seconds of the PostgreSQL backends (and autovacuum workers) of one database, from /proc.

    Processes are found by their title (``postgres: ... <database> ...``), looked for again every
    second; a thread reads their CPU every 0.25 s, so that one that exits during the run still counts
    up to its last reading. The thread's own CPU is measured so that the caller can leave it out of
    its process's figure.
    """

    def __init__(self, database: str) -> None:
        self.needle = f" {database} "
        self.first: dict[int, float] = {}
        self.last: dict[int, float] = {}
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self.loop, daemon=True)
        self.own = 0.0

    def backends(self) -> list[int]:
        pids = []
        for entry in os.listdir("/proc"):
            if entry.isdigit():
                try:
                    with open(f"/proc/{entry}/cmdline", "rb") as f:
                        title = f.read(200).decode(errors="replace")
                except OSError:
                    continue
                if title.startswith("postgres:") and self.needle in title + " ":
                    pids.append(int(entry))
        return pids

    def sample(self, initial: bool = False, scan: bool = True) -> None:
        for pid in self.backends() if scan else list(self.last):
            cpu = proc_cpu(pid)
            self.first.setdefault(pid, cpu if initial else 0.0)
            self.last[pid] = max(cpu, self.last.get(pid, 0.0))

    def loop(self) -> None:
        started = time.thread_time()
        tick = 0
        while not self.stop.wait(0.25):
            tick += 1
            self.sample(scan=tick % 4 == 0)
        self.sample()
        self.own = time.thread_time() - started

    def __enter__(self) -> BackendCpu:
        self.sample(initial=True)
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop.set()
        self.thread.join()

    @property
    def seconds(self) -> float:
        return sum(self.last[pid] - self.first[pid] for pid in self.last)


def sizes(scale: float) -> dict[str, int]:
    return {
        "schools": max(1, int(20 * scale)),
        "students": int(10_000 * scale),
        "teachers": max(1, int(600 * scale)),
        "classes": max(1, int(500 * scale)),
        "enrollments": int(15_000 * scale),
        "lineItems": int(3_000 * scale),
        "results": int(300_000 * scale),
    }


def serve(scale: float) -> None:
    """Child process: run the fake provider with generated collections until stdin closes."""
    from tests.adapters.oneroster.fake_server import FakeOneRoster, Generated

    n = sizes(scale)
    stamp = "2026-09-01T00:00:00.000Z"
    fake = FakeOneRoster(max_limit=10_000)

    def org(i: int) -> dict[str, Any]:
        if i == 0:
            return {
                "sourcedId": "district",
                "status": "active",
                "dateLastModified": stamp,
                "name": "District",
                "type": "district",
            }
        return {
            "sourcedId": f"school-{i}",
            "status": "active",
            "dateLastModified": stamp,
            "name": f"School {i}",
            "type": "school",
            "parent": {"sourcedId": "district", "type": "org"},
        }

    def user(i: int) -> dict[str, Any]:
        teacher = i >= n["students"]
        school = f"school-{1 + i % n['schools']}"
        return {
            "sourcedId": f"user-{i}",
            "status": "active",
            "dateLastModified": stamp,
            "givenName": f"Given{i}",
            "familyName": f"Family{i % 977}",
            "username": f"user{i}",
            "email": f"user{i}@district.example",
            "enabledUser": "true",
            "roles": [
                {
                    "roleType": "primary",
                    "role": "teacher" if teacher else "student",
                    "org": {"sourcedId": school},
                }
            ],
            "grades": [] if teacher else [f"{9 + i % 4:02d}"],
        }

    def klass(i: int) -> dict[str, Any]:
        return {
            "sourcedId": f"class-{i}",
            "status": "active",
            "dateLastModified": stamp,
            "title": f"Class {i}",
            "classType": "scheduled",
            "school": {"sourcedId": f"school-{1 + i % n['schools']}"},
            "terms": [{"sourcedId": "year"}],
        }

    def enrollment(i: int) -> dict[str, Any]:
        # students: 1.5 enrollments each on average; one teacher per class first
        if i < n["classes"]:
            user_id, class_id, role = n["students"] + i % n["teachers"], i, "teacher"
        else:
            k = i - n["classes"]
            user_id, class_id, role = (
                k % n["students"],
                (k // n["students"] * 7 + k) % n["classes"],
                "student",
            )
        return {
            "sourcedId": f"enr-{i}",
            "status": "active",
            "dateLastModified": stamp,
            "user": {"sourcedId": f"user-{user_id}"},
            "class": {"sourcedId": f"class-{class_id}"},
            "role": role,
            "primary": "false",
        }

    def line_item(i: int) -> dict[str, Any]:
        return {
            "sourcedId": f"li-{i}",
            "status": "active",
            "dateLastModified": stamp,
            "title": f"Assessment {i}",
            "class": {"sourcedId": f"class-{i % n['classes']}"},
            "category": {"sourcedId": "cat"},
            "resultValueMin": 0,
            "resultValueMax": 100,
        }

    def result(i: int) -> dict[str, Any]:
        return {
            "sourcedId": f"res-{i}",
            "status": "active",
            "dateLastModified": stamp,
            "lineItem": {"sourcedId": f"li-{i % n['lineItems']}"},
            "student": {"sourcedId": f"user-{(i * 7919) % n['students']}"},
            "score": float(i % 101),
            "scoreStatus": "fully graded",
            "scoreDate": "2026-10-01",
        }

    year = {
        "sourcedId": "year",
        "status": "active",
        "dateLastModified": stamp,
        "title": "2026-27",
        "type": "schoolYear",
        "startDate": "2026-08-01",
        "endDate": "2027-06-30",
        "schoolYear": "2027",
    }
    category = {"sourcedId": "cat", "status": "active", "dateLastModified": stamp, "title": "Assessments"}
    fake.generated = {
        "orgs": Generated(n["schools"] + 1, org),
        "academicSessions": Generated(1, lambda i: year),
        "courses": Generated(0, lambda i: {}),
        "users": Generated(n["students"] + n["teachers"], user),
        "classes": Generated(n["classes"], klass),
        "enrollments": Generated(n["enrollments"] + n["classes"], enrollment),
        "categories": Generated(1, lambda i: category),
        "lineItems": Generated(n["lineItems"], line_item),
        "results": Generated(n["results"], result),
    }
    # What changed since: a delta (filter=dateLastModified>...) is served from fake.data, which holds
    # 1% of the users renamed and 1% of the results regraded, stamped a day later.
    later = "2026-09-02T00:00:00.000Z"
    for i in range(0, n["students"], 100):
        fake.data["users"][f"user-{i}"] = {**user(i), "givenName": f"Renamed{i}", "dateLastModified": later}
    for i in range(0, n["results"], 100):
        fake.data["results"][f"res-{i}"] = {
            **result(i),
            "score": float((i + 50) % 101),
            "dateLastModified": later,
        }
    fake.start()
    print(
        json.dumps({"url": fake.url, "client_id": fake.client_id, "client_secret": fake.client_secret}),
        flush=True,
    )
    sys.stdin.read()
    fake.stop()


async def reset(url: str) -> None:
    admin = create_engine(str(make_url(url).set(database="postgres")), pool_size=1)
    async with admin.connect() as conn:
        await conn.execution_options(isolation_level="AUTOCOMMIT")
        name = make_url(url).database
        if not (
            await conn.execute(text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": name})
        ).first():
            await conn.execute(text(f'CREATE DATABASE "{name}"'))
    await admin.dispose()
    engine = create_engine(url, pool_size=1)
    async with engine.begin() as conn:
        await conn.execute(text("DROP SCHEMA IF EXISTS public CASCADE"))
        await conn.execute(text("CREATE SCHEMA public"))
    await engine.dispose()


async def run_sync(
    db: Database, settings: Settings, tenant_id: Any, connection_id: Any, mode: str = "full"
) -> tuple[Job, float]:
    async with transaction(db) as session:
        job = await ConnectionService(session, tenant_id, settings).enqueue_sync(
            connection_id,
            SyncRequest(mode=mode),  # type: ignore[arg-type]
        )
        job_id = job.id
    database = make_url(settings.database_url).database or ""
    provider = proc_cpu(PROVIDER_PID)
    with BackendCpu(database) as backends:
        started, cpu = time.perf_counter(), time.process_time()
        await JobRunner(db, settings).run(job_id)
        elapsed = time.perf_counter() - started
    cpu = time.process_time() - cpu - backends.own  # the sampling thread is the bench's, not the sync's
    CPU[mode if mode == "delta" else ("unchanged" if "full" in CPU else "full")] = {
        "sync": cpu,
        "provider": proc_cpu(PROVIDER_PID) - provider,
        "postgres": backends.seconds,
    }
    async with db.session() as session:
        row = await session.get(Job, job_id)
        assert row is not None
        return row, elapsed


def print_report(title: str, job: Job, elapsed: float) -> None:
    report = job.report or {}
    print(f"\n{title}: {job.state} in {elapsed:.1f} s" + (f" ({job.error})" if job.error else ""))
    name, c = list(CPU.items())[-1]
    print(
        f"  CPU seconds: syncing process {c['sync']:.1f}, provider {c['provider']:.1f}, PostgreSQL "
        f"{c['postgres']:.1f}, total {sum(c.values()):.1f}; load average "
        + " ".join(f"{x:.1f}" for x in os.getloadavg())
    )
    print(f"  {'collection':<18}{'fetched':>10}{'created':>10}{'updated':>10}{'unchanged':>10}{'skipped':>9}")
    for name, c in report.get("collections", {}).items():
        figures = "".join(f"{c[k]:>10}" for k in ("fetched", "created", "updated", "unchanged"))
        print(f"  {name:<18}{figures}{c['skipped']:>9}")
    totals = report.get("totals", {})
    fetched = totals.get("fetched", 0)
    print(f"  total {fetched} records, {fetched / elapsed:,.0f} records/s; errors {report.get('errors')}")
    print(f"  requests {report.get('requests')}")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--database-url", default=DEFAULT_URL)
    parser.add_argument("--scale", type=float, default=1.0)
    parser.add_argument("--page-size", type=int, default=1000)
    parser.add_argument("--concurrency", type=int, default=4)
    parser.add_argument("--serve", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        serve(args.scale)
        return
    server = subprocess.Popen(  # noqa: S603 - this very script, with our own arguments
        [sys.executable, __file__, "--serve", "--scale", str(args.scale)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    global PROVIDER_PID
    PROVIDER_PID = server.pid
    try:
        assert server.stdout is not None
        provider = json.loads(server.stdout.readline())
        asyncio.run(bench(args, provider))
    finally:
        if server.stdin is not None:
            server.stdin.close()
        server.wait(timeout=10)


async def bench(args: argparse.Namespace, provider: dict[str, str]) -> None:
    await reset(args.database_url)
    await upgrade(args.database_url)
    settings = Settings(
        database_url=args.database_url,
        token_secret=SecretStr("t" * 48),
        key_encryption_key=SecretStr("k" * 48),
        auto_migrate=False,
    )
    settings = settings.model_copy(
        update={
            "outbound": settings.outbound.model_copy(update={"allow_private": True}),
            "oneroster": settings.oneroster.model_copy(
                update={"page_size": args.page_size, "max_concurrency": args.concurrency}
            ),
        }
    )
    db = Database(args.database_url, pool_size=4)
    # The collector tuned as in `portrait worker` and the app's lifespan, where syncs run (service.gctune).
    gctune.tune()
    async with transaction(db) as session:
        tenant = await make_tenant(session, settings)
        connection = await ConnectionService(session, tenant.id, settings).create(
            ConnectionCreate(
                base_url=provider["url"],
                token_url=provider["url"] + "/oauth/token",
                client_id=provider["client_id"],
                client_secret=provider["client_secret"],
            )
        )
        tenant_id, connection_id = tenant.id, connection.id
    n = sizes(args.scale)
    print(
        f"district: {json.dumps(n)}; page size {args.page_size}, {args.concurrency} requests in flight; "
        f"load average {' '.join(f'{x:.1f}' for x in os.getloadavg())}"
    )

    def peak() -> float:
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024

    rss_before = peak()
    figures: dict[str, float] = {}
    job, figures["full"] = await run_sync(db, settings, tenant_id, connection_id)
    print_report("full sync into an empty database", job, figures["full"])
    print(f"  peak RSS of the syncing process: {peak():.0f} MiB (before the sync: {rss_before:.0f} MiB)")
    job, figures["unchanged"] = await run_sync(db, settings, tenant_id, connection_id)
    print_report("second full sync, nothing changed", job, figures["unchanged"])
    print(f"  peak RSS: {peak():.0f} MiB")
    job, figures["delta"] = await run_sync(db, settings, tenant_id, connection_id, mode="delta")
    print_report("delta sync (1% of users and results changed)", job, figures["delta"])
    print(f"  peak RSS: {peak():.0f} MiB")
    print(
        f"\nsummary: full {figures['full']:.1f} s, delta {figures['delta']:.1f} s, unchanged full re-run "
        f"{figures['unchanged']:.1f} s ({figures['unchanged'] / figures['full']:.0%} of the full sync), "
        f"peak RSS {peak():.0f} MiB"
    )
    if args.scale == 1.0:
        headlines.record("oneroster.full_s", figures["full"], "s")
        headlines.record("oneroster.unchanged_s", figures["unchanged"], "s")
        headlines.record("oneroster.delta_s", figures["delta"], "s")
        headlines.record("oneroster.peak_mib", peak(), "MiB")
    print(
        "CPU seconds (syncing process + provider + PostgreSQL backends = total): "
        + "; ".join(
            f"{name} {c['sync']:.1f} + {c['provider']:.1f} + {c['postgres']:.1f} = {sum(c.values()):.1f}"
            for name, c in CPU.items()
        )
        + f"; load average {' '.join(f'{x:.1f}' for x in os.getloadavg())}"
    )
    await db.dispose()


if __name__ == "__main__":
    main()
