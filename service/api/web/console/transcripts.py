"""Transcripts in the console: a learner's extended transcripts (the latest one shown as its reader sees
it, from the public page's own view), generate, download the PDF, copy the share link, revoke with an
internal reason; a cohort run (a school's grade) as the batch transcript job, with its progress read from
the job (a small JSON endpoint polled by console.js; without JavaScript, reloading the page shows it).

Counselors, school leads and district admins only; each sees the learners and schools in their reach."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
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
from service.api.web.transcript_page import build_page
from service.config import Settings
from service.errors import NotFoundError, ServiceError
from service.identity.errors import NotAllowed
from service.identity.service import CONSOLE_PATH, SignedIn
from service.jobs.models import Job
from service.jobs.service import JobService
from service.roster.models import Person
from service.roster.service import RosterService
from service.schemas import PageParams, contains_nul
from service.transcripts.reading import TranscriptReadingService
from service.transcripts.schemas import TranscriptBatch, TranscriptCreate, TranscriptRead
from service.transcripts.service import AREA, BATCH_KIND, TranscriptService

router = APIRouter(prefix=CONSOLE_PATH, include_in_schema=False)

TRANSCRIPT_ROLES = frozenset({"counselor", "school_lead", "district_admin"})
MAX_REASON = 2000
MAX_GRADE = 16
LIST_LIMIT = 20
RUNS_LIMIT = 10
DONE_MESSAGES = {
    "generated": "Transcript generated. Download it, or copy its link to share it.",
    "revoked": "Transcript revoked. Its page and PDF now say so; your reason stays inside the district.",
}
STATE_LABELS = {
    "queued": "waiting to start",
    "running": "running",
    "succeeded": "finished",
    "failed": "failed",
    "cancelled": "cancelled",
}


def may_use_transcripts(user: SignedIn) -> bool:
    return bool(user.access.roles & TRANSCRIPT_ROLES)


def issued_by(user: SignedIn) -> str:
    return f"staff:{user.person.id}"


# -- one learner ----------------------------------------------------------------------------------


async def _learner_in_reach(
    request: Request, session: AsyncSession, settings: Settings, user: SignedIn, learner_id: str
) -> Person | Response:
    """The learner, or the refusal page (another school's or district's learner, or not a learner)."""
    if not may_use_transcripts(user):
        return refuse(
            request,
            session,
            settings,
            user,
            NotAllowed("transcripts are for counselors, school leads and district admins"),
        )
    not_yours = NotFoundError(
        "there is no learner with this id among the learners of your schools and classes"
    )
    try:
        wanted = uuid.UUID(learner_id[:64])
        learner = await RosterService(session, user.tenant.id).get_person(wanted, role="student")
    except (ValueError, ServiceError):
        return refuse(request, session, settings, user, not_yours, heading="Learner not found")
    if not await identity(request, session, settings).learner_visible(user.access, learner.id):
        return refuse(request, session, settings, user, not_yours, heading="Learner not found")
    return learner  # type: ignore[return-value]


async def _learner_page(
    request: Request,
    session: AsyncSession,
    settings: Settings,
    user: SignedIn,
    learner: Any,
    *,
    show: uuid.UUID | None = None,
    done: str = "",
    error: dict[str, str] | None = None,
    status_code: int = 200,
) -> Response:
    service = TranscriptService(session, user.tenant.id, settings)
    transcripts, total = await service.list_transcripts(
        PageParams(limit=LIST_LIMIT, offset=0), learner_id=learner.id
    )
    transcripts.sort(key=lambda t: t.issued_at, reverse=True)
    shown: TranscriptRead | None = next((t for t in transcripts if t.uuid == show), None)
    if shown is None:
        shown = next((t for t in transcripts if t.status == "active"), None)
    preview = None
    if shown is not None:
        reading = await TranscriptReadingService(session, settings).read(shown.uuid)
        preview = build_page(reading, settings.public_url)
    return page(
        request,
        "console/transcripts_learner.html",
        context(
            request,
            settings,
            user,
            page_title=f"Transcripts of {learner.given_name} {learner.family_name}",
            learner=learner,
            transcripts=transcripts,
            total=total,
            shown=shown,
            preview=preview,
            done=DONE_MESSAGES.get(done, ""),
            error=error,
            max_reason=MAX_REASON,
        ),
        status_code=status_code,
    )


@router.get("/learners/{learner_id}/transcripts", response_class=HTMLResponse)
async def learner_transcripts(
    learner_id: str,
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    user: UserDep,
    show: Annotated[str, Query(max_length=64)] = "",
    done: Annotated[str, Query(max_length=16)] = "",
) -> Response:
    if user is None:
        return to_sign_in()
    found = await _learner_in_reach(request, session, settings, user, learner_id)
    if isinstance(found, Response):
        return found
    try:
        shown = uuid.UUID(show) if show else None
    except ValueError:
        shown = None
    return await _learner_page(request, session, settings, user, found, show=shown, done=done)


@router.post("/learners/{learner_id}/transcripts", response_class=HTMLResponse)
async def generate(
    learner_id: str,
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    user: UserDep,
    include_courses: Annotated[str, Form(max_length=8)] = "",
    include_in_progress: Annotated[str, Form(max_length=8)] = "",
    csrf_token_field: CsrfField = "",
) -> Response:
    if user is None:
        return to_sign_in()
    try:
        check_csrf(request, settings, user, csrf_token_field)
    except ServiceError as exc:
        return refuse(request, session, settings, user, exc)
    found = await _learner_in_reach(request, session, settings, user, learner_id)
    if isinstance(found, Response):
        return found
    options = TranscriptCreate(
        include_courses=include_courses == "yes", include_in_progress=include_in_progress == "yes"
    )
    try:
        made = await TranscriptService(session, user.tenant.id, settings).generate(
            found.id, options, issued_by=issued_by(user)
        )
    except ServiceError as exc:
        return refuse(request, session, settings, user, exc, heading="The transcript could not be generated")
    return RedirectResponse(
        f"{CONSOLE_PATH}/learners/{found.id}/transcripts?show={made.transcript.id}&done=generated",
        status_code=303,
    )


@router.post("/transcripts/{transcript_id}/revoke", response_class=HTMLResponse)
async def revoke(
    transcript_id: str,
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    user: UserDep,
    reason: Annotated[str, Form(max_length=MAX_REASON * 2)] = "",
    csrf_token_field: CsrfField = "",
) -> Response:
    if user is None:
        return to_sign_in()
    try:
        check_csrf(request, settings, user, csrf_token_field)
    except ServiceError as exc:
        return refuse(request, session, settings, user, exc)
    not_yours = NotFoundError("there is no transcript with this id among the learners of your schools")
    service = TranscriptService(session, user.tenant.id, settings)
    try:
        transcript, _row = await service.get(uuid.UUID(transcript_id[:64]))
    except (ValueError, ServiceError):
        return refuse(request, session, settings, user, not_yours, heading="Transcript not found")
    found = await _learner_in_reach(request, session, settings, user, str(transcript.learner_id))
    if isinstance(found, Response):
        return found
    reason = reason.strip()
    problem = ""
    if not reason or contains_nul([reason]):
        problem = "Enter the reason for revoking: it stays inside the district"
    elif len(reason) > MAX_REASON:
        problem = f"The reason must be {MAX_REASON} characters or fewer (it has {len(reason)})"
    if problem:
        session.info[ROLLBACK_ONLY] = True
        return await _learner_page(
            request,
            session,
            settings,
            user,
            found,
            show=transcript.id,
            error={"message": problem, "reason": reason[:MAX_REASON]},
            status_code=422,
        )
    try:
        await service.revoke(transcript.id, reason, revoked_by=issued_by(user))
    except ServiceError as exc:
        return refuse(request, session, settings, user, exc, heading="The transcript could not be revoked")
    return RedirectResponse(
        f"{CONSOLE_PATH}/learners/{found.id}/transcripts?show={transcript.id}&done=revoked", status_code=303
    )


# -- cohort runs ----------------------------------------------------------------------------------


async def _schools(session: AsyncSession, user: SignedIn) -> list[Any]:
    schools, _ = await RosterService(session, user.tenant.id).list_orgs(
        PageParams(limit=200, offset=0), type_="school", status="active"
    )
    if user.access.district_wide:
        return list(schools)
    return [s for s in schools if s.id in user.access.school_ids]


def may_run_cohorts(user: SignedIn) -> bool:
    return may_use_transcripts(user) and (user.access.district_wide or bool(user.access.school_ids))


def _run_in_reach(user: SignedIn, job: Job) -> bool:
    if job.kind != BATCH_KIND:
        return False
    if user.access.district_wide:
        return True
    about = job.params.get("about") or {}
    school = about.get("school_id") if isinstance(about, dict) else None
    return school is not None and school in {str(s) for s in user.access.school_ids}


def progress_of(job: Job) -> dict[str, Any]:
    """What the progress bar shows: from the job's own progress figures (or its report once done)."""
    figures: dict[str, Any] = dict(job.report or job.progress or {})
    total = int(figures.get("total") or len(job.params.get("learner_ids", [])))
    done = int(figures.get("next", figures.get("total", 0)) if job.state != "succeeded" else total)
    about = job.params.get("about") or {}
    return {
        "id": str(job.id),
        "state": job.state,
        "state_label": STATE_LABELS.get(job.state, job.state),
        "finished": job.state in ("succeeded", "failed", "cancelled"),
        "done": min(done, total),
        "total": total,
        "generated": int(figures.get("generated", 0)),
        "partial": int(figures.get("partial", 0)),
        "errors": len(figures.get("errors", [])),
        "percent": round(100 * min(done, total) / total) if total else 100,
        "school": about.get("school_name", "") if isinstance(about, dict) else "",
        "grade": about.get("grade", "") if isinstance(about, dict) else "",
        "created_at": job.created_at,
        "error": job.error or "",
    }


async def _runs_page(
    request: Request,
    session: AsyncSession,
    settings: Settings,
    user: SignedIn,
    *,
    error: dict[str, str] | None = None,
    values: dict[str, str] | None = None,
    status_code: int = 200,
) -> Response:
    jobs, _ = await JobService(session, user.tenant.id).list(
        PageParams(limit=RUNS_LIMIT * 2, offset=0), areas=[AREA], kind=BATCH_KIND
    )
    runs = [progress_of(j) for j in jobs if _run_in_reach(user, j)][:RUNS_LIMIT]
    return page(
        request,
        "console/transcripts_runs.html",
        context(
            request,
            settings,
            user,
            page_title="Transcripts for a cohort",
            schools=await _schools(session, user),
            runs=runs,
            error=error,
            values=values or {"school": "", "grade": "12"},
        ),
        status_code=status_code,
    )


def _cohort_refusal(request: Request, session: AsyncSession, settings: Settings, user: SignedIn) -> Response:
    return refuse(
        request,
        session,
        settings,
        user,
        NotAllowed("cohort transcript runs are for counselors, school leads and district admins"),
    )


@router.get("/transcripts", response_class=HTMLResponse)
async def runs(request: Request, session: SessionDep, settings: SettingsDep, user: UserDep) -> Response:
    if user is None:
        return to_sign_in()
    if not may_run_cohorts(user):
        return _cohort_refusal(request, session, settings, user)
    return await _runs_page(request, session, settings, user)


@router.post("/transcripts/runs", response_class=HTMLResponse)
async def start_run(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    user: UserDep,
    school: Annotated[str, Form(max_length=64)] = "",
    grade: Annotated[str, Form(max_length=MAX_GRADE * 4)] = "",
    csrf_token_field: CsrfField = "",
) -> Response:
    if user is None:
        return to_sign_in()
    try:
        check_csrf(request, settings, user, csrf_token_field)
    except ServiceError as exc:
        return refuse(request, session, settings, user, exc)
    if not may_run_cohorts(user):
        return _cohort_refusal(request, session, settings, user)
    grade = grade.strip()
    values = {"school": school if not contains_nul([school]) else "", "grade": grade[:MAX_GRADE]}
    schools = {str(s.id): s for s in await _schools(session, user)}
    problem: dict[str, str] | None = None
    if school not in schools:
        problem = {"field": "school", "message": "Choose one of your schools"}
    elif not grade or len(grade) > MAX_GRADE or contains_nul([grade]):
        problem = {"field": "grade", "message": f"Enter a grade of at most {MAX_GRADE} characters, like 12"}
    job = None
    if problem is None:
        chosen = schools[school]
        try:
            job = await TranscriptService(session, user.tenant.id, settings).enqueue_batch(
                TranscriptBatch(school_id=chosen.id, grade=grade),
                about={
                    "school_id": str(chosen.id),
                    "school_name": chosen.name,
                    "grade": grade,
                    "started_by": issued_by(user),
                },
            )
        except ServiceError as exc:
            problem = {"field": "grade", "message": f"No transcripts to make: {exc.detail}"}
            if exc.errors and "no learners" in exc.detail:
                problem["message"] = f"{chosen.name} has no learners in grade {grade}"
    if problem is not None or job is None:
        session.info[ROLLBACK_ONLY] = True
        return await _runs_page(
            request, session, settings, user, error=problem, values=values, status_code=422
        )
    return RedirectResponse(f"{CONSOLE_PATH}/transcripts/runs/{job.id}", status_code=303)


async def _run(
    request: Request, session: AsyncSession, settings: Settings, user: SignedIn, job_id: str
) -> Job | Response:
    if not may_run_cohorts(user):
        return _cohort_refusal(request, session, settings, user)
    not_yours = NotFoundError("there is no cohort run with this id for your schools")
    try:
        job = await JobService(session, user.tenant.id).get(uuid.UUID(job_id[:64]))
    except (ValueError, ServiceError):
        return refuse(request, session, settings, user, not_yours, heading="Cohort run not found")
    if not _run_in_reach(user, job):
        return refuse(request, session, settings, user, not_yours, heading="Cohort run not found")
    return job


@router.get("/transcripts/runs/{job_id}", response_class=HTMLResponse)
async def run_page(
    job_id: str, request: Request, session: SessionDep, settings: SettingsDep, user: UserDep
) -> Response:
    if user is None:
        return to_sign_in()
    job = await _run(request, session, settings, user, job_id)
    if isinstance(job, Response):
        return job
    run = progress_of(job)
    return page(
        request,
        "console/transcripts_run.html",
        context(request, settings, user, page_title="Cohort run", run=run),
    )


@router.get("/transcripts/runs/{job_id}/progress")
async def run_progress(
    job_id: str, request: Request, session: SessionDep, settings: SettingsDep, user: UserDep
) -> Response:
    """The progress bar's figures as JSON (polled by console.js)."""
    if user is None:
        return JSONResponse(
            {"detail": "sign in again"}, status_code=401, headers={"Cache-Control": "no-store"}
        )
    job = await _run(request, session, settings, user, job_id)
    if isinstance(job, Response):
        return JSONResponse({"detail": "not found"}, status_code=404, headers={"Cache-Control": "no-store"})
    run = progress_of(job)
    run.pop("created_at")
    return JSONResponse(run, headers={"Cache-Control": "no-store"})
