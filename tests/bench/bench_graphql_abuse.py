"""Benchmark: /health and authenticated REST latency while one anonymous client sends the costliest
GraphQL documents the budgets allow (issue 11).

    .venv/bin/python tests/bench/bench_graphql_abuse.py [--seconds 20] [--streams 4]

A script that prints figures, not a test; nothing is asserted.

1. ``portrait demo`` on a fresh SQLite var dir, then the real server (``portrait serve``, one worker).
2. Baseline: for ``--seconds``, one probe loop asks ``GET /health`` and another an authenticated
   ``GET /api/v1/learners?limit=20``, one request at a time each, and their latencies are recorded.
3. Attack: the same probes while one anonymous client (``--streams`` connections from the same IP)
   sends, in turn, documents that stay within every budget: the standard introspection query with a
   second full schema walk (cost just under ``limits.max_graphql_cost``), 20 aliases of a schema walk,
   and 20 aliased ``__typename`` s; plus the over-budget forms of the audit (500 aliases
   of ``__schema``, a 1,500-fragment chain), which must be refused in milliseconds.
4. Prints p50/p99 of /health and of the REST call in both phases, and what the attacker got.

Client and server share the machine (2 cores shared with other work), so the figures include the
load generator's own CPU use.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

import httpx
from graphql import get_introspection_query

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_api import free_port, percentile, portrait, portrait_env, start_server, stop, wait_healthy

STANDARD = get_introspection_query(descriptions=True)
WITHIN = {
    "introspection x2": STANDARD.replace("__schema {", "a: __schema { types { ...FullType } } __schema {", 1),
    "20 schema walks": "{ "
    + " ".join(f"a{i}: __schema {{ types {{ name fields {{ name type {{ name }} }} }} }}" for i in range(20))
    + " }",
    "20 __typename": "{ " + " ".join(f"a{i}: __typename" for i in range(20)) + " }",
}
OVER = {
    "500 __schema aliases": "{ "
    + " ".join(f"a{i}: __schema {{ types {{ name }} }}" for i in range(500))
    + " }",
    "1,500-fragment chain": "{ ...F0 } "
    + " ".join(f"fragment F{i} on Query {{ ...F{i + 1} }}" for i in range(1500)),
}


async def probe(client: httpx.AsyncClient, url: str, headers: dict[str, str], stop_at: float) -> list[float]:
    times: list[float] = []
    while time.perf_counter() < stop_at:
        started = time.perf_counter()
        response = await client.get(url, headers=headers)
        times.append((time.perf_counter() - started) * 1000)
        if response.status_code != 200:
            raise SystemExit(f"{url} answered {response.status_code}: {response.text[:200]}")
    return times


async def attack(base: str, stop_at: float, streams: int) -> tuple[Counter[str], dict[str, list[float]]]:
    outcomes: Counter[str] = Counter()
    times: dict[str, list[float]] = {}
    documents = [*WITHIN.items(), *OVER.items()]

    async def stream(offset: int) -> None:
        async with httpx.AsyncClient(base_url=base, timeout=60) as client:
            i = offset
            while time.perf_counter() < stop_at:
                name, query = documents[i % len(documents)]
                i += 1
                started = time.perf_counter()
                response = await client.post("/graphql", json={"query": query})
                times.setdefault(name, []).append((time.perf_counter() - started) * 1000)
                outcomes[f"{name}: HTTP {response.status_code}"] += 1

    await asyncio.gather(*(stream(n) for n in range(streams)))
    return outcomes, times


async def phase(base: str, token: str, seconds: float, streams: int) -> dict[str, object]:
    stop_at = time.perf_counter() + seconds
    auth = {"Authorization": f"Bearer {token}"}
    async with (
        httpx.AsyncClient(base_url=base, timeout=60) as health,
        httpx.AsyncClient(base_url=base, timeout=60) as rest,
    ):
        jobs = [
            probe(health, "/health", {}, stop_at),
            probe(rest, "/api/v1/learners?limit=20", auth, stop_at),
        ]
        if streams:
            results = await asyncio.gather(*jobs, attack(base, stop_at, streams))
        else:
            results = [*(await asyncio.gather(*jobs)), (Counter(), {})]
    health_times, rest_times, (outcomes, attack_times) = results
    return {
        "health": sorted(health_times),
        "rest": sorted(rest_times),
        "outcomes": outcomes,
        "attack": attack_times,
    }


def line(label: str, values: list[float]) -> str:
    p50, p99 = percentile(values, 50), percentile(values, 99)
    return f"  {label:<28} n={len(values):<6} p50 {p50:8.1f} ms   p99 {p99:8.1f} ms"


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--streams", type=int, default=4)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="portrait-abuse-") as tmp:
        work = Path(tmp)
        port = free_port()
        base = f"http://127.0.0.1:{port}"
        env = portrait_env(work / "var", None, base)
        portrait(["demo"], env, work)
        client = json.loads((work / "var" / "demo-client.json").read_text())
        server = start_server(env, work, port)
        try:
            wait_healthy(base, server)
            token = httpx.post(
                f"{base}/oauth/token",
                data={"grant_type": "client_credentials"},
                auth=(client["client_id"], client["client_secret"]),
            ).json()["access_token"]
            print(
                f"GraphQL abuse benchmark: SQLite embedded, one uvicorn worker, {args.seconds:g}s per phase"
            )
            baseline = asyncio.run(phase(base, token, args.seconds, 0))
            print("baseline (no attacker)")
            print(line("/health", baseline["health"]))  # type: ignore[arg-type]
            print(line("GET /api/v1/learners", baseline["rest"]))  # type: ignore[arg-type]
            attacked = asyncio.run(phase(base, token, args.seconds, args.streams))
            print(f"under attack (one anonymous client, {args.streams} connections)")
            print(line("/health", attacked["health"]))  # type: ignore[arg-type]
            print(line("GET /api/v1/learners", attacked["rest"]))  # type: ignore[arg-type]
            print("attacker's documents")
            for name, values in sorted(attacked["attack"].items()):  # type: ignore[union-attr]
                print(line(name, sorted(values)))
            for outcome, count in sorted(attacked["outcomes"].items()):  # type: ignore[union-attr]
                print(f"  {outcome}: {count}")
        finally:
            stop(server)


if __name__ == "__main__":
    main()
