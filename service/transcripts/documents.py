"""What a transcript says, assembled from domain facts (pure, no I/O).

The service gathers rows; this module decides the ClrCredential and the district-signed records in it:

* ``achievement``: the Portrait as a tree (the portrait itself as a ``LearningProgram``, each attribute
  as an ``Achievement``, each competency as a ``Competency`` with the rubric scale as
  ``RubricCriterionLevel`` entries) and each course (``Course``, with its grade scale); ``association``
  entries link the tree both ways (``isChildOf`` child -> parent, ``isParentOf`` parent -> child);
* ``verifiableCredential``: the learner's badges verbatim, then an ``AchievementCredential`` per
  competency level reached without a badge and per course record (see :func:`record_hash` for reuse);
* the subject: the same stable learner URN as the badges and salted-hash identifiers.

Ids: the portrait is its CASE CFDocument URL, attributes and competencies their CASE CFItem URLs (the
same URLs the badges align to), courses a ``urn:uuid`` derived from the district and the course.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time
from typing import Any

from service.badges.documents import CASE_PATH, LearnerInfo, cf_item_url, learner_urn
from service.credentials import (
    Achievement,
    AchievementSubject,
    Alignment,
    BitstringStatusListEntry,
    Criteria,
    IdentityObject,
    OpenBadgeCredential,
    Profile,
    Result,
    ResultDescription,
    RubricCriterionLevel,
)
from service.credentials.clr import Association, ClrCredential, ClrSubject
from service.transcripts.academic import CourseRecordInfo

COURSE_NAMESPACE = uuid.UUID("0b7c1d52-8f0e-4d8a-9c61-6a2f3f5e7d10")
RESULT_STATUS = {"completed": "Completed", "in_progress": "InProgress", "withdrawn": "Withdrew"}


def transcript_url(public_url: str, transcript_id: uuid.UUID) -> str:
    return f"{public_url}/transcripts/{transcript_id}"


def portrait_url(public_url: str, framework_id: uuid.UUID) -> str:
    return f"{public_url}{CASE_PATH}/CFDocuments/{framework_id}"


def course_achievement_id(tenant_id: uuid.UUID, record: CourseRecordInfo) -> str:
    key = str(record.course_id) if record.course_id else f"{record.course_code}|{record.course_title}"
    return f"urn:uuid:{uuid.uuid5(COURSE_NAMESPACE, f'{tenant_id}:{key}')}"


@dataclass(frozen=True)
class Level:
    id: uuid.UUID
    position: int
    title: str
    description: str | None = None
    proficient: bool = False


@dataclass(frozen=True)
class AttributeNode:
    id: uuid.UUID
    title: str
    description: str | None = None
    code: str | None = None


@dataclass(frozen=True)
class CompetencyNode:
    id: uuid.UUID
    title: str
    statement: str
    code: str | None = None
    attribute_id: uuid.UUID | None = None
    parent_id: uuid.UUID | None = None
    look_fors: Sequence[str] = ()
    #: level id -> the competency's descriptor of that level
    descriptors: Mapping[uuid.UUID, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Portrait:
    id: uuid.UUID
    title: str
    version: str
    kind: str
    description: str | None = None
    attributes: Sequence[AttributeNode] = ()
    competencies: Sequence[CompetencyNode] = ()
    levels: Sequence[Level] = ()

    def level(self, level_id: uuid.UUID) -> Level | None:
        return next((lv for lv in self.levels if lv.id == level_id), None)


@dataclass(frozen=True)
class Issuer:
    public_url: str
    tenant_id: uuid.UUID
    slug: str
    name: str
    profile: Profile


# -- the Portrait tree ------------------------------------------------------------------------------


def competency_achievement(issuer: Issuer, portrait: Portrait, node: CompetencyNode) -> Achievement:
    cid = cf_item_url(issuer.public_url, node.id)
    levels = sorted(portrait.levels, key=lambda lv: lv.position)
    criteria = node.statement
    if node.look_fors:
        criteria += "\n\nLook-fors:\n" + "\n".join(f"- {item}" for item in node.look_fors)
    return Achievement(
        id=cid,
        name=node.title,
        description=node.statement,
        criteria=Criteria(narrative=criteria),
        achievement_type="Competency",
        human_code=node.code,
        alignment=[
            Alignment(
                target_name=node.title,
                target_url=cid,
                target_type="CFItem",
                target_code=node.code,
                target_framework=portrait.title,
            )
        ],
        result_description=[
            ResultDescription(
                id=f"{cid}#levels",
                name=f"{node.title}: rubric level",
                result_type="RubricCriterionLevel",
                rubric_criterion_level=[
                    RubricCriterionLevel(
                        id=f"{cid}#level-{level.id}",
                        name=level.title,
                        description=node.descriptors.get(level.id) or level.description,
                        level=str(level.position),
                    )
                    for level in levels
                ],
            )
        ]
        if levels
        else [],
    )


def portrait_tree(issuer: Issuer, portrait: Portrait) -> tuple[list[Achievement], list[Association]]:
    """The portrait, its attributes and competencies as achievements, and the associations between them."""
    root = portrait_url(issuer.public_url, portrait.id)
    achievements = [
        Achievement(
            id=root,
            name=portrait.title,
            description=portrait.description or f"{issuer.name}: {portrait.title}",
            criteria=Criteria(
                narrative="Growth in each competency of the Portrait, shown by evidence scored on the rubric "
                "scale and by the badges the district awards."
            ),
            achievement_type="LearningProgram",
            version=portrait.version,
            creator=Profile(id=issuer.profile.id, name=issuer.profile.name, url=issuer.profile.url),
        )
    ]
    associations: list[Association] = []

    def link(child: str, parent: str) -> None:
        associations.append(Association("isChildOf", child, parent))
        associations.append(Association("isParentOf", parent, child))

    attribute_ids = {a.id for a in portrait.attributes}
    for attribute in portrait.attributes:
        aid = cf_item_url(issuer.public_url, attribute.id)
        achievements.append(
            Achievement(
                id=aid,
                name=attribute.title,
                description=attribute.description or attribute.title,
                criteria=Criteria(narrative=f"The competencies of {attribute.title}."),
                achievement_type="Achievement",
                human_code=attribute.code,
            )
        )
        link(aid, root)
    competency_ids = {c.id for c in portrait.competencies}
    for node in portrait.competencies:
        achievement = competency_achievement(issuer, portrait, node)
        achievements.append(achievement)
        if node.parent_id is not None and node.parent_id in competency_ids:
            parent = cf_item_url(issuer.public_url, node.parent_id)
        elif node.attribute_id is not None and node.attribute_id in attribute_ids:
            parent = cf_item_url(issuer.public_url, node.attribute_id)
        else:
            parent = root
        link(achievement.id, parent)
    return achievements, associations


# -- courses ----------------------------------------------------------------------------------------


def _scale_bounds(scale: str | None) -> tuple[str, str] | None:
    if not scale or "-" not in scale:
        return None
    low, _, high = scale.partition("-")
    try:
        float(low)
        float(high)
    except ValueError:
        return None
    return low.strip(), high.strip()


def course_achievement(issuer: Issuer, record: CourseRecordInfo) -> Achievement:
    aid = course_achievement_id(issuer.tenant_id, record)
    bounds = _scale_bounds(record.grade_scale)
    if bounds is not None:
        result_type = "Percent" if bounds == ("0", "100") else "ScaledScore"
    elif record.grade_numeric is not None and not record.grade_scale:
        result_type = "RawScore"
    else:
        result_type = "LetterGrade"
    scale = f" ({record.grade_scale})" if record.grade_scale else ""
    description = record.course_title + (f", {record.subject}" if record.subject else "")
    return Achievement(
        id=aid,
        name=record.course_title,
        description=description,
        criteria=Criteria(narrative=f"Completion of the course with a final grade{scale}."),
        achievement_type="Course",
        human_code=record.course_code or None,
        field_of_study=record.subject,
        credits_available=record.credits_attempted,
        result_description=[
            ResultDescription(
                id=f"{aid}#grade",
                name=f"Final grade{scale}",
                result_type=result_type,
                value_min=bounds[0] if bounds else None,
                value_max=bounds[1] if bounds else None,
            )
        ],
    )


# -- records the district signs ---------------------------------------------------------------------


def identifiers(learner: LearnerInfo, salt: str | None = None) -> list[IdentityObject]:
    out = []
    if learner.email:
        out.append(IdentityObject.hashed_identity(learner.email, "emailAddress", salt))
    if learner.sourced_id:
        out.append(IdentityObject.hashed_identity(learner.sourced_id, "sourcedId", salt))
    return out


def _at(day: date | None) -> datetime | None:
    return datetime.combine(day, time(), tzinfo=UTC) if day else None


def course_record(
    issuer: Issuer, learner: LearnerInfo, record: CourseRecordInfo, *, record_id: uuid.UUID, now: datetime
) -> OpenBadgeCredential:
    """The AchievementCredential of one course record: the grade as ``result``, the credits, the term."""
    achievement = course_achievement(issuer, record)
    term = record.term_title or record.school_year
    if record.term_title and record.school_year and record.school_year not in record.term_title:
        term = f"{record.term_title} ({record.school_year})"
    narrative = f"Taken at {record.school_name}." if record.school_name else None
    grade = record.grade or (str(record.grade_numeric) if record.grade_numeric is not None else None)
    return OpenBadgeCredential(
        id=f"urn:uuid:{record_id}",
        issuer=issuer.profile,
        valid_from=now,
        awarded_date=_at(record.completed_on),
        name=f"{record.course_title}: {grade}" if grade else record.course_title,
        credential_type="AchievementCredential",
        credential_subject=AchievementSubject(
            id=learner_urn(issuer.tenant_id, learner.id),
            identifier=identifiers(learner),
            achievement=achievement,
            result=[
                Result(
                    result_description=f"{achievement.id}#grade",
                    value=grade,
                    status=RESULT_STATUS.get(record.status),
                )
            ],
            credits_earned=record.credits_earned,
            term=term,
            activity_end_date=_at(record.completed_on),
            narrative=narrative,
        ),
    )


def level_record(
    issuer: Issuer,
    learner: LearnerInfo,
    portrait: Portrait,
    node: CompetencyNode,
    level: Level,
    *,
    record_id: uuid.UUID,
    now: datetime,
    self_assessed: bool,
) -> OpenBadgeCredential:
    """The AchievementCredential of the level a learner reached in a competency (no badge for it yet)."""
    achievement = competency_achievement(issuer, portrait, node)
    source = (
        "educators' assessments and the learner's self-assessments"
        if self_assessed
        else ("educators' assessments")
    )
    return OpenBadgeCredential(
        id=f"urn:uuid:{record_id}",
        issuer=issuer.profile,
        valid_from=now,
        name=f"{node.title}: {level.title}",
        credential_type="AchievementCredential",
        credential_subject=AchievementSubject(
            id=learner_urn(issuer.tenant_id, learner.id),
            identifier=identifiers(learner),
            achievement=achievement,
            result=[
                Result(
                    result_description=f"{achievement.id}#levels",
                    achieved_level=f"{achievement.id}#level-{level.id}",
                    status="Completed" if level.proficient else "InProgress",
                )
            ],
            narrative=f"The highest level on the rubric scale reached in evidence from {source}.",
        ),
    )


def program_record(
    issuer: Issuer, learner: LearnerInfo, portrait: Portrait | None, *, record_id: uuid.UUID, now: datetime
) -> OpenBadgeCredential:
    """A learner with nothing recorded yet still has a record (CLR 2.0 needs one credential at least):
    that they are a learner of the district's Portrait program, with no result yet."""
    if portrait is not None:
        achievement = portrait_tree(issuer, portrait)[0][0]
    else:
        achievement = Achievement(
            id=f"{issuer.public_url}/issuers/{issuer.slug}#learner-record",
            name=f"{issuer.name}: learner record",
            description=f"A learner of {issuer.name}.",
            criteria=Criteria(narrative="Enrolled as a learner of the district."),
            achievement_type="LearningProgram",
        )
    return OpenBadgeCredential(
        id=f"urn:uuid:{record_id}",
        issuer=issuer.profile,
        valid_from=now,
        name=f"{achievement.name}: learner",
        credential_type="AchievementCredential",
        credential_subject=AchievementSubject(
            id=learner_urn(issuer.tenant_id, learner.id),
            identifier=identifiers(learner),
            achievement=achievement,
            narrative="A learner of the program; no competency level, badge or course record yet.",
        ),
    )


def record_hash(unsigned: Mapping[str, Any], learner: LearnerInfo) -> str:
    """What a record says, as a SHA-256 hex digest: everything but its id, its signing date and the
    (salted, so each time different) identifier hashes, plus the identifiers themselves. Equal while
    nothing it states has changed."""
    body = {key: value for key, value in unsigned.items() if key not in ("id", "validFrom", "proof")}
    subject = {key: value for key, value in body.get("credentialSubject", {}).items() if key != "identifier"}
    body["credentialSubject"] = subject
    text = json.dumps(
        [body, learner.email or "", learner.sourced_id or ""], sort_keys=True, separators=(",", ":")
    )
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


# -- the transcript ---------------------------------------------------------------------------------


def covered_competencies(badges: Sequence[Mapping[str, Any]]) -> set[str]:
    """The competency (CFItem) URLs the badges align to: a competency with a badge needs no level record."""
    urls: set[str] = set()
    for badge in badges:
        subject = badge.get("credentialSubject")
        achievement = subject.get("achievement") if isinstance(subject, Mapping) else None
        alignments = achievement.get("alignment") if isinstance(achievement, Mapping) else None
        for alignment in alignments or []:
            if isinstance(alignment, Mapping) and isinstance(alignment.get("targetUrl"), str):
                urls.add(alignment["targetUrl"])
    return urls


def transcript_credential(
    *,
    issuer: Issuer,
    transcript_id: uuid.UUID,
    learner: LearnerInfo,
    portrait: Portrait | None,
    courses: Sequence[CourseRecordInfo],
    credentials: Sequence[Mapping[str, Any]],
    as_of: date,
    partial: bool,
    status: BitstringStatusListEntry,
    now: datetime,
    notes: Sequence[str] = (),
) -> ClrCredential:
    achievements: list[Achievement] = []
    associations: list[Association] = []
    if portrait is not None:
        achievements, associations = portrait_tree(issuer, portrait)
    seen = {a.id for a in achievements}
    for record in courses:
        course = course_achievement(issuer, record)
        if course.id not in seen:
            seen.add(course.id)
            achievements.append(course)
    what = (
        f"{portrait.title}, version {portrait.version}" if portrait is not None else "no Portrait published"
    )
    description = (
        f"Extended transcript (Comprehensive Learner Record) issued by {issuer.name}. "
        f"Portrait: {what}. Records as of {as_of.isoformat()}."
    )
    if notes:
        description += " " + " ".join(notes)
    return ClrCredential(
        id=transcript_url(issuer.public_url, transcript_id),
        issuer=issuer.profile,
        valid_from=now,
        awarded_date=now,
        name=f"Extended transcript: {portrait.title}" if portrait is not None else "Extended transcript",
        description=description,
        partial=partial,
        credential_status=status,
        credential_subject=ClrSubject(
            id=learner_urn(issuer.tenant_id, learner.id),
            identifier=identifiers(learner),
            achievement=achievements,
            verifiable_credential=list(credentials),
            association=associations,
        ),
    )
