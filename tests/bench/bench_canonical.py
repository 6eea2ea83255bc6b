"""Benchmark: CPU per credential for RDFC-1.0 canonicalization, eddsa-rdfc-2022 signing and verifying,
over *distinct* credentials (no whole-document memo hits), with an optional cProfile split.

    .venv/bin/python tests/bench/bench_canonical.py [--count 400] [--profile sign|verify|canon]

A script that prints figures (nothing asserted; pytest does not collect it), single thread, in memory.
Figures are CPU seconds of this process (``time.process_time``), so they hold on a loaded machine;
the load average is printed next to them.

Two credential kinds:

* ``service``: badges as the service issues them (service/badges/documents.py), every one with its own
  ids, dates, learner, evidence texts (quotes, line breaks, unicode), a few shapes;
* ``ob3-vector``: the OB 3.0 eddsa-rdfc-2022 test-vector credential with its ``id`` and subject ``id``
  varied.

Rows: ``canonicalize`` (the unsecured document only), ``sign`` (what a signing worker does: canonical
JSON + JSON Schema check, then both canonicalizations, SHA-256 and Ed25519; the proof's ``created`` is
one second for every credential of a run, as for a busy issuer), ``verify`` (``verify_credential``:
schema, data model, proof, issuer, dates, status from a list in memory; no memo).
"""

from __future__ import annotations

import argparse
import copy
import cProfile
import os
import pstats
import random
import sys
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from service.badges import documents
from service.credentials import (
    Bitstring,
    BitstringStatusListEntry,
    ContextRegistry,
    StatusResult,
    build_status_list_credential,
    canonicalize,
    check_status,
    verify_credential,
)
from service.credentials.builder import check_credential, sign_data_integrity
from tests.credentials.conftest import EXAMPLES, load, make_issuer

PUBLIC = "https://portrait.example"
TEXTS = [
    "Good work",
    'Quotes " and \\ backslash',
    "Line\nbreak\tand tab\r",
    "Note: a colon, not a scheme",
    "Ünïcödé ✓ 学",
    "Proficient",
]
NOW = datetime(2026, 6, 1, tzinfo=UTC)


def service_credentials(count: int, did: str, seed: int = 7) -> list[dict[str, Any]]:
    rng = random.Random(seed)
    tenant = uuid.UUID(int=1)
    levels = [
        documents.LevelInfo(id=uuid.UUID(int=200 + p), position=p, title=t, description=f"{t} level")
        for p, t in enumerate(["Beginning", "Developing", "Proficient", "Extending"], start=1)
    ]
    badge = documents.BadgeInfo(
        id=uuid.UUID(int=7),
        name="Collaborator",
        description="Works with others to reach shared goals.",
        criteria="Two pieces of evidence.",
        tags=["team", "portrait"],
        competencies=[
            documents.CompetencyInfo(
                id=uuid.UUID(int=100 + c),
                title=f"Competency {c}",
                statement="Works with others",
                code=f"C.{c}",
                framework_title="Portrait",
                levels=levels,
                achieved_level=levels[2].id,
            )
            for c in range(2)
        ],
    )
    out = []
    for _ in range(count):
        now = datetime(2026, 1, 1, tzinfo=UTC) + timedelta(seconds=rng.randrange(10**7))
        evidence = [
            documents.EvidenceInfo(
                id=uuid.UUID(int=rng.getrandbits(128)),
                source="teacher",
                competency_title=rng.choice(TEXTS),
                level_title="Proficient",
                observed_at=now,
                narrative=rng.choice(TEXTS),
            )
            for _ in range(rng.choice([1, 1, 2]))
        ]
        learner = documents.LearnerInfo(
            id=uuid.UUID(int=rng.getrandbits(128)),
            email=f"kid{rng.randrange(10**6)}@school.example",
            sourced_id=f"sis-{rng.randrange(10**6)}",
        )
        unsigned = documents.build_badge_credential(
            public_url=PUBLIC,
            credential_id=uuid.UUID(int=rng.getrandbits(128)),
            tenant_id=tenant,
            issuer=documents.issuer_profile(PUBLIC, did, "demo", "Demo District"),
            slug="demo",
            badge=badge,
            learner=learner,
            evidence=evidence,
            status=BitstringStatusListEntry(
                status_list_credential=documents.status_list_url(PUBLIC, uuid.UUID(int=3)),
                status_list_index=rng.randrange(131072),
            ),
            valid_from=now,
            awarded_at=now - timedelta(days=rng.randrange(30)),
            fallback_image="data:image/svg+xml;base64,PHN2Zz48L3N2Zz4=",
        )
        out.append(unsigned.to_json())
    return out


def vector_credentials(count: int, did: str) -> list[dict[str, Any]]:
    base = {
        k: v for k, v in load(EXAMPLES / "ob3_testvector_unsigned_credential.json").items() if k != "proof"
    }
    out = []
    for index in range(count):
        doc = copy.deepcopy(base)
        doc["id"] = f"urn:uuid:{uuid.UUID(int=index + 1)}"
        doc["credentialSubject"]["id"] = f"did:example:learner{index}"
        doc["issuer"]["id"] = did
        out.append(doc)
    return out


def cpu_per(label: str, items: list[Any], action: Callable[[Any], Any]) -> float:
    started = time.process_time()
    for item in items:
        action(item)
    per = (time.process_time() - started) / len(items) * 1000
    print(f"  {label:<44} {per:7.3f} ms CPU each   ({1000 / per:8.0f}/s per core)")
    return per


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--count", type=int, default=400, help="credentials per row (default 400)")
    parser.add_argument("--profile", choices=["sign", "verify", "canon"], help="cProfile one row (service)")
    parser.add_argument("--kind", choices=["service", "ob3-vector"], default="service")
    args = parser.parse_args()
    issuer = make_issuer()
    signer = issuer.signer()
    created = datetime(2026, 6, 1, 8, 0, tzinfo=UTC)

    def sign(doc: dict[str, Any]) -> dict[str, Any]:
        check_credential(doc, check_json_ld=False)
        return sign_data_integrity(doc, signer, created=created)

    status_list = build_status_list_credential(
        credential_id=documents.status_list_url(PUBLIC, uuid.UUID(int=3)),
        issuer=issuer.did,
        bitstring=Bitstring(),
        valid_from=NOW - timedelta(days=1),
    )

    def checker(entry: Any) -> StatusResult:
        return check_status(entry, status_list)

    def verify(doc: dict[str, Any]) -> None:
        result = verify_credential(doc, resolve_key=issuer.resolve, now=NOW, status_checker=checker)
        assert result.verified, result

    kinds = {
        "service": lambda n, seed: service_credentials(n, issuer.did, seed),
        "ob3-vector": lambda n, seed: vector_credentials(n, issuer.did),
    }
    if args.profile:
        make = kinds[args.kind]
        warm = make(50, 1)
        for doc in warm:
            sign(doc)
        docs = make(args.count, 2)
        action: Callable[[Any], Any]
        if args.profile == "canon":
            action = canonicalize
        elif args.profile == "sign":
            action = sign
        else:
            docs = [sign(doc) for doc in docs]
            action = verify
        registry_reset()
        profiler = cProfile.Profile(time.process_time)  # CPU time: the machine may be loaded
        started = time.process_time()
        profiler.enable()
        for doc in docs:
            action(doc)
        profiler.disable()
        per = (time.process_time() - started) / len(docs) * 1000
        print(f"{args.profile} ({args.kind}): {per:.3f} ms CPU each under cProfile; load {os.getloadavg()}")
        pstats.Stats(profiler).sort_stats("tottime").print_stats(30)
        pstats.Stats(profiler).sort_stats("cumulative").print_stats(40)
        return

    print(f"load average {os.getloadavg()[0]:.1f} {os.getloadavg()[1]:.1f} {os.getloadavg()[2]:.1f}")
    for kind, make in kinds.items():
        print(f"\n{kind}:")
        for doc in make(50, 1):  # warm: contexts, schemas, the shapes
            sign(doc)
        docs = make(args.count, 2)
        registry_reset()
        cpu_per("canonicalize (unsecured document)", docs, canonicalize)
        registry_reset()
        signed = [sign(doc) for doc in docs[:1]]
        cpu_per("sign (schema check + eddsa-rdfc-2022)", docs, sign)
        signed = [sign(doc) for doc in docs]
        registry_reset()
        cpu_per("verify (verify_credential, no memo)", signed, verify)
        plain = ContextRegistry(cache=False)
        few = docs[: max(5, args.count // 40)]
        cpu_per(
            "canonicalize, plain pyld (no caches)",
            few,
            lambda d, plain=plain: canonicalize(d, registry=plain),
        )
    print(f"\nload average {os.getloadavg()[0]:.1f} {os.getloadavg()[1]:.1f} {os.getloadavg()[2]:.1f}")


def registry_reset() -> None:
    """Forget whole documents' N-Quads (not the shapes): every measured document is new to the memo."""
    from service.credentials.contexts import default_registry

    registry = default_registry()
    registry.canonical_documents = type(registry.canonical_documents)(2048)


if __name__ == "__main__":
    main()
