"""Benchmark: authenticated reads under concurrent clients on PostgreSQL, plus demo cold start on SQLite.

    python3 dev.py bench [--database-url URL] [--requests 5000] [--concurrency 32] ...

A script that prints figures, not a test (pytest does not collect ``bench_*.py``); nothing is asserted.

1. Recreates the benchmark database (default postgresql+asyncpg://postgres@127.0.0.1:5432/portrait_bench,
   or PORTRAIT_BENCH_DATABASE_URL), runs ``portrait migrate`` and ``portrait demo`` against it.
2. Starts the real server (``portrait serve``: uvicorn, one worker) in a subprocess on a free local port.
3. Gets a token for the demo client, then N concurrent clients (one httpx connection each) alternate
   ``GET /api/v1/learners?limit=20`` and ``GET /api/v1/learners/{id}`` until the request budget or the
   time cap is spent. Prints throughput, latency percentiles and the server's peak RSS (VmHWM).
4. Separately: the cold start of ``portrait demo`` on a fresh SQLite var dir (process start to demo
   loaded) and the time for ``portrait serve`` to answer /health on it.

Client and server share the machine, so the figures include the load generator's own CPU use.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import random
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import asyncpg
import httpx
from sqlalchemy.engine import make_url

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
from tests.bench import headlines  # noqa: E402

PORTRAIT = Path(sys.executable).parent / ("portrait.exe" if os.name == "nt" else "portrait")
DEFAULT_URL = "postgresql+asyncpg://postgres@127.0.0.1:5432/portrait_bench"


# -- helpers ---------------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def portrait_env(var_dir: Path, database_url: str | None, public_url: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PORTRAIT_")}
    env.update(
        {
            "PORTRAIT_MODE": "embedded",
            "PORTRAIT_VAR_DIR": str(var_dir),
            "PORTRAIT_PUBLIC_URL": public_url,
            "PORTRAIT_LOG_LEVEL": "WARNING",
        }
    )
    if database_url:
        env["PORTRAIT_DATABASE_URL"] = database_url
    return env


def portrait(args: Sequence[str], env: dict[str, str], cwd: Path) -> float:
    """Run a ``portrait`` subcommand to completion; returns its wall time in seconds."""
    started = time.perf_counter()
    done = subprocess.run(  # noqa: S603 - our own console script
        [str(PORTRAIT), *args],
        env=env,
        cwd=cwd,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        check=False,
    )
    elapsed = time.perf_counter() - started
    if done.returncode != 0:
        sys.stderr.write(done.stdout + done.stderr)
        raise SystemExit(f"portrait {' '.join(args)} failed with {done.returncode}")
    return elapsed


def start_server(env: dict[str, str], cwd: Path, port: int) -> subprocess.Popen[bytes]:
    return subprocess.Popen(  # noqa: S603 - our own console script
        [str(PORTRAIT), "serve", "--host", "127.0.0.1", "--port", str(port)],
        env=env,
        cwd=cwd,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=(cwd / "server.log").open("wb"),
    )


def wait_healthy(base: str, server: subprocess.Popen[bytes], timeout: float = 60) -> float:
    started = time.perf_counter()
    with httpx.Client(timeout=2) as client:
        while time.perf_counter() - started < timeout:
            if server.poll() is not None:
                raise SystemExit(f"the server exited with {server.returncode}")
            try:
                if client.get(f"{base}/health").status_code == 200:
                    return time.perf_counter() - started
            except httpx.TransportError:
                pass
            time.sleep(0.02)
    raise SystemExit(f"no answer from {base}/health within {timeout}s")


def stop(server: subprocess.Popen[bytes]) -> None:
    server.terminate()
    try:
        server.wait(timeout=15)
    except subprocess.TimeoutExpired:
        server.kill()
        server.wait()


def memory_kib(pid: int) -> dict[str, int]:
    """VmHWM (peak resident set) and VmRSS of a process, from /proc (Linux only)."""
    out: dict[str, int] = {}
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            key, _, value = line.partition(":")
            if key in ("VmHWM", "VmRSS"):
                out[key] = int(value.split()[0])
    except OSError:
        pass
    return out


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process so far, from /proc (Linux only; 0 elsewhere)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def percentile(sorted_values: Sequence[float], pct: float) -> float:
    """Nearest-rank percentile of an ascending sequence."""
    if not sorted_values:
        return float("nan")
    rank = max(1, round(pct / 100 * len(sorted_values) + 0.5 - 1e-9))
    return sorted_values[min(rank, len(sorted_values)) - 1]


async def reset_database(url: str) -> None:
    parsed = make_url(url)
    if not parsed.drivername.startswith("postgresql"):
        raise SystemExit(f"the benchmark runs on PostgreSQL, not {parsed.drivername}")
    name = parsed.database
    if not name:
        raise SystemExit("the database URL names no database")
    conn = await asyncpg.connect(
        host=parsed.host or "127.0.0.1",
        port=parsed.port or 5432,
        user=parsed.username,
        password=parsed.password,
        database="postgres",
        timeout=10,
    )
    quoted = '"' + name.replace('"', '""') + '"'
    try:
        await conn.execute(f"DROP DATABASE IF EXISTS {quoted} WITH (FORCE)")
        await conn.execute(f"CREATE DATABASE {quoted}")
    finally:
        await conn.close()


# -- load ------------------------------------------------------------------------------------------


@dataclass
class Samples:
    latencies: dict[str, list[float]] = field(default_factory=lambda: {"list": [], "get": []})
    errors: dict[str, int] = field(default_factory=dict)


async def load(
    base: str, token: str, ids: list[str], *, total: int, concurrency: int, cap: float, measure: bool
) -> tuple[Samples, float]:
    samples = Samples()
    issued = 0
    deadline = time.perf_counter() + cap
    rng = random.Random(7)
    headers = {"Authorization": f"Bearer {token}"}

    async def worker() -> None:
        nonlocal issued
        limits = httpx.Limits(max_connections=1, max_keepalive_connections=1)
        async with httpx.AsyncClient(base_url=base, headers=headers, limits=limits, timeout=30) as client:
            while issued < total and time.perf_counter() < deadline:
                n = issued
                issued += 1
                if n % 2 == 0:
                    kind, url = "list", f"/api/v1/learners?limit=20&offset={rng.randrange(0, 180)}"
                else:
                    kind, url = "get", f"/api/v1/learners/{rng.choice(ids)}"
                started = time.perf_counter()
                try:
                    response = await client.get(url)
                    status = str(response.status_code)
                except httpx.HTTPError as exc:
                    status = type(exc).__name__
                elapsed = time.perf_counter() - started
                if status == "200":
                    if measure:
                        samples.latencies[kind].append(elapsed)
                else:
                    samples.errors[status] = samples.errors.get(status, 0) + 1

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return samples, time.perf_counter() - started


def report_latencies(samples: Samples, wall: float) -> None:
    everything = sorted(samples.latencies["list"] + samples.latencies["get"])
    done = len(everything) + sum(samples.errors.values())
    print(f"  requests       {done} in {wall:.2f}s = {done / wall:.0f} requests/s")
    headlines.record("api.requests_per_s", done / wall, "requests/s")
    if everything:
        headlines.record("api.p99_over_p50", percentile(everything, 99) / percentile(everything, 50), "ratio")
    print(f"  errors         {samples.errors or 'none'}")
    print(f"  {'latency (ms)':<28}{'p50':>8}{'p90':>8}{'p99':>8}{'max':>8}{'mean':>8}")
    rows = [
        ("GET /learners?limit=20", sorted(samples.latencies["list"])),
        ("GET /learners/{id}", sorted(samples.latencies["get"])),
        ("both", everything),
    ]
    for label, values in rows:
        if not values:
            continue
        cells = [percentile(values, p) * 1000 for p in (50, 90, 99, 100)]
        cells.append(statistics.fmean(values) * 1000)
        print(f"  {label:<28}" + "".join(f"{c:>8.1f}" for c in cells))


# -- phases ----------------------------------------------------------------------------------------


def bench_postgres(args: argparse.Namespace, work: Path) -> None:
    url: str = args.database_url
    print(f"PostgreSQL benchmark: {make_url(url).render_as_string(hide_password=True)}")
    asyncio.run(reset_database(url))
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    env = portrait_env(work / "pg-var", url, base)
    print(f"  migrate        {portrait(['migrate'], env, work):.2f}s")
    print(f"  demo load      {portrait(['demo'], env, work):.2f}s")
    client = json.loads((work / "pg-var" / "demo-client.json").read_text())
    server = start_server(env, work, port)
    try:
        print(f"  server ready   {wait_healthy(base, server):.2f}s after start")
        with httpx.Client(base_url=base, timeout=10) as http:
            token_response = http.post(
                "/oauth/token",
                data={"grant_type": "client_credentials"},
                auth=(client["client_id"], client["client_secret"]),
            )
            token_response.raise_for_status()
            token = token_response.json()["access_token"]
            page = http.get("/api/v1/learners?limit=200", headers={"Authorization": f"Bearer {token}"})
            page.raise_for_status()
            ids = [item["id"] for item in page.json()["items"]]
        print(f"  learners       {len(ids)} ids to fetch")
        baseline = memory_kib(server.pid)
        asyncio.run(
            load(base, token, ids, total=args.warmup, concurrency=args.concurrency, cap=30, measure=False)
        )
        print(
            f"  load           {args.requests} requests max, {args.concurrency} concurrent clients, "
            f"cap {args.cap:.0f}s (after {args.warmup} warm-up requests)"
        )
        spy = None
        if args.profile:
            out = ROOT / "var/bench/bench_api.pyspy.txt"
            out.parent.mkdir(parents=True, exist_ok=True)
            command = [str(Path(sys.executable).parent / "py-spy"), "record", "--pid", str(server.pid)]
            command += ["--rate", "200", "--format", "raw", "--output", str(out), "--nonblocking"]
            spy = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # noqa: S603
            time.sleep(1)  # attaching
            print(f"  py-spy         recording the server into {out}")
        server_cpu, own_cpu = cpu_seconds(server.pid), time.process_time()
        samples, wall = asyncio.run(
            load(
                base,
                token,
                ids,
                total=args.requests,
                concurrency=args.concurrency,
                cap=args.cap,
                measure=True,
            )
        )
        server_cpu, own_cpu = cpu_seconds(server.pid) - server_cpu, time.process_time() - own_cpu
        if spy is not None:
            spy.send_signal(2)
            spy.wait(timeout=60)
        report_latencies(samples, wall)
        done = max(1, sum(len(v) for v in samples.latencies.values()) + sum(samples.errors.values()))
        headlines.record("api.cpu_ms_per_request", server_cpu / done * 1000, "ms")
        print(
            f"  CPU            server {server_cpu:.1f}s ({server_cpu / done * 1000:.2f} ms/request), "
            f"load generator {own_cpu:.1f}s, wall {wall:.1f}s on {os.cpu_count()} CPUs"
        )
        memory = memory_kib(server.pid)
        if memory:
            print(
                f"  server memory  peak RSS (VmHWM) {memory['VmHWM'] / 1024:.1f} MiB, "
                f"RSS now {memory['VmRSS'] / 1024:.1f} MiB "
                f"(RSS before the load {baseline.get('VmRSS', 0) / 1024:.1f} MiB)"
            )
    finally:
        stop(server)


def bench_cold_start(args: argparse.Namespace, work: Path) -> None:
    print("Cold start on the embedded default (SQLite, fresh var dir each run):")
    demo_times: list[float] = []
    serve_times: list[float] = []
    for n in range(args.cold_runs):
        var = work / f"cold-{n}"
        port = free_port()
        base = f"http://127.0.0.1:{port}"
        env = portrait_env(var, None, base)
        demo_times.append(portrait(["demo"], env, work))
        started = time.perf_counter()
        server = start_server(env, work, port)
        try:
            wait_healthy(base, server)
            serve_times.append(time.perf_counter() - started)
        finally:
            stop(server)
    print(
        "  portrait demo  (process start to demo loaded: migrate + 200 learners) "
        + ", ".join(f"{t:.2f}s" for t in demo_times)
    )
    print(
        "  portrait serve (process start to /health answering) " + ", ".join(f"{t:.2f}s" for t in serve_times)
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--database-url", default=os.environ.get("PORTRAIT_BENCH_DATABASE_URL", DEFAULT_URL))
    parser.add_argument("--requests", type=int, default=5000, help="measured requests")
    parser.add_argument("--concurrency", type=int, default=32, help="concurrent clients")
    parser.add_argument("--cap", type=float, default=120, help="time cap of the measured load, seconds")
    parser.add_argument("--warmup", type=int, default=200, help="unmeasured requests first")
    parser.add_argument("--cold-runs", type=int, default=3, help="cold start repetitions (0 skips)")
    parser.add_argument("--skip-postgres", action="store_true", help="only the cold start")
    parser.add_argument("--profile", action="store_true", help="py-spy the server during the measured load")
    args = parser.parse_args(argv)
    print(
        f"Portrait benchmark on {platform.node()}: {os.cpu_count()} CPUs, Python {platform.python_version()}"
    )
    with tempfile.TemporaryDirectory(prefix="portrait-bench-") as tmp:
        work = Path(tmp)
        if not args.skip_postgres:
            bench_postgres(args, work)
        if args.cold_runs:
            bench_cold_start(args, work)
    return 0


if __name__ == "__main__":
    sys.exit(main())
