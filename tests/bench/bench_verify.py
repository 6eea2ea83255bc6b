"""Benchmark: verifications per second for partners' verification paths.

    .venv/bin/python tests/bench/bench_verify.py [--seconds 3]

Prints figures (nothing asserted; pytest does not collect it), one process, one thread. The credential
is a realistic Portrait badge issued by *another* issuer: did:web DID document and Bitstring status list
on a real local HTTP server (127.0.0.1, allowed by the outbound settings).

1. library: ``verify_with_fetcher`` with the documents already fetched (an in-memory fetcher): the
   verifier's own cost (schema, safe-mode JSON-LD + RDFC-1.0 or JWS, issuer, validity, status list
   proof + bit);
2. API: ``POST /api/v1/verify`` through the ASGI app (httpx in-process), the guarded fetcher's cache
   warm (the steady state: one remote fetch per document per ``verify.cache_ttl_seconds``);
3. API, cache off: every verification fetches the DID document and the status list over HTTP.

Each for eddsa-rdfc-2022 (Data Integrity) and VC-JWT (EdDSA, ES256, RS256).
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


async def main(seconds: float) -> None:
    print(
        f"bench_verify: python {sys.version.split()[0]}, {os.cpu_count()} cpu(s), {seconds:.0f} s per figure"
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


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=3.0)
    asyncio.run(main(parser.parse_args().seconds))
