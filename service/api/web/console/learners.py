"""Learner search and the learner page: the Portrait, badges with the reason for each not yet earned,
and the evidence timeline."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse, Response
from markupsafe import Markup
from sqlmodel.ext.asyncio.session import AsyncSession

from service.api.deps import SessionDep, SettingsDep
from service.api.web.console.common import (
    UserDep,
    context,
    evidence_level_label,
    identity,
    page,
    refuse,
    source_label,
    to_sign_in,
)
from service.awards.schemas import CompetencyLevel
from service.awards.service import AwardService
from service.badges.issuance import CredentialService
from service.config import Settings
from service.errors import ServiceError
from service.evidence.models import Evidence
from service.evidence.service import EvidenceService
from service.frameworks.service import FrameworkService
from service.frameworks.tree import FrameworkTree
from service.identity.service import CONSOLE_PATH, SignedIn
from service.roster.models import Class
from service.roster.repository import PersonFilter
from service.roster.service import RosterService
from service.schemas import PageParams
from service.transcripts.chart import (
    GrowthPoint,
    PortraitLevels,
    growth_chart,
    growth_text,
    portrait_chart,
    scale_of,
)
from service.transcripts.view import AttributeView, CompetencyView

router = APIRouter(prefix=CONSOLE_PATH, include_in_schema=False)

SEARCH_LIMIT = 50
TIMELINE_LIMIT = 100

AWARD_STATUS_LABELS = {
    "awarded": "earned",
    "pending_review": "under review",
    "rejected": "declined",
    "revoked": "revoked",
}


# -- pages ----------------------------------------------------------------------------------------


def _scope_filter(user: SignedIn, q: str) -> PersonFilter:
    access = user.access
    if access.district_wide:
        return PersonFilter(role="student", q=q or None)
    return PersonFilter(
        role="student", q=q or None, within_orgs=access.school_ids, within_classes=access.class_ids
    )


@router.get("/", response_class=HTMLResponse)
async def home(request: Request, session: SessionDep, settings: SettingsDep, user: UserDep) -> Response:
    if user is None:
        return to_sign_in()
    return page(
        request,
        "console/home.html",
        context(request, settings, user, page_title="Learners", q="", results=None),
    )


@router.get("/learners", response_class=HTMLResponse)
async def learners(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    user: UserDep,
    q: Annotated[str, Query(max_length=100)] = "",
) -> Response:
    if user is None:
        return to_sign_in()
    q = q.strip()
    rows, total = await RosterService(session, user.tenant.id).list_people(
        _scope_filter(user, q), PageParams(limit=SEARCH_LIMIT, offset=0)
    )
    return page(
        request,
        "console/home.html",
        context(
            request,
            settings,
            user,
            page_title="Learners",
            q=q,
            results=rows,
            total=total,
            more=total > len(rows),
        ),
    )


@router.get("/learners/{learner_id}", response_class=HTMLResponse)
async def learner_page(
    learner_id: Annotated[str, Depends(lambda learner_id: learner_id[:64])],
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    user: UserDep,
) -> Response:
    from service.errors import NotFoundError

    if user is None:
        return to_sign_in()
    not_yours = NotFoundError(
        "there is no learner with this id among the learners of your schools and classes"
    )
    try:
        wanted = uuid.UUID(learner_id)
    except ValueError:
        return refuse(request, session, settings, user, not_yours, heading="Learner not found")
    service = identity(request, session, settings)
    roster = RosterService(session, user.tenant.id)
    try:
        learner = await roster.get_person(wanted, role="student")
    except ServiceError:
        return refuse(request, session, settings, user, not_yours, heading="Learner not found")
    if not await service.learner_visible(user.access, learner.id):
        return refuse(request, session, settings, user, not_yours, heading="Learner not found")
    view = await _learner_view(session, settings, user, learner.id)
    return page(
        request,
        "console/learner.html",
        context(
            request,
            settings,
            user,
            page_title=f"{learner.given_name} {learner.family_name}",
            learner=learner,
            **view,
        ),
    )


#: Framework kinds a learner's page shows (a leader's or a system's portrait is about adults).
LEARNER_PORTRAITS = frozenset({"graduate", "learner", "self"})


async def _learner_view(
    session: AsyncSession, settings: Settings, user: SignedIn, learner_id: uuid.UUID
) -> dict[str, Any]:
    tenant_id = user.tenant.id
    progress = await AwardService(session, tenant_id).learner_progress(learner_id)
    credentials, _, _ = await CredentialService(session, tenant_id, settings).list_credentials(
        PageParams(limit=200, offset=0), learner_id=learner_id
    )
    credential_status = {c.achievement_id: c.status for c in credentials}
    badges = []
    for item in progress.achievements:
        if item.earned:
            label = "earned"
            status = credential_status.get(item.achievement_id)
            if status is not None:
                label += f", credential {status}"
        elif item.award_status:
            label = AWARD_STATUS_LABELS.get(item.award_status, item.award_status.replace("_", " "))
        else:
            label = "not yet earned"
        colour = "green" if item.earned else ("yellow" if item.award_status == "pending_review" else "grey")
        if item.award_status in ("revoked", "rejected"):
            colour = "red"
        badges.append({"title": item.title, "status_label": label, "reasons": item.reasons, "colour": colour})
    pieces, total = await EvidenceService(session, tenant_id).list_page(
        PageParams(limit=TIMELINE_LIMIT, offset=0), learner_id=learner_id
    )
    titles = {c.competency_id: c.title for c in progress.competencies}
    frameworks = FrameworkService(session, tenant_id)
    level_titles: dict[tuple[uuid.UUID, int], str] = {}
    trees = await frameworks.load_trees(
        [c.framework_id for c in progress.competencies] + [p.framework_id for p in pieces]
    )
    for framework_id, tree in trees.items():
        for level in tree.levels:
            level_titles[(framework_id, level.position)] = level.title
        for comp in tree.competencies:
            titles.setdefault(comp.id, comp.title)
    classes = await RosterService(session, tenant_id).classes_by_ids(
        [p.class_id for p in pieces if p.class_id]
    )
    evidence = [
        {
            "observed_at": p.observed_at,
            "competency": titles.get(p.competency_id, "a competency"),
            "level": evidence_level_label(p, level_titles),
            "source": source_label(p.source),
            "class_title": classes[p.class_id].title if p.class_id and p.class_id in classes else "",
            "narrative": p.narrative or "",
            "withdrawn": (p.withdrawn_reason or "withdrawn") if p.status == "withdrawn" else "",
        }
        for p in pieces
    ]
    # A learner's page shows the portraits written for learners (graduate, learner, self), and any other
    # that holds evidence about this learner; not the district's Portrait of a Leader or of a System.
    shown = {fid for fid, tree in trees.items() if tree.kind in LEARNER_PORTRAITS} | {
        p.framework_id for p in pieces
    }
    levels = [c for c in progress.competencies if c.framework_id in shown]
    return {
        "progress": progress,
        "levels": levels,
        "badges": badges,
        "evidence": evidence,
        "evidence_total": total,
        "portraits": _portrait_pictures(levels, trees),
        "growth": _growth_pictures(pieces, trees, classes),
    }


def _portrait_pictures(
    levels: Sequence[CompetencyLevel], trees: dict[uuid.UUID, FrameworkTree]
) -> list[dict[str, Any]]:
    """One Portrait chart per published framework (the transcripts' chart, fed from current levels)."""
    reached = {c.competency_id: c.level for c in levels}
    pictures = []
    for number, framework_id in enumerate(dict.fromkeys(c.framework_id for c in levels)):
        tree = trees[framework_id]
        scale = scale_of([lv.title for lv in sorted(tree.levels, key=lambda lv: lv.position)])
        groups: dict[uuid.UUID | None, list[CompetencyView]] = {}
        for comp in sorted(tree.competencies, key=lambda c: (c.position, c.title)):
            if comp.id not in reached:
                continue
            value = reached[comp.id]
            rank = max(1, min(len(scale), int(value + 1e-9) + 1)) if value is not None and scale else 0
            groups.setdefault(comp.attribute_id, []).append(
                CompetencyView(
                    id=str(comp.id), name=comp.title, levels=scale, reached=scale[rank - 1] if rank else None
                )
            )
        attributes = [
            AttributeView(id=str(a.id), name=a.title, competencies=tuple(groups[a.id]))
            for a in sorted(tree.attributes, key=lambda a: (a.position, a.title))
            if a.id in groups
        ]
        if None in groups:
            name = "Competencies" if not attributes else "Other competencies"
            attributes.append(AttributeView(id=None, name=name, competencies=tuple(groups[None])))
        portrait = PortraitLevels(portrait_name=tree.title, attributes=tuple(attributes))
        # Our own SVG, built from escaped text (xml.sax.saxutils): safe to inline.
        # Two layouts of the same chart: the page shows the compact one on a phone, the wide one above.
        svg = Markup(portrait_chart(portrait, id_prefix=f"portrait-{number}"))  # noqa: S704
        compact = Markup(portrait_chart(portrait, id_prefix=f"portrait-{number}-compact", compact=True))  # noqa: S704
        pictures.append({"title": tree.title, "svg": svg, "svg_compact": compact})
    return pictures


def _growth_pictures(
    pieces: Sequence[Evidence], trees: dict[uuid.UUID, FrameworkTree], classes: dict[uuid.UUID, Class]
) -> list[dict[str, Any]]:
    """Per competency with levelled evidence: a small chart of its levels by date, and the same as rows."""
    by_competency: dict[uuid.UUID, list[Evidence]] = {}
    for piece in pieces:
        if piece.status == "active" and piece.level_position is not None:
            by_competency.setdefault(piece.competency_id, []).append(piece)
    pictures = []
    for number, (competency_id, found) in enumerate(by_competency.items()):
        tree = trees.get(found[0].framework_id)
        if tree is None:
            continue
        comp = next((c for c in tree.competencies if c.id == competency_id), None)
        ordered_levels = sorted(tree.levels, key=lambda lv: lv.position)
        names = [lv.title for lv in ordered_levels]
        rank = {lv.position: index + 1 for index, lv in enumerate(ordered_levels)}
        found.sort(key=lambda p: p.observed_at)
        points = [
            GrowthPoint(
                p.observed_at.date(),
                rank.get(p.level_position or 0, 1),
                source_label(p.source),
            )
            for p in found
        ]
        title = comp.title if comp else "A competency"
        svg = Markup(growth_chart(title, names, points, id_prefix=f"growth-{number}"))  # noqa: S704
        rows = [
            {
                "observed_at": p.observed_at,
                "level": names[rank.get(p.level_position or 0, 1) - 1] if names else "",
                "source": source_label(p.source),
                "class_title": classes[p.class_id].title if p.class_id and p.class_id in classes else "",
            }
            for p in found
        ]
        pictures.append({"title": title, "svg": svg, "text": growth_text(title, names, points), "rows": rows})
    return sorted(pictures, key=lambda g: str(g["title"]))
