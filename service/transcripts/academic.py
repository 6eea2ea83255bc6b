"""The academic record a transcript reads: course records, through the roster's interface.

The roster domain owns courses and course records (``list_course_records`` /
``course_records_for_learners``); this module turns its read schema into the plain facts the pure
document builder takes, so that :mod:`service.transcripts.documents` stays free of I/O.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

from sqlmodel.ext.asyncio.session import AsyncSession

from service.roster.schemas import CourseRecordRead
from service.roster.service import course_records_for_learners as roster_course_records


@dataclass(frozen=True)
class CourseRecordInfo:
    """One course a learner took (a snapshot of the roster's CourseRecord)."""

    id: uuid.UUID
    course_id: uuid.UUID | None
    course_title: str
    course_code: str
    status: str  # in_progress | completed | withdrawn
    grade: str | None = None
    grade_numeric: float | None = None
    grade_scale: str | None = None
    subject: str | None = None
    term_title: str | None = None
    school_year: str | None = None
    school_name: str | None = None
    credits_attempted: float | None = None
    credits_earned: float | None = None
    completed_on: date | None = None
    source: str | None = None


async def course_records_for_learners(
    session: AsyncSession,
    tenant_id: uuid.UUID,
    learner_ids: Sequence[uuid.UUID],
    *,
    include_in_progress: bool = True,
) -> dict[uuid.UUID, list[CourseRecordInfo]]:
    """Each learner's course records (withdrawn ones excluded), ordered by school year and term."""
    found = await roster_course_records(
        session, tenant_id, learner_ids, include_in_progress=include_in_progress
    )
    return {learner_id: [_info(record) for record in found.get(learner_id, [])] for learner_id in learner_ids}


def _info(record: CourseRecordRead) -> CourseRecordInfo:
    return CourseRecordInfo(
        id=record.id,
        course_id=record.course_id,
        course_title=record.course_title,
        course_code=record.course_code,
        status=record.status,
        grade=record.grade,
        grade_numeric=record.grade_numeric,
        grade_scale=record.grade_scale,
        subject=record.subject,
        term_title=record.term_title,
        school_year=record.school_year,
        school_name=record.school_name,
        credits_attempted=record.credits_attempted,
        credits_earned=record.credits_earned,
        completed_on=record.completed_on,
        source=record.source,
    )
