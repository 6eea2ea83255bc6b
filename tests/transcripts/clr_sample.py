"""A realistic signed ClrCredential for the reading tests (view, chart, PDF, HTML), built from scratch.

The nested badge is an OpenBadgeCredential assembled by ``service.badges.documents`` (what the service
issues); the course and competency records are AchievementCredentials shaped as CLR 2.0 describes them.
Everything is signed for real (eddsa-rdfc-2022) by the given signer; by default a fresh did:key.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric import ed25519

from service.badges.documents import (
    BadgeInfo,
    CompetencyInfo,
    LearnerInfo,
    LevelInfo,
    build_badge_credential,
    cf_item_url,
)
from service.credentials import (
    BitstringStatusListEntry,
    Profile,
    Signer,
    did_key_verification_method,
    generate_private_key,
    sign_data_integrity,
)

DATA = Path(__file__).resolve().parent / "data"
VECTOR = DATA / "clr2_testvector_signed_clrcredential_eddsa-rdfc-2022.json"

VC_V2 = "https://www.w3.org/ns/credentials/v2"
CLR = "https://purl.imsglobal.org/spec/clr/v2p0/context-2.0.1.json"
OB = "https://purl.imsglobal.org/spec/ob/v3p0/context-3.0.3.json"
OB_EXT = "https://purl.imsglobal.org/spec/ob/v3p0/extensions.json"
OB_SCHEMA = "https://purl.imsglobal.org/spec/ob/v3p0/schema/json/ob_v3p0_achievementcredential_schema.json"
CLR_SCHEMA = "https://purl.imsglobal.org/spec/clr/v2p0/schema/json/clr_v2p0_clrcredential_schema.json"
SCHEMA_TYPE = "1EdTechJsonSchemaValidator2019"

PUBLIC_URL = "https://portrait.example.org"
LEARNER = "urn:uuid:2b0e8d36-34f4-5f0b-9c41-7d1f6a2c9e10"
LEVELS = ("Beginning", "Developing", "Proficient", "Advanced")
TRANSCRIPT_ID = "6c7f3f0e-21a4-4a8e-9a4e-0d7b8f3c1a55"


def load_vector() -> dict[str, Any]:
    data: dict[str, Any] = json.loads(VECTOR.read_text(encoding="utf-8"))
    return data


def did_key_signer() -> Signer:
    key = generate_private_key("Ed25519")
    assert isinstance(key, ed25519.Ed25519PrivateKey)
    return Signer(did_key_verification_method(key.public_key()), key)


def _uuid(name: str) -> uuid.UUID:
    return uuid.uuid5(uuid.NAMESPACE_URL, f"portrait-test:{name}")


@dataclass(frozen=True)
class Competency:
    key: str
    name: str
    attribute: str
    reached: int | None  # 1..4, index into LEVELS
    by_badge: bool = False


COMPETENCIES = (
    Competency("comm", "Communicates clearly", "Communicator", 3, by_badge=True),
    Competency("listen", "Listens actively", "Communicator", 2),
    Competency("collab", "Collaborates in teams", "Collaborator", 4, by_badge=True),
    Competency("lead", "Leads with empathy", "Collaborator", None),
    Competency("solve", "Solves complex problems", "Critical thinker", 1),
)

COURSES = (
    # title, code, subject, term, start, grade, credits earned, credits available, status
    ("Algebra II", "MATH-201", "Mathematics", "Fall 2025", "2025-08-25", "A-", 1.0, 1.0, "Completed"),
    ("World History", "HIST-110", "Social Studies", "Fall 2025", "2025-08-25", "B+", 1.0, 1.0, "Completed"),
    ("Chemistry", "SCI-220", "Science", "Spring 2026", "2026-01-12", "93", 1.0, 1.0, "Completed"),
    ("Spanish III", "WL-301", "World Languages", "Spring 2026", "2026-01-12", "A", 0.5, 0.5, "Completed"),
    ("Calculus", "MATH-301", "Mathematics", "Fall 2026", "2026-08-24", "IP", None, 1.0, "InProgress"),
)


def level_id(competency: Competency, rank: int) -> str:
    return f"{PUBLIC_URL}/portraits/pog/competencies/{competency.key}#level-{rank}"


def competency_id(competency: Competency) -> str:
    return f"{PUBLIC_URL}/portraits/pog/competencies/{competency.key}"


def _scale(competency: Competency) -> dict[str, Any]:
    return {
        "id": f"{competency_id(competency)}#scale",
        "type": ["ResultDescription"],
        "name": "Portrait rubric",
        "resultType": "RubricCriterionLevel",
        "rubricCriterionLevel": [
            {
                "id": level_id(competency, rank),
                "type": ["RubricCriterionLevel"],
                "name": name,
                "level": str(rank),
                "description": f"{name} on {competency.name.lower()}",
            }
            for rank, name in enumerate(LEVELS, start=1)
        ],
    }


def _definition(ach_id: str, name: str, kind: str, issuer: dict[str, Any], **extra: Any) -> dict[str, Any]:
    out: dict[str, Any] = {
        "id": ach_id,
        "type": ["Achievement"],
        "achievementType": kind,
        "creator": issuer,
        "name": name,
        "description": f"{name}.",
        "criteria": {"narrative": f"Shown by the district's evidence for {name.lower()}."},
    }
    out.update(extra)
    return out


def _credential(
    cred_id: str, name: str, issuer: dict[str, Any], subject: dict[str, Any], valid_from: str
) -> dict[str, Any]:
    return {
        "@context": [VC_V2, OB, OB_EXT],
        "id": cred_id,
        "type": ["VerifiableCredential", "AchievementCredential"],
        "issuer": issuer,
        "validFrom": valid_from,
        "name": name,
        "credentialSubject": subject,
        "credentialSchema": [{"id": OB_SCHEMA, "type": SCHEMA_TYPE}],
    }


def _badge(signer: Signer, issuer: dict[str, Any], competency: Competency, status_url: str) -> dict[str, Any]:
    cid = _uuid(competency.key)
    levels = [
        LevelInfo(id=_uuid(f"{competency.key}-{rank}"), position=rank, title=n)
        for rank, n in enumerate(LEVELS, 1)
    ]
    assert competency.reached is not None
    info = BadgeInfo(
        id=_uuid(f"badge-{competency.key}"),
        name=f"{competency.name} badge",
        description=f"Awarded for {competency.name.lower()}.",
        criteria="Two performance tasks at the level shown.",
        competencies=[
            CompetencyInfo(
                id=cid,
                title=competency.name,
                statement=competency.name,
                code=competency.key.upper(),
                framework_title="Portrait of a Graduate",
                levels=levels,
                achieved_level=levels[competency.reached - 1].id,
            )
        ],
    )
    unsigned = build_badge_credential(
        public_url=PUBLIC_URL,
        credential_id=_uuid(f"credential-{competency.key}"),
        tenant_id=_uuid("tenant"),
        issuer=Profile(id=issuer["id"], name=issuer["name"], url=issuer["url"]),
        slug="north",
        badge=info,
        learner=LearnerInfo(id=_uuid("learner"), email="ada@example.org"),
        evidence=[],
        status=BitstringStatusListEntry(status_url, 1234),
        valid_from=datetime(2026, 3, 2, 15, 0, tzinfo=UTC),
        awarded_at=datetime(2026, 3, 2, 15, 0, tzinfo=UTC),
        fallback_image=f"{PUBLIC_URL}/static/badge.png",
        salt="0ddba11",
    ).to_json()
    return sign_data_integrity(unsigned, signer)


def build_clr(
    signer: Signer | None = None,
    *,
    status_url: str = f"{PUBLIC_URL}/status-lists/1",
    with_courses: bool = True,
    with_badges: bool = True,
    competencies: Sequence[Competency] = COMPETENCIES,
    courses: Sequence[tuple[Any, ...]] = COURSES,
) -> dict[str, Any]:
    """A signed ClrCredential: by default the Portrait tree (3 attributes, 5 competencies on a 4-level
    scale), 2 badges, 2 competency records and 5 course records over 3 terms."""
    signer = signer or did_key_signer()
    issuer = {
        "id": signer.controller,
        "type": ["Profile"],
        "name": "North Valley Unified",
        "url": f"{PUBLIC_URL}/issuers/north",
    }
    portrait_id = f"{PUBLIC_URL}/portraits/pog"
    achievements: list[dict[str, Any]] = [
        _definition(portrait_id, "Portrait of a Graduate", "ext:Portrait", issuer, version="2026.1")
    ]
    associations: list[dict[str, Any]] = []
    for attribute in dict.fromkeys(c.attribute for c in competencies):
        attr_id = f"{portrait_id}/attributes/{attribute.lower().replace(' ', '-')}"
        achievements.append(_definition(attr_id, attribute, "ext:PortraitAttribute", issuer))
        associations.append(
            {
                "type": "Association",
                "associationType": "isChildOf",
                "sourceId": attr_id,
                "targetId": portrait_id,
            }
        )
        for competency in (c for c in competencies if c.attribute == attribute):
            achievements.append(
                _definition(
                    competency_id(competency),
                    competency.name,
                    "Competency",
                    issuer,
                    alignment=[
                        {
                            "type": ["Alignment"],
                            "targetName": competency.name,
                            "targetUrl": cf_item_url(PUBLIC_URL, _uuid(competency.key)),
                            "targetType": "CFItem",
                        }
                    ],
                    resultDescription=[_scale(competency)],
                )
            )
            associations.append(
                {
                    "type": "Association",
                    "associationType": "isParentOf",
                    "sourceId": attr_id,
                    "targetId": competency_id(competency),
                }
            )
    nested: list[dict[str, Any]] = []
    for competency in competencies:
        if competency.reached is None:
            continue
        if competency.by_badge:
            if with_badges:
                nested.append(_badge(signer, issuer, competency, status_url))
            continue
        subject = {
            "id": LEARNER,
            "type": ["AchievementSubject"],
            "achievement": _definition(
                competency_id(competency),
                competency.name,
                "Competency",
                issuer,
                resultDescription=[_scale(competency)],
            ),
            "result": [
                {
                    "type": ["Result"],
                    "resultDescription": f"{competency_id(competency)}#scale",
                    "achievedLevel": level_id(competency, competency.reached),
                }
            ],
        }
        record = _credential(
            f"urn:uuid:{_uuid('record-' + competency.key)}",
            f"{competency.name}: {LEVELS[competency.reached - 1]}",
            issuer,
            subject,
            "2026-05-01T12:00:00Z",
        )
        nested.append(sign_data_integrity(record, signer))
    if with_courses:
        for title, code, subject_name, term, start, grade, earned, available, status in courses:
            course_id = f"{PUBLIC_URL}/courses/{code.lower()}"
            definition = _definition(
                course_id,
                title,
                "Course",
                issuer,
                humanCode=code,
                fieldOfStudy=subject_name,
                creditsAvailable=available,
                resultDescription=[
                    {
                        "id": f"{course_id}#grade",
                        "type": ["ResultDescription"],
                        "name": "Final grade",
                        "resultType": "LetterGrade" if not grade.isdigit() else "Percent",
                    }
                ],
            )
            achievements.append(definition)
            subject = {
                "id": LEARNER,
                "type": ["AchievementSubject"],
                "achievement": definition,
                "term": term,
                "activityStartDate": f"{start}T00:00:00Z",
                "result": [
                    {
                        "type": ["Result"],
                        "resultDescription": f"{course_id}#grade",
                        "value": grade,
                        "status": status,
                    }
                ],
            }
            if earned is not None:
                subject["creditsEarned"] = earned
            nested.append(
                sign_data_integrity(
                    _credential(
                        f"urn:uuid:{_uuid('course-' + code)}",
                        f"{title} ({term})",
                        issuer,
                        subject,
                        "2026-06-15T12:00:00Z",
                    ),
                    signer,
                )
            )
    clr = {
        "@context": [VC_V2, CLR, OB, OB_EXT],
        "id": f"{PUBLIC_URL}/transcripts/{TRANSCRIPT_ID}",
        "type": ["VerifiableCredential", "ClrCredential"],
        "issuer": issuer,
        "validFrom": "2026-11-30T09:00:00Z",
        "name": "Extended transcript",
        "partial": not (with_courses and with_badges),
        "credentialSubject": {
            "id": LEARNER,
            "type": ["ClrSubject"],
            "achievement": achievements,
            "verifiableCredential": nested,
            "association": associations,
        },
        "credentialSchema": [{"id": CLR_SCHEMA, "type": SCHEMA_TYPE}],
    }
    return sign_data_integrity(clr, signer)


def large_clr(signer: Signer | None = None, *, badges: int = 30, courses: int = 40) -> dict[str, Any]:
    """A senior's record: ``badges`` competencies shown by badges (plus a few records), ``courses`` course
    records over four school years (8 terms)."""
    attributes = ["Communicator", "Collaborator", "Critical thinker", "Creator", "Citizen", "Self-directed"]
    comps = [
        Competency(f"c{i}", f"Competency {i + 1}", attributes[i % len(attributes)], 1 + i % 4, by_badge=True)
        for i in range(badges)
    ] + [Competency(f"r{i}", f"Record competency {i + 1}", attributes[i], 1 + i % 4) for i in range(6)]
    terms = [
        (f"{season} {year}", f"{year}-{'08-25' if season == 'Fall' else '01-12'}")
        for year in range(2023, 2027)
        for season in ("Spring", "Fall")
    ]
    rows = [
        (
            f"Course {i + 1}",
            f"C-{i + 1:03d}",
            "Mathematics",
            terms[i % len(terms)][0],
            terms[i % len(terms)][1],
            "ABCD"[i % 4],
            1.0,
            1.0,
            "Completed",
        )
        for i in range(courses)
    ]
    return build_clr(signer, competencies=comps, courses=rows)
