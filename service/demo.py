"""The demo district: slug ``demo``, two schools, one academic year, 200 learners, teachers, classes.

Everything goes through the same domain services as the API. Data is deterministic (fixed seed) and
loading is idempotent: a second run finds the tenant and changes nothing. Later capabilities
(portraits, evidence, badges, transcripts) extend ``load_demo``.
"""

from __future__ import annotations

import json
import os
import random
import uuid
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlmodel.ext.asyncio.session import AsyncSession

from service.config import Settings
from service.db import Database
from service.demo_courses import load_course_records
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
#: The staff console's demo accounts (the contract of issue 14): a high-school counselor, and the
#: high school's English teacher.
DEMO_COUNSELOR_EMAIL = "counselor@demo.portrait.test"
DEMO_TEACHER_EMAIL = "teacher@demo.portrait.test"
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
        made = await _roster(session, RosterService(session, tenant.id))
        counts: dict[str, Any] = dict(made.counts)
        counts.update(await _portraits_and_evidence(session, tenant.id, made))
        counts.update(await load_course_records(session, tenant.id, made.learners))
        counts["credentials"] = await _issue_credentials(session, tenant.id, settings)
        counts["transcripts"] = await _senior_transcripts(session, tenant.id, settings)
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


async def _issue_credentials(session: AsyncSession, tenant_id: uuid.UUID, settings: Settings) -> int:
    """Issue the demo's awards now (not through the jobs the awards queued: the demo must show signed
    badges as soon as it starts, with or without a worker). Those jobs later find them issued."""
    from service.badges.issuance import CredentialService
    from service.badges.repository import BadgeRepository

    repo, service = BadgeRepository(session, tenant_id), CredentialService(session, tenant_id, settings)
    issued, after = 0, None
    while page := await repo.awarded_waiting_page(after, 200):
        issued += await service.issue_awards(page)
        after = page[-1]
    return issued


async def _senior_transcripts(session: AsyncSession, tenant_id: uuid.UUID, settings: Settings) -> int:
    """An extended transcript (CLR 2.0) for every senior (grade 12 of the high school), generated
    while loading so that the demo shows them at once."""
    from service.transcripts.schemas import TranscriptBatch, TranscriptOptions
    from service.transcripts.service import TranscriptService

    service = TranscriptService(session, tenant_id, settings)
    high_school = await service.repo.org_by_sourced_id("demo-school-hs")
    if high_school is None:
        return 0
    seniors = await service.select_cohort(TranscriptBatch(school_id=high_school, grade="12"))
    made = await service.generate_many(seniors, TranscriptOptions())
    return len(made)


def _client_file(settings: Settings) -> Path:
    return settings.var_dir / "demo-client.json"


def _write_private(path: Path, data: dict[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as fh:
        json.dump(data, fh, indent=2)


@dataclass
class DemoRoster:
    """Ids of what ``_roster`` made, for the later parts of the demo."""

    counts: dict[str, int]
    learners: list[tuple[uuid.UUID, list[uuid.UUID]]] = field(default_factory=list)  # learner, classes
    teachers_by_class: dict[uuid.UUID, uuid.UUID] = field(default_factory=dict)
    session_by_class: dict[uuid.UUID, uuid.UUID] = field(default_factory=dict)


async def _roster(session: AsyncSession, roster: RosterService) -> DemoRoster:
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
    made = DemoRoster(counts={})
    counts = made.counts
    counts.update(
        {"schools": 0, "learners": 0, "teachers": 0, "classes": 0, "enrollments": 0, "academic_sessions": 3}
    )
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
                    email=DEMO_TEACHER_EMAIL
                    if (school_index, t) == (1, 0)
                    else f"{given}.{family}.{school_index}{t}@demo.example".lower(),
                    org_ids=[school.id],
                    sourced_id=f"demo-teacher-{school_index}-{t}",
                )
            )
            teachers.append(teacher)
            counts["teachers"] += 1
        if school_index == 1:
            await roster.create_person(
                PersonCreate(
                    role="counselor",
                    given_name="Dana",
                    family_name="Okafor",
                    email=DEMO_COUNSELOR_EMAIL,
                    org_ids=[school.id],
                    sourced_id="demo-counselor-hs",
                )
            )
            counts["counselors"] = 1
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
                made.teachers_by_class[klass.id] = teachers[s_index].id
                made.session_by_class[klass.id] = term.id
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
            chosen = rng.sample(classes, 4)
            made.learners.append((learner.id, [k.id for k in chosen]))
            for klass in chosen:
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
    return made


# -- portraits, achievements and evidence -----------------------------------------------------


async def _portraits_and_evidence(
    session: AsyncSession, tenant_id: uuid.UUID, made: DemoRoster
) -> dict[str, Any]:
    """Portraits through the CASE import path; a badge per competency plus the whole-Portrait badge;
    evidence so that some learners have earned badges, some are one piece short, and some have
    withdrawn evidence under review."""
    from service.awards.schemas import AchievementCreate
    from service.awards.service import AwardService
    from service.evidence.service import EvidenceService
    from service.frameworks import demo_packages
    from service.frameworks.case import parse_package
    from service.frameworks.service import FrameworkService

    frameworks = FrameworkService(session, tenant_id)
    graduate_id: uuid.UUID | None = None
    for name in ("portrait_of_a_graduate", "portrait_of_a_leader"):
        tree, _report = parse_package(demo_packages.load(name))
        tree.status = "published"
        framework = await frameworks.save_tree(tree)
        if tree.kind == "graduate":
            graduate_id = framework.id
    assert graduate_id is not None
    graduate = await frameworks.load_tree(graduate_id)
    proficient = next((lv.position for lv in graduate.levels if lv.proficient), len(graduate.levels) // 2)
    top_level = max(lv.position for lv in graduate.levels)
    level_title = next(lv.title for lv in graduate.levels if lv.position == proficient)
    competencies = [c for c in graduate.competencies if c.parent_id is None][:6]

    awards = AwardService(session, tenant_id)
    badge_ids: list[str] = []
    for comp in competencies:
        achievement = await awards.create_achievement(
            AchievementCreate(
                title=comp.title,
                description=comp.statement,
                criteria=(
                    f"Two pieces of evidence at {level_title} or above from two different classes, "
                    "at least one assessed by an educator."
                ),
                framework_id=graduate_id,
                tags=["portrait-of-a-graduate"],
                rule={
                    "type": "evidence",
                    "competency_ids": [str(comp.id)],
                    "min_level": proficient,
                    "min_count": 2,
                    "min_distinct_contexts": 2,
                    "required_sources": [{"sources": ["rubric", "exhibition"], "min": 1}],
                },
            )
        )
        badge_ids.append(str(achievement.id))
    await awards.create_achievement(
        AchievementCreate(
            title="Portrait of a Graduate",
            description="Shows every competency of the district's Portrait of a Graduate.",
            criteria="Earned every competency badge of the Portrait of a Graduate.",
            achievement_type="Badge",
            framework_id=graduate_id,
            tags=["portrait-of-a-graduate"],
            rule={"type": "composite", "achievement_ids": badge_ids},
        )
    )

    rng = random.Random(SEED + 1)  # noqa: S311 - demo data, not security
    start = datetime(2026, 9, 8, 15, 0, tzinfo=UTC)
    records: list[dict[str, Any]] = []
    withdraw_later: list[int] = []

    def piece(
        learner: uuid.UUID, comp: uuid.UUID, klass: uuid.UUID, level: int, source: str = "rubric"
    ) -> None:
        records.append(
            {
                "learner_id": str(learner),
                "competency_id": str(comp),
                "source": source,
                "level": level,
                "class_id": str(klass),
                "academic_session_id": str(made.session_by_class[klass]),
                "assessor_id": str(made.teachers_by_class[klass]) if source == "rubric" else None,
                "observed_at": (
                    start + timedelta(days=rng.randint(0, 40), hours=rng.randint(0, 6))
                ).isoformat(),
                "narrative": "Observed during a class project."
                if source == "rubric"
                else "Learner reflection.",
            }
        )

    for number, (learner, classes) in enumerate(made.learners):
        group = number % 5
        if group == 0:  # earned every competency (and so the Portrait badge)
            for comp in competencies:
                piece(learner, comp.id, classes[0], proficient)
                piece(learner, comp.id, classes[1], rng.randint(proficient, top_level))
        elif group == 1:  # earned two competencies, one piece short on a third
            for comp in competencies[:2]:
                piece(learner, comp.id, classes[0], top_level)
                piece(learner, comp.id, classes[2], proficient)
            piece(learner, competencies[2].id, classes[1], proficient)
        elif group == 2:  # earned one badge, then a piece behind it was withdrawn: under review
            piece(learner, competencies[3].id, classes[0], proficient)
            withdraw_later.append(len(records))
            piece(learner, competencies[3].id, classes[1], proficient)
        elif group == 3:  # only self-assessments and developing work: not enough yet
            piece(learner, competencies[0].id, classes[0], proficient, source="self_assessment")
            piece(learner, competencies[0].id, classes[1], max(0, proficient - 1))
        # group 4: no evidence yet
    evidence = EvidenceService(session, tenant_id)
    result = await evidence.create_many(
        [{k: v for k, v in r.items() if v is not None} for r in records], created_by="demo"
    )
    accepted = {a.index: a.id for a in result.accepted}
    for index in withdraw_later:
        await evidence.withdraw(accepted[index], "recorded against the wrong learner; to be re-entered")
    return {
        "frameworks": 2,
        "achievements": len(badge_ids) + 1,
        "evidence": len(result.accepted),
        "evidence_rejected": len(result.errors),
        "awards": result.awards_created,
        "awards_under_review": len(withdraw_later),
    }
