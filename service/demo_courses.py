"""The demo district's academic record: a course catalogue, and course records
for every learner (earlier years completed, the current classes in progress, some transfer credit), so
that transcripts of the demo's seniors have courses with grades and credits. Deterministic."""

from __future__ import annotations

import random
import uuid
from collections.abc import Sequence
from datetime import date

from sqlmodel.ext.asyncio.session import AsyncSession

from service.roster.schemas import CourseCreate, CourseRecordCreate
from service.roster.service import RosterService

SEED = 20261207
#: (subject, code prefix) -> course titles by level (first year .. fourth year)
CATALOGUE = {
    ("English Language Arts", "ELA"): (
        "English 9",
        "English 10",
        "American Literature",
        "AP English Literature",
    ),
    ("Mathematics", "MATH"): ("Algebra I", "Geometry", "Algebra II", "Precalculus"),
    ("Science", "SCI"): ("Biology", "Chemistry", "Physics", "Environmental Science"),
    ("Social Studies", "SS"): ("World History", "US History", "Government", "Economics"),
    ("Visual Arts", "ART"): ("Art I", "Drawing and Painting", "Ceramics", "Studio Art"),
    ("Computer Science", "CS"): (
        "Intro to Programming",
        "Web Design",
        "AP Computer Science A",
        "Data Science",
    ),
}
LETTERS = (("A", 95.0), ("A-", 91.0), ("B+", 88.0), ("B", 85.0), ("B-", 81.0), ("C+", 78.0), ("C", 75.0))
HIGH_SCHOOL = {"09": 0, "10": 1, "11": 2, "12": 3}


async def load_course_records(
    session: AsyncSession, tenant_id: uuid.UUID, learners: Sequence[tuple[uuid.UUID, Sequence[uuid.UUID]]]
) -> dict[str, int]:
    """Courses for the demo classes and records for ``learners`` (learner id, class ids)."""
    rng = random.Random(SEED)  # noqa: S311 - demo data, not security
    roster = RosterService(session, tenant_id)
    courses = {}
    for (subject, code), titles in CATALOGUE.items():
        for level, title in enumerate(titles):
            courses[(code, level)] = await roster.create_course(
                CourseCreate(
                    title=title,
                    course_code=f"{code}{101 + 100 * level}",
                    subject=subject,
                    grade_levels=[f"{9 + level:02d}"],
                    credits=1.0,
                    sourced_id=f"demo-course-{code.lower()}-{level}",
                )
            )
    people = await roster.people_by_ids([learner for learner, _ in learners])
    classes = await roster.classes_by_ids([k for _, ks in learners for k in ks])
    records: list[tuple[uuid.UUID, CourseRecordCreate]] = []
    for learner_id, class_ids in learners:
        person = people.get(learner_id)
        if person is None:
            continue
        level = HIGH_SCHOOL.get(person.grades[0] if person.grades else "", -1)
        if level < 0:
            continue  # middle school: nothing on a high-school transcript yet
        # Current classes: in progress, at the learner's level of the class's subject.
        for class_id in class_ids:
            klass = classes[class_id]
            course = courses.get(((klass.class_code or "").split("-", 1)[0], level))
            if course is None:
                continue
            records.append(
                (
                    learner_id,
                    CourseRecordCreate(
                        course_id=course.id,
                        academic_session_id=klass.academic_session_id,
                        school_year="2026-2027",
                        grade="IP",
                        status="in_progress",
                    ),
                )
            )
        # Earlier high-school years: four completed courses a year, two terms each.
        for past in range(level):
            year = f"{2026 - level + past}-{2027 - level + past}"
            for _subject, code in rng.sample(list(CATALOGUE), 4):
                course = courses[(code, past)]
                letter, numeric = rng.choice(LETTERS)
                records.append(
                    (
                        learner_id,
                        CourseRecordCreate(
                            course_id=course.id,
                            term_title=f"Spring {2027 - level + past}",
                            school_year=year,
                            grade=letter,
                            grade_numeric=numeric,
                            grade_scale="A-F",
                            credits_earned=1.0,
                            completed_on=date(2027 - level + past, 6, 10),
                        ),
                    )
                )
        if level >= 2 and rng.random() < 0.25:
            transfer = CourseRecordCreate(
                course_title="Spanish I",
                course_code="SPA101",
                subject="World Languages",
                school_name="Lakeside Academy",
                term_title="Summer 2025",
                school_year="2024-2025",
                grade="P",
                grade_scale="P/F",
                credits_attempted=0.5,
                credits_earned=0.5,
                completed_on=date(2025, 7, 31),
            )
            records.append((learner_id, transfer))
    return {"courses": len(courses), "course_records": await roster.add_course_records(records)}
