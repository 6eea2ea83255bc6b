"""Shared by the transcripts tests: a learner with a badge and competency levels, the official CLR
schema, verification of a transcript and of each credential inside it over the service's own routes."""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import httpx
import jsonschema
from sqlmodel.ext.asyncio.session import AsyncSession

from service.badges.issuance import CredentialService
from service.config import Settings
from service.credentials import VerificationResult
from service.evidence.schemas import EvidenceCreate
from service.evidence.service import EvidenceService
from service.roster.schemas import CourseCreate, CourseRecordCreate
from service.roster.service import RosterService
from tests.badges.helpers import earn, verify_via_http

SCHEMAS = Path(__file__).resolve().parents[1] / "conformance" / "openbadges" / "schemas"
_validators: dict[str, jsonschema.protocols.Validator] = {}


def official_errors(document: dict[str, Any], name: str = "clr_v2p0_clrcredential_schema.json") -> list[str]:
    """Errors against the official 1EdTech schema, read from the shared conformance folder (not the
    library's copy)."""
    if name not in _validators:
        schema = json.loads((SCHEMAS / name).read_text())
        cls = jsonschema.validators.validator_for(schema)
        _validators[name] = cls(schema, format_checker=cls.FORMAT_CHECKER)
    return [f"{list(e.absolute_path)}: {e.message}" for e in _validators[name].iter_errors(document)]


@dataclass
class Seeded:
    learner_id: uuid.UUID
    other_learner_ids: list[uuid.UUID]
    framework_id: uuid.UUID
    competency_ids: list[uuid.UUID]
    class_id: uuid.UUID
    badge_ids: list[uuid.UUID]
    course_record_ids: list[uuid.UUID]


async def seed(
    session: AsyncSession, tenant_id: uuid.UUID, settings: Settings, *, learners: int = 2
) -> Seeded:
    """A published Portrait (2 competencies, 4 levels), a badge for competency 0 issued to every
    learner, evidence at level 1 (Developing) in competency 1 for the first learner (and a
    self-assessment at level 3), and three course records for that learner: Algebra I (A-, completed),
    English 9 at a prior school (93 on 0-100, half a credit) and Chemistry (in progress)."""
    earned = await earn(session, tenant_id, learners=learners)
    service = CredentialService(session, tenant_id, settings)
    await service.issue_awards(earned.award_ids)
    first = earned.portrait.learner_ids[0]
    await EvidenceService(session, tenant_id).create_one(
        EvidenceCreate(
            learner_id=first,
            competency_id=earned.portrait.competency_ids[1],
            source="rubric",
            level=1,
            class_id=earned.portrait.class_ids[0],
            observed_at=datetime(2026, 10, 2, tzinfo=UTC),
        ),
        created_by="test",
    )
    await EvidenceService(session, tenant_id).create_one(
        EvidenceCreate(
            learner_id=first,
            competency_id=earned.portrait.competency_ids[1],
            source="self_assessment",
            level=3,
            observed_at=datetime(2026, 10, 3, tzinfo=UTC),
        ),
        created_by="test",
    )
    roster = RosterService(session, tenant_id)
    algebra = await roster.create_course(
        CourseCreate(title="Algebra I", course_code="MATH101", subject="Mathematics", credits=1)
    )
    record_ids = [
        (
            await roster.create_course_record(
                first,
                CourseRecordCreate(
                    course_id=algebra.id,
                    school_year="2025-2026",
                    term_title="Fall 2025",
                    grade="A-",
                    grade_numeric=91,
                    grade_scale="A-F",
                    credits_attempted=1,
                    credits_earned=1,
                    completed_on=date(2026, 1, 20),
                ),
            )
        ).id,
        (
            await roster.create_course_record(
                first,
                CourseRecordCreate(
                    course_title="English 9",
                    course_code="ENG9",
                    school_name="Lincoln Middle School",
                    school_year="2024-2025",
                    term_title="Spring 2025",
                    grade="93",
                    grade_numeric=93,
                    grade_scale="0-100",
                    credits_attempted=0.5,
                    credits_earned=0.5,
                    completed_on=date(2025, 6, 10),
                ),
            )
        ).id,
        (
            await roster.create_course_record(
                first,
                CourseRecordCreate(
                    course_title="Chemistry",
                    course_code="SCI201",
                    school_year="2026-2027",
                    term_title="Fall 2026",
                    grade="B",
                    status="in_progress",
                ),
            )
        ).id,
    ]
    await session.commit()
    return Seeded(
        learner_id=first,
        other_learner_ids=earned.portrait.learner_ids[1:],
        framework_id=earned.portrait.framework_id,
        competency_ids=earned.portrait.competency_ids,
        class_id=earned.portrait.class_ids[0],
        badge_ids=[row.id for row in service.issued],
        course_record_ids=record_ids,
    )


def nested(credential: dict[str, Any]) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = credential["credentialSubject"]["verifiableCredential"]
    return items


async def verify_all(http: httpx.AsyncClient, credential: dict[str, Any]) -> list[VerificationResult]:
    """The transcript and then each credential it holds, verified through the public routes."""
    return [await verify_via_http(http, credential)] + [
        await verify_via_http(http, item) for item in nested(credential)
    ]
