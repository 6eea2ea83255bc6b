"""Benchmark: server time of the console's review, transcript and dashboard pages on the demo data.

    .venv/bin/python -m tests.bench.bench_console_counsel [--database-url URL] [--rounds 20]

A script that prints figures, not a test; nothing is asserted. Loads the demo (plus one award waiting for
review and a district admin, as the browser test does) into a fresh SQLite file (or the PostgreSQL
database given, which it recreates), then requests each page in-process through the ASGI app (httpx's
ASGITransport: no network, so the time is the server's: routing, queries, templates) as the demo
counselor or the district admin, and prints the median and worst of ``--rounds`` requests per page.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import time
from pathlib import Path
from urllib.parse import urlsplit

import httpx

from service.app import create_app
from service.config import Settings
from service.db import Database
from service.demo import DEMO_COUNSELOR_EMAIL, DEMO_SLUG
from service.identity.service import IdentityService
from service.migrations import upgrade_sync
from tests.identity.test_console_counsel_browser import ADMIN_EMAIL, _populate

BASE = "http://bench.test"


async def _sign_in(client: httpx.AsyncClient, db: Database, settings: Settings, email: str) -> None:
    async with db.session() as session:
        url = await IdentityService(session, settings).link_for_email(DEMO_SLUG, email)
        await session.commit()
    response = await client.get(urlsplit(url).path)
    assert response.status_code == 303, response.text


async def _time(client: httpx.AsyncClient, url: str, rounds: int) -> tuple[float, float, int]:
    samples = []
    status = 0
    for _ in range(3):  # warm-up: template compilation, statement caches
        await client.get(url)
    for _ in range(rounds):
        started = time.perf_counter()
        response = await client.get(url)
        samples.append((time.perf_counter() - started) * 1000)
        status = response.status_code
    return statistics.median(samples), max(samples), status


async def run(url: str, var: Path, rounds: int) -> None:
    settings = Settings(database_url=url, var_dir=var, public_url=BASE, jobs_backend="inprocess")  # type: ignore[call-arg]
    await _populate(url, settings)
    db = Database(url, pool_size=4)
    app = create_app(settings, database=db)
    transport = httpx.ASGITransport(app=app)
    try:
        if True:  # no lifespan: the demo's queued jobs stay queued and do not compete for the database
            async with httpx.AsyncClient(transport=transport, base_url=BASE) as counselor:
                await _sign_in(counselor, db, settings, DEMO_COUNSELOR_EMAIL)
                # A learner of the counselor's school with a transcript (generated through the page).
                reviews = await counselor.get("/console/reviews")
                csrf = reviews.text.split('name="csrf_token" value="', 1)[1].split('"', 1)[0]
                high = await counselor.get("/console/learners?q=")
                first = high.text.split('href="/console/learners/', 1)[1].split('"', 1)[0]
                made = await counselor.post(
                    f"/console/learners/{first}/transcripts",
                    data={"csrf_token": csrf, "include_courses": "yes", "include_in_progress": "yes"},
                )
                assert made.status_code == 303, made.text
                pages = {
                    "reviews (1 waiting, 20 re-check)": "/console/reviews",
                    "learner transcripts (preview)": f"/console/learners/{first}/transcripts",
                    "cohort runs": "/console/transcripts",
                }
                print(f"{'page':34} {'median ms':>10} {'worst ms':>10}  status")
                for name, path in pages.items():
                    median, worst, status = await _time(counselor, path, rounds)
                    print(f"{name:34} {median:10.1f} {worst:10.1f}  {status}")
            async with httpx.AsyncClient(transport=transport, base_url=BASE) as admin:
                await _sign_in(admin, db, settings, ADMIN_EMAIL)
                for name, path in {
                    "dashboard (district admin)": "/console/dashboard",
                    "reviews (admin, 1 + 40 re-check)": "/console/reviews",
                }.items():
                    median, worst, status = await _time(admin, path, rounds)
                    print(f"{name:34} {median:10.1f} {worst:10.1f}  {status}")
    finally:
        await db.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", default="", help="PostgreSQL URL to recreate (default: SQLite)")
    parser.add_argument("--rounds", type=int, default=20)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        var = Path(tmp)
        url = args.database_url or f"sqlite+aiosqlite:///{(var / 'bench.db').as_posix()}"
        if args.database_url:
            from tests.conftest import reset_postgres

            asyncio.run(reset_postgres(url))
        upgrade_sync(url)
        print(f"database: {url.split('@')[-1]}; demo data; {args.rounds} requests per page; in-process ASGI")
        asyncio.run(run(url, var, args.rounds))


if __name__ == "__main__":
    main()
