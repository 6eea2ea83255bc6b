"""Public pages behind the links inside a credential: the issuer, the achievement (badge definition)
and the competency it aligns to. Browsers get HTML, machines JSON(-LD), by the ``Accept`` header."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass

from fastapi import Request
from fastapi.responses import HTMLResponse

from service.api.web.images import safe_image_src
from service.api.web.templating import render
from service.badges import documents
from service.badges.public import PUBLIC_ACHIEVEMENTS_LIMIT, PublicAchievement, PublicListing
from service.frameworks.tree import FrameworkTree

FRAMEWORK_KINDS = {
    "graduate": "Portrait of a Graduate",
    "learner": "Portrait of a Learner",
    "educator": "Portrait of an Educator",
    "leader": "Portrait of a Leader",
    "system": "Portrait of a System",
    "self": "Portrait of Self",
}
NO_CACHE = {"Cache-Control": "public, max-age=300", "Vary": "Accept"}


@dataclass(frozen=True)
class LevelRow:
    position: int
    title: str
    descriptor: str | None


@dataclass(frozen=True)
class CompetencyBlock:
    title: str
    code: str | None
    statement: str
    framework: str
    url: str
    levels: tuple[LevelRow, ...]


def achievement_page(request: Request, found: PublicAchievement, public_url: str, slug: str) -> HTMLResponse:
    badge = found.badge
    blocks = tuple(
        CompetencyBlock(
            title=c.title,
            code=c.code,
            statement=c.statement,
            framework=c.framework_title,
            url=documents.cf_item_url(public_url, c.id),
            levels=tuple(
                LevelRow(level.position + 1, level.title, level.description)
                for level in sorted(c.levels, key=lambda lv: lv.position)
            ),
        )
        for c in badge.competencies
    )
    image = found.document.get("image")
    context = {
        "page_title": badge.name,
        "badge": badge,
        "issuer_name": found.issuer_name,
        "issuer_url": found.issuer_url,
        "image_src": safe_image_src(image, own_url=public_url),
        "competencies": blocks,
        "frameworks": tuple(dict.fromkeys(c.framework_title for c in badge.competencies)),
        "achievement_url": documents.achievement_url(public_url, slug, badge.id),
    }
    return render(request, "achievement.html", context, headers=NO_CACHE)


def competency_page(
    request: Request, tree: FrameworkTree, node_id: uuid.UUID, public_url: str
) -> HTMLResponse:
    levels = sorted(tree.levels, key=lambda lv: lv.position)
    competency = next((c for c in tree.competencies if c.id == node_id), None)
    attribute = next((a for a in tree.attributes if a.id == node_id), None)
    if competency is not None:
        attribute = next((a for a in tree.attributes if a.id == competency.attribute_id), None)
        by_level = {d.level_id: d.description for d in competency.descriptors}
        rows = tuple(
            LevelRow(lv.position + 1, lv.title, by_level.get(lv.id) or lv.description) for lv in levels
        )
        members: tuple[tuple[str, str], ...] = ()
    else:
        rows = ()
        members = tuple(
            (c.title, documents.cf_item_url(public_url, c.id))
            for c in tree.competencies
            if attribute is not None and c.attribute_id == attribute.id
        )
    context = {
        "page_title": competency.title if competency else (attribute.title if attribute else tree.title),
        "framework": tree,
        "framework_kind": FRAMEWORK_KINDS.get(tree.kind, "Portrait"),
        "competency": competency,
        "attribute": attribute,
        "levels": rows,
        "members": members,
        "item_url": documents.cf_item_url(public_url, node_id),
    }
    return render(request, "competency.html", context, headers=NO_CACHE)


def issuer_page(
    request: Request,
    *,
    name: str,
    did: str,
    slug: str,
    public_url: str,
    achievements: Sequence[PublicListing] = (),
) -> HTMLResponse:
    context = {
        "achievements": achievements,
        "achievements_limit": PUBLIC_ACHIEVEMENTS_LIMIT,
        "page_title": name,
        "name": name,
        "did": did,
        "profile_url": documents.issuer_url(public_url, slug),
        "did_url": f"{documents.issuer_url(public_url, slug)}/did.json",
        "jwks_url": f"{documents.issuer_url(public_url, slug)}/jwks.json",
    }
    return render(request, "issuer.html", context, headers=NO_CACHE)
