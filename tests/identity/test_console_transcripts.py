"""Transcripts in the console: generate a learner's transcript, see it as its reader will, download the
PDF, share the link, revoke with a reason kept inside the district; a cohort run (a school's grade) as
the batch job with its progress. Scope: another school's or district's learner, run or transcript, a
form without its CSRF token and educators are refused with a page, and nothing is written."""

from __future__ import annotations

import re
import uuid

import httpx
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from service.config import Settings
from service.jobs.models import Job
from service.roster.schemas import PersonCreate
from service.roster.service import RosterService
from service.transcripts.models import Transcript
from service.transcripts.service import BATCH_KIND
from tests.factories import make_portrait
from tests.identity.conftest import World, csrf_of
from tests.identity.test_console_sign_in import sign_in

_SHOWN = re.compile(r"show=([0-9a-f-]{36})&done=generated")


async def transcripts_of(session: AsyncSession, learner_id: uuid.UUID) -> list[Transcript]:
    query = select(Transcript).where(col(Transcript.learner_id) == learner_id)
    return list((await session.exec(query.execution_options(populate_existing=True))).all())


async def runs(session: AsyncSession, tenant_id: uuid.UUID) -> list[Job]:
    query = select(Job).where(col(Job.tenant_id) == tenant_id, col(Job.kind) == BATCH_KIND)
    return list((await session.exec(query)).all())


async def generate(
    browser: httpx.AsyncClient, learner_id: uuid.UUID | str, csrf: str | None = None
) -> httpx.Response:
    if csrf is None:
        csrf = csrf_of((await browser.get("/console/reviews")).text)
    data = {"include_courses": "yes", "include_in_progress": "yes"}
    if csrf:
        data["csrf_token"] = csrf
    return await browser.post(f"/console/learners/{learner_id}/transcripts", data=data)


async def test_generate_preview_download_share_and_revoke(
    browser: httpx.AsyncClient, session: AsyncSession, settings: Settings, world: World
) -> None:
    await make_portrait(session, world.tenant.id, competencies=2, learners=0, classes=0)
    await session.commit()
    await sign_in(browser, session, settings, world.tenant.slug, world.counselor_email)
    learner_page = await browser.get(f"/console/learners/{world.same_school}")
    assert f'href="/console/learners/{world.same_school}/transcripts"' in learner_page.text

    empty = await browser.get(f"/console/learners/{world.same_school}/transcripts")
    assert empty.status_code == 200 and empty.headers["cache-control"] == "no-store"
    assert "Sami has no transcript yet" in empty.text

    made = await generate(browser, world.same_school)
    assert made.status_code == 303, made.text
    found = _SHOWN.search(made.headers["location"])
    assert found is not None
    transcript_id = uuid.UUID(found.group(1))
    [stored] = await transcripts_of(session, world.same_school)
    assert stored.id == transcript_id and stored.issued_by and stored.issued_by.startswith("staff:")

    shown = await browser.get(made.headers["location"])
    text = shown.text
    assert "Transcript generated" in text
    assert f'value="{settings.public_url}/transcripts/{transcript_id}"' in text  # the share link
    assert f'href="/transcripts/{transcript_id}.pdf"' in text and "download=" in text
    assert "Portrait of a Graduate" in text and "<svg" in text  # the public page's view: its chart

    pdf = await browser.get(f"/transcripts/{transcript_id}.pdf")
    assert pdf.status_code == 200 and pdf.headers["content-type"] == "application/pdf"
    assert pdf.content.startswith(b"%PDF")

    csrf = csrf_of(text)
    for reason, message in (("", "Enter the reason for revoking"), ("y" * 2001, "2000 characters or fewer")):
        refused = await browser.post(
            f"/console/transcripts/{transcript_id}/revoke", data={"reason": reason, "csrf_token": csrf}
        )
        assert refused.status_code == 422 and message in refused.text
        assert 'id="revoke-reason-error"' in refused.text
    assert len(await transcripts_of(session, world.same_school)) == 1
    assert (
        await browser.get(f"/transcripts/{transcript_id}", headers={"accept": "text/html"})
    ).status_code == 200

    revoked = await browser.post(
        f"/console/transcripts/{transcript_id}/revoke",
        data={"reason": "Issued to the wrong <learner>.", "csrf_token": csrf},
    )
    assert revoked.status_code == 303
    after = (await browser.get(revoked.headers["location"])).text
    assert "Transcript revoked" in after and "Issued to the wrong &lt;learner&gt;." in after
    public = await browser.get(f"/transcripts/{transcript_id}", headers={"accept": "text/html"})
    assert "Revoked on" in public.text
    assert "wrong" not in public.text  # the reason stays inside the district
    again = await browser.post(
        f"/console/transcripts/{transcript_id}/revoke", data={"reason": "twice", "csrf_token": csrf}
    )
    assert again.status_code == 409


async def test_another_schools_or_districts_learner_gets_no_transcript(
    browser: httpx.AsyncClient, session: AsyncSession, settings: Settings, world: World
) -> None:
    await make_portrait(session, world.tenant.id, competencies=1, learners=0, classes=0)
    await session.commit()
    await sign_in(browser, session, settings, world.tenant.slug, world.counselor_email)
    for learner in (world.other_school, world.other_tenant_learner, uuid.uuid4(), "not-an-id"):
        page = await browser.get(f"/console/learners/{learner}/transcripts")
        assert page.status_code == 404 and "Learner not found" in page.text
        posted = await generate(browser, learner)
        assert posted.status_code == 404 and "Learner not found" in posted.text
    assert await transcripts_of(session, world.other_school) == []
    assert await transcripts_of(session, world.other_tenant_learner) == []

    # A CSRF-less form writes nothing either.
    for csrf in ("", "f" * 64):
        refused = await generate(browser, world.same_school, csrf=csrf)
        assert refused.status_code == 403 and "Form expired" in refused.text
    assert await transcripts_of(session, world.same_school) == []


async def test_another_districts_session_cannot_revoke_this_districts_transcript(
    browser: httpx.AsyncClient,
    second_browser: httpx.AsyncClient,
    session: AsyncSession,
    settings: Settings,
    world: World,
) -> None:
    await make_portrait(session, world.tenant.id, competencies=1, learners=0, classes=0)
    await session.commit()
    await sign_in(browser, session, settings, world.tenant.slug, world.counselor_email)
    made = await generate(browser, world.in_class)
    found = _SHOWN.search(made.headers["location"])
    assert found is not None
    await sign_in(second_browser, session, settings, world.other.slug, world.other_counselor_email)
    csrf = csrf_of((await second_browser.get("/console/reviews")).text)
    refused = await second_browser.post(
        f"/console/transcripts/{found.group(1)}/revoke", data={"reason": "not mine", "csrf_token": csrf}
    )
    assert refused.status_code == 404 and "Transcript not found" in refused.text
    [kept] = await transcripts_of(session, world.in_class)
    public = await browser.get(f"/transcripts/{kept.id}", headers={"accept": "text/html"})
    assert "Revoked on" not in public.text


async def test_educators_have_no_transcripts_or_cohort_runs(
    browser: httpx.AsyncClient, session: AsyncSession, settings: Settings, world: World
) -> None:
    await sign_in(browser, session, settings, world.tenant.slug, world.teacher_email)
    home = await browser.get("/console/")
    assert 'href="/console/transcripts"' not in home.text and 'href="/console/dashboard"' not in home.text
    assert 'href="/console/reviews"' in home.text
    for url in (f"/console/learners/{world.in_class}/transcripts", "/console/transcripts"):
        refused = await browser.get(url)
        assert refused.status_code == 403, url
    csrf = csrf_of(home.text)
    started = await browser.post(
        "/console/transcripts/runs", data={"school": str(world.school_a), "grade": "12", "csrf_token": csrf}
    )
    assert started.status_code == 403
    assert await runs(session, world.tenant.id) == []


async def _seniors(session: AsyncSession, world: World) -> list[uuid.UUID]:
    roster = RosterService(session, world.tenant.id)
    made = [
        await roster.create_person(
            PersonCreate(
                role="student",
                given_name=name,
                family_name="Senior",
                grades=["12"],
                org_ids=[school],
            )
        )
        for name, school in (("Ana", world.school_a), ("Ben", world.school_a), ("Cy", world.school_b))
    ]
    await make_portrait(session, world.tenant.id, competencies=1, learners=0, classes=0)
    await session.commit()
    return [p.id for p in made]


async def test_cohort_run_of_a_schools_grade_with_its_progress(
    browser: httpx.AsyncClient, session: AsyncSession, settings: Settings, world: World
) -> None:
    seniors = await _seniors(session, world)
    await sign_in(browser, session, settings, world.tenant.slug, world.counselor_email)
    form = await browser.get("/console/transcripts")
    assert form.status_code == 200
    assert "School A" in form.text and "School B" not in form.text  # only their own schools to choose
    csrf = csrf_of(form.text)

    started = await browser.post(
        "/console/transcripts/runs", data={"school": str(world.school_a), "grade": "12", "csrf_token": csrf}
    )
    assert started.status_code == 303, started.text
    [job] = await runs(session, world.tenant.id)
    assert started.headers["location"] == f"/console/transcripts/runs/{job.id}"
    assert sorted(job.params["learner_ids"]) == sorted(str(s) for s in seniors[:2])
    assert job.params["about"]["school_id"] == str(world.school_a)

    page = await browser.get(started.headers["location"])
    assert page.status_code == 200
    assert '<progress id="run-progress" max="2" value="0"' in page.text
    assert "School A, grade 12" in page.text and "reload it" in page.text
    progress = await browser.get(f"/console/transcripts/runs/{job.id}/progress")
    assert progress.headers["content-type"] == "application/json"
    figures = progress.json()
    assert figures["total"] == 2 and figures["done"] == 0 and figures["state"] == "queued"
    assert figures["finished"] is False

    listing = await browser.get("/console/transcripts")
    assert "School A, grade 12" in listing.text and "0 of 2" in listing.text


async def test_cohort_runs_are_scoped_and_checked(
    browser: httpx.AsyncClient,
    second_browser: httpx.AsyncClient,
    session: AsyncSession,
    settings: Settings,
    world: World,
) -> None:
    await _seniors(session, world)
    await sign_in(browser, session, settings, world.tenant.slug, world.counselor_email)
    csrf = csrf_of((await browser.get("/console/transcripts")).text)
    for data, status, message in (
        ({"school": str(world.school_b), "grade": "12"}, 422, "Choose one of your schools"),
        ({"school": "nonsense", "grade": "12"}, 422, "Choose one of your schools"),
        ({"school": str(world.school_a), "grade": ""}, 422, "Enter a grade"),
        ({"school": str(world.school_a), "grade": "1" * 17}, 422, "Enter a grade"),
        ({"school": str(world.school_a), "grade": "07"}, 422, "School A has no learners in grade 07"),
    ):
        refused = await browser.post("/console/transcripts/runs", data={**data, "csrf_token": csrf})
        assert refused.status_code == status, data
        assert message in refused.text, (data, refused.text[:2000])
    no_csrf = await browser.post(
        "/console/transcripts/runs", data={"school": str(world.school_a), "grade": "12"}
    )
    assert no_csrf.status_code == 403
    assert await runs(session, world.tenant.id) == []

    # A district admin's run of school B is not the school A counselor's to follow.
    await sign_in(second_browser, session, settings, world.tenant.slug, world.admin_email)
    admin_csrf = csrf_of((await second_browser.get("/console/transcripts")).text)
    started = await second_browser.post(
        "/console/transcripts/runs",
        data={"school": str(world.school_b), "grade": "12", "csrf_token": admin_csrf},
    )
    assert started.status_code == 303
    [job] = await runs(session, world.tenant.id)
    job_id = job.id  # refused requests roll back and expire loaded rows
    assert (await second_browser.get(f"/console/transcripts/runs/{job_id}")).status_code == 200
    for url in (f"/console/transcripts/runs/{job_id}", f"/console/transcripts/runs/{uuid.uuid4()}"):
        assert (await browser.get(url)).status_code == 404
    assert (await browser.get(f"/console/transcripts/runs/{job_id}/progress")).status_code == 404
    assert "School B" not in (await browser.get("/console/transcripts")).text


async def test_another_districts_session_cannot_follow_or_start_this_districts_runs(
    browser: httpx.AsyncClient,
    second_browser: httpx.AsyncClient,
    session: AsyncSession,
    settings: Settings,
    world: World,
) -> None:
    await _seniors(session, world)
    await sign_in(browser, session, settings, world.tenant.slug, world.counselor_email)
    csrf = csrf_of((await browser.get("/console/transcripts")).text)
    started = await browser.post(
        "/console/transcripts/runs", data={"school": str(world.school_a), "grade": "12", "csrf_token": csrf}
    )
    run_url = started.headers["location"]
    await sign_in(second_browser, session, settings, world.other.slug, world.other_counselor_email)
    assert (await second_browser.get(run_url)).status_code == 404
    assert (await second_browser.get(run_url + "/progress")).status_code == 404
    other_csrf = csrf_of((await second_browser.get("/console/transcripts")).text)
    refused = await second_browser.post(
        "/console/transcripts/runs",
        data={"school": str(world.school_a), "grade": "12", "csrf_token": other_csrf},
    )
    assert refused.status_code == 422 and "Choose one of your schools" in refused.text
    assert len(await runs(session, world.tenant.id)) == 1
    assert await runs(session, world.other.id) == []


async def test_signed_out_people_are_sent_to_sign_in(browser: httpx.AsyncClient, world: World) -> None:
    for url in (
        "/console/transcripts",
        f"/console/learners/{world.same_school}/transcripts",
        f"/console/transcripts/runs/{uuid.uuid4()}",
        "/console/dashboard",
    ):
        response = await browser.get(url)
        assert response.status_code == 303 and response.headers["location"] == "/console/sign-in", url
    progress = await browser.get(f"/console/transcripts/runs/{uuid.uuid4()}/progress")
    assert progress.status_code == 401 and progress.json() == {"detail": "sign in again"}
    posted = await browser.post(f"/console/learners/{world.same_school}/transcripts", data={})
    assert posted.status_code == 303 and posted.headers["location"] == "/console/sign-in"
