"""Classes for educators: the classes a person may see, and one class's heat map of current levels with a
scoring grid that records rubric evidence for the whole class at once.

Scope: an educator sees the classes they teach, a counselor or school lead the classes of their schools,
a district admin every class of the district. Another class id (another school's, another district's, or
none) gets the refusal page, and a post to it writes nothing.

The grid is saved through the evidence service (the same validation and award evaluation as
``POST /api/v1/evidence``), all rows or none, once per form: the form carries an idempotency key made when
the page was drawn, so a double submit writes once and the second answer is the first one's.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import ValidationError
from sqlalchemy.exc import IntegrityError
from sqlmodel.ext.asyncio.session import AsyncSession

from service.api.deps import ROLLBACK_ONLY, SessionDep, SettingsDep
from service.api.web.console.common import UserDep, check_csrf, context, page, refuse, to_sign_in
from service.awards.schemas import ClassProgress
from service.awards.service import AwardService
from service.config import Settings
from service.db import discard_after_commit
from service.errors import NotFoundError, ServiceError
from service.evidence.errors import IdempotencyKeyReused
from service.evidence.schemas import ArtifactIn, EvidenceCreate
from service.evidence.service import EvidenceService
from service.frameworks.grade_bands import band_for
from service.frameworks.models import Framework
from service.frameworks.service import FrameworkService
from service.frameworks.tree import CompetencyNode, FrameworkTree
from service.identity.service import CONSOLE_PATH, SignedIn
from service.roster.models import Class
from service.roster.repository import ClassFilter
from service.roster.service import RosterService
from service.schemas import PageParams, contains_nul

router = APIRouter(prefix=CONSOLE_PATH, include_in_schema=False)

CLASS_LIMIT = 200
SCORES_SCOPE = "console class scores"
MAX_NOTE = 2000
MAX_URL = 2048
#: Heat map steps (console.css colours them: one hue getting darker, dark text at >= 4.5:1 on each).
HEAT_STEPS = 5
NOT_YOURS = "there is no class with this id among the classes of your schools"


# -- what a page shows ---------------------------------------------------------------------------


@dataclass
class Submitted:
    """The grid as posted (kept to redraw the form after an error)."""

    competency: str = ""
    observed_on: str = ""
    note: str = ""
    artifact_url: str = ""
    levels: dict[str, str] = field(default_factory=dict)
    key: str = ""


@dataclass
class Problem:
    field: str
    message: str


def _visible(user: SignedIn, klass: Class) -> bool:
    access = user.access
    return access.district_wide or klass.id in access.class_ids or klass.school_id in access.school_ids


def _class_filter(user: SignedIn) -> ClassFilter:
    access = user.access
    if access.district_wide:
        return ClassFilter(status="active")
    return ClassFilter(status="active", within_schools=access.school_ids, within_classes=access.class_ids)


def _heat(position: float | None, levels: int) -> str:
    """The heat map class of a level: ``heat--0`` (lowest) to ``heat--4``; ``heat--none`` without one.
    (Classes, not inline styles: the pages' CSP allows stylesheets from the service only.)"""
    if position is None or levels <= 0:
        return "heat--none"
    step = 0 if levels == 1 else round(position / (levels - 1) * (HEAT_STEPS - 1))
    return f"heat--{max(0, min(HEAT_STEPS - 1, step))}"


def _parse_uuid(value: str | None) -> uuid.UUID | None:
    if not value:
        return None
    try:
        return uuid.UUID(value)
    except ValueError:
        return None


async def _find_class(
    session: AsyncSession, user: SignedIn, class_id: str
) -> tuple[Class | None, ServiceError]:
    error = NotFoundError(NOT_YOURS)
    wanted = _parse_uuid(class_id[:64])
    if wanted is None:
        return None, error
    found = (await RosterService(session, user.tenant.id).classes_by_ids([wanted])).get(wanted)
    if found is None or not _visible(user, found):
        return None, error
    return found, error


async def _frameworks(session: AsyncSession, user: SignedIn) -> Sequence[Framework]:
    rows, _ = await FrameworkService(session, user.tenant.id).list_frameworks(
        PageParams(limit=50, offset=0), status="published"
    )
    # The Portrait of a Graduate first: it is the one most classes score against.
    return sorted(rows, key=lambda f: (f.kind != "graduate", f.title))


def _competency_rows(tree: FrameworkTree) -> list[CompetencyNode]:
    """The competencies in reading order: each attribute's, then the rest (children after parents)."""
    order = {a.id: a.position for a in tree.attributes}
    return sorted(
        tree.competencies,
        key=lambda c: (order.get(c.attribute_id, 1_000) if c.attribute_id else 1_000, c.position, c.title),
    )


def _scoring_levels(tree: FrameworkTree, competency: CompetencyNode) -> list[dict[str, Any]]:
    """Each level of the scale with what it means for this competency (its descriptor, else the level's
    own description)."""
    described = {d.level_id: d.description for d in competency.descriptors}
    return [
        {
            "position": level.position,
            "title": level.title,
            "descriptor": described.get(level.id) or level.description or "",
            "proficient": level.proficient,
        }
        for level in sorted(tree.levels, key=lambda lv: lv.position)
    ]


async def _class_view(
    request: Request,
    session: AsyncSession,
    settings: Settings,
    user: SignedIn,
    klass: Class,
    *,
    framework_id: str = "",
    competency_id: str = "",
    submitted: Submitted | None = None,
    problems: Sequence[Problem] = (),
    saved: int | None = None,
    awarded: int = 0,
    status_code: int = 200,
) -> Response:
    tenant_id = user.tenant.id
    roster = RosterService(session, tenant_id)
    schools = await roster.orgs_by_ids([klass.school_id])
    term = (
        (await roster.academic_sessions_by_ids([klass.academic_session_id])).get(klass.academic_session_id)
        if klass.academic_session_id
        else None
    )
    frameworks = await _frameworks(session, user)
    chosen_fw = next((f for f in frameworks if str(f.id) == framework_id), None)
    tree: FrameworkTree | None = None
    progress: ClassProgress | None = None
    competencies: list[CompetencyNode] = []
    if chosen_fw is None and competency_id and frameworks:
        # A competency link from elsewhere names no framework: find the one it belongs to.
        wanted = _parse_uuid(competency_id)
        found = await FrameworkService(session, tenant_id).competencies_by_ids([wanted]) if wanted else {}
        owner = next(iter(found.values())).framework_id if found else None
        chosen_fw = next((f for f in frameworks if f.id == owner), None)
    if chosen_fw is None and frameworks:
        chosen_fw = frameworks[0]
    if chosen_fw is not None:
        tree = await FrameworkService(session, tenant_id).load_tree(chosen_fw.id)
        competencies = _competency_rows(tree)
        progress = await AwardService(session, tenant_id).class_progress(klass.id, framework_id=chosen_fw.id)
    chosen = next((c for c in competencies if str(c.id) == competency_id), None) or (
        competencies[0] if competencies else None
    )
    levels = _scoring_levels(tree, chosen) if tree and chosen else []
    band = band_for(chosen.grade_bands, klass.grades) if chosen else None
    scale = len(tree.levels) if tree else 0
    heat_rows = []
    if progress is not None:
        for row in progress.learners:
            heat_rows.append(
                {
                    "id": row.learner_id,
                    "name": f"{row.given_name} {row.family_name}",
                    "sort_name": f"{row.family_name}, {row.given_name}",
                    "cells": [
                        {
                            "title": cell.level_title,
                            "count": cell.evidence_count,
                            "colour": _heat(cell.level, scale),
                        }
                        for cell in row.cells
                    ],
                }
            )
    heat_columns = (
        [{"title": c["title"], "code": c.get("code")} for c in progress.competencies] if progress else []
    )
    values = submitted or Submitted(
        competency=str(chosen.id) if chosen else "",
        observed_on=date.today().isoformat(),
        key=uuid.uuid4().hex,
    )
    return page(
        request,
        "console/class.html",
        context(
            request,
            settings,
            user,
            page_title=klass.title,
            klass=klass,
            school=schools.get(klass.school_id),
            term=term,
            frameworks=frameworks,
            framework=chosen_fw,
            competencies=competencies,
            competency=chosen,
            levels=levels,
            band=band,
            heat_columns=heat_columns,
            heat_rows=heat_rows,
            legend=[
                {"title": lv.title, "colour": _heat(lv.position, scale)}
                for lv in (sorted(tree.levels, key=lambda lv: lv.position) if tree else [])
            ],
            values=values,
            problems=list(problems),
            problem_fields={p.field: p.message for p in problems},
            saved=saved,
            awarded=awarded,
            today=date.today().isoformat(),
        ),
        status_code=status_code,
    )


# -- pages ----------------------------------------------------------------------------------------


@router.get("/classes", response_class=HTMLResponse)
async def classes(request: Request, session: SessionDep, settings: SettingsDep, user: UserDep) -> Response:
    if user is None:
        return to_sign_in()
    roster = RosterService(session, user.tenant.id)
    rows, total = await roster.list_classes(_class_filter(user), PageParams(limit=CLASS_LIMIT, offset=0))
    schools = await roster.orgs_by_ids(list({c.school_id for c in rows}))
    terms = await roster.academic_sessions_by_ids(
        list({c.academic_session_id for c in rows if c.academic_session_id})
    )
    listed = [
        {
            "id": c.id,
            "title": c.title,
            "code": c.class_code or "",
            "school": schools[c.school_id].name if c.school_id in schools else "",
            "term": terms[c.academic_session_id].title
            if c.academic_session_id and c.academic_session_id in terms
            else "",
            "grades": ", ".join(c.grades),
            "yours": c.id in user.access.class_ids,
        }
        for c in rows
    ]
    return page(
        request,
        "console/classes.html",
        context(
            request,
            settings,
            user,
            page_title="Classes",
            classes=listed,
            total=total,
            more=total > len(rows),
        ),
    )


@router.get("/classes/{class_id}", response_class=HTMLResponse)
async def class_page(
    class_id: Annotated[str, Depends(lambda class_id: class_id[:64])],
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    user: UserDep,
    framework: Annotated[str, Query(max_length=64)] = "",
    competency: Annotated[str, Query(max_length=64)] = "",
    saved: Annotated[str, Query(max_length=8)] = "",
    awarded: Annotated[str, Query(max_length=8)] = "",
) -> Response:
    if user is None:
        return to_sign_in()
    klass, error = await _find_class(session, user, class_id)
    if klass is None:
        return refuse(request, session, settings, user, error, heading="Class not found")
    return await _class_view(
        request,
        session,
        settings,
        user,
        klass,
        framework_id=framework,
        competency_id=competency,
        # The counts of the redirect after saving; anything else in the address is ignored.
        saved=int(saved) if saved.isdigit() else None,
        awarded=int(awarded) if awarded.isdigit() else 0,
    )


def _read_grid(form: Any) -> Submitted | None:
    """The posted grid, or None when a field is not text or holds a NUL (refused as a whole)."""
    values: dict[str, str] = {}
    levels: dict[str, str] = {}
    for name, value in form.multi_items():
        if not isinstance(value, str) or contains_nul([name, value]):
            return None
        if name.startswith("level-"):
            levels[name.removeprefix("level-")[:64]] = value[:16]
        else:
            values[name] = value
    return Submitted(
        competency=values.get("competency", "")[:64],
        observed_on=values.get("observed_on", "")[:32],
        note=values.get("note", "")[: MAX_NOTE + 1],
        artifact_url=values.get("artifact_url", "").strip()[: MAX_URL + 1],
        levels=levels,
        key=values.get("submission", "")[:64],
    )


def _digest(klass: Class, grid: Submitted) -> str:
    payload = {
        "class": str(klass.id),
        "competency": grid.competency,
        "observed_on": grid.observed_on,
        "note": grid.note,
        "artifact_url": grid.artifact_url,
        "levels": sorted((k, v) for k, v in grid.levels.items() if v),
    }
    return hashlib.sha256(json.dumps(payload, sort_keys=True).encode()).hexdigest()


async def _records(
    session: AsyncSession, user: SignedIn, klass: Class, grid: Submitted
) -> tuple[list[EvidenceCreate], list[Problem], uuid.UUID | None]:
    """The evidence the grid asks for, or the problems that stop it (each naming its field)."""
    problems: list[Problem] = []
    tenant_id = user.tenant.id
    competency_id = _parse_uuid(grid.competency)
    tree: FrameworkTree | None = None
    framework_id: uuid.UUID | None = None
    if competency_id is not None:
        found = await FrameworkService(session, tenant_id).competencies_by_ids([competency_id])
        if competency_id in found:
            framework_id = found[competency_id].framework_id
    published = {f.id for f in await _frameworks(session, user)}
    if framework_id is None or framework_id not in published:
        problems.append(Problem("pick-competency", "Choose a competency of a published Portrait"))
    else:
        tree = await FrameworkService(session, tenant_id).load_tree(framework_id)
    positions = {lv.position for lv in tree.levels} if tree else set()
    observed: datetime | None = None
    try:
        day = date.fromisoformat(grid.observed_on)
        observed = (
            datetime.now(UTC) if day == datetime.now(UTC).date() else datetime.combine(day, time(12), UTC)
        )
        if day > datetime.now(UTC).date():
            problems.append(Problem("observed_on", "The date of the work must be today or earlier"))
        elif day.year < 1900:
            problems.append(Problem("observed_on", "The date of the work must be after 1900"))
    except ValueError:
        problems.append(Problem("observed_on", "Enter the date of the work, for example 2026-10-05"))
    if len(grid.note) > MAX_NOTE:
        problems.append(Problem("note", f"The note must be {MAX_NOTE} characters or fewer"))
    artifacts: list[ArtifactIn] = []
    if grid.artifact_url:
        try:
            if len(grid.artifact_url) > MAX_URL or not grid.artifact_url.lower().startswith(
                ("https://", "http://")
            ):
                raise ValueError("not a web address")
            artifacts = [
                ArtifactIn.model_validate({"name": f"Work in {klass.title}"[:255], "url": grid.artifact_url})
            ]
        except (ValidationError, ValueError):
            problems.append(
                Problem("artifact_url", "Enter the artifact link as a web address starting with https://")
            )
    progress = await AwardService(session, tenant_id).class_progress(klass.id, framework_id=framework_id)
    learners = {str(row.learner_id): row for row in progress.learners}
    chosen: list[tuple[uuid.UUID, int]] = []
    for learner, value in grid.levels.items():
        row = learners.get(learner)
        if row is None:
            problems.append(Problem("grid", "The grid names a learner who is not in this class"))
            break
        if not value:
            continue
        name = f"{row.given_name} {row.family_name}"
        if not value.isdigit() or (tree is not None and int(value) not in positions):
            problems.append(Problem(f"level-{learner}", f"Choose one of the levels for {name}"))
            continue
        chosen.append((row.learner_id, int(value)))
    if not chosen and not any(p.field.startswith(("level-", "grid")) for p in problems):
        problems.append(Problem("grid", "Choose a level for at least one learner"))
    if problems or competency_id is None or observed is None:
        return [], problems, framework_id
    assessor = f"{user.person.given_name} {user.person.family_name}"[:255]
    records = [
        EvidenceCreate(
            learner_id=learner_id,
            competency_id=competency_id,
            source="rubric",
            level=position,
            assessor_id=user.person.id,
            assessor_name=assessor,
            class_id=klass.id,
            academic_session_id=klass.academic_session_id,
            observed_at=observed,
            narrative=grid.note.strip() or None,
            artifacts=artifacts,
        )
        for learner_id, position in chosen
    ]
    return records, problems, framework_id


@router.post("/classes/{class_id}/scores", response_class=HTMLResponse)
async def record_scores(
    class_id: Annotated[str, Depends(lambda class_id: class_id[:64])],
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    user: UserDep,
) -> Response:
    if user is None:
        return to_sign_in()
    form = await request.form(max_fields=1_000, max_files=0)
    token = form.get("csrf_token")
    try:
        check_csrf(request, settings, user, token if isinstance(token, str) else None)
    except ServiceError as exc:
        return refuse(request, session, settings, user, exc)
    klass, error = await _find_class(session, user, class_id)
    if klass is None:
        return refuse(request, session, settings, user, error, heading="Class not found")
    grid = _read_grid(form)
    if grid is None or not grid.key or len(grid.key) < 16:
        session.info[ROLLBACK_ONLY] = True
        return await _class_view(
            request,
            session,
            settings,
            user,
            klass,
            problems=[Problem("grid", "This form could not be read: reload the class page and score again")],
            status_code=422,
        )
    records, problems, framework_id = await _records(session, user, klass, grid)

    async def redraw(found: Sequence[Problem]) -> Response:
        session.info[ROLLBACK_ONLY] = True
        return await _class_view(
            request,
            session,
            settings,
            user,
            klass,
            framework_id=str(framework_id or ""),
            competency_id=grid.competency,
            submitted=grid,
            problems=found,
            status_code=422,
        )

    if problems:
        return await redraw(problems)
    evidence = EvidenceService(session, user.tenant.id)
    digest = _digest(klass, grid)
    key = f"{klass.id}:{grid.key}"
    try:
        result, _replayed = await evidence.create_all_once(
            records,
            created_by=f"console:{user.person.id}",
            scope=SCORES_SCOPE,
            key=key,
            request_hash=digest,
        )
    except IdempotencyKeyReused:
        return await redraw(
            [Problem("grid", "These scores were already saved: reload the class page to score again")]
        )
    except IntegrityError:
        # A twin of this form (a double click) committed first: answer with what it saved.
        discard_after_commit(session)
        await session.rollback()
        first = await evidence.first_result(SCORES_SCOPE, key, digest)
        if first is None:
            raise
        result = first
    except ServiceError as exc:
        return await redraw([Problem("grid", exc.detail[:1].upper() + exc.detail[1:])])
    saved = len(result.get("accepted", []))
    awarded = sum(1 for change in result.get("awards", []) if change.get("change") == "created")
    target = f"{CONSOLE_PATH}/classes/{klass.id}?competency={grid.competency}&saved={saved}"
    if awarded:
        target += f"&awarded={awarded}"
    return RedirectResponse(target + "#heat-map", status_code=303)
