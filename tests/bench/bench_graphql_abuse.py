"""Benchmark: /health and authenticated REST latency while one anonymous client sends the costliest
GraphQL documents the budgets allow (issue 11).

    .venv/bin/python tests/bench/bench_graphql_abuse.py [--seconds 20] [--streams 4]

A script that prints figures, not a test; nothing is asserted.

1. ``portrait demo`` on a fresh SQLite var dir, then the real server (``portrait serve``, one worker).
2. Baseline: for ``--seconds``, one probe loop asks ``GET /health`` and another an authenticated
   ``GET /api/v1/learners?limit=20``, one request at a time each, and their latencies are recorded.
3. Attack: the same probes while one anonymous client (``--streams`` connections from the same IP, in
   a process of its own so that its client-side work does not delay the probes' event loop) sends, in
   turn, documents that stay within every budget: the standard introspection query and 20 aliased
   schema walks, each both as the same text every time (answered from the introspection cache) and as
   a new text every time (a comment with a counter: never cached, so charged and executed), and 20
   aliased ``__typename``; plus over-budget forms (the standard query with a second full walk over
   ``limits.max_graphql_cost``, the audit's 500 aliases of ``__schema``, a 1,500-fragment chain),
   which must be refused in milliseconds.
4. Prints p50/p99 of /health and of the REST call in both phases, the server's CPU time per phase,
   and what the attacker got.

Client and server share the machine (2 cores shared with other work), so the figures include the
load generator's own CPU use; the load average is printed with them.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import os
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

import httpx
from graphql import get_introspection_query

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_api import (
    cpu_seconds,
    free_port,
    percentile,
    portrait,
    portrait_env,
    start_server,
    stop,
    wait_healthy,
)

STANDARD = get_introspection_query(descriptions=True)
WALKS = (
    "{ "
    + " ".join(f"a{i}: __schema {{ types {{ name fields {{ name type {{ name }} }} }} }}" for i in range(20))
    + " }"
)
#: name -> document; a ``{n}`` in a name means "a new text every time" (a counter in a comment).
WITHIN = {
    "introspection": STANDARD,
    "introspection, new text": STANDARD + "\n# {n}",
    "20 schema walks": WALKS,
    "20 schema walks, new text": WALKS + "\n# {n}",
    "20 __typename": "{ " + " ".join(f"a{i}: __typename" for i in range(20)) + " }",
}
OVER = {
    "introspection x2": STANDARD.replace("__schema {", "a: __schema { types { ...FullType } } __schema {", 1),
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


async def attack(base: str, seconds: float, streams: int) -> tuple[Counter[str], dict[str, list[float]]]:
    stop_at = time.perf_counter() + seconds
    outcomes: Counter[str] = Counter()
    times: dict[str, list[float]] = {}
    documents = [*WITHIN.items(), *OVER.items()]
    counter = itertools.count()

    async def stream(offset: int) -> None:
        async with httpx.AsyncClient(base_url=base, timeout=60) as client:
            i = offset
            while time.perf_counter() < stop_at:
                name, query = documents[i % len(documents)]
                i += 1
                if "{n}" in query and query.endswith("{n}"):
                    query = query[: -len("{n}")] + str(next(counter))
                started = time.perf_counter()
                response = await client.post("/graphql", json={"query": query})
                times.setdefault(name, []).append((time.perf_counter() - started) * 1000)
                outcomes[f"{name}: HTTP {response.status_code}"] += 1

    await asyncio.gather(*(stream(n) for n in range(streams)))
    return outcomes, times


def attacker(base: str, seconds: float, streams: int) -> subprocess.Popen[str]:
    """The attacking client in a process of its own (its results come back as JSON on stdout)."""
    return subprocess.Popen(  # noqa: S603 - this script
        [sys.executable, __file__, "--attack", base, "--seconds", str(seconds), "--streams", str(streams)],
        stdout=subprocess.PIPE,
        text=True,
    )


async def phase(base: str, token: str, seconds: float, streams: int) -> dict[str, object]:
    attacking = attacker(base, seconds, streams) if streams else None
    stop_at = time.perf_counter() + seconds
    auth = {"Authorization": f"Bearer {token}"}
    async with (
        httpx.AsyncClient(base_url=base, timeout=60) as health,
        httpx.AsyncClient(base_url=base, timeout=60) as rest,
    ):
        health_times, rest_times = await asyncio.gather(
            probe(health, "/health", {}, stop_at),
            probe(rest, "/api/v1/learners?limit=20", auth, stop_at),
        )
    outcomes: dict[str, int] = {}
    attack_times: dict[str, list[float]] = {}
    if attacking is not None:
        out, _ = attacking.communicate(timeout=seconds + 120)
        outcomes, attack_times = json.loads(out)
    return {
        "health": sorted(health_times),
        "rest": sorted(rest_times),
        "outcomes": outcomes,
        "attack": attack_times,
    }


def line(label: str, values: list[float]) -> str:
    p50, p99 = percentile(values, 50), percentile(values, 99)
    return f"  {label:<28} n={len(values):<6} p50 {p50:8.1f} ms   p99 {p99:8.1f} ms"


def load() -> str:
    return "load average " + " ".join(f"{x:.2f}" for x in os.getloadavg())


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--streams", type=int, default=4)
    parser.add_argument("--attack", metavar="BASE_URL", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.attack:
        outcomes, times = asyncio.run(attack(args.attack, args.seconds, args.streams))
        print(json.dumps([outcomes, times]))
        return
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
            for label, streams in (("baseline (no attacker)", 0), ("under attack", args.streams)):
                print(f"{label}, {load()}")
                cpu = cpu_seconds(server.pid)
                result = asyncio.run(phase(base, token, args.seconds, streams))
                cpu = cpu_seconds(server.pid) - cpu
                if streams:
                    print(f"  one anonymous client, {streams} connections, from another process")
                print(line("/health", result["health"]))  # type: ignore[arg-type]
                print(line("GET /api/v1/learners", result["rest"]))  # type: ignore[arg-type]
                share = 100 * cpu / args.seconds
                print(f"  server CPU {cpu:.1f} s in {args.seconds:g} s ({share:.0f}% of a core)")
            print("attacker's documents")
            for name, values in sorted(result["attack"].items()):  # type: ignore[attr-defined]
                print(line(name, sorted(values)))
            for outcome, count in sorted(result["outcomes"].items()):  # type: ignore[attr-defined]
                print(f"  {outcome}: {count}")
            print(f"after: {load()}")
        finally:
            stop(server)


if __name__ == "__main__":
    main()
