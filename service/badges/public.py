"""What anyone may read without a token: public credentials, achievements and issuer listings, with the
learner named as the district's setting says."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

from sqlmodel.ext.asyncio.session import AsyncSession

from service import hotcache
from service.badges import documents, images
from service.badges.errors import (
    AchievementNotFound,
    CredentialNotFound,
    IssuerNotFound,
    StatusListNotFound,
)
from service.badges.issuance import CredentialService
from service.badges.issuers import IssuerService
from service.badges.models import IssuedCredential, StatusList
from service.badges.repository import PublicRepository
from service.config import Settings
from service.credentials.contexts import OB_V3P0, VC_V2


def learner_display_name(given: str, family: str | None, style: str) -> str | None:
    """The learner's name as the district lets public pages show it: ``full`` ("Aaliyah Garcia"),
    ``first_initial`` ("Aaliyah G.", the default: enough for the learner to show, little for others) or
    ``none``."""
    if style == "none":
        return None
    if style == "full":
        return f"{given} {family}".strip() if family else given
    return f"{given} {family[:1]}." if family else given


@dataclass(frozen=True)
class PublicCredential:
    row: IssuedCredential
    learner_display: str | None


@dataclass(frozen=True)
class PublicAchievement:
    issuer_name: str
    issuer_url: str
    issuer_did: str
    badge: documents.BadgeInfo
    document: dict[str, Any]


PUBLIC_ACHIEVEMENTS_LIMIT = 200


@dataclass(frozen=True)
class PublicListing:
    """One badge on an issuer's public page."""

    title: str
    description: str
    achievement_type: str
    url: str


class PublicBadgeService:
    """What anyone may read without a token: issuers' DID documents and profiles, credentials by
    their (unguessable) UUID, status lists."""

    def __init__(self, session: AsyncSession, settings: Settings) -> None:
        self.session = session
        self.settings = settings
        self.repo = PublicRepository(session)

    async def issuer(self, slug: str) -> IssuerService:
        invalidation = hotcache.for_session(self.session)
        tenant_id = invalidation.get("tenant_by_slug", slug) if invalidation else None
        if not isinstance(tenant_id, uuid.UUID):
            epoch = invalidation.current() if invalidation else None
            tenant = await self.repo.tenant_by_slug(slug)
            if tenant is None:
                raise IssuerNotFound(f"issuer {slug!r} not found")
            tenant_id = tenant.id
            if invalidation is not None:
                invalidation.put("tenant_by_slug", slug, epoch, tenant_id)
        return IssuerService(self.session, tenant_id, self.settings)

    async def achievements(self, slug: str, limit: int = PUBLIC_ACHIEVEMENTS_LIMIT) -> list[PublicListing]:
        """The badges a district has issued, for its public issuer page: active achievements that at
        least one issued credential names (nothing about who earned them), by title."""
        tenant = await self.repo.tenant_by_slug(slug)
        if tenant is None:
            raise IssuerNotFound(f"issuer {slug!r} not found")
        rows = await self.repo.issued_achievements(tenant.id, limit)
        return [
            PublicListing(
                title=row.title,
                description=row.description,
                achievement_type=row.achievement_type,
                url=documents.achievement_url(self.settings.public_url, slug, row.id),
            )
            for row in rows
        ]

    async def credential(self, credential_id: uuid.UUID) -> PublicCredential:
        row = await self.repo.credential(credential_id)
        if row is None or (row.source_key or "").startswith("transcript:"):
            # A transcript's ClrCredential is served at its own id, /transcripts/{uuid}.
            raise CredentialNotFound(f"credential {credential_id} not found")
        display = None
        tenant = await self.repo.tenant(row.tenant_id)
        style = tenant.public_learner_name if tenant is not None else "first_initial"
        if row.learner_id is not None and style != "none":
            person = await self.repo.person(row.learner_id)
            if person is not None and person.tenant_id == row.tenant_id:
                display = learner_display_name(
                    person.preferred_name or person.given_name, person.family_name, style
                )
        return PublicCredential(row=row, learner_display=display)

    async def achievement(self, slug: str, achievement_id: uuid.UUID) -> PublicAchievement:
        """A badge definition as the credentials describe it (the target of their achievement URL)."""
        tenant = await self.repo.tenant_by_slug(slug)
        if tenant is None:
            raise IssuerNotFound(f"issuer {slug!r} not found")
        credentials = CredentialService(self.session, tenant.id, self.settings)
        if await credentials.repo.achievement(achievement_id) is None:
            raise AchievementNotFound(f"achievement {achievement_id} of issuer {slug!r} not found")
        badge = await credentials._badge(achievement_id, None, ())
        issuer = IssuerService(self.session, tenant.id, self.settings)
        achievement = documents.build_achievement(
            self.settings.public_url, slug, badge, images.badge_svg_data_uri(badge.name)
        )
        document = {"@context": [VC_V2, OB_V3P0], **achievement.to_json()}
        return PublicAchievement(
            issuer_name=tenant.name,
            issuer_url=documents.issuer_url(self.settings.public_url, slug),
            issuer_did=issuer.did_for(slug),
            badge=badge,
            document=document,
        )

    async def status_list(self, list_id: uuid.UUID) -> StatusList:
        row = await self.repo.status_list(list_id)
        if row is None or row.signed is None:
            raise StatusListNotFound(f"status list {list_id} not found")
        return row
