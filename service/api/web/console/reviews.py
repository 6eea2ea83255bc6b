"""The review queue: awards waiting for approval (status pending_review) of the learners a person may see,
with the evidence behind each; approve (which queues the Open Badges credential, as the API's decision
does) or decline with a reason. Decisions go through ``AwardService.decide``, the API's own path."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlmodel.ext.asyncio.session import AsyncSession

from service.api.deps import ROLLBACK_ONLY, SessionDep, SettingsDep
from service.api.web.console.common import (
    CsrfField,
    UserDep,
    check_csrf,
    context,
    identity,
    page,
    refuse,
    to_sign_in,
)
from service.awards.errors import InvalidAwardTransition
from service.awards.schemas import AwardDecision, AwardRead
from service.awards.service import AwardService
from service.config import Settings
from service.errors import NotFoundError, ServiceError
from service.evidence.service import EvidenceService
from service.frameworks.service import FrameworkService
from service.identity.service import CONSOLE_PATH, SignedIn
from service.roster.service import RosterService
from service.schemas import PageParams, contains_nul

router = APIRouter(prefix=CONSOLE_PATH, include_in_schema=False)

QUEUE_LIMIT = 50
#: A decision's reason is kept with the award (and sent in its webhook): bounded like the API's.
MAX_REASON = 2000
SOURCE_LABELS = {
    "rubric": "rubric score",
    "grade": "grade",
    "artifact": "artifact",
    "exhibition": "exhibition",
    "self_assessment": "self-assessment",
}
DONE_MESSAGES = {
    "approved": ("Award approved", "Its credential is being issued and will show on the learner's page."),
    "declined": (
        "Award declined",
        "The learner does not get this badge; your reason is kept with the award.",
    ),
}


def _reach(user: SignedIn) -> dict[str, Any]:
    access = user.access
    if access.district_wide:
        return {"within_orgs": None, "within_classes": None}
    return {"within_orgs": access.school_ids, "within_classes": access.class_ids}


def decided_by(user: SignedIn) -> str:
    """Who decided, as the award records it (the API records its client id)."""
    return f"staff:{user.person.id}"


async def _queue_rows(session: AsyncSession, user: SignedIn, awards: list[AwardRead]) -> list[dict[str, Any]]:
    tenant_id = user.tenant.id
    learners = await RosterService(session, tenant_id).people_by_ids([a.learner_id for a in awards])
    achievements = await AwardService(session, tenant_id).achievements_by_ids(
        [a.achievement_id for a in awards]
    )
    evidence = await EvidenceService(session, tenant_id).evidence_by_ids(
        [e for a in awards for e in a.evidence_ids]
    )
    frameworks = FrameworkService(session, tenant_id)
    competencies: dict[uuid.UUID, str] = {}
    levels: dict[tuple[uuid.UUID, int], str] = {}
    for framework_id in {p.framework_id for p in evidence.values()}:
        tree = await frameworks.load_tree(framework_id)
        levels.update({(framework_id, lv.position): lv.title for lv in tree.levels})
        competencies.update({c.id: c.title for c in tree.competencies})
    classes = await RosterService(session, tenant_id).classes_by_ids(
        [p.class_id for p in evidence.values() if p.class_id]
    )
    rows = []
    for award in awards:
        learner = learners.get(award.learner_id)
        achievement = achievements.get(award.achievement_id)
        pieces = sorted(
            (evidence[e] for e in award.evidence_ids if e in evidence), key=lambda p: p.observed_at
        )
        rows.append(
            {
                "id": award.id,
                "learner_id": award.learner_id,
                "learner": f"{learner.given_name} {learner.family_name}" if learner else "A learner",
                "achievement": achievement.title if achievement else "An achievement",
                "criteria": achievement.criteria if achievement else "",
                "created_at": award.created_at,
                "evidence": [
                    {
                        "observed_at": p.observed_at,
                        "competency": competencies.get(p.competency_id, "a competency"),
                        "level": levels.get((p.framework_id, p.level_position), "no level")
                        if p.level_position is not None
                        else (f"score {p.score:g}" if p.score is not None else "no level"),
                        "source": SOURCE_LABELS.get(p.source, p.source),
                        "class_title": classes[p.class_id].title if p.class_id in classes else "",
                        "narrative": p.narrative or "",
                        "withdrawn": p.status == "withdrawn",
                    }
                    for p in pieces
                ],
            }
        )
    return rows


async def _queue_page(
    request: Request,
    session: AsyncSession,
    settings: Settings,
    user: SignedIn,
    *,
    done: str = "",
    error: dict[str, str] | None = None,
    status_code: int = 200,
) -> Response:
    awards, total = await AwardService(session, user.tenant.id).review_queue(
        PageParams(limit=QUEUE_LIMIT, offset=0), **_reach(user)
    )
    return page(
        request,
        "console/reviews.html",
        context(
            request,
            settings,
            user,
            page_title="Awards to review",
            awards=await _queue_rows(session, user, awards),
            total=total,
            done=DONE_MESSAGES.get(done),
            error=error,
            max_reason=MAX_REASON,
        ),
        status_code=status_code,
    )


@router.get("/reviews", response_class=HTMLResponse)
async def reviews(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    user: UserDep,
    done: Annotated[str, Query(max_length=16)] = "",
) -> Response:
    if user is None:
        return to_sign_in()
    return await _queue_page(request, session, settings, user, done=done)


@router.post("/reviews/{award_id}/decision", response_class=HTMLResponse)
async def decide(
    award_id: str,
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    user: UserDep,
    decision: Annotated[str, Form(max_length=16)] = "",
    reason: Annotated[str, Form(max_length=MAX_REASON * 2)] = "",
    csrf_token_field: CsrfField = "",
) -> Response:
    if user is None:
        return to_sign_in()
    not_yours = NotFoundError(
        "there is no award waiting for review among the learners of your schools and classes"
    )
    try:
        check_csrf(request, settings, user, csrf_token_field)
    except ServiceError as exc:
        return refuse(request, session, settings, user, exc)
    try:
        wanted = uuid.UUID(award_id[:64])
    except ValueError:
        return refuse(request, session, settings, user, not_yours, heading="Award not found")
    service = AwardService(session, user.tenant.id)
    try:
        award = await service.get_award(wanted)
    except ServiceError:
        return refuse(request, session, settings, user, not_yours, heading="Award not found")
    if not await identity(request, session, settings).learner_visible(user.access, award.learner_id):
        return refuse(request, session, settings, user, not_yours, heading="Award not found")

    reason = reason.strip()
    problem = ""
    if decision not in ("approve", "decline") or contains_nul([decision, reason]):
        problem = "Choose to approve or to decline the award"
    elif decision == "decline" and not reason:
        problem = "Enter the reason for declining: the award keeps it"
    elif len(reason) > MAX_REASON:
        problem = f"The reason must be {MAX_REASON} characters or fewer (it has {len(reason)})"
    if problem:
        session.info[ROLLBACK_ONLY] = True
        return await _queue_page(
            request,
            session,
            settings,
            user,
            error={"award_id": str(wanted), "message": problem, "reason": reason[:MAX_REASON]},
            status_code=422,
        )
    try:
        await service.decide(
            wanted,
            AwardDecision(decision="approve" if decision == "approve" else "reject", reason=reason or None),
            decided_by=decided_by(user),
        )
    except InvalidAwardTransition:
        return refuse(
            request,
            session,
            settings,
            user,
            InvalidAwardTransition("this award was already decided: it is no longer waiting for review"),
            heading="Award already decided",
            next_steps="The learner's page shows what was decided.",
        )
    except ServiceError as exc:
        return refuse(request, session, settings, user, exc)
    done = "approved" if decision == "approve" else "declined"
    return RedirectResponse(f"{CONSOLE_PATH}/reviews?done={done}", status_code=303)
