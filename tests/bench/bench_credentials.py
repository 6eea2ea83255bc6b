"""Benchmark: signing and verifying credentials, and what the JSON-LD context caches buy.

    .venv/bin/python tests/bench/bench_credentials.py [--seconds 2]

A script that prints figures (nothing asserted; pytest does not collect it), single thread, in memory
(no database: see the issuance benchmarks for stored credentials). The credential is a realistic Portrait
badge: rubric scale with four levels, achieved level, CASE alignment, evidence, two hashed identifiers,
Bitstring status entry, credentialSchema.

Figures:
* RDFC-1.0 canonicalization of that credential with plain pyld behaviour (contexts re-resolved and
  re-processed on every call) versus the library's context caches, and the ratio; same for expansion;
* eddsa-rdfc-2022 signatures/s (document already built) and full issuance/s (build + JSON Schema +
  safe-mode check + sign), with and without the caches;
* VC-JWT signatures/s for RS256, ES256 and EdDSA;
* verifications/s for each format (schema + proof + issuer + validity + status with a preloaded list).
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from service.credentials import (
    Bitstring,
    ContextRegistry,
    StatusResult,
    build_credential,
    build_status_list_credential,
    canonicalize,
    check_status,
    expand,
    issue,
    sign_data_integrity,
    sign_vc_jwt,
    verify_credential,
)
from tests.credentials.conftest import PUBLIC_URL, make_issuer, sample_credential

NOW = datetime(2025, 6, 1, tzinfo=UTC)


def rate(label: str, action: Callable[[], Any], seconds: float, unit: str = "/s") -> float:
    action()  # warm up (first call loads contexts and schemas)
    count = 0
    started = time.perf_counter()
    deadline = started + seconds
    while time.perf_counter() < deadline:
        action()
        count += 1
    elapsed = time.perf_counter() - started
    per_second = count / elapsed
    print(f"  {label:<58} {per_second:>9.1f} {unit}   ({elapsed / count * 1000:.2f} ms each)")
    return per_second


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--seconds", type=float, default=2.0, help="time per measurement (default 2)")
    seconds = parser.parse_args().seconds

    issuer = make_issuer()
    credential = sample_credential(issuer.did)
    document = build_credential(credential)
    status_list = build_status_list_credential(
        credential_id=f"{PUBLIC_URL}/status-lists/1", issuer=issuer.did, bitstring=Bitstring(), valid_from=NOW
    )

    def checker(entry: Any) -> StatusResult:
        return check_status(entry, status_list)

    quads = len(canonicalize(document).splitlines())
    print(f"Credential: {len(str(document))} characters of JSON, {quads} quads")

    print("\nJSON-LD (safe mode), plain pyld vs the library's context caches:")
    plain_c = rate("canonicalize, plain pyld", lambda: canonicalize(document, memoize=False), seconds)
    cached_c = rate("canonicalize, cached contexts", lambda: canonicalize(document), seconds)
    plain_e = rate("expand, plain pyld", lambda: expand(document, memoize=False), seconds)
    cached_e = rate("expand, cached contexts", lambda: expand(document), seconds)
    assert canonicalize(document, memoize=False) == canonicalize(document)
    print(f"  speed-up: canonicalize x{cached_c / plain_c:.1f}, expand x{cached_e / plain_e:.1f}")

    print("\neddsa-rdfc-2022 (Ed25519):")
    plain = ContextRegistry(cache=False)
    plain_s = rate(
        "signatures, plain pyld",
        lambda: sign_data_integrity(document, issuer.signer(), registry=plain),
        seconds,
    )
    plain_i = rate(
        "issuance (build+schema+safe mode+sign), plain pyld",
        lambda: issue(credential, issuer.signer(), registry=plain),
        seconds,
    )
    cached_s = rate(
        "signatures, cached contexts", lambda: sign_data_integrity(document, issuer.signer()), seconds
    )
    cached_i = rate(
        "issuance (build+schema+safe mode+sign), cached", lambda: issue(credential, issuer.signer()), seconds
    )
    print(f"  speed-up: signatures x{cached_s / plain_s:.1f}, issuance x{cached_i / plain_i:.1f}")
    signed = sign_data_integrity(document, issuer.signer())
    rate(
        "verifications",
        lambda: verify_credential(signed, resolve_key=issuer.resolve, now=NOW, status_checker=checker),
        seconds,
    )

    for kind, alg in (("RSA", "RS256"), ("P-256", "ES256"), ("Ed25519", "EdDSA")):
        print(f"\nVC-JWT {alg}:")
        signer = issuer.signer(kind)
        rate("signatures", lambda signer=signer: sign_vc_jwt(document, signer), seconds)
        rate(
            "issuance (build+schema+safe mode+sign)",
            lambda signer=signer: issue(credential, signer, proof_format="vc-jwt"),
            seconds,
        )
        rate(
            "issuance (build+schema+sign, check_json_ld=False)",
            lambda signer=signer: issue(credential, signer, proof_format="vc-jwt", check_json_ld=False),
            seconds,
        )
        token = sign_vc_jwt(document, signer)
        rate(
            "verifications",
            lambda token=token: verify_credential(
                token, resolve_key=issuer.resolve, now=NOW, status_checker=checker
            ),
            seconds,
        )


if __name__ == "__main__":
    main()
