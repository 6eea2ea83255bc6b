"""Benchmark: the service as a cluster on one machine: N API processes + M job workers, one PostgreSQL.

    .venv/bin/python tests/bench/bench_cluster.py [--database-url URL] [--configs 1x1,2x2]
        [--read-seconds 15] [--ingest-seconds 15] [--drain-seconds 30] [--concurrency 32] ...

A script that prints figures, not a test (pytest does not collect ``bench_*.py``); nothing is asserted.
The default run takes about two and a half minutes; raise the ``--*-seconds`` flags for longer runs.

1. Recreates the benchmark database (default ``postgresql+asyncpg://postgres@127.0.0.1:5432/
   portrait_deploy_cluster`` or PORTRAIT_BENCH_DATABASE_URL) and runs ``portrait migrate`` ONCE, as a
   deployment does. Loads one district in-process: a published framework with 6 competencies, one badge
   per competency (evidence rule: one piece at Proficient or above), ``--learners`` learners, one API
   client with every scope.
2. For each configuration ``AxW`` (A API processes, W workers): starts A ``portrait serve`` processes on
   their own ports and W ``portrait worker`` processes, all in production mode against the one database
   (no process migrates; the secrets come from the environment, as on separate machines).
3. Load balancing: the load generator spreads its clients round-robin over the A base URLs (client i
   talks to API process i mod A over its own keep-alive connection), which is what an L4 balancer with
   per-connection balancing does. A balancing proxy written in Python would cost about as much CPU per
   request as the service itself on a 2-core machine and so would distort the figures more than it
   shows.
4. Phases, each measured separately:
   * reads: ``--concurrency`` clients alternate ``GET /api/v1/learners?limit=20`` and
     ``GET /api/v1/learners/{id}`` for ``--read-seconds`` (after a short warm-up);
   * ingest: ``--ingest-concurrency`` clients POST ``/api/v1/evidence`` (``--records`` records each,
     learners of this configuration's own slice of the roster, so every configuration starts with the
     same number of possible awards); the rules run in the request and the awards it makes are queued
     for issuance as jobs;
   * issuance: the workers turn awards into signed, stored credentials (eddsa-rdfc-2022 + VC-JWT) while
     the ingest runs and afterwards until nothing waits (or ``--drain-seconds``); credentials/s comes
     from the credentials' own ``issued_at`` timestamps (first to last issued in this configuration).
     That is the workers' rate as long as awards arrive faster than they are issued (compare the awards
     made during the ingest with the issuance span: when issuance ends with the ingest, the workers
     waited for work and the rate is the ingest's).
   A sampler reads pg_stat_activity twice a second: connections to the database (peak and mean), how
   many were active, how many last ran procrastinate's statements.
5. CPU per phase, from /proc: the API processes, the workers, the PostgreSQL backends serving the
   benchmark database, the load generator, and the whole machine's busy time (the rest is other work on
   the machine). The summary turns it into CPU per read, per evidence request and per credential: the
   figures a load model is built from (docs/deployment.md).

``--api-database-url`` (e.g. PgBouncer in transaction mode) and ``--pgbouncer``
(PORTRAIT_DATABASE_PGBOUNCER=true) put a pooler between the API processes and PostgreSQL; the workers,
the migration and the figures' own queries stay on ``--database-url``.

Client, servers, workers and PostgreSQL all share the machine (and, on the project's machine, the cores
with other people's work), so 2 processes cannot give twice the throughput of 1 on 2 cores; the figures
show how far it goes and where the CPU went.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import platform
import random
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

import asyncpg
import httpx
from pydantic import SecretStr
from sqlalchemy.engine import make_url

from service.awards.schemas import AchievementCreate
from service.awards.service import AwardService
from service.config import Settings
from service.db import Database
from service.roster.schemas import PersonCreate
from service.roster.service import RosterService
from service.tenancy import scopes
from tests.bench import headlines
from tests.bench.bench_api import cpu_seconds, free_port, percentile, reset_database, stop, wait_healthy
from tests.factories import make_client, make_portrait, make_tenant

Request = Callable[[httpx.AsyncClient, random.Random, int], Awaitable[tuple[str, int, int]]]
PORTRAIT = Path(sys.executable).parent / ("portrait.exe" if os.name == "nt" else "portrait")
DEFAULT_URL = "postgresql+asyncpg://postgres@127.0.0.1:5432/portrait_deploy_cluster"
TOKEN_SECRET = "cluster-bench-token-secret-" + "t" * 32
KEY_ENCRYPTION_KEY = "cluster-bench-key-encryption-" + "k" * 32


# -- setup -----------------------------------------------------------------------------------------


def cluster_env(database_url: str, public_url: str, pool_size: int) -> dict[str, str]:
    """Production mode, secrets and database from the environment: what every machine would get."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PORTRAIT_")}
    env.update(
        {
            "PORTRAIT_MODE": "production",
            "PORTRAIT_DATABASE_URL": database_url,
            "PORTRAIT_DATABASE_POOL_SIZE": str(pool_size),
            "PORTRAIT_PUBLIC_URL": public_url,
            "PORTRAIT_TOKEN_SECRET": TOKEN_SECRET,
            "PORTRAIT_KEY_ENCRYPTION_KEY": KEY_ENCRYPTION_KEY,
            "PORTRAIT_LOG_LEVEL": "WARNING",
            "PORTRAIT_LOG_JSON": "false",
        }
    )
    return env


@dataclass
class District:
    client_id: str
    secret: str
    competencies: list[str]
    learners: list[str]


async def load_district(url: str, learners: int) -> District:
    settings = Settings(
        mode="production",
        database_url=url,
        token_secret=SecretStr(TOKEN_SECRET),
        key_encryption_key=SecretStr(KEY_ENCRYPTION_KEY),
        public_url="http://127.0.0.1:8000",
    )
    db = Database(url, pool_size=2)
    try:
        async with db.session() as session:
            tenant = await make_tenant(session, settings, "cluster")
            client_id, secret = await make_client(session, settings, tenant, list(scopes.ALL_SCOPES))
            portrait = await make_portrait(session, tenant.id, competencies=6, learners=0, classes=2)
            roster = RosterService(session, tenant.id)
            ids: list[str] = []
            for i in range(learners):
                data = PersonCreate(
                    role="student", given_name=f"L{i}", family_name="Cluster", sourced_id=f"c-{i}"
                )
                person = await roster.create_person(data)
                ids.append(str(person.id))
            awards = AwardService(session, tenant.id)
            for n, competency in enumerate(portrait.competency_ids):
                await awards.create_achievement(
                    AchievementCreate(
                        title=f"Badge {n + 1}",
                        description="Shown once at Proficient or above.",
                        criteria="One piece of evidence at Proficient or above.",
                        rule={
                            "type": "evidence",
                            "competency_ids": [str(competency)],
                            "min_level": 2,
                            "min_count": 1,
                        },
                    )
                )
            await session.commit()
            return District(client_id, secret, [str(c) for c in portrait.competency_ids], ids)
    finally:
        await db.dispose()


# -- processes -------------------------------------------------------------------------------------


@dataclass
class Cluster:
    apis: list[subprocess.Popen[bytes]]
    workers: list[subprocess.Popen[bytes]]
    bases: list[str]
    logs: list[Path]

    def check_alive(self) -> None:
        """Stop the run with the process's own log when one of the cluster's processes died."""
        for proc, log in zip(self.all(), self.logs, strict=True):
            if proc.poll() is not None:
                tail = log.read_text(errors="replace")[-3000:]
                raise SystemExit(f"{proc.args!r} exited with {proc.returncode}:\n{tail}")

    def all(self) -> list[subprocess.Popen[bytes]]:
        return self.apis + self.workers

    def cpu(self) -> dict[str, float]:
        return {
            "api": sum(cpu_seconds(p.pid) for p in self.apis),
            "workers": sum(cpu_seconds(p.pid) for p in self.workers),
        }


def start_cluster(args: argparse.Namespace, work: Path, apis: int, workers: int) -> Cluster:
    ports = [free_port() for _ in range(apis)]
    logs = [work / f"api-{port}.log" for port in ports] + [
        work / f"worker-{apis}x{workers}-{n}.log" for n in range(workers)
    ]
    bases = [f"http://127.0.0.1:{port}" for port in ports]
    env = cluster_env(args.database_url, bases[0], args.pool_size)
    # The API processes may go through a pooler (PgBouncer); workers always connect directly (LISTEN).
    api_env = cluster_env(args.api_database_url or args.database_url, bases[0], args.pool_size)
    if args.pgbouncer:
        api_env["PORTRAIT_DATABASE_PGBOUNCER"] = "true"
    api_procs = [
        subprocess.Popen(  # noqa: S603 - our own console script
            [str(PORTRAIT), "serve", "--host", "127.0.0.1", "--port", str(port)],
            env=api_env,
            cwd=work,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=log.open("wb"),
        )
        for port, log in zip(ports, logs, strict=False)
    ]
    worker_procs = [
        subprocess.Popen(  # noqa: S603 - our own console script
            [
                str(PORTRAIT),
                "worker",
                "--concurrency",
                str(args.worker_concurrency),
                "--name",
                f"bench-worker-{n}",
            ],
            env=env,
            cwd=work,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=logs[apis + n].open("wb"),
        )
        for n in range(workers)
    ]
    cluster = Cluster(api_procs, worker_procs, bases, logs)
    try:
        for base, proc in zip(bases, api_procs, strict=True):
            wait_healthy(base, proc)
    except BaseException:
        stop_cluster(cluster)
        raise
    return cluster


def stop_cluster(cluster: Cluster) -> None:
    for proc in cluster.all():
        proc.terminate()
    for proc in cluster.all():
        stop(proc)


# -- database sampling -----------------------------------------------------------------------------


def pg_connect_kwargs(url: str) -> dict[str, object]:
    parsed = make_url(url)
    return {
        "host": parsed.host or "127.0.0.1",
        "port": parsed.port or 5432,
        "user": parsed.username,
        "password": parsed.password,
        "database": parsed.database,
    }


@dataclass
class ConnectionSamples:
    total: list[int] = field(default_factory=list)
    active: list[int] = field(default_factory=list)
    #: connections whose last statement was procrastinate's (its psycopg pools and LISTEN connections)
    queue: list[int] = field(default_factory=list)

    def line(self) -> str:
        if not self.total:
            return "no samples"
        return (
            f"peak {max(self.total)}, mean {statistics.fmean(self.total):.0f} connections "
            f"(active: peak {max(self.active)}, mean {statistics.fmean(self.active):.1f}; "
            f"procrastinate's own: peak {max(self.queue)})"
        )


class Sampler:
    """pg_stat_activity twice a second in a thread of its own (its own event loop and connection)."""

    def __init__(self, url: str) -> None:
        self.kwargs = pg_connect_kwargs(url)
        self.samples = ConnectionSamples()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=lambda: asyncio.run(self._run()), daemon=True)

    async def _run(self) -> None:
        conn = await asyncpg.connect(**self.kwargs)
        try:
            while not self._stop.is_set():
                row = await conn.fetchrow(
                    "SELECT count(*) AS total, count(*) FILTER (WHERE state = 'active') AS active, "
                    "count(*) FILTER (WHERE query ILIKE '%procrastinate%' OR query ILIKE 'LISTEN%') AS queue "
                    "FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()"
                )
                assert row is not None
                self.samples.total.append(int(row["total"]))
                self.samples.active.append(int(row["active"]))
                self.samples.queue.append(int(row["queue"]))
                await asyncio.sleep(0.5)  # a sampling period, not synchronisation
        finally:
            await conn.close()

    def __enter__(self) -> ConnectionSamples:
        self._thread.start()
        return self.samples

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(timeout=5)


async def issuance_state(url: str, since: datetime) -> tuple[int, int, datetime | None, datetime | None]:
    """(credentials issued since ``since``, awards still waiting, first and last issued_at)."""
    conn = await asyncpg.connect(**pg_connect_kwargs(url))
    try:
        row = await conn.fetchrow(
            "SELECT count(*) AS n, min(issued_at) AS first, max(issued_at) AS last "
            "FROM issued_credentials WHERE issued_at >= $1",
            since,
        )
        waiting = await conn.fetchval(
            "SELECT count(*) FROM awards WHERE status = 'awarded' AND issuance_status = 'waiting'"
        )
    finally:
        await conn.close()
    assert row is not None
    return int(row["n"]), int(waiting or 0), row["first"], row["last"]


# -- load ------------------------------------------------------------------------------------------


@dataclass
class Result:
    latencies: list[float] = field(default_factory=list)
    errors: dict[str, int] = field(default_factory=dict)
    wall: float = 0.0
    records: int = 0
    awards: int = 0

    @property
    def done(self) -> int:
        return len(self.latencies) + sum(self.errors.values())

    def rate(self) -> float:
        """Successful requests per second (errors are counted apart)."""
        return len(self.latencies) / self.wall if self.wall else 0.0

    def line(self) -> str:
        values = sorted(self.latencies)
        p50, p99 = percentile(values, 50) * 1000, percentile(values, 99) * 1000
        return (
            f"{len(self.latencies)} requests answered in {self.wall:.1f}s = {self.rate():.0f}/s, "
            f"p50 {p50:.1f} ms, p99 {p99:.1f} ms, errors {self.errors or 'none'}"
        )


async def run_clients(
    bases: Sequence[str],
    token: str,
    clients: int,
    seconds: float,
    request: Request,
) -> Result:
    """``clients`` clients, client i on base i mod len(bases), each one connection, for ``seconds``."""
    result = Result()
    deadline = time.perf_counter() + seconds
    headers = {"Authorization": f"Bearer {token}"}

    async def client(n: int) -> None:
        rng = random.Random(n)
        limits = httpx.Limits(max_connections=1, max_keepalive_connections=1)
        async with httpx.AsyncClient(
            base_url=bases[n % len(bases)], headers=headers, limits=limits, timeout=60
        ) as http:
            count = 0
            while time.perf_counter() < deadline:
                started = time.perf_counter()
                try:
                    status, records, awards = await request(http, rng, count)
                except httpx.HTTPError as exc:
                    status, records, awards = type(exc).__name__, 0, 0
                elapsed = time.perf_counter() - started
                count += 1
                if status in ("200", "201"):
                    result.latencies.append(elapsed)
                    result.records += records
                    result.awards += awards
                else:
                    result.errors[status] = result.errors.get(status, 0) + 1

    started = time.perf_counter()
    await asyncio.gather(*(client(n) for n in range(clients)))
    result.wall = time.perf_counter() - started
    return result


def reader(ids: Sequence[str]) -> Request:
    async def request(http: httpx.AsyncClient, rng: random.Random, n: int) -> tuple[str, int, int]:
        if n % 2 == 0:
            response = await http.get(f"/api/v1/learners?limit=20&offset={rng.randrange(0, 400)}")
        else:
            response = await http.get(f"/api/v1/learners/{rng.choice(ids)}")
        return str(response.status_code), 0, 0

    return request


def ingester(learners: Sequence[str], competencies: Sequence[str], per_request: int) -> Request:
    base = datetime(2026, 9, 1, tzinfo=UTC)

    async def request(http: httpx.AsyncClient, rng: random.Random, n: int) -> tuple[str, int, int]:
        body = [
            {
                "learner_id": rng.choice(learners),
                "competency_id": rng.choice(competencies),
                "source": "rubric",
                "level": rng.choice((1, 2, 2, 3)),
                "observed_at": (base + timedelta(minutes=rng.randrange(0, 60 * 24 * 60))).isoformat(),
            }
            for _ in range(per_request)
        ]
        response = await http.post("/api/v1/evidence", json=body)
        if response.status_code != 200:  # a batch answers 200 with what it accepted and awarded
            return str(response.status_code), 0, 0
        data = response.json()
        return "200", len(data["accepted"]), int(data["awards_created"])

    return request


# -- one configuration -----------------------------------------------------------------------------


@dataclass
class Figures:
    label: str
    reads: Result
    ingest: Result
    credentials: int
    issuance_rate: float
    waiting_left: int
    read_connections: ConnectionSamples
    ingest_connections: ConnectionSamples
    cpu: dict[str, dict[str, float]]


def run_config(
    args: argparse.Namespace, work: Path, district: District, apis: int, workers: int, slice_: list[str]
) -> Figures:
    label = f"{apis} API + {workers} worker{'s' if workers != 1 else ''}"
    print(f"\n== {label} ==")
    cluster = start_cluster(args, work, apis, workers)
    try:
        print(f"  ready          {apis} API processes on {', '.join(cluster.bases)}; {workers} workers")
        with httpx.Client(base_url=cluster.bases[0], timeout=10) as http:
            response = http.post(
                "/oauth/token",
                data={"grant_type": "client_credentials"},
                auth=(district.client_id, district.secret),
            )
            response.raise_for_status()
            token = response.json()["access_token"]
        asyncio.run(run_clients(cluster.bases, token, args.concurrency, args.warmup_seconds, reader(slice_)))

        window = CpuWindow(cluster, args.database_url)
        with Sampler(args.database_url) as read_connections:
            reads = asyncio.run(
                run_clients(cluster.bases, token, args.concurrency, args.read_seconds, reader(slice_))
            )
        cpu_reads = window.close()
        cluster.check_alive()
        print(f"  reads          {reads.line()}")
        print(f"  DB connections {read_connections.line()}")

        since = datetime.now(UTC)
        window = CpuWindow(cluster, args.database_url)
        ingest_started = time.perf_counter()
        with Sampler(args.database_url) as ingest_connections:
            ingest = asyncio.run(
                run_clients(
                    cluster.bases,
                    token,
                    args.ingest_concurrency,
                    args.ingest_seconds,
                    ingester(slice_, district.competencies, args.records),
                )
            )
            print(
                f"  ingest         {ingest.line()}\n"
                f"                 {ingest.records} records = {ingest.records / ingest.wall:.0f} records/s, "
                f"{ingest.awards} awards made"
            )
            deadline = time.perf_counter() + args.drain_seconds
            while True:
                issued, waiting, first, last = asyncio.run(issuance_state(args.database_url, since))
                if waiting == 0 or time.perf_counter() > deadline:
                    break
                time.sleep(0.5)  # polling the database for the workers' progress, not synchronisation
        cpu_ingest = window.close()
        cluster.check_alive()
        span = (last - first).total_seconds() if first and last and last > first else 0.0
        rate = (issued - 1) / span if span else 0.0
        print(
            f"  issuance       {issued} credentials in {span:.1f}s (first to last issued) = "
            f"{rate:.0f} credentials/s; {waiting} awards still waiting after "
            f"{time.perf_counter() - ingest_started:.0f}s"
        )
        print(f"  DB connections {ingest_connections.line()}")
        print(cpu_line("reads", cpu_reads))
        print(cpu_line("ingest+issue", cpu_ingest))
        return Figures(
            label,
            reads,
            ingest,
            issued,
            rate,
            waiting,
            read_connections,
            ingest_connections,
            {"reads": cpu_reads, "ingest": cpu_ingest},
        )
    finally:
        stop_cluster(cluster)


def machine_busy() -> float:
    """CPU seconds the whole machine has spent busy so far (all cores, every process), from /proc/stat."""
    try:
        values = [int(v) for v in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
    except OSError:
        return 0.0
    idle = values[3] + (values[4] if len(values) > 4 else 0)
    return (sum(values[:8]) - idle) / os.sysconf("SC_CLK_TCK")


async def _backend_pids(url: str) -> list[int]:
    conn = await asyncpg.connect(**pg_connect_kwargs(url))
    try:
        rows = await conn.fetch(
            "SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()"
        )
    finally:
        await conn.close()
    return [int(r["pid"]) for r in rows]


def database_cpu(url: str) -> dict[int, float]:
    """CPU seconds so far of each PostgreSQL backend serving the benchmark database (same machine)."""
    return {pid: cpu_seconds(pid) for pid in asyncio.run(_backend_pids(url))}


class CpuWindow:
    """CPU used during a phase: the cluster's processes, the PostgreSQL backends serving its database
    (those alive at the end; pooled connections live through a phase), this load generator, the whole
    machine."""

    def __init__(self, cluster: Cluster, url: str) -> None:
        self.cluster = cluster
        self.url = url
        self.database = database_cpu(url)
        self.ours = cluster.cpu()
        self.own = time.process_time()
        self.machine = machine_busy()
        self.wall = time.perf_counter()

    def close(self) -> dict[str, float]:
        now = self.cluster.cpu()
        used = {k: v - self.ours[k] for k, v in now.items()}
        used["postgres"] = sum(
            max(0.0, cpu - self.database.get(pid, 0.0)) for pid, cpu in database_cpu(self.url).items()
        )
        used["generator"] = time.process_time() - self.own
        used["machine"] = machine_busy() - self.machine
        used["wall"] = time.perf_counter() - self.wall
        used["other"] = used["machine"] - used["api"] - used["workers"] - used["postgres"] - used["generator"]
        return used


def cpu_line(phase: str, used: dict[str, float]) -> str:
    wall = used["wall"] or 1.0
    return (
        f"  CPU {phase:<13} machine busy {used['machine'] / wall:.2f} of {os.cpu_count()} cores over "
        f"{wall:.1f}s: API {used['api'] / wall:.2f}, workers {used['workers'] / wall:.2f}, "
        f"PostgreSQL {used['postgres'] / wall:.2f}, load generator {used['generator'] / wall:.2f}, "
        f"everything else (other people's work) {used['other'] / wall:.2f}"
    )


def machine_load() -> str:
    with contextlib.suppress(OSError):
        return " / ".join(f"{x:.2f}" for x in os.getloadavg())
    return "unknown"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--database-url", default=os.environ.get("PORTRAIT_BENCH_DATABASE_URL", DEFAULT_URL))
    parser.add_argument("--configs", default="1x1,2x2", help="API x workers, comma-separated")
    parser.add_argument("--learners", type=int, default=2000, help="learners, split between configurations")
    parser.add_argument("--concurrency", type=int, default=32, help="read clients")
    parser.add_argument("--ingest-concurrency", type=int, default=8, help="evidence clients")
    parser.add_argument("--records", type=int, default=10, help="evidence records per request")
    parser.add_argument("--warmup-seconds", type=float, default=3)
    parser.add_argument("--read-seconds", type=float, default=15)
    parser.add_argument("--ingest-seconds", type=float, default=15)
    parser.add_argument("--drain-seconds", type=float, default=30, help="longest wait for issuance")
    parser.add_argument("--worker-concurrency", type=int, default=4, help="portrait worker --concurrency")
    parser.add_argument("--pool-size", type=int, default=10, help="PORTRAIT_DATABASE_POOL_SIZE per API")
    parser.add_argument(
        "--api-database-url",
        help="the API processes' database URL, e.g. through PgBouncer in transaction mode (default: "
        "--database-url); workers, migration and the figures' queries always use --database-url",
    )
    parser.add_argument(
        "--pgbouncer", action="store_true", help="set PORTRAIT_DATABASE_PGBOUNCER=true on the API processes"
    )
    args = parser.parse_args(argv)
    configs = [tuple(int(x) for x in c.split("x")) for c in args.configs.split(",")]
    print(
        f"Portrait cluster benchmark on {platform.node()}: {os.cpu_count()} CPUs, "
        f"Python {platform.python_version()}, load average before the run {machine_load()}"
    )
    print(f"database {make_url(args.database_url).render_as_string(hide_password=True)}")
    if args.api_database_url:
        print(
            f"API processes through {make_url(args.api_database_url).render_as_string(hide_password=True)}"
            f", PORTRAIT_DATABASE_PGBOUNCER={'true' if args.pgbouncer else 'unset'}"
        )
    with tempfile.TemporaryDirectory(prefix="portrait-cluster-") as tmp:
        work = Path(tmp)
        asyncio.run(reset_database(args.database_url))
        env = cluster_env(args.database_url, "http://127.0.0.1:8000", args.pool_size)
        started = time.perf_counter()
        done = subprocess.run(  # noqa: S603 - our own console script
            [str(PORTRAIT), "migrate"], env=env, cwd=work, capture_output=True, text=True, check=False
        )
        if done.returncode != 0:
            sys.stderr.write(done.stdout + done.stderr)
            return 1
        print(f"  migrate        once, {time.perf_counter() - started:.1f}s")
        started = time.perf_counter()
        district = asyncio.run(load_district(args.database_url, args.learners))
        print(
            f"  district       {len(district.learners)} learners, 6 badges (one evidence rule each), "
            f"{time.perf_counter() - started:.1f}s"
        )
        size = len(district.learners) // len(configs)
        results = [
            run_config(args, work, district, apis, workers, district.learners[n * size : (n + 1) * size])
            for n, (apis, workers) in enumerate(configs)
        ]
    print(f"\nSummary (load average after the run {machine_load()}; machine shared with other work):")
    print(
        f"  {'configuration':<20}{'reads/s':>9}{'p50 ms':>8}{'p99 ms':>8}{'ingest/s':>10}"
        f"{'records/s':>11}{'p99 ms':>8}{'creds/s':>9}{'peak conns':>12}"
    )
    for f in results:
        reads = sorted(f.reads.latencies)
        ingest = sorted(f.ingest.latencies)
        conns = max(f.read_connections.total + f.ingest_connections.total or [0])
        print(
            f"  {f.label:<20}{f.reads.rate():>9.0f}{percentile(reads, 50) * 1000:>8.1f}"
            f"{percentile(reads, 99) * 1000:>8.1f}{f.ingest.rate():>10.0f}"
            f"{f.ingest.records / f.ingest.wall:>11.0f}{percentile(ingest, 99) * 1000:>8.1f}"
            f"{f.issuance_rate:>9.0f}{conns:>12}"
        )
    if len(results) > 1:
        first, last = results[0], results[-1]

        def ratio(a: float, b: float) -> str:
            return f"x{b / a:.2f}" if a else "n/a"

        if (first.label, last.label) == ("1 API + 1 worker", "2 API + 2 workers"):
            for key, a, b in (
                ("cluster.reads_growth", first.reads.rate(), last.reads.rate()),
                ("cluster.ingest_growth", first.ingest.rate(), last.ingest.rate()),
                ("cluster.issuance_growth", first.issuance_rate, last.issuance_rate),
            ):
                if a:
                    headlines.record(key, b / a, "ratio")
        print(
            f"  growth {first.label} -> {last.label}: reads {ratio(first.reads.rate(), last.reads.rate())}, "
            f"ingest {ratio(first.ingest.rate(), last.ingest.rate())}, "
            f"issuance {ratio(first.issuance_rate, last.issuance_rate)}"
        )
    for f in results:
        read_cpu, ingest_cpu = f.cpu["reads"], f.cpu["ingest"]
        per_read = read_cpu["api"] / max(1, f.reads.done) * 1000
        db_read = read_cpu["postgres"] / max(1, f.reads.done) * 1000
        per_cred = ingest_cpu["workers"] / max(1, f.credentials) * 1000
        api_ingest = ingest_cpu["api"] / max(1, f.ingest.done) * 1000
        db_ingest = ingest_cpu["postgres"] / max(1, f.credentials) * 1000
        print(
            f"  {f.label}: CPU per read: API {per_read:.2f} ms + PostgreSQL {db_read:.2f} ms; "
            f"per evidence request ({args.records} records): API {api_ingest:.1f} ms; per credential: "
            f"worker {per_cred:.2f} ms; PostgreSQL (ingest + issuance) {db_ingest:.2f} ms per credential"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
