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
sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
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

from tests.bench import headlines

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


#: (start, end) on ``time.monotonic()``, which is one clock for every process of the machine, so the
#: probes' slow requests can be matched with the attacker's requests in flight at that moment.
Span = tuple[float, float]


async def probe(client: httpx.AsyncClient, url: str, headers: dict[str, str], stop_at: float) -> list[Span]:
    spans: list[Span] = []
    while time.monotonic() < stop_at:
        started = time.monotonic()
        response = await client.get(url, headers=headers)
        spans.append((started, time.monotonic()))
        if response.status_code != 200:
            raise SystemExit(f"{url} answered {response.status_code}: {response.text[:200]}")
    return spans


def ms(spans: list[Span]) -> list[float]:
    return sorted((end - start) * 1000 for start, end in spans)


#: An attacker's request: (start, end, document name, HTTP status).
Sent = tuple[float, float, str, int]


async def attack(base: str, seconds: float, streams: int) -> tuple[Counter[str], list[Sent]]:
    stop_at = time.monotonic() + seconds
    outcomes: Counter[str] = Counter()
    sent: list[Sent] = []
    documents = [*WITHIN.items(), *OVER.items()]
    counter = itertools.count()

    async def stream(offset: int) -> None:
        async with httpx.AsyncClient(base_url=base, timeout=60) as client:
            i = offset
            while time.monotonic() < stop_at:
                name, query = documents[i % len(documents)]
                i += 1
                if "{n}" in query and query.endswith("{n}"):
                    query = query[: -len("{n}")] + str(next(counter))
                started = time.monotonic()
                response = await client.post("/graphql", json={"query": query})
                sent.append((started, time.monotonic(), name, response.status_code))
                outcomes[f"{name}: HTTP {response.status_code}"] += 1

    await asyncio.gather(*(stream(n) for n in range(streams)))
    return outcomes, sent


def attacker(base: str, seconds: float, streams: int) -> subprocess.Popen[str]:
    """The attacking client in a process of its own (its results come back as JSON on stdout)."""
    return subprocess.Popen(  # noqa: S603 - this script
        [sys.executable, __file__, "--attack", base, "--seconds", str(seconds), "--streams", str(streams)],
        stdout=subprocess.PIPE,
        text=True,
    )


async def phase(base: str, token: str, seconds: float, streams: int) -> dict[str, object]:
    attacking = attacker(base, seconds, streams) if streams else None
    if attacking is not None:
        assert attacking.stdout is not None
        attacking.stdout.readline()  # its imports take seconds on a busy machine: not in the window
    stop_at = time.monotonic() + seconds
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
    sent: list[Sent] = []
    if attacking is not None:
        out, _ = attacking.communicate(timeout=seconds + 120)
        outcomes, raw = json.loads(out)
        sent = [tuple(item) for item in raw]  # type: ignore[misc]
    return {"health": health_times, "rest": rest_times, "outcomes": outcomes, "sent": sent}


def in_flight(span: Span, sent: list[Sent]) -> list[Sent]:
    """The attacker's requests that overlapped ``span``."""
    return [s for s in sent if s[0] < span[1] and s[1] > span[0]]


def slow_report(label: str, spans: list[Span], threshold: float, sent: list[Sent], origin: float) -> None:
    """Each probe slower than ``threshold`` ms, with the attacker's requests in flight meanwhile; then,
    per document, how often it was in flight during a slow probe compared with during any probe."""
    slow = [s for s in spans if (s[1] - s[0]) * 1000 > threshold]
    print(f"  {label}: {len(slow)} of {len(spans)} over {threshold:.0f} ms")
    for span in sorted(slow, key=lambda s: s[0] - s[1])[:12]:
        around = in_flight(span, sent)
        what = ", ".join(
            f"{name} {status} {(end - start) * 1000:.0f}ms@{(start - origin):.2f}s"
            for start, end, name, status in around
        )
        print(f"    at {span[0] - origin:6.2f} s: {(span[1] - span[0]) * 1000:6.0f} ms; in flight: {what}")
    if not slow:
        return
    every: Counter[str] = Counter()
    during: Counter[str] = Counter()
    for span in spans:
        names = {f"{n} {st}" for _, _, n, st in in_flight(span, sent)}
        every.update(names)
        if span in slow:
            during.update(names)
    print("    document in flight: share of slow probes / share of all probes")
    for name, count in during.most_common(8):
        print(f"      {name:<42} {count / len(slow):5.0%} / {every[name] / len(spans):5.0%}")


def py_spy(pid: int, seconds: float, work: Path) -> subprocess.Popen[bytes]:
    return subprocess.Popen(  # noqa: S603 - a profiler the caller names
        [
            PY_SPY[0],
            "record",
            "--pid",
            str(pid),
            "--duration",
            str(int(seconds)),
            "--rate",
            "200",
            "--format",
            "raw",
            "--threads",
            "--nonblocking",
            "--output",
            str(work / "spy.txt"),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def spy_report(spy: subprocess.Popen[bytes], work: Path) -> None:
    """The functions the server's threads were in (self and total samples), from py-spy's raw output."""
    spy.wait(timeout=120)
    path = work / "spy.txt"
    if not path.exists():
        print("  py-spy: no output")
        return
    leaf: Counter[str] = Counter()
    frames: Counter[str] = Counter()
    threads: Counter[str] = Counter()
    for row in path.read_text().splitlines():
        stack, _, count = row.rpartition(" ")
        parts = stack.split(";")
        thread, n = parts[0], int(count)
        threads[thread] += n
        leaf[f"{thread[:24]} {parts[-1][:90]}"] += n
        for frame in set(parts[1:]):
            frames[f"{thread[:24]} {frame[:90]}"] += n
    print("py-spy samples per thread:", dict(threads.most_common(6)))
    print("  busiest functions (self):")
    for name, n in leaf.most_common(15):
        print(f"    {n:6d} {name}")
    print("  busiest functions (total):")
    for name, n in frames.most_common(25):
        print(f"    {n:6d} {name}")


def line(label: str, values: list[float]) -> str:
    p50, p99 = percentile(values, 50), percentile(values, 99)
    return f"  {label:<28} n={len(values):<6} p50 {p50:8.1f} ms   p99 {p99:8.1f} ms"


def load() -> str:
    return "load average " + " ".join(f"{x:.2f}" for x in os.getloadavg())


PY_SPY: list[str] = []


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--streams", type=int, default=4)
    parser.add_argument(
        "--py-spy",
        metavar="PATH",
        help="py-spy executable: sample the server's threads during the attack and print the main "
        "thread's busiest functions",
    )
    parser.add_argument("--attack", metavar="BASE_URL", help=argparse.SUPPRESS)
    args = parser.parse_args()
    PY_SPY[:] = [args.py_spy] if args.py_spy else []
    if args.attack:
        print("ready", flush=True)  # imported: the probes start now, and so does the attack
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
                spy = py_spy(server.pid, args.seconds, work) if args.py_spy and streams else None
                origin = time.monotonic()
                result = asyncio.run(phase(base, token, args.seconds, streams))
                cpu = cpu_seconds(server.pid) - cpu
                if streams:
                    print(f"  one anonymous client, {streams} connections, from another process")
                print(line("/health", ms(result["health"])))  # type: ignore[arg-type]
                print(line("GET /api/v1/learners", ms(result["rest"])))  # type: ignore[arg-type]
                share = 100 * cpu / args.seconds
                rest_p99 = percentile(ms(result["rest"]), 99)  # type: ignore[arg-type]
                if streams:
                    health_p99 = percentile(ms(result["health"]), 99)  # type: ignore[arg-type]
                    headlines.record("graphql_abuse.health_p99_ms", health_p99, "ms")
                    headlines.record("graphql_abuse.rest_p99_attack_ms", rest_p99, "ms")
                else:
                    headlines.record("graphql_abuse.rest_p99_baseline_ms", rest_p99, "ms")
                print(f"  server CPU {cpu:.1f} s in {args.seconds:g} s ({share:.0f}% of a core)")
                if not streams:
                    baseline_p99 = percentile(ms(result["rest"]), 99)  # type: ignore[arg-type]
                    continue
                sent: list[Sent] = result["sent"]  # type: ignore[assignment]
                print("attacker's documents")
                by_name: dict[str, list[float]] = {}
                for start, end, name, _ in sent:
                    by_name.setdefault(name, []).append((end - start) * 1000)
                for name, values in sorted(by_name.items()):
                    print(line(name, sorted(values)))
                for outcome, count in sorted(result["outcomes"].items()):  # type: ignore[attr-defined]
                    print(f"  {outcome}: {count}")
                print(f"slow probes under attack (over the baseline's REST p99, {baseline_p99:.0f} ms)")
                slow_report("GET /api/v1/learners", result["rest"], baseline_p99, sent, origin)  # type: ignore[arg-type]
                slow_report("/health", result["health"], 100.0, sent, origin)  # type: ignore[arg-type]
                if spy is not None:
                    spy_report(spy, work)
            print(f"after: {load()}")
        finally:
            stop(server)


if __name__ == "__main__":
    main()
