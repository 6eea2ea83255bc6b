"""Benchmark: extended transcripts (CLR 2.0) generated, signed and stored.

    .venv/bin/python tests/bench/bench_transcripts.py [--database-url URL] [--cohort 1000] [--workers 2]

A script that prints figures (nothing asserted; pytest does not collect it). The database's ``public``
schema is DROPPED and recreated, then migrated (default: the local PostgreSQL database ``portrait_clr``).

1. One learner with 30 badges and 40 course records (and a level in each of 6 competencies): the time
   per transcript, signed (eddsa-rdfc-2022 + VC-JWT RS256) and stored, first with every course record
   signed for the first time, then with the signed records reused (the usual case).
2. A cohort of ``--cohort`` learners (2 badges, 5 course records and 3 competency levels each), split
   into ``--workers`` batch jobs run at the same time by as many worker processes (as ``portrait
   worker`` processes would on PostgreSQL; ``--workers 1``: one batch job, as ``POST
   /api/v1/transcripts/batch`` makes), wall time from start to the last job's end. Each job signs in
   its process's signing pool (one process per CPU); worker CPU counts the pools too.
3. Peak memory (max RSS) of the benchmark process and of the worker processes.

Each figure is printed with the machine's load average (the machine is shared). ``--cohort 0`` measures
the one learner only; ``--plain-canonicalization`` signs with the plain canonicalization (before/after).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing
import os
import resource
import statistics
import sys
import tempfile
import time
import uuid
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from pydantic import SecretStr
from sqlmodel import col, select

from service.awards.schemas import AchievementCreate
from service.awards.service import AwardService
from service.badges.issuance import CredentialService
from service.badges.schemas import CredentialIssue
from service.config import Settings
from service.db import Database, bulk_insert
from service.evidence.models import Evidence
from service.jobs.models import Job
from service.jobs.service import transaction
from service.migrations import upgrade_sync
from service.roster.models import CourseRecord, Person
from service.transcripts.schemas import TranscriptBatch, TranscriptOptions
from service.transcripts.service import TranscriptService
from tests.bench import headlines
from tests.bench.bench_api import reset_database
from tests.factories import make_portrait, make_tenant

DEFAULT_URL = "postgresql+asyncpg://postgres@127.0.0.1:5432/portrait_clr"


def load() -> str:
    """The machine's load average (1, 5, 15 min), as ``uptime`` prints it: the machine is shared."""
    return "load average " + ", ".join(f"{value:.2f}" for value in os.getloadavg())


SUBJECTS = ("Mathematics", "English", "Science", "History", "Arts")


def settings_for(url: str, workdir: Path, signing_processes: int | None = None) -> Settings:
    return Settings(
        badges={"signing_processes": signing_processes},
        var_dir=workdir,
        database_url=url,
        token_secret=SecretStr("t" * 48),
        key_encryption_key=SecretStr("k" * 48),
        public_url="https://portrait.example",
        auto_migrate=False,
    )


async def reset(url: str) -> None:
    """A fresh, empty benchmark database (created when missing, as the other benchmarks do)."""
    await reset_database(url)


def course_rows(tenant_id: uuid.UUID, learner_id: uuid.UUID, count: int) -> list[dict[str, Any]]:
    now = datetime.now(UTC)
    rows = []
    for i in range(count):
        year = 2022 + (i // 10)
        rows.append(
            {
                "id": uuid.uuid4(),
                "tenant_id": tenant_id,
                "learner_id": learner_id,
                "course_id": None,
                "course_title": f"{SUBJECTS[i % 5]} {i // 5 + 1}",
                "course_code": f"{SUBJECTS[i % 5][:4].upper()}{100 + i}",
                "subject": SUBJECTS[i % 5],
                "academic_session_id": None,
                "term_title": f"{'Fall' if i % 2 else 'Spring'} {year}",
                "school_year": f"{year}-{year + 1}",
                "school_name": None,
                "grade": "ABCD"[i % 4] + ("-" if i % 3 == 0 else ""),
                "grade_numeric": 95.0 - i % 30,
                "grade_scale": "A-F",
                "credits_attempted": 1.0 if i % 4 else 0.5,
                "credits_earned": 1.0 if i % 4 else 0.5,
                "status": "completed" if i < count - 2 else "in_progress",
                "source": "api",
                "source_ref": None,
                "completed_on": date(year + 1, 1 if i % 2 else 6, 15) if i < count - 2 else None,
                "created_at": now,
                "updated_at": now,
            }
        )
    return rows


def evidence_rows(
    tenant_id: uuid.UUID,
    learner_id: uuid.UUID,
    framework_id: uuid.UUID,
    competencies: list[uuid.UUID],
    levels: list[uuid.UUID],
) -> list[dict[str, Any]]:
    now = datetime.now(UTC)
    return [
        {
            "id": uuid.uuid4(),
            "tenant_id": tenant_id,
            "learner_id": learner_id,
            "competency_id": competency,
            "framework_id": framework_id,
            "source": "rubric",
            "level_id": levels[1 + i % 3],
            "level_position": 1 + i % 3,
            "observed_at": datetime(2026, 3, 1, tzinfo=UTC),
            "artifacts": [],
            "status": "active",
            "created_at": now,
        }
        for i, competency in enumerate(competencies)
    ]


async def setup(db: Database, settings: Settings, cohort: int) -> dict[str, Any]:
    async with transaction(db) as session:
        tenant = await make_tenant(session, settings, "bench")
        portrait = await make_portrait(session, tenant.id, competencies=6, learners=1, classes=1)
        awards = AwardService(session, tenant.id)
        achievements = [
            (
                await awards.create_achievement(
                    AchievementCreate(
                        title=f"Badge {i + 1}",
                        description=f"Badge number {i + 1} of the bench district.",
                        criteria="Awarded by an educator.",
                        award_mode="manual",
                    )
                )
            ).id
            for i in range(30)
        ]
        tenant_id, framework_id = tenant.id, portrait.framework_id
        one = portrait.learner_ids[0]
        await bulk_insert(session, CourseRecord, course_rows(tenant_id, one, 40))
        await bulk_insert(
            session,
            Evidence,
            evidence_rows(tenant_id, one, framework_id, portrait.competency_ids, portrait.level_ids),
            json_columns=frozenset({"artifacts"}),
        )
        now = datetime.now(UTC)
        learners = [uuid.uuid4() for _ in range(cohort)]
        await bulk_insert(
            session,
            Person,
            [
                {
                    "id": learner,
                    "tenant_id": tenant_id,
                    "status": "active",
                    "role": "student",
                    "given_name": f"S{i}",
                    "family_name": "Senior",
                    "email": f"s{i}@bench.example",
                    "sourced_id": f"sis-{i}",
                    "grades": ["12"],
                    "created_at": now,
                    "updated_at": now,
                }
                for i, learner in enumerate(learners)
            ],
            json_columns=frozenset({"grades"}),
        )
        cohort_courses: list[dict[str, Any]] = []
        cohort_evidence: list[dict[str, Any]] = []
        for learner in learners:
            cohort_courses += course_rows(tenant_id, learner, 5)
            cohort_evidence += evidence_rows(
                tenant_id, learner, framework_id, portrait.competency_ids[2:5], portrait.level_ids
            )
        await bulk_insert(session, CourseRecord, cohort_courses)
        await bulk_insert(session, Evidence, cohort_evidence, json_columns=frozenset({"artifacts"}))
    # Badges: 30 for the one learner, 2 for each of the cohort (issued as the batch job does).
    specs = [
        (CredentialIssue(achievement_id=a, learner_id=one), f"one:{i}") for i, a in enumerate(achievements)
    ]
    specs += [
        (CredentialIssue(achievement_id=achievements[k], learner_id=learner), f"c:{learner}:{k}")
        for learner in learners
        for k in (0, 1)
    ]
    for start in range(0, len(specs), 200):
        async with transaction(db) as session:
            failures: list[Any] = []
            await CredentialService(session, tenant_id, settings).issue_direct_many(
                specs[start : start + 200], issued_by="bench", failures=failures
            )
            assert not failures, failures[:3]
    return {"tenant_id": tenant_id, "one": one, "learners": learners}


async def one_learner(
    db: Database, settings: Settings, tenant_id: uuid.UUID, learner: uuid.UUID, runs: int
) -> None:
    times: list[float] = []
    sizes: list[int] = []
    parts = {"read": 0.0, "records": 0.0, "sign": 0.0}
    nested = 0
    cpu = 0.0
    for _ in range(runs + 1):
        started = time.perf_counter()
        cpu_started = time.process_time()
        async with transaction(db) as session:
            service = TranscriptService(session, tenant_id, settings)
            made = await service.generate(learner, TranscriptOptions(), issued_by="bench")
            document = made.credential.document
            counts = dict(made.transcript.counts)
        times.append(time.perf_counter() - started)
        if times[1:]:
            cpu += time.process_time() - cpu_started
        sizes.append(len(document))
        nested = len(json.loads(document)["credentialSubject"]["verifiableCredential"])
        if len(times) > 1:
            for key, value in service.timing.seconds.items():
                parts[key] += value
        else:
            print(
                f"first transcript (signs {counts['records_signed']} records): {times[0] * 1000:.0f} ms; "
                f"{counts['badges']} badges, {counts['courses']} courses, "
                f"{counts['competency_levels']} levels"
            )
    warm = times[1:]
    headlines.record("transcripts.one_ms", statistics.median(warm) * 1000, "ms")
    print(
        f"one learner, 30 badges + 40 course records ({nested} nested credentials, "
        f"{sizes[-1] / 1024:.0f} KiB): {statistics.median(warm) * 1000:.0f} ms median per transcript "
        f"(min {min(warm) * 1000:.0f}, max {max(warm) * 1000:.0f}; {runs} runs, records reused)"
    )
    print(
        "  of which: "
        + ", ".join(f"{k} {v / runs * 1000:.0f} ms" for k, v in parts.items())
        + " (sign = build + schema check + eddsa-rdfc-2022 + RS256); "
        f"CPU time of this process {cpu / runs * 1000:.0f} ms per transcript (goal 100 ms); {load()}"
    )


def _pool_cpu() -> tuple[float, int]:
    """CPU seconds and peak RSS (KiB) of the signing pool's processes (children of the forkserver, so
    not in this process's RUSAGE_CHILDREN), read from /proc while they still run."""
    from service.badges import signing

    pool = signing._pool
    cpu, peak = 0.0, 0
    ticks = os.sysconf("SC_CLK_TCK")
    for pid in list(getattr(pool, "_processes", None) or {}):
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            cpu += (int(fields[11]) + int(fields[12])) / ticks
            for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                if line.startswith("VmHWM:"):
                    peak = max(peak, int(line.split()[1]))
        except (OSError, IndexError, ValueError):
            continue
    return cpu, peak


def _worker(url: str, workdir: str, job_id: str, out: Any) -> None:
    from service.jobs.backends import JobRunner

    async def run() -> None:
        db = Database(url, pool_size=2)
        try:
            await JobRunner(db, settings_for(url, Path(workdir))).run(uuid.UUID(job_id))
        finally:
            await db.dispose()

    asyncio.run(run())
    pool_cpu, pool_peak = _pool_cpu()
    from service.badges import signing

    if signing._pool is not None:
        # A multiprocessing child joins its children before atexit handlers run: stop the pool first.
        signing._pool.shutdown(wait=True)
    own = resource.getrusage(resource.RUSAGE_SELF)
    out.put((own.ru_maxrss, pool_peak, own.ru_utime + own.ru_stime + pool_cpu))


async def cohort(
    db: Database, url: str, settings: Settings, tenant_id: uuid.UUID, learners: list[uuid.UUID], workers: int
) -> None:
    share = -(-len(learners) // workers)
    jobs: list[uuid.UUID] = []
    async with transaction(db) as session:
        service = TranscriptService(session, tenant_id, settings)
        for start in range(0, len(learners), share):
            job = await service.enqueue_batch(TranscriptBatch(learner_ids=learners[start : start + share]))
            jobs.append(job.id)
    context = multiprocessing.get_context("spawn")
    queue = context.Queue()
    started = time.perf_counter()
    processes = [
        context.Process(target=_worker, args=(url, str(settings.var_dir), str(job), queue)) for job in jobs
    ]
    for process in processes:
        process.start()
    for process in processes:
        process.join()
    elapsed = time.perf_counter() - started
    reports = [queue.get() for _ in processes]
    peaks = [own for own, _, _ in reports]
    pool_peaks = [pool for _, pool, _ in reports]
    worker_cpu = sum(cpu for _, _, cpu in reports)
    async with db.session() as session:
        found = (await session.exec(select(Job).where(col(Job.id).in_(jobs)))).all()
        rows = [(job.state, job.report) for job in found]
    generated = sum(int((report or {}).get("generated", 0)) for _, report in rows)
    states = sorted({state for state, _ in rows})
    if len(learners) == 1000 and workers == 2:
        headlines.record("transcripts.cohort_s", elapsed, "s")
    print(
        f"cohort of {len(learners)} learners (2 badges, 5 courses, 3 levels each), {workers} worker "
        f"processes: {elapsed:.1f} s wall ({generated} transcripts, jobs {states}), "
        f"{generated / elapsed:.1f} transcripts/s; worker CPU {worker_cpu:.0f} s in all "
        f"({worker_cpu / max(generated, 1) * 1000:.0f} ms per transcript, start-up and signing pool "
        f"included); worker peak RSS {max(peaks) / 1024:.0f} MiB, signing pool processes "
        f"{max(pool_peaks) / 1024:.0f} MiB (goal 2 minutes); {load()}"
    )


async def main(url: str, cohort_size: int, workers: int, runs: int) -> None:
    workdir = Path(tempfile.mkdtemp(prefix="bench-transcripts-"))
    if url.startswith("postgresql"):
        await reset(url)
    await asyncio.to_thread(upgrade_sync, url)
    # The one learner is signed in a thread of this process (no pool), so that its CPU time counts it all.
    settings = settings_for(url, workdir, signing_processes=0)
    db = Database(url, pool_size=4)
    try:
        started = time.perf_counter()
        data = await setup(db, settings, cohort_size)
        print(f"database: {db.dialect}; setup {time.perf_counter() - started:.1f} s; {load()}")
        await one_learner(db, settings, data["tenant_id"], data["one"], runs)
        if cohort_size:
            await cohort(db, url, settings, data["tenant_id"], data["learners"], workers)
    finally:
        await db.dispose()
    print(f"benchmark process peak RSS {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MiB")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database-url", default=DEFAULT_URL)
    parser.add_argument("--cohort", type=int, default=1000)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument(
        "--plain-canonicalization",
        action="store_true",
        help="sign the ClrCredential with the plain canonicalization (every embedded credential processed "
        "again in every transcript), for a before/after comparison at the same machine load (the one-learner "
        "figures; the cohort's worker processes run the current code)",
    )
    args = parser.parse_args()
    if args.plain_canonicalization:
        import service.transcripts.signing as transcript_signing
        from service.credentials import sign_data_integrity

        transcript_signing.sign_clr_data_integrity = sign_data_integrity  # type: ignore[assignment]
        print("plain canonicalization (before clr_canonical)")
    asyncio.run(main(args.database_url, args.cohort, args.workers, args.runs))
