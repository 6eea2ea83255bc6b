"""Benchmark: memory and time of a OneRoster CSV bundle import of about 50 MB (uncompressed).

    .venv/bin/python tests/bench/bench_oneroster_csv.py [--database-url URL] [--results 500000]

A script that prints figures (nothing asserted; pytest does not collect it). It writes a 1.1 bundle to a
temporary file, row by row (1 school, 10,000 students, 100 classes and line items, ``--results`` results,
about 100 bytes a row), migrates the database (default: a fresh SQLite file in a temporary directory) and
imports the bundle with ``import_bundle`` from the file, as the upload route does with its spooled body.
It prints the size of the bundle, the import time and this process's peak RSS before and after: files are
parsed as streams out of the archive, so the peak should not follow the bundle's size.
"""

from __future__ import annotations

import argparse
import asyncio
import resource
import sys
import tempfile
import time
import zipfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from pydantic import SecretStr

from service.adapters.oneroster.csv_import import import_bundle
from service.config import Settings
from service.db import Database
from service.jobs.service import transaction
from service.migrations import upgrade
from tests.factories import make_tenant

STUDENTS = 10_000
CLASSES = 100


def write_bundle(path: Path, results: int) -> int:
    """The bundle, written row by row (never held in memory); its uncompressed size."""
    size = 0
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:

        def member(name: str, header: str, rows: object) -> None:
            nonlocal size
            with archive.open(name, "w") as out:
                out.write(header.encode())
                size += len(header)
                for row in rows:  # type: ignore[attr-defined]
                    data = row.encode()
                    size += len(data)
                    out.write(data)

        files = ["orgs", "users", "classes", "lineItems", "results"]
        manifest = "propertyName,value\nmanifest.version,1.0\noneroster.version,1.1\n" + "".join(
            f"file.{f},bulk\n" for f in files
        )
        archive.writestr("manifest.csv", manifest)
        stamp = "2026-09-01T00:00:00Z"
        member(
            "orgs.csv",
            "sourcedId,status,dateLastModified,name,type\n",
            [f"school,active,{stamp},School,school\n"],
        )
        member(
            "users.csv",
            "sourcedId,status,dateLastModified,orgSourcedIds,role,username,givenName,familyName\n",
            (
                f"user-{i},active,{stamp},school,student,user{i},Given{i},Family{i % 977}\n"
                for i in range(STUDENTS)
            ),
        )
        member(
            "classes.csv",
            "sourcedId,status,dateLastModified,title,classType,schoolSourcedId\n",
            (f"class-{i},active,{stamp},Class {i},scheduled,school\n" for i in range(CLASSES)),
        )
        member(
            "lineItems.csv",
            "sourcedId,status,dateLastModified,title,classSourcedId,resultValueMin,resultValueMax\n",
            (f"li-{i},active,{stamp},Assessment {i},class-{i},0,100\n" for i in range(CLASSES)),
        )
        member(
            "results.csv",
            "sourcedId,status,dateLastModified,lineItemSourcedId,studentSourcedId,scoreStatus,score,scoreDate,comment\n",
            (
                f"result-{i:08d},active,{stamp},li-{i % CLASSES},user-{(i * 7919) % STUDENTS},fully graded,"
                f"{i % 101},2026-10-01,steady work on the unit\n"
                for i in range(results)
            ),
        )
    return size


async def bench(url: str, bundle: Path) -> None:
    await upgrade(url)
    settings = Settings(
        database_url=url,
        token_secret=SecretStr("t" * 48),
        key_encryption_key=SecretStr("k" * 48),
        auto_migrate=False,
    )
    db = Database(url, pool_size=2)
    async with transaction(db) as session:
        tenant_id = (await make_tenant(session, settings)).id
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    started = time.perf_counter()
    with bundle.open("rb") as source:
        async with transaction(db) as session:
            report = await import_bundle(session, tenant_id, settings, source, override=False)
    elapsed = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    fetched = report["totals"]["fetched"]
    print(f"imported {fetched} records in {elapsed:.1f} s ({fetched / elapsed:,.0f} records/s)")
    print(f"errors {report['errors']}")
    print(f"peak RSS before the import {before:.0f} MiB, after {after:.0f} MiB (+{after - before:.0f} MiB)")
    await db.dispose()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--database-url", default=None)
    parser.add_argument("--results", type=int, default=500_000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        bundle = Path(tmp) / "bundle.zip"
        size = write_bundle(bundle, args.results)
        print(
            f"bundle: {size / 1e6:.1f} MB of CSV ({args.results} results), "
            f"{bundle.stat().st_size / 1e6:.1f} MB zipped"
        )
        url = args.database_url or f"sqlite+aiosqlite:///{tmp}/bench.db"
        asyncio.run(bench(url, bundle))


if __name__ == "__main__":
    main()
