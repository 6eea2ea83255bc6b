"""Benchmark: verifications per second for partners' verification paths.

    .venv/bin/python tests/bench/bench_verify.py [--seconds 3] [--requests 2000] [--skip-in-process]

Prints figures (nothing asserted; pytest does not collect it). Parts 1 to 3 run in one process, one
thread; the credential is a realistic Portrait badge issued by *another* issuer: did:web DID document and
Bitstring status list on a real local HTTP server (127.0.0.1, allowed by the outbound settings).

1. library: ``verify_with_fetcher`` with the documents already fetched (an in-memory fetcher): the
   verifier's own cost (schema, safe-mode JSON-LD + RDFC-1.0 or JWS, issuer, validity, status list
   proof + bit);
2. API: ``POST /api/v1/verify`` through the ASGI app (httpx in-process), the guarded fetcher's cache
   warm (the steady state: one remote fetch per document per ``verify.cache_ttl_seconds``);
3. API, cache off: every verification fetches the DID document and the status list over HTTP.

Each for eddsa-rdfc-2022 (Data Integrity) and VC-JWT (EdDSA, ES256, RS256).

4. The real server: ``portrait demo`` into a fresh SQLite var dir, then ``portrait serve`` (one process) on
   a free port, and ``POST /api/v1/verify`` over keep-alive HTTP/1.1 connections (1 and 8 in flight):
   the demo district's *own* credentials (eddsa-rdfc-2022 and VC-JWT RS256, as stored when issued,
   cycled), then the third-party credential of parts 1 to 3 (EdDSA; fetch cache warm). Printed:
   verifications/s, p50, p99, the server's CPU per verification. Two rows per form: ``memo warm`` (the
   default: these credentials were verified before, so schema and signatures come from the
   verification memo; status, dates and keys are still checked) and ``memo off``
   (``PORTRAIT_VERIFY__MEMO_ENTRIES=0``: the schema, the signature and, for a VC-JWT, JSON-LD safe
   mode are checked every time; a Data Integrity credential's canonical N-Quads may still come from
   the canonicalization cache of service.credentials.linked_data). The load generator shares the
   machine's cores with the server.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

import httpx
from pydantic import SecretStr

from service.app import create_app
from service.config import OutboundSettings, Settings, VerifySettings
from service.credentials import BitstringStatusListEntry, IssuerKey, Signer, build_did_document, issue
from service.credentials.keys import generate_private_key
from service.credentials.remote import verify_with_fetcher
from tests.credentials.conftest import sample_credential
from tests.verification.conftest import make_remote_issuer
from tests.verification.docserver import running_doc_server


async def rate(label: str, action: Callable[[], Awaitable[Any]], seconds: float) -> float:
    await action()  # warm up: contexts, schemas, caches
    count = 0
    started = time.perf_counter()
    deadline = started + seconds
    while time.perf_counter() < deadline:
        await action()
        count += 1
    elapsed = time.perf_counter() - started
    per_second = count / elapsed
    print(f"  {label:<52} {per_second:>9.1f} /s   ({elapsed / count * 1000:.2f} ms each)")
    return per_second


def settings_for(host: str, cache_ttl: float, var_dir: str) -> Settings:
    return Settings(
        var_dir=Path(var_dir),
        database_url=f"sqlite+aiosqlite:///{var_dir}/unused.db",
        token_secret=SecretStr("t" * 48),
        key_encryption_key=SecretStr("k" * 48),
        auto_migrate=False,
        verify=VerifySettings(
            rate_limit_per_minute=100_000,
            rate_limit_burst=100_000,
            did_web_http_hosts=[host],
            cache_ttl_seconds=cache_ttl,
        ),
        outbound=OutboundSettings(allowed_hosts=["127.0.0.1"]),
    )


async def main(seconds: float, requests: int, in_process: bool) -> None:
    print(
        f"bench_verify: python {sys.version.split()[0]}, {os.cpu_count()} cpu(s), "
        f"{seconds:.0f} s per figure, load average {' '.join(f'{x:.2f}' for x in os.getloadavg())}"
    )
    with running_doc_server() as server, tempfile.TemporaryDirectory() as var_dir:
        issuer = make_remote_issuer(server, "bench")
        # The same issuer DID with extra P-256 and RSA keys for the JWT variants.
        p256, rsa_key = generate_private_key("P-256"), generate_private_key("RSA")
        document = build_did_document(
            issuer.did,
            [
                IssuerKey("key-1", issuer.key.public_key()),
                IssuerKey("key-2", p256.public_key()),
                IssuerKey("key-3", rsa_key.public_key()),
            ],
        )
        server.publish("/issuers/bench/did.json", document)
        status = BitstringStatusListEntry(issuer.list_url, 94567)
        credential = sample_credential(issuer.did, credential_status=status)
        samples: dict[str, Any] = {
            "eddsa-rdfc-2022": issue(credential, issuer.signer),
            "VC-JWT EdDSA": issue(credential, issuer.signer, proof_format="vc-jwt"),
            "VC-JWT ES256": issue(credential, Signer(f"{issuer.did}#key-2", p256), proof_format="vc-jwt"),
            "VC-JWT RS256": issue(credential, Signer(f"{issuer.did}#key-3", rsa_key), proof_format="vc-jwt"),
        }
        documents = {
            f"{server.url}/issuers/bench/did.json": json.dumps(document),
            issuer.list_url: json.dumps(issuer.publish_status_list()),
        }

        async def memory_fetch(url: str) -> str:
            return documents[url]

        def scheme(_host: str) -> str:
            return "http"

        if not in_process:
            await asyncio.to_thread(bench_server, server, samples["eddsa-rdfc-2022"], requests)
            return
        print("1. library, documents in memory (verify_with_fetcher)")
        for name, sample in samples.items():

            async def verify_lib(sample: Any = sample) -> None:
                result = await verify_with_fetcher(sample, fetch=memory_fetch, did_web_scheme=scheme)
                assert result.verified, result.to_json()

            await rate(name, verify_lib, seconds)

        for title, ttl in (
            ("2. POST /api/v1/verify, fetch cache warm", 60.0),
            ("3. POST /api/v1/verify, no cache (2 HTTP fetches each)", 0.0),
        ):
            print(title)
            app = create_app(settings_for(server.host, ttl, var_dir))
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://bench") as client:
                for name, sample in samples.items():

                    async def verify_api(sample: Any = sample) -> None:
                        if isinstance(sample, str):
                            response = await client.post(
                                "/api/v1/verify", content=sample, headers={"content-type": "text/plain"}
                            )
                        else:
                            response = await client.post("/api/v1/verify", json=sample)
                        assert response.status_code == 200 and response.json()["verified"], response.text

                    await rate(name, verify_api, seconds)
        await asyncio.to_thread(bench_server, server, samples["eddsa-rdfc-2022"], requests)


# --- 4. the real server -------------------------------------------------------------------------------


async def _post(
    reader: asyncio.StreamReader, writer: asyncio.StreamWriter, request: bytes
) -> tuple[int, bytes]:
    writer.write(request)
    head = await reader.readuntil(b"\r\n\r\n")
    length = 0
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value)
    return int(head[9:12]), await reader.readexactly(length)


def verify_request(port: int, body: bytes, media: str) -> bytes:
    head = (
        f"POST /api/v1/verify HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nContent-Type: {media}\r\n"
        f"Content-Length: {len(body)}\r\n\r\n"
    )
    return head.encode() + body


async def load(
    port: int, requests: list[bytes], total: int, concurrency: int
) -> tuple[list[float], dict[str, int], float]:
    """``concurrency`` keep-alive connections, one request in flight each (a minimal client: the load
    generator shares the cores with the server). Only a 200 answer with ``"verified":true`` counts."""
    latencies: list[float] = []
    errors: dict[str, int] = {}
    sent = 0

    async def worker() -> None:
        nonlocal sent
        reader, writer = await asyncio.open_connection("127.0.0.1", port, limit=1 << 22)
        try:
            while sent < total:
                request = requests[sent % len(requests)]
                sent += 1
                started = time.perf_counter()
                code, answer = await _post(reader, writer, request)
                elapsed = time.perf_counter() - started
                if code == 200 and b'"verified":true' in answer:
                    latencies.append(elapsed)
                else:
                    key = f"{code}: {answer[:160]!r}"
                    errors[key] = errors.get(key, 0) + 1
        finally:
            writer.close()

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return latencies, errors, time.perf_counter() - started


#: ``portrait serve --workers`` for part 4 (set from the command line).
WORKERS = 1


def measure(label: str, port: int, pid: int, requests: list[bytes], total: int) -> None:
    from tests.bench.bench_api import cpu_seconds, percentile

    asyncio.run(
        load(port, requests, min(total, max(50, len(requests) * 2)), 8)
    )  # warm: every credential once

    def tree_cpu() -> float:  # the server and, with --workers, its worker processes
        children = Path(f"/proc/{pid}/task/{pid}/children")
        kids = children.read_text().split() if children.exists() else []
        return cpu_seconds(pid) + sum(cpu_seconds(int(kid)) for kid in kids)

    for concurrency in (1, 8, 16) if WORKERS > 1 else (1, 8):
        cpu = tree_cpu()
        latencies, errors, wall = asyncio.run(load(port, requests, total, concurrency))
        cpu = tree_cpu() - cpu
        values = sorted(latencies)
        if label == "own eddsa-rdfc-2022, memo warm" and concurrency == 16:
            from tests.bench import headlines

            headlines.record("verify.own_eddsa_per_s", len(values) / wall, "verifications/s")
        print(
            f"  {label:<48} {concurrency} in flight: {len(values) / wall:7.1f} /s  "
            f"p50 {percentile(values, 50) * 1000:6.2f} ms  p99 {percentile(values, 99) * 1000:7.2f} ms  "
            f"server CPU {cpu / max(1, len(values)) * 1000:5.2f} ms/verification  errors {errors or 'none'}"
        )


def bench_server(server: Any, third_party: Any, requests: int) -> None:
    """Part 4 (in a thread of its own: it runs its own event loops)."""
    import sqlite3
    import subprocess

    from tests.bench.bench_api import free_port, portrait, portrait_env, stop, wait_healthy

    print(f"4. portrait serve ({WORKERS} process(es), SQLite, demo district), POST /api/v1/verify over HTTP")
    with tempfile.TemporaryDirectory(prefix="portrait-verify-") as tmp:
        work = Path(tmp)
        port = free_port()
        base = f"http://127.0.0.1:{port}"
        env = portrait_env(work / "var", None, base)
        print(f"  demo load {portrait(['demo'], env, work):.1f} s")
        with sqlite3.connect(work / "var" / "portrait.db") as db:
            rows = db.execute(
                "SELECT document, jwt FROM issued_credentials WHERE achievement_id IS NOT NULL"
            ).fetchall()
        own = {
            "own eddsa-rdfc-2022": [
                verify_request(port, doc.encode(), "application/json") for doc, _ in rows
            ],
            # The VC-JWT form is signed on its first request (then stored): fetched once the server runs.
            "own VC-JWT RS256": [verify_request(port, jwt.encode(), "text/plain") for _, jwt in rows if jwt],
            "third-party eddsa (fetch cache warm)": [
                verify_request(port, json.dumps(third_party).encode(), "application/json")
            ],
        }
        print(f"  {len(rows)} own credentials, cycled; load average {os.getloadavg()[0]:.2f}")
        env.update(
            {
                "PORTRAIT_VERIFY__RATE_LIMIT_PER_MINUTE": "100000",
                "PORTRAIT_VERIFY__RATE_LIMIT_BURST": "100000",
                "PORTRAIT_VERIFY__DID_WEB_HTTP_HOSTS": json.dumps([server.host]),
                "PORTRAIT_OUTBOUND__ALLOWED_HOSTS": json.dumps(["127.0.0.1"]),
            }
        )
        for memo, entries in (("memo warm", "4096"), ("memo off", "0")):
            env["PORTRAIT_VERIFY__MEMO_ENTRIES"] = entries
            process = subprocess.Popen(  # noqa: S603 - our own console script
                [
                    str(Path(sys.executable).parent / "portrait"),
                    "serve",
                    "--host",
                    "127.0.0.1",
                    "--port",
                    str(port),
                    *(["--workers", str(WORKERS)] if WORKERS > 1 else []),
                ],
                env=env,
                cwd=work,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=(work / "server.log").open("ab"),
            )
            try:
                wait_healthy(base, process, timeout=300)
                if not own["own VC-JWT RS256"]:
                    own["own VC-JWT RS256"] = [
                        verify_request(
                            port, httpx.get(json.loads(doc)["id"] + ".jwt").text.encode(), "text/plain"
                        )
                        for doc, _ in rows
                    ]
                for label, prepared in own.items():
                    measure(f"{label}, {memo}", port, process.pid, prepared, requests)
            finally:
                stop(process)
        print(f"  load average after: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=3.0)
    parser.add_argument("--requests", type=int, default=2000, help="verifications per server figure")
    parser.add_argument("--skip-in-process", action="store_true", help="only part 4, the real server")
    parser.add_argument("--workers", type=int, default=1, help="part 4: portrait serve --workers N")
    args = parser.parse_args()
    WORKERS = args.workers
    asyncio.run(main(args.seconds, args.requests, not args.skip_in_process))
