"""The demo district: slug ``demo``, two schools, one academic year, 200 learners, teachers, classes.

Everything goes through the same domain services as the API. Data is deterministic (fixed seed) and
loading is idempotent: a second run finds the tenant and changes nothing. Later capabilities
(portraits, evidence, badges, transcripts) extend ``load_demo``.
"""

from __future__ import annotations

import json
import os
import random
from datetime import date
from pathlib import Path
from typing import Any

from sqlmodel.ext.asyncio.session import AsyncSession

from service.config import Settings
from service.db import Database
from service.roster.schemas import (
    AcademicSessionCreate,
    ClassCreate,
    EnrollmentCreate,
    OrgCreate,
    PersonCreate,
)
from service.roster.service import RosterService
from service.tenancy import scopes as scope_names
from service.tenancy.schemas import ApiClientCreate, TenantCreate
from service.tenancy.service import SYSTEM, TenancyService

DEMO_SLUG = "demo"
LEARNERS = 200
SEED = 20260901

GIVEN = (
    "Ava",
    "Liam",
    "Noah",
    "Emma",
    "Olivia",
    "Mateo",
    "Sofia",
    "Elijah",
    "Amara",
    "Lucas",
    "Maya",
    "Kai",
    "Zoe",
    "Diego",
    "Aaliyah",
    "Ethan",
    "Priya",
    "Jamal",
    "Hana",
    "Leo",
    "Isla",
    "Omar",
    "Nia",
    "Ezra",
    "Lena",
    "Rafael",
    "Yuki",
    "Malik",
    "Chloe",
    "Andre",
    "Imani",
    "Felix",
    "Rosa",
    "Theo",
    "Layla",
    "Samir",
    "Grace",
    "Jonah",
    "Ines",
    "Tariq",
)
FAMILY = (
    "Garcia",
    "Johnson",
    "Nguyen",
    "Smith",
    "Patel",
    "Kim",
    "Okafor",
    "Martinez",
    "Brown",
    "Cohen",
    "Silva",
    "Rossi",
    "Haddad",
    "Lee",
    "Walker",
    "Rivera",
    "Chen",
    "Baker",
    "Ali",
    "Novak",
    "Santos",
    "Murphy",
    "Tanaka",
    "Jensen",
    "Reyes",
    "Mensah",
    "Davis",
    "Lopez",
    "Ibrahim",
    "Clark",
)
SCHOOLS = (
    ("demo-school-ms", "Harbor View Middle School", ["06", "07", "08"]),
    ("demo-school-hs", "Riverside High School", ["09", "10", "11", "12"]),
)
SUBJECTS = (
    ("English Language Arts", "ELA"),
    ("Mathematics", "MATH"),
    ("Science", "SCI"),
    ("Social Studies", "SS"),
    ("Visual Arts", "ART"),
    ("Computer Science", "CS"),
)


async def load_demo(db: Database, settings: Settings, *, reset: bool = False) -> dict[str, Any]:
    async with db.session() as session:
        tenancy = TenancyService(session, settings)
        existing = await tenancy.tenants.get_by_slug(DEMO_SLUG)
        if existing is not None and reset:
            await session.delete(existing)
            await session.commit()
            existing = None
        if existing is not None:
            return {"tenant": DEMO_SLUG, "created": False, "client": _client_file(settings).as_posix()}
        tenant = await tenancy.create_tenant(
            SYSTEM, TenantCreate(slug=DEMO_SLUG, name="Demo Unified School District")
        )
        counts = await _roster(session, RosterService(session, tenant.id))
        client, secret = await tenancy.create_client(
            SYSTEM,
            ApiClientCreate(tenant_id=tenant.id, name="demo client", scopes=list(scope_names.ALL_SCOPES)),
        )
        await session.commit()
    path = _client_file(settings)
    _write_private(
        path,
        {
            "tenant": DEMO_SLUG,
            "client_id": client.client_id,
            "client_secret": secret,
            "token_url": f"{settings.public_url}/oauth/token",
            "scopes": client.scopes,
        },
    )
    return {"tenant": DEMO_SLUG, "created": True, **counts, "client": path.as_posix()}


def _client_file(settings: Settings) -> Path:
    return settings.var_dir / "demo-client.json"


def _write_private(path: Path, data: dict[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as fh:
        json.dump(data, fh, indent=2)


async def _roster(session: AsyncSession, roster: RosterService) -> dict[str, int]:
    rng = random.Random(SEED)  # noqa: S311 - demo data, not security
    district = await roster.create_org(
        OrgCreate(name="Demo Unified School District", type="district", sourced_id="demo-district")
    )
    year = await roster.create_academic_session(
        AcademicSessionCreate(
            title="2026-2027",
            type="schoolYear",
            start_date=date(2026, 8, 24),
            end_date=date(2027, 6, 11),
            school_year=2027,
            sourced_id="demo-sy-2027",
        )
    )
    terms = [
        await roster.create_academic_session(
            AcademicSessionCreate(
                title=title,
                type="semester",
                start_date=start,
                end_date=end,
                school_year=2027,
                parent_id=year.id,
                sourced_id=f"demo-{key}-2027",
            )
        )
        for key, title, start, end in (
            ("fall", "Fall 2026", date(2026, 8, 24), date(2027, 1, 15)),
            ("spring", "Spring 2027", date(2027, 1, 19), date(2027, 6, 11)),
        )
    ]
    counts = {
        "schools": 0,
        "learners": 0,
        "teachers": 0,
        "classes": 0,
        "enrollments": 0,
        "academic_sessions": 3,
    }
    per_school = LEARNERS // len(SCHOOLS)
    learner_no = 0
    for school_index, (sourced, name, grades) in enumerate(SCHOOLS):
        school = await roster.create_org(
            OrgCreate(name=name, type="school", parent_id=district.id, sourced_id=sourced)
        )
        counts["schools"] += 1
        teachers = []
        for t in range(len(SUBJECTS)):
            given, family = rng.choice(GIVEN), rng.choice(FAMILY)
            teacher = await roster.create_person(
                PersonCreate(
                    role="teacher",
                    given_name=given,
                    family_name=family,
                    email=f"{given}.{family}.{school_index}{t}@demo.example".lower(),
                    org_ids=[school.id],
                    sourced_id=f"demo-teacher-{school_index}-{t}",
                )
            )
            teachers.append(teacher)
            counts["teachers"] += 1
        classes = []
        for s_index, (subject, code) in enumerate(SUBJECTS):
            for term in terms:
                klass = await roster.create_class(
                    ClassCreate(
                        title=f"{subject} ({term.title})",
                        class_code=f"{code}-{school_index}{s_index}-{term.title[:4].upper()}",
                        school_id=school.id,
                        academic_session_id=term.id,
                        grades=grades,
                        subjects=[subject],
                        sourced_id=f"demo-class-{school_index}-{code}-{term.sourced_id}",
                    )
                )
                classes.append(klass)
                counts["classes"] += 1
                await roster.create_enrollment(
                    EnrollmentCreate(
                        class_id=klass.id,
                        person_id=teachers[s_index].id,
                        role="teacher",
                        primary=True,
                        sourced_id=f"demo-enr-t-{klass.sourced_id}",
                    )
                )
                counts["enrollments"] += 1
        for _ in range(per_school):
            learner_no += 1
            given, family = rng.choice(GIVEN), rng.choice(FAMILY)
            learner = await roster.create_person(
                PersonCreate(
                    role="student",
                    given_name=given,
                    family_name=family,
                    email=f"s{learner_no:04d}@students.demo.example",
                    identifier=f"S{learner_no:05d}",
                    grades=[rng.choice(grades)],
                    org_ids=[school.id],
                    sourced_id=f"demo-learner-{learner_no:04d}",
                )
            )
            counts["learners"] += 1
            for klass in rng.sample(classes, 4):
                await roster.create_enrollment(
                    EnrollmentCreate(
                        class_id=klass.id,
                        person_id=learner.id,
                        role="student",
                        sourced_id=f"demo-enr-{learner_no:04d}-{klass.sourced_id}",
                    )
                )
                counts["enrollments"] += 1
    await session.flush()
    return counts
