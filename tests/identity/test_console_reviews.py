"""The review queue: awards waiting for approval of the learners a person may see, with their evidence;
approve exactly once (queuing the credential as the API's decision does), decline with a bounded reason;
another school's or district's award, a form without its CSRF token and another district's session are
refused with a page and change nothing."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Awaitable, Callable
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


async def refuses_bad_reasons(
    browser: httpx.AsyncClient,
    award_id: uuid.UUID,
    decision: str,
    missing: str,
    wrong_decision: str,
    unchanged: Callable[[], Awaitable[bool]],
) -> None:
    """A ``decision`` that needs a reason, sent without one (``missing`` says so), with too long a one or
    one holding a NUL byte, and an unknown decision (``wrong_decision`` says so): each is refused with a
    422 that names the problem next to the field, and ``unchanged()`` holds after each."""
    for reason, message in (
        ("", missing),
        ("   ", missing),
        ("x" * 2001, "2000 characters or fewer"),
        ("nul\x00byte", wrong_decision),
    ):
        refused = await decide(browser, award_id, decision, reason)
        assert refused.status_code == 422, reason
        assert message in refused.text
        assert f'id="reason-{award_id}-error"' in refused.text  # the error sits next to its field
        assert await unchanged(), reason
    odd = await decide(browser, award_id, "maybe", "hm")
    assert odd.status_code == 422 and wrong_decision in odd.text


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

    async def still_pending() -> bool:
        return (await award(session, world.tenant.id, award_id)).status == "pending_review"

    await refuses_bad_reasons(
        browser,
        award_id,
        "decline",
        missing="Enter the reason for declining",
        wrong_decision="Choose to approve or to decline",
        unchanged=still_pending,
    )

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


# -- badges to re-check: given, then flagged for review because evidence behind them was withdrawn ----------


@dataclass(frozen=True)
class Flagged:
    #: learner id -> their awarded, flagged award id
    awards: dict[uuid.UUID, uuid.UUID]
    #: learner id -> the withdrawn piece of evidence behind it
    withdrawn: dict[uuid.UUID, uuid.UUID]
    other_tenant_award: uuid.UUID


async def _flagged(
    session: AsyncSession, tenant_id: uuid.UUID, learners: list[uuid.UUID]
) -> tuple[dict[uuid.UUID, uuid.UUID], dict[uuid.UUID, uuid.UUID]]:
    """An automatic badge earned by each learner, then the piece behind it withdrawn (as a OneRoster
    sync withdraws the evidence of a deleted result): the award stays awarded, flagged for review."""
    portrait = await make_portrait(session, tenant_id, competencies=2, learners=0, classes=0)
    achievement = await AwardService(session, tenant_id).create_achievement(
        AchievementCreate(
            title="Collaborator",
            description="Works well with others.",
            criteria="One piece at Proficient or above.",
            framework_id=portrait.framework_id,
            award_mode="automatic",
            rule={"type": "evidence", "competency_ids": [str(portrait.competency_ids[1])], "min_level": 2},
        )
    )
    evidence = EvidenceService(session, tenant_id)
    pieces = {}
    for learner in learners:
        piece = await evidence.create_one(
            EvidenceCreate(
                learner_id=learner,
                competency_id=portrait.competency_ids[1],
                source="rubric",
                level=3,
                observed_at=datetime(2026, 9, 14, 10, 0, tzinfo=UTC),
                narrative="Group project <graded> & shared.",
            ),
            created_by="test",
        )
        pieces[learner] = piece.id
    rows = (
        await session.exec(
            select(Award).where(
                col(Award.tenant_id) == tenant_id, col(Award.achievement_id) == achievement.id
            )
        )
    ).all()
    assert {a.status for a in rows} == {"awarded"}, [a.status for a in rows]
    for piece_id in pieces.values():
        await EvidenceService(session, tenant_id).withdraw(
            piece_id, "the OneRoster result was deleted by the provider"
        )
    return {a.learner_id: a.id for a in rows}, pieces


async def make_flagged(session: AsyncSession, world: World) -> Flagged:
    awards, withdrawn = await _flagged(
        session, world.tenant.id, [world.in_class, world.same_school, world.other_school]
    )
    others, _ = await _flagged(session, world.other.id, [world.other_tenant_learner])
    await session.commit()
    return Flagged(awards, withdrawn, others[world.other_tenant_learner])


async def revocation_jobs(session: AsyncSession, award_id: uuid.UUID) -> list[Job]:
    from service.badges.issuance import REVOKE_AWARD_KIND

    jobs = (await session.exec(select(Job).where(col(Job.kind) == REVOKE_AWARD_KIND))).all()
    return [j for j in jobs if j.params.get("award_id") == str(award_id)]


async def test_badges_to_recheck_show_why_with_the_withdrawn_evidence(
    browser: httpx.AsyncClient, session: AsyncSession, settings: Settings, world: World
) -> None:
    flagged = await make_flagged(session, world)
    await make_pending(session, world)
    await sign_in(browser, session, settings, world.tenant.slug, world.counselor_email)
    text = (await browser.get("/console/reviews")).text
    assert "2 awards waiting for approval" in text  # the first section is unchanged
    assert "and 2 badges to re-check" in text
    assert "2 badges already given need a second look" in text
    recheck = text[text.index('id="recheck"') :]
    assert "Collaborator for" in recheck and "Communicator for" not in recheck
    assert "Ines Inclass" in recheck and "Sami Sameschool" in recheck
    assert "Omar Otherschool" not in text and "Faraway" not in text
    assert str(flagged.awards[world.other_school]) not in text
    # The review reason and the withdrawal's reason, in plain words; the piece marked as withdrawn.
    assert (
        "A piece of evidence behind this badge was withdrawn: the grade was deleted in the student "
        "information system (OneRoster sync)." in recheck
    )
    assert "withdrawn</strong>" in recheck
    assert "Group project &lt;graded&gt; &amp; shared." in recheck
    assert "Keep the badge" in recheck and "Revoke the badge" in recheck
    assert "evidence withdrawn:" not in text  # not the service's own wording

    await sign_in(browser, session, settings, world.tenant.slug, world.teacher_email)
    taught = (await browser.get("/console/reviews")).text
    assert "1 badge already given needs a second look" in taught
    assert "Sameschool" not in taught


async def test_keep_clears_the_flag_exactly_once(
    browser: httpx.AsyncClient, session: AsyncSession, settings: Settings, world: World
) -> None:
    flagged = await make_flagged(session, world)
    award_id = flagged.awards[world.in_class]
    await sign_in(browser, session, settings, world.tenant.slug, world.counselor_email)
    kept = await decide(browser, award_id, "keep")
    assert kept.status_code == 303, kept.text
    assert kept.headers["location"] == "/console/reviews?done=kept"
    done = (await browser.get("/console/reviews?done=kept")).text
    assert "Badge kept" in done and "1 badge already given needs a second look" in done
    after = await award(session, world.tenant.id, award_id)
    assert after.status == "awarded" and not after.needs_review
    assert after.decided_by and after.decided_by.startswith("staff:")
    decided_at = after.decided_at

    for decision, reason in (("keep", ""), ("revoke", "changed my mind"), ("approve", "")):
        again = await decide(browser, award_id, decision, reason)
        assert again.status_code == 409, decision
        assert "Award already decided" in again.text
    final = await award(session, world.tenant.id, award_id)
    assert final.status == "awarded" and final.decided_at == decided_at
    assert "changed my mind" not in final.reasons
    assert await revocation_jobs(session, award_id) == []


async def test_revoke_needs_a_bounded_reason_and_revokes_the_credential_once(
    browser: httpx.AsyncClient, session: AsyncSession, settings: Settings, world: World
) -> None:
    flagged = await make_flagged(session, world)
    award_id = flagged.awards[world.same_school]
    await sign_in(browser, session, settings, world.tenant.slug, world.counselor_email)

    async def still_flagged() -> bool:
        still = await award(session, world.tenant.id, award_id)
        return still.status == "awarded" and still.needs_review

    await refuses_bad_reasons(
        browser,
        award_id,
        "revoke",
        missing="Enter the reason for revoking",
        wrong_decision="Choose to keep or to revoke the badge",
        unchanged=still_flagged,
    )

    ok = await decide(browser, award_id, "revoke", "The grade was entered for the wrong learner.")
    assert ok.status_code == 303 and ok.headers["location"] == "/console/reviews?done=revoked"
    assert "Badge revoked" in (await browser.get("/console/reviews?done=revoked")).text
    revoked = await award(session, world.tenant.id, award_id)
    assert revoked.status == "revoked" and not revoked.needs_review
    assert "The grade was entered for the wrong learner." in revoked.reasons
    jobs = await revocation_jobs(session, award_id)  # the credential is revoked, as the API revokes it
    assert [j.params["reason"] for j in jobs] == ["The grade was entered for the wrong learner."]

    again = await decide(browser, award_id, "revoke", "twice")
    assert again.status_code == 409 and "Award already decided" in again.text
    assert len(await revocation_jobs(session, award_id)) == 1


async def test_an_unflagged_badge_cannot_be_kept_or_revoked_from_the_console(
    browser: httpx.AsyncClient, session: AsyncSession, settings: Settings, world: World
) -> None:
    """An approved award (given, never flagged) is not in the re-check section: posting to it is a 409."""
    pending = await make_pending(session, world)
    award_id = pending.awards[world.in_class]
    await sign_in(browser, session, settings, world.tenant.slug, world.counselor_email)
    assert (await decide(browser, award_id, "approve")).status_code == 303
    refused = await decide(browser, award_id, "revoke", "no")
    assert refused.status_code == 409
    assert (await award(session, world.tenant.id, award_id)).status == "awarded"
    assert await revocation_jobs(session, award_id) == []


async def test_another_schools_or_districts_flagged_badge_is_refused_and_unchanged(
    browser: httpx.AsyncClient, session: AsyncSession, settings: Settings, world: World
) -> None:
    flagged = await make_flagged(session, world)
    await sign_in(browser, session, settings, world.tenant.slug, world.teacher_email)
    csrf = csrf_of((await browser.get("/console/reviews")).text)
    for target in (
        flagged.awards[world.other_school],
        flagged.awards[world.same_school],
        flagged.other_tenant_award,
    ):
        for decision in ("keep", "revoke"):
            refused = await decide(browser, target, decision, "not mine", csrf=csrf)
            assert refused.status_code == 404, (target, decision)
            assert "Award not found" in refused.text
    for learner in (world.other_school, world.same_school):
        unchanged = await award(session, world.tenant.id, flagged.awards[learner])
        assert unchanged.status == "awarded" and unchanged.needs_review and unchanged.decided_by is None
        assert await revocation_jobs(session, flagged.awards[learner]) == []
    other = await award(session, world.other.id, flagged.other_tenant_award)
    assert other.status == "awarded" and other.needs_review


async def test_a_keep_or_revoke_without_its_csrf_token_is_refused(
    browser: httpx.AsyncClient, session: AsyncSession, settings: Settings, world: World
) -> None:
    flagged = await make_flagged(session, world)
    award_id = flagged.awards[world.same_school]
    await sign_in(browser, session, settings, world.tenant.slug, world.counselor_email)
    for decision in ("keep", "revoke"):
        for csrf in ("", "0" * 64):
            refused = await decide(browser, award_id, decision, "reason", csrf=csrf)
            assert refused.status_code == 403
            assert "Form expired" in refused.text
    unchanged = await award(session, world.tenant.id, award_id)
    assert unchanged.status == "awarded" and unchanged.needs_review
    assert await revocation_jobs(session, award_id) == []


def test_review_reasons_read_as_plain_words() -> None:
    from service.api.web.console.reviews import review_words

    assert review_words("evidence it relied on was corrected").startswith("A piece of evidence behind")
    assert (
        review_words("evidence withdrawn: recorded against the wrong learner; to be re-entered")
        == "A piece of evidence behind this badge was withdrawn: recorded against the wrong learner; "
        "to be re-entered."
    )
    assert review_words("evidence withdrawn: the OneRoster class was deactivated by the provider") == (
        "A piece of evidence behind this badge was withdrawn: the class was made inactive in the student "
        "information system (OneRoster sync)."
    )
    assert review_words(None) == "Evidence behind this badge changed after it was given."


async def test_simultaneous_keeps_of_a_flagged_badge_decide_once(
    committed_db: Database, settings: Settings
) -> None:
    """Two people keep (or one keeps and one revokes) the same flagged badge at the same moment: the flag is
    checked under the award's row lock, so one decision is recorded and the others are refused."""
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
            PersonCreate(role="student", given_name="Kim", family_name="Keep", org_ids=[school.id])
        )
        awards, _ = await _flagged(session, tenant.id, [learner.id])
        await session.commit()
    award_id = awards[learner.id]

    async def decide_as(who: str, decision: str) -> str:
        async with committed_db.session() as session:
            await declare_write_intent(session)
            try:
                await AwardService(session, tenant.id).decide(
                    award_id,
                    AwardDecision(decision=decision, reason="checked"),  # type: ignore[arg-type]
                    decided_by=who,
                    only_flagged=True,
                )
            except InvalidAwardTransition:
                await session.rollback()
                return "refused"
            await session.commit()
            return who

    outcomes = await asyncio.gather(
        decide_as("staff:a", "keep"), decide_as("staff:b", "keep"), decide_as("staff:c", "revoke")
    )
    assert sorted(o == "refused" for o in outcomes) == [False, True, True], outcomes
    async with committed_db.session() as session:
        decided = await award(session, tenant.id, award_id)
        assert decided.decided_by in outcomes and not decided.needs_review
        assert decided.status == ("revoked" if decided.decided_by == "staff:c" else "awarded")
        assert len(await revocation_jobs(session, award_id)) == (1 if decided.status == "revoked" else 0)
