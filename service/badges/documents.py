"""Assemble the OpenBadgeCredential of an award from domain data (pure, no I/O).

The service gathers rows; this module decides what the credential says:

* the issuer Profile (``id`` = the district's did:web, ``url`` = its public profile page);
* the AchievementSubject: a stable per-learner URN as ``id`` (a UUID derived from tenant and learner,
  so the internal learner id is not exposed) and salted-hash ``identifier`` entries for the learner's
  e-mail address and SIS sourcedId;
* the Achievement: name, description, criteria, image, an alignment per competency to its CASE CFItem
  URL, a ResultDescription with the framework's rubric levels, and a Result with the achieved level;
* evidence entries for the pieces of evidence the award rests on.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

from service.credentials import (
    Achievement,
    AchievementSubject,
    Alignment,
    BitstringStatusListEntry,
    Criteria,
    Evidence,
    IdentityObject,
    Image,
    OpenBadgeCredential,
    Profile,
    Result,
    ResultDescription,
    RubricCriterionLevel,
)

#: Namespace of the learner URNs (``urn:uuid:<uuid5(namespace, tenant:learner)>``).
LEARNER_NAMESPACE = uuid.UUID("6f7d2a4e-2b8e-4f53-9a55-3c1f1f0b5d21")
CASE_PATH = "/ims/case/v1p1"


def learner_urn(tenant_id: uuid.UUID, learner_id: uuid.UUID) -> str:
    """The stable ``credentialSubject.id`` of a learner: the same in every credential of the district."""
    return f"urn:uuid:{uuid.uuid5(LEARNER_NAMESPACE, f'{tenant_id}:{learner_id}')}"


def credential_url(public_url: str, credential_id: uuid.UUID) -> str:
    return f"{public_url}/credentials/{credential_id}"


def status_list_url(public_url: str, list_id: uuid.UUID) -> str:
    return f"{public_url}/status-lists/{list_id}"


def issuer_url(public_url: str, slug: str) -> str:
    return f"{public_url}/issuers/{slug}"


def achievement_url(public_url: str, slug: str, achievement_id: uuid.UUID) -> str:
    return f"{public_url}/issuers/{slug}/achievements/{achievement_id}"


def cf_item_url(public_url: str, competency_id: uuid.UUID) -> str:
    return f"{public_url}{CASE_PATH}/CFItems/{competency_id}"


@dataclass(frozen=True)
class LevelInfo:
    id: uuid.UUID
    position: int
    title: str
    description: str | None = None


@dataclass(frozen=True)
class CompetencyInfo:
    id: uuid.UUID
    title: str
    statement: str
    code: str | None
    framework_title: str
    levels: Sequence[LevelInfo] = ()
    #: The level the learner's evidence reached (highest position), if rubric-scored.
    achieved_level: uuid.UUID | None = None


@dataclass(frozen=True)
class EvidenceInfo:
    id: uuid.UUID
    source: str
    competency_title: str
    level_title: str | None
    observed_at: datetime
    narrative: str | None = None


@dataclass(frozen=True)
class LearnerInfo:
    id: uuid.UUID
    email: str | None = None
    sourced_id: str | None = None


@dataclass(frozen=True)
class BadgeInfo:
    """What the credential says about the achievement (from an award or a direct request)."""

    id: uuid.UUID
    name: str
    description: str
    criteria: str
    achievement_type: str = "Competency"
    image_url: str | None = None
    tags: Sequence[str] = ()
    competencies: Sequence[CompetencyInfo] = field(default_factory=tuple)


def issuer_profile(public_url: str, did: str, slug: str, name: str) -> Profile:
    return Profile(id=did, name=name, url=issuer_url(public_url, slug))


def _image(badge: BadgeInfo, fallback: str) -> Image:
    return Image(id=badge.image_url or fallback, caption=badge.name)


def build_achievement(public_url: str, slug: str, badge: BadgeInfo, fallback_image: str) -> Achievement:
    ach_url = achievement_url(public_url, slug, badge.id)
    alignments = [
        Alignment(
            target_name=c.title,
            target_url=cf_item_url(public_url, c.id),
            target_type="CFItem",
            target_code=c.code,
            target_description=c.statement,
            target_framework=c.framework_title,
        )
        for c in badge.competencies
    ]
    descriptions = [
        ResultDescription(
            id=f"{ach_url}#result-{c.id}",
            name=f"{c.title}: rubric level",
            result_type="RubricCriterionLevel",
            rubric_criterion_level=[
                RubricCriterionLevel(
                    id=f"{ach_url}#level-{level.id}",
                    name=level.title,
                    description=level.description,
                    level=str(level.position),
                )
                for level in sorted(c.levels, key=lambda lv: lv.position)
            ],
            alignment=[alignments[i]],
        )
        for i, c in enumerate(badge.competencies)
        if c.levels
    ]
    return Achievement(
        id=ach_url,
        name=badge.name,
        description=badge.description,
        criteria=Criteria(narrative=badge.criteria),
        image=_image(badge, fallback_image),
        achievement_type=badge.achievement_type,
        alignment=alignments,
        result_description=descriptions,
        tag=list(badge.tags),
    )


def build_badge_credential(
    *,
    public_url: str,
    credential_id: uuid.UUID,
    tenant_id: uuid.UUID,
    issuer: Profile,
    slug: str,
    badge: BadgeInfo,
    learner: LearnerInfo,
    evidence: Sequence[EvidenceInfo],
    status: BitstringStatusListEntry,
    valid_from: datetime,
    awarded_at: datetime | None,
    fallback_image: str,
    salt: str | None = None,
) -> OpenBadgeCredential:
    """The unsigned credential of one learner's achievement."""
    ach_url = achievement_url(public_url, slug, badge.id)
    identifiers = []
    if learner.email:
        identifiers.append(IdentityObject.hashed_identity(learner.email, "emailAddress", salt))
    if learner.sourced_id:
        identifiers.append(IdentityObject.hashed_identity(learner.sourced_id, "sourcedId", salt))
    results = [
        Result(
            result_description=f"{ach_url}#result-{c.id}",
            achieved_level=f"{ach_url}#level-{c.achieved_level}",
        )
        for c in badge.competencies
        if c.levels and c.achieved_level is not None and any(lv.id == c.achieved_level for lv in c.levels)
    ]
    subject = AchievementSubject(
        id=learner_urn(tenant_id, learner.id),
        achievement=build_achievement(public_url, slug, badge, fallback_image),
        identifier=identifiers,
        result=results,
    )
    return OpenBadgeCredential(
        id=credential_url(public_url, credential_id),
        issuer=issuer,
        credential_subject=subject,
        valid_from=valid_from,
        awarded_date=awarded_at,
        name=badge.name,
        description=badge.description,
        image=_image(badge, fallback_image),
        evidence=[
            Evidence(
                id=f"urn:uuid:{e.id}",
                name=f"{e.source.replace('_', ' ').capitalize()} evidence: {e.competency_title}",
                narrative=e.narrative,
                description=(
                    f"Observed {e.observed_at.date().isoformat()}"
                    + (f" at level {e.level_title}" if e.level_title else "")
                ),
                genre=e.source,
            )
            for e in evidence
        ],
        credential_status=status,
    )
