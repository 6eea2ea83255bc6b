"""Achievements (badge definitions with award rules), awards, review, and progress views."""

from __future__ import annotations

import uuid
from typing import Annotated, Literal

from fastapi import APIRouter, Query

from service.api.deps import AfterQuery, AwardsRead, AwardsWrite, PageDep, SessionDep, check_cursor, read_only
from service.api.rest import examples
from service.api.rest.errors import GET_ERRORS, READ_ERRORS, WRITE_ERRORS
from service.awards.schemas import (
    AchievementCreate,
    AchievementRead,
    AchievementStatus,
    AchievementUpdate,
    AwardDecision,
    AwardRead,
    AwardStatus,
    ClassProgress,
    EvaluateRequest,
    LearnerProgress,
    ManualAward,
)
from service.awards.service import AwardService
from service.jobs.schemas import JobRead
from service.roster.service import RosterService
from service.schemas import CursorPage, Page

router = APIRouter(prefix="/api/v1", tags=["awards"])
Method = Literal["highest", "most_recent", "mean", "decaying_average", "mode"]


@router.post(
    "/achievements",
    status_code=201,
    summary="Create an achievement with its award rule",
    responses=WRITE_ERRORS,
    openapi_extra=examples.CREATE_ACHIEVEMENT,
)
async def create_achievement(
    body: AchievementCreate, principal: AwardsWrite, session: SessionDep
) -> AchievementRead:
    """A badge definition. Its ``rule`` (evidence or composite, see the schema) is checked at once: unknown
    competencies, achievements or rubric levels, cycles of composites and rules that could never be met
    are a 422 naming the field. From then on, evidence that meets the rule makes the award automatically
    (``award_mode`` automatic), or one pending review (review)."""
    return AchievementRead.model_validate(
        await AwardService(session, principal.tenant_id).create_achievement(body)
    )


@router.get("/achievements", summary="List achievements", responses=READ_ERRORS)
async def list_achievements(
    principal: AwardsRead,
    session: SessionDep,
    page: PageDep,
    framework_id: Annotated[uuid.UUID | None, Query()] = None,
    status: Annotated[AchievementStatus | None, Query()] = None,
) -> Page[AchievementRead]:
    """The district's achievements by title."""
    rows, total = await AwardService(session, principal.tenant_id).list_achievements(
        page, framework_id=framework_id, status=status
    )
    return Page(
        items=[AchievementRead.model_validate(a) for a in rows],
        total=total,
        limit=page.limit,
        offset=page.offset,
    )


@router.get("/achievements/{achievement_id}", summary="Get an achievement", responses=GET_ERRORS)
async def get_achievement(
    achievement_id: uuid.UUID, principal: AwardsRead, session: SessionDep
) -> AchievementRead:
    """One achievement with its current rule (levels as positions) and ``rule_version``."""
    return AchievementRead.model_validate(
        await AwardService(session, principal.tenant_id).get_achievement(achievement_id)
    )


@router.patch(
    "/achievements/{achievement_id}",
    summary="Update an achievement; a new rule gets a new rule version",
    responses=WRITE_ERRORS,
)
async def update_achievement(
    achievement_id: uuid.UUID, body: AchievementUpdate, principal: AwardsWrite, session: SessionDep
) -> AchievementRead:
    """Only the fields given change. A changed rule gets a new ``rule_version`` and queues a batch
    evaluation, so learners who already meet it are awarded without new evidence; existing awards stay."""
    achievement = await AwardService(session, principal.tenant_id).update_achievement(achievement_id, body)
    return AchievementRead.model_validate(achievement)


@router.post(
    "/awards/evaluate",
    status_code=202,
    summary="Re-evaluate every learner of the district as a job (all achievements, or one)",
    responses=WRITE_ERRORS,
)
async def evaluate_awards(
    principal: AwardsWrite, session: SessionDep, body: EvaluateRequest | None = None
) -> JobRead:
    """Queues a job (202) that evaluates every active rule, or one achievement's, for every learner; safe
    to repeat, as an award is never made twice. Follow it at ``GET /api/v1/jobs/{id}``."""
    job = await AwardService(session, principal.tenant_id).enqueue_evaluation(
        body.achievement_id if body else None
    )
    return JobRead.model_validate(job)


@router.get("/awards", summary="List awards", responses=READ_ERRORS, openapi_extra=examples.AWARDS)
@read_only
async def list_awards(
    principal: AwardsRead,
    session: SessionDep,
    page: PageDep,
    learner_id: Annotated[uuid.UUID | None, Query()] = None,
    achievement_id: Annotated[uuid.UUID | None, Query()] = None,
    status: Annotated[AwardStatus | None, Query()] = None,
    needs_review: Annotated[bool | None, Query()] = None,
    after: AfterQuery = None,
) -> CursorPage[AwardRead]:
    """Newest first. ``status`` follows the award state machine (see AwardRead.status);
    ``needs_review=true`` lists awards whose evidence was withdrawn or corrected. Pages by ``offset``,
    or by cursor: ``after`` = the ``next`` of the page before."""
    check_cursor(after, page)
    items, total, next_cursor = await AwardService(session, principal.tenant_id).list_awards(
        page,
        after=after,
        learner_id=learner_id,
        achievement_id=achievement_id,
        status=status,
        needs_review=needs_review,
    )
    return CursorPage(items=items, total=total, limit=page.limit, offset=page.offset, next=next_cursor)


@router.post("/awards", status_code=201, summary="Award an achievement by hand", responses=WRITE_ERRORS)
async def manual_award(body: ManualAward, principal: AwardsWrite, session: SessionDep) -> AwardRead:
    """Awards the achievement now (status awarded, method manual) and queues its credential; 409 when the
    learner already has this achievement. Composite achievements it completes are evaluated at once."""
    service = AwardService(session, principal.tenant_id)
    award = await service.manual_award(body, decided_by=principal.client_id)
    return (await service.read_awards([award]))[0]


@router.get("/awards/{award_id}", summary="Get an award", responses=GET_ERRORS)
async def get_award(award_id: uuid.UUID, principal: AwardsRead, session: SessionDep) -> AwardRead:
    """One award of the caller's district, with the evidence that met the rule."""
    service = AwardService(session, principal.tenant_id)
    return (await service.read_awards([await service.get_award(award_id)]))[0]


@router.post(
    "/awards/{award_id}/decision",
    summary="Approve or reject a pending award; keep or revoke one flagged for review",
    openapi_extra=examples.AWARD_DECISION,
    responses=WRITE_ERRORS,
)
async def decide_award(
    award_id: uuid.UUID, body: AwardDecision, principal: AwardsWrite, session: SessionDep
) -> AwardRead:
    """approve / reject a pending_review award; keep an awarded one flagged for review (needs_review),
    revoke an awarded one (which also revokes its credential). Any other transition, a second keep
    included, is a 409 naming the award's state (see AwardRead.status for the state machine)."""
    service = AwardService(session, principal.tenant_id)
    award = await service.decide(award_id, body, decided_by=principal.client_id)
    return (await service.read_awards([award]))[0]


@router.get(
    "/learners/{learner_id}/progress",
    summary="A learner's current level per competency and progress toward each achievement",
    responses=GET_ERRORS,
    tags=["awards"],
)
@read_only
async def learner_progress(
    learner_id: uuid.UUID,
    principal: AwardsRead,
    session: SessionDep,
    method: Annotated[Method, Query(description="mastery calculation for current levels")] = "most_recent",
) -> LearnerProgress:
    """Per competency, the current level by the mastery ``method``; per achievement, whether it is earned
    and, if not, why, in words and in counts. 404 for a learner of another district."""
    return await AwardService(session, principal.tenant_id).learner_progress(learner_id, method=method)


@router.get(
    "/classes/{class_id}/progress",
    summary="Class roster view: every learner x competency current level",
    description=(
        "The teacher's view: for every learner of the class, the current level per competency "
        "(`method` picks the mastery calculation) and the evidence count, answered in a fixed number "
        "of queries whatever the class size."
    ),
    responses=GET_ERRORS,
    tags=["awards"],
)
@read_only
async def class_progress(
    class_id: uuid.UUID,
    principal: AwardsRead,
    session: SessionDep,
    framework_id: Annotated[uuid.UUID | None, Query(description="default: all published frameworks")] = None,
    method: Annotated[Method, Query()] = "most_recent",
) -> ClassProgress:
    await RosterService(session, principal.tenant_id).get_class(class_id)
    return await AwardService(session, principal.tenant_id).class_progress(
        class_id, framework_id=framework_id, method=method
    )
