"""The review queue: awards waiting for approval of the learners a person may see, with their evidence;
approve exactly once (queuing the credential as the API's decision does), decline with a bounded reason;
another school's or district's award, a form without its CSRF token and another district's session are
refused with a page and change nothing."""

from __future__ import annotations

import asyncio
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import httpx
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from service.awards.models import Award
from service.awards.schemas import AchievementCreate
from service.awards.service import AwardService
from service.badges.issuance import ISSUE_AWARDS_KIND
from service.config import Settings
from service.db import Database
from service.evidence.schemas import EvidenceCreate
from service.evidence.service import EvidenceService
from service.jobs.models import Job
from tests.factories import make_portrait
from tests.identity.conftest import World, csrf_of
from tests.identity.test_console_sign_in import sign_in


@dataclass(frozen=True)
class Pending:
    framework_id: uuid.UUID
    competency_ids: list[uuid.UUID]
    achievement_id: uuid.UUID
    #: learner id -> their pending award id
    awards: dict[uuid.UUID, uuid.UUID]
    other_tenant_award: uuid.UUID


async def _pending(session: AsyncSession, tenant_id: uuid.UUID, learners: list[uuid.UUID]) -> tuple[Any, ...]:
    portrait = await make_portrait(session, tenant_id, competencies=2, learners=0, classes=0)
    achievement = await AwardService(session, tenant_id).create_achievement(
        AchievementCreate(
            title="Communicator",
            description="Speaks and writes clearly.",
            criteria="One piece at Proficient or above, approved by a person.",
            framework_id=portrait.framework_id,
            award_mode="review",
            rule={"type": "evidence", "competency_ids": [str(portrait.competency_ids[0])], "min_level": 2},
        )
    )
    for learner in learners:
        await EvidenceService(session, tenant_id).create_one(
            EvidenceCreate(
                learner_id=learner,
                competency_id=portrait.competency_ids[0],
                source="rubric",
                level=3,
                observed_at=datetime(2026, 10, 5, 14, 0, tzinfo=UTC),
                narrative=f"Presented <the> project & answered questions ({str(learner)[:4]}).",
            ),
            created_by="test",
        )
    rows = (
        await session.exec(
            select(Award).where(
                col(Award.tenant_id) == tenant_id, col(Award.achievement_id) == achievement.id
            )
        )
    ).all()
    assert {a.status for a in rows} == {"pending_review"}, [a.status for a in rows]
    return portrait, achievement, {a.learner_id: a.id for a in rows}


async def make_pending(session: AsyncSession, world: World) -> Pending:
    portrait, achievement, awards = await _pending(
        session, world.tenant.id, [world.in_class, world.same_school, world.other_school]
    )
    _, _, others = await _pending(session, world.other.id, [world.other_tenant_learner])
    await session.commit()
    return Pending(
        portrait.framework_id,
        portrait.competency_ids,
        achievement.id,
        awards,
        others[world.other_tenant_learner],
    )


async def award(session: AsyncSession, tenant_id: uuid.UUID, award_id: uuid.UUID) -> Award:
    found = (
        await session.exec(
            select(Award)
            .where(col(Award.tenant_id) == tenant_id, col(Award.id) == award_id)
            .execution_options(populate_existing=True)
        )
    ).one()
    return found


async def issuance_jobs(session: AsyncSession, award_id: uuid.UUID) -> int:
    jobs = (await session.exec(select(Job).where(col(Job.kind) == ISSUE_AWARDS_KIND))).all()
    return sum(1 for j in jobs if str(award_id) in j.params.get("award_ids", []))


async def decide(
    browser: httpx.AsyncClient,
    award_id: uuid.UUID | str,
    decision: str,
    reason: str = "",
    csrf: str | None = None,
) -> httpx.Response:
    if csrf is None:
        csrf = csrf_of((await browser.get("/console/reviews")).text)
    data = {"decision": decision, "reason": reason}
    if csrf:
        data["csrf_token"] = csrf
    return await browser.post(f"/console/reviews/{award_id}/decision", data=data)


async def test_counselor_sees_their_schools_awards_with_the_evidence(
    browser: httpx.AsyncClient, session: AsyncSession, settings: Settings, world: World
) -> None:
    pending = await make_pending(session, world)
    await sign_in(browser, session, settings, world.tenant.slug, world.counselor_email)
    response = await browser.get("/console/reviews")
    assert response.status_code == 200
    assert response.headers["cache-control"] == "no-store"
    text = response.text
    assert "2 awards waiting for approval" in text
    assert "Ines Inclass" in text and "Sami Sameschool" in text
    assert "Omar Otherschool" not in text and "Faraway" not in text
    assert "Communicator for" in text
    assert "Presented &lt;the&gt; project &amp; answered questions" in text  # the evidence, escaped
    assert "Extending" in text  # the piece's level
    assert str(pending.awards[world.other_school]) not in text


async def test_educator_sees_the_awards_of_their_classes(
    browser: httpx.AsyncClient, session: AsyncSession, settings: Settings, world: World
) -> None:
    await make_pending(session, world)
    await sign_in(browser, session, settings, world.tenant.slug, world.teacher_email)
    text = (await browser.get("/console/reviews")).text
    assert "1 award waiting for approval" in text
    assert "Ines Inclass" in text and "Sameschool" not in text


async def test_approve_issues_through_the_api_path_exactly_once(
    browser: httpx.AsyncClient, session: AsyncSession, settings: Settings, world: World
) -> None:
    pending = await make_pending(session, world)
    award_id = pending.awards[world.same_school]
    await sign_in(browser, session, settings, world.tenant.slug, world.counselor_email)
    response = await decide(browser, award_id, "approve")
    assert response.status_code == 303, response.text
    assert response.headers["location"] == "/console/reviews?done=approved"
    done = await browser.get("/console/reviews?done=approved")
    assert "Award approved" in done.text and "1 award waiting for approval" in done.text
    approved = await award(session, world.tenant.id, award_id)
    assert approved.status == "awarded" and approved.awarded_at is not None
    assert approved.decided_by and approved.decided_by.startswith("staff:")
    decided_at = approved.decided_at
    assert await issuance_jobs(session, award_id) == 1  # the credential is queued, as the API queues it

    again = await decide(browser, award_id, "approve")
    assert again.status_code == 409
    assert "Award already decided" in again.text
    declined_late = await decide(browser, award_id, "decline", "changed my mind")
    assert declined_late.status_code == 409
    after = await award(session, world.tenant.id, award_id)
    assert after.status == "awarded" and after.decided_at == decided_at
    assert "changed my mind" not in after.reasons
    assert await issuance_jobs(session, award_id) == 1


async def test_decline_needs_a_bounded_reason(
    browser: httpx.AsyncClient, session: AsyncSession, settings: Settings, world: World
) -> None:
    pending = await make_pending(session, world)
    award_id = pending.awards[world.in_class]
    await sign_in(browser, session, settings, world.tenant.slug, world.counselor_email)
    for reason, message in (
        ("", "Enter the reason for declining"),
        ("   ", "Enter the reason for declining"),
        ("x" * 2001, "2000 characters or fewer"),
        ("nul\x00byte", "Choose to approve or to decline"),
    ):
        refused = await decide(browser, award_id, "decline", reason)
        assert refused.status_code == 422, reason
        assert message in refused.text
        assert f'id="reason-{award_id}-error"' in refused.text  # the error sits next to its field
        assert (await award(session, world.tenant.id, award_id)).status == "pending_review"
    odd = await decide(browser, award_id, "maybe", "hm")
    assert odd.status_code == 422 and "Choose to approve or to decline" in odd.text

    ok = await decide(browser, award_id, "decline", "The evidence was for another learner.")
    assert ok.status_code == 303
    declined = await award(session, world.tenant.id, award_id)
    assert declined.status == "rejected" and declined.awarded_at is None
    assert "The evidence was for another learner." in declined.reasons
    assert await issuance_jobs(session, award_id) == 0


async def test_another_schools_or_districts_award_is_refused_and_unchanged(
    browser: httpx.AsyncClient, session: AsyncSession, settings: Settings, world: World
) -> None:
    pending = await make_pending(session, world)
    await sign_in(browser, session, settings, world.tenant.slug, world.counselor_email)
    csrf = csrf_of((await browser.get("/console/reviews")).text)
    for target in (pending.awards[world.other_school], pending.other_tenant_award, uuid.uuid4(), "not-an-id"):
        refused = await decide(browser, target, "approve", csrf=csrf)
        assert refused.status_code == 404, target
        assert "Award not found" in refused.text
    assert (
        await award(session, world.tenant.id, pending.awards[world.other_school])
    ).status == "pending_review"
    assert (await award(session, world.other.id, pending.other_tenant_award)).status == "pending_review"


async def test_a_form_without_its_csrf_token_is_refused(
    browser: httpx.AsyncClient, session: AsyncSession, settings: Settings, world: World
) -> None:
    pending = await make_pending(session, world)
    award_id = pending.awards[world.same_school]
    await sign_in(browser, session, settings, world.tenant.slug, world.counselor_email)
    for csrf in ("", "0" * 64):
        refused = await decide(browser, award_id, "approve", csrf=csrf)
        assert refused.status_code == 403
        assert "Form expired" in refused.text
    foreign = await browser.post(
        f"/console/reviews/{award_id}/decision",
        data={"decision": "approve", "csrf_token": csrf_of((await browser.get("/console/reviews")).text)},
        headers={"Origin": "https://evil.example"},
    )
    assert foreign.status_code == 403
    assert (await award(session, world.tenant.id, award_id)).status == "pending_review"
    assert await issuance_jobs(session, award_id) == 0


async def test_another_districts_session_cannot_decide_this_districts_award(
    browser: httpx.AsyncClient, session: AsyncSession, settings: Settings, world: World
) -> None:
    pending = await make_pending(session, world)
    await sign_in(browser, session, settings, world.other.slug, world.other_counselor_email)
    queue = await browser.get("/console/reviews")
    assert "1 award waiting for approval" in queue.text and "Fay Faraway" in queue.text
    assert "Inclass" not in queue.text
    for learner in (world.in_class, world.same_school, world.other_school):
        refused = await decide(browser, pending.awards[learner], "approve")
        assert refused.status_code == 404
        assert (await award(session, world.tenant.id, pending.awards[learner])).status == "pending_review"


async def test_signed_out_people_are_sent_to_sign_in(browser: httpx.AsyncClient) -> None:
    assert (await browser.get("/console/reviews")).headers["location"] == "/console/sign-in"
    posted = await browser.post(f"/console/reviews/{uuid.uuid4()}/decision", data={"decision": "approve"})
    assert posted.status_code == 303 and posted.headers["location"] == "/console/sign-in"


def test_the_consoles_reason_limit_is_the_apis() -> None:
    from pydantic import ValidationError

    from service.api.web.console.reviews import MAX_REASON
    from service.awards.schemas import AwardDecision

    AwardDecision(decision="reject", reason="x" * MAX_REASON)
    try:
        AwardDecision(decision="reject", reason="x" * (MAX_REASON + 1))
    except ValidationError:
        return
    raise AssertionError("the API accepts longer reasons than the console")


async def test_simultaneous_approvals_decide_once_and_queue_one_credential(
    committed_db: Database, settings: Settings
) -> None:
    """Two people approve the same award at the same moment (real commits, separate connections): one
    decision is recorded, the other is told the award was already decided; one issuance job."""
    from service.awards.errors import InvalidAwardTransition
    from service.awards.schemas import AwardDecision
    from service.db import declare_write_intent
    from service.roster.schemas import OrgCreate, PersonCreate
    from service.roster.service import RosterService
    from tests.factories import make_tenant_ref

    env = settings.model_copy(update={"database_url": str(committed_db.url)})
    async with committed_db.session() as session:
        tenant = await make_tenant_ref(session, env)
        roster = RosterService(session, tenant.id)
        school = await roster.create_org(OrgCreate(name="School", type="school"))
        learner = await roster.create_person(
            PersonCreate(role="student", given_name="Ria", family_name="Race", org_ids=[school.id])
        )
        _, _, awards = await _pending(session, tenant.id, [learner.id])
        await session.commit()
    award_id = awards[learner.id]

    async def approve(who: str) -> str:
        async with committed_db.session() as session:
            await declare_write_intent(session)
            try:
                await AwardService(session, tenant.id).decide(
                    award_id, AwardDecision(decision="approve"), decided_by=who
                )
            except InvalidAwardTransition:
                await session.rollback()
                return "refused"
            await session.commit()
            return who

    outcomes = await asyncio.gather(approve("staff:a"), approve("staff:b"), approve("staff:c"))
    assert sorted(o == "refused" for o in outcomes) == [False, True, True], outcomes
    async with committed_db.session() as session:
        decided = await award(session, tenant.id, award_id)
        assert decided.status == "awarded" and decided.decided_by in outcomes
        assert await issuance_jobs(session, award_id) == 1
