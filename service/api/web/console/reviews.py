"""The review queue of the learners a person may see, in two sections:

- awards waiting for approval (status pending_review), with the evidence behind each; approve (which
  queues the Open Badges credential, as the API's decision does) or decline with a reason;
- badges to re-check: awards already given (awarded) and flagged for review because evidence behind them
  was withdrawn or corrected (an educator's correction, a OneRoster sync); keep the badge, or revoke it
  with a reason (which revokes its credential, as the API's decision does).

Decisions go through ``AwardService.decide``, the API's own path."""

from __future__ import annotations

import uuid
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlmodel.ext.asyncio.session import AsyncSession

from service.api.deps import ROLLBACK_ONLY, SessionDep, SettingsDep
from service.api.web.console.common import (
    CsrfField,
    UserDep,
    check_csrf,
    context,
    evidence_level_label,
    identity,
    page,
    refuse,
    source_label,
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
DONE_MESSAGES = {
    "approved": ("Award approved", "Its credential is being issued and will show on the learner's page."),
    "declined": (
        "Award declined",
        "The learner does not get this badge; your reason is kept with the award.",
    ),
    "kept": ("Badge kept", "The learner keeps the badge; it is no longer waiting to be re-checked."),
    "revoked": (
        "Badge revoked",
        "The learner no longer holds this badge and its credential is being revoked; your reason is kept "
        "with the award.",
    ),
}
#: The console's decisions and the API's (AwardDecision): pending awards, and flagged awarded ones.
Decision = Literal["approve", "reject", "keep", "revoke"]
PENDING_DECISIONS: dict[str, Decision] = {"approve": "approve", "decline": "reject"}
RECHECK_DECISIONS: dict[str, Decision] = {"keep": "keep", "revoke": "revoke"}
DONE_OF = {"approve": "approved", "decline": "declined", "keep": "kept", "revoke": "revoked"}
#: Why evidence was withdrawn, in plain words (the reasons the service itself writes).
WITHDRAWN_WORDS = {
    "superseded by a correction": "an educator corrected it (a new piece replaces it)",
    "the OneRoster result was deleted by the provider": (
        "the grade was deleted in the student information system (OneRoster sync)"
    ),
    "the OneRoster line item was deleted by the provider": (
        "the assignment was deleted in the student information system (OneRoster sync)"
    ),
    "the OneRoster learner was deactivated by the provider": (
        "the learner was made inactive in the student information system (OneRoster sync)"
    ),
    "the OneRoster class was deactivated by the provider": (
        "the class was made inactive in the student information system (OneRoster sync)"
    ),
}
WITHDRAWN_PREFIX = "evidence withdrawn: "


def withdrawn_words(reason: str | None) -> str:
    """Why a piece of evidence was withdrawn, in plain words ("" when no reason was recorded)."""
    reason = (reason or "").strip()
    return WITHDRAWN_WORDS.get(reason, reason)


def review_words(reason: str | None) -> str:
    """Why an award was flagged for review, as one plain sentence for the person re-checking it."""
    reason = (reason or "").strip()
    if reason == "evidence it relied on was corrected":
        return "A piece of evidence behind this badge was corrected, so the original piece was withdrawn."
    if reason.startswith(WITHDRAWN_PREFIX):
        why = withdrawn_words(reason[len(WITHDRAWN_PREFIX) :])
        return f"A piece of evidence behind this badge was withdrawn: {why.rstrip('.')}."
    if reason:
        return reason[:1].upper() + reason[1:] + ("" if reason.endswith(".") else ".")
    return "Evidence behind this badge changed after it was given."


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
    trees = await frameworks.load_trees(sorted({p.framework_id for p in evidence.values()}))
    for framework_id, tree in trees.items():
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
                "awarded_at": award.awarded_at,
                "review_reason": review_words(award.review_reason) if award.needs_review else "",
                "evidence": [
                    {
                        "observed_at": p.observed_at,
                        "competency": competencies.get(p.competency_id, "a competency"),
                        "level": evidence_level_label(p, levels),
                        "source": source_label(p.source),
                        "class_title": classes[p.class_id].title if p.class_id in classes else "",
                        "narrative": p.narrative or "",
                        "withdrawn": p.status == "withdrawn",
                        "withdrawn_reason": withdrawn_words(p.withdrawn_reason)
                        if p.status == "withdrawn"
                        else "",
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
    service = AwardService(session, user.tenant.id)
    awards, total = await service.review_queue(PageParams(limit=QUEUE_LIMIT, offset=0), **_reach(user))
    flagged, flagged_total = await service.recheck_queue(
        PageParams(limit=QUEUE_LIMIT, offset=0), **_reach(user)
    )
    rows = await _queue_rows(session, user, [*awards, *flagged])
    return page(
        request,
        "console/reviews.html",
        context(
            request,
            settings,
            user,
            page_title="Awards to review",
            awards=rows[: len(awards)],
            total=total,
            flagged=rows[len(awards) :],
            flagged_total=flagged_total,
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
    not_yours = NotFoundError("there is no such award among the learners of your schools and classes")
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

    already = InvalidAwardTransition("this award was already decided: it is no longer waiting for review")
    # Which decisions this award takes now: approve/decline while it waits for approval, keep/revoke
    # while it is given and flagged for review; anything else was decided before (by someone else, or
    # by this same form sent twice).
    recheck = award.status == "awarded"
    allowed: dict[str, Decision] = RECHECK_DECISIONS if recheck else PENDING_DECISIONS
    if (recheck and not award.needs_review) or award.status not in ("awarded", "pending_review"):
        allowed = {}
    reason = reason.strip()
    problem = ""
    if decision in {*PENDING_DECISIONS, *RECHECK_DECISIONS} and decision not in allowed:
        return _already_decided(request, session, settings, user, already)
    if decision not in allowed or contains_nul([decision, reason]):
        problem = (
            "Choose to keep or to revoke the badge"
            if recheck
            else "Choose to approve or to decline the award"
        )
    elif decision in ("decline", "revoke") and not reason:
        problem = (
            "Enter the reason for revoking: the award keeps it"
            if decision == "revoke"
            else "Enter the reason for declining: the award keeps it"
        )
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
            AwardDecision(decision=allowed[decision], reason=reason or None),
            decided_by=decided_by(user),
            only_flagged=recheck,
        )
    except InvalidAwardTransition:
        return _already_decided(request, session, settings, user, already)
    except ServiceError as exc:
        return refuse(request, session, settings, user, exc)
    done = DONE_OF[decision]
    return RedirectResponse(f"{CONSOLE_PATH}/reviews?done={done}", status_code=303)


def _already_decided(
    request: Request, session: AsyncSession, settings: Settings, user: SignedIn, error: ServiceError
) -> Response:
    return refuse(
        request,
        session,
        settings,
        user,
        error,
        heading="Award already decided",
        next_steps="The learner's page shows what was decided.",
    )
