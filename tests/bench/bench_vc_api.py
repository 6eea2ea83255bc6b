"""Benchmark: VC-API issuance over HTTP, Portrait side by side with a Digital Bazaar JavaScript issuer.

    .venv/bin/python tests/bench/bench_vc_api.py [--requests 400] [--workers 1] [--skip-js] [--profile]

A script that prints figures (nothing asserted; pytest does not collect it).

1. Portrait: a fresh SQLite var dir, ``portrait demo`` (the demo's own jobs finish there), then the real
   server (``portrait serve``) on a free port; a token for the demo client; then
   ``POST /vc-api/issuers/demo/credentials/issue`` with the OB 3.0 test-vector credential
   (tests/conformance, its ``issuer`` left out so the district's did:web fills it), eddsa-rdfc-2022.
2. JavaScript: the same script installs (npm registry, ``npm ci``-like, into tests/bench/node/) Digital
   Bazaar's ``@digitalbazaar/vc``, ``@digitalbazaar/data-integrity``,
   ``@digitalbazaar/eddsa-rdfc-2022-cryptosuite`` and ``@digitalbazaar/ed25519-multikey``, and runs
   ``tests/bench/node/vc_api_issuer.mjs``: a small VC-API issuer (one Node process, node:http, contexts
   served from memory) that signs the same credential with an Ed25519 Multikey.
3. For each: 1 request in flight and 16 in flight (one keep-alive HTTP connection per client), prints
   credentials/s, p50, p90, p99 and the server's CPU per request; every answer is checked to carry a
   proof (an error counts as an error, not as a sample). The load generator is a minimal keep-alive
   HTTP/1.1 client on asyncio streams, so that its own CPU use stays small next to the servers'.

``--database-url postgresql+asyncpg://...`` runs Portrait on PostgreSQL (that database's public schema
is reset); ``--status`` asks for ``options.credentialStatus`` so that every credential gets a status list
index and is stored (the path that writes). ``--profile`` runs py-spy (``record``, raw stacks under
var/bench/) on the Portrait server
during the 16-in-flight phase. ``--workers N`` passes ``--workers`` to ``portrait serve``.
Client and servers share the machine: the figures include the load generator's CPU.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from service.credentials.contexts import PINNED_CONTEXTS, default_registry
from tests.bench import headlines
from tests.bench.bench_api import (
    cpu_seconds,
    free_port,
    percentile,
    portrait,
    portrait_env,
    reset_database,
    stop,
    wait_healthy,
)

ROOT = Path(__file__).resolve().parents[2]
NODE_DIR = Path(__file__).resolve().parent / "node"
VECTOR = ROOT / "tests/conformance/openbadges/examples/ob3_testvector_unsigned_credential.json"


def credential() -> dict[str, Any]:
    document = json.loads(VECTOR.read_text())
    document.pop("issuer", None)
    # A different subject in every request (the load generator writes a counter over the zeros), so
    # that no server can answer from a cache of identical documents: every credential is new.
    document["credentialSubject"]["id"] = f"did:example:learner-{PLACEHOLDER.decode()}"
    return document


PLACEHOLDER = b"000000000000"
#: ``--status``: every credential gets a revocation entry and is stored (the VC-API path that writes).
STATUS_OPTION = {"options": {"credentialStatus": {"type": "BitstringStatusListEntry"}}}
SUBJECTS = itertools.count(time.time_ns() % 10**11)  # distinct across phases and runs


async def _post(
    reader: asyncio.StreamReader, writer: asyncio.StreamWriter, request: bytes
) -> tuple[int, bytes]:
    writer.write(request)
    head = await reader.readuntil(b"\r\n\r\n")
    status = int(head[9:12])
    length = 0
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value)
    return status, await reader.readexactly(length)


async def load(
    url: str, body: dict[str, Any], headers: dict[str, str], *, total: int, concurrency: int
) -> tuple[list[float], dict[str, int], float]:
    """``concurrency`` keep-alive HTTP/1.1 connections, each with one request in flight at a time.

    A minimal client (pre-built request bytes, Content-Length framing) rather than httpx: the load
    generator shares the machine's two cores with the server and must cost little per request."""
    parsed = httpx.URL(url)
    payload = json.dumps(body).encode()
    lines = [
        f"POST {parsed.raw_path.decode()} HTTP/1.1",
        f"Host: {parsed.host}:{parsed.port}",
        "Content-Type: application/json",
        f"Content-Length: {len(payload)}",
        *(f"{k}: {v}" for k, v in headers.items()),
    ]
    request = ("\r\n".join(lines) + "\r\n\r\n").encode() + payload
    cut = request.index(PLACEHOLDER)
    before, after = request[:cut], request[cut + len(PLACEHOLDER) :]
    latencies: list[float] = []
    errors: dict[str, int] = {}
    issued = 0

    async def worker() -> None:
        nonlocal issued
        reader, writer = await asyncio.open_connection(parsed.host, parsed.port, limit=1 << 22)
        try:
            while issued < total:
                issued += 1
                unique = before + f"{next(SUBJECTS):012d}".encode() + after
                started = time.perf_counter()
                try:
                    code, answer = await _post(reader, writer, unique)
                    ok = code == 201 and b'"proof"' in answer
                    status = "ok" if ok else f"{code}: {answer[:200]!r}"
                except (OSError, asyncio.IncompleteReadError) as exc:
                    status = type(exc).__name__
                    writer.close()
                    reader, writer = await asyncio.open_connection(parsed.host, parsed.port, limit=1 << 22)
                elapsed = time.perf_counter() - started
                if status == "ok":
                    latencies.append(elapsed)
                else:
                    errors[status] = errors.get(status, 0) + 1
        finally:
            writer.close()

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return latencies, errors, time.perf_counter() - started


def measure(
    label: str,
    url: str,
    body: dict[str, Any],
    headers: dict[str, str],
    pid: int,
    requests: int,
    results: dict[tuple[str, int], dict[str, float]],
    *,
    profile: Path | None = None,
) -> None:
    for concurrency in (1, 16):
        asyncio.run(load(url, body, headers, total=max(20, requests // 10), concurrency=concurrency))
        spy = None
        if (
            profile is not None
            and concurrency == 16
            and shutil.which("py-spy", path=Path(sys.executable).parent)
        ):
            spy = subprocess.Popen(  # noqa: S603
                [
                    str(Path(sys.executable).parent / "py-spy"),
                    "record",
                    "--pid",
                    str(pid),
                    "--rate",
                    "200",
                    "--format",
                    "raw",
                    "--output",
                    str(profile),
                    "--nonblocking",
                    "--subprocesses",  # the signing pool's workers too
                ],
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
            time.sleep(1)  # py-spy attaching, before the load starts
        cpu, pool_cpu = cpu_seconds(pid), _children_cpu(pid)
        latencies, errors, wall = asyncio.run(
            load(url, body, headers, total=requests, concurrency=concurrency)
        )
        cpu, pool_cpu = cpu_seconds(pid) - cpu, _children_cpu(pid) - pool_cpu
        if spy is not None:
            spy.send_signal(2)
            spy.wait(timeout=60)
            print(f"  py-spy profile written to {profile}")
        values = sorted(latencies)
        row = {
            "rate": len(values) / wall,
            "p50": percentile(values, 50) * 1000,
            "p90": percentile(values, 90) * 1000,
            "p99": percentile(values, 99) * 1000,
            "mean": statistics.fmean(values) * 1000 if values else float("nan"),
            "cpu": cpu / max(1, len(values)) * 1000,
            "pool_cpu": pool_cpu / max(1, len(values)) * 1000,
        }
        results[(label, concurrency)] = row
        print(
            f"  {label:<26} {concurrency:>2} in flight: {row['rate']:7.1f} credentials/s  "
            f"p50 {row['p50']:7.1f} ms  p90 {row['p90']:7.1f} ms  p99 {row['p99']:7.1f} ms  "
            f"server CPU {row['cpu']:5.2f} ms/credential  errors {errors or 'none'}"
            + (f"  child processes' CPU {row['pool_cpu']:5.2f} ms/credential" if row["pool_cpu"] else "")
        )


def _children_cpu(pid: int) -> float:
    """CPU seconds of a process's descendants still running (Portrait's signing pool; Node has none)."""
    total, todo, seen = 0.0, [pid], set()
    while todo:
        parent = todo.pop()
        for task in Path(f"/proc/{parent}/task").glob("*/children"):
            try:
                kids = [int(k) for k in task.read_text().split()]
            except OSError:
                continue
            for kid in kids:
                if kid not in seen:
                    seen.add(kid)
                    todo.append(kid)
                    total += cpu_seconds(kid)
    return total


def bench_portrait(
    args: argparse.Namespace, work: Path, results: dict[tuple[str, int], dict[str, float]]
) -> None:
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    env = portrait_env(work / "var", args.database_url, base)
    if args.database_url:
        asyncio.run(reset_database(args.database_url))
    backend = "PostgreSQL" if args.database_url else "SQLite"
    stored = ", options.credentialStatus: stored, revocable" if args.status else ""
    print(f"Portrait ({backend}, portrait serve --workers {args.workers}{stored}):")
    print(f"  demo load      {portrait(['demo'], env, work):.2f}s")
    client = json.loads((work / "var" / "demo-client.json").read_text())
    server = subprocess.Popen(  # noqa: S603 - our own console script
        [
            str(Path(sys.executable).parent / "portrait"),
            "serve",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--workers",
            str(args.workers),
        ],
        env=env,
        cwd=work,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=(work / "server.log").open("wb"),
    )
    try:
        wait_healthy(base, server, timeout=300)  # a loaded machine imports slowly
        with httpx.Client(base_url=base, timeout=10) as http:
            response = http.post(
                "/oauth/token",
                data={"grant_type": "client_credentials"},
                auth=(client["client_id"], client["client_secret"]),
            )
            response.raise_for_status()
            token = response.json()["access_token"]
        headers = {"Authorization": f"Bearer {token}"}
        profile = None
        if args.profile:
            (ROOT / "var/bench").mkdir(parents=True, exist_ok=True)
            suffix = ("-pg" if args.database_url else "") + ("-status" if args.status else "")
            profile = ROOT / f"var/bench/vc_api_issue{suffix}.pyspy.txt"
        measure(
            "Portrait",
            f"{base}/vc-api/issuers/demo/credentials/issue",
            {"credential": credential(), **STATUS_OPTION} if args.status else {"credential": credential()},
            headers,
            server.pid,
            args.requests,
            results,
            profile=profile,
        )
        if args.workers > 1:
            print("  (server CPU counts the supervisor process only with --workers > 1)")
    finally:
        stop(server)


def install_node() -> None:
    if (NODE_DIR / "node_modules/@digitalbazaar/vc").is_dir():
        return
    print("  npm install (tests/bench/node, from the npm registry) ...")
    subprocess.run(  # noqa: S603
        ["npm", "ci", "--no-audit", "--no-fund", "--loglevel=error"]
        if (NODE_DIR / "package-lock.json").is_file()
        else ["npm", "install", "--no-audit", "--no-fund", "--loglevel=error"],
        cwd=NODE_DIR,
        check=True,
    )


def bench_js(args: argparse.Namespace, work: Path, results: dict[tuple[str, int], dict[str, float]]) -> None:
    print("Digital Bazaar JS issuer (one Node process):")
    install_node()
    registry = default_registry()
    contexts = {url: registry.document_loader(url)["document"] for url in PINNED_CONTEXTS}
    (work / "contexts.json").write_text(json.dumps(contexts))
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    server = subprocess.Popen(  # noqa: S603
        ["node", str(NODE_DIR / "vc_api_issuer.mjs"), str(port), str(work / "contexts.json")],  # noqa: S607
        cwd=NODE_DIR,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=(work / "node.log").open("wb"),
    )
    try:
        wait_healthy(base, server)
        measure(
            "Digital Bazaar JS",
            f"{base}/credentials/issue",
            {"credential": credential()},
            {},
            server.pid,
            args.requests,
            results,
        )
    finally:
        stop(server)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--requests", type=int, default=400, help="measured requests per phase")
    parser.add_argument("--workers", type=int, default=1, help="portrait serve --workers")
    parser.add_argument("--skip-js", action="store_true", help="only Portrait")
    parser.add_argument("--skip-portrait", action="store_true", help="only the JS issuer")
    parser.add_argument("--profile", action="store_true", help="py-spy the Portrait server (16 in flight)")
    parser.add_argument(
        "--database-url", default=None, help="PostgreSQL URL for Portrait (its public schema is reset)"
    )
    parser.add_argument(
        "--status", action="store_true", help="options.credentialStatus: each credential is stored, revocable"
    )
    args = parser.parse_args(argv)
    print(f"VC-API issuance on {platform.node()}: {os.cpu_count()} CPUs, Python {platform.python_version()}")
    results: dict[tuple[str, int], dict[str, float]] = {}
    with tempfile.TemporaryDirectory(prefix="portrait-vcapi-") as tmp:
        work = Path(tmp)
        if not args.skip_js:
            bench_js(args, work, results)
        if not args.skip_portrait:
            bench_portrait(args, work, results)
    ours, theirs = results.get(("Portrait", 16)), results.get(("Digital Bazaar JS", 16))
    if ours and theirs:
        headlines.record("vc_api.js_per_s", theirs["rate"], "credentials/s")
        headlines.record("vc_api.portrait_per_s", ours["rate"], "credentials/s")
        headlines.record("vc_api.ratio", ours["rate"] / theirs["rate"], "ratio")
        headlines.record("vc_api.p99_over_p50", ours["p99"] / ours["p50"], "ratio")
        print(
            f"16 in flight: Portrait {ours['rate'] / theirs['rate']:.1f}x the JS issuer's throughput; "
            f"Portrait p99/p50 = {ours['p99'] / ours['p50']:.1f}, "
            f"JS p99/p50 = {theirs['p99'] / theirs['p50']:.1f}"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
