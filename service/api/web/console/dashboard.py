"""The district dashboard (district admins and school leads): evidence coverage and levels per competency
by school and grade band, the seeds' "metrics of success". Numbers come from ``MetricsService`` (SQL
aggregates); this module only lays them out as server-rendered SVG bar charts and tables."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, Response

from service.api.deps import SessionDep, SettingsDep
from service.api.web.console.common import UserDep, context, page, refuse, to_sign_in
from service.identity.errors import NotAllowed
from service.identity.service import CONSOLE_PATH, SignedIn
from service.metrics.schemas import BandCoverage, Dashboard, LevelInfo
from service.metrics.service import MetricsService

router = APIRouter(prefix=CONSOLE_PATH, include_in_schema=False)

DASHBOARD_ROLES = frozenset({"school_lead", "district_admin"})
#: Level colours from light to dark (contrast with white text is not needed: labels sit outside bars).
PALETTE = ("#d2e3f3", "#8fb8de", "#4a87c0", "#1d5a96", "#0b3663", "#061d36")
NO_LEVEL_COLOUR = "#b58840"
NO_EVIDENCE_COLOUR = "#e8e8e8"
CHART_WIDTH = 640
LABEL_WIDTH = 210
BAR_WIDTH = CHART_WIDTH - LABEL_WIDTH - 50
ROW_HEIGHT = 30
LABEL_CHARS = 30


def may_see_dashboard(user: SignedIn) -> bool:
    return bool(user.access.roles & DASHBOARD_ROLES)


@dataclass(frozen=True)
class Segment:
    x: float
    width: float
    colour: str
    label: str
    learners: int


@dataclass(frozen=True)
class Bar:
    y: int
    label: str
    title: str
    segments: tuple[Segment, ...]
    proficient_percent: int
    covered_percent: int


@dataclass(frozen=True)
class Chart:
    height: int
    bars: tuple[Bar, ...]


def legend(levels: list[LevelInfo]) -> list[tuple[str, str]]:
    colours = [(lv.title, PALETTE[min(i, len(PALETTE) - 1)]) for i, lv in enumerate(levels)]
    return [
        *colours,
        ("Evidence without a rubric level", NO_LEVEL_COLOUR),
        ("No evidence yet", NO_EVIDENCE_COLOUR),
    ]


def chart(band: BandCoverage, levels: list[LevelInfo], proficient: set[int]) -> Chart:
    colour = {lv.position: PALETTE[min(i, len(PALETTE) - 1)] for i, lv in enumerate(levels)}
    titles = {lv.position: lv.title for lv in levels}
    bars = []
    for row, comp in enumerate(band.competencies):
        total = max(band.learners, comp.covered, 1)
        x = float(LABEL_WIDTH)
        segments = []
        parts: list[tuple[str, str, int]] = [
            (colour.get(lv.position, PALETTE[-1]), titles[lv.position], comp.levels.get(lv.position, 0))
            for lv in levels
        ]
        parts.append((NO_LEVEL_COLOUR, "evidence without a rubric level", comp.levels.get(None, 0)))
        parts.append((NO_EVIDENCE_COLOUR, "no evidence yet", max(band.learners - comp.covered, 0)))
        for fill, label, learners in parts:
            if learners <= 0:
                continue
            width = BAR_WIDTH * learners / total
            segments.append(Segment(round(x, 1), round(width, 1), fill, label, learners))
            x += width
        label = comp.title if len(comp.title) <= LABEL_CHARS else comp.title[: LABEL_CHARS - 1] + "…"
        bars.append(
            Bar(
                y=row * ROW_HEIGHT,
                label=label,
                title=comp.title,
                segments=tuple(segments),
                proficient_percent=round(100 * comp.proficient(proficient) / band.learners)
                if band.learners
                else 0,
                covered_percent=round(100 * comp.covered / band.learners) if band.learners else 0,
            )
        )
    return Chart(height=len(bars) * ROW_HEIGHT + 4, bars=tuple(bars))


def _view(dashboard: Dashboard) -> dict[str, object]:
    proficient = dashboard.proficient_positions
    blocks = ([dashboard.district] if dashboard.district else []) + dashboard.schools
    return {
        "dashboard": dashboard,
        "blocks": [
            {
                "school": block,
                "slug": "district" if block.school_id is None else str(block.school_id),
                "bands": [
                    {"band": band, "chart": chart(band, dashboard.levels, proficient)} for band in block.bands
                ],
            }
            for block in blocks
        ],
        "legend": legend(dashboard.levels),
        "proficient_title": next((lv.title for lv in dashboard.levels if lv.proficient), ""),
        "proficient": proficient,
        "chart_width": CHART_WIDTH,
        "label_width": LABEL_WIDTH,
        "bar_width": BAR_WIDTH,
    }


@router.get("/dashboard", response_class=HTMLResponse)
async def dashboard(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    user: UserDep,
    framework: Annotated[str, Query(max_length=64)] = "",
) -> Response:
    if user is None:
        return to_sign_in()
    if not may_see_dashboard(user):
        return refuse(
            request,
            session,
            settings,
            user,
            NotAllowed("the dashboard is for school leads and district admins"),
        )
    try:
        framework_id = uuid.UUID(framework) if framework else None
    except ValueError:
        framework_id = None
    within = None if user.access.district_wide else user.access.school_ids
    data = await MetricsService(session, user.tenant.id).dashboard(
        within_schools=within, framework_id=framework_id
    )
    return page(
        request,
        "console/dashboard.html",
        context(request, settings, user, page_title="Dashboard", **_view(data)),
    )
