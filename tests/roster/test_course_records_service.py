"""Courses and course records through the roster service: the interface transcripts read
(list_course_records, course_records_for_learners), ordering, withdrawn records, tenants."""

from __future__ import annotations

import uuid

import pytest
from sqlmodel.ext.asyncio.session import AsyncSession

from service.config import Settings
from service.errors import ServiceError
from service.roster.schemas import (
    CourseCreate,
    CourseRecordCreate,
    CourseRecordUpdate,
    PersonCreate,
)
from service.roster.service import RosterService, course_records_for_learners, list_course_records
from tests.factories import make_tenant_ref


async def _learner(roster: RosterService, name: str = "Ada") -> uuid.UUID:
    person = await roster.create_person(PersonCreate(given_name=name, family_name="Lovelace", role="student"))
    return person.id


async def test_records_in_transcript_order_without_withdrawn(
    session: AsyncSession, settings: Settings
) -> None:
    tenant = await make_tenant_ref(session, settings)
    roster = RosterService(session, tenant.id)
    learner = await _learner(roster)
    algebra = await roster.create_course(
        CourseCreate(title="Algebra I", course_code="MATH101", subject="Mathematics", credits=1.0)
    )
    rows = [
        ("2025-2026", "Spring 2026", "Biology", "A", "completed"),
        ("2024-2025", "Fall 2024", "English 9", "B+", "completed"),
        ("2025-2026", "Fall 2025", "Chemistry", "A-", "in_progress"),
        ("2025-2026", "Fall 2025", "Art", "C", "withdrawn"),
    ]
    for year, term, title, grade, status in rows:
        await roster.create_course_record(
            learner,
            CourseRecordCreate(
                course_title=title,
                course_code="",
                school_year=year,
                term_title=term,
                grade=grade,
                status=status,
            ),
        )
    from_course = await roster.create_course_record(
        learner,
        CourseRecordCreate(
            course_id=algebra.id,
            school_year="2024-2025",
            term_title="Fall 2024",
            grade="93",
            grade_numeric=93.0,
        ),
    )
    # Snapshots come from the course when not given.
    assert (from_course.course_title, from_course.course_code, from_course.subject) == (
        "Algebra I",
        "MATH101",
        "Mathematics",
    )
    assert from_course.credits_attempted == 1.0
    assert from_course.source == "api" and from_course.status == "completed"

    records = await list_course_records(session, tenant.id, learner)
    assert [(r.school_year, r.term_title, r.course_title) for r in records] == [
        ("2024-2025", "Fall 2024", "Algebra I"),
        ("2024-2025", "Fall 2024", "English 9"),
        ("2025-2026", "Fall 2025", "Chemistry"),
        ("2025-2026", "Spring 2026", "Biology"),
    ]
    completed = await list_course_records(session, tenant.id, learner, include_in_progress=False)
    assert "Chemistry" not in [r.course_title for r in completed] and len(completed) == 3

    # Withdrawing removes a record from what transcripts read.
    await roster.withdraw_course_record(records[0].id)
    remaining = await list_course_records(session, tenant.id, learner)
    assert remaining[0].course_title == "English 9" and len(remaining) == 3


async def test_cohort_lookup_and_tenant_isolation(session: AsyncSession, settings: Settings) -> None:
    a = await make_tenant_ref(session, settings)
    b = await make_tenant_ref(session, settings)
    roster_a, roster_b = RosterService(session, a.id), RosterService(session, b.id)
    learners = [await _learner(roster_a, f"L{i}") for i in range(3)]
    other = await _learner(roster_b, "Other")
    for i, learner in enumerate(learners[:2]):
        for j in range(i + 1):
            await roster_a.create_course_record(
                learner, CourseRecordCreate(course_title=f"Course {j}", school_year="2025-2026", grade="A")
            )
    await roster_b.create_course_record(
        other, CourseRecordCreate(course_title="Secret", school_year="2025-2026", grade="F")
    )
    found = await course_records_for_learners(session, a.id, [*learners, other])
    assert {k: len(v) for k, v in found.items()} == {learners[0]: 1, learners[1]: 2, learners[2]: 0, other: 0}
    assert await list_course_records(session, a.id, other) == []
    # Tenant A cannot add to, read or change B's learner and records.
    with pytest.raises(ServiceError) as exc:
        await roster_a.create_course_record(
            other, CourseRecordCreate(course_title="X", school_year="2025-2026", grade="A")
        )
    assert exc.value.status == 404
    secret = (await list_course_records(session, b.id, other))[0]
    for attempt in (
        roster_a.get_course_record(secret.id),
        roster_a.update_course_record(secret.id, CourseRecordUpdate(grade="A")),
        roster_a.withdraw_course_record(secret.id),
    ):
        with pytest.raises(ServiceError) as exc:
            await attempt
        assert exc.value.status == 404
    assert (await list_course_records(session, b.id, other))[0].grade == "F"


async def test_record_validation_names_the_field(session: AsyncSession, settings: Settings) -> None:
    tenant = await make_tenant_ref(session, settings)
    roster = RosterService(session, tenant.id)
    learner = await _learner(roster)
    with pytest.raises(ServiceError) as exc:
        await roster.create_course_record(learner, CourseRecordCreate(school_year="2025-2026", grade="A"))
    assert exc.value.status == 422 and exc.value.errors[0].loc == "body.course_title"
    with pytest.raises(ServiceError) as exc:
        await roster.create_course_record(
            learner, CourseRecordCreate(course_id=uuid.uuid4(), school_year="2025-2026", grade="A")
        )
    assert exc.value.status == 422 and exc.value.errors[0].loc == "body.course_id"
    record = await roster.create_course_record(
        learner, CourseRecordCreate(course_title="Physics", school_year="2025-2026", grade="B")
    )
    with pytest.raises(ServiceError) as exc:
        await roster.update_course_record(record.id, CourseRecordUpdate.model_validate({"grade": None}))
    assert exc.value.status == 422 and exc.value.errors[0].loc == "body.grade"
    assert (await roster.get_course_record(record.id)).grade == "B"
